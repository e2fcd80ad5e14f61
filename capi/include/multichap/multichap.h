// SPDX-License-Identifier: BSD-2-Clause
/**
 * @file multichap.h
 * @brief multichap's C ABI: iSCSI CHAP (RFC 7143 §12.1.3, RFC 1994) over MD5, SHA-1, SHA-256 and
 * SHA3-256 for C initiators and targets (open-iscsi, libiscsi, tgt, istgt, EDK2...).
 *
 * Link with `pkg-config --cflags --libs multichap` (libmultichap.so.0). Valid C99 and C++.
 *
 * @par Conventions
 * - Every fallible call returns a #multichap_status; #MULTICHAP_OK is 0. A NULL where an object
 *   or output pointer is required is #MULTICHAP_ERR_USAGE, never a crash.
 * - Objects keep the message of their last failure (multichap_initiator_error() ...); calls
 *   that fail without an object to hold it (the _new functions, multichap_backend_open(),
 *   multichap_response()) leave it in multichap_last_error(), per thread; so does a call given
 *   a NULL object. Messages are for local logs and never contain a secret. Towards the peer a
 *   failed authentication is only 0x0201.
 * - Algorithms are named by their CHAP_A number (IANA "PPP Authentication Algorithms"):
 *   5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256.
 * - Secrets passed in are copied into memory that is wiped when it is released; the caller
 *   may wipe its own copy as soon as the call returns. Every _free wipes.
 * - The step functions take and produce login data segments exactly as on the wire: key=value
 *   pairs, each ending in one NUL, in_len/out_len bytes, no padding. Keys that are not
 *   authentication keys (AuthMethod, CHAP_*) are ignored, so a whole security-stage segment
 *   may be passed as received. When out is too small, a step returns
 *   #MULTICHAP_ERR_BUFFER_TOO_SMALL with the size needed in *out_len and changes no state: call
 *   it again with a larger buffer (out may be NULL with out_cap 0 to ask for the size).
 *
 * @par Threading
 * - Backends are process-wide, immutable and may be used from any thread.
 * - An initiator or a target login is one object per exchange: use it from one thread at a
 *   time (or lock around it).
 * - A target configuration is built by one thread; once built, any number of threads may call
 *   multichap_target_login_new() on it at once. Calling a setter while logins are being
 *   created is not allowed; logins already created keep the configuration they were created
 *   with (setters never change a running login).
 * - A secret lookup callback runs on the thread that calls multichap_target_login_step().
 */
#ifndef MULTICHAP_MULTICHAP_H
#define MULTICHAP_MULTICHAP_H

#include <stddef.h>

#if defined(__GNUC__)
/** Marks a function exported by libmultichap.so.0 (default visibility). */
#define MULTICHAP_API __attribute__((visibility("default")))
#else
#define MULTICHAP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** The result of every fallible call. */
typedef enum {
  MULTICHAP_OK = 0,               /**< success */
  MULTICHAP_ERR_PROTOCOL,         /**< the peer sent something malformed or out of order */
  MULTICHAP_ERR_AUTHENTICATION,   /**< wrong response, unknown CHAP_N, failed lookup */
  MULTICHAP_ERR_POLICY,           /**< well formed but not allowed (algorithm, secret rules) */
  MULTICHAP_ERR_BACKEND,          /**< the crypto library failed or lacks the algorithm */
  MULTICHAP_ERR_USAGE,            /**< invalid argument or call order */
  MULTICHAP_ERR_BUFFER_TOO_SMALL, /**< *out_len holds the size needed; nothing changed */
  MULTICHAP_ERR_INTERNAL          /**< out of memory or a bug in multichap */
} multichap_status;

/** Where an exchange stands. */
typedef enum {
  MULTICHAP_IN_PROGRESS = 0, /**< more keys are to be exchanged */
  MULTICHAP_SUCCEEDED,       /**< authenticated (both ways when mutual CHAP was asked for) */
  MULTICHAP_FAILED           /**< failed for good: the login ends */
} multichap_state;

/** A crypto backend (opaque): process-wide, never freed. */
typedef struct multichap_backend multichap_backend;
struct multichap_backend_v1; /* multichap/backend.h */
/** The initiator's side of CHAP for one session (opaque). */
typedef struct multichap_initiator multichap_initiator;
/** A target's CHAP configuration, shared by its logins (opaque). */
typedef struct multichap_target_config multichap_target_config;
/** The target's side of one login's CHAP exchange (opaque). */
typedef struct multichap_target_login multichap_target_login;

/** @name Library */
/** @{ */

/**
 * @brief The version of the library loaded at run time.
 * @return "MAJOR.MINOR.PATCH", static storage.
 */
MULTICHAP_API const char* multichap_version(void);
/**
 * @brief A short name for a status.
 * @param s a status.
 * @return "ok", "protocol", "authentication", ...; "unknown" for other values. Static storage.
 */
MULTICHAP_API const char* multichap_status_name(multichap_status s);
/**
 * @brief The message of this thread's last failure that no object holds (see Conventions).
 * @return the message, "" if none; valid until this thread's next failing call.
 */
MULTICHAP_API const char* multichap_last_error(void);
/**
 * @brief The display name of an algorithm.
 * @param chap_a a CHAP_A number.
 * @return "MD5", "SHA-1", "SHA-256", "SHA3-256" for CHAP_A 5..8; NULL for any other number.
 */
MULTICHAP_API const char* multichap_algorithm_name(int chap_a);
/**
 * @brief The CLI's name of an algorithm.
 * @param chap_a a CHAP_A number.
 * @return "md5", "sha1", "sha256", "sha3-256" for CHAP_A 5..8; NULL otherwise.
 */
MULTICHAP_API const char* multichap_algorithm_short_name(int chap_a);
/**
 * @brief The CHAP_A number of an algorithm name.
 * @param name "md5", "sha1", "sha256", "sha3-256", the spellings "SHA-1", "SHA-256",
 *             "SHA3-256", or "5".."8".
 * @return 5..8; 0 for anything else or NULL.
 */
MULTICHAP_API int multichap_algorithm_parse(const char* name);

/** @} */

/**
 * @name Backends
 * Backends are plugins (multichap/backend.h): shared objects loaded from the directories of
 * MULTICHAP_BACKEND_PATH (absolute directories, colon-separated; ignored in setuid programs),
 * then from ${libdir}/multichap/backends-1 (openssl, gcrypt, nettle, botan as built), plus any
 * linked into the library at build time, loaded with multichap_backend_load() or registered
 * with multichap_backend_register(). The search path is read on the first backend call. Every
 * backend is process-wide and never freed.
 */
/** @{ */

/**
 * @brief The number of crypto backends available.
 * @return how many; the first is the default (the first of openssl, gcrypt, nettle, botan that
 *         loaded, else the first found).
 */
MULTICHAP_API size_t multichap_backend_count(void);
/**
 * @brief The name of backend i.
 * @param i an index below multichap_backend_count().
 * @return the name, or NULL when i >= multichap_backend_count().
 */
MULTICHAP_API const char* multichap_backend_at(size_t i);
/**
 * @brief The process-wide backend called name.
 * @param name a backend's name; NULL: the default backend.
 * @param out receives the backend.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE when it is unknown or not available.
 */
MULTICHAP_API multichap_status multichap_backend_open(const char* name,
                                                      const multichap_backend** out);
/**
 * @brief Loads the backend plugin at path.
 *
 * The same file again gives the same backend. A file that is not a multichap backend, speaks
 * another ABI major version, fails its init or gets a known answer wrong is refused with
 * #MULTICHAP_ERR_USAGE and the reason in multichap_last_error(); nothing else changes.
 * @param path the plugin's file; it must contain a '/': the current directory is never
 *             searched.
 * @param out receives the backend when not NULL.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for a refused file or a name already taken.
 */
MULTICHAP_API multichap_status multichap_backend_load(const char* path,
                                                      const multichap_backend** out);
/**
 * @brief Makes an embedder's own hash functions a backend, without any file.
 *
 * Its init is not called (ctx is ready) and neither is its shutdown. The table is checked as
 * a plugin's is (ABI, name, known answers).
 * @param table the functions (see multichap/backend.h), in static storage.
 * @param ctx passed to the table's functions.
 * @param out receives the new backend when not NULL.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE when the table is refused.
 */
MULTICHAP_API multichap_status multichap_backend_register(const struct multichap_backend_v1* table,
                                                          void* ctx, const multichap_backend** out);
/**
 * @brief The backend's name.
 * @param b a backend.
 * @return "openssl", "gcrypt", "nettle", "botan", or its own; NULL for NULL.
 */
MULTICHAP_API const char* multichap_backend_name(const multichap_backend* b);
/**
 * @brief The library a backend computes with.
 * @param b a backend.
 * @return e.g. "OpenSSL 3.0.17 1 Jul 2025"; NULL for NULL. Valid until the next call of this
 *         function on the same thread.
 */
MULTICHAP_API const char* multichap_backend_library_version(const multichap_backend* b);
/**
 * @brief Where a backend came from.
 * @param b a backend.
 * @return the plugin's file, "built in" or "registered"; NULL for NULL. Valid until the next
 *         call of this function on the same thread.
 */
MULTICHAP_API const char* multichap_backend_origin(const multichap_backend* b);
/**
 * @brief Whether a backend can compute an algorithm right now.
 *
 * Asked of the library at run time, so a FIPS-configured OpenSSL answers 0 for MD5.
 * @param b a backend.
 * @param chap_a a CHAP_A number.
 * @return 1 when it can, else 0.
 */
MULTICHAP_API int multichap_backend_supports(const multichap_backend* b, int chap_a);

/**
 * @brief R = H(identifier || secret || challenge) (RFC 1994 §4.1).
 *
 * This is the bare arithmetic (for debugging interop): the exchange objects below enforce the
 * RFC's rules on secrets and challenges.
 * @param b the backend to compute with.
 * @param chap_a the algorithm's CHAP_A number.
 * @param identifier the CHAP identifier, 0..255.
 * @param secret the secret's bytes.
 * @param secret_len the secret's length.
 * @param challenge the challenge's bytes.
 * @param challenge_len the challenge's length.
 * @param out receives the response.
 * @param out_cap the size of out.
 * @param out_len receives the digest size.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for an identifier > 255 or an unknown chap_a;
 *         #MULTICHAP_ERR_BACKEND for an algorithm the backend lacks;
 *         #MULTICHAP_ERR_BUFFER_TOO_SMALL when out_cap is below the digest size.
 */
MULTICHAP_API multichap_status multichap_response(const multichap_backend* b, int chap_a,
                                                  unsigned identifier, const unsigned char* secret,
                                                  size_t secret_len, const unsigned char* challenge,
                                                  size_t challenge_len, unsigned char* out,
                                                  size_t out_cap, size_t* out_len);

/** @} */

/**
 * @name Initiator
 * One initiator per session, rewound at every leading login:
 * @code
 *   multichap_initiator_new(b, &ini);
 *   multichap_initiator_set_credentials(ini, "iqn...:host", secret, secret_len);
 *   for each leading login attempt (retries included):
 *     multichap_initiator_rewind(ini);
 *     multichap_initiator_step(ini, NULL, 0, out, cap, &n);   -> send "AuthMethod=CHAP"
 *     for each login response of the security stage:
 *       multichap_initiator_step(ini, data, len, out, cap, &n) -> send out[0..n) (may be empty)
 *     set T=1 on the request carrying an output once multichap_initiator_may_transit(ini);
 *     leave the security stage only once multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED.
 * @endcode
 * A failed step: close the connection.
 */
/** @{ */

/**
 * @brief A new initiator, not yet configured.
 * @param b the backend it computes with.
 * @param out receives the initiator; free it with multichap_initiator_free().
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status multichap_initiator_new(const multichap_backend* b,
                                                       multichap_initiator** out);
/**
 * @brief Our CHAP_N and the secret the target knows us by. Rewinds the exchange.
 *
 * The RFC 7143 §9.2.1 rules are checked here: at least 12 bytes, not the target's secret.
 * @param ini the initiator.
 * @param chap_n our CHAP_N.
 * @param secret the secret's bytes (copied).
 * @param len the secret's length.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for an empty CHAP_N or secret;
 *         #MULTICHAP_ERR_POLICY when a rule is broken.
 */
MULTICHAP_API multichap_status multichap_initiator_set_credentials(multichap_initiator* ini,
                                                                   const char* chap_n,
                                                                   const unsigned char* secret,
                                                                   size_t len);
/**
 * @brief Mutual CHAP: the CHAP_N the target must send and the secret it must prove. Rewinds.
 * @param ini the initiator.
 * @param expected_chap_n the target's CHAP_N.
 * @param secret the target's secret (copied).
 * @param len the secret's length.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for an empty CHAP_N or secret;
 *         #MULTICHAP_ERR_POLICY when a rule is broken (too short, our own secret).
 */
MULTICHAP_API multichap_status multichap_initiator_set_target_credentials(
    multichap_initiator* ini, const char* expected_chap_n, const unsigned char* secret, size_t len);
/**
 * @brief Our credentials with the secret held by reference, as a key in a PKCS#11 token.
 *
 * The secret is named by an RFC 7512 URI, e.g.
 * "pkcs11:token=multichap;object=alice;type=secret-key" with the PIN from pin-source=file:PATH
 * (or pin-value=, or MULTICHAP_PKCS11_PIN); it is opened here and never read into this process:
 * responses are computed inside the token, and only the algorithms the token computes with that
 * key are offered (SoftHSM: SHA-256, SHA-1). The same rules as the byte forms. The handbook's
 * docs/backends.md, "Secrets in a token", describes the set-up.
 * @param ini the initiator.
 * @param chap_n our CHAP_N.
 * @param uri the key's RFC 7512 URI.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for a malformed URI or a missing key;
 *         #MULTICHAP_ERR_BACKEND for a wrong PIN or an unreachable token (the reason in the
 *         last error).
 */
MULTICHAP_API multichap_status multichap_initiator_set_credentials_uri(multichap_initiator* ini,
                                                                       const char* chap_n,
                                                                       const char* uri);
/**
 * @brief Mutual CHAP with the target's secret as a key in a PKCS#11 token (see
 * multichap_initiator_set_credentials_uri()).
 * @param ini the initiator.
 * @param expected_chap_n the target's CHAP_N.
 * @param uri the key's RFC 7512 URI.
 * @return as multichap_initiator_set_credentials_uri().
 */
MULTICHAP_API multichap_status multichap_initiator_set_target_credentials_uri(
    multichap_initiator* ini, const char* expected_chap_n, const char* uri);
/**
 * @brief The CHAP_A offer in preference order (default 8,7,6,5). Rewinds.
 *
 * Only the ones the backend supports are offered.
 * @param ini the initiator.
 * @param chap_a CHAP_A numbers 5..8, at least one, no duplicates.
 * @param count how many.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for an empty list, an unknown or a repeated
 *         number.
 */
MULTICHAP_API multichap_status multichap_initiator_set_algorithms(multichap_initiator* ini,
                                                                  const int* chap_a, size_t count);
/**
 * @brief Whether the link is otherwise protected (IPsec), so that secrets under 12 bytes are
 * accepted (RFC 7143 §9.2.1). Rewinds.
 *
 * Default 0. Set it before credentials that need it.
 * @param ini the initiator.
 * @param on non-zero: the link is protected.
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status multichap_initiator_set_link_protected(multichap_initiator* ini,
                                                                      int on);
/**
 * @brief Whether a target that asks for no authentication may be logged into. Rewinds.
 *
 * Default 0: the first output offers AuthMethod=CHAP and a target's AuthMethod=None fails the
 * exchange. With 1 the offer is AuthMethod=CHAP,None (what initiators such as libiscsi and
 * open-iscsi send with CHAP configured) and a target that answers None ends the exchange
 * successfully without CHAP (multichap_initiator_algorithm() then returns 0). Never while
 * target credentials are set: mutual CHAP asks the target to prove itself, and None would skip
 * that, so the offer stays CHAP alone.
 * @param ini the initiator.
 * @param allow non-zero: offer None beside CHAP and accept it.
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status multichap_initiator_set_allow_none(multichap_initiator* ini,
                                                                  int allow);
/**
 * @brief Forgets everything negotiated (algorithm, identifiers, challenges: wiped).
 *
 * The configuration stays. Call it at the start of every leading login.
 * @param ini the initiator; NULL is ignored.
 */
MULTICHAP_API void multichap_initiator_rewind(multichap_initiator* ini);
/**
 * @brief One step of the exchange.
 * @param ini the initiator.
 * @param in the security-stage data of the last login response (NULL for the first call).
 * @param in_len its length: 0 for the first call.
 * @param out receives the keys to send.
 * @param out_cap the size of out.
 * @param out_len receives the length of the keys to send (the size needed when out is too
 *                small).
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_BUFFER_TOO_SMALL (nothing changed); another error: close
 *         the connection.
 */
MULTICHAP_API multichap_status multichap_initiator_step(multichap_initiator* ini, const char* in,
                                                        size_t in_len, char* out, size_t out_cap,
                                                        size_t* out_len);
/**
 * @brief Where the initiator's exchange stands.
 * @param ini the initiator.
 * @return its state.
 */
MULTICHAP_API multichap_state multichap_initiator_state(const multichap_initiator* ini);
/**
 * @brief Whether the next Login Request may set T=1 to leave the security stage.
 *
 * The state becomes #MULTICHAP_SUCCEEDED only with the target's answer.
 * @param ini the initiator.
 * @return 1 once the initiator has said everything it must (its CHAP_R was in the last output);
 *         0 before, and after a failure.
 */
MULTICHAP_API int multichap_initiator_may_transit(const multichap_initiator* ini);
/**
 * @brief The negotiated algorithm.
 * @param ini the initiator.
 * @return its CHAP_A number, 0 before the target chose one.
 */
MULTICHAP_API int multichap_initiator_algorithm(const multichap_initiator* ini);
/**
 * @brief Whether the target proved itself (mutual CHAP).
 * @param ini the initiator.
 * @return 1 when the exchange succeeded and the target proved itself, else 0.
 */
MULTICHAP_API int multichap_initiator_mutual(const multichap_initiator* ini);
/**
 * @brief The CHAP_A numbers the next login will offer, in preference order.
 * @param ini the initiator.
 * @param chap_a receives up to cap of them; may be NULL with cap 0.
 * @param cap the size of chap_a.
 * @return how many there are (0 before credentials are set).
 */
MULTICHAP_API size_t multichap_initiator_offer(const multichap_initiator* ini, int* chap_a,
                                               size_t cap);
/**
 * @brief Offer fallback, for targets that cannot handle a modern CHAP_A offer.
 *
 * Call it when a leading login failed in the security stage, before rewinding. The offer only
 * ever narrows within the allowed algorithms, each single value is tried at most once, and the
 * narrowed offer stays for every later login of ini (reconnects included) until
 * multichap_initiator_set_algorithms().
 * @param ini the initiator.
 * @param login_status the Login Response's Status-Class << 8 | Status-Detail (0x0201...), or -1
 *                     when the connection closed without an answer.
 * @return 1 when the failure came right after our CHAP_A offer (Linux LIO before 3.15 fails any
 *         list, tgt and istgt some single values), or was 0x0200 right after a SHA-256 response
 *         (tgt and IET number SHA-1 as 7), and the initiator has narrowed its offer for the next
 *         login: log in again on a new connection at once (it is not a retry of the same
 *         offer). 0 when the failure was not about the offer (a wrong secret, CHAP_A=Reject
 *         after our whole list, a redirect) or no narrower offer is left.
 */
MULTICHAP_API int multichap_initiator_login_failed(multichap_initiator* ini, int login_status);
/**
 * @brief The last failure's message.
 * @param ini the initiator.
 * @return the message, "" if none; valid until the next call on ini.
 */
MULTICHAP_API const char* multichap_initiator_error(const multichap_initiator* ini);
/**
 * @brief Wipes and frees an initiator.
 * @param ini the initiator; NULL is ignored.
 */
MULTICHAP_API void multichap_initiator_free(multichap_initiator* ini);

/** @} */

/**
 * @name Target
 * One configuration shared by all logins, one object per login.
 */
/** @{ */

/**
 * @brief The embedder's own account store: finds the secret of an account.
 *
 * Runs on the thread calling multichap_target_login_step(), possibly several at once: it must
 * be thread-safe. The buffer is wiped by the library after use.
 * @param ctx the context given to multichap_target_config_set_lookup(), or the login's
 *            (multichap_target_login_set_lookup_context()).
 * @param chap_n the CHAP_N of the account.
 * @param initiator_name the InitiatorName of the login.
 * @param secret receives the secret.
 * @param cap the size of secret.
 * @param len receives the secret's length (or the size needed).
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_AUTHENTICATION when there is no such account;
 *         #MULTICHAP_ERR_BUFFER_TOO_SMALL with the size needed in *len to be called once more
 *         with a buffer that large (up to 65536 bytes). Any other status is a failed lookup.
 *         Both failures end the login with an authentication failure.
 */
typedef multichap_status (*multichap_secret_lookup)(void* ctx, const char* chap_n,
                                                    const char* initiator_name,
                                                    unsigned char* secret, size_t cap, size_t* len);

/**
 * @brief A new target configuration: no account, no identity, algorithms 8,7,6,5.
 * @param b the backend it computes with.
 * @param out receives the configuration; free it with multichap_target_config_free().
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status multichap_target_config_new(const multichap_backend* b,
                                                           multichap_target_config** out);
/**
 * @brief Adds an initiator account. Accounts are searched before the lookup callback.
 * @param cfg the configuration.
 * @param chap_n the account's CHAP_N.
 * @param secret its secret (>= 12 bytes, not the target's own secret; copied).
 * @param len the secret's length.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for an empty CHAP_N or secret, or a CHAP_N added
 *         twice; #MULTICHAP_ERR_POLICY when a secret rule is broken.
 */
MULTICHAP_API multichap_status multichap_target_config_add_account(multichap_target_config* cfg,
                                                                   const char* chap_n,
                                                                   const unsigned char* secret,
                                                                   size_t len);
/**
 * @brief Adds an initiator account whose secret is a key in a PKCS#11 token (see
 * multichap_initiator_set_credentials_uri()).
 * @param cfg the configuration.
 * @param chap_n the account's CHAP_N.
 * @param uri the key's RFC 7512 URI.
 * @return as multichap_target_config_add_account(), and as
 *         multichap_initiator_set_credentials_uri() for the URI.
 */
MULTICHAP_API multichap_status multichap_target_config_add_account_uri(multichap_target_config* cfg,
                                                                       const char* chap_n,
                                                                       const char* uri);
/**
 * @brief The target's own CHAP_N, with its secret as a key in a PKCS#11 token (see
 * multichap_initiator_set_credentials_uri()).
 * @param cfg the configuration.
 * @param chap_n the target's CHAP_N.
 * @param uri the key's RFC 7512 URI.
 * @return as multichap_target_config_set_credentials(), and as
 *         multichap_initiator_set_credentials_uri() for the URI.
 */
MULTICHAP_API multichap_status multichap_target_config_set_credentials_uri(
    multichap_target_config* cfg, const char* chap_n, const char* uri);
/**
 * @brief Where secrets come from for CHAP_Ns that no added account has.
 * @param cfg the configuration.
 * @param fn the lookup; NULL removes it.
 * @param ctx passed to fn.
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status multichap_target_config_set_lookup(multichap_target_config* cfg,
                                                                  multichap_secret_lookup fn,
                                                                  void* ctx);
/**
 * @brief The target's own CHAP_N and secret, sent when an initiator asks for mutual CHAP.
 * @param cfg the configuration.
 * @param chap_n the target's CHAP_N.
 * @param secret its secret (copied).
 * @param len the secret's length.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for an empty CHAP_N or secret;
 *         #MULTICHAP_ERR_POLICY when a secret rule is broken (an account's secret reused).
 */
MULTICHAP_API multichap_status multichap_target_config_set_credentials(multichap_target_config* cfg,
                                                                       const char* chap_n,
                                                                       const unsigned char* secret,
                                                                       size_t len);
/**
 * @brief The algorithms the target accepts.
 *
 * The target picks the first of the initiator's offer that is here and that the backend
 * supports.
 * @param cfg the configuration.
 * @param chap_a CHAP_A numbers 5..8, at least one, no duplicates.
 * @param count how many.
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for an empty list, an unknown or a repeated
 *         number; #MULTICHAP_ERR_POLICY when the backend supports none of them.
 */
MULTICHAP_API multichap_status multichap_target_config_set_algorithms(multichap_target_config* cfg,
                                                                      const int* chap_a,
                                                                      size_t count);
/**
 * @brief Whether the link is protected (IPsec): secrets under 12 bytes are then accepted.
 *
 * Set it first.
 * @param cfg the configuration.
 * @param on non-zero: the link is protected.
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status
multichap_target_config_set_link_protected(multichap_target_config* cfg, int on);
/**
 * @brief Whether to refuse initiators that do not also authenticate the target.
 * @param cfg the configuration (needs multichap_target_config_set_credentials()).
 * @param on non-zero: require mutual CHAP.
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status multichap_target_config_require_mutual(multichap_target_config* cfg,
                                                                      int on);
/**
 * @brief The last failing setter's message.
 * @param cfg the configuration.
 * @return the message, "" if none.
 */
MULTICHAP_API const char* multichap_target_config_error(const multichap_target_config* cfg);
/**
 * @brief Wipes and frees a configuration; logins created from it stay valid.
 * @param cfg the configuration; NULL is ignored.
 */
MULTICHAP_API void multichap_target_config_free(multichap_target_config* cfg);

/**
 * @brief A login exchange for one connection, with the configuration as it is now.
 * @param cfg the configuration.
 * @param initiator_name the InitiatorName the connection declared.
 * @param out receives the login; free it with multichap_target_login_free().
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_USAGE for an incomplete configuration (no account and
 *         no lookup; mutual required without credentials).
 */
MULTICHAP_API multichap_status multichap_target_login_new(const multichap_target_config* cfg,
                                                          const char* initiator_name,
                                                          multichap_target_login** out);
/**
 * @brief The ctx this login passes to the configuration's lookup callback, instead of the one
 * given to multichap_target_config_set_lookup().
 *
 * A single-threaded target on an event loop (tgt) passes its connection, whose target decides
 * which accounts apply. Call it before the first step.
 * @param login the login.
 * @param ctx the context for the lookup callback.
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status
multichap_target_login_set_lookup_context(multichap_target_login* login, void* ctx);
/**
 * @brief Whether multichap_target_login_step() with this input would call the lookup callback.
 *
 * For a target on an event loop whose account store must not be asked on the loop's thread
 * (a remote store): ask the store elsewhere, then hand the answer over with
 * multichap_target_login_supply_secret(). Changes nothing.
 * @param login the login.
 * @param in the security-stage data the next step would take.
 * @param in_len its length.
 * @param chap_n receives the CHAP_N to look up, NUL-terminated.
 * @param cap the size of chap_n.
 * @param len receives its length; 0 when no lookup is needed (an added account, a step before
 *            the response, or text that the step will refuse).
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_BUFFER_TOO_SMALL with the size needed (NUL included) in
 *         *len.
 */
MULTICHAP_API multichap_status
multichap_target_login_pending_lookup(const multichap_target_login* login, const char* in,
                                      size_t in_len, char* chap_n, size_t cap, size_t* len);
/**
 * @brief The answer of a lookup made elsewhere.
 *
 * The next step with a response from chap_n takes it instead of calling the lookup callback
 * (which must still be configured: it may simply refuse). The secret is copied (and wiped when
 * used or replaced); it is checked as a looked-up secret is.
 * @param login the login.
 * @param chap_n the CHAP_N looked up.
 * @param secret its secret, or NULL (with len 0): no such account.
 * @param len the secret's length.
 * @return #MULTICHAP_OK or an error.
 */
MULTICHAP_API multichap_status multichap_target_login_supply_secret(multichap_target_login* login,
                                                                    const char* chap_n,
                                                                    const unsigned char* secret,
                                                                    size_t len);
/**
 * @brief One step of the exchange.
 * @param login the login.
 * @param in the security-stage data of a login request.
 * @param in_len its length.
 * @param out receives the keys to answer with; on failure the keys due with it
 *            (AuthMethod=Reject, CHAP_A=Reject, or none).
 * @param out_cap the size of out.
 * @param out_len receives their length (the size needed when out is too small).
 * @return #MULTICHAP_OK; #MULTICHAP_ERR_BUFFER_TOO_SMALL (nothing changed); another error: the
 *         engine answers with status 0x0201.
 */
MULTICHAP_API multichap_status multichap_target_login_step(multichap_target_login* login,
                                                           const char* in, size_t in_len, char* out,
                                                           size_t out_cap, size_t* out_len);
/**
 * @brief Where the login's exchange stands.
 * @param login the login.
 * @return its state.
 */
MULTICHAP_API multichap_state multichap_target_login_state(const multichap_target_login* login);
/**
 * @brief The negotiated algorithm.
 * @param login the login.
 * @return its CHAP_A number, 0 before one was chosen.
 */
MULTICHAP_API int multichap_target_login_algorithm(const multichap_target_login* login);
/**
 * @brief Whether the target proved itself to the initiator (mutual CHAP).
 * @param login the login.
 * @return 1 when the exchange succeeded and the target proved itself, else 0.
 */
MULTICHAP_API int multichap_target_login_mutual(const multichap_target_login* login);
/**
 * @brief The CHAP_N the initiator proved.
 * @param login the login.
 * @return the CHAP_N once the state is #MULTICHAP_SUCCEEDED; "" before. Valid until the next
 *         call on login.
 */
MULTICHAP_API const char* multichap_target_login_peer(const multichap_target_login* login);
/**
 * @brief The last failure's message.
 * @param login the login.
 * @return the message, "" if none; valid until the next call on login.
 */
MULTICHAP_API const char* multichap_target_login_error(const multichap_target_login* login);
/**
 * @brief Wipes and frees a login.
 * @param login the login; NULL is ignored.
 */
MULTICHAP_API void multichap_target_login_free(multichap_target_login* login);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* MULTICHAP_MULTICHAP_H */
