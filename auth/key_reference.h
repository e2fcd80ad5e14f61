// SPDX-License-Identifier: BSD-2-Clause
// KeyReference: a CHAP secret that stays where it lives (a key in a PKCS#11 token) and is only
// ever asked for digests over it. The bytes never enter this process, so the CHAP core computes
// with such a secret through this interface instead of a ChapCrypto (auth/crypto.h:
// digest_with_secret). backends/ implements it over the backend ABI's key_* functions.
#ifndef MULTICHAP_AUTH_KEY_REFERENCE_H
#define MULTICHAP_AUTH_KEY_REFERENCE_H

#include <cstddef>
#include <string>

#include "auth/algorithm.h"
#include "auth/bytes.h"
#include "auth/result.h"

namespace multichap {

class KeyReference {
 public:
  virtual ~KeyReference() = default;

  // What the secret is called (the reference without any PIN), for messages and logs.
  virtual const std::string& describe() const = 0;
  // The secret's length in bytes when the holder tells it, else 0.
  virtual std::size_t size() const = 0;
  // Whether alg can be computed with this secret where it lives (a token may digest a key with
  // SHA-256 but not with MD5). Answered once when the key was opened: cheap.
  virtual bool supports(Algorithm alg) const = 0;
  // Why alg cannot be computed with it (one line), "" when it can.
  virtual std::string why_unsupported(Algorithm alg) const = 0;
  // Writes H(before || secret || after) to out and returns the digest size. Fails
  // (ErrorKind::backend) when alg is unsupported, out is short or the holder fails. Thread-safe.
  virtual Result<std::size_t> digest(Algorithm alg, ByteView before, ByteView after,
                                     MutableByteView out) const = 0;
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_KEY_REFERENCE_H
