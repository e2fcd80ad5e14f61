// SPDX-License-Identifier: BSD-2-Clause
// ChapCrypto: the only crypto the CHAP core needs (a digest over several parts and CSPRNG
// bytes), as an interface so auth/ never includes a crypto library. backends/ implements it:
// every HashBackend is a ChapCrypto.
#ifndef MULTICHAP_AUTH_CRYPTO_H
#define MULTICHAP_AUTH_CRYPTO_H

#include <cstddef>
#include <initializer_list>

#include "auth/algorithm.h"
#include "auth/bytes.h"
#include "auth/key_reference.h"
#include "auth/result.h"
#include "auth/secure.h"

namespace multichap {

class ChapCrypto {
 public:
  virtual ~ChapCrypto() = default;

  // Whether this implementation can compute alg right now (answered by the library at run
  // time: a FIPS-configured OpenSSL reports MD5 unsupported).
  virtual bool supports(Algorithm alg) const = 0;

  // Writes H(parts[0] || parts[1] || ...) to out without concatenating the parts and returns the
  // digest size. Fails (ErrorKind::backend) when alg is unsupported or out is shorter than the
  // digest. Safe to call from many threads at once.
  virtual Result<std::size_t> digest(Algorithm alg, std::initializer_list<ByteView> parts,
                                     MutableByteView out) const = 0;

  // Fills out with bytes from a cryptographically secure generator. Thread-safe.
  virtual Result<void> random(MutableByteView out) const = 0;

  // H(before || secret || after), computed where the secret lives: by its KeyReference for a
  // secret held by reference (auth/key_reference.h; this object is then not involved), else by
  // digest() over the three parts. Fails as the one that computes it does.
  Result<std::size_t> digest_with_secret(Algorithm alg, ByteView before, const Secret& secret,
                                         ByteView after, MutableByteView out) const {
    if (const KeyReference* reference = secret.reference();
        __builtin_expect(reference != nullptr, 0))
      return reference->digest(alg, before, after, out);
    return digest(alg, {before, secret.bytes(), after}, out);
  }
  // Whether alg can be computed with secret where it lives.
  bool supports_with_secret(Algorithm alg, const Secret& secret) const {
    if (const KeyReference* reference = secret.reference()) return reference->supports(alg);
    return supports(alg);
  }
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_CRYPTO_H
