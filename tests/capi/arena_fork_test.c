/* SPDX-License-Identifier: BSD-2-Clause */
/* The secret arena seen through the C API (libmultichap.so): the secrets an embedder hands to
 * multichap_initiator_set_credentials() are copied into pages that the kernel reports in
 * /proc/self/smaps as "dd" (MADV_DONTDUMP) and "wf" (MADV_WIPEONFORK); a fork() child sees those
 * pages zeroed, the parent keeps them. No test hook: the pages are found the way an
 * administrator would, by their VmFlags.
 *
 * Exit 0: passed; 1: failed; 77: skipped (an AddressSanitizer build, where the arena falls back
 * to the ordinary heap, or no smaps). */
#define _GNU_SOURCE
#include <multichap/multichap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif
#ifndef ASAN_BUILD
#define ASAN_BUILD 0
#endif

enum { kMaxRanges = 256 };
struct range {
  uintptr_t lo, hi;
};
static struct range g_ranges[kMaxRanges];
static size_t g_count;

static int has_word(const char* line, const char* word) {
  const size_t n = strlen(word);
  for (const char* p = strstr(line, word); p != NULL; p = strstr(p + 1, word)) {
    if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0')) return 1;
  }
  return 0;
}

/* The readable and writable mappings flagged both dd and wf: the secret arena (and the random
 * pools of the backends). */
static int find_arena_ranges(void) {
  FILE* f = fopen("/proc/self/smaps", "r");
  if (f == NULL) return 0;
  char line[512];
  uintptr_t lo = 0, hi = 0;
  int rw = 0;
  g_count = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long a = 0, b = 0;
    char perms[8] = {0};
    if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && strchr(line, ':') > strchr(line, ' ')) {
      lo = a;
      hi = b;
      rw = perms[0] == 'r' && perms[1] == 'w';
      continue;
    }
    if (strncmp(line, "VmFlags:", 8) == 0 && rw && has_word(line, "dd") && has_word(line, "wf") &&
        g_count < kMaxRanges) {
      g_ranges[g_count].lo = lo;
      g_ranges[g_count].hi = hi;
      ++g_count;
    }
  }
  fclose(f);
  return 1;
}

static int secret_in_ranges(const unsigned char* secret, size_t len) {
  for (size_t i = 0; i < g_count; ++i) {
    if (memmem((const void*)g_ranges[i].lo, g_ranges[i].hi - g_ranges[i].lo, secret, len) != NULL)
      return 1;
  }
  return 0;
}

static int ranges_all_zero(void) {
  for (size_t i = 0; i < g_count; ++i) {
    for (const unsigned char* p = (const unsigned char*)g_ranges[i].lo;
         p < (const unsigned char*)g_ranges[i].hi; ++p) {
      if (*p != 0) return 0;
    }
  }
  return 1;
}

int main(void) {
  if (ASAN_BUILD) {
    puts("skip: AddressSanitizer build, the secret arena falls back to the ordinary heap");
    return 77;
  }
  /* Built at run time, so the bytes are in no file mapping. */
  unsigned char secret[40];
  unsigned char target_secret[40];
  for (size_t i = 0; i < sizeof secret; ++i) {
    secret[i] = (unsigned char)('a' + (i * 7 + (unsigned)getpid()) % 26);
    target_secret[i] = (unsigned char)('A' + (i * 5 + (unsigned)getpid()) % 26);
  }
  const multichap_backend* b = NULL;
  multichap_initiator* ini = NULL;
  if (multichap_backend_open(NULL, &b) != MULTICHAP_OK ||
      multichap_initiator_new(b, &ini) != MULTICHAP_OK ||
      multichap_initiator_set_credentials(ini, "iqn.2026-11.org.multichap:fork", secret,
                                          sizeof secret) != MULTICHAP_OK ||
      multichap_initiator_set_target_credentials(ini, "iqn.2026-11.org.multichap:fork-target",
                                                 target_secret,
                                                 sizeof target_secret) != MULTICHAP_OK) {
    printf("FAIL: setting up the initiator: %s\n", multichap_last_error());
    return 1;
  }
  /* A first step: the exchange's own state is made too. */
  char out[512];
  size_t out_len = 0;
  (void)multichap_initiator_step(ini, NULL, 0, out, sizeof out, &out_len);
  if (!find_arena_ranges()) {
    puts("skip: no /proc/self/smaps");
    return 77;
  }
  int failures = 0;
  if (g_count == 0) {
    puts("FAIL: no mapping flagged dd and wf");
    return 1;
  }
  if (!secret_in_ranges(secret, sizeof secret) ||
      !secret_in_ranges(target_secret, sizeof target_secret)) {
    puts("FAIL: the C API's copies of the secrets are not in the arena's pages");
    ++failures;
  } else {
    puts("ok: both secrets are in pages flagged dd and wf");
  }
  fflush(stdout);
  const pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    /* Nothing allocated here: the parent's ranges, as the child sees them. */
    _exit(ranges_all_zero() && !secret_in_ranges(secret, sizeof secret) ? 0 : 1);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    puts("FAIL: the fork child saw non-zero bytes in the arena's pages");
    ++failures;
  } else {
    printf("ok: the fork child saw %zu arena mapping(s) zeroed\n", g_count);
  }
  if (!secret_in_ranges(secret, sizeof secret)) {
    puts("FAIL: the parent lost its secret");
    ++failures;
  } else {
    puts("ok: the parent keeps its secret");
  }
  multichap_initiator_free(ini);
  printf("arena_fork_test: %d failed\n", failures);
  return failures == 0 ? 0 : 1;
}
