// SPDX-License-Identifier: BSD-2-Clause
// What the session-level tests share: a started Target on 127.0.0.1 (port 0) that is stopped when
// it goes out of scope, initiator options and authenticators for the identities of
// tests/support/identities.h, a thread-safe line collector for logs and transcripts, and a
// polling wait.
#ifndef MULTICHAP_TESTS_SUPPORT_SESSION_SUPPORT_H
#define MULTICHAP_TESTS_SUPPORT_SESSION_SUPPORT_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backends/hash_backend.h"
#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "session/target.h"
#include "tests/support/identities.h"

namespace multichap::test {

// How long eventually() waits unless told otherwise.
inline constexpr Millis kEventuallyTimeout{5000};

// Collects log or transcript lines from any thread.
class Lines {
 public:
  LogSink sink();
  std::vector<std::string> snapshot() const;
  // Every line, each followed by '\n'.
  std::string joined() const;
  std::size_t count() const;
  bool contains(std::string_view needle) const;

 private:
  mutable std::mutex m_mutex;
  std::vector<std::string> m_lines;
};

// Our Target on 127.0.0.1 with a free port, accepting on a background thread; its name is
// kTargetIqn unless options name one. Null when it could not be created or bound. The
// unique_ptr's destructor stops it (Target::~Target joins everything).
std::unique_ptr<Target> start_target(TargetOptions options);

// An initiator of kInitiatorIqn to kTargetIqn at 127.0.0.1:port (2 s to connect, 3 s a login,
// 10 ms between attempts).
InitiatorOptions initiator_options(std::uint16_t port);

// An initiator authenticator for initiator_config(mutual, ...). Returns null (and the test fails
// at its ASSERT) when creation fails.
std::unique_ptr<InitiatorAuthenticator> initiator_auth(
    std::shared_ptr<const HashBackend> backend, bool mutual, ChapPolicy policy = {},
    std::string_view own_secret = kInitiatorSecret, std::string_view target_secret = kTargetSecret);

// Polls condition every 2 ms until it holds or timeout passes; returns its last value. For
// effects the peer applies after answering (the target counts a logout after sending its reply).
bool eventually(const std::function<bool()>& condition, Millis timeout = kEventuallyTimeout);

// A blocking TCP socket connected to 127.0.0.1:port from the loopback address source (a host of
// its own to the target's per-source accounting), or -1. The caller closes it.
int connect_from(const std::string& source, std::uint16_t port);

}  // namespace multichap::test

#endif  // MULTICHAP_TESTS_SUPPORT_SESSION_SUPPORT_H
