// SPDX-License-Identifier: BSD-2-Clause
// The brute-force defence (session/login_guard.h) on its own (bounded memory over 100,000
// rotating names and addresses, lockout, reset on success) and in a running Target against a
// guessing client of our own (raw login PDUs from 127.0.0.3): its rate drops by >= 100x after
// the threshold and it never gets in, while a valid initiator from 127.0.0.1 logs in normally.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "auth/chap.h"
#include "auth/encoding.h"
#include "session/initiator.h"
#include "session/login_guard.h"
#include "session/session_authenticator.h"
#include "session/target.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

const std::string kIqn = "iqn.2026-11.org.multichap:guarded";
const std::string kUser = "valid-user";
const std::string kSecret = "valid-secret-0001";

TEST(LoginGuard, LocksOutAfterTheThresholdAndASuccessResets) {
  LoginGuardPolicy p;
  p.lockout_failures = 3;
  p.source_lockout_failures = 100;
  p.base_delay = Millis(10);
  p.max_delay = Millis(1000);
  LoginGuard guard(p);
  const auto t0 = Clock::now();
  EXPECT_EQ(guard.failed("10.0.0.1", "u", t0).delay, Millis(10));
  EXPECT_EQ(guard.failed("10.0.0.1", "u", t0).delay, Millis(20));
  guard.succeeded("10.0.0.1", "u");  // resets the (source, name) counter, not the source's
  EXPECT_EQ(guard.failed("10.0.0.1", "u", t0).delay, Millis(40));  // the source's 3rd failure
  EXPECT_FALSE(guard.failed("10.0.0.1", "u", t0).new_lockout);
  const auto third = guard.failed("10.0.0.1", "u", t0);
  EXPECT_TRUE(third.new_lockout);
  EXPECT_EQ(third.delay, Millis(1000));
  EXPECT_TRUE(guard.locked("10.0.0.1", "u", t0));
  EXPECT_FALSE(guard.locked("10.0.0.2", "u", t0));  // other sources unaffected
  EXPECT_FALSE(guard.locked("10.0.0.1", "v", t0));
  EXPECT_FALSE(guard.locked("10.0.0.1", "u", t0 + p.lockout));  // temporary
  EXPECT_EQ(guard.counters().lockouts, 1u);
}

TEST(LoginGuard, PerSourceCounterCatchesRotatingNames) {
  LoginGuardPolicy p;
  p.source_lockout_failures = 20;
  LoginGuard guard(p);
  const auto t0 = Clock::now();
  for (int i = 0; i < 20; ++i) (void)guard.failed("10.0.0.9", "name" + std::to_string(i), t0);
  EXPECT_TRUE(guard.locked("10.0.0.9", "never-tried", t0));
  EXPECT_FALSE(guard.locked("10.0.0.8", "name1", t0));
}

TEST(LoginGuard, MemoryStaysBoundedOver100000RotatingNamesAndAddresses) {
  LoginGuardPolicy p;
  p.max_entries = 1000;
  LoginGuard guard(p);
  const auto t0 = Clock::now();
  // A locked-out source first: rotation must not evict it before unlocked entries.
  for (int i = 0; i < 30; ++i) (void)guard.failed("10.1.1.1", "n" + std::to_string(i), t0);
  ASSERT_TRUE(guard.locked("10.1.1.1", "x", t0));
  for (int i = 0; i < 100000; ++i) {
    const std::string source =
        "10.2." + std::to_string((i / 250) % 250) + "." + std::to_string(i % 250);
    (void)guard.failed(source, "rotating-" + std::to_string(i), t0);
    ASSERT_LE(guard.counters().entries, 2 * p.max_entries);
  }
  EXPECT_EQ(guard.counters().entries, 2 * p.max_entries);
  EXPECT_GT(guard.counters().evictions, 100000u);
  EXPECT_TRUE(guard.locked("10.1.1.1", "x", t0));
}

TEST(LoginGuard, OffSwitch) {
  LoginGuardPolicy p;
  p.enabled = false;
  LoginGuard guard(p);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(guard.failed("a", "b", Clock::now()).delay, Millis(0));
  EXPECT_FALSE(guard.locked("a", "b", Clock::now()));
  EXPECT_EQ(guard.counters().entries, 0u);
}

// ---- against a running Target ---------------------------------------------------------------

// One password guess with raw PDUs from `source`: security stage, CHAP_A=5, a response computed
// with `secret` (a wrong one, or the right one). Returns the final status (0 success) or -1.
int guess(std::uint16_t port, const char* source, const std::string& name,
          const std::string& secret) {
  const int fd = test::connect_from(source, port);
  if (fd < 0) return -1;
  Connection conn(fd);
  const auto deadline = Clock::now() + Millis(10000);
  LoginRequest req;
  req.csg = kSecurityStage;
  req.isid = {0x80, 1, 2, 3, 4, 5};
  req.itt = 1;
  const auto exchange = [&](const KeyList& keys, bool transit) -> std::optional<LoginResponse> {
    req.transit = transit;
    req.nsg = transit ? kOperationalStage : 0;
    const std::string text = build_text(keys);
    req.data.assign(text.begin(), text.end());
    if (!write_pdu(conn, encode(req), deadline)) return std::nullopt;
    auto pdu = read_pdu(conn, 65536, deadline);
    if (!pdu) return std::nullopt;
    auto r = decode_login_response(*pdu);
    if (!r) return std::nullopt;
    return *r;
  };
  auto r1 = exchange(KeyList{{"InitiatorName", "iqn.2026-11.org.multichap:guesser"},
                             {"SessionType", "Normal"},
                             {"TargetName", kIqn},
                             {"AuthMethod", "CHAP"}},
                     false);
  if (!r1 || r1->status != 0) return r1 ? r1->status : -1;
  auto r2 = exchange(KeyList{{"CHAP_A", "5"}}, false);
  if (!r2 || r2->status != 0) return r2 ? r2->status : -1;
  auto keys = parse_text(ByteView(r2->data));
  if (!keys || keys->find("CHAP_I") == nullptr || keys->find("CHAP_C") == nullptr) return -1;
  auto backend = make_default_backend();
  auto challenge = decode_binary(*keys->find("CHAP_C"), 1024);
  if (!backend || !challenge) return -1;
  std::uint8_t out[64];
  auto n = chap_response(**backend, Algorithm::md5,
                         static_cast<std::uint8_t>(std::stoi(*keys->find("CHAP_I"))),
                         Secret::from_text(secret), ByteView(challenge->data(), challenge->size()),
                         MutableByteView(out, sizeof(out)));
  if (!n) return -1;
  KeyList answer;
  answer.set("CHAP_N", name);
  answer.set("CHAP_R", encode_hex(ByteView(out, *n)));
  auto r3 = exchange(answer, true);
  return r3 ? r3->status : -1;
}

// Our initiator, from 127.0.0.1, with the right secret.
bool valid_login(std::uint16_t port) {
  ChapInitiatorConfig config;
  config.local = ChapCredentials{kUser, Secret::from_text(kSecret)};
  auto backend = make_default_backend();
  auto auth = InitiatorAuthenticator::create(std::move(config), *backend);
  InitiatorOptions options;
  options.portal = Endpoint{"127.0.0.1", port};
  options.target_name = kIqn;
  options.max_attempts = 1;
  auto session = InitiatorSession::create(options, std::move(auth).value());
  return session && (*session)->login() && (*session)->logout();
}

// The targets' log lines, for counting lockout lines.
std::mutex g_log_mutex;
std::vector<std::string> g_log;
std::size_t log_lines_with(const std::string& needle) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  return static_cast<std::size_t>(
      std::count_if(g_log.begin(), g_log.end(),
                    [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
}

std::unique_ptr<Target> start_target(bool guard_on, std::size_t max_entries = 64) {
  auto chap = std::make_shared<ChapTargetConfig>();
  chap->accounts.push_back(ChapCredentials{kUser, Secret::from_text(kSecret)});
  TargetOptions options;
  options.target_name = kIqn;
  options.chap = chap;
  options.threads = 2;
  options.guard.enabled = guard_on;
  options.guard.lockout_failures = 5;
  options.guard.source_lockout_failures = 50;
  options.guard.base_delay = Millis(1);
  options.guard.max_delay = Millis(500);
  options.guard.max_entries = max_entries;
  options.log = [](const std::string& line) {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_log.push_back(line);
  };
  auto target = Target::create(std::move(options));
  EXPECT_TRUE(target.has_value());
  EXPECT_TRUE((*target)->listen(Endpoint{"127.0.0.1", 0}).has_value());
  (*target)->start();
  return std::move(target).value();
}

// Guesses completed within window.
int guesses_in(std::uint16_t port, Millis window, const std::string& name, bool& any_success) {
  int n = 0;
  const auto end = Clock::now() + window;
  while (Clock::now() < end) {
    const int status = guess(port, "127.0.0.3", name, "wrong-guess-" + std::to_string(n));
    if (status == 0) any_success = true;
    if (status < 0) break;
    ++n;
  }
  return n;
}

TEST(LoginGuardTarget, AGuessingClientIsSlowedAtLeast100xAndNeverSucceeds) {
  bool success = false;
  // The same client against the same target without the defence: its normal rate.
  auto open = start_target(false);
  const Millis window(1000);
  const int unthrottled = guesses_in(open->port(), window, kUser, success);
  open->stop();
  ASSERT_GT(unthrottled, 100) << "the baseline itself is too slow to compare";

  auto target = start_target(true);
  const std::uint16_t port = target->port();
  // Up to the threshold (5 failures, 1+2+4+8+16 ms of delays).
  for (int i = 0; i < 5; ++i) EXPECT_EQ(guess(port, "127.0.0.3", kUser, "wrong-first"), 0x0201);
  // A valid initiator from another address, meanwhile, at normal speed.
  std::atomic<bool> done{false};
  std::atomic<int> valid_ok{0}, valid_failed{0};
  std::atomic<long long> valid_worst_ms{0};
  std::thread valid([&] {
    while (!done.load()) {
      const auto t = Clock::now();
      if (valid_login(port)) {
        ++valid_ok;
      } else {
        ++valid_failed;
      }
      const auto ms = std::chrono::duration_cast<Millis>(Clock::now() - t).count();
      if (ms > valid_worst_ms.load()) valid_worst_ms.store(ms);
      std::this_thread::sleep_for(Millis(20));
    }
  });
  const int throttled = guesses_in(port, window, kUser, success);
  // Locked out: even the right secret is answered 0x0201.
  EXPECT_EQ(guess(port, "127.0.0.3", kUser, kSecret), 0x0201);
  done.store(true);
  valid.join();
  const double ratio = static_cast<double>(unthrottled) / std::max(1, throttled);
  std::printf(
      "guesses in %lld ms: %d unthrottled, %d after the threshold (%.0fx slower); valid "
      "logins from 127.0.0.1: %d ok, %d failed, slowest %lld ms\n",
      static_cast<long long>(window.count()), unthrottled, throttled, ratio, valid_ok.load(),
      valid_failed.load(), valid_worst_ms.load());
  EXPECT_GE(ratio, 100.0);
  EXPECT_FALSE(success);
  EXPECT_GT(valid_ok.load(), 5);
  EXPECT_EQ(valid_failed.load(), 0);
  EXPECT_LT(valid_worst_ms.load(), 400);  // a functional deadline, far below the 500 ms delay
  const TargetStats stats = target->stats();
  EXPECT_EQ(stats.lockouts, 1u);
  EXPECT_GT(stats.answers_delayed, 5u);
  EXPECT_GE(stats.guard_refused_locked, 1u);
  EXPECT_EQ(log_lines_with("lockout: CHAP_N 'valid-user' from 127.0.0.3"), 1u);  // once
  EXPECT_EQ(log_lines_with(kSecret), 0u);
}

TEST(LoginGuardTarget, RotatingNamesKeepTheCountersBounded) {
  auto target = start_target(true, 4);
  // Names rotate through tables of 4 entries each: the oldest are forgotten.
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(guess(target->port(), "127.0.0.3", "rot-" + std::to_string(i), "x-secret-000000"),
              0x0201);
  }
  const TargetStats stats = target->stats();
  EXPECT_LE(stats.guard_entries, 8u);
  EXPECT_GE(stats.guard_evictions, 8u);
  EXPECT_EQ(stats.guard_failures, 12u);
}

}  // namespace
}  // namespace multichap
