/* SPDX-License-Identifier: BSD-2-Clause */
/* example_backend: a complete multichap backend plugin, to copy and adapt.
 *
 * It computes the CHAP digests with GNU Nettle's hash functions (MD5, SHA-1, SHA-256, SHA3-256)
 * and draws random bytes from the kernel with getrandom(2). It is built against
 * <multichap/backend.h> alone: no multichap library is linked, and the plugin exports one
 * symbol, multichap_backend_entry_v1. See README.md for building, installing and checking it.
 *
 * What the ABI asks of a backend, and where this file does it:
 *   - the table: static storage, abi_major/abi_minor/size first, a name of [a-z0-9_-]{1,32}
 *     (kTable);
 *   - the entry: returns the table, or NULL under a host of another ABI major version
 *     (multichap_backend_entry_v1);
 *   - thread safety: supports, compute and random are called from several threads at once
 *     unless flags has MULTICHAP_BACKEND_F_SERIAL. Here every call keeps its state on its own
 *     stack, so no flag is needed;
 *   - secrets: compute sees the secret (one of its parts). The hash context that absorbed it is
 *     wiped before compute returns; nothing is copied elsewhere, and nothing is logged;
 *   - errors: integer status codes; words for the host's log through host->log.
 *
 * Nettle 4 dropped the length argument of the digest functions; both are handled below. */
#define _DEFAULT_SOURCE /* explicit_bzero (glibc 2.25) */
#include <errno.h>
#include <multichap/backend.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <nettle/sha3.h>
#include <nettle/version.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#if NETTLE_VERSION_MAJOR >= 4
#define EXAMPLE_DIGEST(hash, ctx, out) (hash)->digest((ctx), (out))
#else
#define EXAMPLE_DIGEST(hash, ctx, out) (hash)->digest((ctx), (hash)->digest_size, (out))
#endif

/* Room for the context of any of the four hashes. */
union example_hash_ctx {
  struct md5_ctx md5;
  struct sha1_ctx sha1;
  struct sha256_ctx sha256;
  struct sha3_256_ctx sha3_256;
};

/* Nettle's description of the hash of a CHAP_A number (RFC 7143 §12.1.3; IANA "PPP
 * Authentication Algorithms": 5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256), or NULL. */
static const struct nettle_hash* hash_of(int chap_a) {
  switch (chap_a) {
    case 5:
      return &nettle_md5;
    case 6:
      return &nettle_sha1;
    case 7:
      return &nettle_sha256;
    case 8:
      return &nettle_sha3_256;
    default:
      return NULL;
  }
}

/* What the host gave init: its log callback. The ctx of every other function. */
struct example_backend {
  const multichap_backend_host* host;
};
static struct example_backend g_backend;
static char g_library_version[32] = "Nettle"; /* "Nettle 3.8" once init has run */

static void log_line(const struct example_backend* backend, int level, const char* message) {
  if (backend->host != NULL && backend->host->log != NULL) {
    backend->host->log(backend->host->log_ctx, level, message);
  }
}

static int example_init(const multichap_backend_host* host, void** ctx) {
  g_backend.host = host;
  (void)snprintf(g_library_version, sizeof g_library_version, "Nettle %d.%d",
                 nettle_version_major(), nettle_version_minor());
  *ctx = &g_backend;
  return MULTICHAP_BACKEND_OK;
}

static int example_supports(void* ctx, int chap_a) {
  (void)ctx;
  return hash_of(chap_a) != NULL;
}

/* H(parts[0] || parts[1] || ...) into out. */
static int example_compute(void* ctx, int chap_a, const multichap_backend_part* parts,
                           size_t nparts, uint8_t* out, size_t out_cap, size_t* out_len) {
  const struct nettle_hash* hash = hash_of(chap_a);
  union example_hash_ctx state;
  size_t i;
  (void)ctx;
  if (hash == NULL) return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
  if (out_cap < hash->digest_size) return MULTICHAP_BACKEND_ERR_BUFFER;
  for (i = 0; i < nparts; ++i) {
    if (parts[i].data == NULL && parts[i].len != 0) return MULTICHAP_BACKEND_ERR_FAILED;
  }
  hash->init(&state);
  for (i = 0; i < nparts; ++i) {
    if (parts[i].len > 0) hash->update(&state, parts[i].len, parts[i].data);
  }
  EXAMPLE_DIGEST(hash, &state, out);
  explicit_bzero(&state, sizeof state); /* it absorbed the secret */
  *out_len = hash->digest_size;
  return MULTICHAP_BACKEND_OK;
}

/* The kernel's CSPRNG; getrandom() returns at most 32 MiB per call and may be interrupted. */
static int example_random(void* ctx, uint8_t* out, size_t len) {
  while (len > 0) {
    const ssize_t n = getrandom(out, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      log_line((const struct example_backend*)ctx, MULTICHAP_BACKEND_LOG_ERROR,
               "example: getrandom failed");
      return MULTICHAP_BACKEND_ERR_FAILED;
    }
    out += n;
    len -= (size_t)n;
  }
  return MULTICHAP_BACKEND_OK;
}

static const multichap_backend_v1 kTable = {
    MULTICHAP_BACKEND_ABI_MAJOR,
    MULTICHAP_BACKEND_ABI_MINOR,
    sizeof(multichap_backend_v1),
    "example",         /* name: what `multichap --backend example` selects */
    "1.0",             /* this backend's own version */
    g_library_version, /* what it computes with (filled in by init) */
    0,                 /* flags: reentrant, so not MULTICHAP_BACKEND_F_SERIAL */
    example_init,
    NULL, /* shutdown: nothing to release */
    example_supports,
    example_compute,
    example_random,
    NULL, /* raw_new, raw_digest, raw_free: no baseline for `multichap bench --compare-raw` */
    NULL,
    NULL,
    NULL, /* key_open ... key_list (ABI 1.1): no secrets held by reference */
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

MULTICHAP_BACKEND_EXPORT const multichap_backend_v1* multichap_backend_entry_v1(
    const multichap_backend_host* host);

const multichap_backend_v1* multichap_backend_entry_v1(const multichap_backend_host* host) {
  if (host == NULL || host->abi_major != MULTICHAP_BACKEND_ABI_MAJOR) return NULL;
  return &kTable;
}
