// SPDX-License-Identifier: BSD-2-Clause
// Plugging the authenticator into your own login engine: an example.
//
// An initiator or target with its own iSCSI login engine can use multichap's CHAP without taking
// multichap's engine: an engine steps a LoginAuthenticator, and that is all it sees of CHAP
// (docs/ARCHITECTURE.md "One login, from the wire to CHAP"; docs/library.md). This
// file is that promise, tested: a deliberately minimal "foreign" initiator login loop that knows
// iSCSI login PDUs (here through our codec in session/pdu.h; yours may be your own) and talks to
// CHAP *only* through the LoginAuthenticator interface in session/login_authenticator.h. It logs
// into our Target.
//
// What the engine does, following the contract written at the top of login_authenticator.h:
//   1. rewind() at the start of every leading login (each retry included);
//   2. step({}) for the first keys (AuthMethod=...), then step(received) with every security-stage
//      response's keys, sending back whatever comes out;
//   3. when a step fails, close the connection (the initiator has no status to send);
//   4. ask to leave the security stage (T=1) once ready_to_transit(), and accept the target's
//      transit only when state() == AuthStatus::succeeded.
// Everything else (ISID, ITT, CmdSN, operational keys) is the engine's own business; this one
// takes the shortest legal path: no operational proposals, straight to full feature phase.
#include <gtest/gtest.h>

#include "session/login_authenticator.h"
#include "session/pdu.h"
#include "session/session_authenticator.h"
#include "session/target.h"
#include "session/transport.h"
#include "tests/support/backend_params.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

// ----- The foreign engine -----------------------------------------------------------------

struct ForeignLogin {
  bool logged_in = false;
  std::uint16_t status = 0;  // the target's failure status, if it sent one
  std::uint16_t tsih = 0;
  std::string error;  // why we gave up, for the log
};

class ForeignInitiator {
 public:
  ForeignInitiator(Endpoint portal, std::string initiator_name, std::string target_name)
      : m_portal(std::move(portal)),
        m_initiator_name(std::move(initiator_name)),
        m_target_name(std::move(target_name)) {}

  // One leading login on a new connection; the only CHAP calls are on `auth`.
  ForeignLogin login(LoginAuthenticator& auth) {
    ForeignLogin result;
    auto conn = Connection::connect(m_portal, Millis(2000));
    if (!conn) return fail(result, conn.error().message);
    m_conn = std::move(conn).value();

    auth.rewind();                      // contract 1: every leading login starts clean
    auto first = auth.step(KeyList{});  // contract 2: the first keys
    if (!first) return fail(result, first.error().message);
    KeyList to_send{{"InitiatorName", m_initiator_name},
                    {"SessionType", "Normal"},
                    {"TargetName", m_target_name}};
    to_send.merge(*first);

    LoginRequest req;
    req.isid = {0x80, 0x0f, 0x0e, 0x0d, 0x00, 0x00};  // type "random", fixed for the example
    req.itt = ++m_itt;
    req.cmd_sn = m_cmd_sn;
    std::uint8_t stage = kSecurityStage;
    for (int round = 0; round < 16; ++round) {
      // Contract 4: ask to transit only when the authenticator has said everything.
      req.csg = stage;
      req.transit = stage == kSecurityStage ? auth.ready_to_transit() : true;
      req.nsg = stage == kSecurityStage ? kOperationalStage : kFullFeaturePhase;
      const std::string text = build_text(to_send);
      req.data.assign(text.begin(), text.end());
      if (!write_pdu(m_conn, encode(req), deadline())) return fail(result, "write failed");

      auto pdu = read_pdu(m_conn, kDefaultMaxRecvDataSegment, deadline());
      if (!pdu) return fail(result, pdu.error().message);
      auto resp = decode_login_response(*pdu);
      if (!resp) return fail(result, resp.error().message);
      if (resp->status != status::kSuccess) {
        result.status = resp->status;  // 0x0201 when the target did not accept us
        return fail(result, status_text(resp->status));
      }
      req.exp_stat_sn = resp->stat_sn + 1;
      auto received = parse_text(resp->data);
      if (!received) return fail(result, received.error().message);

      to_send = KeyList{};
      if (stage == kSecurityStage) {
        // Contract 2: the whole key list goes in; the authenticator reads only its own keys.
        auto out = auth.step(*received);
        if (!out) return fail(result, out.error().message);  // contract 3: we close
        to_send = std::move(out).value();
        if (resp->transit && auth.state() != AuthStatus::succeeded) {
          return fail(result, "target left the security stage before authentication completed");
        }
      }
      if (resp->transit) stage = resp->nsg;
      if (stage == kFullFeaturePhase) {
        result.logged_in = true;
        result.tsih = resp->tsih;
        return result;
      }
    }
    return fail(result, "login did not converge");
  }

  // Closes the session politely.
  bool logout() {
    LogoutRequest req;
    req.reason = 0;
    req.itt = ++m_itt;
    req.cmd_sn = m_cmd_sn;
    if (!write_pdu(m_conn, encode(req), deadline())) return false;
    auto pdu = read_pdu(m_conn, kDefaultMaxRecvDataSegment, deadline());
    if (!pdu) return false;
    auto resp = decode_logout_response(*pdu);
    m_conn.close();
    return resp && resp->response == 0;
  }

 private:
  static Clock::time_point deadline() { return Clock::now() + Millis(3000); }
  ForeignLogin fail(ForeignLogin& result, std::string why) {
    m_conn.close();
    result.error = std::move(why);
    return result;
  }

  Endpoint m_portal;
  std::string m_initiator_name;
  std::string m_target_name;
  Connection m_conn;
  std::uint32_t m_itt = 0;
  std::uint32_t m_cmd_sn = 1;
};

// ----- The tests ---------------------------------------------------------------------------

using Param = std::tuple<std::string /*backend*/, bool /*mutual*/>;

class ForeignEngine : public ::testing::TestWithParam<Param> {
 protected:
  std::shared_ptr<const HashBackend> backend() const {
    return test::backend_or_fail(std::get<0>(GetParam()));
  }
  bool mutual() const { return std::get<1>(GetParam()); }

  void SetUp() override {
    TargetOptions options;
    options.chap = test::target_config(true);
    options.backend = backend();
    m_target = test::start_target(std::move(options));
    ASSERT_TRUE(m_target);
  }

  ForeignInitiator engine() const {
    return ForeignInitiator(Endpoint{"127.0.0.1", m_target->port()},
                            std::string(test::kInitiatorIqn), std::string(test::kTargetIqn));
  }

  std::unique_ptr<Target> m_target;
};

TEST_P(ForeignEngine, LogsIntoOurTargetThroughTheInterfaceAlone) {
  // Created as multichap's InitiatorAuthenticator, used only as a LoginAuthenticator.
  std::unique_ptr<LoginAuthenticator> auth = test::initiator_auth(backend(), mutual());
  ASSERT_TRUE(auth);
  ForeignInitiator initiator = engine();
  const ForeignLogin result = initiator.login(*auth);
  ASSERT_TRUE(result.logged_in) << result.error;
  EXPECT_NE(result.tsih, 0);
  EXPECT_EQ(auth->state(), AuthStatus::succeeded);
  EXPECT_EQ(auth->algorithm(), Algorithm::sha3_256);
  EXPECT_EQ(auth->mutual(), mutual());
  EXPECT_EQ(m_target->session_count(), 1u);
  EXPECT_TRUE(test::eventually([&] { return m_target->stats().logins_succeeded == 1; }));

  EXPECT_TRUE(initiator.logout());
  EXPECT_TRUE(test::eventually([&] { return m_target->stats().logouts == 1; }));
  EXPECT_TRUE(test::eventually([&] { return m_target->session_count() == 0; }));

  // The same authenticator serves the next leading login: the engine rewinds it first.
  ForeignInitiator again = engine();
  const ForeignLogin second = again.login(*auth);
  ASSERT_TRUE(second.logged_in) << second.error;
  EXPECT_EQ(auth->state(), AuthStatus::succeeded);
  EXPECT_TRUE(again.logout());
  EXPECT_TRUE(test::eventually([&] { return m_target->stats().logins_succeeded == 2; }));
}

TEST_P(ForeignEngine, AWrongSecretEndsWithStatus0201) {
  std::unique_ptr<LoginAuthenticator> auth =
      test::initiator_auth(backend(), mutual(), {}, test::kWrongSecret);
  ASSERT_TRUE(auth);
  ForeignInitiator initiator = engine();
  const ForeignLogin result = initiator.login(*auth);
  EXPECT_FALSE(result.logged_in);
  EXPECT_EQ(result.status, status::kAuthenticationFailure) << result.error;
  EXPECT_TRUE(test::eventually([&] { return m_target->stats().logins_failed == 1; }));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ForeignEngine,
                         ::testing::Combine(::testing::ValuesIn(test::backend_names()),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return std::get<0>(info.param) +
                                  (std::get<1>(info.param) ? "_mutual" : "_oneway");
                         });

// Only a mutual login checks the target, so this one runs with mutual CHAP only.
class ForeignEngineMutual : public ForeignEngine {};

TEST_P(ForeignEngineMutual, ATargetThatCannotProveItselfIsRefusedByTheAuthenticator) {
  std::unique_ptr<LoginAuthenticator> auth =
      test::initiator_auth(backend(), true, {}, test::kInitiatorSecret, test::kWrongSecret);
  ASSERT_TRUE(auth);
  ForeignInitiator initiator = engine();
  const ForeignLogin result = initiator.login(*auth);
  EXPECT_FALSE(result.logged_in);
  EXPECT_EQ(result.status, 0);  // no status: the engine closed the connection itself
  EXPECT_EQ(auth->state(), AuthStatus::failed);
  EXPECT_TRUE(test::eventually([&] { return m_target->stats().logins_failed == 1; }));
  EXPECT_EQ(m_target->session_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ForeignEngineMutual,
                         ::testing::Combine(::testing::ValuesIn(test::backend_names()),
                                            ::testing::Values(true)),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return std::get<0>(info.param);
                         });

}  // namespace
}  // namespace multichap
