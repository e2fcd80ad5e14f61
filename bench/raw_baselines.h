// SPDX-License-Identifier: BSD-2-Clause
// The raw-library baselines: the same digests computed by calling OpenSSL or Botan directly, the
// way a hand-written CHAP implementation would, with no multichap layer in between. They set
// the bar our backends are measured against (ratio = ours / raw).
//   OpenSSL: EVP_MD fetched once (EVP_MD_fetch), one EVP_MD_CTX reused for every digest.
//   Botan:   one HashFunction created once and reused (final() resets it).
// The #if guards of the bench live here only; MULTICHAP_BENCH_HAVE_* come from bench/CMakeLists.
#ifndef MULTICHAP_BENCH_RAW_BASELINES_H
#define MULTICHAP_BENCH_RAW_BASELINES_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "auth/algorithm.h"
#include "auth/bytes.h"

#if MULTICHAP_BENCH_HAVE_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#endif
#if MULTICHAP_BENCH_HAVE_BOTAN
#include <botan/hash.h>
#include <botan/mem_ops.h>
#include <botan/system_rng.h>
#include <botan/version.h>
#endif

namespace multichap::bench {

#if MULTICHAP_BENCH_HAVE_OPENSSL
class RawOpenSsl {
 public:
  static constexpr std::string_view kBackend = "openssl";

  explicit RawOpenSsl(Algorithm alg)
      : m_md(EVP_MD_fetch(nullptr, fetch_name(alg), nullptr)), m_ctx(EVP_MD_CTX_new()) {}
  ~RawOpenSsl() {
    EVP_MD_CTX_free(m_ctx);
    EVP_MD_free(m_md);
  }
  RawOpenSsl(const RawOpenSsl&) = delete;
  RawOpenSsl& operator=(const RawOpenSsl&) = delete;

  bool ok() const { return m_md != nullptr && m_ctx != nullptr; }

  // out = H(parts...) for ByteView parts; aborts on a library failure (never expected here).
  template <typename... Parts>
  void digest(std::uint8_t* out, const Parts&... parts) {
    if (EVP_DigestInit_ex2(m_ctx, m_md, nullptr) != 1) std::abort();
    (update(parts), ...);
    unsigned int written = 0;
    if (EVP_DigestFinal_ex(m_ctx, out, &written) != 1) std::abort();
  }
  static bool equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    return CRYPTO_memcmp(a, b, n) == 0;
  }
  static void random(std::uint8_t* out, std::size_t n) {
    if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
  }
  static std::string version() { return OpenSSL_version(OPENSSL_VERSION); }

 private:
  static const char* fetch_name(Algorithm alg) {
    switch (alg) {
      case Algorithm::md5:
        return "MD5";
      case Algorithm::sha1:
        return "SHA1";
      case Algorithm::sha256:
        return "SHA2-256";
      case Algorithm::sha3_256:
        return "SHA3-256";
    }
    return "";
  }
  void update(ByteView part) {
    if (EVP_DigestUpdate(m_ctx, part.data(), part.size()) != 1) std::abort();
  }

  EVP_MD* m_md;
  EVP_MD_CTX* m_ctx;
};
#endif  // MULTICHAP_BENCH_HAVE_OPENSSL

#if MULTICHAP_BENCH_HAVE_BOTAN
class RawBotan {
 public:
  static constexpr std::string_view kBackend = "botan";

  explicit RawBotan(Algorithm alg) : m_hash(Botan::HashFunction::create(create_name(alg))) {}

  bool ok() const { return m_hash != nullptr; }

  template <typename... Parts>
  void digest(std::uint8_t* out, const Parts&... parts) {
    (m_hash->update(parts.data(), parts.size()), ...);
    m_hash->final(out);
  }
  static bool equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    return Botan::constant_time_compare(a, b, n);
  }
  static void random(std::uint8_t* out, std::size_t n) { Botan::system_rng().randomize(out, n); }
  static std::string version() { return Botan::version_string(); }

 private:
  static const char* create_name(Algorithm alg) {
    switch (alg) {
      case Algorithm::md5:
        return "MD5";
      case Algorithm::sha1:
        return "SHA-160";
      case Algorithm::sha256:
        return "SHA-256";
      case Algorithm::sha3_256:
        return "SHA-3(256)";
    }
    return "";
  }

  std::unique_ptr<Botan::HashFunction> m_hash;
};
#endif  // MULTICHAP_BENCH_HAVE_BOTAN

template <typename Raw>
struct RawTag {
  using type = Raw;
};

// Calls fn(RawTag<R>{}) with the raw baseline of the backend called `backend` and returns true,
// or returns false when this bench was built without that library.
template <typename Fn>
bool with_raw_baseline(std::string_view backend, Fn&& fn) {
#if MULTICHAP_BENCH_HAVE_OPENSSL
  if (backend == RawOpenSsl::kBackend) {
    fn(RawTag<RawOpenSsl>{});
    return true;
  }
#endif
#if MULTICHAP_BENCH_HAVE_BOTAN
  if (backend == RawBotan::kBackend) {
    fn(RawTag<RawBotan>{});
    return true;
  }
#endif
  (void)backend;
  (void)fn;
  return false;
}

}  // namespace multichap::bench

#endif  // MULTICHAP_BENCH_RAW_BASELINES_H
