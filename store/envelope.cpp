// SPDX-License-Identifier: BSD-2-Clause
// AES-256-GCM through Nettle, in this file only.
#include "store/envelope.h"

#include <nettle/gcm.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "auth/encoding.h"

namespace multichap::store {

namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kIvBytes = 12;
constexpr std::size_t kTagBytes = GCM_DIGEST_SIZE;

Error envelope_error(const std::string& what) {
  return make_error(ErrorKind::policy, ErrorCode::envelope_invalid, what);
}

// Wipes Nettle's context (expanded key, hash subkey) when it goes out of scope.
struct Gcm {
  gcm_aes256_ctx ctx{};
  ~Gcm() { secure_wipe(&ctx, sizeof(ctx)); }
};

const std::uint8_t* bytes_of(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

}  // namespace

Result<KeyRing> KeyRing::parse(std::string_view text, const std::string& where) {
  KeyRing ring;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line = line.substr(first);
    const auto space = line.find_first_of(" \t");
    const auto rest = space == std::string_view::npos ? std::string_view::npos
                                                      : line.find_first_not_of(" \t", space);
    if (space == std::string_view::npos || rest == std::string_view::npos) {
      return make_error(ErrorKind::usage, ErrorCode::config_invalid,
                        where + ":" + std::to_string(line_no) + ": expected \"KID HEX\"");
    }
    std::string_view hex = line.substr(rest);
    while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t' || hex.back() == '\r'))
      hex.remove_suffix(1);
    Key key;
    key.kid = std::string(line.substr(0, space));
    auto bytes = decode_binary("0x" + std::string(hex), kKeyBytes);
    if (!bytes || bytes->size() != kKeyBytes) {
      return make_error(ErrorKind::usage, ErrorCode::config_invalid,
                        where + ":" + std::to_string(line_no) + ": key " + key.kid +
                            " must be 64 hex digits (32 bytes)");
    }
    key.bytes = std::move(bytes).value();
    for (const Key& k : ring.m_keys) {
      if (k.kid == key.kid) {
        return make_error(
            ErrorKind::usage, ErrorCode::config_invalid,
            where + ":" + std::to_string(line_no) + ": key id " + key.kid + " given twice");
      }
    }
    ring.m_keys.push_back(std::move(key));
    if (nl == text.size()) break;
  }
  if (ring.m_keys.empty()) {
    return make_error(ErrorKind::usage, ErrorCode::config_invalid, where + ": no key");
  }
  return ring;
}

Result<KeyRing> KeyRing::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(ErrorKind::usage, ErrorCode::file_unreadable, "cannot read key file " + path);
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return make_error(ErrorKind::usage, ErrorCode::secret_file_permissions,
                      "key file " + path + " is accessible to group or other (chmod 600 it)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorKind::usage, ErrorCode::file_unreadable, "cannot read key file " + path);
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto ring = parse(text, path);
  secure_wipe(text.data(), text.size());
  return ring;
}

Result<SealedSecret> KeyRing::seal(ByteView secret, std::string_view aad) const {
  if (m_keys.empty()) return envelope_error("no key to seal with");
  const Key& key = m_keys.front();
  SealedSecret out;
  out.kid = key.kid;
  out.iv.resize(kIvBytes);
  if (getrandom(out.iv.data(), kIvBytes, 0) != static_cast<ssize_t>(kIvBytes)) {
    return envelope_error("getrandom failed");
  }
  out.ct.resize(secret.size() + kTagBytes);
  auto* ct = reinterpret_cast<std::uint8_t*>(out.ct.data());
  Gcm gcm;
  gcm_aes256_set_key(&gcm.ctx, key.bytes.data());
  gcm_aes256_set_iv(&gcm.ctx, kIvBytes, bytes_of(out.iv));
  gcm_aes256_update(&gcm.ctx, aad.size(), bytes_of(aad));
  gcm_aes256_encrypt(&gcm.ctx, secret.size(), ct, secret.data());
  gcm_aes256_digest(&gcm.ctx, kTagBytes, ct + secret.size());
  return out;
}

Result<Secret> KeyRing::open(const SealedSecret& sealed, std::string_view aad) const {
  const Key* key = nullptr;
  for (const Key& k : m_keys) {
    if (k.kid == sealed.kid) key = &k;
  }
  if (key == nullptr)
    return envelope_error("sealed with key id '" + sealed.kid + "', not in the key file");
  if (sealed.iv.size() != kIvBytes || sealed.ct.size() < kTagBytes) {
    return envelope_error("sealed value of the wrong size");
  }
  const std::size_t n = sealed.ct.size() - kTagBytes;
  SecureBytes plain(n);
  std::uint8_t tag[kTagBytes];
  Gcm gcm;
  gcm_aes256_set_key(&gcm.ctx, key->bytes.data());
  gcm_aes256_set_iv(&gcm.ctx, kIvBytes, bytes_of(sealed.iv));
  gcm_aes256_update(&gcm.ctx, aad.size(), bytes_of(aad));
  gcm_aes256_decrypt(&gcm.ctx, n, plain.data(), bytes_of(sealed.ct));
  gcm_aes256_digest(&gcm.ctx, kTagBytes, tag);
  const bool ok =
      constant_time_equal(ByteView(tag, kTagBytes), ByteView(bytes_of(sealed.ct) + n, kTagBytes));
  secure_wipe(tag, sizeof(tag));
  if (!ok) {
    return envelope_error(
        "sealed secret does not open (another key, another object's value, or "
        "modified)");
  }
  return Secret::from_bytes(ByteView(plain.data(), plain.size()));
}

}  // namespace multichap::store
