// SPDX-License-Identifier: BSD-2-Clause
// RawDigest: the crypto library called directly, the way a hand-written CHAP implementation
// would, with no multichap layer in between: the baseline `multichap bench --compare-raw`
// measures our backends against (ratio = ours / raw).
//   OpenSSL: an EVP_MD fetched once and one EVP_MD_CTX owned by the object, reused.
//   Botan:   one HashFunction created once and reused (final() resets it).
// An object is for one thread at a time.
#ifndef MULTICHAP_BACKENDS_RAW_DIGEST_H
#define MULTICHAP_BACKENDS_RAW_DIGEST_H

#include <cstdint>
#include <memory>
#include <string_view>

#include "auth/algorithm.h"
#include "auth/bytes.h"

namespace multichap {

class RawDigest {
 public:
  virtual ~RawDigest() = default;
  // out (at least the digest size) = H(input); false on a library failure.
  virtual bool digest(ByteView input, std::uint8_t* out) = 0;
};

// The raw baseline of the backend called backend for alg, or nullptr when that backend was not
// built or its library refuses alg.
std::unique_ptr<RawDigest> make_raw_digest(std::string_view backend, Algorithm alg);

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_RAW_DIGEST_H
