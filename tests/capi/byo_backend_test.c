// SPDX-License-Identifier: BSD-2-Clause
/* Bring your own backend, from C99: a multichap_backend_v1 table defined here over libcrypto's
 * one-shot EVP_Q_digest and RAND_bytes (called directly, as a firmware would call its own hash
 * functions), registered with multichap_backend_register() and then used like any backend:
 *   - it is listed (multichap_backend_count/at), opened by name, its origin is "registered",
 *     its library version is the table's; its init and shutdown are never called;
 *   - every vector of tests/vectors/chap.txt through multichap_response() on it;
 *   - C initiator <-> C target, mutual CHAP, every algorithm, on it: the responses come from its
 *     compute (call counters) and every challenge sent is bytes its random produced;
 *   - a table with MULTICHAP_BACKEND_F_SERIAL is never entered by two threads at once;
 *   - refused with MULTICHAP_ERR_USAGE and a message: another ABI major, a table too short, a
 *     wrong digest of "abc", a wrong digest length, a name already taken (twice the same, and a
 *     built backend's), NULL; a refused table is not listed.
 *
 * usage: byo_backend_test CHAP_VECTOR_FILE
 * Prints one line per failed check and "N passed, M failed" at the end; exit 1 on any failure. */
#define _POSIX_C_SOURCE 200809L
#include <multichap/backend.h>
#include <multichap/multichap.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- the backend ------------------------------------------------------------------------- */

enum { kRecordCap = 65536 };

/* The ctx of the tables below: what the host called, and every random byte handed out. */
typedef struct {
  pthread_mutex_t stats; /* counters and record, for the threads of test_serial */
  long supports_calls;
  long compute_calls;
  long random_calls;
  unsigned char record[kRecordCap];
  size_t recorded;
  int flip_bit;           /* 1: every digest has a bit flipped (a wrong backend) */
  int short_len;          /* 1: *out_len is one less than the digest */
  int slow;               /* 1: compute and random sleep a little (widens any overlap) */
  pthread_mutex_t inside; /* held while compute or random runs */
  long overlaps;          /* calls that found another call inside */
} byo_ctx;

static long g_init_calls;
static long g_shutdown_calls;

static const char* digest_name(int chap_a) {
  switch (chap_a) {
    case 5:
      return "MD5";
    case 6:
      return "SHA1";
    case 7:
      return "SHA256";
    case 8:
      return "SHA3-256";
    default:
      return NULL;
  }
}

static int byo_init(const multichap_backend_host* host, void** ctx) {
  (void)host;
  (void)ctx;
  ++g_init_calls;
  return MULTICHAP_BACKEND_OK;
}

static void byo_shutdown(void* ctx) {
  (void)ctx;
  ++g_shutdown_calls;
}

static int byo_supports(void* vctx, int chap_a) {
  byo_ctx* ctx = (byo_ctx*)vctx;
  pthread_mutex_lock(&ctx->stats);
  ++ctx->supports_calls;
  pthread_mutex_unlock(&ctx->stats);
  return digest_name(chap_a) != NULL;
}

static void enter(byo_ctx* ctx) {
  if (pthread_mutex_trylock(&ctx->inside) != 0) {
    pthread_mutex_lock(&ctx->stats);
    ++ctx->overlaps;
    pthread_mutex_unlock(&ctx->stats);
    pthread_mutex_lock(&ctx->inside);
  }
  if (ctx->slow) {
    struct timespec pause = {0, 20000};
    nanosleep(&pause, NULL);
  }
}

/* One-shot over the parts gathered in one buffer (EVP_Q_digest takes one), wiped after. */
static int byo_compute(void* vctx, int chap_a, const multichap_backend_part* parts, size_t nparts,
                       uint8_t* out, size_t out_cap, size_t* out_len) {
  byo_ctx* ctx = (byo_ctx*)vctx;
  const char* name = digest_name(chap_a);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned char* joined;
  size_t total = 0, at = 0, i, n = 0;
  int rc = MULTICHAP_BACKEND_OK;
  enter(ctx);
  pthread_mutex_lock(&ctx->stats);
  ++ctx->compute_calls;
  pthread_mutex_unlock(&ctx->stats);
  for (i = 0; i < nparts; ++i) total += parts[i].len;
  joined = (unsigned char*)malloc(total > 0 ? total : 1);
  if (name == NULL) {
    rc = MULTICHAP_BACKEND_ERR_UNSUPPORTED;
  } else if (joined == NULL) {
    rc = MULTICHAP_BACKEND_ERR_FAILED;
  } else {
    for (i = 0; i < nparts; ++i) {
      if (parts[i].len > 0) memcpy(joined + at, parts[i].data, parts[i].len);
      at += parts[i].len;
    }
    if (EVP_Q_digest(NULL, name, NULL, joined, total, digest, &n) != 1) {
      rc = MULTICHAP_BACKEND_ERR_FAILED;
    } else if (out_cap < n) {
      rc = MULTICHAP_BACKEND_ERR_BUFFER;
    } else {
      if (ctx->flip_bit) digest[0] ^= 0x80;
      memcpy(out, digest, n);
      *out_len = ctx->short_len ? n - 1 : n;
    }
    OPENSSL_cleanse(joined, total);
  }
  free(joined);
  OPENSSL_cleanse(digest, sizeof digest);
  pthread_mutex_unlock(&ctx->inside);
  return rc;
}

static int byo_random(void* vctx, uint8_t* out, size_t len) {
  byo_ctx* ctx = (byo_ctx*)vctx;
  int ok;
  enter(ctx);
  ok = len <= 0x7fffffff && RAND_bytes(out, (int)len) == 1;
  pthread_mutex_lock(&ctx->stats);
  ++ctx->random_calls;
  if (ok && len <= kRecordCap - ctx->recorded) {
    memcpy(ctx->record + ctx->recorded, out, len);
    ctx->recorded += len;
  }
  pthread_mutex_unlock(&ctx->stats);
  pthread_mutex_unlock(&ctx->inside);
  return ok ? MULTICHAP_BACKEND_OK : MULTICHAP_BACKEND_ERR_FAILED;
}

#define BYO_TABLE(abi_major, size, name, flags)                                                   \
  {                                                                                               \
    (abi_major), MULTICHAP_BACKEND_ABI_MINOR, (size), (name), "1.0", "libcrypto one-shot (byo)",  \
        (flags), byo_init, byo_shutdown, byo_supports, byo_compute, byo_random, NULL, NULL, NULL, \
        NULL, NULL, NULL, NULL, NULL, NULL                                                        \
  }

static const multichap_backend_v1 kByo =
    BYO_TABLE(MULTICHAP_BACKEND_ABI_MAJOR, sizeof(multichap_backend_v1), "byo", 0);
static const multichap_backend_v1 kByoSerial =
    BYO_TABLE(MULTICHAP_BACKEND_ABI_MAJOR, sizeof(multichap_backend_v1), "byo-serial",
              MULTICHAP_BACKEND_F_SERIAL);
static const multichap_backend_v1 kNextMajor =
    BYO_TABLE(MULTICHAP_BACKEND_ABI_MAJOR + 1, sizeof(multichap_backend_v1), "byo-next", 0);
static const multichap_backend_v1 kShort =
    BYO_TABLE(MULTICHAP_BACKEND_ABI_MAJOR, offsetof(multichap_backend_v1, random), "byo-short", 0);
static const multichap_backend_v1 kWrongAbc =
    BYO_TABLE(MULTICHAP_BACKEND_ABI_MAJOR, sizeof(multichap_backend_v1), "byo-wrong", 0);
static const multichap_backend_v1 kOpenssl =
    BYO_TABLE(MULTICHAP_BACKEND_ABI_MAJOR, sizeof(multichap_backend_v1), "openssl", 0);

static byo_ctx g_byo, g_serial, g_wrong, g_short_len;

static void ctx_init(byo_ctx* ctx) {
  memset(ctx, 0, sizeof *ctx);
  pthread_mutex_init(&ctx->stats, NULL);
  pthread_mutex_init(&ctx->inside, NULL);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes bare hex into out; returns the byte count or -1. */
static long unhex(const char* hex, unsigned char* out, size_t cap) {
  size_t n = strlen(hex), i;
  if (n % 2 != 0 || n / 2 > cap) return -1;
  for (i = 0; i < n / 2; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (unsigned char)(hi * 16 + lo);
  }
  return (long)(n / 2);
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

static int contains(const unsigned char* hay, size_t hay_len, const unsigned char* needle,
                    size_t len) {
  size_t i;
  if (len == 0 || len > hay_len) return 0;
  for (i = 0; i + len <= hay_len; ++i) {
    if (memcmp(hay + i, needle, len) == 0) return 1;
  }
  return 0;
}

/* A CHAP_C in seg (if any) must be bytes the backend's random produced: returns 1 when there
 * is one and it is, 0 when there is none, -1 when it is not. */
static int challenge_from(byo_ctx* ctx, const char* seg, size_t len) {
  char value[2100];
  unsigned char challenge[1024];
  long n;
  if (!find_key(seg, len, "CHAP_C", value, sizeof value)) return 0;
  if (strncmp(value, "0x", 2) != 0) return -1;
  n = unhex(value + 2, challenge, sizeof challenge);
  if (n <= 0) return -1;
  return contains(ctx->record, ctx->recorded, challenge, (size_t)n) ? 1 : -1;
}

static int is_listed(const char* name) {
  size_t i;
  for (i = 0; i < multichap_backend_count(); ++i) {
    if (strcmp(multichap_backend_at(i), name) == 0) return 1;
  }
  return 0;
}

/* ---- registration ------------------------------------------------------------------------ */

static const multichap_backend* test_register(void) {
  const multichap_backend *b = NULL, *opened = NULL;
  size_t before = multichap_backend_count();
  int a;
  CHECK(before >= 1); /* the built backends are there before */
  CHECK(!is_listed("byo"));
  CHECK_STATUS(multichap_backend_register(&kByo, &g_byo, &b), MULTICHAP_OK);
  CHECK(b != NULL);
  if (b == NULL) return NULL;
  CHECK(multichap_backend_count() == before + 1);
  CHECK(strcmp(multichap_backend_at(before), "byo") == 0); /* after the built ones */
  CHECK(strcmp(multichap_backend_name(b), "byo") == 0);
  CHECK(strcmp(multichap_backend_origin(b), "registered") == 0);
  CHECK(strcmp(multichap_backend_library_version(b), "libcrypto one-shot (byo)") == 0);
  CHECK_STATUS(multichap_backend_open("byo", &opened), MULTICHAP_OK);
  CHECK(opened == b);
  /* The known answers of "abc" went through its compute, once per algorithm at least. */
  CHECK(g_byo.compute_calls >= 4);
  for (a = 5; a <= 8; ++a) CHECK(multichap_backend_supports(b, a) == 1);
  CHECK(multichap_backend_supports(b, 9) == 0);
  CHECK(g_byo.supports_calls >= 4);
  CHECK(g_init_calls == 0 && g_shutdown_calls == 0); /* ctx is ready: no init, no shutdown */
  /* Registering without asking for the handle. */
  CHECK_STATUS(multichap_backend_register(&kByoSerial, &g_serial, NULL), MULTICHAP_OK);
  CHECK(is_listed("byo-serial"));
  return b;
}

static void expect_refused(const multichap_backend_v1* table, void* ctx, const char* reason) {
  const multichap_backend* b = (const multichap_backend*)&b; /* must be reset to NULL */
  size_t before = multichap_backend_count();
  CHECK_STATUS(multichap_backend_register(table, ctx, &b), MULTICHAP_ERR_USAGE);
  CHECK(b == NULL);
  if (strstr(multichap_last_error(), reason) == NULL) {
    ++g_failed;
    fprintf(stderr, "registering %s: message '%s' lacks '%s'\n",
            table != NULL ? table->name : "NULL", multichap_last_error(), reason);
  } else {
    ++g_passed;
  }
  CHECK(multichap_backend_count() == before);
}

static void test_refusals(void) {
  const multichap_backend* b = NULL;
  expect_refused(&kNextMajor, &g_wrong, "ABI major version 2");
  CHECK(!is_listed("byo-next"));
  expect_refused(&kShort, &g_wrong, "needs at least");
  CHECK(!is_listed("byo-short"));
  g_wrong.flip_bit = 1;
  expect_refused(&kWrongAbc, &g_wrong, "MD5 of \"abc\" is wrong");
  CHECK(g_wrong.compute_calls >= 1); /* refused on its answer, not before computing */
  g_short_len.short_len = 1;
  expect_refused(&kWrongAbc, &g_short_len, "is 15 bytes, not 16");
  CHECK(!is_listed("byo-wrong"));
  CHECK_STATUS(multichap_backend_open("byo-wrong", &b), MULTICHAP_ERR_USAGE);
  /* A name taken: the same table again, and the name of a built backend. */
  expect_refused(&kByo, &g_byo, "a backend named 'byo' is already loaded (registered)");
  if (is_listed("openssl")) expect_refused(&kOpenssl, &g_byo, "'openssl' is already loaded");
  expect_refused(NULL, &g_byo, "NULL");
  CHECK(g_init_calls == 0 && g_shutdown_calls == 0);
}

/* ---- responses ---------------------------------------------------------------------------- */

/* Every CHAP vector of tests/vectors/chap.txt (coreutils / rhash) through the backend. */
static void test_vectors(const multichap_backend* b, const char* path) {
  FILE* f = fopen(path, "r");
  char line[4096], section[32] = "";
  unsigned char secret[1100], challenge[1100], expected[64], out[64];
  long secret_len = -1, challenge_len = -1, expected_len;
  unsigned id = 0;
  int vectors = 0;
  long calls = g_byo.compute_calls;
  CHECK(f != NULL);
  if (f == NULL) return;
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '[') {
      snprintf(section, sizeof section, "%.31s", line);
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
      size_t n = 0;
      expected_len = unhex(line + 11, expected, sizeof expected);
      CHECK(chap_a != 0 && secret_len >= 0 && challenge_len >= 0 && expected_len > 0);
      CHECK_STATUS(multichap_response(b, chap_a, id, secret, (size_t)secret_len, challenge,
                                      (size_t)challenge_len, out, sizeof out, &n),
                   MULTICHAP_OK);
      CHECK(n == (size_t)expected_len && memcmp(out, expected, n) == 0);
      ++vectors;
      secret_len = challenge_len = -1;
    }
  }
  fclose(f);
  CHECK(vectors >= 32);
  CHECK(g_byo.compute_calls - calls == vectors); /* one compute per response, none cached */
}

/* A digest the backend gets wrong is what multichap_response returns: nothing else computes. */
static void test_response_is_its_compute(const multichap_backend* b) {
  static const unsigned char kSecret[] = "byo-secret-0123";
  unsigned char right[32], wrong[32];
  size_t n = 0, m = 0;
  CHECK_STATUS(multichap_response(b, 7, 9, kSecret, 15, kSecret, 15, right, 32, &n), MULTICHAP_OK);
  g_byo.flip_bit = 1;
  CHECK_STATUS(multichap_response(b, 7, 9, kSecret, 15, kSecret, 15, wrong, 32, &m), MULTICHAP_OK);
  g_byo.flip_bit = 0;
  CHECK(n == 32 && m == 32 && wrong[0] == (right[0] ^ 0x80) &&
        memcmp(wrong + 1, right + 1, 31) == 0);
  /* A digest of the wrong length is a backend error, not a short response. */
  g_byo.short_len = 1;
  CHECK_STATUS(multichap_response(b, 7, 9, kSecret, 15, kSecret, 15, wrong, 32, &m),
               MULTICHAP_ERR_BACKEND);
  g_byo.short_len = 0;
}

/* ---- exchanges ---------------------------------------------------------------------------- */

static const unsigned char kInitiatorSecret[] = "initiator-secret-0123";
static const unsigned char kTargetSecret[] = "target-secret-4567";
#define SECRET_LEN(s) (sizeof(s) - 1)
static const char kInitiatorName[] = "iqn.2024-01.org.example:host1";
static const char kChapN[] = "host1";
static const char kTargetChapN[] = "iqn.2024-01.org.example:target";

enum { kBuf = 4096 };

/* One mutual exchange on b for chap_a, in memory. Counts in *challenges the CHAP_C values sent
 * (target's and initiator's) that are bytes of ctx's random; returns 1 when both sides
 * succeeded with chap_a and mutual authentication. */
static int exchange(const multichap_backend* b, byo_ctx* ctx, int chap_a, int* challenges) {
  multichap_initiator* ini = NULL;
  multichap_target_config* cfg = NULL;
  multichap_target_login* login = NULL;
  char to_target[kBuf], to_initiator[kBuf];
  size_t n_t = 0, n_i = 0;
  int round, ok = 0, from;
  if (multichap_initiator_new(b, &ini) != MULTICHAP_OK ||
      multichap_initiator_set_credentials(ini, kChapN, kInitiatorSecret,
                                          SECRET_LEN(kInitiatorSecret)) != MULTICHAP_OK ||
      multichap_initiator_set_target_credentials(ini, kTargetChapN, kTargetSecret,
                                                 SECRET_LEN(kTargetSecret)) != MULTICHAP_OK ||
      multichap_initiator_set_algorithms(ini, &chap_a, 1) != MULTICHAP_OK ||
      multichap_target_config_new(b, &cfg) != MULTICHAP_OK ||
      multichap_target_config_add_account(cfg, kChapN, kInitiatorSecret,
                                          SECRET_LEN(kInitiatorSecret)) != MULTICHAP_OK ||
      multichap_target_config_set_credentials(cfg, kTargetChapN, kTargetSecret,
                                              SECRET_LEN(kTargetSecret)) != MULTICHAP_OK ||
      multichap_target_config_set_algorithms(cfg, &chap_a, 1) != MULTICHAP_OK ||
      multichap_target_config_require_mutual(cfg, 1) != MULTICHAP_OK ||
      multichap_target_login_new(cfg, kInitiatorName, &login) != MULTICHAP_OK) {
    fprintf(stderr, "exchange setup on %s failed: %s\n", multichap_backend_name(b),
            multichap_last_error());
    goto done;
  }
  if (multichap_initiator_step(ini, NULL, 0, to_target, kBuf, &n_t) != MULTICHAP_OK) goto done;
  for (round = 0; round < 8; ++round) {
    if (multichap_target_login_step(login, to_target, n_t, to_initiator, kBuf, &n_i) !=
        MULTICHAP_OK) {
      fprintf(stderr, "target: %s\n", multichap_target_login_error(login));
      goto done;
    }
    pthread_mutex_lock(&ctx->stats);
    from = challenge_from(ctx, to_initiator, n_i);
    pthread_mutex_unlock(&ctx->stats);
    if (from < 0) goto done;
    *challenges += from;
    if (multichap_initiator_step(ini, to_initiator, n_i, to_target, kBuf, &n_t) != MULTICHAP_OK) {
      fprintf(stderr, "initiator: %s\n", multichap_initiator_error(ini));
      goto done;
    }
    pthread_mutex_lock(&ctx->stats);
    from = challenge_from(ctx, to_target, n_t);
    pthread_mutex_unlock(&ctx->stats);
    if (from < 0) goto done;
    *challenges += from;
    if (multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED &&
        multichap_target_login_state(login) == MULTICHAP_SUCCEEDED && n_t == 0) {
      ok = multichap_initiator_algorithm(ini) == chap_a &&
           multichap_target_login_algorithm(login) == chap_a &&
           multichap_initiator_mutual(ini) == 1 && multichap_target_login_mutual(login) == 1 &&
           strcmp(multichap_target_login_peer(login), kChapN) == 0;
      break;
    }
  }
done:
  multichap_target_login_free(login);
  multichap_target_config_free(cfg);
  multichap_initiator_free(ini);
  return ok;
}

static void test_exchanges(const multichap_backend* b) {
  int chap_a;
  for (chap_a = 5; chap_a <= 8; ++chap_a) {
    long computes = g_byo.compute_calls;
    int challenges = 0;
    CHECK(exchange(b, &g_byo, chap_a, &challenges));
    /* The initiator's response and its check by the target, the target's and its check. */
    CHECK(g_byo.compute_calls - computes >= 4);
    CHECK(challenges == 2); /* the target's CHAP_C and the initiator's: both our bytes */
  }
  CHECK(g_byo.random_calls >= 1);
  CHECK(g_byo.recorded > 0);
}

/* ---- MULTICHAP_BACKEND_F_SERIAL ------------------------------------------------------------ */

typedef struct {
  const multichap_backend* b;
  int succeeded;
} thread_arg;

static void* serial_thread(void* varg) {
  thread_arg* arg = (thread_arg*)varg;
  int i, challenges = 0;
  for (i = 0; i < 12; ++i) arg->succeeded += exchange(arg->b, &g_serial, 5 + i % 4, &challenges);
  return NULL;
}

static void test_serial(void) {
  const multichap_backend* b = NULL;
  pthread_t threads[4];
  thread_arg args[4];
  int i;
  CHECK_STATUS(multichap_backend_open("byo-serial", &b), MULTICHAP_OK);
  if (b == NULL) return;
  g_serial.slow = 1;
  for (i = 0; i < 4; ++i) {
    args[i].b = b;
    args[i].succeeded = 0;
    CHECK(pthread_create(&threads[i], NULL, serial_thread, &args[i]) == 0);
  }
  for (i = 0; i < 4; ++i) {
    pthread_join(threads[i], NULL);
    CHECK(args[i].succeeded == 12);
  }
  CHECK(g_serial.compute_calls >= 4 * 12 * 4);
  if (g_serial.overlaps != 0) {
    ++g_failed;
    fprintf(stderr, "F_SERIAL: the backend was entered by two threads at once %ld times\n",
            g_serial.overlaps);
  } else {
    ++g_passed;
  }
}

int main(int argc, char** argv) {
  const multichap_backend* b;
  if (argc != 2) {
    fprintf(stderr, "usage: %s CHAP_VECTOR_FILE\n", argv[0]);
    return 2;
  }
  ctx_init(&g_byo);
  ctx_init(&g_serial);
  ctx_init(&g_wrong);
  ctx_init(&g_short_len);
  b = test_register();
  test_refusals();
  if (b != NULL) {
    test_vectors(b, argv[1]);
    test_response_is_its_compute(b);
    test_exchanges(b);
  }
  test_serial();
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
