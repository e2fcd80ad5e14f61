// SPDX-License-Identifier: BSD-2-Clause
// The bodies of multichap's libFuzzer targets, as plain functions so that the unit tests can
// replay the seed corpus and every saved regression input through exactly the same checks
// (tests/auth/fuzz_replay_test.cpp). Each fuzz_<name>.cpp also defines LLVMFuzzerTestOneInput
// unless MULTICHAP_FUZZ_REPLAY is set.
#ifndef MULTICHAP_TESTS_FUZZ_FUZZ_TARGETS_H
#define MULTICHAP_TESTS_FUZZ_FUZZ_TARGETS_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "auth/chap.h"

namespace multichap::fuzz {

// Decodes the input as a binary value and as numbers, and checks the codec's invariants.
void fuzz_value_codec(const std::uint8_t* data, std::size_t size);
// Parses the input as a text segment; a parsed list must rebuild and re-parse to itself.
void fuzz_text(const std::uint8_t* data, std::size_t size);
// Feeds a ChapTarget the key lists found in the input (see fuzz_chap_target.cpp for the
// format); returns the target's status after the last segment.
AuthStatus fuzz_chap_target(const std::uint8_t* data, std::size_t size);

// Thrown by MULTICHAP_FUZZ_CHECK in replay builds, where a broken invariant fails one test
// instead of aborting the whole test binary.
struct InvariantFailure : std::logic_error {
  using std::logic_error::logic_error;
};

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
#if defined(MULTICHAP_FUZZ_REPLAY)
  throw InvariantFailure(std::string(file) + ":" + std::to_string(line) + ": " + what);
#else
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
  std::abort();
#endif
}

}  // namespace multichap::fuzz

#define MULTICHAP_FUZZ_CHECK(cond)                                               \
  do {                                                                           \
    if (!(cond)) ::multichap::fuzz::invariant_failed(#cond, __FILE__, __LINE__); \
  } while (0)

#endif  // MULTICHAP_TESTS_FUZZ_FUZZ_TARGETS_H
