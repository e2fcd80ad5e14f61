// SPDX-License-Identifier: BSD-2-Clause
/* A minimal iSCSI initiator written against libiscsi's C API, used by the interop tests as an
 * independent peer for multichap's target: connect, log in with CHAP (one-way or mutual), log
 * out. libiscsi's own tools (iscsi-inq, ...) always send SCSI commands after login, which our
 * target does not implement; this client exercises the login and logout alone.
 *
 * usage: interop_libiscsi_client --portal HOST:PORT --target IQN --user U
 *          [--target-user U] [--initiator-name IQN] [--discovery] [--timeout SECONDS]
 * Secrets come from the environment so they stay out of ps: ISCSI_SECRET (required with
 * --user) and ISCSI_TARGET_SECRET (required with --target-user).
 *
 * Prints one line per step ("connected", "login ok", "logout ok" or "... failed: <libiscsi's
 * error>"). Exit status: 0 login and logout succeeded, 1 login failed, 2 usage error,
 * 3 connect, logout or another failure. */
#include <getopt.h>
#include <iscsi/iscsi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_LOGIN_FAILED = 1, EXIT_USAGE = 2, EXIT_OTHER = 3 };

static int usage(const char* why) {
  fprintf(stderr,
          "interop_libiscsi_client: %s\n"
          "usage: interop_libiscsi_client --portal HOST:PORT --target IQN --user U\n"
          "         [--target-user U] [--initiator-name IQN] [--discovery] [--timeout S]\n"
          "       secrets in ISCSI_SECRET and ISCSI_TARGET_SECRET\n",
          why);
  return EXIT_USAGE;
}

int main(int argc, char** argv) {
  static const struct option options[] = {
      {"portal", required_argument, NULL, 'p'},
      {"target", required_argument, NULL, 't'},
      {"user", required_argument, NULL, 'u'},
      {"target-user", required_argument, NULL, 'U'},
      {"initiator-name", required_argument, NULL, 'i'},
      {"discovery", no_argument, NULL, 'd'},
      {"timeout", required_argument, NULL, 'T'},
      {NULL, 0, NULL, 0},
  };
  const char* portal = NULL;
  const char* target = NULL;
  const char* user = NULL;
  const char* target_user = NULL;
  const char* initiator_name = "iqn.2026-11.org.multichap:libiscsi-client";
  int discovery = 0;
  int timeout = 10;
  int opt;
  while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (opt) {
      case 'p':
        portal = optarg;
        break;
      case 't':
        target = optarg;
        break;
      case 'u':
        user = optarg;
        break;
      case 'U':
        target_user = optarg;
        break;
      case 'i':
        initiator_name = optarg;
        break;
      case 'd':
        discovery = 1;
        break;
      case 'T':
        timeout = atoi(optarg);
        if (timeout <= 0) return usage("--timeout must be a positive number of seconds");
        break;
      default:
        return usage("unknown option");
    }
  }
  if (optind != argc) return usage("unexpected argument");
  if (portal == NULL) return usage("--portal is required");
  if (target == NULL && !discovery) return usage("--target is required (or --discovery)");
  if (user == NULL) return usage("--user is required");
  const char* secret = getenv("ISCSI_SECRET");
  if (secret == NULL || secret[0] == '\0') return usage("ISCSI_SECRET is not set");
  const char* target_secret = getenv("ISCSI_TARGET_SECRET");
  if (target_user != NULL && (target_secret == NULL || target_secret[0] == '\0')) {
    return usage("--target-user needs ISCSI_TARGET_SECRET");
  }

  struct iscsi_context* iscsi = iscsi_create_context(initiator_name);
  if (iscsi == NULL) {
    fprintf(stderr, "iscsi_create_context failed\n");
    return EXIT_OTHER;
  }
  int status = EXIT_OTHER;
  const enum iscsi_session_type type = discovery ? ISCSI_SESSION_DISCOVERY : ISCSI_SESSION_NORMAL;
  if (iscsi_set_session_type(iscsi, type) != 0 ||
      (!discovery && iscsi_set_targetname(iscsi, target) != 0) ||
      iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE) != 0 ||
      iscsi_set_initiator_username_pwd(iscsi, user, secret) != 0 ||
      (target_user != NULL &&
       iscsi_set_target_username_pwd(iscsi, target_user, target_secret) != 0) ||
      iscsi_set_timeout(iscsi, timeout) != 0) {
    fprintf(stderr, "configuring the context failed: %s\n", iscsi_get_error(iscsi));
    goto out;
  }
  if (iscsi_connect_sync(iscsi, portal) != 0) {
    printf("connect failed: %s\n", iscsi_get_error(iscsi));
    goto out;
  }
  printf("connected to %s\n", portal);
  if (iscsi_login_sync(iscsi) != 0) {
    printf("login failed: %s\n", iscsi_get_error(iscsi));
    status = EXIT_LOGIN_FAILED;
    goto out;
  }
  printf("login ok: %s session, mutual=%s\n", discovery ? "discovery" : "normal",
         target_user != NULL ? "yes" : "no");
  if (iscsi_logout_sync(iscsi) != 0) {
    printf("logout failed: %s\n", iscsi_get_error(iscsi));
    goto out;
  }
  printf("logout ok\n");
  status = 0;

out:
  fflush(stdout);
  iscsi_destroy_context(iscsi);
  return status;
}
