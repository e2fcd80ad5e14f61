/* SPDX-License-Identifier: BSD-2-Clause */
/**
 * @file backend.h
 * @brief multichap's backend ABI: how a crypto library becomes a multichap backend. Everything
 * it declares is described in @ref multichap_backend_abi.
 */
/**
 * @defgroup multichap_backend_abi multichap/backend.h: the backend ABI
 * @brief How a crypto library becomes a multichap backend.
 *
 * A backend computes the one thing CHAP needs, R = H(identifier || secret || challenge)
 * (RFC 1994 §4.1) for the algorithms iSCSI negotiates with CHAP_A (5 MD5, 6 SHA-1, 7 SHA-256,
 * 8 SHA3-256), and draws random bytes for challenges. It comes in one of two forms:
 *
 * - a plugin: a shared object that exports one symbol, multichap_backend_entry_v1, and is
 *   loaded with dlopen(RTLD_NOW | RTLD_LOCAL) from an explicit path
 *   (multichap_backend_load(), the CLI's `--backend PATH`), the directories of the colon list
 *   in MULTICHAP_BACKEND_PATH (ignored in setuid/setgid programs), then
 *   ${libdir}/multichap/backends-1; never from the current directory. Build one against this
 *   header alone: `pkg-config --cflags multichap-backend` (no multichap library to link);
 * - a table an embedder registers from its own code (multichap_backend_register() in
 *   multichap/multichap.h), e.g. a firmware's own hash functions; no file involved.
 *
 * @par Rules of the ABI (version 1)
 * - Valid C99 and C++. No C++ type, exception or allocation crosses it: plain C types, the
 *   caller's buffers, integer status codes, and the host's log callback for words.
 * - The table starts with abi_major, abi_minor and size (sizeof the table the backend was
 *   built with). The host uses a table only when abi_major equals its own
 *   #MULTICHAP_BACKEND_ABI_MAJOR and size covers every field the host reads; anything else is
 *   refused with a reason, and the host goes on without it.
 * - A new minor version only appends fields at the end (an older host never reads them; a newer
 *   host reads them only when size covers them). Anything else is a new major version, with a
 *   new entry symbol (multichap_backend_entry_v2).
 * - Pointers the table hands out (the table, its strings) stay valid until shutdown returns.
 * - Thread safety: supports, compute and random may be called from several threads at once,
 *   unless flags has #MULTICHAP_BACKEND_F_SERIAL, in which case the host never calls the
 *   backend from two threads at a time. init and shutdown are called once each, alone.
 * - Secrets: compute sees the secret; a backend copies it nowhere, or wipes what it copied
 *   before returning. It never logs a secret, a challenge or a digest.
 * - A backend that cannot compute an algorithm right now (a FIPS mode, a token without the
 *   mechanism) says so in supports(); the host offers and accepts only what supports() says.
 *   The host also checks each supported algorithm against a published digest when it loads
 *   the backend, and refuses a backend that gets one wrong or reports a wrong length.
 * - Since 1.1, a backend may compute with a key it holds by reference (key_open, key_compute):
 *   the host then never sees the secret. It says per key what it can compute (key_supports),
 *   and the host offers and accepts for that secret only those algorithms.
 * @{
 */
#ifndef MULTICHAP_BACKEND_H
#define MULTICHAP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
/** Marks the entry point a plugin exports (default visibility). */
#define MULTICHAP_BACKEND_EXPORT __attribute__((visibility("default")))
#else
#define MULTICHAP_BACKEND_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI major version this header describes: a host uses only tables of its own major. */
#define MULTICHAP_BACKEND_ABI_MAJOR 1
/** The ABI minor version: each minor appends fields to the table. */
#define MULTICHAP_BACKEND_ABI_MINOR 1

/** The one symbol a plugin exports, as a string for dlsym(). */
#define MULTICHAP_BACKEND_ENTRY_SYMBOL "multichap_backend_entry_v1"

/** @name Status codes of the table's functions
 * Codes 5 to 9 are since 1.1, from the key_* functions (the reason in why). */
/** @{ */
#define MULTICHAP_BACKEND_OK 0              /**< success */
#define MULTICHAP_BACKEND_ERR_UNSUPPORTED 1 /**< this algorithm is not available now */
#define MULTICHAP_BACKEND_ERR_BUFFER 2      /**< out_cap is below the digest size */
#define MULTICHAP_BACKEND_ERR_FAILED 3      /**< the library failed (say why through the log) */
#define MULTICHAP_BACKEND_ERR_INIT 4        /**< init: the backend cannot work in this process */
/* Since 1.1, from the key_* functions (the reason in why): */
#define MULTICHAP_BACKEND_ERR_REFERENCE 5   /**< the reference is malformed or not this backend's */
#define MULTICHAP_BACKEND_ERR_UNAVAILABLE 6 /**< the module or token is out of reach */
#define MULTICHAP_BACKEND_ERR_DENIED 7      /**< the token refused the login (wrong PIN, locked) */
#define MULTICHAP_BACKEND_ERR_NOT_FOUND 8   /**< no key (or more than one) matches the reference */
#define MULTICHAP_BACKEND_ERR_EXISTS 9      /**< key_import: a matching key exists already */
/** @} */

/** @name Flags of multichap_backend_v1::flags */
/** @{ */
#define MULTICHAP_BACKEND_F_SERIAL 0x1u /**< never call supports/compute/random concurrently */
/** Since 1.1: the backend computes only with key references (key_* below); supports() says 0
 * for every algorithm and the host never offers it as a backend of plain secrets. */
#define MULTICHAP_BACKEND_F_KEYS_ONLY 0x2u
/** @} */

/** @name Flags of key_open and key_import (since 1.1) */
/** @{ */
/** key_open: allow MD5 with the key. A token that digests a key with MD5 at all usually does so
 * only for a key that is readable (not CKA_SENSITIVE): the host asks for it only behind an
 * explicit option. */
#define MULTICHAP_BACKEND_KEY_F_ALLOW_MD5 0x1u
/** key_import: create the key readable (not sensitive, extractable): its value can then be read
 * back. */
#define MULTICHAP_BACKEND_KEY_F_READABLE 0x2u
/** @} */

/** @name Log levels of the host's callback */
/** @{ */
#define MULTICHAP_BACKEND_LOG_ERROR 0   /**< an error */
#define MULTICHAP_BACKEND_LOG_WARNING 1 /**< a warning */
#define MULTICHAP_BACKEND_LOG_INFO 2    /**< information */
/** @} */

/** What the host hands a backend. Read-only for the backend; valid until shutdown returns. */
typedef struct multichap_backend_host {
  uint16_t abi_major; /**< #MULTICHAP_BACKEND_ABI_MAJOR of the host */
  uint16_t abi_minor; /**< #MULTICHAP_BACKEND_ABI_MINOR of the host */
  uint32_t size;      /**< sizeof(multichap_backend_host) as the host was built */
  /**
   * @brief One line for the host's log, without a trailing newline; may be called from any
   * thread.
   * @param log_ctx the host's #log_ctx.
   * @param level a MULTICHAP_BACKEND_LOG_* level.
   * @param message the line; never a secret, a challenge or a digest.
   */
  void (*log)(void* log_ctx, int level, const char* message);
  void* log_ctx; /**< the first argument of #log */
} multichap_backend_host;

#ifndef MULTICHAP_BACKEND_PART_DEFINED
/** Set once multichap_backend_part is defined: multichap's own core defines the same struct,
 * token for token, behind the same guard, so that it can call a table's compute directly. */
#define MULTICHAP_BACKEND_PART_DEFINED
/** One piece of a digest's input: H(parts[0] || parts[1] || ...). */
typedef struct multichap_backend_part {
  const uint8_t* data; /**< the bytes; may be NULL when len is 0 */
  size_t len;          /**< how many */
} multichap_backend_part;
#endif

/**
 * @brief A backend's table of functions (ABI 1.1).
 *
 * Every function gets the ctx that init set (NULL when there is no init; for a registered
 * table, the ctx given to multichap_backend_register()).
 */
typedef struct multichap_backend_v1 {
  uint16_t abi_major; /**< #MULTICHAP_BACKEND_ABI_MAJOR */
  uint16_t abi_minor; /**< #MULTICHAP_BACKEND_ABI_MINOR */
  uint32_t size;      /**< sizeof(multichap_backend_v1) */

  const char* name;            /**< short, unique: [a-z0-9_-]{1,32}, e.g. "openssl" */
  const char* backend_version; /**< the backend's own version, e.g. "1.0" */
  const char* library_version; /**< what it computes with, e.g. "OpenSSL 3.0.17 1 Jul 2025" */
  uint32_t flags;              /**< MULTICHAP_BACKEND_F_* */

  /**
   * @brief Called once before anything else (may be NULL).
   * @param host what the host offers (its ABI version, its log).
   * @param ctx receives the context passed to every other function.
   * @return #MULTICHAP_BACKEND_OK, or an error (the host logs and refuses the backend).
   */
  int (*init)(const multichap_backend_host* host, void** ctx);
  /**
   * @brief Called once, last (may be NULL).
   * @param ctx the backend's context.
   */
  void (*shutdown)(void* ctx);

  /**
   * @brief Whether an algorithm can be computed right now. Cheap: the host may ask often.
   * @param ctx the backend's context.
   * @param chap_a a CHAP_A number.
   * @return 1 when it can, else 0.
   */
  int (*supports)(void* ctx, int chap_a);

  /**
   * @brief The digest of CHAP_A chap_a over the parts, in order.
   *
   * A CHAP response is three parts: the identifier byte, the secret, the challenge.
   * @param ctx the backend's context.
   * @param chap_a the algorithm's CHAP_A number.
   * @param parts the input, in order.
   * @param nparts how many parts.
   * @param out receives the digest.
   * @param out_cap the size of out.
   * @param out_len receives the digest size.
   * @return #MULTICHAP_BACKEND_OK or an error.
   */
  int (*compute)(void* ctx, int chap_a, const multichap_backend_part* parts, size_t nparts,
                 uint8_t* out, size_t out_cap, size_t* out_len);

  /**
   * @brief Bytes from a cryptographically secure generator.
   * @param ctx the backend's context.
   * @param out receives them.
   * @param len how many.
   * @return #MULTICHAP_BACKEND_OK or an error.
   */
  int (*random)(void* ctx, uint8_t* out, size_t len);

  /**
   * @brief Optional (may be NULL): the library called directly, with no multichap layer, over
   * one buffer: what `multichap bench --compare-raw` times the backend against. Creates a state
   * for one thread.
   * @param ctx the backend's context.
   * @param chap_a the algorithm's CHAP_A number.
   * @return the state; NULL: not available for chap_a.
   */
  void* (*raw_new)(void* ctx, int chap_a);
  /**
   * @brief Optional: the digest of one buffer with a state of raw_new.
   * @param raw the state.
   * @param in the buffer.
   * @param len its length.
   * @param out receives the digest (at least the digest size).
   * @return #MULTICHAP_BACKEND_OK or an error.
   */
  int (*raw_digest)(void* raw, const uint8_t* in, size_t len, uint8_t* out);
  /**
   * @brief Optional: frees a state of raw_new.
   * @param raw the state.
   */
  void (*raw_free)(void* raw);

  /* ---- ABI 1.1: secrets by reference ---------------------------------------------------------
   * A secret that lives somewhere the host never reads it (a key in a PKCS#11 token), named by a
   * reference such as the RFC 7512 URI "pkcs11:token=multichap;object=alice;type=secret-key".
   * The host reads these fields only when size covers them; each may be NULL (no such support).
   * why/why_cap: a buffer for one line saying why a call failed (NUL-terminated, truncated to
   * why_cap); it never holds a secret or a PIN. */

  /**
   * @brief Since 1.1 (may be NULL): opens the key named by reference. May be called from several
   * threads at once.
   * @param ctx the backend's context.
   * @param reference the key's name, e.g. an RFC 7512 URI.
   * @param flags MULTICHAP_BACKEND_KEY_F_*.
   * @param key receives the key, passed to the other key_* functions until key_close.
   * @param value_len receives the secret's length in bytes when the backend can tell (0 when
   *                  not).
   * @param why receives one line saying why the call failed (never a secret or a PIN).
   * @param why_cap the size of why.
   * @return #MULTICHAP_BACKEND_OK or an ERR_* (REFERENCE, UNAVAILABLE, DENIED, NOT_FOUND,
   *         FAILED).
   */
  int (*key_open)(void* ctx, const char* reference, uint32_t flags, void** key, size_t* value_len,
                  char* why, size_t why_cap);
  /**
   * @brief Since 1.1: closes a key of key_open (called once per key, alone).
   * @param ctx the backend's context.
   * @param key the key.
   */
  void (*key_close)(void* ctx, void* key);
  /**
   * @brief Since 1.1: whether an algorithm can be computed with a key.
   * @param ctx the backend's context.
   * @param key the key.
   * @param chap_a a CHAP_A number.
   * @param why receives why not.
   * @param why_cap the size of why.
   * @return 1 when it can, else 0.
   */
  int (*key_supports)(void* ctx, void* key, int chap_a, char* why, size_t why_cap);
  /**
   * @brief Since 1.1: the digest H(before[0] || ... || key's value || after[0] || ...) of CHAP_A
   * chap_a, computed where the key lives. Thread-safe.
   *
   * A CHAP response is one part before (the identifier byte) and one after (the challenge).
   * @param ctx the backend's context.
   * @param key the key.
   * @param chap_a the algorithm's CHAP_A number.
   * @param before the input before the key's value.
   * @param nbefore how many parts before.
   * @param after the input after the key's value.
   * @param nafter how many parts after.
   * @param out receives the digest.
   * @param out_cap the size of out.
   * @param out_len receives the digest size.
   * @return #MULTICHAP_BACKEND_OK or an error.
   */
  int (*key_compute)(void* ctx, void* key, int chap_a, const multichap_backend_part* before,
                     size_t nbefore, const multichap_backend_part* after, size_t nafter,
                     uint8_t* out, size_t out_cap, size_t* out_len);
  /**
   * @brief Since 1.1: creates a key named by reference where the backend keeps keys. The
   * backend wipes any copy of value it made.
   * @param ctx the backend's context.
   * @param reference the key's name.
   * @param value the secret.
   * @param len its length.
   * @param flags #MULTICHAP_BACKEND_KEY_F_READABLE or 0.
   * @param why receives why the call failed.
   * @param why_cap the size of why.
   * @return #MULTICHAP_BACKEND_OK; #MULTICHAP_BACKEND_ERR_EXISTS when a key matching the
   *         reference exists; another ERR_*.
   */
  int (*key_import)(void* ctx, const char* reference, const uint8_t* value, size_t len,
                    uint32_t flags, char* why, size_t why_cap);
  /**
   * @brief Since 1.1: describes each key or object matching reference, one line each, without
   * its value.
   * @param ctx the backend's context.
   * @param reference what to list.
   * @param line called once per object with arg and the line.
   * @param arg passed to line.
   * @param why receives why the call failed.
   * @param why_cap the size of why.
   * @return #MULTICHAP_BACKEND_OK or an ERR_*.
   */
  int (*key_list)(void* ctx, const char* reference, void (*line)(void* arg, const char* text),
                  void* arg, char* why, size_t why_cap);
} multichap_backend_v1;

/**
 * @brief The entry point of a plugin, exported as multichap_backend_entry_v1 (with
 * #MULTICHAP_BACKEND_EXPORT).
 * @param host describes the host (check host->abi_major).
 * @return the backend's table (static storage), or NULL when it will not run under this host.
 */
typedef const multichap_backend_v1* (*multichap_backend_entry_v1_fn)(
    const multichap_backend_host* host);

#ifdef __cplusplus
}
#endif

/** @} */

#endif /* MULTICHAP_BACKEND_H */
