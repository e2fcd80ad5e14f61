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
#include "auth/digest_part.h"
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
    if (m_direct.fn != nullptr) {
      // The implementation's own compute, called from here: no virtual call, no adapter frame
      // (2 ns of a 50 ns response). Any failure goes on to digest(), which computes again and
      // reports it as the implementation does.
      const ByteView s = secret.bytes();
      const multichap_backend_part parts[3] = {
          {before.data(), before.size()}, {s.data(), s.size()}, {after.data(), after.size()}};
      const AlgorithmInfo& info = algorithm_info(alg);
      std::size_t written = 0;
      if (__builtin_expect(m_direct.fn(m_direct.ctx, static_cast<int>(info.chap_a), parts, 3,
                                       out.data(), out.size(), &written) == 0 &&
                               written == info.digest_size,
                           1)) {
        return written;
      }
    }
    return digest(alg, {before, secret.bytes(), after}, out);
  }
  // Whether alg can be computed with secret where it lives.
  bool supports_with_secret(Algorithm alg, const Secret& secret) const {
    if (const KeyReference* reference = secret.reference()) return reference->supports(alg);
    return supports(alg);
  }

 protected:
  // A function that computes what digest() does, with the backend ABI's signature (a plugin's
  // compute and its context), for digest_with_secret() to call directly. Set once by an
  // implementation whose digest() is exactly that call (backends/table_backend.cpp), before the
  // object is shared; never for one that must serialise its calls.
  struct DirectDigest {
    multichap_direct_digest_fn fn = nullptr;
    void* ctx = nullptr;
  };
  void set_direct_digest(DirectDigest direct) { m_direct = direct; }

 private:
  DirectDigest m_direct;
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_CRYPTO_H
