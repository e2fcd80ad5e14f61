/* SPDX-License-Identifier: BSD-2-Clause */
/* A backend plugin for the loader's tests (tests/backends/plugin_loader_test.cpp,
 * tests/tools/cli_plugins_test.sh), built once per defect from this one file.
 *
 * Without a DEFECT_* macro it is a valid backend: libcrypto's EVP digests and RAND_bytes behind
 * the ABI of <multichap/backend.h>, named PLUGIN_NAME. Each defect changes exactly one thing, so
 * that the control build (no defect) loading proves every refusal comes from its defect:
 *   DEFECT_WRONG_MAJOR      abi_major is one above the host's
 *   DEFECT_SHORT_TABLE      size stops before compute (an ABI 1 table is longer)
 *   DEFECT_NO_ENTRY         the entry is exported under another name (no ..._entry_v1 symbol)
 *   DEFECT_NULL_TABLE       the entry returns NULL
 *   DEFECT_SHORT_DIGEST     compute reports one byte less than the digest it wrote
 *   DEFECT_WRONG_DIGEST     compute flips a bit of every digest
 *   DEFECT_INIT_FAILS       init logs why and returns MULTICHAP_BACKEND_ERR_INIT
 *   DEFECT_BAD_NAME         the name is not [a-z0-9_-]{1,32}
 *   DEFECT_NO_RANDOM        random is NULL
 *   DEFECT_LYING_SUPPORTS   supports() says SHA3-256, compute answers ERR_UNSUPPORTED for it
 * A duplicate is the control build with PLUGIN_NAME "openssl".
 *
 * init and shutdown log "init" and "shutdown" at MULTICHAP_BACKEND_LOG_INFO through the host,
 * so that a test sees which were called. */
#include <multichap/backend.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#ifndef PLUGIN_NAME
#error "PLUGIN_NAME must be defined"
#endif

static const multichap_backend_host* g_host;
static int g_ctx; /* what init hands out: a test checks the host passes it back */

static void log_line(int level, const char* message) {
  if (g_host != NULL && g_host->log != NULL) g_host->log(g_host->log_ctx, level, message);
}

static const EVP_MD* md_of(int chap_a) {
  switch (chap_a) {
    case 5:
      return EVP_md5();
    case 6:
      return EVP_sha1();
    case 7:
      return EVP_sha256();
    case 8:
      return EVP_sha3_256();
    default:
      return NULL;
  }
}

static int plugin_init(const multichap_backend_host* host, void** ctx) {
  g_host = host;
#ifdef DEFECT_INIT_FAILS
  (void)ctx;
  log_line(MULTICHAP_BACKEND_LOG_ERROR, "init fails on purpose");
  return MULTICHAP_BACKEND_ERR_INIT;
#else
  log_line(MULTICHAP_BACKEND_LOG_INFO, "init");
  *ctx = &g_ctx;
  return MULTICHAP_BACKEND_OK;
#endif
}

static void plugin_shutdown(void* ctx) {
  log_line(MULTICHAP_BACKEND_LOG_INFO, ctx == &g_ctx ? "shutdown" : "shutdown with a wrong ctx");
}

static int plugin_supports(void* ctx, int chap_a) {
  (void)ctx;
  return md_of(chap_a) != NULL;
}

static int plugin_compute(void* ctx, int chap_a, const multichap_backend_part* parts, size_t nparts,
                          uint8_t* out, size_t out_cap, size_t* out_len) {
  const EVP_MD* md = md_of(chap_a);
  EVP_MD_CTX* mdctx;
  unsigned int n = 0;
  size_t i;
  int ok;
  if (ctx != &g_ctx || md == NULL) return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
#ifdef DEFECT_LYING_SUPPORTS
  if (chap_a == 8) return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
#endif
  if (out_cap < (size_t)EVP_MD_get_size(md)) return MULTICHAP_BACKEND_ERR_BUFFER;
  mdctx = EVP_MD_CTX_new();
  if (mdctx == NULL) return MULTICHAP_BACKEND_ERR_FAILED;
  ok = EVP_DigestInit_ex(mdctx, md, NULL);
  for (i = 0; ok && i < nparts; ++i) {
    if (parts[i].len > 0) ok = EVP_DigestUpdate(mdctx, parts[i].data, parts[i].len);
  }
  if (ok) ok = EVP_DigestFinal_ex(mdctx, out, &n);
  EVP_MD_CTX_free(mdctx); /* cleanses the state */
  if (!ok) return MULTICHAP_BACKEND_ERR_FAILED;
  *out_len = n;
#ifdef DEFECT_SHORT_DIGEST
  *out_len = n - 1;
#endif
#ifdef DEFECT_WRONG_DIGEST
  out[n - 1] ^= 1;
#endif
  return MULTICHAP_BACKEND_OK;
}

#ifndef DEFECT_NO_RANDOM
static int plugin_random(void* ctx, uint8_t* out, size_t len) {
  (void)ctx;
  if (len > 0x7fffffff) return MULTICHAP_BACKEND_ERR_FAILED;
  return RAND_bytes(out, (int)len) == 1 ? MULTICHAP_BACKEND_OK : MULTICHAP_BACKEND_ERR_FAILED;
}
#endif

static const multichap_backend_v1 kTable = {
#ifdef DEFECT_WRONG_MAJOR
    MULTICHAP_BACKEND_ABI_MAJOR + 1,
#else
    MULTICHAP_BACKEND_ABI_MAJOR,
#endif
    MULTICHAP_BACKEND_ABI_MINOR,
#ifdef DEFECT_SHORT_TABLE
    offsetof(multichap_backend_v1, compute),
#else
    sizeof(multichap_backend_v1),
#endif
#ifdef DEFECT_BAD_NAME
    "Bad Name!",
#else
    PLUGIN_NAME,
#endif
    "1.0",
    "test plugin over libcrypto",
    0,
    plugin_init,
    plugin_shutdown,
    plugin_supports,
    plugin_compute,
#ifdef DEFECT_NO_RANDOM
    NULL,
#else
    plugin_random,
#endif
    NULL,
    NULL,
    NULL,
    NULL, /* key_open ... key_list (ABI 1.1): no secrets by reference */
    NULL,
    NULL,
    NULL,
    NULL,
    NULL};

#ifdef DEFECT_NO_ENTRY
#define PLUGIN_ENTRY multichap_backend_entry
#else
#define PLUGIN_ENTRY multichap_backend_entry_v1
#endif

MULTICHAP_BACKEND_EXPORT const multichap_backend_v1* PLUGIN_ENTRY(
    const multichap_backend_host* host);

const multichap_backend_v1* PLUGIN_ENTRY(const multichap_backend_host* host) {
#ifdef DEFECT_NULL_TABLE
  (void)host;
  (void)&kTable;
  return NULL;
#else
  if (host == NULL || host->abi_major != MULTICHAP_BACKEND_ABI_MAJOR) return NULL;
  return &kTable;
#endif
}
