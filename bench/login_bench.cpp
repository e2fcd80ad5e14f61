// login_loopback/{ours,tgtd}/md5/N: N initiators log in (one-way CHAP-MD5, then log out) at once
// over loopback TCP, against our Target (in this process) and against tgtd (started here), with
// the same client (our InitiatorSession) and the same algorithm (MD5, the one both speak).
// Reports logins per second of wall time.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/suites.h"
#include "session/initiator.h"
#include "session/target.h"

extern char** environ;

namespace multichap::bench {

namespace {

constexpr const char* kTargetName = "iqn.2026-11.org.multichap:bench";
constexpr const char* kUser = "bench-initiator";
constexpr const char* kSecret = "bench-secret-0123456789";
constexpr int kConcurrency[] = {1, 16, 256};

std::uint16_t free_port() {
  auto l = Listener::listen(Endpoint{"127.0.0.1", 0});
  return l ? l->port() : 0;
}

int run_quiet(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

// A private tgtd on 127.0.0.1 with one target and one CHAP account; killed on destruction.
class Tgtd {
 public:
  Tgtd() {
    if (run_quiet("{ command -v tgtd && command -v tgtadm; }") != 0) return;
    m_port = free_port();
    m_control = std::to_string(20000 + getpid() % 10000);
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

 private:
  pid_t m_pid = -1;
  std::uint16_t m_port = 0;
  std::string m_control;
  bool m_ready = false;
};

// Our target with the same account, on a free port.
struct OurTarget {
  std::unique_ptr<Target> target;
  OurTarget() {
    auto chap = std::make_shared<ChapTargetConfig>();
    chap->accounts.push_back(ChapCredentials{kUser, Secret::from_text(kSecret)});
    TargetOptions options;
    options.target_name = kTargetName;
    options.chap = chap;
    auto created = Target::create(std::move(options));
    if (!created) return;
    if (!(*created)->listen(Endpoint{"127.0.0.1", 0})) return;
    target = std::move(created).value();
    target->start();
  }
};

// One login + logout with our initiator, MD5 one-way. Returns whether it succeeded.
bool one_login(std::uint16_t port) {
  ChapInitiatorConfig config;
  config.local = ChapCredentials{kUser, Secret::from_text(kSecret)};
  config.policy.algorithms = {Algorithm::md5};
  auto auth = InitiatorAuthenticator::create(std::move(config), *make_default_backend());
  if (!auth) return false;
  InitiatorOptions options;
  options.portal = Endpoint{"127.0.0.1", port};
  options.target_name = kTargetName;
  options.max_attempts = 1;
  auto session = InitiatorSession::create(options, std::move(auth).value());
  if (!session || !(*session)->login()) return false;
  return static_cast<bool>((*session)->logout());
}

void run_logins(benchmark::State& state, std::uint16_t port) {
  const int n = static_cast<int>(state.range(0));
  std::int64_t failures = 0;
  for (auto _ : state) {
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&] {
        if (!one_login(port)) failed.fetch_add(1);
      });
    }
    for (auto& t : threads) t.join();
    failures += failed.load();
  }
  state.counters["logins_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate);
  state.counters["failures"] = static_cast<double>(failures);
  if (failures > 0) state.SkipWithError("some logins failed");
}

// Started on first use, so filtering these benchmarks out starts no server.
OurTarget& ours() {
  static OurTarget instance;
  return instance;
}
Tgtd& tgtd() {
  static Tgtd instance;
  return instance;
}

}  // namespace

void register_login_benchmarks() {
  for (const int n : kConcurrency) {
    auto* b = benchmark::RegisterBenchmark("login_loopback/ours/md5", [](benchmark::State& state) {
      if (!ours().target) {
        state.SkipWithError("our target did not start");
        return;
      }
      run_logins(state, ours().target->port());
    });
    b->Arg(n)->UseRealTime()->MinTime(0.2);
    auto* t = benchmark::RegisterBenchmark("login_loopback/tgtd/md5", [](benchmark::State& state) {
      if (!tgtd().ready()) {
        state.SkipWithError("tgtd is not available (apt-get install tgt)");
        return;
      }
      run_logins(state, tgtd().port());
    });
    t->Arg(n)->UseRealTime()->MinTime(0.2);
  }
}

}  // namespace multichap::bench
