// SPDX-License-Identifier: BSD-2-Clause
// The target under connection storms (session/target.h): idle, slow-drip and half-open
// connections, headers that cannot be valid, the per-source cap, eviction of connections that
// have not logged in, and a thousand established sessions, while valid logins keep succeeding and
// the thread count stays fixed. Small numbers, bounded loops; loopback sources 127.0.x.y only.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <dirent.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "session/initiator.h"
#include "session/pdu.h"
#include "session/target.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

using test::initiator_auth;
using test::initiator_options;
using test::start_target;
using test::target_config;

// A raw TCP client bound to a chosen loopback source address. Closes on destruction.
class RawClient {
 public:
  RawClient(const std::string& source, std::uint16_t port)
      : m_fd(test::connect_from(source, port)) {}
  ~RawClient() {
    if (m_fd >= 0) ::close(m_fd);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool ok() const { return m_fd >= 0; }
  bool send(const void* data, std::size_t n) {
    return ::send(m_fd, data, n, MSG_NOSIGNAL) == static_cast<ssize_t>(n);
  }
  bool send(const Bytes& bytes) { return send(bytes.data(), bytes.size()); }
  void shutdown_write() { ::shutdown(m_fd, SHUT_WR); }
  // Waits up to timeout for the target to close: true on EOF (or reset). Data is collected.
  bool closed_within(Millis timeout, Bytes* received = nullptr) {
    const auto deadline = Clock::now() + timeout;
    std::uint8_t buf[4096];
    while (Clock::now() < deadline) {
      pollfd pfd{m_fd, POLLIN, 0};
      const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
      if (::poll(&pfd, 1, static_cast<int>(std::max<long long>(left, 1))) <= 0) continue;
      const ssize_t n = ::recv(m_fd, buf, sizeof(buf), 0);
      if (n <= 0) return true;
      if (received != nullptr) received->insert(received->end(), buf, buf + n);
    }
    return false;
  }

 private:
  int m_fd = -1;
};

// 127.0.x.y for i = 0, 1, ...: y from 1 to 250.
std::string source_address(std::size_t i, int x = 1) {
  return "127.0." + std::to_string(x) + "." + std::to_string(1 + i % 250);
}

std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(dir);
  }
  return n;
}

// CPU time this process's threads have used, in ms (/proc/self/task/*/schedstat).
double process_cpu_ms() {
  double ns = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream stat(std::string("/proc/self/task/") + e->d_name + "/schedstat");
      double task_ns = 0;
      if (stat >> task_ns) ns += task_ns;
    }
    ::closedir(dir);
  }
  return ns / 1e6;
}

TargetOptions storm_options() {
  TargetOptions options;
  options.chap = target_config(true, test::policy_with(test::all_algorithms()));
  options.threads = 2;
  return options;
}

// A full mutual SHA-256 login from 127.0.0.1; logged out again unless kept.
// Each session is a host of its own (its own InitiatorName): the ISID is only 24 random bits, so
// 1,000 sessions of one InitiatorName would share an ISID about 3 % of the time, and a login with
// the ISID of an existing session rightly reinstates (replaces) it (RFC 7143 §6.3.5).
Result<std::unique_ptr<InitiatorSession>> valid_login(std::uint16_t port) {
  static std::atomic<unsigned> host{0};
  auto auth =
      initiator_auth(make_default_backend().value(), true, test::policy_with({Algorithm::sha256}));
  if (!auth) return make_error(ErrorKind::internal, "no authenticator");
  auto options = initiator_options(port);
  options.initiator_name += ".host" + std::to_string(host.fetch_add(1));
  options.max_attempts = 1;
  // Generous: under a loaded CI machine a login may wait for a core; the point is that it
  // succeeds, not how fast.
  options.connect_timeout = Millis(10000);
  options.login_timeout = Millis(10000);
  MULTICHAP_ASSIGN_OR_RETURN(auto session, InitiatorSession::create(options, std::move(auth)));
  MULTICHAP_GUARD(session->login());
  return session;
}

// A Login Request header (and data) for a first login PDU with the given text.
Bytes login_pdu(const std::string& text, bool cont = false) {
  LoginRequest req;
  req.transit = false;
  req.cont = cont;
  req.csg = kSecurityStage;
  req.isid = {0x80, 0, 0, 1, 0, 0};
  req.itt = 1;
  req.data.assign(text.begin(), text.end());
  return encode(req).serialize();
}

std::string first_login_text() {
  return std::string("InitiatorName=") + std::string(test::kInitiatorIqn) +
         std::string("\0SessionType=Normal\0TargetName=", 31) + std::string(test::kTargetIqn) +
         std::string("\0AuthMethod=CHAP\0", 17);
}

// A 48-byte header of opcode announcing data_length data bytes.
Bytes header(std::uint8_t opcode, std::uint32_t data_length) {
  Bytes bhs(kBhsSize, 0);
  bhs[0] = static_cast<std::uint8_t>(0x40 | opcode);
  bhs[5] = static_cast<std::uint8_t>(data_length >> 16);
  bhs[6] = static_cast<std::uint8_t>(data_length >> 8);
  bhs[7] = static_cast<std::uint8_t>(data_length);
  return bhs;
}

TEST(Storm, TwoThousandIdleConnectionsThenAValidLogin) {
  auto target = start_target(storm_options());
  ASSERT_TRUE(target);
  std::vector<std::unique_ptr<RawClient>> idle;
  for (std::size_t i = 0; i < 2000; ++i) {
    idle.push_back(std::make_unique<RawClient>(source_address(i), target->port()));
    ASSERT_TRUE(idle.back()->ok()) << "connection " << i;
  }
  ASSERT_TRUE(test::eventually([&] { return target->unauthenticated_connections() == 2000; },
                               Millis(10000)))
      << target->unauthenticated_connections();
  auto session = valid_login(target->port());
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_EQ((*session)->algorithm(), Algorithm::sha256);
  EXPECT_TRUE((*session)->mutual());
  // The loop threads (2) and this one; no thread per connection.
  EXPECT_LE(thread_count(), 4u);
  EXPECT_TRUE((*session)->logout());
  EXPECT_EQ(target->stats().evicted_unauthenticated, 0u);
}

TEST(Storm, SlowDripIsClosedAtTheWholeLoginDeadline) {
  auto options = storm_options();
  options.login_timeout = Millis(1200);
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  RawClient drip(source_address(0), target->port());
  ASSERT_TRUE(drip.ok());
  const Bytes pdu = login_pdu(first_login_text());
  const auto start = Clock::now();
  bool closed = false;
  // One byte every 200 ms: each far inside any per-PDU timeout, the whole far past 1.2 s.
  for (std::size_t i = 0; i < pdu.size() && i < 40 && !closed; ++i) {
    drip.send(&pdu[i], 1);
    closed = drip.closed_within(Millis(200));
  }
  if (!closed) closed = drip.closed_within(Millis(3000));
  EXPECT_TRUE(closed);
  const auto took = std::chrono::duration_cast<Millis>(Clock::now() - start);
  EXPECT_GE(took.count(), 1000);  // not before the deadline
  EXPECT_TRUE(test::eventually([&] { return target->stats().login_deadline_closed == 1; }));
  auto session = valid_login(target->port());
  EXPECT_TRUE(session) << session.error().message;
}

TEST(Storm, PerSourceCapEvictsWithinThatSource) {
  auto options = storm_options();
  options.max_unauthenticated_per_source = 8;
  test::Lines log;
  options.log = log.sink();
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<RawClient>("127.0.0.2", target->port()));
    ASSERT_TRUE(held.back()->ok());
    // One at a time, so that admission order is connection order.
    ASSERT_TRUE(test::eventually(
        [&] { return target->unauthenticated_connections() == static_cast<std::size_t>(i + 1); }));
  }
  // A ninth from that address: the oldest of the eight makes room, not the newcomer.
  RawClient ninth("127.0.0.2", target->port());
  ASSERT_TRUE(ninth.ok());
  EXPECT_TRUE(held.front()->closed_within(Millis(2000)));
  EXPECT_FALSE(ninth.closed_within(Millis(100)));
  EXPECT_EQ(target->stats().evicted_per_source, 1u);
  EXPECT_EQ(target->stats().evicted_unauthenticated, 0u);
  for (std::size_t i = 1; i < held.size(); ++i) EXPECT_FALSE(held[i]->closed_within(Millis(1)));
  EXPECT_EQ(target->unauthenticated_connections(), 8u);
  // Another source is unaffected.
  RawClient other("127.0.0.3", target->port());
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other.closed_within(Millis(100)));
  EXPECT_EQ(target->stats().evicted_per_source, 1u);
  auto session = valid_login(target->port());
  EXPECT_TRUE(session) << session.error().message;
  EXPECT_TRUE(log.contains("max_unauthenticated_per_source"));
}

// At the per-source cap the connection that has made the least progress goes first: one that has
// not sent a complete PDU (idle, or a header dripping in) before one whose login is under way,
// even when the latter is older.
TEST(Storm, PerSourceEvictionSparesLoginsUnderWay) {
  auto options = storm_options();
  options.max_unauthenticated_per_source = 4;
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  const Bytes pdu = login_pdu(first_login_text());
  std::vector<std::unique_ptr<RawClient>> clients;
  // Two logins under way (a complete first PDU each, answered), then an idle connection and one
  // with part of a header.
  for (int i = 0; i < 2; ++i) {
    clients.push_back(std::make_unique<RawClient>("127.0.0.4", target->port()));
    ASSERT_TRUE(clients.back()->ok());
    ASSERT_TRUE(clients.back()->send(pdu));
    Bytes answer;
    clients.back()->closed_within(Millis(300), &answer);
    ASSERT_GE(answer.size(), kBhsSize) << "no answer to login " << i;
  }
  clients.push_back(std::make_unique<RawClient>("127.0.0.4", target->port()));
  ASSERT_TRUE(test::eventually([&] { return target->unauthenticated_connections() == 3; }));
  clients.push_back(std::make_unique<RawClient>("127.0.0.4", target->port()));
  ASSERT_TRUE(clients.back()->send(pdu.data(), 20));
  ASSERT_TRUE(test::eventually([&] { return target->unauthenticated_connections() == 4; }));
  // Two newcomers: the idle one goes, then the dripping one; the logins under way stay.
  RawClient fifth("127.0.0.4", target->port());
  ASSERT_TRUE(fifth.ok());
  EXPECT_TRUE(clients[2]->closed_within(Millis(2000)));
  ASSERT_TRUE(test::eventually([&] { return target->stats().evicted_per_source == 1; }));
  RawClient sixth("127.0.0.4", target->port());
  ASSERT_TRUE(sixth.ok());
  EXPECT_TRUE(clients[3]->closed_within(Millis(2000)));
  EXPECT_FALSE(clients[0]->closed_within(Millis(50)));
  EXPECT_FALSE(clients[1]->closed_within(Millis(1)));
  // Once every connection of the address has a login under way, the oldest of them goes.
  ASSERT_TRUE(fifth.send(pdu));
  ASSERT_TRUE(sixth.send(pdu));
  Bytes answer;
  fifth.closed_within(Millis(300), &answer);
  sixth.closed_within(Millis(300), &answer);
  RawClient seventh("127.0.0.4", target->port());
  ASSERT_TRUE(seventh.ok());
  EXPECT_TRUE(clients[0]->closed_within(Millis(2000)));
  EXPECT_FALSE(clients[1]->closed_within(Millis(50)));
  EXPECT_FALSE(fifth.closed_within(Millis(1)));
  EXPECT_FALSE(sixth.closed_within(Millis(1)));
  EXPECT_EQ(target->stats().evicted_per_source, 3u);
}

// The storm of the field: idle and slow-drip connections from the very address of the valid
// initiators (NAT, a hypervisor host, a Kubernetes node). Every valid login still gets in, and
// the target holds no more than the cap of that address.
TEST(Storm, AStormFromTheInitiatorsOwnAddressLocksNobodyOut) {
  constexpr std::size_t kIdle = 500, kDrip = 20, kLogins = 50;
  auto options = storm_options();
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  std::vector<std::unique_ptr<RawClient>> storm;
  for (std::size_t i = 0; i < kIdle; ++i) {
    storm.push_back(std::make_unique<RawClient>("127.0.0.1", target->port()));
    ASSERT_TRUE(storm.back()->ok()) << "connection " << i;
  }
  const Bytes pdu = login_pdu(first_login_text());
  std::vector<std::unique_ptr<RawClient>> drip;
  for (std::size_t i = 0; i < kDrip; ++i) {
    drip.push_back(std::make_unique<RawClient>("127.0.0.1", target->port()));
    ASSERT_TRUE(drip.back()->ok());
    ASSERT_TRUE(drip.back()->send(pdu.data(), 1));
  }
  std::size_t succeeded = 0;
  for (std::size_t i = 0; i < kLogins; ++i) {
    // The drip goes on between logins, a byte each (it never completes a header; the sends of
    // the connections the target closed fail, and that is fine).
    for (std::size_t d = 0; d < drip.size() && i < 40; ++d) drip[d]->send(&pdu[1 + i], 1);
    auto session = valid_login(target->port());
    if (session) {
      ++succeeded;
      EXPECT_TRUE((*session)->logout());
    } else {
      ADD_FAILURE() << "login " << i << ": " << session.error().message;
    }
  }
  EXPECT_EQ(succeeded, kLogins);
  EXPECT_LE(target->unauthenticated_connections(), 64u);
  EXPECT_GE(target->stats().evicted_per_source, kIdle + kDrip - 64);
  EXPECT_EQ(target->stats().logins_succeeded, kLogins);
}

TEST(Storm, EvictsTheOldestUnauthenticatedNeverASession) {
  auto options = storm_options();
  options.max_unauthenticated = 20;
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  std::vector<std::unique_ptr<InitiatorSession>> sessions;
  for (int i = 0; i < 5; ++i) {
    auto s = valid_login(target->port());
    ASSERT_TRUE(s) << s.error().message;
    sessions.push_back(std::move(s).value());
  }
  std::vector<std::unique_ptr<RawClient>> idle;
  for (std::size_t i = 0; i < 20; ++i) {
    idle.push_back(std::make_unique<RawClient>(source_address(i, 2), target->port()));
    ASSERT_TRUE(idle.back()->ok());
  }
  ASSERT_TRUE(test::eventually([&] { return target->unauthenticated_connections() == 20; }));
  // A valid login needs a slot: the oldest idle connection makes room.
  auto fresh = valid_login(target->port());
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_GE(target->stats().evicted_unauthenticated, 1u);
  // One of the idle connections (the first the target admitted: with a listener per loop, admission
  // order can differ from connect order) was closed to make room, and no other.
  const auto evicted = target->stats().evicted_unauthenticated;
  std::size_t closed = 0;
  ASSERT_TRUE(test::eventually(
      [&] {
        closed = 0;
        for (auto& c : idle) closed += c->closed_within(Millis(1)) ? 1 : 0;
        return closed == evicted;
      },
      Millis(5000)))
      << closed << " closed, " << evicted << " evicted";
  EXPECT_EQ(target->session_count(), 6u);
  for (auto& s : sessions) EXPECT_TRUE(s->ping());  // established sessions untouched
}

TEST(Storm, AHeaderThatCannotBeValidIsClosedWithoutItsData) {
  auto options = storm_options();
  options.login_timeout = Millis(10000);
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  {
    // Before login: an unknown opcode announcing 1,000 bytes that never come.
    RawClient c(source_address(0), target->port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(header(0x1c, 1000)));
    EXPECT_TRUE(c.closed_within(Millis(2000)));
  }
  {
    // Before login: a login header announcing more than 8,192 bytes.
    RawClient c(source_address(1), target->port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(header(0x03, 9000)));
    EXPECT_TRUE(c.closed_within(Millis(2000)));
  }
  {
    // During login: a SCSI Command header announcing 1,000 bytes gets 0x020b at once, then close.
    RawClient c(source_address(2), target->port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(login_pdu(first_login_text())));
    ASSERT_TRUE(c.send(header(0x01, 1000)));
    Bytes received;
    EXPECT_TRUE(c.closed_within(Millis(2000), &received));
    // Two login responses: AuthMethod=CHAP, then the failure status.
    std::size_t at = 0;
    std::uint16_t last_status = 0;
    int responses = 0;
    while (at + kBhsSize <= received.size() && responses < 4) {
      const std::size_t length = (std::size_t{received[at + 5]} << 16) |
                                 (std::size_t{received[at + 6]} << 8) | received[at + 7];
      const std::size_t size = kBhsSize + ((length + 3) & ~std::size_t{3});
      ASSERT_LE(at + size, received.size());
      auto pdu = parse_pdu(ByteView(received.data() + at, size), 8192);
      ASSERT_TRUE(pdu) << pdu.error().message;
      auto resp = decode_login_response(*pdu);
      ASSERT_TRUE(resp);
      last_status = resp->status;
      at += size;
      ++responses;
    }
    EXPECT_EQ(responses, 2);
    EXPECT_EQ(last_status, status::kInvalidDuringLogin);
  }
  EXPECT_EQ(target->stats().login_deadline_closed, 0u);
}

TEST(Storm, HalfOpenConnectionsAreClosed) {
  auto target = start_target(storm_options());
  ASSERT_TRUE(target);
  {
    RawClient c(source_address(0), target->port());
    ASSERT_TRUE(c.ok());
    c.shutdown_write();  // connected, then no more bytes ever
    EXPECT_TRUE(c.closed_within(Millis(2000)));
  }
  {
    RawClient c(source_address(1), target->port());
    ASSERT_TRUE(c.ok());
    const Bytes pdu = login_pdu(first_login_text());
    ASSERT_TRUE(c.send(pdu.data(), 20));  // part of a header, then the write side closes
    c.shutdown_write();
    EXPECT_TRUE(c.closed_within(Millis(2000)));
  }
  EXPECT_TRUE(test::eventually([&] { return target->active_connections() == 0; }));
}

TEST(Storm, ThousandEstablishedSessionsWhileNewLoginsSucceed) {
  auto target = start_target(storm_options());
  ASSERT_TRUE(target);
  std::vector<std::unique_ptr<InitiatorSession>> sessions;
  for (int i = 0; i < 1000; ++i) {
    auto s = valid_login(target->port());
    ASSERT_TRUE(s) << "session " << i << ": " << s.error().message;
    sessions.push_back(std::move(s).value());
  }
  EXPECT_EQ(target->session_count(), 1000u);
  EXPECT_EQ(target->unauthenticated_connections(), 0u);
  EXPECT_LE(thread_count(), 4u);  // no thread per session
  auto fresh = valid_login(target->port());
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_EQ(target->session_count(), 1001u);
  EXPECT_TRUE(sessions.front()->ping());
  EXPECT_TRUE(sessions.back()->ping());
  for (auto& s : sessions) EXPECT_TRUE(s->logout());
  EXPECT_TRUE((*fresh)->logout());
  EXPECT_TRUE(test::eventually([&] { return target->session_count() == 0; }, Millis(10000)));
}

// Busy polling (TargetOptions::busy_poll) only follows work: once the target is idle its loop
// threads sleep. A loop that kept polling would use about as much CPU as the wait below lasts.
TEST(Storm, BusyPollingStopsWhenTheTargetIsIdle) {
  auto options = storm_options();
  options.busy_poll = std::chrono::microseconds(1000);  // the most serve allows
  auto target = start_target(options);
  ASSERT_TRUE(target);
  auto session = valid_login(target->port());
  ASSERT_TRUE(session) << session.error().message;
  EXPECT_TRUE((*session)->logout());
  std::this_thread::sleep_for(Millis(50));  // the last polling window ends
  const double before = process_cpu_ms();
  std::this_thread::sleep_for(Millis(500));
  EXPECT_LT(process_cpu_ms() - before, 100.0);
  auto again = valid_login(target->port());  // and it wakes up for the next login
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE((*again)->logout());
}

}  // namespace
}  // namespace multichap
