// SPDX-License-Identifier: BSD-2-Clause
// login_loopback/{ours,tgtd}/md5/N: N initiators log in (one-way CHAP-MD5, then log out) at once
// over loopback TCP, against `multichap serve` and against tgtd (each a process started here), with
// the same client (an Asio load client driving InitiatorLogin machines, N logins in flight on one
// thread) and the same algorithm (MD5, the one both speak).
// Reports logins per second of wall time. Our target runs with serve's default busy polling
// (50 us after each burst of work); login_loopback/ours-nopoll/md5/{1,16} is the same target
// with --busy-poll 0, where polling matters.
// login_loopback_idle/{ours,tgtd}/md5/N: the same while 5,000 idle connections (from 250 loopback
// source addresses, never sending a byte) are held open against that target.
// login_latency_idle/ours/sha256_mutual, login_latency_idle/tgtd/md5: one valid login while the
// 5,000 idle connections are held (our goal: a mutual SHA-256 login under 100 ms).
// idle_memory/{ours,tgtd}: resident memory the target process spends per idle connection (its
// VmRSS before and after the 5,000 are opened).
// storm_one_address/ours/sha256_mutual, storm_one_address/tgtd/md5: 5,000 idle and 100 slow-drip
// connections from 127.0.0.1, then 500 valid logins one after another from 127.0.0.1 too (many
// initiators behind one address: NAT, a hypervisor host, a Kubernetes node), each against a fresh
// target with its default limits. Reports how many logins succeeded (all must).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <dirent.h>
#include <array>
#include <asio.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/loopback.h"
#include "bench/serve_process.h"
#include "bench/suites.h"
#include "session/initiator.h"
#include "session/initiator_login.h"
#include "session/session_registry.h"
#include "session/target.h"
#include "session/target_connection.h"

extern char** environ;

namespace multichap::bench {

namespace {

constexpr const char* kTargetName = "iqn.2026-11.org.multichap:bench";
constexpr const char* kUser = "bench-initiator";
constexpr const char* kSecret = "bench-secret-0123456789";
constexpr const char* kTargetSecret = "bench-target-secret-9876";
constexpr int kConcurrency[] = {1, 16, 256, 1000};
constexpr std::size_t kIdle = 5000;

std::uint16_t free_port() {
  auto l = Listener::listen(Endpoint{"127.0.0.1", 0});
  return l ? l->port() : 0;
}

// VmRSS of a process in KiB (0 when unreadable).
long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) +
                       "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// Connections that connect and never send a byte, from 127.0.1.1 .. 127.0.1.250.
class IdleConnections {
 public:
  IdleConnections(std::uint16_t port, std::size_t n) {
    raise_descriptor_limit();
    for (std::size_t i = 0; i < n; ++i) {
      const int fd =
          connect_loopback_from(loopback_address(1, 1 + static_cast<std::uint32_t>(i % 250)), port);
      if (fd < 0) break;
      m_fds.push_back(fd);
    }
  }
  ~IdleConnections() {
    for (const int fd : m_fds) ::close(fd);
  }
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;
  std::size_t size() const { return m_fds.size(); }

 private:
  std::vector<int> m_fds;
};

int run_quiet(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

// A private tgtd on 127.0.0.1 with one target and one CHAP account; killed on destruction.
class Tgtd {
 public:
  // instance: a second tgtd of this process takes another control port.
  explicit Tgtd(int instance = 0) {
    if (run_quiet("{ command -v tgtd && command -v tgtadm; }") != 0) return;
    m_port = free_port();
    m_control = std::to_string(20000 + (getpid() + 10 * instance) % 10000);
    const std::string portal = "portal=127.0.0.1:" + std::to_string(m_port);
    const char* argv[] = {"tgtd",    "-f",           "-C",   m_control.c_str(),
                          "--iscsi", portal.c_str(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&m_pid, "tgtd", &actions, nullptr, const_cast<char**>(argv), environ) != 0)
      m_pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    if (m_pid <= 0) return;
    const std::string adm = "tgtadm -C " + m_control + " --lld iscsi ";
    for (int i = 0; i < 200 && run_quiet("tgtadm -C " + m_control + " --op show --mode sys") != 0;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    m_ready = run_quiet(adm + "--op new --mode target --tid 1 -T " + kTargetName) == 0 &&
              run_quiet(adm + "--op bind --mode target --tid 1 -I ALL") == 0 &&
              run_quiet(adm + "--op new --mode account --user " + kUser + " --password " +
                        kSecret) == 0 &&
              run_quiet(adm + "--op bind --mode account --tid 1 --user " + kUser) == 0;
  }
  ~Tgtd() {
    if (m_pid <= 0) return;
    run_quiet("tgtadm -C " + m_control + " --op delete --mode target --tid 1 --force");
    run_quiet("tgtadm -C " + m_control + " --op delete --mode system");
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
    // tgtd never removes its control socket and lock files.
    for (const char* suffix : {"", ".lock"}) {
      std::remove(("/run/tgtd/socket." + m_control + suffix).c_str());
    }
  }
  Tgtd(const Tgtd&) = delete;
  Tgtd& operator=(const Tgtd&) = delete;
  bool ready() const { return m_ready; }
  std::uint16_t port() const { return m_port; }
  pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
  std::uint16_t m_port = 0;
  std::string m_control;
  bool m_ready = false;
};

// Our target: `multichap serve` in its own process, as tgtd is, with the same account (and an
// identity for mutual CHAP). The idle rows hold 5,000 connections for the whole run: the login
// deadline and the cap on connections not logged in are raised so that none is closed or evicted
// while they are measured; the per-source cap stays at its default (64; the clients come from 250
// addresses).
// busy_poll: serve's default (50 us of polling after each burst of work), or --busy-poll 0.
struct OurTarget {
  explicit OurTarget(bool busy_poll)
      : serve({"--quiet", "--target", kTargetName, "--user", kUser, "--target-user", kTargetName,
               "--login-timeout", "600", "--max-unauthenticated", "10000", "--busy-poll",
               busy_poll ? "50" : "0"},
              {std::string("MULTICHAP_SECRET=") + kSecret,
               std::string("MULTICHAP_TARGET_SECRET=") + kTargetSecret}) {}
  ServeProcess serve;
  bool ready() const { return serve.ready(); }
  std::uint16_t port() const { return serve.port(); }
};

// A TCP connection to 127.0.0.1:port from the loopback address 127.0.2.(1 + host % 250): each
// client is a host of its own, as in a rack booting at once (and as the target's per-source cap
// expects).
Result<Connection> connect_from(std::uint16_t port, unsigned host) {
  const int fd = connect_loopback_from(loopback_address(2, 1 + host % 250), port);
  if (fd < 0) return make_error(ErrorKind::io, "connect failed");
  return Connection(fd);
}

std::atomic<unsigned> g_next_host{0};

// One login + logout with our initiator (MD5 one-way by default), from a loopback address of its
// own, or from source (host byte order) when given. Returns whether it succeeded.
bool one_login(std::uint16_t port, Algorithm alg = Algorithm::md5, bool mutual = false,
               std::uint32_t source = 0) {
  ChapInitiatorConfig config;
  config.local = ChapCredentials{kUser, Secret::from_text(kSecret)};
  if (mutual) config.target = ChapCredentials{kTargetName, Secret::from_text(kTargetSecret)};
  config.policy.algorithms = {alg};
  auto auth = InitiatorAuthenticator::create(std::move(config), *make_default_backend());
  if (!auth) return false;
  InitiatorOptions options;
  options.portal = Endpoint{"127.0.0.1", port};
  options.target_name = kTargetName;
  options.max_attempts = 1;
  const unsigned host = g_next_host.fetch_add(1);
  options.connector = [port, host, source]() -> Result<Connection> {
    if (source == 0) return connect_from(port, host);
    const int fd = connect_loopback_from(source, port);
    if (fd < 0) return make_error(ErrorKind::io, "connect failed");
    return Connection(fd);
  };
  auto session = InitiatorSession::create(options, std::move(auth).value());
  if (!session || !(*session)->login()) return false;
  return static_cast<bool>((*session)->logout());
}

// The load client: N logins in flight at once on ONE thread (Asio), each from its own loopback
// source address, each an InitiatorLogin machine (the one InitiatorSession drives) followed by a
// Logout. No thread per login, so 1,000 concurrent logins cost the client what 1 does.
class LoadClient {
 public:
  explicit LoadClient(std::uint16_t port) : m_port(port) {
    auto config = std::make_shared<ChapInitiatorConfig>();
    config->local = ChapCredentials{kUser, Secret::from_text(kSecret)};
    config->policy.algorithms = {Algorithm::md5};
    m_config = config;
    m_backend = make_default_backend().value();
  }

  // Runs n logins started at once; returns how many failed.
  int run(int n) {
    m_failed = 0;
    m_left = n;
    for (int i = 0; i < n; ++i) std::make_shared<Login>(*this)->start();
    m_io.restart();
    m_io.run();
    return m_failed;
  }

 private:
  struct Login : std::enable_shared_from_this<Login> {
    explicit Login(LoadClient& client) : client(client), socket(client.m_io) {}

    void start() {
      host = g_next_host.fetch_add(1);
      asio::error_code ec;
      socket.open(asio::ip::tcp::v4(), ec);
      socket.bind(asio::ip::tcp::endpoint(
                      asio::ip::address_v4((127u << 24) | (2u << 8) | (1 + host % 250)), 0),
                  ec);
      if (ec) return finish(false);
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      socket.async_connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), client.m_port),
                           [self = shared_from_this()](const asio::error_code& error) {
                             if (error) return self->finish(false);
                             self->begin_login();
                           });
    }

    void begin_login() {
      auto created = InitiatorAuthenticator::create(client.m_config, client.m_backend);
      if (!created) return finish(false);
      auth = std::move(created).value();
      InitiatorLoginParams params;
      params.initiator_name = "iqn.2026-11.org.multichap:load";
      params.target_name = kTargetName;
      // A session of its own: ISID type 10b with the login's number (RFC 7143 §11.12.5); the
      // same ISID from the same initiator would reinstate, and end, another login's session.
      params.isid = {0x80,
                     static_cast<std::uint8_t>(host >> 16),
                     static_cast<std::uint8_t>(host >> 8),
                     static_cast<std::uint8_t>(host),
                     0,
                     0};
      params.itt = 1;
      login = std::make_unique<InitiatorLogin>(std::move(params), *auth);
      login->start();
      pump();
    }

    // Sends what the machine queued, then reads until it is done.
    void pump() {
      if (login->done()) {
        if (!login->succeeded()) return finish(false);
        return logout();
      }
      if (login->has_output()) {
        out = login->take_output();
        asio::async_write(socket, asio::buffer(out),
                          [self = shared_from_this()](const asio::error_code& error, std::size_t) {
                            if (error)
                              self->login->transport_failed(
                                  Error{ErrorKind::io, ErrorCode::write_failed, "write"});
                            self->pump();
                          });
        return;
      }
      socket.async_read_some(asio::buffer(in), [self = shared_from_this()](
                                                   const asio::error_code& error, std::size_t n) {
        if (error) {
          self->login->transport_failed(
              Error{ErrorKind::io, ErrorCode::read_failed, error.message()});
        } else {
          self->login->receive(ByteView(self->in.data(), n));
        }
        self->pump();
      });
    }

    void logout() {
      LogoutRequest req;
      req.itt = 2;
      req.cmd_sn = 1;
      req.exp_stat_sn = login->exp_stat_sn();
      out = encode(req).serialize();
      asio::async_write(socket, asio::buffer(out),
                        [self = shared_from_this()](const asio::error_code& error, std::size_t) {
                          if (error) return self->finish(false);
                          asio::async_read(
                              self->socket, asio::buffer(self->in.data(), kBhsSize),
                              [self](const asio::error_code& read_error, std::size_t) {
                                self->finish(!read_error && (self->in[0] & 0x3f) == 0x26);
                              });
                        });
    }

    void finish(bool ok) {
      if (finished) return;
      finished = true;
      asio::error_code ec;
      socket.close(ec);
      if (!ok) ++client.m_failed;
      --client.m_left;
    }

    LoadClient& client;
    unsigned host = 0;
    asio::ip::tcp::socket socket;
    std::unique_ptr<InitiatorAuthenticator> auth;
    std::unique_ptr<InitiatorLogin> login;
    Bytes out;
    std::array<std::uint8_t, 8192> in{};
    bool finished = false;
  };

  std::uint16_t m_port;
  std::shared_ptr<const ChapInitiatorConfig> m_config;
  std::shared_ptr<const HashBackend> m_backend;
  asio::io_context m_io{1};
  int m_failed = 0;
  int m_left = 0;
};

// CPU time a process has used, all its threads, in ns (from /proc/PID/task/*/schedstat).
double process_cpu_ns(pid_t pid) {
  double total = 0;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* dir = ::opendir(tasks.c_str())) {
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream stat(tasks + "/" + e->d_name + "/schedstat");
      double ns = 0;
      if (stat >> ns) total += ns;
    }
    ::closedir(dir);
  }
  return total;
}

// Logins/s, and the target process's own CPU time per login (`target_cpu_us_per_login`): the
// work the target does for a login, whatever else the machine is busy with.
void run_logins(benchmark::State& state, std::uint16_t port, pid_t target_pid) {
  const int n = static_cast<int>(state.range(0));
  LoadClient client(port);
  std::int64_t failures = 0;
  const double cpu_before = process_cpu_ns(target_pid);
  for (auto _ : state) failures += client.run(n);
  const double logins = static_cast<double>(state.iterations()) * n;
  state.counters["target_cpu_us_per_login"] =
      logins > 0 ? (process_cpu_ns(target_pid) - cpu_before) / 1000.0 / logins : 0.0;
  state.counters["logins_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate);
  state.counters["failures"] = static_cast<double>(failures);
  if (failures > 0) state.SkipWithError("some logins failed");
}

// A whole iSCSI login (security and operational stages, then a Logout) between the two sans-I/O
// machines, InitiatorLogin and TargetConnection, in memory: what a login costs in CPU, with no
// socket or thread involved.
void run_machines(benchmark::State& state, Algorithm alg, bool mutual) {
  auto chap = std::make_shared<ChapTargetConfig>();
  chap->accounts.push_back(ChapCredentials{kUser, Secret::from_text(kSecret)});
  chap->local = ChapCredentials{kTargetName, Secret::from_text(kTargetSecret)};
  TargetOptions options;
  options.target_name = kTargetName;
  options.chap = chap;
  options.backend = make_default_backend().value();
  // Validated once, as Target::create does for every connection.
  auto access = ValidTargetAccess::create(access_of(options), options.backend);
  if (!access) {
    state.SkipWithError("invalid target configuration");
    return;
  }
  SessionRegistry registry(8);
  auto config = std::make_shared<ChapInitiatorConfig>();
  config->local = ChapCredentials{kUser, Secret::from_text(kSecret)};
  if (mutual) config->target = ChapCredentials{kTargetName, Secret::from_text(kTargetSecret)};
  config->policy.algorithms = {alg};
  auto auth = InitiatorAuthenticator::create(config, options.backend).value();
  LogoutRequest logout;
  logout.itt = 2;
  std::int64_t failures = 0;
  for (auto _ : state) {
    auth->rewind();
    TargetConnection target(options, registry, "bench", Clock::now(), *access);
    InitiatorLoginParams params;
    params.initiator_name = "iqn.2026-11.org.multichap:load";
    params.target_name = kTargetName;
    params.isid = {0x80, 0, 0, 1, 0, 0};
    params.itt = 1;
    InitiatorLogin login(std::move(params), *auth);
    login.start();
    for (int round = 0; round < 16 && !login.done(); ++round) {
      target.receive(login.take_output(), Clock::now());
      login.receive(target.take_output());
    }
    if (!login.succeeded()) ++failures;
    logout.exp_stat_sn = login.exp_stat_sn();
    target.receive(encode(logout).serialize(), Clock::now());
    benchmark::DoNotOptimize(target.take_output());
  }
  state.counters["logins_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["failures"] = static_cast<double>(failures);
  if (failures > 0) state.SkipWithError("some logins failed");
}

// Started on first use, so filtering these benchmarks out starts no server.
OurTarget& ours() {
  static OurTarget instance(true);
  return instance;
}
OurTarget& ours_without_polling() {
  static OurTarget instance(false);
  return instance;
}
Tgtd& tgtd() {
  static Tgtd instance;
  return instance;
}

// The 5,000 idle connections against each target, opened on first use and held to the end,
// with the target's resident memory before and after.
struct IdleHold {
  long rss_before_kib = 0;
  long rss_after_kib = 0;
  std::unique_ptr<IdleConnections> idle;
};
IdleHold hold_idle(std::uint16_t port, pid_t pid) {
  IdleHold hold;
  hold.rss_before_kib = rss_kib(pid);
  hold.idle = std::make_unique<IdleConnections>(port, kIdle);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the target accept them all
  hold.rss_after_kib = rss_kib(pid);
  return hold;
}
IdleHold& ours_idle() {
  static IdleHold hold = hold_idle(ours().port(), ours().serve.pid());
  return hold;
}
IdleHold& tgtd_idle() {
  static IdleHold hold = hold_idle(tgtd().port(), tgtd().pid());
  return hold;
}

void report_memory(benchmark::State& state, const IdleHold& hold) {
  for (auto _ : state) benchmark::DoNotOptimize(hold.idle->size());
  const double n = static_cast<double>(hold.idle->size());
  state.counters["idle_connections"] = n;
  state.counters["bytes_per_idle_connection"] =
      n > 0 ? static_cast<double>(hold.rss_after_kib - hold.rss_before_kib) * 1024.0 / n : 0.0;
  if (hold.idle->size() < kIdle) state.SkipWithError("could not open 5,000 idle connections");
}

// One login while the idle connections are held; manual time = its latency.
void run_latency(benchmark::State& state, std::uint16_t port, Algorithm alg, bool mutual,
                 const IdleHold& hold) {
  std::int64_t failures = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    if (!one_login(port, alg, mutual)) ++failures;
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.counters["idle_connections"] = static_cast<double>(hold.idle->size());
  state.counters["failures"] = static_cast<double>(failures);
  if (failures > 0) state.SkipWithError("some logins failed");
}

// The storm from the initiators' own address (see the top of the file); one iteration, manual
// time = the 500 logins.
void run_one_address_storm(benchmark::State& state, std::uint16_t port, Algorithm alg,
                           bool mutual) {
  constexpr std::size_t kStormIdle = 5000, kStormDrip = 100, kStormLogins = 500;
  constexpr std::uint32_t kSource = loopback_address(0, 1);
  raise_descriptor_limit();
  std::vector<int> storm;
  for (std::size_t i = 0; i < kStormIdle + kStormDrip; ++i) {
    const int fd = connect_loopback_from(kSource, port);
    if (fd < 0) break;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    storm.push_back(fd);
  }
  // The last 100 send a byte of a login header every second (never a whole header).
  std::atomic<bool> stop{false};
  std::thread dripper([&] {
    const std::uint8_t login_opcode = 0x43;
    while (!stop.load()) {
      for (std::size_t i = kStormIdle; i < storm.size(); ++i) {
        (void)::send(storm[i], &login_opcode, 1, MSG_NOSIGNAL);
      }
      for (int i = 0; i < 10 && !stop.load(); ++i) std::this_thread::sleep_for(Millis(100));
    }
  });
  std::size_t succeeded = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < kStormLogins; ++i)
      succeeded += one_login(port, alg, mutual, kSource);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  stop.store(true);
  dripper.join();
  const std::size_t opened = storm.size();
  for (const int fd : storm) ::close(fd);
  state.counters["storm_connections"] = static_cast<double>(opened);
  state.counters["logins"] = static_cast<double>(kStormLogins);
  state.counters["logins_succeeded"] = static_cast<double>(succeeded);
  if (opened < kStormIdle + kStormDrip) return state.SkipWithError("could not open the storm");
  if (succeeded < kStormLogins) state.SkipWithError("some valid logins were locked out");
}

}  // namespace

void register_login_benchmarks() {
  benchmark::RegisterBenchmark("login_machines/ours/md5", [](benchmark::State& state) {
    run_machines(state, Algorithm::md5, false);
  });
  benchmark::RegisterBenchmark("login_machines/ours/sha256_mutual", [](benchmark::State& state) {
    run_machines(state, Algorithm::sha256, true);
  });
  for (const int n : kConcurrency) {
    auto* b = benchmark::RegisterBenchmark("login_loopback/ours/md5", [](benchmark::State& state) {
      if (!ours().ready()) {
        state.SkipWithError("our target did not start");
        return;
      }
      run_logins(state, ours().port(), ours().serve.pid());
    });
    b->Arg(n)->UseRealTime()->MinTime(0.2);
    auto* t = benchmark::RegisterBenchmark("login_loopback/tgtd/md5", [](benchmark::State& state) {
      if (!tgtd().ready()) {
        state.SkipWithError("tgtd is not available (apt-get install tgt)");
        return;
      }
      run_logins(state, tgtd().port(), tgtd().pid());
    });
    t->Arg(n)->UseRealTime()->MinTime(0.2);
    if (n > 16) continue;
    // Where polling matters (a login or a few at a time): our target with --busy-poll 0.
    auto* q =
        benchmark::RegisterBenchmark("login_loopback/ours-nopoll/md5", [](benchmark::State& state) {
          if (!ours_without_polling().ready()) {
            state.SkipWithError("our target did not start");
            return;
          }
          run_logins(state, ours_without_polling().port(), ours_without_polling().serve.pid());
        });
    q->Arg(n)->UseRealTime()->MinTime(0.2);
  }

  // A storm from the initiators' own address, each against a target of its own.
  benchmark::RegisterBenchmark(
      "storm_one_address/ours/sha256_mutual",
      [](benchmark::State& state) {
        ServeProcess serve(
            {"--quiet", "--target", kTargetName, "--user", kUser, "--target-user", kTargetName},
            {std::string("MULTICHAP_SECRET=") + kSecret,
             std::string("MULTICHAP_TARGET_SECRET=") + kTargetSecret});
        if (!serve.ready()) return state.SkipWithError("our target did not start");
        run_one_address_storm(state, serve.port(), Algorithm::sha256, true);
      })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(
      "storm_one_address/tgtd/md5",
      [](benchmark::State& state) {
        Tgtd fresh(1);
        if (!fresh.ready())
          return state.SkipWithError("tgtd is not available (apt-get install tgt)");
        run_one_address_storm(state, fresh.port(), Algorithm::md5, false);
      })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  // The same with 5,000 idle connections held against each target (registered after the rows
  // above, so those run without them).
  benchmark::RegisterBenchmark("idle_memory/ours", [](benchmark::State& state) {
    if (!ours().ready()) return state.SkipWithError("our target did not start");
    report_memory(state, ours_idle());
  })->Iterations(1);
  benchmark::RegisterBenchmark("idle_memory/tgtd", [](benchmark::State& state) {
    if (!tgtd().ready()) return state.SkipWithError("tgtd is not available (apt-get install tgt)");
    report_memory(state, tgtd_idle());
  })->Iterations(1);
  benchmark::RegisterBenchmark("login_latency_idle/ours/sha256_mutual",
                               [](benchmark::State& state) {
                                 if (!ours().ready())
                                   return state.SkipWithError("our target did not start");
                                 run_latency(state, ours().port(), Algorithm::sha256, true,
                                             ours_idle());
                               })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->MinTime(0.2);
  benchmark::RegisterBenchmark(
      "login_latency_idle/tgtd/md5",
      [](benchmark::State& state) {
        if (!tgtd().ready())
          return state.SkipWithError("tgtd is not available (apt-get install tgt)");
        run_latency(state, tgtd().port(), Algorithm::md5, false, tgtd_idle());
      })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->MinTime(0.2);
  for (const int n : kConcurrency) {
    benchmark::RegisterBenchmark("login_loopback_idle/ours/md5",
                                 [](benchmark::State& state) {
                                   if (!ours().ready())
                                     return state.SkipWithError("our target did not start");
                                   ours_idle();
                                   run_logins(state, ours().port(), ours().serve.pid());
                                 })
        ->Arg(n)
        ->UseRealTime()
        ->MinTime(0.2);
    benchmark::RegisterBenchmark(
        "login_loopback_idle/tgtd/md5",
        [](benchmark::State& state) {
          if (!tgtd().ready())
            return state.SkipWithError("tgtd is not available (apt-get install tgt)");
          tgtd_idle();
          run_logins(state, tgtd().port(), tgtd().pid());
        })
        ->Arg(n)
        ->UseRealTime()
        ->MinTime(0.2);
  }
}

}  // namespace multichap::bench
