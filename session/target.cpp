// SPDX-License-Identifier: BSD-2-Clause
// The server and connection registry of the target: an Asio event loop (standalone Asio, Debian
// libasio-dev) drives one TargetConnection machine per TCP connection. The login logic lives in
// target_connection.cpp, the sessions in session_registry.cpp.
#include "session/target.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/secure.h"
#include "session/busy_poll.h"

namespace multichap {

namespace {

constexpr std::size_t kReadChunk = 65536;
// Output a connection may have queued for a peer that does not read: beyond it, we close.
constexpr std::size_t kMaxPendingOutput = std::size_t{1} << 20;
constexpr Millis kStopPoll{100};

// One read buffer per loop thread: an idle connection holds no buffer of its own.
thread_local std::array<std::uint8_t, kReadChunk> t_read_buffer;

}  // namespace

// A small fixed pool for secret lookups: a provider may block (a central store), the event loop
// must not. Bounded: beyond `capacity` queued lookups, submit() refuses (the login fails 0x0201).
class LookupPool {
 public:
  LookupPool(unsigned threads, std::size_t capacity) : m_capacity(capacity) {
    for (unsigned i = 0; i < std::max(1u, threads); ++i) {
      m_threads.emplace_back([this] { work(); });
    }
  }
  ~LookupPool() { stop(); }
  LookupPool(const LookupPool&) = delete;
  LookupPool& operator=(const LookupPool&) = delete;

  bool submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (m_stopping || m_jobs.size() >= m_capacity) return false;
      m_jobs.push_back(std::move(job));
    }
    m_wake.notify_one();
    return true;
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (m_stopping) return;
      m_stopping = true;
      m_jobs.clear();
    }
    m_wake.notify_all();
    for (auto& t : m_threads) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_wake.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
        if (m_stopping) return;
        job = std::move(m_jobs.front());
        m_jobs.pop_front();
      }
      job();
    }
  }

  const std::size_t m_capacity;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::function<void()>> m_jobs;
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

struct Target::Impl {
  class EventConnection;

  Impl(TargetOptions o, std::shared_ptr<const ValidTargetAccess> valid)
      : options(std::move(o)),
        registry(options.max_connections_per_session),
        guard(options.guard, options.shared_guard),
        access(std::move(valid)) {
    for (unsigned i = 0; i < std::max(1u, options.threads); ++i) {
      loops.push_back(std::make_unique<asio::io_context>(1));  // one thread runs each loop
    }
    loop_load.assign(loops.size(), 0);
  }

  std::shared_ptr<const ValidTargetAccess> current_access() const {
    std::lock_guard<std::mutex> lock(access_mutex);
    return access;
  }
  LookupPool& lookups() {
    std::call_once(lookup_pool_once, [this] {
      lookup_pool = std::make_unique<LookupPool>(options.lookup_threads, options.lookup_queue);
    });
    return *lookup_pool;
  }

  struct Portal;
  void accept(Portal& portal);
  void on_accept(Portal& portal, const asio::error_code& ec, asio::ip::tcp::socket socket);
  void admit(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& remote);
  void shutdown();
  void poll_stop();
  // Bookkeeping, called by connections (any thread).
  void authenticated(EventConnection* conn, std::uint64_t token);
  // Closes the logged-in connection with this session token (displaced by a reinstatement).
  void displace(std::uint64_t token);
  void forget(EventConnection* conn);
  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  // Logs a limit the first time it bites.
  void log_limit_once(std::atomic<bool>& flag, const std::string& line) const {
    if (!flag.exchange(true)) log(line + " (logged once; see stats for counts)");
  }

  const TargetOptions options;
  SessionRegistry registry;
  LoginGuard guard;
  mutable std::mutex access_mutex;
  std::shared_ptr<const ValidTargetAccess> access;  // swapped by reload()
  std::once_flag lookup_pool_once;
  std::unique_ptr<LookupPool> lookup_pool;  // started at the first lookup
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> stopping{false};
  std::uint16_t port = 0;

  // Connections on the loop, under the mutex: every one, and the not-yet-logged-in ones oldest
  // first (the eviction order), all sources together and per source address.
  struct Entry {
    std::weak_ptr<EventConnection> conn;
    std::string source;
    bool unauthenticated = true;
    std::list<EventConnection*>::iterator lru;
    std::list<EventConnection*>::iterator source_lru;
    std::size_t loop = 0;
    std::uint64_t token = 0;  // the session registry's, once logged in
  };
  mutable std::mutex mutex;
  std::unordered_map<EventConnection*, Entry> connections;
  std::list<EventConnection*> unauthenticated;
  std::unordered_map<std::string, std::list<EventConnection*>> per_source;
  // Takes a connection off both unauthenticated lists (logged in, evicted or gone). Under mutex.
  void drop_unauthenticated(Entry& entry);
  // The connection of one source that gives way to a newcomer at the per-source cap: the oldest
  // that has not sent a complete PDU yet, else the oldest. Under mutex; the list is not empty.
  static EventConnection* per_source_victim(const std::list<EventConnection*>& from_source);
  std::unordered_map<std::uint64_t, EventConnection*> by_token;  // logged-in connections
  std::atomic<bool> logged_total{false};
  std::atomic<bool> logged_per_source{false};
  std::atomic<bool> logged_evicted{false};
  std::atomic<bool> logged_accept{false};

  // One event loop per thread, each run by that thread alone: a connection lives on one loop
  // (round robin at accept), so its handlers never run at once and no loop hands work to
  // another. Loop 0 also accepts. Declared last: destroyed first, while the bookkeeping their
  // handlers touch still exists.
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::vector<WorkGuard> work;
  // Connections open on each loop (under mutex): a new connection goes to the least loaded,
  // the accepting loop first on a tie, so a lone login never crosses threads.
  std::vector<std::size_t> loop_load;
  // One per listen(), all on loop 0: an acceptor, the peer address its accept in flight fills in,
  // and the timer that retries it after a failed accept.
  struct Portal {
    explicit Portal(asio::io_context& io) : acceptor(io), retry(io) {}
    asio::ip::tcp::acceptor acceptor;
    asio::ip::tcp::endpoint peer;
    asio::steady_timer retry;
  };
  std::list<Portal> portals;
  std::optional<asio::steady_timer> stop_timer;
  std::vector<std::thread> threads;
  asio::io_context& accept_loop() { return *loops.front(); }
};

// One TCP connection on its loop. Its socket and timer belong to that loop, which one thread
// runs, so its handlers never overlap; the machine is only touched from them.
class Target::Impl::EventConnection
    : public std::enable_shared_from_this<Target::Impl::EventConnection> {
 public:
  EventConnection(Impl& impl, asio::ip::tcp::socket socket, std::string peer)
      : m_impl(impl),
        m_socket(std::move(socket)),
        m_timer(m_socket.get_executor()),
        m_machine(impl.options, impl.registry, std::move(peer), Clock::now(), impl.current_access(),
                  &impl.guard) {}
  ~EventConnection() { m_impl.forget(this); }
  EventConnection(const EventConnection&) = delete;
  EventConnection& operator=(const EventConnection&) = delete;

  asio::any_io_executor executor() { return m_socket.get_executor(); }
  // Whether a complete login PDU has arrived (the machine left await_login). Written on the
  // connection's loop, read by admit() on the accepting loop: eviction prefers connections
  // without it.
  bool progressed() const { return m_progressed.load(std::memory_order_relaxed); }

  void start() {
    asio::error_code ec;
    m_socket.non_blocking(true, ec);  // TCP_NODELAY comes from the listening socket
    arm_timer();
    wait_readable();
  }

  // From any thread: ends the connection on its own strand.
  void abort(std::string reason, bool force) {
    asio::post(m_socket.get_executor(),
               [self = shared_from_this(), reason = std::move(reason), force] {
                 if (self->m_closed) return;
                 self->m_machine.abort(reason);
                 if (force) {
                   self->close();
                 } else {
                   self->after_input();
                 }
               });
  }

 private:
  // A read into the connection's small buffer (not a wait for readability and a read after it:
  // Asio re-arms epoll with a system call for every wait, while a read is queued for free).
  void wait_readable() {
    if (m_reading || m_closed) return;
    m_reading = true;
    m_socket.async_read_some(asio::buffer(m_first), [self = shared_from_this()](
                                                        const asio::error_code& ec, std::size_t n) {
      self->m_reading = false;
      self->on_readable(ec, n);
    });
  }

  void on_readable(const asio::error_code& ec, std::size_t first) {
    if (m_closed) return;
    if (ec) {
      m_machine.peer_closed(ec == asio::error::eof ? "connection closed by peer" : ec.message());
      after_input();
      return;
    }
    m_machine.receive(ByteView(m_first.data(), first), Clock::now());
    if (first < m_first.size()) {
      after_input();
      return;
    }
    // More may be waiting: drain it into the thread's large buffer, a bounded number of reads
    // per wake-up so one busy peer cannot starve the others.
    for (int round = 0; round < 4 && !m_machine.finished(); ++round) {
      asio::error_code read_error;
      const std::size_t n = m_socket.read_some(asio::buffer(t_read_buffer), read_error);
      if (read_error == asio::error::would_block || read_error == asio::error::try_again) break;
      if (read_error) {
        m_machine.peer_closed(read_error == asio::error::eof ? "connection closed by peer"
                                                             : read_error.message());
        break;
      }
      m_machine.receive(ByteView(t_read_buffer.data(), n), Clock::now());
      if (n < t_read_buffer.size()) break;
    }
    after_input();
  }

  void arm_timer() {
    const auto deadline = m_machine.deadline();
    m_armed = deadline;
    if (!deadline) {
      m_timer.cancel();
      return;
    }
    m_timer.expires_at(*deadline);
    m_timer.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->m_closed) return;
      self->m_armed.reset();
      self->m_machine.tick(Clock::now());
      self->after_input();
    });
  }

  // A secret lookup runs on the lookup pool; its answer comes back on this loop.
  void start_lookup(SecretLookup lookup) {
    auto self = shared_from_this();
    const bool queued = m_impl.lookups().submit([self, lookup = std::move(lookup)] {
      auto found = lookup.run();
      asio::post(self->executor(), [self, found = std::move(found)]() mutable {
        if (self->m_closed) return;
        self->m_machine.lookup_done(std::move(found), Clock::now());
        self->after_input();
      });
    });
    if (!queued) {
      m_machine.lookup_done(
          make_error(ErrorKind::io, ErrorCode::lookup_queue_full, "the lookup queue is full"),
          Clock::now());
    }
  }

  // After the machine saw input or time: send its output, note a login, close when done.
  void after_input() {
    if (m_closed) return;
    if (!m_progressed_seen && m_machine.phase() != TargetConnection::Phase::await_login) {
      m_progressed_seen = true;
      m_progressed.store(true, std::memory_order_relaxed);
    }
    while (auto lookup = m_machine.take_lookup()) start_lookup(std::move(*lookup));
    if (m_machine.deadline() != m_armed) arm_timer();
    if (!m_logged_in && m_machine.phase() == TargetConnection::Phase::full_feature) {
      m_logged_in = true;
      m_impl.authenticated(this, m_machine.session_token());
      m_timer.cancel();
      for (const std::uint64_t token : m_machine.take_displaced()) m_impl.displace(token);
    }
    if (m_machine.has_output()) {
      Bytes out = m_machine.take_output();
      if (m_pending.empty()) {
        m_pending.swap(out);
      } else {
        m_pending.insert(m_pending.end(), out.begin(), out.end());
      }
      if (m_pending.size() + m_writing.size() > kMaxPendingOutput) {
        m_impl.log("connection from " + m_machine.peer() + " closed: it does not read");
        close();
        return;
      }
      write_pending();
    }
    if (m_machine.finished()) {
      if (m_writing.empty()) close();
      return;  // close once the last write completes
    }
    wait_readable();
  }

  // Sends what is pending. The socket is non-blocking and a login answer nearly always fits in
  // its send buffer, so the write is tried at once: only what does not fit waits for an
  // asynchronous write (whose completion would otherwise cost a trip through the loop).
  void write_pending() {
    if (!m_writing.empty() || m_pending.empty()) return;
    m_writing.swap(m_pending);
    asio::error_code ec;
    const std::size_t n = m_socket.write_some(asio::buffer(m_writing), ec);
    if (!ec && n == m_writing.size()) {
      m_writing.clear();
      return;
    }
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      m_writing.clear();
      m_machine.peer_closed(ec.message());
      close();
      return;
    }
    if (!ec) m_writing.erase(m_writing.begin(), m_writing.begin() + static_cast<std::ptrdiff_t>(n));
    asio::async_write(m_socket, asio::buffer(m_writing),
                      [self = shared_from_this()](const asio::error_code& error, std::size_t) {
                        self->m_writing.clear();
                        if (self->m_closed) return;
                        if (error) {
                          self->m_machine.peer_closed(error.message());
                          self->close();
                          return;
                        }
                        self->write_pending();
                        if (self->m_writing.empty() && self->m_machine.finished()) self->close();
                      });
  }

  void close() {
    if (m_closed) return;
    m_closed = true;
    asio::error_code ec;
    // shutdown() first: with a close() alone, one login at a time was measured to cost the target
    // 4x the CPU (142 us per login instead of 37 us, bench login_loopback/ours/md5/1); why was
    // not found out.
    m_socket.shutdown(asio::socket_base::shutdown_both, ec);
    m_socket.close(ec);
    m_timer.cancel();
    m_impl.forget(this);
  }

  Impl& m_impl;
  asio::ip::tcp::socket m_socket;
  asio::steady_timer m_timer;
  TargetConnection m_machine;
  // The first bytes of each read. Login PDUs are a few hundred bytes, so one read usually takes a
  // whole request; larger ones continue into the loop thread's buffer.
  std::array<std::uint8_t, 512> m_first{};
  Bytes m_writing;                           // being written
  Bytes m_pending;                           // queued behind it
  std::optional<Clock::time_point> m_armed;  // the deadline the timer waits for
  bool m_reading = false;
  bool m_logged_in = false;
  bool m_closed = false;
  bool m_progressed_seen = false;  // this loop's copy: the atomic is stored once
  std::atomic<bool> m_progressed{false};
};

// ---- accepting and admission -------------------------------------------------------------------

void Target::Impl::accept(Portal& portal) {
  // accept() fills in the peer's address: no getpeername() per connection. The connection's
  // loop is chosen once it is accepted (admit()), when the loads are those of that moment.
  portal.acceptor.async_accept(
      portal.peer, [this, &portal](const asio::error_code& ec, asio::ip::tcp::socket socket) {
        on_accept(portal, ec, std::move(socket));
      });
}

void Target::Impl::on_accept(Portal& portal, const asio::error_code& ec,
                             asio::ip::tcp::socket socket) {
  if (stopping.load() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors (EMFILE) or a transient failure: retry shortly, never spin.
    log_limit_once(logged_accept, "accept failed: " + ec.message() + "; retrying every 50 ms");
    portal.retry.expires_after(Millis(50));
    portal.retry.async_wait([this, &portal](const asio::error_code& wait_ec) {
      if (!wait_ec && !stopping.load()) accept(portal);
    });
    return;
  }
  admit(std::move(socket), portal.peer);
  accept(portal);
}

void Target::Impl::admit(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& remote) {
  const std::string source = remote.address().to_string();
  const std::string peer = (remote.address().is_v6() ? "[" + source + "]" : source) + ":" +
                           std::to_string(remote.port());
  std::shared_ptr<EventConnection> victim;
  std::shared_ptr<EventConnection> conn;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (connections.size() >= options.max_connections) {
      registry.add(&TargetStats::refused_total);
      log_limit_once(logged_total,
                     "refusing connections: " + std::to_string(options.max_connections) +
                         " open (max_connections)");
      return;  // the socket closes
    }
    // At either cap a connection that has not logged in gives way to the newcomer, never a
    // session: refusing the newcomer instead would let one client that keeps reconnecting lock
    // out every valid initiator behind the same address (NAT, a hypervisor, a node's pods).
    const auto from_source = per_source.find(source);
    if (from_source != per_source.end() &&
        from_source->second.size() >= options.max_unauthenticated_per_source) {
      Entry& entry = connections.at(per_source_victim(from_source->second));
      drop_unauthenticated(entry);
      victim = entry.conn.lock();
      registry.add(&TargetStats::evicted_per_source);
      log_limit_once(logged_per_source, "evicting connections from " + source +
                                            " that have not logged in: " +
                                            std::to_string(options.max_unauthenticated_per_source) +
                                            " open (max_unauthenticated_per_source)");
    } else if (unauthenticated.size() >= options.max_unauthenticated) {
      // Make room by closing the oldest connection that has not logged in.
      Entry& entry = connections.at(unauthenticated.front());
      drop_unauthenticated(entry);
      victim = entry.conn.lock();
      registry.add(&TargetStats::evicted_unauthenticated);
      log_limit_once(logged_evicted, "evicting the oldest connection not logged in: " +
                                         std::to_string(options.max_unauthenticated) +
                                         " open (max_unauthenticated)");
    }
    // This loop (0) unless another holds clearly fewer connections: a login at a time, even
    // beside thousands of idle connections, never crosses threads, while a burst of logins is
    // spread over the loops.
    constexpr std::size_t kImbalance = 16;
    std::size_t loop = 0;
    for (std::size_t i = 1; i < loops.size(); ++i) {
      if (loop_load[i] + kImbalance < loop_load[loop]) loop = i;
    }
    if (loop != 0) {  // hand the descriptor to that loop's reactor
      asio::error_code ec;
      const auto fd = socket.release(ec);
      if (ec) return;
      asio::ip::tcp::socket moved(*loops[loop]);
      moved.assign(remote.protocol(), fd, ec);
      if (ec) return;
      socket = std::move(moved);
    }
    conn = std::make_shared<EventConnection>(*this, std::move(socket), peer);
    ++loop_load[loop];
    unauthenticated.push_back(conn.get());
    auto& queue = per_source[source];
    queue.push_back(conn.get());
    connections.emplace(conn.get(), Entry{conn, source, true, std::prev(unauthenticated.end()),
                                          std::prev(queue.end()), loop});
  }
  registry.add(&TargetStats::connections);
  if (victim) victim->abort("evicted: too many connections not logged in", true);
  // On the accepting loop's own thread this runs at once; otherwise it is queued to its loop.
  asio::dispatch(conn->executor(), [conn] { conn->start(); });
}

void Target::Impl::authenticated(EventConnection* conn, std::uint64_t token) {
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = connections.find(conn);
  if (it == connections.end() || !it->second.unauthenticated) return;
  if (token != 0) {
    it->second.token = token;
    by_token[token] = conn;
  }
  drop_unauthenticated(it->second);
}

void Target::Impl::drop_unauthenticated(Entry& entry) {
  if (!entry.unauthenticated) return;
  entry.unauthenticated = false;
  unauthenticated.erase(entry.lru);
  const auto queue = per_source.find(entry.source);
  queue->second.erase(entry.source_lru);
  if (queue->second.empty()) per_source.erase(queue);
}

Target::Impl::EventConnection* Target::Impl::per_source_victim(
    const std::list<EventConnection*>& from_source) {
  for (EventConnection* conn : from_source) {
    if (!conn->progressed()) return conn;
  }
  return from_source.front();
}

void Target::Impl::forget(EventConnection* conn) {
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = connections.find(conn);
  if (it == connections.end()) return;
  if (it->second.token != 0) by_token.erase(it->second.token);
  drop_unauthenticated(it->second);
  --loop_load[it->second.loop];
  connections.erase(it);
}

void Target::Impl::displace(std::uint64_t token) {
  std::shared_ptr<EventConnection> old;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const auto it = by_token.find(token);
    if (it == by_token.end()) return;  // already gone
    old = connections.at(it->second).conn.lock();
  }
  if (old) old->abort("replaced by a reinstating login", true);
}

// ---- stopping ----------------------------------------------------------------------------------

void Target::Impl::shutdown() {
  if (stopping.exchange(true)) return;
  asio::post(accept_loop(), [this] {
    asio::error_code ec;
    for (Portal& portal : portals) {
      portal.acceptor.close(ec);
      portal.retry.cancel();
    }
    if (stop_timer) stop_timer->cancel();
    std::vector<std::shared_ptr<EventConnection>> open;
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (auto& [ptr, entry] : connections) {
        if (auto conn = entry.conn.lock()) open.push_back(std::move(conn));
      }
    }
    for (auto& conn : open) conn->abort("target stopping", true);
    for (auto& guard : work) guard.reset();  // each loop ends once its connections are closed
  });
}

void Target::Impl::poll_stop() {
  stop_timer->expires_after(kStopPoll);
  stop_timer->async_wait([this](const asio::error_code& ec) {
    if (ec || stopping.load()) return;
    if (stop_requested.load()) {
      shutdown();
      return;
    }
    poll_stop();
  });
}

// Runs one event loop until it has no more work. After each burst of work the thread may go on
// polling (without sleeping) for the busy-poll window, as long as polling pays
// (session/busy_poll.h says when). An idle target does not poll.
namespace {
void run_loop(asio::io_context& io, std::chrono::microseconds busy_poll) {
  if (busy_poll.count() <= 0) {
    io.run();
    return;
  }
  BusyPollGovernor governor(busy_poll);
  while (io.run_one() != 0) {  // sleeps until there is work; 0 once the loop ran out of it
    auto now = Clock::now();
    if (!governor.should_poll(now)) continue;
    auto until = now + busy_poll;
    while (now < until) {
      if (io.poll() > 0) {
        governor.found_work();
        now = Clock::now();
        until = now + busy_poll;
        continue;
      }
      if (io.stopped()) return;
      now = Clock::now();
    }
    governor.ran_out(now);
  }
}
}  // namespace

// ---- Target ------------------------------------------------------------------------------------

Target::Target(TargetOptions options, std::shared_ptr<const ValidTargetAccess> access)
    : m_impl(std::make_unique<Impl>(std::move(options), std::move(access))) {}

Result<std::unique_ptr<Target>> Target::create(TargetOptions options) {
  if (!options.access && options.target_name.empty())
    return make_error(ErrorKind::usage, ErrorCode::target_name_missing,
                      "target needs a TargetName (IQN)");
  if (!options.backend) {
    MULTICHAP_ASSIGN_OR_RETURN(options.backend, make_default_backend());
  }
  options.access = access_of(options);
  MULTICHAP_ASSIGN_OR_RETURN(auto access,
                             ValidTargetAccess::create(options.access, options.backend));
  if (options.max_connections == 0 || options.max_connections_per_session == 0 ||
      options.max_unauthenticated == 0 || options.max_unauthenticated_per_source == 0) {
    return make_error(ErrorKind::usage, ErrorCode::connection_limit_zero,
                      "connection limits must be at least 1");
  }
  if (options.login_timeout.count() <= 0) {
    return make_error(ErrorKind::usage, ErrorCode::login_timeout_zero,
                      "the login deadline must be positive");
  }
  if (options.threads == 0) options.threads = std::max(1u, std::thread::hardware_concurrency());
  // The secrets just validated live in the secret arena (auth/secure.h): say so when they could
  // not be locked in memory.
  if (options.log && secret_arena_stats().lock_failures != 0) options.log(secret_arena_status());
  return std::unique_ptr<Target>(new Target(std::move(options), std::move(access)));
}

Target::~Target() {
  stop();
}

Result<void> validate_access(const TargetAccess& access, const HashBackend& backend) {
  // Borrowed for the duration of the check: no owner, nothing kept.
  const std::shared_ptr<const TargetAccess> borrowed(std::shared_ptr<void>(), &access);
  const std::shared_ptr<const ChapCrypto> crypto(std::shared_ptr<void>(), &backend);
  MULTICHAP_GUARD(ValidTargetAccess::create(borrowed, crypto));
  return {};
}

Result<void> Target::reload(std::shared_ptr<const TargetAccess> access) {
  if (!access)
    return make_error(ErrorKind::usage, ErrorCode::config_missing, "reload needs a configuration");
  MULTICHAP_ASSIGN_OR_RETURN(auto valid,
                             ValidTargetAccess::create(std::move(access), m_impl->options.backend));
  std::lock_guard<std::mutex> lock(m_impl->access_mutex);
  m_impl->access = std::move(valid);
  return {};
}

Result<std::uint16_t> Target::listen(const Endpoint& endpoint) {
  MULTICHAP_ASSIGN_OR_RETURN(Listener listener, Listener::listen(endpoint, 4096));
  const std::uint16_t port = listener.port();
  const int fd = listener.release();
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  asio::error_code ec;
  Impl::Portal& portal = m_impl->portals.emplace_back(m_impl->accept_loop());
  portal.acceptor.assign(addr.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd,
                         ec);
  if (ec) {
    m_impl->portals.pop_back();
    return make_error(ErrorKind::io, ErrorCode::listen_failed,
                      "cannot adopt the listening socket: " + ec.message());
  }
  // Set once here: Linux copies TCP_NODELAY to every connection accepted from this socket, so a
  // connection costs no setsockopt() of its own.
  portal.acceptor.set_option(asio::ip::tcp::no_delay(true), ec);
  if (m_impl->port == 0) m_impl->port = port;
  return port;
}

void Target::start() {
  Impl& impl = *m_impl;
  if (impl.portals.empty() || !impl.threads.empty()) return;
  impl.stop_timer.emplace(impl.accept_loop());
  for (auto& loop : impl.loops) impl.work.push_back(asio::make_work_guard(*loop));
  for (Impl::Portal& portal : impl.portals) impl.accept(portal);
  impl.poll_stop();
  for (auto& loop : impl.loops) {
    impl.threads.emplace_back(
        [&io = *loop, window = impl.options.busy_poll] { run_loop(io, window); });
  }
}

void Target::run() {
  start();
  Impl& impl = *m_impl;
  // The calling thread waits for the loop to end (request_stop() or stop()).
  while (!impl.stopping.load()) std::this_thread::sleep_for(kStopPoll);
  for (auto& t : impl.threads) {
    if (t.joinable()) t.join();
  }
  impl.threads.clear();
}

void Target::stop() {
  Impl& impl = *m_impl;
  impl.shutdown();
  for (auto& t : impl.threads) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
  impl.threads.clear();
  if (impl.lookup_pool) impl.lookup_pool->stop();
}

void Target::request_stop() {
  m_impl->stop_requested.store(true);
}

void Target::serve(Connection conn) {
  Impl& impl = *m_impl;
  impl.registry.add(&TargetStats::connections);
  TargetConnection machine(impl.options, impl.registry, conn.peer(), Clock::now(),
                           impl.current_access(), &impl.guard);
  Bytes buffer(16384);
  while (!machine.finished()) {
    // This driver blocks anyway: a lookup runs right here.
    if (auto lookup = machine.take_lookup()) {
      machine.lookup_done(lookup->run(), Clock::now());
      continue;
    }
    if (machine.has_output()) {
      const Bytes out = machine.take_output();
      if (auto sent = conn.write_all(out, Clock::now() + impl.options.login_timeout); !sent) {
        machine.peer_closed(sent.error().message);
        break;
      }
      continue;
    }
    if (impl.stopping.load() || impl.stop_requested.load()) {
      machine.abort("target stopping");
      break;
    }
    const auto now = Clock::now();
    const auto wake = std::min(machine.deadline().value_or(now + kStopPoll), now + kStopPoll);
    auto n = conn.read_some(buffer, wake);
    if (n) {
      machine.receive(ByteView(buffer.data(), *n), Clock::now());
    } else if (n.error().kind == ErrorKind::timeout) {
      machine.tick(Clock::now());
    } else {
      machine.peer_closed(n.error().message);
    }
  }
  if (machine.has_output()) {
    (void)conn.write_all(machine.take_output(), Clock::now() + Millis(1000));
  }
}

std::uint16_t Target::port() const {
  return m_impl->port;
}

TargetStats Target::stats() const {
  TargetStats s = m_impl->registry.stats();
  const LoginGuard::Counters g = m_impl->guard.counters();
  s.guard_failures = g.failures;
  s.guard_refused_locked = g.refused_locked;
  s.guard_evictions = g.evictions;
  s.guard_entries = g.entries;
  const SecretArenaStats arena = secret_arena_stats();
  s.secret_bytes_in_use = arena.bytes_in_use;
  s.secret_bytes_mapped = arena.bytes_mapped;
  s.secret_bytes_locked = arena.bytes_locked;
  s.secret_lock_failures = arena.lock_failures;
  return s;
}

std::size_t Target::session_count() const {
  return m_impl->registry.session_count();
}

std::size_t Target::active_connections() const {
  std::lock_guard<std::mutex> lock(m_impl->mutex);
  return m_impl->connections.size();
}

std::size_t Target::unauthenticated_connections() const {
  std::lock_guard<std::mutex> lock(m_impl->mutex);
  return m_impl->unauthenticated.size();
}

}  // namespace multichap
