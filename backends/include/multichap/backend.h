/* SPDX-License-Identifier: BSD-2-Clause */
/* multichap's backend ABI: how a crypto library becomes a multichap backend.
 *
 * A backend computes the one thing CHAP needs, R = H(identifier || secret || challenge)
 * (RFC 1994 §4.1) for the algorithms iSCSI negotiates with CHAP_A (5 MD5, 6 SHA-1, 7 SHA-256,
 * 8 SHA3-256), and draws random bytes for challenges. It comes in one of two forms:
 *
 *   - a plugin: a shared object that exports one symbol, multichap_backend_entry_v1, and is
 *     loaded with dlopen(RTLD_NOW | RTLD_LOCAL) from an explicit path
 *     (multichap_backend_load(), `multichap --backend PATH`), the directories of the colon list in
 *     MULTICHAP_BACKEND_PATH (ignored in setuid/setgid programs), then
 *     ${libdir}/multichap/backends-1; never from the current directory. Build one against this
 *     header alone: `pkg-config --cflags multichap-backend` (no multichap library to link);
 *   - a table an embedder registers from its own code (multichap_backend_register() in
 *     multichap/multichap.h), e.g. a firmware's own hash functions; no file involved.
 *
 * Rules of the ABI (version 1)
 *   - Valid C99 and C++. No C++ type, exception or allocation crosses it: plain C types, the
 *     caller's buffers, integer status codes, and the host's log callback for words.
 *   - The table starts with abi_major, abi_minor and size (sizeof the table the backend was
 *     built with). The host uses a table only when abi_major equals its own
 *     MULTICHAP_BACKEND_ABI_MAJOR and size covers every field the host reads; anything else is
 *     refused with a reason, and the host goes on without it.
 *   - A new minor version only appends fields at the end (an older host never reads them; a newer
 *     host reads them only when size covers them). Anything else is a new major version, with a
 *     new entry symbol (multichap_backend_entry_v2).
 *   - Pointers the table hands out (the table, its strings) stay valid until shutdown returns.
 *   - Thread safety: supports, compute and random may be called from several threads at once,
 *     unless flags has MULTICHAP_BACKEND_F_SERIAL, in which case the host never calls the
 *     backend from two threads at a time. init and shutdown are called once each, alone.
 *   - Secrets: compute sees the secret; a backend copies it nowhere, or wipes what it copied
 *     before returning. It never logs a secret, a challenge or a digest.
 *   - A backend that cannot compute an algorithm right now (a FIPS mode, a token without the
 *     mechanism) says so in supports(); the host offers and accepts only what supports() says.
 *     The host also checks each supported algorithm against a published digest when it loads
 *     the backend, and refuses a backend that gets one wrong or reports a wrong length.
 *   - Since 1.1, a backend may compute with a key it holds by reference (key_open, key_compute):
 *     the host then never sees the secret. It says per key what it can compute (key_supports),
 *     and the host offers and accepts for that secret only those algorithms.
 */
#ifndef MULTICHAP_BACKEND_H
#define MULTICHAP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define MULTICHAP_BACKEND_EXPORT __attribute__((visibility("default")))
#else
#define MULTICHAP_BACKEND_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define MULTICHAP_BACKEND_ABI_MAJOR 1
#define MULTICHAP_BACKEND_ABI_MINOR 1

/* The one symbol a plugin exports, as a string for dlsym(). */
#define MULTICHAP_BACKEND_ENTRY_SYMBOL "multichap_backend_entry_v1"

/* Status codes of the table's functions. */
#define MULTICHAP_BACKEND_OK 0
#define MULTICHAP_BACKEND_ERR_UNSUPPORTED 1 /* this algorithm is not available now */
#define MULTICHAP_BACKEND_ERR_BUFFER 2      /* out_cap is below the digest size */
#define MULTICHAP_BACKEND_ERR_FAILED 3      /* the library failed (say why through the log) */
#define MULTICHAP_BACKEND_ERR_INIT 4        /* init: the backend cannot work in this process */
/* Since 1.1, from the key_* functions (the reason in why): */
#define MULTICHAP_BACKEND_ERR_REFERENCE 5   /* the reference is malformed or not this backend's */
#define MULTICHAP_BACKEND_ERR_UNAVAILABLE 6 /* the module or token cannot be reached or loaded */
#define MULTICHAP_BACKEND_ERR_DENIED 7      /* the token refused the login (a wrong PIN, locked) */
#define MULTICHAP_BACKEND_ERR_NOT_FOUND 8   /* no key matches the reference (or more than one) */
#define MULTICHAP_BACKEND_ERR_EXISTS 9      /* key_import: a key matching it exists already */

/* flags */
#define MULTICHAP_BACKEND_F_SERIAL 0x1u /* never call supports/compute/random concurrently */
/* Since 1.1: the backend computes only with key references (key_* below); supports() says 0
 * for every algorithm and the host never offers it as a backend of plain secrets. */
#define MULTICHAP_BACKEND_F_KEYS_ONLY 0x2u

/* key_open flags (since 1.1) */
/* Allow MD5 with the key. A token that digests a key with MD5 at all usually does so only for a
 * key that is readable (not CKA_SENSITIVE): the host asks for it only behind an explicit option. */
#define MULTICHAP_BACKEND_KEY_F_ALLOW_MD5 0x1u
/* key_import flags (since 1.1) */
/* Create the key readable (not sensitive, extractable): its value can then be read back. */
#define MULTICHAP_BACKEND_KEY_F_READABLE 0x2u

/* Log levels of the host's callback. */
#define MULTICHAP_BACKEND_LOG_ERROR 0
#define MULTICHAP_BACKEND_LOG_WARNING 1
#define MULTICHAP_BACKEND_LOG_INFO 2

/* What the host hands a backend. Read-only for the backend; valid until shutdown returns. */
typedef struct multichap_backend_host {
  uint16_t abi_major; /* MULTICHAP_BACKEND_ABI_MAJOR of the host */
  uint16_t abi_minor;
  uint32_t size; /* sizeof(multichap_backend_host) as the host was built */
  /* One line for the host's log, without a trailing newline; may be called from any thread. */
  void (*log)(void* log_ctx, int level, const char* message);
  void* log_ctx;
} multichap_backend_host;

/* One piece of a digest's input: H(parts[0] || parts[1] || ...). data may be NULL when len is
 * 0. (The guard lets multichap's own core define the same struct, token for token.) */
#ifndef MULTICHAP_BACKEND_PART_DEFINED
#define MULTICHAP_BACKEND_PART_DEFINED
typedef struct multichap_backend_part {
  const uint8_t* data;
  size_t len;
} multichap_backend_part;
#endif

typedef struct multichap_backend_v1 {
  uint16_t abi_major; /* MULTICHAP_BACKEND_ABI_MAJOR */
  uint16_t abi_minor; /* MULTICHAP_BACKEND_ABI_MINOR */
  uint32_t size;      /* sizeof(multichap_backend_v1) */

  const char* name;            /* short, unique: [a-z0-9_-]{1,32}, e.g. "openssl" */
  const char* backend_version; /* the backend's own version, e.g. "1.0" */
  const char* library_version; /* what it computes with, e.g. "OpenSSL 3.0.17 1 Jul 2025" */
  uint32_t flags;              /* MULTICHAP_BACKEND_F_* */

  /* Called once before anything else (may be NULL). *ctx is then passed to every other
   * function. Returns MULTICHAP_BACKEND_OK, or an error (the host logs and refuses it). */
  int (*init)(const multichap_backend_host* host, void** ctx);
  /* Called once, last (may be NULL). */
  void (*shutdown)(void* ctx);

  /* 1 when CHAP_A chap_a can be computed right now, else 0. Cheap: the host may ask often. */
  int (*supports)(void* ctx, int chap_a);

  /* The digest of CHAP_A chap_a over the parts, in order, into out (out_cap bytes); the digest
   * size into *out_len. A CHAP response is three parts: the identifier byte, the secret, the
   * challenge. Returns MULTICHAP_BACKEND_OK or an error. */
  int (*compute)(void* ctx, int chap_a, const multichap_backend_part* parts, size_t nparts,
                 uint8_t* out, size_t out_cap, size_t* out_len);

  /* len bytes from a cryptographically secure generator into out. */
  int (*random)(void* ctx, uint8_t* out, size_t len);

  /* Optional (may be NULL): the library called directly, with no multichap layer, over one
   * buffer: what `multichap bench --compare-raw` times the backend against. raw_new returns a
   * state for one thread (NULL: not available for chap_a); raw_digest writes the digest to out
   * (at least the digest size) and returns MULTICHAP_BACKEND_OK or an error. */
  void* (*raw_new)(void* ctx, int chap_a);
  int (*raw_digest)(void* raw, const uint8_t* in, size_t len, uint8_t* out);
  void (*raw_free)(void* raw);

  /* ---- ABI 1.1: secrets by reference ---------------------------------------------------------
   * A secret that lives somewhere the host never reads it (a key in a PKCS#11 token), named by a
   * reference such as the RFC 7512 URI "pkcs11:token=multichap;object=alice;type=secret-key".
   * The host reads these fields only when size covers them; each may be NULL (no such support).
   * why/why_cap: a buffer for one line saying why a call failed (NUL-terminated, truncated to
   * why_cap); it never holds a secret or a PIN. */

  /* Opens the key named by reference: *key is then passed to the other key_* functions until
   * key_close. *value_len is the secret's length in bytes when the backend can tell (0 when not).
   * flags: MULTICHAP_BACKEND_KEY_F_*. Returns MULTICHAP_BACKEND_OK or an ERR_* (REFERENCE,
   * UNAVAILABLE, DENIED, NOT_FOUND, FAILED). May be called from several threads at once. */
  int (*key_open)(void* ctx, const char* reference, uint32_t flags, void** key, size_t* value_len,
                  char* why, size_t why_cap);
  /* Closes a key of key_open (called once per key, alone). */
  void (*key_close)(void* ctx, void* key);
  /* 1 when CHAP_A chap_a can be computed with key, else 0 and why says why not. */
  int (*key_supports)(void* ctx, void* key, int chap_a, char* why, size_t why_cap);
  /* The digest H(before[0] || ... || key's value || after[0] || ...) of CHAP_A chap_a, computed
   * where the key lives, into out (out_cap bytes), its size into *out_len. A CHAP response is one
   * part before (the identifier byte) and one after (the challenge). Thread-safe. */
  int (*key_compute)(void* ctx, void* key, int chap_a, const multichap_backend_part* before,
                     size_t nbefore, const multichap_backend_part* after, size_t nafter,
                     uint8_t* out, size_t out_cap, size_t* out_len);
  /* Creates a key named by reference with value (len bytes) where the backend keeps keys;
   * refuses (MULTICHAP_BACKEND_ERR_EXISTS) when a key matching the reference exists. flags:
   * MULTICHAP_BACKEND_KEY_F_READABLE. The backend wipes any copy of value it made. */
  int (*key_import)(void* ctx, const char* reference, const uint8_t* value, size_t len,
                    uint32_t flags, char* why, size_t why_cap);
  /* Calls line(arg, text) once for each key or object matching reference, text describing it
   * in one line without its value; returns MULTICHAP_BACKEND_OK or an ERR_*. */
  int (*key_list)(void* ctx, const char* reference, void (*line)(void* arg, const char* text),
                  void* arg, char* why, size_t why_cap);
} multichap_backend_v1;

/* The entry point of a plugin. host describes the host (check host->abi_major); returns the
 * backend's table (static storage), or NULL when it will not run under this host. */
typedef const multichap_backend_v1* (*multichap_backend_entry_v1_fn)(
    const multichap_backend_host* host);

#ifdef __cplusplus
}
#endif

#endif /* MULTICHAP_BACKEND_H */
