// SPDX-License-Identifier: BSD-2-Clause
// serve_storm/*: the installed-style `multichap serve` process (the CLI binary, not a Target in
// this process) under storms, with its limits raised so that nothing is evicted or refused:
//   serve_storm/idle_and_drip/10000   5,000 idle connections and 5,000 that send one byte of a
//                                     login request every second are held open while valid
//                                     mutual SHA-256 logins run one after another; reports their
//                                     median and worst latency and how many storm connections
//                                     the target dropped (must be 0);
//   serve_storm/sessions/10000        10,000 logged-in sessions held open, then new logins;
//   serve_storm/concurrent/1000       1,000 logins at once (the load client of login_bench.cpp).
// Every login must succeed (failures are reported and fail the row).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "bench/loopback.h"
#include "bench/serve_process.h"
#include "bench/suites.h"
#include "session/initiator.h"

namespace multichap::bench {

namespace {

constexpr const char* kIqn = "iqn.2026-11.org.multichap:storm";
constexpr const char* kUser = "storm-initiator";
constexpr const char* kSecret = "storm-secret-0123456789";
constexpr const char* kTargetUser = "storm-target";
constexpr const char* kTargetSecret = "storm-target-secret-987";

// multichap serve with mutual CHAP and every limit raised, so nothing is evicted or refused.
class Serve : public ServeProcess {
 public:
  Serve()
      : ServeProcess({"--quiet", "--target", kIqn, "--user", kUser, "--target-user", kTargetUser,
                      "--login-timeout", "3600", "--max-unauthenticated", "20000",
                      "--max-unauthenticated-per-source", "1000"},
                     {std::string("MULTICHAP_SECRET=") + kSecret,
                      std::string("MULTICHAP_TARGET_SECRET=") + kTargetSecret}) {}
};

// A connection from 127.0.(3 + i / 250 % 200).(1 + i % 250): storm clients are many hosts.
int connect_storm(std::uint16_t port, std::size_t i) {
  const auto x = static_cast<std::uint32_t>(3 + i / 250 % 200);
  const auto y = static_cast<std::uint32_t>(1 + i % 250);
  const int fd = connect_loopback_from(loopback_address(x, y), port);
  if (fd < 0) return -1;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// How many of fds the peer has closed (readable with EOF or an error).
std::size_t closed_count(const std::vector<int>& fds) {
  std::vector<pollfd> p;
  p.reserve(fds.size());
  for (const int fd : fds) p.push_back(pollfd{fd, POLLIN, 0});
  ::poll(p.data(), p.size(), 0);
  std::size_t closed = 0;
  for (const auto& e : p) {
    if ((e.revents & (POLLHUP | POLLERR)) != 0) {
      ++closed;
    } else if ((e.revents & POLLIN) != 0) {
      char c;
      if (::recv(e.fd, &c, 1, MSG_PEEK) <= 0) ++closed;
    }
  }
  return closed;
}

Result<std::unique_ptr<InitiatorSession>> login_session(std::uint16_t port, bool mutual,
                                                        Algorithm alg) {
  ChapInitiatorConfig config;
  config.local = ChapCredentials{kUser, Secret::from_text(kSecret)};
  if (mutual) config.target = ChapCredentials{kTargetUser, Secret::from_text(kTargetSecret)};
  config.policy.algorithms = {alg};
  MULTICHAP_ASSIGN_OR_RETURN(
      auto auth, InitiatorAuthenticator::create(std::move(config), make_default_backend().value()));
  InitiatorOptions options;
  options.portal = Endpoint{"127.0.0.1", port};
  options.target_name = kIqn;
  // A host of its own: 10,000 sessions of one InitiatorName would share 24-bit random ISIDs and
  // reinstate (replace) each other.
  static unsigned host = 0;
  options.initiator_name = "iqn.2026-11.org.multichap:storm.host" + std::to_string(host++);
  options.max_attempts = 1;
  MULTICHAP_ASSIGN_OR_RETURN(auto session, InitiatorSession::create(options, std::move(auth)));
  MULTICHAP_GUARD(session->login());
  return session;
}

void idle_and_drip(benchmark::State& state) {
  raise_descriptor_limit();
  Serve serve;
  if (!serve.ready()) return state.SkipWithError("multichap serve did not start");
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  std::vector<int> idle;
  std::vector<int> drip;
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = connect_storm(serve.port(), i);
    if (fd < 0) break;
    (i % 2 == 0 ? idle : drip).push_back(fd);
  }
  if (idle.size() + drip.size() < n) {
    for (const int fd : idle) ::close(fd);
    for (const int fd : drip) ::close(fd);
    return state.SkipWithError("could not open the storm connections");
  }
  // One byte of a login header per second on each dripping connection (never a whole header
  // within the row: 48 bytes would take 48 s).
  std::atomic<bool> stop{false};
  std::thread dripper([&] {
    const std::uint8_t login_opcode = 0x43;
    while (!stop.load()) {
      for (const int fd : drip) (void)::send(fd, &login_opcode, 1, MSG_NOSIGNAL);
      for (int i = 0; i < 10 && !stop.load(); ++i) std::this_thread::sleep_for(Millis(100));
    }
  });
  std::vector<double> latencies_ms;
  std::int64_t failures = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto session = login_session(serve.port(), true, Algorithm::sha256);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(ms / 1000.0);
    latencies_ms.push_back(ms);
    if (!session || !(*session)->logout()) ++failures;
  }
  stop.store(true);
  dripper.join();
  const std::size_t dropped = closed_count(idle) + closed_count(drip);
  for (const int fd : idle) ::close(fd);
  for (const int fd : drip) ::close(fd);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  state.counters["storm_connections"] = static_cast<double>(n);
  state.counters["storm_dropped"] = static_cast<double>(dropped);
  state.counters["failures"] = static_cast<double>(failures);
  if (!latencies_ms.empty()) {
    state.counters["median_ms"] = latencies_ms[latencies_ms.size() / 2];
    state.counters["worst_ms"] = latencies_ms.back();
  }
  if (failures > 0 || dropped > 0) state.SkipWithError("a login failed or the target dropped some");
}

void sessions(benchmark::State& state) {
  raise_descriptor_limit();
  Serve serve;
  if (!serve.ready()) return state.SkipWithError("multichap serve did not start");
  const int n = static_cast<int>(state.range(0));
  std::vector<std::unique_ptr<InitiatorSession>> held;
  held.reserve(static_cast<std::size_t>(n));
  std::int64_t failures = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto s = login_session(serve.port(), false, Algorithm::md5);
    if (!s) {
      ++failures;
      continue;
    }
    held.push_back(std::move(s).value());
  }
  const double fill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> latencies_ms;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto s = login_session(serve.port(), true, Algorithm::sha256);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(ms / 1000.0);
    latencies_ms.push_back(ms);
    if (!s || !(*s)->logout()) ++failures;
  }
  std::size_t answering = 0;
  for (const std::size_t i : {std::size_t{0}, held.size() / 2, held.size() - 1}) {
    if (i < held.size() && held[i]->ping()) ++answering;
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  state.counters["sessions_held"] = static_cast<double>(held.size());
  state.counters["fill_logins_per_s"] = fill_s > 0 ? static_cast<double>(n) / fill_s : 0.0;
  state.counters["held_sessions_answering_nop"] = static_cast<double>(answering);
  state.counters["failures"] = static_cast<double>(failures);
  if (!latencies_ms.empty()) state.counters["median_ms"] = latencies_ms[latencies_ms.size() / 2];
  held.clear();  // closes every connection
  if (failures > 0 || answering < 3) state.SkipWithError("a login failed or a session was lost");
}

}  // namespace

void register_serve_storm_benchmarks() {
  benchmark::RegisterBenchmark("serve_storm/idle_and_drip", idle_and_drip)
      ->Arg(10000)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(200);
  benchmark::RegisterBenchmark("serve_storm/sessions", sessions)
      ->Arg(10000)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(100);
}

}  // namespace multichap::bench
