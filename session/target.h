// SPDX-License-Identifier: BSD-2-Clause
// The target-side server: accepts TCP connections and runs each one's TargetConnection (login
// phase, then a minimal full feature phase) on an event loop.
//
// Concurrency: a fixed number of event-loop threads (TargetOptions::threads, default one per
// core), each running its own loop; a connection is placed on one loop when it is accepted and
// stays there, so its handlers never run at once and no lock or hand-off sits on a login's path.
// No thread belongs to a connection or a session: idle, slow-drip and established connections
// cost memory (about 1.4 KiB each, see docs/benchmarks.md) and a descriptor, never a thread. The
// loops are standalone Asio (Debian libasio-dev: header-only, epoll underneath), used inside
// target.cpp only, so users of this header do not inherit it. A login costs microseconds of CPU
// and runs on its loop. Limits make exhaustion expensive for an attacker and harmless for
// initiators: a deadline for the whole login, a cap on connections not yet logged in (the oldest
// is evicted when full) and on such connections per source address (the one of that address
// that has made the least progress is evicted when full), and headers that cannot be
// valid are answered or closed on their first 48 bytes. Each limit logs once when it first
// bites and counts in stats().
#ifndef MULTICHAP_SESSION_TARGET_H
#define MULTICHAP_SESSION_TARGET_H

#include <cstdint>
#include <memory>

#include "session/session_registry.h"
#include "session/target_connection.h"
#include "session/transport.h"

namespace multichap {

// Checks every target's and the discovery's CHAP configuration against backend, and that the
// target names are unique.
Result<void> validate_access(const TargetAccess& access, const HashBackend& backend);

class Target {
 public:
  // Validates the options (CHAP configuration against the backend, limits).
  static Result<std::unique_ptr<Target>> create(TargetOptions options);
  // Replaces the targets, ACLs and accounts (a configuration reload, SIGHUP): connections
  // accepted from now on use the new ones; established sessions and logins under way keep the
  // rules they started with. Validated first: on an error nothing changes. Thread-safe.
  Result<void> reload(std::shared_ptr<const TargetAccess> access);
  ~Target();
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  // Binds and listens; port 0 picks a free port. Returns the port. May be called several times
  // before start(): one portal per call, all serving the same targets (port() is the first's).
  Result<std::uint16_t> listen(const Endpoint& endpoint);
  // Runs the event loop on background threads.
  void start();
  // Runs the event loop on the calling thread (and threads - 1 others) until stop(), from
  // another thread, or request_stop(), from a signal handler.
  void run();
  // Stops accepting, closes every connection, joins all threads. Idempotent.
  void stop();
  // Async-signal-safe: only sets a flag that the loop polls (every 100 ms).
  void request_stop();
  // Runs one connection (login, then full feature phase until logout or close) on the calling
  // thread with blocking reads, on a socket the caller connected: for fuzzers and tests that feed
  // a socketpair. The same TargetConnection machine as the event loop runs.
  void serve(Connection conn);

  std::uint16_t port() const;
  TargetStats stats() const;
  std::size_t session_count() const;
  // Connections open on the event loop (logged in or not).
  std::size_t active_connections() const;
  // Of those, the ones that have not reached full feature phase.
  std::size_t unauthenticated_connections() const;

 private:
  struct Impl;
  Target(TargetOptions options, std::shared_ptr<const ValidTargetAccess> access);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_TARGET_H
