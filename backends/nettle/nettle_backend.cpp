// SPDX-License-Identifier: BSD-2-Clause
// The GNU Nettle backend as a plugin (backends/include/multichap/backend.h): CHAP digests with
// Nettle's hash functions on a context on the stack, random bytes from getrandom(2) (Nettle has
// no system generator). Nettle is LGPL-3+ or GPL-2+; the plugin links it dynamically
// (libnettle.so.8) and contains none of its code.
#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <nettle/sha3.h>
#include <nettle/version.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>

#include "auth/algorithm.h"
#include "auth/secure.h"
#include "multichap/backend.h"

namespace multichap {

namespace {

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

// Nettle's functions for one algorithm, called directly (no nettle_hash descriptor, so no
// indirect call per update). Nettle 3's *_digest(ctx, length, out) also re-initialises ctx.
#define MULTICHAP_NETTLE_HASH(Name, Id, Ctx, Prefix, Size)                                    \
  struct Name {                                                                               \
    using Context = Ctx;                                                                      \
    static constexpr Algorithm kId = Id;                                                      \
    static constexpr std::size_t kSize = Size;                                                \
    static void init(Context* ctx) { Prefix##_init(ctx); }                                    \
    static void update(Context* ctx, std::size_t len, const std::uint8_t* data) {             \
      Prefix##_update(ctx, len, data);                                                        \
    }                                                                                         \
    static void digest(Context* ctx, std::uint8_t* out) { Prefix##_digest(ctx, kSize, out); } \
  };                                                                                          \
  static_assert(Name::kSize == digest_size(Name::kId), #Name ": digest size")

MULTICHAP_NETTLE_HASH(Md5, Algorithm::md5, md5_ctx, md5, MD5_DIGEST_SIZE);
MULTICHAP_NETTLE_HASH(Sha1, Algorithm::sha1, sha1_ctx, sha1, SHA1_DIGEST_SIZE);
MULTICHAP_NETTLE_HASH(Sha256, Algorithm::sha256, sha256_ctx, sha256, SHA256_DIGEST_SIZE);
MULTICHAP_NETTLE_HASH(Sha3_256, Algorithm::sha3_256, sha3_256_ctx, sha3_256, SHA3_256_DIGEST_SIZE);
#undef MULTICHAP_NETTLE_HASH

// Wipes what a finished context still holds of the message: *_digest re-initialises the chaining
// state (md5/sha1/sha256: the initial values; sha3: zeros) but leaves the last block's bytes,
// which for a CHAP response are the identifier, the secret and the challenge. Inline, with the
// same compiler barrier as secure_wipe(), so the stores are not dropped as dead: a call and a
// wipe of the whole context cost 3 ns of a 60 ns SHA-1 response.
template <typename Context>
inline void wipe_block(Context& ctx) {
  std::memset(ctx.block, 0, sizeof ctx.block);
#if defined(__GNUC__)
  __asm__ __volatile__("" : : "r"(ctx.block) : "memory");
#else
  secure_wipe(ctx.block, sizeof ctx.block);
#endif
}

// out = H(parts[0] || parts[1] || ...); false when a part has no data but a length. The
// context lives on the stack; its last block is wiped before returning. No gathering into one
// buffer, unlike the OpenSSL backend: an update is a direct call that copies a short part into
// the context's block, which is what gathering would do.
template <typename Hash>
inline bool digest_parts(const multichap_backend_part* parts, std::size_t nparts,
                         std::uint8_t* out) {
  typename Hash::Context ctx;
  Hash::init(&ctx);
  for (std::size_t i = 0; i < nparts; ++i) {
    if (parts[i].len == 0) continue;
    if (parts[i].data == nullptr) {
      wipe_block(ctx);
      return false;
    }
    Hash::update(&ctx, parts[i].len, parts[i].data);
  }
  Hash::digest(&ctx, out);
  wipe_block(ctx);
  return true;
}

// The ctx of every other function.
struct Backend {
  const multichap_backend_host* host;
};

// One line for the host's log. Never given a secret, a challenge or a digest.
void log_line(const multichap_backend_host* host, int level, const char* message) {
  if (host != nullptr && host->log != nullptr) host->log(host->log_ctx, level, message);
}

[[gnu::cold]] int fail(const Backend* backend, const char* message) {
  log_line(backend != nullptr ? backend->host : nullptr, MULTICHAP_BACKEND_LOG_ERROR, message);
  return MULTICHAP_BACKEND_ERR_FAILED;
}

// Nettle needs no initialisation and has no global state.
int plugin_init(const multichap_backend_host* host, void** ctx) {
  if (ctx == nullptr) return MULTICHAP_BACKEND_ERR_INIT;
  *ctx = new (std::nothrow) Backend{host};
  return *ctx != nullptr ? MULTICHAP_BACKEND_OK : MULTICHAP_BACKEND_ERR_INIT;
}

void plugin_shutdown(void* ctx) {
  delete static_cast<Backend*>(ctx);
}

// Every algorithm, always: Nettle has no FIPS mode or other switch that removes one.
int plugin_supports(void*, int chap_a) {
  return index_of_chap_a(chap_a) < kAlgorithmCount ? 1 : 0;
}

int plugin_compute(void* ctx, int chap_a, const multichap_backend_part* parts, size_t nparts,
                   uint8_t* out, size_t out_cap, size_t* out_len) {
  const auto* backend = static_cast<const Backend*>(ctx);
  try {
    const std::size_t index = index_of_chap_a(chap_a);
    if (index >= kAlgorithmCount) return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
    const std::size_t size = kAlgorithms[index].digest_size;
    if (out_cap < size) return MULTICHAP_BACKEND_ERR_BUFFER;
    if (out == nullptr || out_len == nullptr || (parts == nullptr && nparts > 0)) {
      return fail(backend, "nettle: compute called with a null pointer");
    }
    // A switch of direct calls rather than a table of function pointers: one indirect call
    // less on a path of 60 ns.
    bool done = false;
    switch (chap_a) {
      case 5:
        done = digest_parts<Md5>(parts, nparts, out);
        break;
      case 6:
        done = digest_parts<Sha1>(parts, nparts, out);
        break;
      case 7:
        done = digest_parts<Sha256>(parts, nparts, out);
        break;
      default:
        done = digest_parts<Sha3_256>(parts, nparts, out);
        break;
    }
    if (!done) return fail(backend, "nettle: compute called with a part without data");
    *out_len = size;
    return MULTICHAP_BACKEND_OK;
  } catch (...) {
    return fail(backend, "nettle: unexpected exception in compute");
  }
}

// getrandom(2) with no flags: the kernel's generator, blocking only until it was first seeded.
// A read may return fewer bytes than asked (a signal during a read of more than 256 bytes, any
// read above 32 MiB); the rest is read again. On failure the bytes already written are wiped.
int plugin_random(void* ctx, uint8_t* out, size_t len) {
  if (len == 0) return MULTICHAP_BACKEND_OK;
  if (out == nullptr)
    return fail(static_cast<const Backend*>(ctx), "nettle: random called without output");
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = getrandom(out + done, len - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int error = n < 0 ? errno : EIO;
    secure_wipe(out, done);
    char message[64];
    (void)std::snprintf(message, sizeof message, "nettle: getrandom failed (errno %d)", error);
    return fail(static_cast<const Backend*>(ctx), message);
  }
  return MULTICHAP_BACKEND_OK;
}

// The raw baseline: what a hand-written caller does, one context kept for the thread and
// *_update then *_digest (which re-initialises it) per digest. Not wiped: benchmark input only.
class RawDigest {
 public:
  virtual ~RawDigest() = default;
  virtual void digest(const std::uint8_t* in, std::size_t len, std::uint8_t* out) = 0;
};

template <typename Hash>
class NettleRawDigest final : public RawDigest {
 public:
  NettleRawDigest() { Hash::init(&m_ctx); }
  void digest(const std::uint8_t* in, std::size_t len, std::uint8_t* out) override {
    if (len > 0) Hash::update(&m_ctx, len, in);
    Hash::digest(&m_ctx, out);
  }

 private:
  typename Hash::Context m_ctx;
};

void* plugin_raw_new(void*, int chap_a) {
  switch (index_of_chap_a(chap_a)) {
    case algorithm_index(Algorithm::md5):
      return new (std::nothrow) NettleRawDigest<Md5>;
    case algorithm_index(Algorithm::sha1):
      return new (std::nothrow) NettleRawDigest<Sha1>;
    case algorithm_index(Algorithm::sha256):
      return new (std::nothrow) NettleRawDigest<Sha256>;
    case algorithm_index(Algorithm::sha3_256):
      return new (std::nothrow) NettleRawDigest<Sha3_256>;
    default:
      return nullptr;
  }
}

int plugin_raw_digest(void* raw, const uint8_t* in, size_t len, uint8_t* out) {
  static_cast<RawDigest*>(raw)->digest(in, len, out);
  return MULTICHAP_BACKEND_OK;
}

void plugin_raw_free(void* raw) {
  delete static_cast<RawDigest*>(raw);
}

multichap_backend_v1 make_table() {
  // "Nettle 3.8": the version of the library loaded, not of the headers.
  static char library_version[32];
  (void)std::snprintf(library_version, sizeof library_version, "Nettle %d.%d",
                      nettle_version_major(), nettle_version_minor());
  multichap_backend_v1 table{};
  table.abi_major = MULTICHAP_BACKEND_ABI_MAJOR;
  table.abi_minor = MULTICHAP_BACKEND_ABI_MINOR;
  table.size = sizeof(multichap_backend_v1);
  table.name = "nettle";
  table.backend_version = "1.0";
  table.library_version = library_version;
  table.flags = 0;  // no shared state: every digest has its own context
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
extern "C" const multichap_backend_v1* multichap_backend_nettle_entry(
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
