// SPDX-License-Identifier: BSD-2-Clause
// ErrorCode: the stable reason beside an Error's kind (after s2n's S2N_ERR_*), one value per
// distinct failure multichap reports, so that callers and tests branch on the reason rather
// than on the English of the message.
//
// Stability: error_code_name() gives each code a snake_case name that does not change; codes are
// only ever added (at the end of their group), never renumbered in meaning or removed. The
// numeric values are not part of any ABI (the C API reports the kind only).
//
// The generic_* codes, one per ErrorKind, are for callers outside the library that build an
// Error without a reason of their own (the CLI's option errors, make_error(kind, message)) and
// for the few library failures that are a bug by construction (generic_internal). Every other
// library call site names its own code.
#ifndef MULTICHAP_AUTH_ERROR_CODE_H
#define MULTICHAP_AUTH_ERROR_CODE_H

#include <string_view>

// X(name): the list, in groups; error_code_name() returns #name.
#define MULTICHAP_ERROR_CODES(X)                                                                  \
  /* generic: one per kind, see above */                                                          \
  X(generic_protocol)                                                                             \
  X(generic_authentication)                                                                       \
  X(generic_policy)                                                                               \
  X(generic_backend)                                                                              \
  X(generic_usage)                                                                                \
  X(generic_io)                                                                                   \
  X(generic_timeout)                                                                              \
  X(generic_rejected)                                                                             \
  X(generic_internal)                                                                             \
  /* the iSCSI value codec (auth/encoding.h) */                                                   \
  X(hex_empty)           /* 0x with no digits */                                                  \
  X(hex_digit)           /* a character that is not a hex digit */                                \
  X(binary_too_long)     /* a binary value over the caller's limit */                             \
  X(base64_empty)        /* 0b with nothing (or only padding) after it */                         \
  X(base64_length)       /* length not a multiple of 4 */                                         \
  X(base64_character)    /* a character outside the base64 alphabet */                            \
  X(base64_padding)      /* non-zero bits in the padding: not canonical */                        \
  X(binary_prefix)       /* neither 0x nor 0b */                                                  \
  X(number_empty)        /* an empty number, or 0x with no digits */                              \
  X(number_character)    /* a character that is not a digit */                                    \
  X(number_range)        /* over the maximum */                                                   \
  X(number_leading_zero) /* a decimal number with leading zeros */                                \
  /* key=value text (auth/text.h) */                                                              \
  X(key_added_twice)          /* KeyList::add of a key already there (usage) */                   \
  X(text_unterminated)        /* no NUL after the last pair */                                    \
  X(text_pair_without_equals) /* a pair without '=' */                                            \
  X(text_key_empty)           /* "=value" */                                                      \
  X(text_key_too_long)        /* key name over 63 bytes */                                        \
  X(text_key_character)       /* a key name character RFC 7143 does not allow */                  \
  X(text_value_too_long)      /* value over its key's limit */                                    \
  X(text_duplicate_key)       /* a key sent twice */                                              \
  /* algorithms, policy and secrets (auth/algorithm.h, auth/policy.h, auth/secure.h) */           \
  X(algorithm_unknown)         /* a name or number that is no algorithm */                        \
  X(algorithm_list_empty_item) /* "md5,,sha1" */                                                  \
  X(algorithm_listed_twice)    /* an algorithm twice in one list or policy */                     \
  X(policy_no_algorithm)       /* a policy that allows no algorithm */                            \
  X(challenge_size_range)      /* challenge size outside 16..1024 */                              \
  X(min_peer_challenge_range)  /* minimum peer challenge size outside 1..1024 */                  \
  X(secret_empty)              /* an empty secret */                                              \
  X(secret_too_short)          /* under 12 bytes on a link not marked protected */                \
  X(secret_encoding)           /* a secret given as a malformed 0x/0b value */                    \
  /* CHAP configurations (auth/chap.h) */                                                         \
  X(config_missing)              /* no configuration, backend or authenticator given */           \
  X(target_no_accounts)          /* a target with no account, no provider and no None */          \
  X(mutual_without_secret)       /* mutual CHAP required but no secret of our own */              \
  X(same_secret_both_directions) /* one secret for both directions (RFC 7143 §9.2.1) */          \
  X(no_usable_algorithm)         /* none of the allowed algorithms is in the backend */           \
  X(exchange_failed)             /* step() after a failure, without rewind() */                   \
  X(offer_after_start)           /* the CHAP_A offer changed after the exchange began */          \
  X(offer_empty)                 /* an empty CHAP_A offer */                                      \
  X(offer_not_allowed)           /* an offer beyond the allowed algorithms */                     \
  X(offer_repeats)               /* an offer naming an algorithm twice */                         \
  /* the CHAP exchange (auth/chap.h) */                                                           \
  X(unexpected_key)            /* a key or step out of order for the CHAP state */                \
  X(missing_key)               /* a CHAP key the step needs is absent */                          \
  X(chap_a_encoding)           /* CHAP_A is not a number */                                       \
  X(chap_a_unsupported)        /* no algorithm both sides accept */                               \
  X(chap_a_not_offered)        /* the target chose a CHAP_A we did not offer */                   \
  X(chap_i_encoding)           /* CHAP_I is not a number 0..255 */                                \
  X(chap_c_encoding)           /* CHAP_C is not a valid binary value */                           \
  X(chap_c_too_short)          /* CHAP_C under our minimum */                                     \
  X(chap_i_c_unpaired)         /* CHAP_I without CHAP_C or the reverse */                         \
  X(chap_r_encoding)           /* CHAP_R is not a valid binary value */                           \
  X(chap_r_length)             /* CHAP_R is not the digest size */                                \
  X(auth_method_empty_item)    /* an empty item in the AuthMethod list */                         \
  X(auth_method_unacceptable)  /* the initiator offered no AuthMethod we accept */                \
  X(auth_required_by_target)   /* we offered None, the target wants authentication */             \
  X(auth_method_unexpected)    /* we offered CHAP, the target answered something else */          \
  X(auth_none_not_allowed)     /* the target chose None; our policy requires CHAP */              \
  X(mutual_required)           /* our policy requires mutual CHAP; the initiator did not ask */   \
  X(mutual_unavailable)        /* the initiator asked us to prove ourselves; we have no secret */ \
  X(mutual_not_answered)       /* the target did not answer our challenge */                      \
  X(reflection)                /* the peer sent back our own challenge */                         \
  X(response_with_own_secret)  /* the peer's CHAP_R was computed with our own secret */           \
  X(unknown_user)              /* CHAP_N is no account */                                         \
  X(secret_lookup_failed)      /* the SecretProvider failed */                                    \
  X(secret_lookup_timeout)     /* the SecretProvider did not answer in time */                    \
  X(bad_response)              /* CHAP_R does not match: a wrong secret */                        \
  X(chap_n_mismatch)           /* the target's CHAP_N is not the name we expect */                \
  X(random_repeated_challenge) /* the random generator repeated the peer's challenge */           \
  /* backends (backends/) */                                                                      \
  X(backend_unknown)       /* no backend of that name exists */                                   \
  X(backend_not_built)     /* that backend is not built into this binary */                       \
  X(algorithm_unavailable) /* the backend does not offer the algorithm (e.g. FIPS) */             \
  X(digest_failed)         /* the crypto library failed to hash */                                \
  X(random_failed)         /* the crypto library's random generator failed */                     \
  X(output_too_small)      /* a digest output buffer is too small */                              \
  X(backend_refused)       /* a backend plugin or table was refused (ABI, init, known answers) */ \
  X(backend_duplicate)     /* a backend of that name is already loaded */                         \
  X(key_reference_invalid) /* a secret reference that is malformed or that no backend serves */   \
  X(key_unavailable)       /* the module or token holding a key cannot be reached */              \
  X(key_denied)            /* the token refused the login (a wrong PIN) */                        \
  X(key_not_found)         /* no key (or more than one) matches the reference */                  \
  X(key_exists)            /* import: a key matching the reference exists already */              \
  /* the PDU codec (session/pdu.h) */                                                             \
  X(pdu_truncated)          /* fewer bytes than the header or its lengths say */                  \
  X(pdu_padding)            /* the data segment's padding is missing */                           \
  X(pdu_trailing_bytes)     /* bytes after the PDU */                                             \
  X(pdu_data_too_long)      /* DataSegmentLength over the limit */                                \
  X(opcode_unexpected)      /* another PDU than the one expected */                               \
  X(login_t_and_c)          /* a login PDU with T and C set */                                    \
  X(login_reserved_stage)   /* CSG or NSG 2 */                                                    \
  X(login_csg_full_feature) /* CSG 3 */                                                           \
  X(login_stage_backwards)  /* a transit to a stage not after the current one */                  \
  X(login_reserved_flags)   /* reserved flag bits of a Login Request */                           \
  X(logout_without_final)   /* a Logout Request without its F bit */                              \
  X(text_f_and_c)           /* a Text PDU with F and C set */                                     \
  /* the initiator's login (session/initiator_login.h) */                                         \
  X(itt_mismatch)               /* a response for another task or session */                      \
  X(login_stage_mismatch)       /* a response in another stage than our request */                \
  X(login_version)              /* the target chose an unknown iSCSI version */                   \
  X(tsih_changed)               /* the target changed the TSIH of a non-leading login */          \
  X(tsih_zero)                  /* the target assigned TSIH 0 */                                  \
  X(login_continue_data)        /* data in the answer to a continued (C=1) request */             \
  X(login_text_too_long)        /* login text over its limit */                                   \
  X(login_stage_skipped)        /* the target transited further than we asked */                  \
  X(auth_incomplete)            /* the target left the security stage before we were done */      \
  X(redirect_address)           /* a redirect without a usable TargetAddress */                   \
  X(redirected)                 /* the target redirected us (status class 1) */                   \
  X(target_auth_failed)         /* the target answered 0x0201 */                                  \
  X(login_refused)              /* the target refused the login with another status */            \
  X(login_refused_sha256_as_7)  /* refused after we answered CHAP_A=7 as SHA-256 (tgt, IET) */    \
  X(operational_answer_invalid) /* an operational answer the key's rule does not admit */         \
  /* sessions (session/initiator.h, session/session_registry.h, session/discovery.h) */           \
  X(initiator_name_missing)     /* no InitiatorName */                                            \
  X(target_name_missing)        /* no TargetName where one is needed */                           \
  X(max_attempts_zero)          /* max_attempts is 0 */                                           \
  X(already_logged_in)          /* login() on a logged-in session */                              \
  X(not_logged_in)              /* a call that needs a logged-in (Discovery) session */           \
  X(connection_unknown)         /* no connection with that CID */                                 \
  X(max_connections_reached)    /* the target's MaxConnections is reached */                      \
  X(send_targets_too_long)      /* a SendTargets answer over 256 PDUs or 1 MiB */                 \
  X(send_targets_rejected)      /* the target rejected our SendTargets */                         \
  X(send_targets_pair)          /* a SendTargets pair without '=' */                              \
  X(send_targets_empty_name)    /* an empty TargetName in a SendTargets answer */                 \
  X(send_targets_address_first) /* a TargetAddress before any TargetName */                       \
  X(nop_mismatch)               /* a NOP-In that does not answer our ping */                      \
  X(logout_refused)             /* a Logout Response that is not success */                       \
  X(session_unknown)            /* no session with that TSIH */                                   \
  X(session_connection_limit)   /* the session has its maximum of connections */                  \
  X(tsih_exhausted)             /* all 65,535 TSIHs are in use */                                 \
  X(session_vanished)           /* the session ended during the login */                          \
  /* the target (session/target.h) */                                                             \
  X(no_target)             /* a configuration with no target to serve */                          \
  X(target_listed_twice)   /* a target name configured twice */                                   \
  X(connection_limit_zero) /* a connection limit under 1 */                                       \
  X(login_timeout_zero)    /* a login deadline that is not positive */                            \
  X(lookup_queue_full)     /* the secret lookup queue is full */                                  \
  /* transport (session/transport.h) */                                                           \
  X(address_syntax)    /* unbalanced '[' or no ':' after ']' */                                   \
  X(address_no_host)   /* an address without a host */                                            \
  X(address_port)      /* a port that is not 0..65535 */                                          \
  X(resolve_failed)    /* the host name does not resolve */                                       \
  X(socket_failed)     /* socket() failed */                                                      \
  X(connect_failed)    /* connect() failed (refused, unreachable...) */                           \
  X(connect_timeout)   /* connect() did not finish in time */                                     \
  X(stopped)           /* the caller's stop flag was set */                                       \
  X(connection_closed) /* the peer closed the connection */                                       \
  X(read_failed)       /* recv() failed (reset...) */                                             \
  X(read_timeout)      /* a read deadline passed */                                               \
  X(write_failed)      /* send() failed */                                                        \
  X(write_timeout)     /* a write deadline passed */                                              \
  X(listen_failed)     /* bind() or listen() failed, or the socket cannot be adopted */           \
  X(accept_failed)     /* accept() failed */                                                      \
  /* the C API (capi/) */                                                                         \
  X(callback_secret_length) /* a lookup callback reported an impossible length */                 \
  X(callback_failed)        /* a lookup callback returned an error status */                      \
  X(callback_buffer_twice)  /* a lookup callback asked for a larger buffer twice */               \
  /* the CLI's configuration files (tools/) */                                                    \
  X(file_unreadable)         /* a configuration file cannot be read */                            \
  X(config_syntax)           /* a configuration file does not parse */                            \
  X(config_invalid)          /* a configuration file's key or value is not usable */              \
  X(secret_file_permissions) /* a secret file others can read */                                  \
  /* the fleet's account store on etcd (store/) */                                                \
  X(store_unreachable)   /* no store endpoint answered within its deadline */                     \
  X(store_refused)       /* the store answered with an error (permission, auth, bad request) */   \
  X(store_value_invalid) /* a value in the store is not what its key must hold */                 \
  X(store_stale)         /* no contact with the store for longer than max_stale */                \
  X(envelope_invalid)    /* a sealed secret that does not open (wrong key, swapped, corrupt) */

namespace multichap {

enum class ErrorCode {
#define MULTICHAP_ERROR_CODE_ENUM(name) name,
  MULTICHAP_ERROR_CODES(MULTICHAP_ERROR_CODE_ENUM)
#undef MULTICHAP_ERROR_CODE_ENUM
};

// The code's stable snake_case name ("hex_digit"); "unknown" for a value outside the list.
std::string_view error_code_name(ErrorCode code);

}  // namespace multichap

#endif  // MULTICHAP_AUTH_ERROR_CODE_H
