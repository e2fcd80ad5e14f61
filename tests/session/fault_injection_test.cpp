// SPDX-License-Identifier: BSD-2-Clause
// Fault injection at each step of a login, from both sides.
//
// Initiator side: a FaultProxy sits between our InitiatorSession and our real Target and, on the
// first connection only, replaces one login response with a fault: the connection dropped, the
// response withheld past the initiator's timeout (a stall), a malformed response, an oversized one
// (DataSegmentLength 9000 > 8192), an out-of-order PDU (a NOP-In where a login response is due) or
// a premature jump to full feature phase. The points are the AuthMethod answer (before the
// challenge), the challenge itself, the transit after a one-way response (after the challenge),
// the target's CHAP_R (mid-mutual) and the final operational response (mid-operational). A
// lost connection or a stall must make the initiator retry on a fresh connection with a rewound
// authenticator and succeed; anything else must end the login with a clear error kind and message
// and no retry.
//
// Target side: a scripted faulty initiator (LoginScript over TCP) goes part of the way through a
// login against our Target (before the challenge, after it, mid-mutual, mid-operational) and then
// drops, stalls, sends garbage text, an oversized PDU or an out-of-order PDU. The target must
// answer with the right status or close only that connection, and meanwhile serve a concurrent
// good login; Target::stats() must count exactly what happened.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/session/hardening_fixtures.h"
#include "tests/support/result_matchers.h"

namespace multichap::hardening {
namespace {

struct Point {
  const char* name;
  int response;  // which login response is replaced
  bool mutual;
};
const Point kPoints[] = {
    {"before the challenge (AuthMethod answer)", 1, true},
    {"instead of the challenge", 2, true},
    {"after the challenge (one-way transit to operational)", 3, false},
    {"mid-mutual (the target's CHAP_R)", 3, true},
    {"mid-operational (the final response)", 4, true},
};

struct InitiatorFaultCounts {
  int injected = 0;
  int retried_and_succeeded = 0;
  int clear_errors = 0;
};

class InitiatorFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    TargetOptions options;
    // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers
    // it).
    options.guard.enabled = false;
    options.chap = target_config(true);
    options.login_timeout = Millis(3000);
    options.log = m_log.sink();
    m_target = start_target(std::move(options));
    ASSERT_TRUE(m_target);
  }
  Lines m_log;
  std::unique_ptr<Target> m_target;
};

// What an initiator must report for a fault that it must not retry.
void expect_clear_error(const LoginResult& r, Fault fault, const Point& point) {
  ASSERT_FALSE(r.login.has_value());
  const Error& e = r.login.error();
  EXPECT_FALSE(e.message.empty());
  EXPECT_EQ(r.attempts, 1u) << "must not retry a " << fault_name(fault) << " response";
  EXPECT_EQ(r.rewinds, 1u);
  switch (fault) {
    case Fault::malformed:
      EXPECT_THAT(e, test::ResultIs(ErrorKind::protocol, ErrorCode::text_key_character))
          << e.message;
      break;
    case Fault::oversized:
      EXPECT_THAT(e, test::ResultIs(ErrorKind::protocol, ErrorCode::pdu_data_too_long))
          << e.message;
      break;
    case Fault::out_of_order:
      EXPECT_THAT(e, test::ResultIs(ErrorKind::protocol, ErrorCode::opcode_unexpected))
          << e.message;
      break;
    case Fault::premature_full_feature:
      if (point.mutual && point.response == 3) {
        // The target skipped its own proof: mutual authentication failed.
        EXPECT_THAT(e, test::ResultIs(ErrorKind::authentication, ErrorCode::mutual_not_answered))
            << e.message;
      } else {
        // No authentication keys where CHAP was still under way.
        EXPECT_THAT(e, test::ResultIs(ErrorKind::protocol, ErrorCode::unexpected_key)) << e.message;
      }
      break;
    default:
      ADD_FAILURE() << "not a clear-error fault";
  }
  EXPECT_EQ(e.message.find(kInitiatorSecret), std::string::npos);
  EXPECT_EQ(e.message.find(kTargetSecret), std::string::npos);
}

TEST_F(InitiatorFaults, EveryStepEveryFault) {
  const Fault faults[] = {Fault::drop,      Fault::stall,        Fault::malformed,
                          Fault::oversized, Fault::out_of_order, Fault::premature_full_feature};
  InitiatorFaultCounts counts;
  for (const Point& point : kPoints) {
    for (const Fault fault : faults) {
      // A transit to full feature phase is how the operational stage ends, and after a one-way
      // response the exchange is complete; a premature transit is a fault only while CHAP still
      // has something to prove.
      if (fault == Fault::premature_full_feature && (point.response == 4 || !point.mutual)) {
        continue;
      }
      SCOPED_TRACE(std::string(point.name) + " / " + fault_name(fault));
      FaultProxy proxy(m_target->port(), fault, point.response);
      LoginSpec spec;
      spec.mutual = point.mutual;
      spec.attempts = 3;
      spec.timeout = Millis(400);  // the stall outlasts it
      const LoginResult r = real_login(proxy.port(), spec);
      EXPECT_TRUE(proxy.injected());
      ++counts.injected;
      if (fault == Fault::drop || fault == Fault::stall) {
        // A lost connection or a timeout: retry on a fresh connection, rewound, and succeed.
        EXPECT_TRUE(r.login.has_value()) << r.login.error().message;
        EXPECT_EQ(r.attempts, 2u);
        EXPECT_EQ(r.rewinds, 2u);
        EXPECT_EQ(proxy.connections(), 2);
        EXPECT_EQ(r.mutual, point.mutual);
        ++counts.retried_and_succeeded;
      } else {
        expect_clear_error(r, fault, point);
        EXPECT_EQ(proxy.connections(), 1);
        ++counts.clear_errors;
      }
    }
  }
  std::printf(
      "fault injection (initiator side): %d faults injected, %d retried on a fresh rewound "
      "connection and succeeded, %d ended with a clear error\n",
      counts.injected, counts.retried_and_succeeded, counts.clear_errors);
}

// With a single attempt, a drop and a stall are reported as what they are.
TEST_F(InitiatorFaults, SingleAttemptReportsIoAndTimeout) {
  {
    FaultProxy proxy(m_target->port(), Fault::drop, 2);
    LoginSpec spec;
    spec.mutual = true;
    // A close right after our CHAP_A is what an old target refusing the list does: with the offer
    // fallback on, a narrower offer would follow (quirk_targets_test.cpp covers that).
    spec.offer_fallback = false;
    const LoginResult r = real_login(proxy.port(), spec);
    ASSERT_FALSE(r.login.has_value());
    EXPECT_THAT(r.login, test::ResultIs(ErrorKind::io, ErrorCode::connection_closed))
        << r.login.error().message;
    EXPECT_EQ(r.attempts, 1u);
  }
  {
    FaultProxy proxy(m_target->port(), Fault::stall, 3);
    LoginSpec spec;
    spec.mutual = true;
    spec.timeout = Millis(300);
    const auto start = Clock::now();
    const LoginResult r = real_login(proxy.port(), spec);
    const auto waited = std::chrono::duration_cast<Millis>(Clock::now() - start);
    ASSERT_FALSE(r.login.has_value());
    EXPECT_THAT(r.login, test::ResultIs(ErrorKind::timeout, ErrorCode::read_timeout))
        << r.login.error().message;
    EXPECT_GE(waited.count(), 250);
    EXPECT_LT(waited.count(), 5000);
  }
}

// The proxy itself is transparent when it has no fault to inject at that point.
TEST_F(InitiatorFaults, ProxyWithoutAReachableFaultIsTransparent) {
  FaultProxy proxy(m_target->port(), Fault::drop, 99);
  LoginSpec spec;
  spec.mutual = true;
  const LoginResult r = real_login(proxy.port(), spec);
  EXPECT_TRUE(r.login.has_value()) << r.login.error().message;
  EXPECT_FALSE(proxy.injected());
  EXPECT_EQ(r.attempts, 1u);
}

// ---- target side -----------------------------------------------------------------------------

enum class TargetPoint { before_challenge, after_challenge, mid_mutual, mid_operational };

const char* point_name(TargetPoint p) {
  switch (p) {
    case TargetPoint::before_challenge:
      return "before the challenge";
    case TargetPoint::after_challenge:
      return "after the challenge";
    case TargetPoint::mid_mutual:
      return "mid-mutual";
    case TargetPoint::mid_operational:
      return "mid-operational";
  }
  return "?";
}

class TargetFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    TargetOptions options;
    // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers
    // it).
    options.guard.enabled = false;
    options.chap = target_config(true);
    options.login_timeout = Millis(400);
    options.log = m_log.sink();
    m_target = start_target(std::move(options));
    ASSERT_TRUE(m_target);
  }
  Lines m_log;
  std::unique_ptr<Target> m_target;
};

// The request a faulty initiator was about to send at point, built by the script.
Pdu due_request(LoginScript& s, TargetPoint point) {
  switch (point) {
    case TargetPoint::before_challenge:
      return s.request(0x01, KeyList{{"CHAP_A", "7"}});
    case TargetPoint::after_challenge:
      return s.request(0x81,
                       KeyList{{"CHAP_N", std::string(kInitiatorUser)}, {"CHAP_R", s.response()}});
    case TargetPoint::mid_mutual:
      return s.request(0x81, KeyList{{"CHAP_N", std::string(kInitiatorUser)},
                                     {"CHAP_R", s.response()},
                                     {"CHAP_I", "9"},
                                     {"CHAP_C", encode_hex(ByteView(Bytes(32, 0x5a)))}});
    case TargetPoint::mid_operational:
      return s.request(0x87, KeyList{{"HeaderDigest", "None"}});
  }
  return Pdu{};
}

TEST_F(TargetFaults, FaultyInitiatorLosesOnlyItsOwnConnection) {
  const TargetPoint points[] = {TargetPoint::before_challenge, TargetPoint::after_challenge,
                                TargetPoint::mid_mutual, TargetPoint::mid_operational};
  const Fault faults[] = {Fault::drop, Fault::stall, Fault::malformed, Fault::oversized,
                          Fault::out_of_order};
  int injected = 0;
  for (const TargetPoint point : points) {
    for (const Fault fault : faults) {
      SCOPED_TRACE(std::string(point_name(point)) + " / " + fault_name(fault));
      const TargetStats before = m_target->stats();
      auto client = RawClient::connect(m_target->port());
      ASSERT_TRUE(client);
      LoginScript s(std::move(*client));
      // The valid part of the login: up to the point of the fault.
      ASSERT_TRUE(s.offer_auth_method()) << s.failure;
      if (point != TargetPoint::before_challenge) {
        ASSERT_TRUE(s.offer_algorithms()) << s.failure;
      }
      if (point == TargetPoint::mid_operational) {
        ASSERT_TRUE(s.answer_challenge()) << s.failure;
      }
      const Pdu due = due_request(s, point);

      // The fault, while the faulty connection sits mid-login.
      std::optional<std::uint16_t> status;
      bool closed = false;
      switch (fault) {
        case Fault::drop:
          s.client().conn.close();
          closed = true;
          break;
        case Fault::stall:
          break;  // send nothing
        case Fault::malformed: {
          Pdu bad = due;
          const std::string garbage = "no pairs here";
          bad.data.assign(garbage.begin(), garbage.end());
          ASSERT_TRUE(s.client().send(bad));
          status = status::kInitiatorError;
          break;
        }
        case Fault::oversized: {
          Pdu big = due;
          big.data.assign(9000, 'A');
          ASSERT_TRUE(s.client().send(big));
          break;
        }
        case Fault::out_of_order: {
          NopOut nop;
          nop.itt = 0x99;
          ASSERT_TRUE(s.client().send(encode(nop)));
          status = status::kInvalidDuringLogin;
          break;
        }
        case Fault::premature_full_feature:
          break;
      }

      // Meanwhile, a good login on another connection succeeds.
      LoginSpec spec;
      spec.mutual = true;
      const LoginResult good = real_login(m_target->port(), spec);
      EXPECT_TRUE(good.login.has_value()) << good.login.error().message;

      // The faulty connection ends the way it must.
      if (!closed) {
        const auto start = Clock::now();
        if (status) {
          Reply r = s.client().read();
          ASSERT_TRUE(r.pdu.has_value()) << r.error.message;
          auto resp = decode_login_response(*r.pdu);
          ASSERT_TRUE(resp.has_value());
          EXPECT_EQ(resp->status, *status) << status_text(resp->status);
        }
        EXPECT_TRUE(s.client().closed_by_peer(Millis(3000)));
        if (fault == Fault::stall) {
          // Closed by the target's own login timeout (400 ms), not by us.
          const auto waited = std::chrono::duration_cast<Millis>(Clock::now() - start);
          EXPECT_LT(waited.count(), 3000);
        }
      }
      ASSERT_TRUE(eventually([&] { return m_target->active_connections() == 0; }));
      const TargetStats after = m_target->stats();
      EXPECT_EQ(after.connections - before.connections, 2u);
      EXPECT_EQ(after.logins_succeeded - before.logins_succeeded, 1u);
      EXPECT_EQ(after.logins_failed - before.logins_failed, 1u);
      EXPECT_EQ(after.logouts - before.logouts, 1u);
      EXPECT_EQ(m_target->session_count(), 0u);
      ++injected;
    }
  }
  std::printf(
      "fault injection (target side): %d faulty initiators, each beside a concurrent good "
      "login\n",
      injected);
  const std::string log = m_log.joined();
  EXPECT_EQ(log.find(kInitiatorSecret), std::string::npos);
  EXPECT_EQ(log.find(kTargetSecret), std::string::npos);
}

// A stalled login does not hold other logins back: several at once, each stalled at a different
// point, while good logins keep succeeding; all stalled ones are closed by the login timeout.
TEST_F(TargetFaults, ManyStalledConnectionsDoNotBlockOthers) {
  std::vector<LoginScript> stalled;
  for (int i = 0; i < 8; ++i) {
    auto client = RawClient::connect(m_target->port());
    ASSERT_TRUE(client);
    stalled.emplace_back(std::move(*client));
    ASSERT_TRUE(stalled.back().offer_auth_method());
    if (i % 2 == 1) {
      ASSERT_TRUE(stalled.back().offer_algorithms());
    }
  }
  for (int i = 0; i < 4; ++i) {
    const LoginResult good = real_login(m_target->port());
    EXPECT_TRUE(good.login.has_value()) << good.login.error().message;
  }
  for (auto& s : stalled) EXPECT_TRUE(s.client().closed_by_peer(Millis(3000)));
  ASSERT_TRUE(eventually([&] { return m_target->active_connections() == 0; }));
  const TargetStats stats = m_target->stats();
  EXPECT_EQ(stats.connections, 12u);
  EXPECT_EQ(stats.logins_succeeded, 4u);
  EXPECT_EQ(stats.logins_failed, 8u);
}

}  // namespace
}  // namespace multichap::hardening
