// The target-side login engine: accepts TCP connections, runs the login phase (security stage
// through a LoginAuthenticator, operational negotiation), assigns TSIHs, keeps several sessions
// and connections (MC/S), answers Logout and NOP-Out in full feature phase and rejects anything
// else (no SCSI layer).
//
// Concurrency: one worker thread per open connection, taken from a pool that grows on demand and
// reuses idle workers (no thread creation per login once warm). A login is a handful of short
// blocking exchanges whose cost is dominated by round trips, not CPU; a worker per connection keeps
// each login a straight sequence of reads and writes (easy to audit against RFC 7143 §6), every
// read has a deadline, and the number of connections is capped (max_connections), so the thread
// count is bounded. An event loop would only pay off at connection counts far beyond what a CHAP
// target needs.
#ifndef MULTICHAP_SESSION_TARGET_H
#define MULTICHAP_SESSION_TARGET_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "session/pdu.h"
#include "session/transcript.h"
#include "session/transport.h"

namespace multichap {

struct TargetOptions {
  std::string target_name;                       // the IQN served (TargetName)
  std::shared_ptr<const ChapTargetConfig> chap;  // null: no authentication (AuthMethod=None)
  std::shared_ptr<const HashBackend> backend;    // null: the default backend
  Millis login_timeout{10000};                   // deadline for each login PDU
  std::size_t max_connections = 1024;            // concurrent connections, all sessions
  std::uint16_t max_connections_per_session = 8;
  LogSink log;            // one line per login outcome (optional)
  bool log_keys = false;  // also log every key exchanged (masked)
};

struct TargetStats {
  std::uint64_t connections = 0;
  std::uint64_t logins_succeeded = 0;
  std::uint64_t logins_failed = 0;
  std::uint64_t logouts = 0;
};

class Target {
 public:
  // Validates the options (CHAP configuration against the backend).
  static Result<std::unique_ptr<Target>> create(TargetOptions options);
  ~Target();
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  // Binds and listens; port 0 picks a free port. Returns the port.
  Result<std::uint16_t> listen(const Endpoint& endpoint);
  // Runs the accept loop on a background thread.
  void start();
  // Runs the accept loop on the calling thread until stop() (from another thread or a signal
  // handler via request_stop()).
  void run();
  // Stops accepting, closes every connection, joins all threads. Idempotent.
  void stop();
  // Async-signal-safe: only sets a flag that run() polls.
  void request_stop() { m_stop.store(true); }
  // Runs one connection (login, then full feature phase until logout or close) on the calling
  // thread, on a socket the caller connected: for fuzzers and tests that feed a socketpair.
  void serve(Connection conn);

  std::uint16_t port() const { return m_listener.port(); }
  TargetStats stats() const;
  std::size_t session_count() const;
  std::size_t active_connections() const;

 private:
  struct Session {
    Isid isid{};
    std::string initiator_name;
    std::uint16_t tsih = 0;
    std::vector<std::uint16_t> cids;
    bool discovery = false;
  };
  class ConnectionHandler;

  explicit Target(TargetOptions options);
  void accept_loop();
  // Body of a pool thread: serves queued connections until stop().
  void worker_loop();
  void log(const std::string& line) const;

  TargetOptions m_options;
  Listener m_listener;
  std::atomic<bool> m_stop{false};
  std::thread m_accept_thread;

  mutable std::mutex m_mutex;  // guards everything below
  std::condition_variable m_work_ready;
  std::deque<std::shared_ptr<Connection>> m_queue;  // accepted, not yet picked up
  std::set<int> m_active_fds;                       // connections being served
  std::vector<std::thread> m_pool;
  std::size_t m_idle_workers = 0;
  std::map<std::uint16_t, Session> m_sessions;  // by TSIH
  std::uint16_t m_next_tsih = 1;
  TargetStats m_stats;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_TARGET_H
