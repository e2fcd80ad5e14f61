// SPDX-License-Identifier: BSD-2-Clause
/* Tests of the C ABI, compiled as C99 against <multichap/multichap.h> only: every function,
 * every status, bad arguments, too-small buffers, the lookup callback, and in-memory exchanges
 * C initiator <-> C target for every algorithm x backend x one-way/mutual.
 *
 * usage: capi_test CHAP_VECTOR_FILE EXPECTED_VERSION EXPECTED_BACKENDS(comma list)
 *        capi_test --fips-openssl   (run with OPENSSL_CONF=tests/capi/fips.cnf: the openssl backend
 *                                    computes nothing; every refusal is checked)
 * Prints one line per failed check and "N passed, M failed" at the end; exit 1 on any failure. */
#define _POSIX_C_SOURCE 200809L
#include <multichap/multichap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_passed;
static int g_failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      ++g_passed;                                                              \
    } else {                                                                   \
      ++g_failed;                                                              \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_STATUS(expr, want)                                                                  \
  do {                                                                                            \
    multichap_status got_ = (expr);                                                               \
    if (got_ == (want)) {                                                                         \
      ++g_passed;                                                                                 \
    } else {                                                                                      \
      ++g_failed;                                                                                 \
      fprintf(stderr, "%s:%d: %s gave %s, want %s (last error: %s)\n", __FILE__, __LINE__, #expr, \
              multichap_status_name(got_), multichap_status_name(want), multichap_last_error());  \
    }                                                                                             \
  } while (0)

static const unsigned char kInitiatorSecret[] = "initiator-secret-0123";
static const unsigned char kTargetSecret[] = "target-secret-4567";
static const unsigned char kShortSecret[] = "short";
#define SECRET_LEN(s) (sizeof(s) - 1)
static const char kInitiatorName[] = "iqn.2024-01.org.example:host1";
static const char kChapN[] = "host1";
static const char kTargetChapN[] = "iqn.2024-01.org.example:target";
static const int kAllAlgorithms[] = {8, 7, 6, 5};

enum { kBuf = 4096 };

/* ---- helpers ---------------------------------------------------------------------------- */

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes bare hex into out; returns the byte count or -1. */
static long unhex(const char* hex, unsigned char* out, size_t cap) {
  size_t n = strlen(hex);
  size_t i;
  if (n % 2 != 0 || n / 2 > cap) return -1;
  for (i = 0; i < n / 2; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (unsigned char)(hi * 16 + lo);
  }
  return (long)(n / 2);
}

static void to_hex(const unsigned char* in, size_t n, char* out) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; ++i) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* The value of key in a NUL-separated segment of len bytes, copied into value; 0 if absent. */
static int find_key(const char* seg, size_t len, const char* key, char* value, size_t cap) {
  size_t pos = 0, klen = strlen(key);
  while (pos < len) {
    const char* pair = seg + pos;
    size_t plen = strnlen(pair, len - pos);
    if (plen > klen && strncmp(pair, key, klen) == 0 && pair[klen] == '=') {
      if (plen - klen - 1 >= cap) return 0;
      memcpy(value, pair + klen + 1, plen - klen - 1);
      value[plen - klen - 1] = '\0';
      return 1;
    }
    pos += plen + 1;
  }
  return 0;
}

/* Steps an initiator twice: first with out_cap 0 (must report the size and change nothing), then
 * with exactly that size. Returns the second call's status. */
static multichap_status initiator_step_exact(multichap_initiator* ini, const char* in,
                                             size_t in_len, char* out, size_t* out_len) {
  size_t need = 0;
  multichap_state before = multichap_initiator_state(ini);
  int alg_before = multichap_initiator_algorithm(ini);
  multichap_status s = multichap_initiator_step(ini, in, in_len, NULL, 0, &need);
  if (s == MULTICHAP_ERR_BUFFER_TOO_SMALL) {
    CHECK(need > 0 && need <= kBuf);
    CHECK(multichap_initiator_state(ini) == before);
    CHECK(multichap_initiator_algorithm(ini) == alg_before);
    s = multichap_initiator_step(ini, in, in_len, out, need, out_len);
    if (s == MULTICHAP_OK) CHECK(*out_len == need);
    return s;
  }
  *out_len = need;
  return s;
}

static multichap_status target_step_exact(multichap_target_login* login, const char* in,
                                          size_t in_len, char* out, size_t* out_len) {
  size_t need = 0;
  multichap_state before = multichap_target_login_state(login);
  multichap_status s = multichap_target_login_step(login, in, in_len, NULL, 0, &need);
  if (s == MULTICHAP_ERR_BUFFER_TOO_SMALL) {
    CHECK(need > 0 && need <= kBuf);
    CHECK(multichap_target_login_state(login) == before);
    s = multichap_target_login_step(login, in, in_len, out, need, out_len);
    CHECK(*out_len == need);
    return s;
  }
  *out_len = need;
  return s;
}

/* The outcome of an in-memory exchange. */
typedef struct {
  multichap_status initiator_status; /* first failure of the initiator, or OK */
  multichap_status target_status;    /* first failure of the target, or OK */
  char last_target_out[kBuf];        /* what the target sent last (reject keys on failure) */
  size_t last_target_len;
} outcome;

/* Passes keys between the two until both succeed or one fails (bounded rounds). */
static outcome run_exchange(multichap_initiator* ini, multichap_target_login* login) {
  outcome o;
  char to_target[kBuf], to_initiator[kBuf];
  size_t n_t = 0, n_i = 0;
  int round;
  memset(&o, 0, sizeof o);
  o.initiator_status = initiator_step_exact(ini, NULL, 0, to_target, &n_t);
  if (o.initiator_status != MULTICHAP_OK) return o;
  for (round = 0; round < 8; ++round) {
    o.target_status = target_step_exact(login, to_target, n_t, to_initiator, &n_i);
    memcpy(o.last_target_out, to_initiator, n_i);
    o.last_target_len = n_i;
    if (o.target_status != MULTICHAP_OK) {
      if (n_i > 0)
        o.initiator_status =
            multichap_initiator_step(ini, to_initiator, n_i, to_target, kBuf, &n_t);
      return o;
    }
    o.initiator_status = initiator_step_exact(ini, to_initiator, n_i, to_target, &n_t);
    if (o.initiator_status != MULTICHAP_OK) return o;
    /* may_transit exactly when the output carries CHAP_R, or after success */
    {
      char r[2100];
      int has_r = find_key(to_target, n_t, "CHAP_R", r, sizeof r);
      CHECK(multichap_initiator_may_transit(ini) ==
            (has_r || multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED));
    }
    if (multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED &&
        multichap_target_login_state(login) == MULTICHAP_SUCCEEDED && n_t == 0) {
      return o;
    }
  }
  o.initiator_status = MULTICHAP_ERR_INTERNAL; /* no end in 8 rounds */
  return o;
}

static multichap_initiator* new_initiator(const multichap_backend* b, int mutual,
                                          const unsigned char* target_secret, size_t ts_len) {
  multichap_initiator* ini = NULL;
  CHECK_STATUS(multichap_initiator_new(b, &ini), MULTICHAP_OK);
  CHECK_STATUS(multichap_initiator_set_credentials(ini, kChapN, kInitiatorSecret,
                                                   SECRET_LEN(kInitiatorSecret)),
               MULTICHAP_OK);
  if (mutual) {
    CHECK_STATUS(
        multichap_initiator_set_target_credentials(ini, kTargetChapN, target_secret, ts_len),
        MULTICHAP_OK);
  }
  return ini;
}

static multichap_target_config* new_config(const multichap_backend* b, int with_identity,
                                           const int* algs, size_t n_algs) {
  multichap_target_config* cfg = NULL;
  CHECK_STATUS(multichap_target_config_new(b, &cfg), MULTICHAP_OK);
  CHECK_STATUS(multichap_target_config_add_account(cfg, kChapN, kInitiatorSecret,
                                                   SECRET_LEN(kInitiatorSecret)),
               MULTICHAP_OK);
  if (with_identity) {
    CHECK_STATUS(multichap_target_config_set_credentials(cfg, kTargetChapN, kTargetSecret,
                                                         SECRET_LEN(kTargetSecret)),
                 MULTICHAP_OK);
  }
  if (algs != NULL)
    CHECK_STATUS(multichap_target_config_set_algorithms(cfg, algs, n_algs), MULTICHAP_OK);
  return cfg;
}

static multichap_target_login* new_login(const multichap_target_config* cfg) {
  multichap_target_login* login = NULL;
  CHECK_STATUS(multichap_target_login_new(cfg, kInitiatorName, &login), MULTICHAP_OK);
  return login;
}

/* ---- library and backends ----------------------------------------------------------------- */

static void test_library(const char* expected_version) {
  multichap_status s;
  CHECK(strcmp(multichap_version(), expected_version) == 0);
  for (s = MULTICHAP_OK; s <= MULTICHAP_ERR_INTERNAL; s = (multichap_status)(s + 1)) {
    const char* name = multichap_status_name(s);
    CHECK(name != NULL && strcmp(name, "unknown") != 0);
  }
  CHECK(strcmp(multichap_status_name(MULTICHAP_OK), "ok") == 0);
  CHECK(strcmp(multichap_status_name(MULTICHAP_ERR_AUTHENTICATION), "authentication") == 0);
  CHECK(strcmp(multichap_status_name((multichap_status)99), "unknown") == 0);
  CHECK(strcmp(multichap_algorithm_name(5), "MD5") == 0);
  CHECK(strcmp(multichap_algorithm_name(6), "SHA-1") == 0);
  CHECK(strcmp(multichap_algorithm_name(7), "SHA-256") == 0);
  CHECK(strcmp(multichap_algorithm_name(8), "SHA3-256") == 0);
  CHECK(multichap_algorithm_name(4) == NULL);
  CHECK(multichap_algorithm_name(9) == NULL);
  CHECK(multichap_algorithm_name(-1) == NULL);
  CHECK(strcmp(multichap_algorithm_short_name(5), "md5") == 0);
  CHECK(strcmp(multichap_algorithm_short_name(6), "sha1") == 0);
  CHECK(strcmp(multichap_algorithm_short_name(7), "sha256") == 0);
  CHECK(strcmp(multichap_algorithm_short_name(8), "sha3-256") == 0);
  CHECK(multichap_algorithm_short_name(9) == NULL && multichap_algorithm_short_name(-1) == NULL);
  CHECK(multichap_algorithm_parse("md5") == 5);
  CHECK(multichap_algorithm_parse("SHA-1") == 6);
  CHECK(multichap_algorithm_parse("sha256") == 7);
  CHECK(multichap_algorithm_parse("SHA3-256") == 8);
  CHECK(multichap_algorithm_parse("7") == 7);
  CHECK(multichap_algorithm_parse("sha512") == 0);
  CHECK(multichap_algorithm_parse("") == 0);
  CHECK(multichap_algorithm_parse(NULL) == 0);
  CHECK(multichap_last_error() != NULL);
}

static void test_backends(const char* expected) {
  size_t i, n = multichap_backend_count();
  const multichap_backend *b = NULL, *def = NULL;
  char list[256] = "";
  for (i = 0; i < n; ++i) {
    const char* name = multichap_backend_at(i);
    CHECK(name != NULL);
    if (name == NULL) continue;
    if (i > 0) strcat(list, ",");
    strcat(list, name);
    CHECK_STATUS(multichap_backend_open(name, &b), MULTICHAP_OK);
    CHECK(b != NULL && strcmp(multichap_backend_name(b), name) == 0);
  }
  CHECK(strcmp(list, expected) == 0);
  CHECK(multichap_backend_at(n) == NULL);
  CHECK_STATUS(multichap_backend_open(NULL, &def), MULTICHAP_OK);
  CHECK(def != NULL && strcmp(multichap_backend_name(def), multichap_backend_at(0)) == 0);
  b = def;
  CHECK_STATUS(multichap_backend_open("no-such-backend", &b), MULTICHAP_ERR_USAGE);
  CHECK(b == NULL);
  CHECK(strstr(multichap_last_error(), "no-such-backend") != NULL);
  CHECK_STATUS(multichap_backend_open(NULL, NULL), MULTICHAP_ERR_USAGE);
  CHECK(multichap_backend_name(NULL) == NULL);
  CHECK(multichap_backend_supports(NULL, 5) == 0);
  CHECK(multichap_backend_supports(def, 4) == 0);
  CHECK(multichap_backend_supports(def, 9) == 0);
  CHECK(multichap_backend_supports(def, -5) == 0);
  /* Debian's OpenSSL 3 and Botan 2 compute all four here (no FIPS configuration). */
  for (i = 0; i < n; ++i) {
    int a;
    multichap_backend_open(multichap_backend_at(i), &b);
    for (a = 5; a <= 8; ++a) CHECK(multichap_backend_supports(b, a) == 1);
  }
}

/* Every CHAP vector of tests/vectors/chap.txt (coreutils / rhash) on every backend. */
static void test_vectors(const char* path) {
  FILE* f = fopen(path, "r");
  char line[4096], section[32] = "";
  unsigned char secret[1100], challenge[1100], expected[64], out[64];
  long secret_len = -1, challenge_len = -1, expected_len = -1;
  unsigned id = 0;
  int vectors = 0;
  CHECK(f != NULL);
  if (f == NULL) return;
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '[') {
      size_t len = strlen(line) < sizeof section - 1 ? strlen(line) : sizeof section - 1;
      memcpy(section, line, len);
      section[len] = '\0';
    } else if (strncmp(line, "Id = ", 5) == 0) {
      id = (unsigned)strtoul(line + 5, NULL, 10);
    } else if (strncmp(line, "Secret = ", 9) == 0) {
      secret_len = unhex(line + 9, secret, sizeof secret);
    } else if (strncmp(line, "Challenge = ", 12) == 0) {
      challenge_len = unhex(line + 12, challenge, sizeof challenge);
    } else if (strncmp(line, "Response = ", 11) == 0) {
      int chap_a = strcmp(section, "[MD5]") == 0        ? 5
                   : strcmp(section, "[SHA-1]") == 0    ? 6
                   : strcmp(section, "[SHA-256]") == 0  ? 7
                   : strcmp(section, "[SHA3-256]") == 0 ? 8
                                                        : 0;
      size_t i;
      expected_len = unhex(line + 11, expected, sizeof expected);
      CHECK(chap_a != 0 && secret_len >= 0 && challenge_len >= 0 && expected_len > 0);
      for (i = 0; i < multichap_backend_count(); ++i) {
        const multichap_backend* b = NULL;
        size_t n = 0;
        multichap_backend_open(multichap_backend_at(i), &b);
        CHECK_STATUS(multichap_response(b, chap_a, id, secret, (size_t)secret_len, challenge,
                                        (size_t)challenge_len, out, sizeof out, &n),
                     MULTICHAP_OK);
        CHECK(n == (size_t)expected_len && memcmp(out, expected, n) == 0);
      }
      ++vectors;
      secret_len = challenge_len = -1;
    }
  }
  fclose(f);
  CHECK(vectors >= 32);
}

static void test_response_errors(const multichap_backend* b) {
  unsigned char out[32];
  size_t n = 7;
  CHECK_STATUS(
      multichap_response(b, 7, 1, kInitiatorSecret, 4, (const unsigned char*)"ab", 2, out, 31, &n),
      MULTICHAP_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 32);
  CHECK_STATUS(multichap_response(b, 5, 1, kInitiatorSecret, 4, NULL, 0, NULL, 0, &n),
               MULTICHAP_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 16);
  CHECK_STATUS(multichap_response(b, 5, 256, kInitiatorSecret, 4, NULL, 0, out, 32, &n),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_response(b, 9, 1, kInitiatorSecret, 4, NULL, 0, out, 32, &n),
               MULTICHAP_ERR_USAGE);
  CHECK(strstr(multichap_last_error(), "CHAP_A 9") != NULL);
  CHECK_STATUS(multichap_response(b, -1, 1, kInitiatorSecret, 4, NULL, 0, out, 32, &n),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_response(NULL, 5, 1, kInitiatorSecret, 4, NULL, 0, out, 32, &n),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_response(b, 5, 1, kInitiatorSecret, 4, NULL, 0, out, 32, NULL),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_response(b, 5, 1, NULL, 4, NULL, 0, out, 32, &n), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_response(b, 5, 1, kInitiatorSecret, 4, NULL, 3, out, 32, &n),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_response(b, 5, 1, kInitiatorSecret, 4, NULL, 0, NULL, 32, &n),
               MULTICHAP_ERR_USAGE);
}

/* ---- initiator and target configuration errors -------------------------------------------- */

static void test_initiator_api(const multichap_backend* b) {
  multichap_initiator* ini = (multichap_initiator*)&ini; /* must be reset to NULL on failure */
  char out[kBuf];
  size_t n = 0;
  const int bad_algs[] = {7, 9};
  const int dup_algs[] = {7, 7};
  CHECK_STATUS(multichap_initiator_new(NULL, &ini), MULTICHAP_ERR_USAGE);
  CHECK(ini == NULL);
  CHECK_STATUS(multichap_initiator_new(b, NULL), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_set_credentials(NULL, kChapN, kInitiatorSecret, 21),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_new(b, &ini), MULTICHAP_OK);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_IN_PROGRESS);
  CHECK(multichap_initiator_algorithm(ini) == 0);
  CHECK(multichap_initiator_mutual(ini) == 0);
  CHECK(strcmp(multichap_initiator_error(ini), "") == 0);
  /* No credentials yet. */
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 0, out, kBuf, &n), MULTICHAP_ERR_USAGE);
  CHECK(strstr(multichap_initiator_error(ini), "credentials") != NULL);
  CHECK_STATUS(multichap_initiator_set_credentials(ini, NULL, kInitiatorSecret, 21),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_set_credentials(ini, "", kInitiatorSecret, 21),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_set_credentials(ini, kChapN, NULL, 21), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_set_credentials(ini, kChapN, kInitiatorSecret, 0),
               MULTICHAP_ERR_USAGE);
  /* RFC 7143 §9.2.1: at least 12 bytes. */
  CHECK_STATUS(
      multichap_initiator_set_credentials(ini, kChapN, kShortSecret, SECRET_LEN(kShortSecret)),
      MULTICHAP_ERR_POLICY);
  CHECK(strstr(multichap_initiator_error(ini), "short") == NULL); /* never the secret */
  /* An IPsec-protected link allows it; turning that off again refuses the configuration. */
  CHECK_STATUS(multichap_initiator_set_link_protected(ini, 1), MULTICHAP_OK);
  CHECK_STATUS(
      multichap_initiator_set_credentials(ini, kChapN, kShortSecret, SECRET_LEN(kShortSecret)),
      MULTICHAP_OK);
  CHECK_STATUS(multichap_initiator_set_link_protected(ini, 0), MULTICHAP_ERR_POLICY);
  CHECK_STATUS(multichap_initiator_set_link_protected(NULL, 0), MULTICHAP_ERR_USAGE);
  multichap_initiator_free(ini);
  CHECK_STATUS(multichap_initiator_new(b, &ini), MULTICHAP_OK);
  CHECK_STATUS(multichap_initiator_set_target_credentials(ini, kTargetChapN, kShortSecret,
                                                          SECRET_LEN(kShortSecret)),
               MULTICHAP_ERR_POLICY);
  CHECK_STATUS(multichap_initiator_set_credentials(ini, kChapN, kInitiatorSecret,
                                                   SECRET_LEN(kInitiatorSecret)),
               MULTICHAP_OK);
  /* One secret per direction: refused, and the previous configuration stays. */
  CHECK_STATUS(multichap_initiator_set_target_credentials(ini, kTargetChapN, kInitiatorSecret,
                                                          SECRET_LEN(kInitiatorSecret)),
               MULTICHAP_ERR_POLICY);
  CHECK(strstr(multichap_initiator_error(ini), "both directions") != NULL);
  CHECK_STATUS(multichap_initiator_set_algorithms(ini, bad_algs, 2), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_set_algorithms(ini, dup_algs, 2), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_set_algorithms(ini, kAllAlgorithms, 0), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_set_algorithms(ini, NULL, 2), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_set_algorithms(ini, kAllAlgorithms, 4), MULTICHAP_OK);
  /* Step arguments. */
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 0, out, kBuf, NULL), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 5, out, kBuf, &n), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 0, NULL, 5, &n), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_initiator_step(NULL, NULL, 0, out, kBuf, &n), MULTICHAP_ERR_USAGE);
  /* Too small: the size needed, and no state change (a second call gives the same answer). */
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 0, out, 3, &n), MULTICHAP_ERR_BUFFER_TOO_SMALL);
  CHECK(n == sizeof "AuthMethod=CHAP");
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 0, out, kBuf, &n), MULTICHAP_OK);
  CHECK(n == sizeof "AuthMethod=CHAP" && memcmp(out, "AuthMethod=CHAP", n) == 0);
  /* Malformed text from the target: protocol error, failed until rewound. */
  CHECK_STATUS(multichap_initiator_step(ini, "AuthMethod", 10, out, kBuf, &n),
               MULTICHAP_ERR_PROTOCOL);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_FAILED);
  CHECK_STATUS(multichap_initiator_step(ini, "AuthMethod=CHAP", 16, out, kBuf, &n),
               MULTICHAP_ERR_USAGE);
  multichap_initiator_rewind(ini);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_IN_PROGRESS);
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 0, out, kBuf, &n), MULTICHAP_OK);
  /* Non-authentication keys are ignored. */
  CHECK_STATUS(
      multichap_initiator_step(ini, "TargetPortalGroupTag=1\0AuthMethod=CHAP", 39, out, kBuf, &n),
      MULTICHAP_OK);
  CHECK(n == sizeof "CHAP_A=8,7,6,5" && memcmp(out, "CHAP_A=8,7,6,5", n) == 0);
  /* An algorithm we did not offer. */
  {
    const char pick9[] = "CHAP_A=9\0CHAP_I=1\0CHAP_C=0x00112233445566778899aabbccddeeff";
    CHECK_STATUS(multichap_initiator_step(ini, pick9, sizeof pick9, out, kBuf, &n),
                 MULTICHAP_ERR_PROTOCOL);
    CHECK(multichap_initiator_state(ini) == MULTICHAP_FAILED);
    CHECK(multichap_initiator_algorithm(ini) == 0);
  }
  CHECK(multichap_initiator_state(NULL) == MULTICHAP_FAILED);
  CHECK(multichap_initiator_may_transit(NULL) == 0);
  CHECK(multichap_initiator_may_transit(ini) == 0); /* failed */
  CHECK(multichap_initiator_algorithm(NULL) == 0);
  CHECK(multichap_initiator_mutual(NULL) == 0);
  CHECK(multichap_initiator_error(NULL) != NULL);
  multichap_initiator_rewind(NULL);
  multichap_initiator_free(NULL);
  multichap_initiator_free(ini);
}

static void test_target_api(const multichap_backend* b) {
  multichap_target_config* cfg = NULL;
  multichap_target_login* login = (multichap_target_login*)&cfg;
  char out[kBuf];
  size_t n = 0;
  const int only9[] = {9};
  CHECK_STATUS(multichap_target_config_new(NULL, &cfg), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_new(b, NULL), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_new(b, &cfg), MULTICHAP_OK);
  /* Incomplete: no account and no lookup. */
  CHECK_STATUS(multichap_target_login_new(cfg, kInitiatorName, &login), MULTICHAP_ERR_USAGE);
  CHECK(login == NULL);
  CHECK(strstr(multichap_last_error(), "account") != NULL);
  CHECK_STATUS(multichap_target_config_add_account(NULL, kChapN, kInitiatorSecret, 21),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_add_account(cfg, NULL, kInitiatorSecret, 21),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_add_account(cfg, kChapN, NULL, 21), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(
      multichap_target_config_add_account(cfg, kChapN, kShortSecret, SECRET_LEN(kShortSecret)),
      MULTICHAP_ERR_POLICY);
  CHECK(strstr(multichap_target_config_error(cfg), "short") == NULL);
  CHECK_STATUS(multichap_target_config_set_link_protected(NULL, 1), MULTICHAP_ERR_USAGE);
  {
    multichap_target_config* protected_cfg = NULL;
    CHECK_STATUS(multichap_target_config_new(b, &protected_cfg), MULTICHAP_OK);
    CHECK_STATUS(multichap_target_config_set_link_protected(protected_cfg, 1), MULTICHAP_OK);
    CHECK_STATUS(multichap_target_config_add_account(protected_cfg, kChapN, kShortSecret,
                                                     SECRET_LEN(kShortSecret)),
                 MULTICHAP_OK);
    multichap_target_config_free(protected_cfg);
  }
  CHECK_STATUS(multichap_target_config_add_account(cfg, kChapN, kInitiatorSecret,
                                                   SECRET_LEN(kInitiatorSecret)),
               MULTICHAP_OK);
  CHECK_STATUS(
      multichap_target_config_add_account(cfg, kChapN, kTargetSecret, SECRET_LEN(kTargetSecret)),
      MULTICHAP_ERR_USAGE);
  CHECK(strstr(multichap_target_config_error(cfg), "already") != NULL);
  /* One secret per direction. */
  CHECK_STATUS(multichap_target_config_set_credentials(cfg, kTargetChapN, kInitiatorSecret,
                                                       SECRET_LEN(kInitiatorSecret)),
               MULTICHAP_ERR_POLICY);
  CHECK_STATUS(multichap_target_config_set_credentials(cfg, kTargetChapN, kShortSecret,
                                                       SECRET_LEN(kShortSecret)),
               MULTICHAP_ERR_POLICY);
  CHECK_STATUS(multichap_target_config_set_credentials(cfg, "", kTargetSecret, 18),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_set_algorithms(cfg, only9, 1), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_set_algorithms(cfg, NULL, 1), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_set_algorithms(NULL, kAllAlgorithms, 4),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_set_lookup(NULL, NULL, NULL), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_config_require_mutual(NULL, 1), MULTICHAP_ERR_USAGE);
  /* Mutual required without the target's own credentials: refused at login creation. */
  CHECK_STATUS(multichap_target_config_require_mutual(cfg, 1), MULTICHAP_OK);
  CHECK_STATUS(multichap_target_login_new(cfg, kInitiatorName, &login), MULTICHAP_ERR_USAGE);
  CHECK(strstr(multichap_last_error(), "mutual") != NULL);
  CHECK_STATUS(multichap_target_config_require_mutual(cfg, 0), MULTICHAP_OK);
  CHECK_STATUS(multichap_target_login_new(cfg, NULL, &login), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_new(NULL, kInitiatorName, &login), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_new(cfg, kInitiatorName, NULL), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_new(cfg, kInitiatorName, &login), MULTICHAP_OK);
  CHECK(multichap_target_login_state(login) == MULTICHAP_IN_PROGRESS);
  CHECK(multichap_target_login_algorithm(login) == 0);
  CHECK(strcmp(multichap_target_login_peer(login), "") == 0);
  CHECK(strcmp(multichap_target_login_error(login), "") == 0);
  /* Step arguments and protocol errors. */
  CHECK_STATUS(multichap_target_login_step(login, NULL, 0, out, kBuf, NULL), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_step(login, NULL, 3, out, kBuf, &n), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_step(NULL, NULL, 0, out, kBuf, &n), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_step(login, "CHAP_A=5", 9, out, kBuf, &n),
               MULTICHAP_ERR_PROTOCOL); /* CHAP_A before AuthMethod */
  CHECK(multichap_target_login_state(login) == MULTICHAP_FAILED);
  multichap_target_login_free(login);
  /* AuthMethod without CHAP: AuthMethod=Reject with the failure. */
  login = new_login(cfg);
  CHECK_STATUS(multichap_target_login_step(login, "AuthMethod=None", 16, out, kBuf, &n),
               MULTICHAP_ERR_POLICY);
  CHECK(n == sizeof "AuthMethod=Reject" && memcmp(out, "AuthMethod=Reject", n) == 0);
  multichap_target_login_free(login);
  /* Malformed text. */
  login = new_login(cfg);
  CHECK_STATUS(multichap_target_login_step(login, "=x", 3, out, kBuf, &n), MULTICHAP_ERR_PROTOCOL);
  CHECK(multichap_target_login_state(login) == MULTICHAP_FAILED);
  multichap_target_login_free(login);
  /* A CHAP_R of the wrong length. */
  login = new_login(cfg);
  CHECK_STATUS(multichap_target_login_step(login, "AuthMethod=CHAP", 16, out, kBuf, &n),
               MULTICHAP_OK);
  CHECK_STATUS(multichap_target_login_step(login, "CHAP_A=5", 9, out, kBuf, &n), MULTICHAP_OK);
  {
    const char short_r[] = "CHAP_N=host1\0CHAP_R=0x0011";
    CHECK_STATUS(multichap_target_login_step(login, short_r, sizeof short_r, out, kBuf, &n),
                 MULTICHAP_ERR_PROTOCOL);
  }
  multichap_target_login_free(login);
  CHECK(multichap_target_login_state(NULL) == MULTICHAP_FAILED);
  CHECK(multichap_target_login_algorithm(NULL) == 0);
  CHECK(multichap_target_login_mutual(NULL) == 0);
  CHECK(strcmp(multichap_target_login_peer(NULL), "") == 0);
  CHECK(multichap_target_login_error(NULL) != NULL);
  CHECK(multichap_target_config_error(NULL) != NULL);
  multichap_target_login_free(NULL);
  multichap_target_config_free(NULL);
  multichap_target_config_free(cfg);
}

/* ---- exchanges ---------------------------------------------------------------------------- */

static void test_exchange(const multichap_backend* b, int chap_a, int mutual) {
  /* The initiator offers all four; the target allows only chap_a, so that one is chosen. */
  multichap_initiator* ini = new_initiator(b, mutual, kTargetSecret, SECRET_LEN(kTargetSecret));
  multichap_target_config* cfg = new_config(b, mutual, &chap_a, 1);
  multichap_target_login* login = new_login(cfg);
  outcome o = run_exchange(ini, login);
  CHECK_STATUS(o.initiator_status, MULTICHAP_OK);
  CHECK_STATUS(o.target_status, MULTICHAP_OK);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED);
  CHECK(multichap_target_login_state(login) == MULTICHAP_SUCCEEDED);
  CHECK(multichap_initiator_algorithm(ini) == chap_a);
  CHECK(multichap_target_login_algorithm(login) == chap_a);
  CHECK(multichap_initiator_mutual(ini) == mutual);
  CHECK(multichap_target_login_mutual(login) == mutual);
  CHECK(strcmp(multichap_target_login_peer(login), kChapN) == 0);
  multichap_target_login_free(login);

  /* A rewind and a second leading login with the same initiator object. */
  multichap_initiator_rewind(ini);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_IN_PROGRESS);
  CHECK(multichap_initiator_algorithm(ini) == 0);
  login = new_login(cfg);
  o = run_exchange(ini, login);
  CHECK(o.initiator_status == MULTICHAP_OK && o.target_status == MULTICHAP_OK);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED);
  multichap_target_login_free(login);
  multichap_initiator_free(ini);

  /* The initiator's secret is wrong: the target fails with an authentication error. */
  {
    static const unsigned char wrong[] = "not-the-initiator-secret";
    multichap_initiator* bad = NULL;
    multichap_initiator_new(b, &bad);
    multichap_initiator_set_credentials(bad, kChapN, wrong, SECRET_LEN(wrong));
    login = new_login(cfg);
    o = run_exchange(bad, login);
    CHECK_STATUS(o.target_status, MULTICHAP_ERR_AUTHENTICATION);
    CHECK(multichap_target_login_state(login) == MULTICHAP_FAILED);
    CHECK(strcmp(multichap_target_login_peer(login), "") == 0);
    CHECK(strstr(multichap_target_login_error(login), "wrong") != NULL);
    multichap_target_login_free(login);
    multichap_initiator_free(bad);
  }
  /* Mutual: the target's secret is not the one the initiator expects. */
  if (mutual) {
    static const unsigned char other[] = "some-other-target-secret";
    multichap_initiator* picky = new_initiator(b, 1, other, SECRET_LEN(other));
    login = new_login(cfg);
    o = run_exchange(picky, login);
    CHECK_STATUS(o.target_status, MULTICHAP_OK);
    CHECK_STATUS(o.initiator_status, MULTICHAP_ERR_AUTHENTICATION);
    CHECK(multichap_initiator_state(picky) == MULTICHAP_FAILED);
    CHECK(multichap_initiator_mutual(picky) == 0);
    multichap_target_login_free(login);
    multichap_initiator_free(picky);
  }
  multichap_target_config_free(cfg);
}

static void test_negotiation_failures(const multichap_backend* b) {
  /* Offer MD5 only to a target that allows SHA3-256 only: CHAP_A=Reject, both fail. */
  const int md5[] = {5}, sha3[] = {8};
  multichap_initiator* ini = new_initiator(b, 0, NULL, 0);
  multichap_target_config* cfg = new_config(b, 0, sha3, 1);
  multichap_target_login* login = new_login(cfg);
  outcome o;
  CHECK_STATUS(multichap_initiator_set_algorithms(ini, md5, 1), MULTICHAP_OK);
  o = run_exchange(ini, login);
  CHECK_STATUS(o.target_status, MULTICHAP_ERR_POLICY);
  CHECK(o.last_target_len == sizeof "CHAP_A=Reject" &&
        memcmp(o.last_target_out, "CHAP_A=Reject", o.last_target_len) == 0);
  CHECK_STATUS(o.initiator_status, MULTICHAP_ERR_POLICY);
  multichap_target_login_free(login);
  multichap_initiator_free(ini);

  /* Mutual required, the initiator only one-way. */
  CHECK_STATUS(multichap_target_config_set_credentials(cfg, kTargetChapN, kTargetSecret,
                                                       SECRET_LEN(kTargetSecret)),
               MULTICHAP_OK);
  CHECK_STATUS(multichap_target_config_require_mutual(cfg, 1), MULTICHAP_OK);
  ini = new_initiator(b, 0, NULL, 0);
  login = new_login(cfg);
  o = run_exchange(ini, login);
  CHECK_STATUS(o.target_status, MULTICHAP_ERR_POLICY);
  multichap_target_login_free(login);
  multichap_initiator_free(ini);
  multichap_target_config_free(cfg);
}

/* AuthMethod=None: offered beside CHAP only when allowed and not mutual; a target's None then
 * ends the exchange without CHAP, and fails it otherwise. */
static int first_output_is(multichap_initiator* ini, const char* keys) {
  char out[kBuf];
  size_t n = 0;
  multichap_initiator_rewind(ini);
  if (multichap_initiator_step(ini, NULL, 0, out, sizeof out, &n) != MULTICHAP_OK) return 0;
  return n == strlen(keys) + 1 && memcmp(out, keys, n) == 0;
}

static void test_allow_none(const multichap_backend* b) {
  static const char kNone[] = "AuthMethod=None";
  char out[kBuf];
  size_t n = 0;
  multichap_initiator* ini = new_initiator(b, 0, NULL, 0);
  CHECK(first_output_is(ini, "AuthMethod=CHAP")); /* the default */
  CHECK_STATUS(multichap_initiator_step(ini, kNone, sizeof kNone, out, sizeof out, &n),
               MULTICHAP_ERR_POLICY);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_FAILED);

  CHECK_STATUS(multichap_initiator_set_allow_none(ini, 1), MULTICHAP_OK);
  CHECK(first_output_is(ini, "AuthMethod=CHAP,None"));
  CHECK_STATUS(multichap_initiator_step(ini, kNone, sizeof kNone, out, sizeof out, &n),
               MULTICHAP_OK);
  CHECK(n == 0);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED);
  CHECK(multichap_initiator_may_transit(ini) == 1);
  CHECK(multichap_initiator_algorithm(ini) == 0);
  CHECK(multichap_initiator_mutual(ini) == 0);

  /* A CHAP target still gets CHAP from an initiator that allows None. */
  {
    multichap_target_config* cfg = new_config(b, 0, kAllAlgorithms, 4);
    multichap_target_login* login = new_login(cfg);
    outcome o;
    multichap_initiator_rewind(ini);
    o = run_exchange(ini, login);
    CHECK_STATUS(o.initiator_status, MULTICHAP_OK);
    CHECK_STATUS(o.target_status, MULTICHAP_OK);
    CHECK(multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED);
    CHECK(multichap_initiator_algorithm(ini) == 8);
    multichap_target_login_free(login);
    multichap_target_config_free(cfg);
  }

  /* Back to 0: None refused again. */
  CHECK_STATUS(multichap_initiator_set_allow_none(ini, 0), MULTICHAP_OK);
  CHECK(first_output_is(ini, "AuthMethod=CHAP"));
  CHECK_STATUS(multichap_initiator_set_allow_none(NULL, 1), MULTICHAP_ERR_USAGE);
  multichap_initiator_free(ini);

  /* Mutual: the target must prove itself, so None is neither offered nor accepted. */
  ini = new_initiator(b, 1, kTargetSecret, SECRET_LEN(kTargetSecret));
  CHECK_STATUS(multichap_initiator_set_allow_none(ini, 1), MULTICHAP_OK);
  CHECK(first_output_is(ini, "AuthMethod=CHAP"));
  CHECK_STATUS(multichap_initiator_step(ini, kNone, sizeof kNone, out, sizeof out, &n),
               MULTICHAP_ERR_POLICY);
  CHECK(multichap_initiator_state(ini) == MULTICHAP_FAILED);
  multichap_initiator_free(ini);
}

/* The initiator sends the target's own challenge back as its CHAP_C (reflection): refused. */
static void test_reflection(const multichap_backend* b) {
  multichap_target_config* cfg = new_config(b, 1, NULL, 0);
  multichap_target_login* login = new_login(cfg);
  char out[kBuf], alg[8], id[8], chal[2100], msg[kBuf], rhex[70];
  unsigned char challenge[1024], r[32];
  size_t n = 0, rn = 0;
  long clen;
  int len;
  CHECK_STATUS(multichap_target_login_step(login, "AuthMethod=CHAP", 16, out, kBuf, &n),
               MULTICHAP_OK);
  CHECK_STATUS(multichap_target_login_step(login, "CHAP_A=7", 9, out, kBuf, &n), MULTICHAP_OK);
  CHECK(find_key(out, n, "CHAP_A", alg, sizeof alg) && strcmp(alg, "7") == 0);
  CHECK(find_key(out, n, "CHAP_I", id, sizeof id));
  CHECK(find_key(out, n, "CHAP_C", chal, sizeof chal) && strncmp(chal, "0x", 2) == 0);
  clen = unhex(chal + 2, challenge, sizeof challenge);
  CHECK(clen >= 32);
  if (clen < 0) clen = 0;
  CHECK_STATUS(
      multichap_response(b, 7, (unsigned)atoi(id), kInitiatorSecret, SECRET_LEN(kInitiatorSecret),
                         challenge, (size_t)clen, r, sizeof r, &rn),
      MULTICHAP_OK);
  to_hex(r, rn, rhex);
  len = snprintf(msg, sizeof msg, "CHAP_N=%s%cCHAP_R=0x%s%cCHAP_I=9%cCHAP_C=%s", kChapN, 0, rhex, 0,
                 0, chal);
  CHECK(len > 0 && len < (int)sizeof msg);
  CHECK_STATUS(multichap_target_login_step(login, msg, (size_t)len + 1, out, kBuf, &n),
               MULTICHAP_ERR_AUTHENTICATION);
  CHECK(strstr(multichap_target_login_error(login), "reflected") != NULL);
  multichap_target_login_free(login);
  multichap_target_config_free(cfg);
}

/* ---- the lookup callback ------------------------------------------------------------------ */

typedef struct {
  int calls;
  multichap_status answer; /* what to return */
  size_t secret_len;       /* length of the secret to hand out (from a long buffer) */
  int saw_initiator_name;
} lookup_ctx;

static const unsigned char kLongSecret[400] = {'l', 'o', 'o', 'k', 'e', 'd', '-', 'u', 'p',
                                               '-', 's', 'e', 'c', 'r', 'e', 't', '-', '1'};

static multichap_status lookup(void* vctx, const char* chap_n, const char* initiator_name,
                               unsigned char* secret, size_t cap, size_t* len) {
  lookup_ctx* ctx = (lookup_ctx*)vctx;
  ++ctx->calls;
  if (strcmp(initiator_name, kInitiatorName) == 0) ctx->saw_initiator_name = 1;
  if (ctx->answer != MULTICHAP_OK) return ctx->answer;
  if (strcmp(chap_n, kChapN) != 0) return MULTICHAP_ERR_AUTHENTICATION;
  *len = ctx->secret_len;
  if (ctx->secret_len > cap) return MULTICHAP_ERR_BUFFER_TOO_SMALL;
  memcpy(secret, kLongSecret, ctx->secret_len);
  return MULTICHAP_OK;
}

/* Runs one login of an initiator whose secret is kLongSecret[0..secret_len) against a target
 * with no accounts and the callback; returns the target's status. */
static multichap_status lookup_login(const multichap_backend* b, lookup_ctx* ctx,
                                     size_t initiator_secret_len, char* error, size_t cap) {
  multichap_target_config* cfg = NULL;
  multichap_target_login* login;
  multichap_initiator* ini = NULL;
  outcome o;
  CHECK_STATUS(multichap_target_config_new(b, &cfg), MULTICHAP_OK);
  CHECK_STATUS(multichap_target_config_set_lookup(cfg, lookup, ctx), MULTICHAP_OK);
  CHECK_STATUS(multichap_target_config_set_credentials(cfg, kTargetChapN, kTargetSecret,
                                                       SECRET_LEN(kTargetSecret)),
               MULTICHAP_OK);
  login = new_login(cfg);
  multichap_initiator_new(b, &ini);
  if (multichap_initiator_set_credentials(ini, kChapN, kLongSecret, initiator_secret_len) !=
      MULTICHAP_OK) {
    /* A secret the initiator itself refuses (too short): use a valid one, the lookup decides. */
    multichap_initiator_set_credentials(ini, kChapN, kLongSecret, 18);
  }
  o = run_exchange(ini, login);
  snprintf(error, cap, "%s", multichap_target_login_error(login));
  if (o.target_status == MULTICHAP_OK) {
    CHECK(multichap_target_login_state(login) == MULTICHAP_SUCCEEDED);
    CHECK(strcmp(multichap_target_login_peer(login), kChapN) == 0);
  }
  multichap_target_login_free(login);
  multichap_initiator_free(ini);
  multichap_target_config_free(cfg);
  return o.target_status;
}

static void test_lookup(const multichap_backend* b) {
  lookup_ctx ctx;
  char error[512];
  memset(&ctx, 0, sizeof ctx);
  ctx.secret_len = 18;
  CHECK_STATUS(lookup_login(b, &ctx, 18, error, sizeof error), MULTICHAP_OK);
  CHECK(ctx.calls == 1 && ctx.saw_initiator_name);
  /* Longer than the library's first buffer: asked again with room for it. */
  memset(&ctx, 0, sizeof ctx);
  ctx.secret_len = 300;
  CHECK_STATUS(lookup_login(b, &ctx, 300, error, sizeof error), MULTICHAP_OK);
  CHECK(ctx.calls == 2);
  /* Unknown account. */
  memset(&ctx, 0, sizeof ctx);
  ctx.answer = MULTICHAP_ERR_AUTHENTICATION;
  CHECK_STATUS(lookup_login(b, &ctx, 18, error, sizeof error), MULTICHAP_ERR_AUTHENTICATION);
  CHECK(strstr(error, "unknown CHAP_N") != NULL);
  /* A failing store. */
  memset(&ctx, 0, sizeof ctx);
  ctx.answer = MULTICHAP_ERR_BACKEND;
  CHECK_STATUS(lookup_login(b, &ctx, 18, error, sizeof error), MULTICHAP_ERR_AUTHENTICATION);
  CHECK(strstr(error, "lookup") != NULL);
  /* A secret the RFC forbids (shorter than 12 bytes) is refused like a configured one. */
  memset(&ctx, 0, sizeof ctx);
  ctx.secret_len = 6;
  CHECK_STATUS(lookup_login(b, &ctx, 6, error, sizeof error), MULTICHAP_ERR_POLICY);
  /* A callback that keeps asking for more room. */
  memset(&ctx, 0, sizeof ctx);
  ctx.secret_len = 70000;
  CHECK_STATUS(lookup_login(b, &ctx, 18, error, sizeof error), MULTICHAP_ERR_AUTHENTICATION);
  CHECK(ctx.calls == 1);
}

/* ---- threads: many logins from one configuration at once ---------------------------------- */

typedef struct {
  const multichap_backend* backend;
  const multichap_target_config* cfg;
  int succeeded;
} thread_arg;

static void* login_thread(void* varg) {
  thread_arg* arg = (thread_arg*)varg;
  int i;
  for (i = 0; i < 50; ++i) {
    multichap_initiator* ini = NULL;
    multichap_target_login* login = NULL;
    outcome o;
    if (multichap_initiator_new(arg->backend, &ini) != MULTICHAP_OK) continue;
    multichap_initiator_set_credentials(ini, kChapN, kInitiatorSecret,
                                        SECRET_LEN(kInitiatorSecret));
    multichap_initiator_set_target_credentials(ini, kTargetChapN, kTargetSecret,
                                               SECRET_LEN(kTargetSecret));
    if (multichap_target_login_new(arg->cfg, kInitiatorName, &login) == MULTICHAP_OK) {
      o = run_exchange(ini, login);
      if (o.initiator_status == MULTICHAP_OK && o.target_status == MULTICHAP_OK &&
          multichap_initiator_mutual(ini))
        ++arg->succeeded;
    }
    multichap_target_login_free(login);
    multichap_initiator_free(ini);
  }
  return NULL;
}

/* ---- offer fallback and per-login lookup context ------------------------------------------ */

static size_t offer_of(const multichap_initiator* ini, int* out) {
  size_t n = multichap_initiator_offer(ini, out, 4);
  CHECK(n <= 4);
  return n;
}

/* Drives ini up to its CHAP_A request (AuthMethod=CHAP answered by hand); returns the CHAP_A
 * value it sent in chap_a_sent. */
static void offer_round(multichap_initiator* ini, char* chap_a_sent, size_t cap) {
  char out[kBuf];
  size_t n = 0;
  static const char kAuthChap[] = "AuthMethod=CHAP";
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 0, out, sizeof out, &n), MULTICHAP_OK);
  CHECK_STATUS(multichap_initiator_step(ini, kAuthChap, sizeof kAuthChap, out, sizeof out, &n),
               MULTICHAP_OK);
  CHECK(find_key(out, n, "CHAP_A", chap_a_sent, cap));
}

static void test_offer_fallback(const multichap_backend* b) {
  multichap_initiator* ini;
  char sent[64], out[kBuf];
  int offer[4];
  size_t n, i;
  int all = 1;
  for (i = 5; i <= 8; ++i) all = all && multichap_backend_supports(b, (int)i);
  if (!all) return; /* the plan below assumes the four algorithms */

  ini = new_initiator(b, 0, NULL, 0);
  n = offer_of(ini, offer);
  CHECK(n == 4 && offer[0] == 8 && offer[1] == 7 && offer[2] == 6 && offer[3] == 5);
  /* Not about the offer: nothing sent yet, a redirect, a closed connection before CHAP_A. */
  CHECK(multichap_initiator_login_failed(ini, 0x0201) == 0);
  offer_round(ini, sent, sizeof sent);
  CHECK(strcmp(sent, "8,7,6,5") == 0);
  CHECK(multichap_initiator_login_failed(ini, 0x0101) == 0); /* redirect */
  /* Old LIO fails a list right after it: one algorithm at a time, in preference order. */
  CHECK(multichap_initiator_login_failed(ini, 0x0201) == 1);
  CHECK(offer_of(ini, offer) == 1 && offer[0] == 8);
  offer_round(ini, sent, sizeof sent);
  CHECK(strcmp(sent, "8") == 0);
  CHECK(multichap_initiator_login_failed(ini, -1) == 1); /* closed after CHAP_A=8 */
  CHECK(offer_of(ini, offer) == 1 && offer[0] == 7);
  /* The narrowed offer stays across rewinds and new credentials. */
  multichap_initiator_rewind(ini);
  CHECK_STATUS(multichap_initiator_set_credentials(ini, kChapN, kInitiatorSecret,
                                                   SECRET_LEN(kInitiatorSecret)),
               MULTICHAP_OK);
  CHECK(offer_of(ini, offer) == 1 && offer[0] == 7);
  offer_round(ini, sent, sizeof sent);
  CHECK(strcmp(sent, "7") == 0);
  CHECK(multichap_initiator_login_failed(ini, 0x0200) == 1);
  offer_round(ini, sent, sizeof sent);
  CHECK(strcmp(sent, "6") == 0);
  CHECK(multichap_initiator_login_failed(ini, 0x0201) == 1);
  offer_round(ini, sent, sizeof sent);
  CHECK(strcmp(sent, "5") == 0);
  /* Every single value tried once: the plan ends. */
  CHECK(multichap_initiator_login_failed(ini, 0x0201) == 0);
  CHECK(strlen(multichap_initiator_error(ini)) > 0);
  /* set_algorithms starts again from the full allowed list. */
  CHECK_STATUS(multichap_initiator_set_algorithms(ini, kAllAlgorithms, 4), MULTICHAP_OK);
  CHECK(offer_of(ini, offer) == 4);
  multichap_initiator_free(ini);

  /* tgt numbers SHA-1 as 7: it takes our CHAP_A=7, gets a SHA-256 response and answers 0x0200.
   * SHA-256 is dropped from the list; a wrong secret (0x0201 after CHAP_R) is not an offer
   * problem. */
  {
    static const char kChallenge[] =
        "CHAP_A=7\0CHAP_I=3\0CHAP_C=0x00112233445566778899aabbccddeeff";
    char r[256];
    ini = new_initiator(b, 0, NULL, 0);
    offer_round(ini, sent, sizeof sent);
    CHECK_STATUS(multichap_initiator_step(ini, kChallenge, sizeof kChallenge, out, sizeof out, &n),
                 MULTICHAP_OK);
    CHECK(find_key(out, n, "CHAP_R", r, sizeof r) && strlen(r) == 2 + 64);
    CHECK(multichap_initiator_login_failed(ini, 0x0201) == 0); /* wrong secret: no fallback */
    CHECK(multichap_initiator_login_failed(ini, 0x0200) == 1);
    CHECK(offer_of(ini, offer) == 3 && offer[0] == 8 && offer[1] == 6 && offer[2] == 5);
    offer_round(ini, sent, sizeof sent);
    CHECK(strcmp(sent, "8,6,5") == 0);
    multichap_initiator_free(ini);
  }
  /* CHAP_A=Reject is a target that read our whole list: no narrower offer helps. */
  {
    static const char kReject[] = "CHAP_A=Reject";
    ini = new_initiator(b, 0, NULL, 0);
    offer_round(ini, sent, sizeof sent);
    CHECK(multichap_initiator_step(ini, kReject, sizeof kReject, out, sizeof out, &n) !=
          MULTICHAP_OK);
    CHECK(multichap_initiator_login_failed(ini, 0x0201) == 0);
    CHECK(offer_of(ini, offer) == 4);
    multichap_initiator_free(ini);
  }
  /* End to end against our target that only knows SHA-1, as a stand-in for one that fails lists:
   * a narrowed single-value offer settles on the allowed algorithm and the login succeeds. */
  {
    static const int kSha1 = 6;
    multichap_target_config* cfg = new_config(b, 0, &kSha1, 1);
    multichap_target_login* login;
    outcome o;
    ini = new_initiator(b, 0, NULL, 0);
    offer_round(ini, sent, sizeof sent);
    CHECK(multichap_initiator_login_failed(ini, 0x0201) == 1); /* -> 8 */
    offer_round(ini, sent, sizeof sent);
    CHECK(multichap_initiator_login_failed(ini, 0x0201) == 1); /* -> 7 */
    offer_round(ini, sent, sizeof sent);
    CHECK(multichap_initiator_login_failed(ini, 0x0201) == 1); /* -> 6 */
    multichap_initiator_rewind(ini);
    login = new_login(cfg);
    o = run_exchange(ini, login);
    CHECK_STATUS(o.initiator_status, MULTICHAP_OK);
    CHECK_STATUS(o.target_status, MULTICHAP_OK);
    CHECK(multichap_initiator_algorithm(ini) == 6);
    multichap_target_login_free(login);
    multichap_target_config_free(cfg);
    multichap_initiator_free(ini);
  }
  /* NULL and an initiator without credentials */
  CHECK(multichap_initiator_login_failed(NULL, 0x0201) == 0);
  CHECK(multichap_initiator_offer(NULL, offer, 4) == 0);
  CHECK_STATUS(multichap_initiator_new(b, &ini), MULTICHAP_OK);
  CHECK(multichap_initiator_offer(ini, offer, 4) == 0);
  CHECK(multichap_initiator_login_failed(ini, 0x0201) == 0);
  multichap_initiator_free(ini);
}

/* Per-login lookup context: one configuration, a callback that answers from the ctx it gets. */
typedef struct {
  const char* chap_n;
  const unsigned char* secret;
  size_t len;
  int calls;
} per_target_accounts;

static multichap_status lookup_from_ctx(void* ctx, const char* chap_n, const char* initiator_name,
                                        unsigned char* secret, size_t cap, size_t* len) {
  per_target_accounts* acc = (per_target_accounts*)ctx;
  (void)initiator_name;
  if (acc == NULL) return MULTICHAP_ERR_AUTHENTICATION;
  acc->calls++;
  if (strcmp(chap_n, acc->chap_n) != 0) return MULTICHAP_ERR_AUTHENTICATION;
  if (cap < acc->len) {
    *len = acc->len;
    return MULTICHAP_ERR_BUFFER_TOO_SMALL;
  }
  memcpy(secret, acc->secret, acc->len);
  *len = acc->len;
  return MULTICHAP_OK;
}

static void test_lookup_context(const multichap_backend* b) {
  static const unsigned char kOther[] = "another-secret-of-tgt-9";
  per_target_accounts knows = {kChapN, kInitiatorSecret, SECRET_LEN(kInitiatorSecret), 0};
  per_target_accounts other = {kChapN, kOther, SECRET_LEN(kOther), 0};
  per_target_accounts stranger = {"someone-else", kInitiatorSecret, SECRET_LEN(kInitiatorSecret),
                                  0};
  multichap_target_config* cfg = NULL;
  multichap_target_login* login;
  multichap_initiator* ini;
  outcome o;
  CHECK_STATUS(multichap_target_config_new(b, &cfg), MULTICHAP_OK);
  CHECK_STATUS(multichap_target_config_set_lookup(cfg, lookup_from_ctx, NULL), MULTICHAP_OK);

  /* The configuration's ctx (NULL): no account. */
  ini = new_initiator(b, 0, NULL, 0);
  login = new_login(cfg);
  o = run_exchange(ini, login);
  CHECK_STATUS(o.target_status, MULTICHAP_ERR_AUTHENTICATION);
  multichap_target_login_free(login);

  /* Each login's own ctx decides. */
  multichap_initiator_rewind(ini);
  login = new_login(cfg);
  CHECK_STATUS(multichap_target_login_set_lookup_context(login, &knows), MULTICHAP_OK);
  o = run_exchange(ini, login);
  CHECK_STATUS(o.target_status, MULTICHAP_OK);
  CHECK_STATUS(o.initiator_status, MULTICHAP_OK);
  CHECK(knows.calls >= 1);
  CHECK(strcmp(multichap_target_login_peer(login), kChapN) == 0);
  /* Too late once stepped. */
  CHECK_STATUS(multichap_target_login_set_lookup_context(login, &other), MULTICHAP_ERR_USAGE);
  multichap_target_login_free(login);

  multichap_initiator_rewind(ini);
  login = new_login(cfg);
  CHECK_STATUS(multichap_target_login_set_lookup_context(login, &other), MULTICHAP_OK);
  o = run_exchange(ini, login);
  CHECK_STATUS(o.target_status, MULTICHAP_ERR_AUTHENTICATION); /* other secret */
  CHECK(other.calls >= 1);
  multichap_target_login_free(login);

  multichap_initiator_rewind(ini);
  login = new_login(cfg);
  CHECK_STATUS(multichap_target_login_set_lookup_context(login, &stranger), MULTICHAP_OK);
  o = run_exchange(ini, login);
  CHECK_STATUS(o.target_status, MULTICHAP_ERR_AUTHENTICATION); /* no such account */
  multichap_target_login_free(login);
  CHECK_STATUS(multichap_target_login_set_lookup_context(NULL, &knows), MULTICHAP_ERR_USAGE);

  multichap_initiator_free(ini);
  multichap_target_config_free(cfg);
}

/* Lookups made elsewhere (an event loop with a remote store): the callback is never called. */
static int g_refusing_calls;
static multichap_status refusing_lookup(void* ctx, const char* chap_n, const char* initiator_name,
                                        unsigned char* secret, size_t cap, size_t* len) {
  (void)ctx, (void)chap_n, (void)initiator_name, (void)secret, (void)cap, (void)len;
  g_refusing_calls++;
  return MULTICHAP_ERR_INTERNAL;
}

/* One exchange where every lookup is answered through pending_lookup/supply_secret with secret
 * (NULL: no such account). Returns the target's last status. */
static multichap_status exchange_supplied(multichap_initiator* ini, multichap_target_login* login,
                                          const unsigned char* secret, size_t secret_len,
                                          int* lookups) {
  char to_target[kBuf], to_initiator[kBuf], name[256];
  size_t n_t = 0, n_i = 0, len = 0;
  int round;
  multichap_status s;
  CHECK_STATUS(multichap_initiator_step(ini, NULL, 0, to_target, kBuf, &n_t), MULTICHAP_OK);
  for (round = 0; round < 8; ++round) {
    CHECK_STATUS(
        multichap_target_login_pending_lookup(login, to_target, n_t, name, sizeof name, &len),
        MULTICHAP_OK);
    if (len > 0) {
      char small[2];
      size_t need = 0;
      ++*lookups;
      CHECK(strcmp(name, kChapN) == 0 && len == strlen(kChapN));
      CHECK_STATUS(
          multichap_target_login_pending_lookup(login, to_target, n_t, small, sizeof small, &need),
          MULTICHAP_ERR_BUFFER_TOO_SMALL);
      CHECK(need == strlen(kChapN) + 1);
      CHECK_STATUS(multichap_target_login_supply_secret(login, name, secret, secret_len),
                   MULTICHAP_OK);
    }
    s = multichap_target_login_step(login, to_target, n_t, to_initiator, kBuf, &n_i);
    if (s != MULTICHAP_OK) return s;
    if (multichap_target_login_state(login) == MULTICHAP_SUCCEEDED) return s;
    CHECK_STATUS(multichap_initiator_step(ini, to_initiator, n_i, to_target, kBuf, &n_t),
                 MULTICHAP_OK);
  }
  return MULTICHAP_ERR_INTERNAL;
}

static void test_supplied_lookup(const multichap_backend* b) {
  multichap_target_config* cfg = NULL;
  multichap_target_login* login;
  multichap_initiator* ini = new_initiator(b, 0, NULL, 0);
  static const unsigned char kWrong[] = "not-the-initiators-secret";
  int lookups = 0;
  size_t len = 99;
  CHECK_STATUS(multichap_target_config_new(b, &cfg), MULTICHAP_OK);
  CHECK_STATUS(multichap_target_config_set_lookup(cfg, refusing_lookup, NULL), MULTICHAP_OK);
  g_refusing_calls = 0;

  login = new_login(cfg);
  CHECK_STATUS(
      exchange_supplied(ini, login, kInitiatorSecret, SECRET_LEN(kInitiatorSecret), &lookups),
      MULTICHAP_OK);
  CHECK(lookups == 1);
  CHECK(strcmp(multichap_target_login_peer(login), kChapN) == 0);
  /* After success nothing is pending. */
  CHECK_STATUS(multichap_target_login_pending_lookup(login, NULL, 0, NULL, 0, &len), MULTICHAP_OK);
  CHECK(len == 0);
  multichap_target_login_free(login);

  multichap_initiator_rewind(ini);
  login = new_login(cfg);
  CHECK_STATUS(exchange_supplied(ini, login, NULL, 0, &lookups), MULTICHAP_ERR_AUTHENTICATION);
  CHECK(strstr(multichap_target_login_error(login), "unknown") != NULL);
  multichap_target_login_free(login);

  multichap_initiator_rewind(ini);
  login = new_login(cfg);
  CHECK_STATUS(exchange_supplied(ini, login, kWrong, SECRET_LEN(kWrong), &lookups),
               MULTICHAP_ERR_AUTHENTICATION);
  multichap_target_login_free(login);
  CHECK(lookups == 3);
  CHECK(g_refusing_calls == 0); /* the callback was never asked */

  /* Arguments */
  login = new_login(cfg);
  CHECK_STATUS(multichap_target_login_supply_secret(login, kChapN, NULL, 4), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_supply_secret(login, NULL, kWrong, 4), MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_pending_lookup(login, NULL, 0, NULL, 0, NULL),
               MULTICHAP_ERR_USAGE);
  CHECK_STATUS(multichap_target_login_supply_secret(NULL, kChapN, kWrong, 4), MULTICHAP_ERR_USAGE);
  multichap_target_login_free(login);
  multichap_target_config_free(cfg);
  multichap_initiator_free(ini);
}

static void test_threads(const multichap_backend* b) {
  multichap_target_config* cfg = new_config(b, 1, NULL, 0);
  pthread_t threads[4];
  thread_arg args[4];
  int i;
  for (i = 0; i < 4; ++i) {
    args[i].backend = b;
    args[i].cfg = cfg;
    args[i].succeeded = 0;
    CHECK(pthread_create(&threads[i], NULL, login_thread, &args[i]) == 0);
  }
  for (i = 0; i < 4; ++i) {
    pthread_join(threads[i], NULL);
    CHECK(args[i].succeeded == 50);
  }
  multichap_target_config_free(cfg);
}

/* Under OPENSSL_CONF=fips.cnf (default properties fips=yes, no FIPS provider): the openssl
 * backend answers at run time that it can compute nothing, and each call that needs a digest
 * refuses with a typed status instead of computing something wrong (as SCST's first SHA-256
 * release did with an absent kernel algorithm). */
static int run_fips_openssl(void) {
  const multichap_backend* b = NULL;
  multichap_initiator* ini = NULL;
  multichap_target_config* cfg = NULL;
  unsigned char out[32];
  size_t n = 0;
  int a;
  const int sha256 = 7;
  CHECK_STATUS(multichap_backend_open("openssl", &b), MULTICHAP_OK);
  for (a = 5; a <= 8; ++a) CHECK(multichap_backend_supports(b, a) == 0);
  CHECK_STATUS(multichap_response(b, 7, 1, kInitiatorSecret, 4, (const unsigned char*)"ab", 2, out,
                                  sizeof out, &n),
               MULTICHAP_ERR_BACKEND);
  CHECK(strstr(multichap_last_error(), "openssl") != NULL);
  CHECK_STATUS(multichap_initiator_new(b, &ini), MULTICHAP_OK);
  CHECK_STATUS(multichap_initiator_set_credentials(ini, kChapN, kInitiatorSecret,
                                                   SECRET_LEN(kInitiatorSecret)),
               MULTICHAP_ERR_POLICY); /* no usable algorithm */
  CHECK(strstr(multichap_initiator_error(ini), "available") != NULL);
  multichap_initiator_free(ini);
  CHECK_STATUS(multichap_target_config_new(b, &cfg), MULTICHAP_OK);
  CHECK_STATUS(multichap_target_config_set_algorithms(cfg, &sha256, 1), MULTICHAP_ERR_POLICY);
  multichap_target_config_free(cfg);
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  size_t i;
  if (argc == 2 && strcmp(argv[1], "--fips-openssl") == 0) return run_fips_openssl();
  if (argc != 4) {
    fprintf(stderr, "usage: %s CHAP_VECTOR_FILE EXPECTED_VERSION EXPECTED_BACKENDS\n", argv[0]);
    return 2;
  }
  test_library(argv[2]);
  test_backends(argv[3]);
  test_vectors(argv[1]);
  for (i = 0; i < multichap_backend_count(); ++i) {
    const multichap_backend* b = NULL;
    int chap_a, mutual;
    multichap_backend_open(multichap_backend_at(i), &b);
    printf("backend %s\n", multichap_backend_name(b));
    test_response_errors(b);
    test_initiator_api(b);
    test_target_api(b);
    for (chap_a = 5; chap_a <= 8; ++chap_a) {
      for (mutual = 0; mutual <= 1; ++mutual) test_exchange(b, chap_a, mutual);
    }
    test_negotiation_failures(b);
    test_allow_none(b);
    test_reflection(b);
    test_lookup(b);
    test_offer_fallback(b);
    test_lookup_context(b);
    test_supplied_lookup(b);
    test_threads(b);
  }
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
