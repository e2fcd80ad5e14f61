// SPDX-License-Identifier: BSD-2-Clause
// The libgcrypt backend as a plugin (backends/include/multichap/backend.h): CHAP digests through
// per-thread gcry_md_hd_t handles, random bytes from gcry_randomize. libgcrypt is LGPL-2.1+;
// the plugin links it dynamically (libgcrypt.so.20) and contains none of its code.
#include <gcrypt.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>

#include "auth/algorithm.h"
#include "auth/secure.h"
#include "backends/plugin_support.h"
#include "multichap/backend.h"

namespace multichap {

namespace {

// One row per algorithm, in kAlgorithms order: libgcrypt's number for it (gcry_md_open).
struct GcryptAlgorithm {
  Algorithm id;
  int algo;
};
constexpr std::array<GcryptAlgorithm, kAlgorithmCount> kGcryptAlgorithms = {{
    {Algorithm::md5, GCRY_MD_MD5},
    {Algorithm::sha1, GCRY_MD_SHA1},
    {Algorithm::sha256, GCRY_MD_SHA256},
    {Algorithm::sha3_256, GCRY_MD_SHA3_256},
}};
static_assert(in_algorithm_order(kGcryptAlgorithms),
              "kGcryptAlgorithms: one row per Algorithm, in enum order");

// The algorithm_index() of a CHAP_A number (RFC 7143 §12.1.3, IANA numbering), or
// kAlgorithmCount for a number the ABI does not define.
constexpr std::size_t index_of_chap_a(int chap_a) {
  const auto index = static_cast<std::size_t>(chap_a) - kAlgorithms[0].chap_a;
  return index < kAlgorithmCount ? index : kAlgorithmCount;
}
static_assert(index_of_chap_a(5) == algorithm_index(Algorithm::md5) &&
                  index_of_chap_a(8) == algorithm_index(Algorithm::sha3_256) &&
                  index_of_chap_a(4) == kAlgorithmCount && index_of_chap_a(9) == kAlgorithmCount &&
                  index_of_chap_a(-1) == kAlgorithmCount,
              "index_of_chap_a: CHAP_A 5..8 are kAlgorithms rows 0..3");

// What init() found; the ctx of every other function.
struct Backend {
  const multichap_backend_host* host;
  std::array<bool, kAlgorithmCount> supported;  // by algorithm_index()
};

// One line for the host's log. Never given a secret, a challenge or a digest.
void log_line(const multichap_backend_host* host, int level, const char* message) {
  if (host != nullptr && host->log != nullptr) host->log(host->log_ctx, level, message);
}

[[gnu::cold]] int fail(const Backend* backend, const char* message) {
  log_line(backend != nullptr ? backend->host : nullptr, MULTICHAP_BACKEND_LOG_ERROR, message);
  return MULTICHAP_BACKEND_ERR_FAILED;
}

// The calling thread's digest handles, one per algorithm, opened on first use and reset after
// every digest. The hot path reads a trivially destructible thread_local array (no guard
// check); the owner closes the handles when the thread exits. Every Backend shares them: a
// handle depends only on its algorithm.
MULTICHAP_HOT_TLS thread_local std::array<gcry_md_hd_t, kAlgorithmCount> t_handles{};
MULTICHAP_HOT_TLS thread_local bool t_handles_gone = false;

struct ThreadHandles {
  std::array<gcry_md_hd_t, kAlgorithmCount> owned{};
  ThreadHandles() = default;
  ~ThreadHandles() {
    t_handles = {};
    t_handles_gone = true;  // a digest from a later thread_local destructor fails, not crashes
    for (gcry_md_hd_t hd : owned) gcry_md_close(hd);  // wipes the state; accepts NULL
  }
  ThreadHandles(const ThreadHandles&) = delete;
  ThreadHandles& operator=(const ThreadHandles&) = delete;
};

[[gnu::noinline]] gcry_md_hd_t create_thread_handle(std::size_t index) {
  if (t_handles_gone) return nullptr;
  thread_local ThreadHandles owner;
  gcry_md_hd_t& hd = owner.owned[index];
  if (hd == nullptr) {
    gcry_md_hd_t opened = nullptr;
    if (gcry_md_open(&opened, kGcryptAlgorithms[index].algo, 0) != 0) return nullptr;
    hd = opened;
  }
  t_handles[index] = hd;
  return hd;
}

inline gcry_md_hd_t thread_handle(std::size_t index) {
  gcry_md_hd_t hd = t_handles[index];
  return hd != nullptr ? hd : create_thread_handle(index);
}

// Feeds the parts to hd; false when a part has no data but a length. Small multi-part inputs
// (a CHAP response: id, secret, challenge) are gathered into one stack buffer and fed in one
// gcry_md_write: every gcry_md_write is an API entry with its own checks, and one write of 49
// bytes took 74 ns per SHA-256 digest against 98 ns for three (1.10.1, x86-64). The buffer
// holds the secret, so it is wiped after.
bool write_parts(gcry_md_hd_t hd, const multichap_backend_part* parts, std::size_t nparts) {
  constexpr std::size_t kGather = 256;
  bool gather = nparts > 1;
  std::size_t total = 0;
  for (std::size_t i = 0; i < nparts; ++i) {
    if (parts[i].data == nullptr && parts[i].len != 0) return false;
    if (gather && parts[i].len > kGather - total) gather = false;
    if (gather) total += parts[i].len;
  }
  if (gather) {
    std::array<std::uint8_t, kGather> buffer;  // NOLINT: only the gathered bytes are read
    const ScopedWipe wipe_buffer(buffer.data(), total);
    std::size_t at = 0;
    for (std::size_t i = 0; i < nparts; ++i) {
      if (parts[i].len > 0) std::memcpy(buffer.data() + at, parts[i].data, parts[i].len);
      at += parts[i].len;
    }
    gcry_md_write(hd, buffer.data(), total);
    return true;
  }
  for (std::size_t i = 0; i < nparts; ++i) {
    if (parts[i].len > 0) gcry_md_write(hd, parts[i].data, parts[i].len);
  }
  return true;
}

// Initialises libgcrypt the way a library sharing the process with other libgcrypt users
// (libiscsi) must: the version check, which also runs libgcrypt's global initialisation, then,
// only when nobody has finished initialising it yet, the application's part. Then decides
// supports() by opening every algorithm: in FIPS mode (LIBGCRYPT_FORCE_FIPS_MODE,
// /etc/gcrypt/fips_enabled, /proc/sys/crypto/fips_enabled) gcry_md_open refuses MD5, whereas
// gcry_md_hash_buffer would abort the process.
int plugin_init(const multichap_backend_host* host, void** ctx) {
  try {
    if (ctx == nullptr) return MULTICHAP_BACKEND_ERR_INIT;
    *ctx = nullptr;
    char line[160];
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) {
      (void)std::snprintf(line, sizeof line,
                          "gcrypt: libgcrypt %s is older than %s, the version this backend was "
                          "built with",
                          gcry_check_version(nullptr), GCRYPT_VERSION);
      log_line(host, MULTICHAP_BACKEND_LOG_ERROR, line);
      return MULTICHAP_BACKEND_ERR_INIT;
    }
    if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
      // Nobody initialised libgcrypt: we finish it, without secure memory. We never ask for
      // secure memory (no GCRY_MD_FLAG_SECURE, no gcry_malloc_secure), and a pool would make
      // libgcrypt mlock() pages (needing CAP_IPC_LOCK, warning "using insecure memory" when
      // that fails) in a process that did not ask for it. A program that wants secure memory
      // initialises libgcrypt itself before loading backends, and its settings stay. In FIPS
      // mode libgcrypt ignores this request and keeps secure memory.
      (void)gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
      (void)gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    if (!gcry_control(GCRYCTL_OPERATIONAL_P)) {
      log_line(host, MULTICHAP_BACKEND_LOG_ERROR,
               "gcrypt: libgcrypt is not operational (a FIPS self-test failed)");
      return MULTICHAP_BACKEND_ERR_INIT;
    }

    auto* backend = new (std::nothrow) Backend{host, {}};
    if (backend == nullptr) return MULTICHAP_BACKEND_ERR_INIT;
    bool any = false;
    for (const GcryptAlgorithm& row : kGcryptAlgorithms) {
      const AlgorithmInfo& info = algorithm_info(row.id);
      gcry_md_hd_t hd = nullptr;
      const gcry_error_t err = gcry_md_open(&hd, row.algo, 0);
      if (err != 0) {
        (void)std::snprintf(line, sizeof line, "gcrypt: %.*s is not available%s: %s",
                            static_cast<int>(info.display.size()), info.display.data(),
                            gcry_fips_mode_active() ? " in FIPS mode" : "", gcry_strerror(err));
        log_line(host, MULTICHAP_BACKEND_LOG_INFO, line);
        continue;
      }
      gcry_md_write(hd, "abc", 3);
      const bool works =
          gcry_md_read(hd, 0) != nullptr && gcry_md_get_algo_dlen(row.algo) == info.digest_size;
      gcry_md_close(hd);
      if (!works) {
        (void)std::snprintf(line, sizeof line, "gcrypt: %.*s does not work, not offered",
                            static_cast<int>(info.display.size()), info.display.data());
        log_line(host, MULTICHAP_BACKEND_LOG_WARNING, line);
        continue;
      }
      backend->supported[algorithm_index(row.id)] = true;
      any = true;
    }
    if (!any) {
      log_line(host, MULTICHAP_BACKEND_LOG_ERROR, "gcrypt: no CHAP algorithm is available");
      delete backend;
      return MULTICHAP_BACKEND_ERR_INIT;
    }
    *ctx = backend;
    return MULTICHAP_BACKEND_OK;
  } catch (...) {
    return MULTICHAP_BACKEND_ERR_INIT;
  }
}

// The calling thread's handles stay open until it exits; libgcrypt stays initialised (other
// users of it may share the process).
void plugin_shutdown(void* ctx) {
  delete static_cast<Backend*>(ctx);
}

int plugin_supports(void* ctx, int chap_a) {
  const auto* backend = static_cast<const Backend*>(ctx);
  const std::size_t index = index_of_chap_a(chap_a);
  return backend != nullptr && index < kAlgorithmCount && backend->supported[index] ? 1 : 0;
}

int plugin_compute(void* ctx, int chap_a, const multichap_backend_part* parts, size_t nparts,
                   uint8_t* out, size_t out_cap, size_t* out_len) {
  const auto* backend = static_cast<const Backend*>(ctx);
  try {
    const std::size_t index = index_of_chap_a(chap_a);
    if (backend == nullptr || index >= kAlgorithmCount || !backend->supported[index]) {
      return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
    }
    const std::size_t size = kAlgorithms[index].digest_size;
    if (out_cap < size) return MULTICHAP_BACKEND_ERR_BUFFER;
    if (out == nullptr || out_len == nullptr || (parts == nullptr && nparts > 0)) {
      return fail(backend, "gcrypt: compute called with a null pointer");
    }
    gcry_md_hd_t hd = thread_handle(index);
    if (hd == nullptr) return fail(backend, "gcrypt: cannot open a digest handle");
    if (!write_parts(hd, parts, nparts)) {
      gcry_md_reset(hd);
      return fail(backend, "gcrypt: compute called with a part without data");
    }
    const unsigned char* digest = gcry_md_read(hd, 0);
    if (digest == nullptr) {
      gcry_md_reset(hd);
      return fail(backend, "gcrypt: gcry_md_read failed");
    }
    std::memcpy(out, digest, size);
    gcry_md_reset(hd);  // wipes the state, which absorbed the secret
    *out_len = size;
    return MULTICHAP_BACKEND_OK;
  } catch (...) {
    return fail(backend, "gcrypt: unexpected exception in compute");
  }
}

// gcry_randomize has no failure return: if its generator fails, libgcrypt logs a fatal error
// and aborts the process.
int plugin_random(void* ctx, uint8_t* out, size_t len) {
  if (len == 0) return MULTICHAP_BACKEND_OK;
  if (out == nullptr)
    return fail(static_cast<const Backend*>(ctx), "gcrypt: random called without output");
  gcry_randomize(out, len, GCRY_STRONG_RANDOM);
  return MULTICHAP_BACKEND_OK;
}

// The raw baseline: what a hand-written caller does, one handle opened once, then
// gcry_md_write, gcry_md_read and gcry_md_reset per digest.
struct RawDigest {
  gcry_md_hd_t hd;
  std::size_t size;
};

void* plugin_raw_new(void* ctx, int chap_a) {
  try {
    const std::size_t index = index_of_chap_a(chap_a);
    if (plugin_supports(ctx, chap_a) == 0) return nullptr;
    gcry_md_hd_t hd = nullptr;
    if (gcry_md_open(&hd, kGcryptAlgorithms[index].algo, 0) != 0) return nullptr;
    auto* raw = new (std::nothrow) RawDigest{hd, kAlgorithms[index].digest_size};
    if (raw == nullptr) gcry_md_close(hd);
    return raw;
  } catch (...) {
    return nullptr;
  }
}

int plugin_raw_digest(void* raw, const uint8_t* in, size_t len, uint8_t* out) {
  auto* state = static_cast<RawDigest*>(raw);
  if (len > 0) gcry_md_write(state->hd, in, len);
  const unsigned char* digest = gcry_md_read(state->hd, 0);
  if (digest == nullptr) {
    gcry_md_reset(state->hd);
    return MULTICHAP_BACKEND_ERR_FAILED;
  }
  std::memcpy(out, digest, state->size);
  gcry_md_reset(state->hd);
  return MULTICHAP_BACKEND_OK;
}

void plugin_raw_free(void* raw) {
  auto* state = static_cast<RawDigest*>(raw);
  if (state == nullptr) return;
  gcry_md_close(state->hd);
  delete state;
}

multichap_backend_v1 make_table() {
  // "libgcrypt 1.10.1": the version of the library loaded, not of the headers.
  static char library_version[64];
  (void)std::snprintf(library_version, sizeof library_version, "libgcrypt %s",
                      gcry_check_version(nullptr));
  multichap_backend_v1 table{};
  table.abi_major = MULTICHAP_BACKEND_ABI_MAJOR;
  table.abi_minor = MULTICHAP_BACKEND_ABI_MINOR;
  table.size = sizeof(multichap_backend_v1);
  table.name = "gcrypt";
  table.backend_version = "1.0";
  table.library_version = library_version;
  table.flags = 0;  // libgcrypt is thread-safe; each thread digests with its own handles
  table.init = &plugin_init;
  table.shutdown = &plugin_shutdown;
  table.supports = &plugin_supports;
  table.compute = &plugin_compute;
  table.random = &plugin_random;
  table.raw_new = &plugin_raw_new;
  table.raw_digest = &plugin_raw_digest;
  table.raw_free = &plugin_raw_free;
  return table;
}

}  // namespace

}  // namespace multichap

// The backend's table (static storage), or NULL for a host of another ABI major version. The
// plugin's exported multichap_backend_entry_v1 returns this.
extern "C" const multichap_backend_v1* multichap_backend_gcrypt_entry(
    const multichap_backend_host* host) {
  if (host == nullptr || host->abi_major != MULTICHAP_BACKEND_ABI_MAJOR ||
      host->size < sizeof(multichap_backend_host)) {
    return nullptr;
  }
  try {
    static const multichap_backend_v1 table = multichap::make_table();
    return &table;
  } catch (...) {
    return nullptr;
  }
}
