// SPDX-License-Identifier: BSD-2-Clause
// The raw-library baselines: the same digests computed by calling the crypto library directly,
// the way a hand-written CHAP implementation would, with no multichap layer in between. They set
// the bar our backends are measured against (ratio = ours / raw). Each library's code is
// linked into the bench binary itself (not reached through a plugin).
//   OpenSSL:    EVP_MD fetched once (EVP_MD_fetch), one EVP_MD_CTX reused for every digest.
//   Botan:      one HashFunction created once and reused (final() resets it).
//   libgcrypt:  one handle (gcry_md_open) opened once; per digest gcry_md_write per part,
//               gcry_md_read, gcry_md_reset.
//   Nettle:     a context on the stack per digest: *_init, *_update per part, *_digest.
// Parts are fed one library call each, as a caller that does not gather them would.
// The #if guards of the bench live here (and, for the linked-in backends, in linked_in.cpp);
// MULTICHAP_BENCH_HAVE_* come from bench/CMakeLists.
#ifndef MULTICHAP_BENCH_RAW_BASELINES_H
#define MULTICHAP_BENCH_RAW_BASELINES_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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
#if MULTICHAP_BENCH_HAVE_GCRYPT
#include <gcrypt.h>
#endif
#if MULTICHAP_BENCH_HAVE_NETTLE
#include <nettle/md5.h>
#include <nettle/memops.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <nettle/sha3.h>
#include <nettle/version.h>
#include <sys/random.h>
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

#if MULTICHAP_BENCH_HAVE_GCRYPT
class RawGcrypt {
 public:
  static constexpr std::string_view kBackend = "gcrypt";

  explicit RawGcrypt(Algorithm alg) : m_size(digest_size(alg)) {
    if (initialised() && gcry_md_open(&m_hd, md_algo(alg), 0) != 0) m_hd = nullptr;
  }
  ~RawGcrypt() { gcry_md_close(m_hd); }  // accepts NULL
  RawGcrypt(const RawGcrypt&) = delete;
  RawGcrypt& operator=(const RawGcrypt&) = delete;

  bool ok() const { return m_hd != nullptr; }

  template <typename... Parts>
  void digest(std::uint8_t* out, const Parts&... parts) {
    (gcry_md_write(m_hd, parts.data(), parts.size()), ...);
    const unsigned char* digest = gcry_md_read(m_hd, 0);
    if (digest == nullptr) std::abort();
    std::memcpy(out, digest, m_size);
    gcry_md_reset(m_hd);
  }
  // libgcrypt exports no constant-time comparison: what a hand-written caller would write.
  static bool equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    std::uint8_t diff = 0;
    for (std::size_t i = 0; i < n; ++i) diff |= static_cast<std::uint8_t>(a[i] ^ b[i]);
    return diff == 0;
  }
  static void random(std::uint8_t* out, std::size_t n) {
    gcry_randomize(out, n, GCRY_STRONG_RANDOM);
  }
  static std::string version() {
    return initialised() ? std::string("libgcrypt ") + gcry_check_version(nullptr) : "";
  }

 private:
  // The version check libgcrypt requires before any other call; initialisation is finished the
  // way the gcrypt plugin does it (no secure memory) unless someone (the plugin, loaded first
  // by the registry) already did.
  static bool initialised() {
    static const bool ok = [] {
      if (gcry_check_version(GCRYPT_VERSION) == nullptr) return false;
      if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
        (void)gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
        (void)gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
      }
      return true;
    }();
    return ok;
  }
  static int md_algo(Algorithm alg) {
    switch (alg) {
      case Algorithm::md5:
        return GCRY_MD_MD5;
      case Algorithm::sha1:
        return GCRY_MD_SHA1;
      case Algorithm::sha256:
        return GCRY_MD_SHA256;
      case Algorithm::sha3_256:
        return GCRY_MD_SHA3_256;
    }
    return GCRY_MD_NONE;
  }

  gcry_md_hd_t m_hd = nullptr;
  std::size_t m_size;
};
#endif  // MULTICHAP_BENCH_HAVE_GCRYPT

#if MULTICHAP_BENCH_HAVE_NETTLE
class RawNettle {
 public:
  static constexpr std::string_view kBackend = "nettle";

  explicit RawNettle(Algorithm alg) : m_alg(alg) {}

  bool ok() const { return true; }

  template <typename... Parts>
  void digest(std::uint8_t* out, const Parts&... parts) {
    switch (m_alg) {
      case Algorithm::md5:
        return run<md5_ctx, &md5_init, &md5_update, &md5_digest, MD5_DIGEST_SIZE>(out, parts...);
      case Algorithm::sha1:
        return run<sha1_ctx, &sha1_init, &sha1_update, &sha1_digest, SHA1_DIGEST_SIZE>(out,
                                                                                       parts...);
      case Algorithm::sha256:
        return run<sha256_ctx, &sha256_init, &sha256_update, &sha256_digest, SHA256_DIGEST_SIZE>(
            out, parts...);
      case Algorithm::sha3_256:
        return run<sha3_256_ctx, &sha3_256_init, &sha3_256_update, &sha3_256_digest,
                   SHA3_256_DIGEST_SIZE>(out, parts...);
    }
  }
  static bool equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    return memeql_sec(a, b, n) != 0;
  }
  // Nettle has no system generator: the kernel's, as the nettle plugin uses.
  static void random(std::uint8_t* out, std::size_t n) {
    if (getrandom(out, n, 0) != static_cast<ssize_t>(n)) std::abort();
  }
  static std::string version() {
    return "Nettle " + std::to_string(nettle_version_major()) + "." +
           std::to_string(nettle_version_minor());
  }

 private:
  // Nettle 3's *_digest(ctx, length, out) (also re-initialises ctx), called directly.
  template <typename Ctx, void (*Init)(Ctx*),
            void (*Update)(Ctx*, std::size_t, const std::uint8_t*),
            void (*Final)(Ctx*, std::size_t, std::uint8_t*), std::size_t Size, typename... Parts>
  static void run(std::uint8_t* out, const Parts&... parts) {
    Ctx ctx;
    Init(&ctx);
    (Update(&ctx, parts.size(), parts.data()), ...);
    Final(&ctx, Size, out);
  }

  Algorithm m_alg;
};
#endif  // MULTICHAP_BENCH_HAVE_NETTLE

template <typename Raw>
struct RawTag {
  using type = Raw;
};

// The suffix of a backend that bench/linked_in.cpp compiled into this binary beside its plugin:
// "openssl-static" is the OpenSSL backend's code linked in, "openssl" the dlopen'ed plugin.
inline constexpr std::string_view kLinkedInSuffix = "-static";

// The library a backend computes with: its name without kLinkedInSuffix.
constexpr std::string_view library_of(std::string_view backend) {
  if (backend.size() > kLinkedInSuffix.size() &&
      backend.substr(backend.size() - kLinkedInSuffix.size()) == kLinkedInSuffix) {
    return backend.substr(0, backend.size() - kLinkedInSuffix.size());
  }
  return backend;
}

// Calls fn(RawTag<R>{}) with the raw baseline of the backend called `backend` (a linked-in copy
// has its plugin's) and returns true, or returns false when this bench was built without that
// library.
template <typename Fn>
bool with_raw_baseline(std::string_view backend, Fn&& fn) {
  backend = library_of(backend);
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
#if MULTICHAP_BENCH_HAVE_GCRYPT
  if (backend == RawGcrypt::kBackend) {
    fn(RawTag<RawGcrypt>{});
    return true;
  }
#endif
#if MULTICHAP_BENCH_HAVE_NETTLE
  if (backend == RawNettle::kBackend) {
    fn(RawTag<RawNettle>{});
    return true;
  }
#endif
  (void)backend;
  (void)fn;
  return false;
}

}  // namespace multichap::bench

#endif  // MULTICHAP_BENCH_RAW_BASELINES_H
