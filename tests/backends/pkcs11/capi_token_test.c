/* SPDX-License-Identifier: BSD-2-Clause */
/* The C API with secrets held in a PKCS#11 token (multichap_*_uri): an initiator and a target
 * run against each other in memory, once with the initiator's two secrets in the token, once
 * with the target's; the token's algorithms decide the choice (SHA-256: SoftHSM has no SHA3-256);
 * a malformed URI is MULTICHAP_ERR_USAGE, a wrong PIN MULTICHAP_ERR_BACKEND, and a token secret
 * equal to the other direction's byte secret MULTICHAP_ERR_POLICY (RFC 7143 §9.2.1).
 * usage: capi_token_test URI_ALICE URI_TARGET ALICE_TEXT TARGET_TEXT URI_WRONG_PIN
 * Prints one line per failed check and "N passed, M failed"; exit 1 on any failure. */
#include <multichap/multichap.h>
#include <stdio.h>
#include <string.h>

static int g_passed, g_failed;
#define CHECK(cond)                                          \
  do {                                                       \
    if (cond) {                                              \
      ++g_passed;                                            \
    } else {                                                 \
      ++g_failed;                                            \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                        \
  } while (0)

#define kBuf 4096

/* Runs the exchange; 1 when both sides succeeded. */
static int exchange(multichap_initiator* ini, multichap_target_login* login) {
  char to_target[kBuf], to_initiator[kBuf];
  size_t n_t = 0, n_i = 0;
  int round;
  if (multichap_initiator_step(ini, NULL, 0, to_target, kBuf, &n_t) != MULTICHAP_OK) return 0;
  for (round = 0; round < 8; ++round) {
    if (multichap_target_login_step(login, to_target, n_t, to_initiator, kBuf, &n_i) !=
        MULTICHAP_OK) {
      printf("target: %s\n", multichap_target_login_error(login));
      return 0;
    }
    if (multichap_initiator_step(ini, to_initiator, n_i, to_target, kBuf, &n_t) != MULTICHAP_OK) {
      printf("initiator: %s\n", multichap_initiator_error(ini));
      return 0;
    }
    if (multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED &&
        multichap_target_login_state(login) == MULTICHAP_SUCCEEDED && n_t == 0)
      return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  const multichap_backend* b = NULL;
  const char *alice_uri, *target_uri, *alice, *target, *wrong_pin;
  int side;
  if (argc != 6) {
    fprintf(stderr, "usage: capi_token_test URI_ALICE URI_TARGET ALICE TARGET URI_WRONG_PIN\n");
    return 2;
  }
  alice_uri = argv[1];
  target_uri = argv[2];
  alice = argv[3];
  target = argv[4];
  wrong_pin = argv[5];
  CHECK(multichap_backend_open(NULL, &b) == MULTICHAP_OK);
  for (side = 0; side < 2; ++side) { /* 0: the initiator's secrets in the token; 1: the target's */
    multichap_initiator* ini = NULL;
    multichap_target_config* cfg = NULL;
    multichap_target_login* login = NULL;
    CHECK(multichap_initiator_new(b, &ini) == MULTICHAP_OK);
    CHECK(multichap_target_config_new(b, &cfg) == MULTICHAP_OK);
    if (side == 0) {
      CHECK(multichap_initiator_set_credentials_uri(ini, "alice", alice_uri) == MULTICHAP_OK);
      CHECK(multichap_initiator_set_target_credentials_uri(ini, "target", target_uri) ==
            MULTICHAP_OK);
      CHECK(multichap_target_config_add_account(cfg, "alice", (const unsigned char*)alice,
                                                strlen(alice)) == MULTICHAP_OK);
      CHECK(multichap_target_config_set_credentials(cfg, "target", (const unsigned char*)target,
                                                    strlen(target)) == MULTICHAP_OK);
    } else {
      CHECK(multichap_initiator_set_credentials(ini, "alice", (const unsigned char*)alice,
                                                strlen(alice)) == MULTICHAP_OK);
      CHECK(multichap_initiator_set_target_credentials(ini, "target", (const unsigned char*)target,
                                                       strlen(target)) == MULTICHAP_OK);
      CHECK(multichap_target_config_add_account_uri(cfg, "alice", alice_uri) == MULTICHAP_OK);
      CHECK(multichap_target_config_set_credentials_uri(cfg, "target", target_uri) == MULTICHAP_OK);
    }
    CHECK(multichap_target_login_new(cfg, "iqn.2026-11.org.multichap:c", &login) == MULTICHAP_OK);
    CHECK(exchange(ini, login));
    CHECK(multichap_initiator_algorithm(ini) == 7); /* SHA-256: the token has no SHA3-256 */
    multichap_target_login_free(login);
    multichap_target_config_free(cfg);
    multichap_initiator_free(ini);
  }
  {
    multichap_initiator* ini = NULL;
    multichap_target_config* cfg = NULL;
    CHECK(multichap_initiator_new(b, &ini) == MULTICHAP_OK);
    CHECK(multichap_initiator_set_credentials_uri(ini, "alice", "pkcs11:object=%zz") ==
          MULTICHAP_ERR_USAGE);
    CHECK(multichap_initiator_set_credentials_uri(ini, "alice", NULL) == MULTICHAP_ERR_USAGE);
    CHECK(multichap_initiator_set_credentials_uri(ini, "alice", wrong_pin) ==
          MULTICHAP_ERR_BACKEND);
    CHECK(strstr(multichap_initiator_error(ini), "CKR_PIN_INCORRECT") != NULL);
    CHECK(multichap_initiator_set_credentials_uri(ini, "alice", alice_uri) == MULTICHAP_OK);
    CHECK(multichap_initiator_set_target_credentials(ini, "target", (const unsigned char*)alice,
                                                     strlen(alice)) == MULTICHAP_ERR_POLICY);
    CHECK(multichap_target_config_new(b, &cfg) == MULTICHAP_OK);
    CHECK(multichap_target_config_set_credentials(cfg, "target", (const unsigned char*)alice,
                                                  strlen(alice)) == MULTICHAP_OK);
    CHECK(multichap_target_config_add_account_uri(cfg, "alice", alice_uri) == MULTICHAP_ERR_POLICY);
    multichap_target_config_free(cfg);
    multichap_initiator_free(ini);
  }
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
