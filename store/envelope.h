// SPDX-License-Identifier: BSD-2-Clause
// Secrets at rest in the store: an AES-256-GCM envelope (Nettle's gcm_aes256, Debian
// nettle-dev). etcd does not encrypt its data, and its backups and snapshots hold every value, so
// a fleet may keep its CHAP secrets sealed: each target holds a key file, and the store holds
//   {"kid": KEY ID, "iv": base64 of 12 random bytes, "ct": base64 of ciphertext || 16-byte tag}
// with the object's key (e.g. "accounts/alice", relative to the prefix) bound in as associated
// data, so a sealed value copied to another account's key does not open.
//
// A key file holds one key per line, "KID HEX" (64 hex digits: 32 bytes), '#' comments; the
// first key seals, every key opens (rotation: put the new key first, re-put the secrets, then
// drop the old line). It must not be accessible to group or other. Keys live in wiping memory.
#ifndef MULTICHAP_STORE_ENVELOPE_H
#define MULTICHAP_STORE_ENVELOPE_H

#include <string>
#include <string_view>
#include <vector>

#include "auth/result.h"
#include "auth/secure.h"

namespace multichap::store {

struct SealedSecret {
  std::string kid;
  std::string iv;  // 12 bytes
  std::string ct;  // ciphertext and the 16-byte tag
};

class KeyRing {
 public:
  KeyRing() = default;
  // Reads a key file (usage errors name the line; never a key).
  static Result<KeyRing> load(const std::string& path);
  static Result<KeyRing> parse(std::string_view text, const std::string& where);

  bool empty() const { return m_keys.empty(); }
  const std::string& sealing_kid() const { return m_keys.front().kid; }

  // Seals secret with the first key, aad bound in.
  Result<SealedSecret> seal(ByteView secret, std::string_view aad) const;
  // Opens a sealed secret with the key its kid names; fails (envelope_invalid) for an unknown
  // kid, a wrong key, another aad, or a modified iv, ciphertext or tag.
  Result<Secret> open(const SealedSecret& sealed, std::string_view aad) const;

 private:
  struct Key {
    std::string kid;
    SecureBytes bytes;  // 32
  };
  std::vector<Key> m_keys;
};

}  // namespace multichap::store

#endif  // MULTICHAP_STORE_ENVELOPE_H
