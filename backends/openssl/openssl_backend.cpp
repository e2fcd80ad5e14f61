// SPDX-License-Identifier: BSD-2-Clause
#include "backends/openssl/openssl_backend.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>

#include "auth/secure.h"
#include "backends/random_pool.h"

namespace multichap {

namespace {

// One row per algorithm, in kAlgorithms order: OpenSSL's name for it (EVP_MD_fetch).
struct OpenSslAlgorithm {
  Algorithm id;
  const char* name;
};
constexpr std::array<OpenSslAlgorithm, kAlgorithmCount> kOpenSslAlgorithms = {{
    {Algorithm::md5, "MD5"},
    {Algorithm::sha1, "SHA1"},
    {Algorithm::sha256, "SHA2-256"},
    {Algorithm::sha3_256, "SHA3-256"},
}};
static_assert(in_algorithm_order(kOpenSslAlgorithms),
              "kOpenSslAlgorithms: one row per Algorithm, in enum order");

constexpr const char* openssl_name(Algorithm alg) {
  return kOpenSslAlgorithms[algorithm_index(alg)].name;
}

// One EVP_MD_CTX per thread, reused for every digest of every OpenSSL backend on that thread.
class ThreadContext {
 public:
  ThreadContext() : m_ctx(EVP_MD_CTX_new()) {}
  ~ThreadContext() { EVP_MD_CTX_free(m_ctx); }
  ThreadContext(const ThreadContext&) = delete;
  ThreadContext& operator=(const ThreadContext&) = delete;
  EVP_MD_CTX* get() const { return m_ctx; }

 private:
  EVP_MD_CTX* m_ctx;
};

// The hot path reads a trivially destructible thread_local pointer (no guard check); the owner
// frees the context when the thread exits.
thread_local EVP_MD_CTX* t_ctx = nullptr;

EVP_MD_CTX* create_thread_context() {
  thread_local ThreadContext owner;
  t_ctx = owner.get();
  return t_ctx;
}

inline EVP_MD_CTX* thread_context() {
  return t_ctx != nullptr ? t_ctx : create_thread_context();
}

// The calling thread's pool of RAND_bytes output (backends/random_pool.h), same pattern.
thread_local RandomPool* t_pool = nullptr;

RandomPool& thread_pool() {
  if (t_pool == nullptr) {
    thread_local RandomPool owner;  // wiped when the thread exits
    t_pool = &owner;
  }
  return *t_pool;
}

// RAND_bytes takes an int length: large fills go in pieces.
bool rand_bytes(void*, MutableByteView out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t n = std::min<std::size_t>(out.size() - done, 1 << 20);
    if (RAND_bytes(out.data() + done, static_cast<int>(n)) != 1) {
      ERR_clear_error();
      return false;
    }
    done += n;
  }
  return true;
}

class OpenSslBackend final : public HashBackend {
 public:
  OpenSslBackend() {
    for (Digest& row : m_digests) {
      const AlgorithmInfo& info = algorithm_info(row.id);
      EVP_MD* md = EVP_MD_fetch(nullptr, row.name, nullptr);
      if (md == nullptr) continue;
      row.md = md;
      // Ask the library once whether it will actually compute this digest (a provider may hand
      // out an EVP_MD and still refuse to initialise it, as FIPS does for MD5).
      std::array<std::uint8_t, kMaxDigestSize> out{};
      const auto probe = compute(info.id, {ByteView(std::string_view("abc"))}, out);
      if (!probe || EVP_MD_get_size(md) != static_cast<int>(info.digest_size)) {
        EVP_MD_free(md);
        row.md = nullptr;
      }
    }
    ERR_clear_error();
  }
  ~OpenSslBackend() override {
    for (const Digest& row : m_digests) EVP_MD_free(row.md);
  }
  OpenSslBackend(const OpenSslBackend&) = delete;
  OpenSslBackend& operator=(const OpenSslBackend&) = delete;

  std::string_view name() const override { return "openssl"; }
  std::string version() const override { return OpenSSL_version(OPENSSL_VERSION); }
  bool supports(Algorithm alg) const override { return md_of(alg) != nullptr; }

  Result<std::size_t> digest(Algorithm alg, std::initializer_list<ByteView> parts,
                             MutableByteView out) const override {
    if (!supports(alg)) {
      return make_error(ErrorKind::backend, ErrorCode::algorithm_unavailable,
                        "openssl: " + std::string(algorithm_name(alg)) +
                            " is not available in this OpenSSL configuration");
    }
    return compute(alg, parts, out);
  }

  // Bytes of RAND_bytes (the configured provider's DRBG), drawn 1 KiB at a time into the
  // thread's pool and handed out once each.
  Result<void> random(MutableByteView out) const override {
    if (!thread_pool().take(out, &rand_bytes, nullptr)) {
      return make_error(ErrorKind::backend, ErrorCode::random_failed, "openssl: RAND_bytes failed");
    }
    return {};
  }

 private:
  // An algorithm's row: the library's name and the fetched object (null: not supported).
  struct Digest {
    Algorithm id;
    const char* name;
    EVP_MD* md;
  };
  using Digests = std::array<Digest, kAlgorithmCount>;
  static Digests make_digests() {
    Digests out{};
    for (std::size_t i = 0; i < kAlgorithmCount; ++i) {
      out[i] = Digest{kOpenSslAlgorithms[i].id, kOpenSslAlgorithms[i].name, nullptr};
    }
    return out;
  }
  EVP_MD* md_of(Algorithm alg) const { return m_digests[algorithm_index(alg)].md; }

  Result<std::size_t> compute(Algorithm alg, std::initializer_list<ByteView> parts,
                              MutableByteView out) const {
    const std::size_t size = digest_size(alg);
    if (out.size() < size) {
      return make_error(ErrorKind::backend, ErrorCode::output_too_small,
                        "openssl: digest output buffer too small");
    }
    EVP_MD_CTX* ctx = thread_context();
    if (ctx == nullptr || EVP_DigestInit_ex2(ctx, md_of(alg), nullptr) != 1) {
      ERR_clear_error();
      return make_error(ErrorKind::backend, ErrorCode::digest_failed,
                        "openssl: digest initialisation failed");
    }
    if (!update(ctx, parts)) {
      ERR_clear_error();
      return make_error(ErrorKind::backend, ErrorCode::digest_failed,
                        "openssl: digest update failed");
    }
    unsigned int written = 0;
    if (EVP_DigestFinal_ex(ctx, out.data(), &written) != 1 || written != size) {
      ERR_clear_error();
      return make_error(ErrorKind::backend, ErrorCode::digest_failed,
                        "openssl: digest finalisation failed");
    }
    return size;
  }

  // Small multi-part inputs (a CHAP response: id, secret, challenge) are gathered into one
  // stack buffer and fed in one EVP_DigestUpdate: each update is a provider dispatch, about
  // 10 ns, more than copying 50 bytes. The buffer holds the secret, so it is wiped after.
  static bool update(EVP_MD_CTX* ctx, std::initializer_list<ByteView> parts) {
    constexpr std::size_t kGather = 256;
    std::size_t total = 0;
    for (const ByteView part : parts) total += part.size();
    if (parts.size() > 1 && total <= kGather) {
      std::array<std::uint8_t, kGather> buffer;  // NOLINT: only the gathered bytes are read
      const ScopedWipe wipe_buffer(buffer.data(), total);
      std::size_t at = 0;
      for (const ByteView part : parts) {
        if (part.size() > 0) std::memcpy(buffer.data() + at, part.data(), part.size());
        at += part.size();
      }
      return EVP_DigestUpdate(ctx, buffer.data(), total) == 1;
    }
    for (const ByteView part : parts) {
      if (part.size() > 0 && EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) return false;
    }
    return true;
  }

  Digests m_digests = make_digests();
};

// The raw baseline: what a hand-written caller does, one fetched EVP_MD and one EVP_MD_CTX.
class OpenSslRawDigest final : public RawDigest {
 public:
  OpenSslRawDigest(EVP_MD* md, EVP_MD_CTX* ctx) : m_md(md), m_ctx(ctx) {}
  ~OpenSslRawDigest() override {
    EVP_MD_CTX_free(m_ctx);
    EVP_MD_free(m_md);
  }
  OpenSslRawDigest(const OpenSslRawDigest&) = delete;
  OpenSslRawDigest& operator=(const OpenSslRawDigest&) = delete;

  bool digest(ByteView input, std::uint8_t* out) override {
    unsigned int written = 0;
    return EVP_DigestInit_ex2(m_ctx, m_md, nullptr) == 1 &&
           EVP_DigestUpdate(m_ctx, input.data(), input.size()) == 1 &&
           EVP_DigestFinal_ex(m_ctx, out, &written) == 1;
  }

 private:
  EVP_MD* m_md;
  EVP_MD_CTX* m_ctx;
};

}  // namespace

std::unique_ptr<RawDigest> make_openssl_raw_digest(Algorithm alg) {
  EVP_MD* md = EVP_MD_fetch(nullptr, openssl_name(alg), nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (md == nullptr || ctx == nullptr) {
    EVP_MD_free(md);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return nullptr;
  }
  auto raw = std::make_unique<OpenSslRawDigest>(md, ctx);
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> probe{};
  if (!raw->digest(ByteView(std::string_view("abc")), probe.data())) {
    ERR_clear_error();
    return nullptr;
  }
  return raw;
}

std::shared_ptr<const HashBackend> make_openssl_backend() {
  static const std::shared_ptr<const HashBackend> backend = std::make_shared<OpenSslBackend>();
  return backend;
}

}  // namespace multichap
