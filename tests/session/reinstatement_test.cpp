// SPDX-License-Identifier: BSD-2-Clause
// Session and connection reinstatement on the target (RFC 7143 §6.3.4, §6.3.5): a leading login
// with the ISID and InitiatorName of a live session replaces it and its connections are closed; a
// non-leading login with a CID already in use takes that CID over and the old connection is
// closed, without ending the session. First on the sans-I/O machines in memory (the registry and
// take_displaced()), then on a running Target over loopback TCP (the old socket sees EOF).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/hash_backend.h"
#include "session/initiator_login.h"
#include "session/pdu.h"
#include "session/session_authenticator.h"
#include "session/target.h"
#include "session/target_connection.h"
#include "tests/support/identities.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

using test::kInitiatorIqn;
using test::kTargetIqn;
using test::start_target;

constexpr Isid kIsid = {0x80, 0x12, 0x34, 0x56, 0x00, 0x01};

std::shared_ptr<const HashBackend> backend() {
  static const auto instance = make_default_backend().value();
  return instance;
}

TargetOptions target_options() {
  TargetOptions options;
  options.target_name = std::string(kTargetIqn);
  options.chap = test::target_config(false);
  options.backend = backend();
  options.log_logins = false;
  return options;
}

std::unique_ptr<InitiatorAuthenticator> initiator_auth() {
  return test::initiator_auth(backend(), false);
}

InitiatorLoginParams login_params(bool leading, std::uint16_t tsih, std::uint16_t cid) {
  InitiatorLoginParams params;
  params.initiator_name = std::string(kInitiatorIqn);
  params.target_name = std::string(kTargetIqn);
  params.isid = kIsid;
  params.leading = leading;
  params.tsih = tsih;
  params.cid = cid;
  params.itt = 1;
  return params;
}

// The machines side by side: one TargetConnection per connection, all sharing one registry, as
// Target runs them.
class Machines : public ::testing::Test {
 protected:
  void SetUp() override {
    m_options = target_options();
    m_access = ValidTargetAccess::create(access_of(m_options), backend()).value();
  }

  // Runs one login on a new target connection; returns it (in full feature phase on success).
  std::unique_ptr<TargetConnection> login(bool leading, std::uint16_t tsih, std::uint16_t cid,
                                          std::uint16_t* tsih_out = nullptr) {
    auto conn = std::make_unique<TargetConnection>(m_options, m_registry, "127.0.0.1:4000",
                                                   Clock::now(), m_access);
    auto auth = initiator_auth();
    InitiatorLogin initiator(login_params(leading, tsih, cid), *auth);
    initiator.start();
    for (int round = 0; round < 16 && !initiator.done(); ++round) {
      conn->receive(initiator.take_output(), Clock::now());
      initiator.receive(conn->take_output());
    }
    EXPECT_TRUE(initiator.succeeded());
    EXPECT_EQ(conn->phase(), TargetConnection::Phase::full_feature);
    if (tsih_out != nullptr) *tsih_out = initiator.tsih();
    return conn;
  }

  TargetOptions m_options;
  SessionRegistry m_registry{8};
  std::shared_ptr<const ValidTargetAccess> m_access;
};

TEST_F(Machines, ALoginDisplacesNothingWhenItsSessionIsNew) {
  auto a = login(true, 0, 1);
  EXPECT_NE(a->session_token(), 0u);
  EXPECT_TRUE(a->take_displaced().empty());
  EXPECT_EQ(m_registry.session_count(), 1u);
}

TEST_F(Machines, SessionReinstatementDisplacesEveryConnectionOfTheOldSession) {
  std::uint16_t tsih = 0;
  auto a = login(true, 0, 1, &tsih);
  ASSERT_NE(tsih, 0);
  auto a2 = login(false, tsih, 2);  // a second connection of the same session
  EXPECT_TRUE(a2->take_displaced().empty());
  ASSERT_EQ(m_registry.session_count(), 1u);

  std::uint16_t new_tsih = 0;
  auto b = login(true, 0, 1, &new_tsih);  // same ISID and InitiatorName: reinstatement
  EXPECT_NE(new_tsih, tsih);
  std::vector<std::uint64_t> displaced = b->take_displaced();
  std::sort(displaced.begin(), displaced.end());
  std::vector<std::uint64_t> expected = {a->session_token(), a2->session_token()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(displaced, expected);
  EXPECT_TRUE(b->take_displaced().empty()) << "taken once";

  // The driver closes the old connections: the new session is untouched.
  a->abort("displaced");
  a2->abort("displaced");
  EXPECT_EQ(m_registry.session_count(), 1u);
  b->abort("test over");
  EXPECT_EQ(m_registry.session_count(), 0u);
}

TEST_F(Machines, ConnectionReinstatementDisplacesTheOldConnectionAndKeepsTheSession) {
  std::uint16_t tsih = 0;
  auto a = login(true, 0, 1, &tsih);
  auto b = login(false, tsih, 1);  // CID 1 again: connection reinstatement
  EXPECT_EQ(b->take_displaced(), std::vector<std::uint64_t>{a->session_token()});
  EXPECT_NE(a->session_token(), b->session_token());

  // The old connection closing must not end the session its CID now belongs to.
  a->abort("displaced");
  EXPECT_EQ(m_registry.session_count(), 1u);
  auto c = login(false, tsih, 2);  // the session still takes connections
  EXPECT_TRUE(c->take_displaced().empty());
  b->abort("test over");
  EXPECT_EQ(m_registry.session_count(), 1u);
  c->abort("test over");
  EXPECT_EQ(m_registry.session_count(), 0u);
}

TEST(SessionRegistry, ADisplacedSeatGivenBackChangesNothing) {
  SessionRegistry registry(4);
  const std::string name(kInitiatorIqn);
  auto first = registry.join(kIsid, name, true, 0, 1, false);
  ASSERT_TRUE(first.has_value());
  auto second = registry.join(kIsid, name, false, first->seat.tsih, 1, false);
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->displaced, std::vector<std::uint64_t>{first->seat.token});
  registry.leave(first->seat);  // the old connection closes late
  EXPECT_EQ(registry.session_count(), 1u);
  registry.leave(second->seat);
  EXPECT_EQ(registry.session_count(), 0u);
}

// ---- on a running Target ----------------------------------------------------------------------

// A login over a real socket, driven by the initiator machine with blocking reads.
struct LiveLogin {
  Connection conn;
  std::uint16_t tsih = 0;
};

std::optional<LiveLogin> live_login(std::uint16_t port, bool leading, std::uint16_t tsih,
                                    std::uint16_t cid) {
  auto connected = Connection::connect(Endpoint{"127.0.0.1", port}, Millis(2000));
  if (!connected) return std::nullopt;
  LiveLogin out{std::move(connected).value(), 0};
  auto auth = initiator_auth();
  InitiatorLogin login(login_params(leading, tsih, cid), *auth);
  login.start();
  const auto deadline = Clock::now() + Millis(5000);
  Bytes buffer(8192);
  while (!login.done()) {
    const Bytes request = login.take_output();
    if (!request.empty() && !out.conn.write_all(ByteView(request), deadline)) return std::nullopt;
    if (login.done()) break;
    auto n = out.conn.read_some(MutableByteView(buffer.data(), buffer.size()), deadline);
    if (!n || *n == 0) return std::nullopt;
    login.receive(ByteView(buffer.data(), *n));
  }
  if (!login.succeeded()) return std::nullopt;
  out.tsih = login.tsih();
  return out;
}

// Whether the target closed conn within timeout (a read sees EOF or a reset).
bool closed_by_target(Connection& conn, Millis timeout) {
  Bytes buffer(256);
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto n = conn.read_some(MutableByteView(buffer.data(), buffer.size()), deadline);
    if (!n) {  // an end of stream or a reset; a timeout is not
      return n.error().code == ErrorCode::connection_closed ||
             n.error().code == ErrorCode::read_failed;
    }
    if (*n == 0) return true;
  }
  return false;
}

TEST(LiveTarget, SessionReinstatementClosesTheOldSessionsConnection) {
  auto target = start_target(target_options());
  ASSERT_NE(target, nullptr);
  auto a = live_login(target->port(), true, 0, 1);
  ASSERT_TRUE(a.has_value());
  auto b = live_login(target->port(), true, 0, 1);  // same ISID and InitiatorName
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(a->tsih, b->tsih);
  EXPECT_TRUE(closed_by_target(a->conn, Millis(3000)));
  EXPECT_FALSE(closed_by_target(b->conn, Millis(200))) << "the new session stays";
  EXPECT_EQ(target->session_count(), 1u);
}

TEST(LiveTarget, ConnectionReinstatementClosesTheOldConnectionOnly) {
  auto target = start_target(target_options());
  ASSERT_NE(target, nullptr);
  auto a = live_login(target->port(), true, 0, 1);
  ASSERT_TRUE(a.has_value());
  auto b = live_login(target->port(), false, a->tsih, 1);  // takes CID 1 over
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(closed_by_target(a->conn, Millis(3000)));
  EXPECT_FALSE(closed_by_target(b->conn, Millis(200)));
  EXPECT_EQ(target->session_count(), 1u);
  auto c = live_login(target->port(), false, a->tsih, 2);
  EXPECT_TRUE(c.has_value()) << "the session still takes connections";
}

}  // namespace
}  // namespace multichap
