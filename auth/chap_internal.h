// SPDX-License-Identifier: BSD-2-Clause
// Internal to auth/: what both CHAP roles use (auth/chap_initiator.cpp, auth/chap_target.cpp),
// defined in auth/chap_response.cpp. Not part of the public API.
#ifndef MULTICHAP_AUTH_CHAP_INTERNAL_H
#define MULTICHAP_AUTH_CHAP_INTERNAL_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "auth/algorithm.h"
#include "auth/bytes.h"
#include "auth/crypto.h"
#include "auth/encoding.h"
#include "auth/policy.h"
#include "auth/result.h"
#include "auth/secure.h"
#include "auth/text.h"

namespace multichap::chap_internal {

inline Error auth_error(ErrorCode code, std::string message) {
  return make_error(ErrorKind::authentication, code, std::move(message));
}
inline Error policy_error(ErrorCode code, std::string message) {
  return make_error(ErrorKind::policy, code, std::move(message));
}

// Which authentication keys a key set carries, found in one pass (classify() asks about six
// keys; six find() calls would compare every key six times).
enum KeyBit : unsigned {
  kAuthMethodKey = 1u << 0,
  kChapA = 1u << 1,
  kChapI = 1u << 2,
  kChapC = 1u << 3,
  kChapN = 1u << 4,
  kChapR = 1u << 5,
  kChapOther = 1u << 6,  // any other CHAP_* key
  kAnyChap = kChapA | kChapI | kChapC | kChapN | kChapR | kChapOther,
};
inline unsigned auth_keys_of(const KeyList& keys) {
  unsigned bits = 0;
  for (const KeyValue& kv : keys) {
    const std::string& k = kv.key;
    // memcmp with a constant length is inlined; std::string::compare is a library call.
    if (k.size() == 10 && std::memcmp(k.data(), "AuthMethod", 10) == 0) {
      bits |= kAuthMethodKey;
    } else if (k.size() >= 5 && std::memcmp(k.data(), "CHAP_", 5) == 0) {
      unsigned bit = kChapOther;
      if (k.size() == 6) {
        switch (k[5]) {
          case 'A':
            bit = kChapA;
            break;
          case 'I':
            bit = kChapI;
            break;
          case 'C':
            bit = kChapC;
            break;
          case 'N':
            bit = kChapN;
            break;
          case 'R':
            bit = kChapR;
            break;
          default:
            break;
        }
      }
      bits |= bit;
    }
  }
  return bits;
}

// Random identifier and a challenge of max(configured, digest size) bytes (RFC 7143 §9.2.1:
// unpredictable, fresh each time, at least as long as the digest), never equal to avoid.
Result<void> make_challenge(const ChapCrypto& crypto, const ChapPolicy& policy, Algorithm alg,
                            std::uint8_t& identifier, SecureBytes& challenge, ByteView avoid);

// A decoded CHAP_C or CHAP_R on the stack: no allocation per received value. Wiped when it goes
// out of scope (only the bytes written: the rest was never touched).
class DecodedValue {
 public:
  DecodedValue() = default;
  DecodedValue(const DecodedValue&) = delete;
  DecodedValue& operator=(const DecodedValue&) = delete;
  ~DecodedValue() { secure_wipe(m_bytes.data(), m_size); }

  Result<void> decode(const std::string& value) {
    MULTICHAP_ASSIGN_OR_RETURN(
        m_size, decode_binary_into(value, MutableByteView(m_bytes.data(), kMaxBinaryValueBytes)));
    return {};
  }
  const std::uint8_t* data() const { return m_bytes.data(); }
  std::size_t size() const { return m_size; }
  ByteView view() const { return ByteView(m_bytes.data(), m_size); }

 private:
  std::array<std::uint8_t, kMaxBinaryValueBytes> m_bytes;  // NOLINT: written before it is read
  std::size_t m_size = 0;
};

// Decodes and checks a CHAP_R value: binary, exactly the digest size of alg.
Result<void> decode_response(const std::string& value, Algorithm alg, DecodedValue& out);
// Decodes a CHAP_I value: a number 0..255.
Result<std::uint8_t> decode_identifier(const std::string& value);
// Decodes a CHAP_C value: binary, at least policy.min_peer_challenge_size bytes.
Result<void> decode_challenge(const std::string& value, const ChapPolicy& policy,
                              DecodedValue& out);

// Computes our answer to a peer's challenge, encoded like the challenge was (tgt and others
// answer base64 with base64, and some decoders only read the encoding they sent).
Result<std::string> answer(const ChapCrypto& crypto, Algorithm alg, std::uint8_t id,
                           const Secret& secret, ByteView challenge, BinaryEncoding encoding);

// Verifies a peer's response: correct for expected_secret, and not computed with own_secret
// (when given). who names the peer in the error ("initiator", "target").
Result<void> verify(const ChapCrypto& crypto, Algorithm alg, std::uint8_t id, ByteView challenge,
                    ByteView received, const Secret& expected_secret, const Secret* own_secret,
                    std::string_view who);

// A list of one key, built in place (an initializer_list would construct the strings, then
// copy them).
inline KeyList one_key(std::string_view key, std::string value) {
  KeyList out;
  out.reserve(1);
  out.set(key, std::move(value));
  return out;
}

}  // namespace multichap::chap_internal

#endif  // MULTICHAP_AUTH_CHAP_INTERNAL_H
