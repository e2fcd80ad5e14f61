// SPDX-License-Identifier: BSD-2-Clause
/* c_initiator: a small iSCSI initiator in C99 that does its own sockets and PDUs, the way
 * open-iscsi and libiscsi do, and takes only CHAP from <multichap/multichap.h>.
 *
 *   c_initiator [-i INITIATOR_IQN] [-u USER] [-a ALGS] [-U TARGET_USER] [-b BACKEND]
 *               HOST:PORT TARGET_IQN
 *
 * Secrets come only from MULTICHAP_SECRET (ours) and MULTICHAP_TARGET_SECRET (the target's, for
 * mutual CHAP with -U). ALGS is the CHAP_A offer in preference order: 8,7,6,5 or names.
 * Exit: 0 success, 1 authentication failed, 2 usage, 3 any other failure.
 * Build: cc -std=c99 c_initiator.c $(pkg-config --cflags --libs multichap)
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <multichap/multichap.h>

enum { EX_AUTH = 1, EX_USAGE = 2, EX_OTHER = 3 }; /* and 0: success */
#define TIMEOUT_MS 10000 /* every connect, PDU read and PDU write has this deadline */
#define MAX_DSL 65536u   /* largest data segment we accept in one PDU */
#define MAX_TEXT 65536u  /* largest login text we reassemble from C=1 continuations */
#define MAX_REQ 8192u    /* our login requests stay within the default MaxRecvDataSegmentLength */
#define MAX_ROUNDS 16    /* login requests per stage before we give up on a chatty target */
#define F_T 0x80
#define F_C 0x40

struct conn {
  int fd;
  unsigned char isid[6], last_flags, bhs[48];
  unsigned itt, cmdsn, exp_statsn;
  char* text; /* last login response text, reassembled, NUL-terminated (text_len excludes it) */
  size_t text_len;
};

static int fail(int code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("c_initiator: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put32(unsigned char* p, unsigned v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}
static unsigned get32(const unsigned char* p) {
  return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

/* Reads or writes exactly n bytes within TIMEOUT_MS. 0, or -1 with a message printed. */
static int io_full(int fd, void* buf, size_t n, int writing) {
  unsigned char* p = buf;
  const long long deadline = now_ms() + TIMEOUT_MS;
  while (n > 0) {
    struct pollfd pfd;
    long long left = deadline - now_ms();
    ssize_t r;
    pfd.fd = fd;
    pfd.events = writing ? POLLOUT : POLLIN;
    pfd.revents = 0;
    if (left <= 0)
      return fail(-1, "timed out after %d ms %s", TIMEOUT_MS,
                  writing ? "sending" : "waiting for the target");
    if (poll(&pfd, 1, (int)left) < 0) {
      if (errno == EINTR) continue;
      return fail(-1, "poll: %s", strerror(errno));
    }
    if (pfd.revents == 0) continue;
    r = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (r < 0) return fail(-1, "%s: %s", writing ? "send" : "recv", strerror(errno));
    if (r == 0) return fail(-1, "connection closed by the target");
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int send_pdu(struct conn* c, const unsigned char bhs[48], const char* data, size_t len) {
  static const unsigned char zeros[3] = {0, 0, 0};
  if (io_full(c->fd, (void*)bhs, 48, 1) != 0 ||
      (len > 0 && io_full(c->fd, (void*)data, len, 1) != 0))
    return -1;
  return len % 4 != 0 ? io_full(c->fd, (void*)zeros, 4 - len % 4, 1) : 0;
}

/* One PDU into c->bhs; its data segment (bounded, padding dropped) into *data, *len. */
static int recv_pdu(struct conn* c, char** data, size_t* len) {
  unsigned char ahs[255 * 4], pad[4];
  size_t dsl, ahs_len;
  *data = NULL;
  *len = 0;
  if (io_full(c->fd, c->bhs, 48, 0) != 0) return -1;
  ahs_len = (size_t)c->bhs[4] * 4; /* TotalAHSLength: unused here, read and skipped */
  dsl = (size_t)c->bhs[5] << 16 | (size_t)c->bhs[6] << 8 | c->bhs[7];
  if (dsl > MAX_DSL)
    return fail(-1, "target sent a %zu-byte data segment (limit %u)", dsl, MAX_DSL);
  if (ahs_len > 0 && io_full(c->fd, ahs, ahs_len, 0) != 0) return -1;
  if ((*data = malloc(dsl + 1)) == NULL) return fail(-1, "out of memory");
  if ((dsl > 0 && io_full(c->fd, *data, dsl, 0) != 0) ||
      (dsl % 4 != 0 && io_full(c->fd, pad, 4 - dsl % 4, 0) != 0)) {
    free(*data);
    *data = NULL;
    return -1;
  }
  (*data)[dsl] = '\0';
  *len = dsl;
  return 0;
}

static int send_login(struct conn* c, unsigned char flags, const char* text, size_t len) {
  unsigned char bhs[48];
  memset(bhs, 0, sizeof bhs);
  bhs[0] = 0x43; /* immediate + Login Request; version max/min 0 */
  bhs[1] = flags;
  bhs[5] = (unsigned char)(len >> 16);
  bhs[6] = (unsigned char)(len >> 8);
  bhs[7] = (unsigned char)len;
  memcpy(bhs + 8, c->isid, 6); /* TSIH 0: leading login; CID 0 */
  put32(bhs + 16, c->itt);
  put32(bhs + 24, c->cmdsn);
  put32(bhs + 28, c->exp_statsn);
  c->last_flags = flags;
  return send_pdu(c, bhs, text, len) == 0 ? 0 : EX_OTHER;
}

/* The next login response, C=1 continuations reassembled into c->text. 0 or an exit code. */
static int recv_login(struct conn* c, int csg, unsigned char* flags) {
  free(c->text);
  c->text = NULL;
  c->text_len = 0;
  for (;;) {
    char *data, *grown = NULL;
    const char* bad = NULL;
    size_t len;
    unsigned status, f;
    if (recv_pdu(c, &data, &len) != 0) return EX_OTHER;
    status = (unsigned)c->bhs[36] << 8 | c->bhs[37];
    f = *flags = c->bhs[1];
    if ((c->bhs[0] & 0x3f) != 0x23)
      bad = "expected a Login Response";
    else if (get32(c->bhs + 16) != c->itt)
      bad = "Login Response for another task";
    else if (status != 0) { /* any non-zero class ends the login (RFC 7143 §11.13.5) */
      free(data);
      if (status == 0x0201) return fail(EX_AUTH, "authentication failed (status 0x0201)");
      return fail(EX_OTHER, "login refused with status 0x%04x (%s)", status,
                  c->bhs[36] == 1   ? "redirect"
                  : c->bhs[36] == 2 ? "initiator error"
                                    : "target error");
    }
    /* Checked after the status: tgt zeroes the ISID (and StatSN) of its failure responses. */
    else if (memcmp(c->bhs + 8, c->isid, 6) != 0)
      bad = "Login Response for another session";
    else if (c->bhs[3] != 0 || (f & 0x30) || ((f >> 2) & 3) != (unsigned)csg ||
             ((f & F_T) &&
              ((f & F_C) || !(c->last_flags & F_T) || (f & 3) <= (unsigned)csg || (f & 3) == 2)))
      bad = "Login Response with an invalid version, stage or T/C bits";
    else if (c->text_len + len > MAX_TEXT || !(grown = realloc(c->text, c->text_len + len + 1)))
      bad = "login text over 64 KiB";
    if (bad != NULL) {
      free(data);
      return fail(EX_OTHER, "%s (opcode 0x%02x, flags 0x%02x)", bad, c->bhs[0] & 0x3f, f);
    }
    memcpy(grown + c->text_len, data, len + 1);
    free(data);
    c->text = grown;
    c->text_len += len;
    c->exp_statsn = get32(c->bhs + 24) + 1;
    if (!(f & F_C)) break;
    /* C=1: the target's text goes on. Acknowledge with an empty request that keeps our T/NSG,
     * since we still want to switch stage (RFC 7143 §6.3): the last piece may then transit. */
    if (send_login(c, c->last_flags, NULL, 0) != 0) return EX_OTHER;
  }
  if (c->text_len > 0 && c->text[c->text_len - 1] != '\0')
    return fail(EX_OTHER, "login text not NUL-terminated");
  return 0;
}

/* The value of key in a key=value\0 text, or NULL. */
static const char* find_key(const char* text, size_t len, const char* key) {
  size_t k = strlen(key), at = 0;
  while (at < len) {
    const char* pair = text + at;
    if (strncmp(pair, key, k) == 0 && pair[k] == '=') return pair + k + 1;
    at += strlen(pair) + 1;
  }
  return NULL;
}

static int add_key(char* buf, size_t* len, const char* key, const char* value) {
  int n = snprintf(buf + *len, MAX_REQ - *len, "%s=%s", key, value);
  if (n < 0 || (size_t)n + 1 > MAX_REQ - *len) return -1;
  *len += (size_t)n + 1; /* keep the NUL that ends the pair */
  return 0;
}

/* multichap_initiator_step with a buffer that grows when the library asks for more. */
static int chap_step(multichap_initiator* ini, const char* in, size_t in_len, char** out,
                     size_t* cap, size_t* out_len) {
  multichap_status st = multichap_initiator_step(ini, in, in_len, *out, *cap, out_len);
  if (st == MULTICHAP_ERR_BUFFER_TOO_SMALL) { /* nothing changed: call again, larger */
    char* bigger = realloc(*out, *out_len);
    if (bigger == NULL) return fail(EX_OTHER, "out of memory");
    *out = bigger;
    *cap = *out_len;
    st = multichap_initiator_step(ini, in, in_len, *out, *cap, out_len);
  }
  if (st == MULTICHAP_OK) return 0;
  fail(0, "CHAP failed (%s): %s", multichap_status_name(st), multichap_initiator_error(ini));
  return st == MULTICHAP_ERR_BACKEND || st == MULTICHAP_ERR_INTERNAL || st == MULTICHAP_ERR_USAGE
             ? EX_OTHER
             : EX_AUTH;
}

/* The whole login phase: security (CHAP), operational, then full feature phase. */
static int login(struct conn* c, multichap_initiator* ini, const char* iname, const char* tname) {
  char req[MAX_REQ], *out = NULL;
  size_t n = 0, cap = 128, out_len = 0;
  int csg = 0, rounds = 0, rc = EX_OTHER;
  unsigned char flags = 0;
  if ((out = malloc(cap)) == NULL) return fail(EX_OTHER, "out of memory");
  /* Every leading login starts from a rewound exchange (open-iscsi: acl_init() per login in
   * check_for_authentication(); EDK2 IScsiDxe does the same). */
  multichap_initiator_rewind(ini);
  /* First request: declarations + "AuthMethod=CHAP" from the library. libiscsi builds this in
   * lib/login.c (iscsi_login_add_initiatorname/_targetname/_sessiontype/_authmethod); open-iscsi
   * in usr/login.c fill_security_params_text(), which asks acl_send_key_val() for the keys. */
  if (add_key(req, &n, "InitiatorName", iname) || add_key(req, &n, "SessionType", "Normal") ||
      add_key(req, &n, "TargetName", tname)) {
    rc = fail(EX_USAGE, "names too long");
    goto out;
  }
  if ((rc = chap_step(ini, NULL, 0, &out, &cap, &out_len)) != 0) goto out;
  if (out_len > MAX_REQ - n) {
    rc = fail(EX_OTHER, "login text too long");
    goto out;
  }
  memcpy(req + n, out, out_len);
  if ((rc = send_login(c, 0 << 2 | 1, req, n + out_len)) != 0) goto out;
  for (;;) {
    if (++rounds > MAX_ROUNDS) {
      rc = fail(EX_OTHER, "login does not converge");
      goto out;
    }
    if ((rc = recv_login(c, csg, &flags)) != 0) goto out;
    if (csg == 0) {
      /* Each security-stage response goes to the library whole (it ignores non-CHAP keys).
       * open-iscsi: iscsi_process_login_response() -> acl_recv_begin(), get_security_text_keys()
       * (acl_recv_key_value), check_security_stage_status() (acl_recv_end). libiscsi:
       * iscsi_process_login_reply() reading CHAP_A/CHAP_I/CHAP_C, then
       * iscsi_login_add_chap_username()/_chap_response() for the next request. */
      if ((rc = chap_step(ini, c->text, c->text_len, &out, &cap, &out_len)) != 0) goto out;
      if (flags & F_T) {
        /* The target leaves the security stage: only after CHAP, including its own proof when we
         * asked for mutual CHAP (open-iscsi: acl_recv_transit_bit(), AUTH_STATUS_PASS). */
        if (multichap_initiator_state(ini) != MULTICHAP_SUCCEEDED || out_len != 0) {
          rc = fail(EX_AUTH, "target left the security stage before CHAP completed");
          goto out;
        }
        csg = flags & 3;
        if (csg == 3) break; /* straight to full feature phase: nothing to negotiate */
        n = 0;               /* Operational stage: no digests (our PDU code has no CRC32C) */
        add_key(req, &n, "HeaderDigest", "None");
        add_key(req, &n, "DataDigest", "None");
        add_key(req, &n, "MaxRecvDataSegmentLength", "8192");
        if ((rc = send_login(c, F_T | 1 << 2 | 3, req, n)) != 0) goto out;
        rounds = 0;
        continue;
      }
      /* Ask to transit (T=1) with the request that carries CHAP_R, and keep asking with empty
       * requests until the target transits (open-iscsi: acl_send_transit_bit()). */
      if (out_len > MAX_REQ) {
        rc = fail(EX_OTHER, "login text too long");
        goto out;
      }
      {
        int transit = multichap_initiator_may_transit(ini);
        if ((rc = send_login(c, (unsigned char)((transit ? F_T : 0) | 0 << 2 | 1), out, out_len)) !=
            0)
          goto out;
      }
    } else {
      const char* hd = find_key(c->text, c->text_len, "HeaderDigest");
      const char* dd = find_key(c->text, c->text_len, "DataDigest");
      if ((hd && strcmp(hd, "None") != 0) || (dd && strcmp(dd, "None") != 0)) {
        rc = fail(EX_OTHER, "target insists on digests we do not implement");
        goto out;
      }
      if (flags & F_T) {
        csg = flags & 3;
        break;
      } /* recv_login checked NSG > 1, != 2 */
      /* T=0: the target has more to say; keys it proposes would be answered here. */
      if ((rc = send_login(c, F_T | 1 << 2 | 3, NULL, 0)) != 0) goto out;
    }
  }
  c->cmdsn = get32(c->bhs + 28); /* ExpCmdSN: the CmdSN of our first full-feature command */
  rc = c->bhs[14] | c->bhs[15] ? 0 : fail(EX_OTHER, "final Login Response without a TSIH");
out:
  free(out);
  return rc;
}

static int logout(struct conn* c) {
  unsigned char bhs[48];
  int i;
  memset(bhs, 0, sizeof bhs);
  bhs[0] = 0x46; /* immediate + Logout Request */
  bhs[1] = 0x80; /* F=1, reason 0: close the session */
  put32(bhs + 16, ++c->itt);
  put32(bhs + 24, c->cmdsn);
  put32(bhs + 28, c->exp_statsn);
  if (send_pdu(c, bhs, NULL, 0) != 0) return EX_OTHER;
  for (i = 0; i < MAX_ROUNDS; i++) {
    char* data;
    size_t len;
    unsigned op;
    if (recv_pdu(c, &data, &len) != 0) return EX_OTHER;
    free(data);
    op = c->bhs[0] & 0x3f;
    if (op == 0x20 || op == 0x32) continue; /* NOP-In, Async Message: not ours to handle here */
    if (op != 0x26) return fail(EX_OTHER, "expected a Logout Response, got opcode 0x%02x", op);
    if (get32(c->bhs + 16) != c->itt) return fail(EX_OTHER, "Logout Response for another task");
    if (c->bhs[2] != 0) return fail(EX_OTHER, "logout refused (response %u)", c->bhs[2]);
    return 0;
  }
  return fail(EX_OTHER, "no Logout Response");
}

static int dial(const char* portal) {
  char host[256], *port;
  struct addrinfo hints, *res, *ai;
  int fd = -1, err;
  if (strlen(portal) >= sizeof host) return -2;
  strcpy(host, portal[0] == '[' ? portal + 1 : portal);
  if ((port = strrchr(host, ':')) == NULL || port[1] == '\0') return -2;
  *port++ = '\0';
  if (portal[0] == '[' && (host[0] == '\0' || host[strlen(host) - 1] != ']')) return -2;
  if (portal[0] == '[') host[strlen(host) - 1] = '\0';
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((err = getaddrinfo(host, port, &hints, &res)) != 0)
    return fail(-1, "%s: %s", portal, gai_strerror(err));
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    struct pollfd pfd;
    socklen_t sl = sizeof err;
    if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0) continue;
    fcntl(fd, F_SETFL, O_NONBLOCK); /* connect with a deadline; io_full polls afterwards */
    err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pfd.fd = fd;
      pfd.events = POLLOUT;
      pfd.revents = 0;
      err = poll(&pfd, 1, TIMEOUT_MS) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0
                ? err
                : ETIMEDOUT;
    }
    if (err == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd >= 0 ? fd : fail(-1, "cannot connect to %s: %s", portal, strerror(err));
}

static int usage(void) {
  fputs(
      "usage: c_initiator [-i INITIATOR_IQN] [-u USER] [-a ALGS] [-U TARGET_USER] [-b BACKEND]\n"
      "                   HOST:PORT TARGET_IQN\n"
      "  secrets: MULTICHAP_SECRET (ours), MULTICHAP_TARGET_SECRET (the target's, with -U)\n"
      "  ALGS: CHAP_A offer in preference order, e.g. 8,7,6,5 or sha3-256,sha256,sha1,md5\n",
      stderr);
  return EX_USAGE;
}

int main(int argc, char** argv) {
  const char *iname = "iqn.2026-11.org.example:c-initiator", *user = NULL, *tuser = NULL;
  const char *backend = NULL, *secret, *tsecret, *algs = NULL;
  const multichap_backend* b = NULL;
  multichap_initiator* ini = NULL;
  multichap_status st;
  struct conn c;
  int alg_list[8], alg_count = 0, opt, rc = EX_OTHER, i;
  while ((opt = getopt(argc, argv, "i:u:a:U:b:h")) != -1) {
    switch (opt) {
      case 'i':
        iname = optarg;
        break;
      case 'u':
        user = optarg;
        break;
      case 'a':
        algs = optarg;
        break;
      case 'U':
        tuser = optarg;
        break;
      case 'b':
        backend = optarg;
        break;
      default:
        return usage();
    }
  }
  if (argc - optind != 2) return usage();
  while (algs != NULL && *algs != '\0') { /* "8,7" or "sha3-256,sha256" */
    char item[16] = "";
    size_t len = strcspn(algs, ",");
    int a = 0;
    if (len < sizeof item) {
      memcpy(item, algs, len);
      a = multichap_algorithm_parse(item);
    }
    if (a == 0 || alg_count == 8) return fail(EX_USAGE, "bad algorithm list at '%s'", algs);
    alg_list[alg_count++] = a;
    algs += len + (algs[len] == ',');
  }
  if (user == NULL) user = iname; /* CHAP_N defaults to the InitiatorName, as in open-iscsi */
  if ((secret = getenv("MULTICHAP_SECRET")) == NULL || *secret == '\0')
    return fail(EX_USAGE, "set MULTICHAP_SECRET to the initiator's CHAP secret");
  tsecret = getenv("MULTICHAP_TARGET_SECRET");
  if (tuser != NULL && (tsecret == NULL || *tsecret == '\0'))
    return fail(EX_USAGE, "-U needs MULTICHAP_TARGET_SECRET (the target's CHAP secret)");

  /* Configuration, once per session. open-iscsi: check_for_authentication() in usr/login.c calls
   * acl_init(), acl_set_user_name(), acl_set_passwd(), acl_set_chap_alg_list() and
   * acl_set_auth_rmt() (usr/auth.c); libiscsi: iscsi_set_initiator_username_pwd() and
   * iscsi_set_target_username_pwd() (lib/connect.c, lib/login.c). */
  if ((st = multichap_backend_open(backend, &b)) != MULTICHAP_OK)
    return fail(st == MULTICHAP_ERR_USAGE ? EX_USAGE : EX_OTHER, "%s", multichap_last_error());
  if ((st = multichap_initiator_new(b, &ini)) != MULTICHAP_OK)
    return fail(EX_OTHER, "%s", multichap_last_error());
  if ((st = multichap_initiator_set_credentials(ini, user, (const unsigned char*)secret,
                                                strlen(secret))) != MULTICHAP_OK ||
      (tuser != NULL &&
       (st = multichap_initiator_set_target_credentials(ini, tuser, (const unsigned char*)tsecret,
                                                        strlen(tsecret))) != MULTICHAP_OK) ||
      (alg_count > 0 && (st = multichap_initiator_set_algorithms(
                             ini, alg_list, (size_t)alg_count)) != MULTICHAP_OK)) {
    rc = fail(st == MULTICHAP_ERR_POLICY || st == MULTICHAP_ERR_USAGE ? EX_USAGE : EX_OTHER, "%s",
              multichap_initiator_error(ini));
    multichap_initiator_free(ini);
    return rc;
  }

  memset(&c, 0, sizeof c);
  c.isid[0] = 0x80; /* ISID type 10: random (RFC 7143 §11.12.5) */
  c.isid[1] = (unsigned char)getpid();
  c.isid[2] = (unsigned char)(getpid() >> 8);
  c.isid[3] = (unsigned char)time(NULL);
  c.itt = 1;
  c.cmdsn = 1;
  c.fd = dial(argv[optind]);
  if (c.fd == -2)
    rc = fail(EX_USAGE, "portal must be HOST:PORT or [HOST]:PORT");
  else if (c.fd >= 0 && (rc = login(&c, ini, iname, argv[optind + 1])) == 0) {
    i = multichap_initiator_algorithm(ini);
    printf("login succeeded: algorithm=%s mutual=%s\n",
           multichap_algorithm_short_name(i) != NULL ? multichap_algorithm_short_name(i) : "none",
           multichap_initiator_mutual(ini) ? "yes" : "no");
    fflush(stdout);
    /* Full feature phase: SCSI commands would go here. Then close the session. */
    if ((rc = logout(&c)) == 0) printf("logout: ok\n");
  }
  if (c.fd >= 0) close(c.fd);
  free(c.text);
  multichap_initiator_free(ini); /* wipes the secrets (open-iscsi: acl_finish()) */
  return rc;
}
