// SPDX-License-Identifier: BSD-2-Clause
/* multichap's C ABI: iSCSI CHAP (RFC 7143 §12.1.3, RFC 1994) over MD5, SHA-1, SHA-256 and
 * SHA3-256 for C initiators and targets (open-iscsi, libiscsi, tgt, istgt, EDK2...).
 *
 * Link with `pkg-config --cflags --libs multichap` (libmultichap.so.0). Valid C99 and C++.
 *
 * Conventions
 *   - Every fallible call returns a multichap_status; MULTICHAP_OK is 0. A NULL where an object
 *     or output pointer is required is MULTICHAP_ERR_USAGE, never a crash.
 *   - Objects keep the message of their last failure (multichap_initiator_error() ...); calls
 *     that fail without an object to hold it (the _new functions, multichap_backend_open,
 *     multichap_response) leave it in multichap_last_error(), per thread; so does a call given
 *     a NULL object. Messages are for local
 *     logs and never contain a secret. Towards the peer a failed authentication is only 0x0201.
 *   - Algorithms are named by their CHAP_A number (IANA "PPP Authentication Algorithms"):
 *     5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256.
 *   - Secrets passed in are copied into memory that is wiped when it is released; the caller
 *     may wipe its own copy as soon as the call returns. Every _free wipes.
 *   - The step functions take and produce login data segments exactly as on the wire: key=value
 *     pairs, each ending in one NUL, in_len/out_len bytes, no padding. Keys that are not
 *     authentication keys (AuthMethod, CHAP_*) are ignored, so a whole security-stage segment
 *     may be passed as received. When out is too small, a step returns
 *     MULTICHAP_ERR_BUFFER_TOO_SMALL with the size needed in *out_len and changes no state: call
 *     it again with a larger buffer (out may be NULL with out_cap 0 to ask for the size).
 *
 * Threading
 *   - Backends are process-wide, immutable and may be used from any thread.
 *   - An initiator or a target login is one object per exchange: use it from one thread at a
 *     time (or lock around it).
 *   - A target configuration is built by one thread; once built, any number of threads may call
 *     multichap_target_login_new() on it at once. Calling a setter while logins are being
 *     created is not allowed; logins already created keep the configuration they were created
 *     with (setters never change a running login).
 *   - A secret lookup callback runs on the thread that calls multichap_target_login_step().
 */
#ifndef MULTICHAP_MULTICHAP_H
#define MULTICHAP_MULTICHAP_H

#include <stddef.h>

#if defined(__GNUC__)
#define MULTICHAP_API __attribute__((visibility("default")))
#else
#define MULTICHAP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  MULTICHAP_OK = 0,
  MULTICHAP_ERR_PROTOCOL,         /* the peer sent something malformed or out of order */
  MULTICHAP_ERR_AUTHENTICATION,   /* wrong response, unknown CHAP_N, failed lookup */
  MULTICHAP_ERR_POLICY,           /* well formed but not allowed (algorithm, secret rules) */
  MULTICHAP_ERR_BACKEND,          /* the crypto library failed or lacks the algorithm */
  MULTICHAP_ERR_USAGE,            /* invalid argument or call order */
  MULTICHAP_ERR_BUFFER_TOO_SMALL, /* *out_len holds the size needed; nothing changed */
  MULTICHAP_ERR_INTERNAL          /* out of memory or a bug in multichap */
} multichap_status;

typedef enum { MULTICHAP_IN_PROGRESS = 0, MULTICHAP_SUCCEEDED, MULTICHAP_FAILED } multichap_state;

typedef struct multichap_backend multichap_backend;
struct multichap_backend_v1; /* multichap/backend.h */
typedef struct multichap_initiator multichap_initiator;
typedef struct multichap_target_config multichap_target_config;
typedef struct multichap_target_login multichap_target_login;

/* ---- Library ------------------------------------------------------------------------------ */

/* "MAJOR.MINOR.PATCH" of the library loaded at run time. */
MULTICHAP_API const char* multichap_version(void);
/* A short name for s ("ok", "protocol", "authentication", ...); "unknown" for other values. */
MULTICHAP_API const char* multichap_status_name(multichap_status s);
/* The message of this thread's last failure that no object holds (see Conventions); "" if none. */
MULTICHAP_API const char* multichap_last_error(void);
/* "MD5", "SHA-1", "SHA-256", "SHA3-256" for CHAP_A 5..8; NULL for any other number. */
MULTICHAP_API const char* multichap_algorithm_name(int chap_a);
/* "md5", "sha1", "sha256", "sha3-256" for CHAP_A 5..8 (the CLI's names); NULL otherwise. */
MULTICHAP_API const char* multichap_algorithm_short_name(int chap_a);
/* The CHAP_A number of an algorithm name: "md5", "sha1", "sha256", "sha3-256", the spellings
 * "SHA-1", "SHA-256", "SHA3-256", or "5".."8"; 0 for anything else or NULL. */
MULTICHAP_API int multichap_algorithm_parse(const char* name);

/* ---- Backends ----------------------------------------------------------------------------- */

/* Backends are plugins (multichap/backend.h): shared objects loaded from the directories of
 * MULTICHAP_BACKEND_PATH (absolute directories, colon-separated; ignored in setuid programs),
 * then from ${libdir}/multichap/backends-1 (openssl, gcrypt, nettle, botan as built), plus any
 * linked into the library at build time, loaded with multichap_backend_load() or registered with
 * multichap_backend_register(). The search path is read on the first backend call. Every
 * backend is process-wide and never freed. */

/* Number of crypto backends available; the first is the default (the first of openssl, gcrypt,
 * nettle, botan that loaded, else the first found). */
MULTICHAP_API size_t multichap_backend_count(void);
/* Name of backend i, or NULL when i >= multichap_backend_count(). */
MULTICHAP_API const char* multichap_backend_at(size_t i);
/* The process-wide backend called name (NULL: the default). Unknown or not available:
 * MULTICHAP_ERR_USAGE. */
MULTICHAP_API multichap_status multichap_backend_open(const char* name,
                                                      const multichap_backend** out);
/* Loads the backend plugin at path (it must contain a '/': the current directory is never
 * searched) and, when out is not NULL, hands it out. The same file again gives the same backend.
 * A file that is not a multichap backend, speaks another ABI major version, fails its init or
 * gets a known answer wrong is refused with MULTICHAP_ERR_USAGE and the reason in
 * multichap_last_error(); nothing else changes. A name already taken: MULTICHAP_ERR_USAGE. */
MULTICHAP_API multichap_status multichap_backend_load(const char* path,
                                                      const multichap_backend** out);
/* Makes an embedder's own hash functions a backend, without any file: table (see
 * multichap/backend.h; static storage) with ctx passed to its functions. Its init is not called
 * (ctx is ready) and neither is its shutdown. Checked as a plugin is (ABI, name, known answers);
 * refused: MULTICHAP_ERR_USAGE. When out is not NULL it receives the new backend. */
MULTICHAP_API multichap_status multichap_backend_register(const struct multichap_backend_v1* table,
                                                          void* ctx, const multichap_backend** out);
/* The backend's name ("openssl", "gcrypt", "nettle", "botan", or its own); NULL for NULL. */
MULTICHAP_API const char* multichap_backend_name(const multichap_backend* b);
/* The library it computes with, e.g. "OpenSSL 3.0.17 1 Jul 2025", and where it came from (the
 * plugin's file, "built in" or "registered"). NULL for NULL. The strings stay valid until the
 * next call of the same function on the same thread. */
MULTICHAP_API const char* multichap_backend_library_version(const multichap_backend* b);
MULTICHAP_API const char* multichap_backend_origin(const multichap_backend* b);
/* 1 when the backend can compute CHAP_A chap_a right now (asked of the library at run time, so
 * a FIPS-configured OpenSSL answers 0 for MD5), else 0. */
MULTICHAP_API int multichap_backend_supports(const multichap_backend* b, int chap_a);

/* R = H(identifier || secret || challenge) (RFC 1994 §4.1) into out; *out_len = digest size.
 * identifier > 255 or an unknown chap_a: MULTICHAP_ERR_USAGE; an algorithm the backend lacks:
 * MULTICHAP_ERR_BACKEND; out_cap below the digest size: MULTICHAP_ERR_BUFFER_TOO_SMALL. This is
 * the bare arithmetic (for debugging interop): the exchange objects below enforce the RFC's
 * rules on secrets and challenges. */
MULTICHAP_API multichap_status multichap_response(const multichap_backend* b, int chap_a,
                                                  unsigned identifier, const unsigned char* secret,
                                                  size_t secret_len, const unsigned char* challenge,
                                                  size_t challenge_len, unsigned char* out,
                                                  size_t out_cap, size_t* out_len);

/* ---- Initiator: one per session, rewound at every leading login ------------------------------
 *
 *   multichap_initiator_new(b, &ini);
 *   multichap_initiator_set_credentials(ini, "iqn...:host", secret, secret_len);
 *   for each leading login attempt (retries included):
 *     multichap_initiator_rewind(ini);
 *     multichap_initiator_step(ini, NULL, 0, out, cap, &n);   -> send "AuthMethod=CHAP"
 *     for each login response of the security stage:
 *       multichap_initiator_step(ini, data, len, out, cap, &n) -> send out[0..n) (may be empty)
 *     set T=1 on the request carrying an output once multichap_initiator_may_transit(ini);
 *     leave the security stage only once multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED.
 *   A failed step: close the connection. */

/* A new initiator on backend b, not yet configured. Free with multichap_initiator_free(). */
MULTICHAP_API multichap_status multichap_initiator_new(const multichap_backend* b,
                                                       multichap_initiator** out);
/* Our CHAP_N and the secret the target knows us by. The RFC 7143 §9.2.1 rules are checked here:
 * at least 12 bytes, not the target's secret (MULTICHAP_ERR_POLICY). Rewinds the exchange. */
MULTICHAP_API multichap_status multichap_initiator_set_credentials(multichap_initiator* ini,
                                                                   const char* chap_n,
                                                                   const unsigned char* secret,
                                                                   size_t len);
/* Mutual CHAP: the CHAP_N the target must send and the secret it must prove. Rewinds. */
MULTICHAP_API multichap_status multichap_initiator_set_target_credentials(
    multichap_initiator* ini, const char* expected_chap_n, const unsigned char* secret, size_t len);
/* Secrets held by reference (README "Secrets in a token"): the secret is a key in a PKCS#11
 * token named by an RFC 7512 URI, e.g. "pkcs11:token=multichap;object=alice;type=secret-key"
 * with the PIN from pin-source=file:PATH (or pin-value=, or MULTICHAP_PKCS11_PIN); it is opened
 * here and never read into this process: responses are computed inside the token, and only the
 * algorithms the token computes with that key are offered (SoftHSM: SHA-256, SHA-1). The same
 * rules as the byte forms; a malformed URI or a missing key is MULTICHAP_ERR_USAGE, a wrong PIN
 * or an unreachable token MULTICHAP_ERR_BACKEND, with the reason in the last error. */
MULTICHAP_API multichap_status multichap_initiator_set_credentials_uri(multichap_initiator* ini,
                                                                       const char* chap_n,
                                                                       const char* uri);
MULTICHAP_API multichap_status multichap_initiator_set_target_credentials_uri(
    multichap_initiator* ini, const char* expected_chap_n, const char* uri);
/* The CHAP_A offer in preference order (default 8,7,6,5); numbers 5..8, no duplicates. Only the
 * ones the backend supports are offered. Rewinds. */
MULTICHAP_API multichap_status multichap_initiator_set_algorithms(multichap_initiator* ini,
                                                                  const int* chap_a, size_t count);
/* on != 0: the link is otherwise protected (IPsec), so secrets under 12 bytes are accepted
 * (RFC 7143 §9.2.1). Default 0. Set it before credentials that need it. Rewinds. */
MULTICHAP_API multichap_status multichap_initiator_set_link_protected(multichap_initiator* ini,
                                                                      int on);
/* Forgets everything negotiated (algorithm, identifiers, challenges: wiped). Configuration stays.
 * Call it at the start of every leading login. NULL is ignored. */
MULTICHAP_API void multichap_initiator_rewind(multichap_initiator* ini);
/* One step of the exchange: the security-stage data of the last login response in (in_len 0 for
 * the first call), the keys to send out. */
MULTICHAP_API multichap_status multichap_initiator_step(multichap_initiator* ini, const char* in,
                                                        size_t in_len, char* out, size_t out_cap,
                                                        size_t* out_len);
MULTICHAP_API multichap_state multichap_initiator_state(const multichap_initiator* ini);
/* 1 once the initiator has said everything it must (its CHAP_R was in the last output): the
 * Login Request carrying that output may set T=1 to leave the security stage. 0 before, and
 * after a failure. The state becomes MULTICHAP_SUCCEEDED only with the target's answer. */
MULTICHAP_API int multichap_initiator_may_transit(const multichap_initiator* ini);
/* The negotiated CHAP_A number, 0 before the target chose one. */
MULTICHAP_API int multichap_initiator_algorithm(const multichap_initiator* ini);
/* 1 when the exchange succeeded and the target proved itself (mutual CHAP), else 0. */
MULTICHAP_API int multichap_initiator_mutual(const multichap_initiator* ini);
/* The CHAP_A numbers the next login will offer, in preference order: writes up to cap of them
 * into chap_a (which may be NULL with cap 0) and returns how many there are (0 before credentials
 * are set). */
MULTICHAP_API size_t multichap_initiator_offer(const multichap_initiator* ini, int* chap_a,
                                               size_t cap);
/* Offer fallback, for targets that cannot handle a modern CHAP_A offer: call it when a leading
 * login failed in the security stage, before rewinding. login_status is the Login Response's
 * Status-Class << 8 | Status-Detail (0x0201...), or -1 when the connection closed without an
 * answer. Returns 1 when the failure came right after our CHAP_A offer (Linux LIO before 3.15
 * fails any list, tgt and istgt some single values), or was 0x0200 right after a SHA-256
 * response (tgt and IET number SHA-1 as 7), and the initiator has narrowed its offer for the
 * next login: log in again on a new connection at once (it is not a retry of the same offer).
 * Returns 0 when the failure was not about the offer (a wrong secret, CHAP_A=Reject after our
 * whole list, a redirect) or no narrower offer is left. The offer only ever narrows within the
 * allowed algorithms, each single value is tried at most once, and the narrowed offer stays for
 * every later login of ini (reconnects included) until multichap_initiator_set_algorithms(). */
MULTICHAP_API int multichap_initiator_login_failed(multichap_initiator* ini, int login_status);
/* The last failure's message ("" if none). Valid until the next call on ini. */
MULTICHAP_API const char* multichap_initiator_error(const multichap_initiator* ini);
/* Wipes and frees; NULL is ignored. */
MULTICHAP_API void multichap_initiator_free(multichap_initiator* ini);

/* ---- Target: one configuration shared by all logins, one object per login ------------------ */

/* The embedder's own account store. Write the secret of account chap_n (a login by
 * initiator_name) into secret[0..cap) and its length into *len, and return MULTICHAP_OK; return
 * MULTICHAP_ERR_AUTHENTICATION when there is no such account; MULTICHAP_ERR_BUFFER_TOO_SMALL with
 * the size needed in *len to be called once more with a buffer that large (up to 65536 bytes).
 * Any other status is a failed lookup. Both end the login with an authentication failure. The
 * buffer is wiped by the library after use. Runs on the thread calling
 * multichap_target_login_step(), possibly several at once: it must be thread-safe. */
typedef multichap_status (*multichap_secret_lookup)(void* ctx, const char* chap_n,
                                                    const char* initiator_name,
                                                    unsigned char* secret, size_t cap, size_t* len);

/* A new target configuration on backend b: no account, no identity, algorithms 8,7,6,5. */
MULTICHAP_API multichap_status multichap_target_config_new(const multichap_backend* b,
                                                           multichap_target_config** out);
/* An initiator account: CHAP_N and its secret (>= 12 bytes, not the target's own secret).
 * Accounts are searched before the lookup callback. A CHAP_N added twice: MULTICHAP_ERR_USAGE. */
MULTICHAP_API multichap_status multichap_target_config_add_account(multichap_target_config* cfg,
                                                                   const char* chap_n,
                                                                   const unsigned char* secret,
                                                                   size_t len);
/* The same with the secrets as keys in a PKCS#11 token (RFC 7512 URIs, see
 * multichap_initiator_set_credentials_uri()). */
MULTICHAP_API multichap_status multichap_target_config_add_account_uri(multichap_target_config* cfg,
                                                                       const char* chap_n,
                                                                       const char* uri);
MULTICHAP_API multichap_status multichap_target_config_set_credentials_uri(
    multichap_target_config* cfg, const char* chap_n, const char* uri);
/* Secrets for CHAP_Ns that no added account has come from fn(ctx, ...). fn NULL removes it. */
MULTICHAP_API multichap_status multichap_target_config_set_lookup(multichap_target_config* cfg,
                                                                  multichap_secret_lookup fn,
                                                                  void* ctx);
/* The target's own CHAP_N and secret, sent when an initiator asks for mutual CHAP. */
MULTICHAP_API multichap_status multichap_target_config_set_credentials(multichap_target_config* cfg,
                                                                       const char* chap_n,
                                                                       const unsigned char* secret,
                                                                       size_t len);
/* The CHAP_A numbers the target accepts; it picks the first of the initiator's offer that is
 * here and that the backend supports. */
MULTICHAP_API multichap_status multichap_target_config_set_algorithms(multichap_target_config* cfg,
                                                                      const int* chap_a,
                                                                      size_t count);
/* on != 0: the link is protected (IPsec): secrets under 12 bytes are accepted. Set it first. */
MULTICHAP_API multichap_status
multichap_target_config_set_link_protected(multichap_target_config* cfg, int on);
/* on != 0: refuse initiators that do not also authenticate the target (needs set_credentials). */
MULTICHAP_API multichap_status multichap_target_config_require_mutual(multichap_target_config* cfg,
                                                                      int on);
/* The last failing setter's message ("" if none). */
MULTICHAP_API const char* multichap_target_config_error(const multichap_target_config* cfg);
/* Wipes and frees; logins created from it stay valid. NULL is ignored. */
MULTICHAP_API void multichap_target_config_free(multichap_target_config* cfg);

/* A login exchange for the connection of initiator_name (the InitiatorName it declared), with
 * the configuration as it is now. An incomplete configuration (no account and no lookup; mutual
 * required without credentials): MULTICHAP_ERR_USAGE. */
MULTICHAP_API multichap_status multichap_target_login_new(const multichap_target_config* cfg,
                                                          const char* initiator_name,
                                                          multichap_target_login** out);
/* The ctx this login passes to the configuration's lookup callback instead of the one given to
 * multichap_target_config_set_lookup(): a single-threaded target on an event loop (tgt) passes
 * its connection, whose target decides which accounts apply. Before the first step. */
MULTICHAP_API multichap_status
multichap_target_login_set_lookup_context(multichap_target_login* login, void* ctx);
/* For a target on an event loop whose account store must not be asked on the loop's thread (a
 * remote store): whether multichap_target_login_step() with this in would call the lookup
 * callback. When it would, writes the CHAP_N to look up into chap_n (NUL-terminated) and its
 * length into *len; *len is 0 when no lookup is needed (an added account, a step before the
 * response, or text that step() will refuse). chap_n too small: MULTICHAP_ERR_BUFFER_TOO_SMALL
 * with the size needed (NUL included) in *len. Changes nothing. */
MULTICHAP_API multichap_status
multichap_target_login_pending_lookup(const multichap_target_login* login, const char* in,
                                      size_t in_len, char* chap_n, size_t cap, size_t* len);
/* The answer of a lookup made elsewhere for chap_n: its secret, or no such account (secret NULL,
 * len 0). The next step with a response from chap_n takes it instead of calling the lookup
 * callback (which must still be configured: it may simply refuse). The secret is copied (and
 * wiped when used or replaced); checked as a looked-up secret is. */
MULTICHAP_API multichap_status multichap_target_login_supply_secret(multichap_target_login* login,
                                                                    const char* chap_n,
                                                                    const unsigned char* secret,
                                                                    size_t len);
/* One step: the security-stage data of a login request in, the keys to answer with out. On
 * failure the keys due with it (AuthMethod=Reject, CHAP_A=Reject, or none) are in out and the
 * engine answers with status 0x0201. */
MULTICHAP_API multichap_status multichap_target_login_step(multichap_target_login* login,
                                                           const char* in, size_t in_len, char* out,
                                                           size_t out_cap, size_t* out_len);
MULTICHAP_API multichap_state multichap_target_login_state(const multichap_target_login* login);
/* The negotiated CHAP_A number, 0 before one was chosen. */
MULTICHAP_API int multichap_target_login_algorithm(const multichap_target_login* login);
/* 1 when the exchange succeeded and the target proved itself to the initiator, else 0. */
MULTICHAP_API int multichap_target_login_mutual(const multichap_target_login* login);
/* The CHAP_N the initiator proved, once the state is MULTICHAP_SUCCEEDED; "" before. */
MULTICHAP_API const char* multichap_target_login_peer(const multichap_target_login* login);
MULTICHAP_API const char* multichap_target_login_error(const multichap_target_login* login);
MULTICHAP_API void multichap_target_login_free(multichap_target_login* login);

#ifdef __cplusplus
}
#endif

#endif /* MULTICHAP_MULTICHAP_H */
