// SPDX-License-Identifier: BSD-2-Clause
// Our initiator (InitiatorSession) against our target (Target) over 127.0.0.1: every algorithm x
// every built backend x one-way/mutual; the failure statuses the target must send; multiple
// connections per session (MC/S) with an independent CHAP exchange per connection; and many
// sessions logging in at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <set>
#include <thread>

#include "auth/encoding.h"
#include "session/initiator.h"
#include "session/target.h"
#include "tests/session/pdu_relay.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

using test::eventually;
using test::initiator_auth;
using test::initiator_options;
using test::Lines;
using test::policy_with;
using test::start_target;
using test::target_config;

std::unique_ptr<InitiatorSession> make_session(InitiatorOptions options,
                                               std::unique_ptr<InitiatorAuthenticator> auth) {
  if (!auth) return nullptr;
  auto created = InitiatorSession::create(std::move(options), std::move(auth));
  if (!created) return nullptr;
  return std::move(created).value();
}

Bytes decoded(const std::string& value) {
  auto d = decode_binary(value, kMaxBinaryValueBytes);
  return d ? Bytes(d->begin(), d->end()) : Bytes{};
}

// ---------------------------------------------------------------------------------------------
// Every algorithm x backend x one-way/mutual

using MatrixParam = std::tuple<Algorithm, std::string, bool>;

class LoopbackMatrix : public ::testing::TestWithParam<MatrixParam> {};

TEST_P(LoopbackMatrix, LogsInPingsAndLogsOut) {
  const auto [algorithm, backend_name, mutual] = GetParam();
  const auto backend = test::backend_or_fail(backend_name);
  if (!backend->supports(algorithm)) GTEST_SKIP() << backend_name << " lacks this algorithm";
  TargetOptions options;
  options.chap = target_config(true, policy_with({algorithm}));
  options.backend = backend;
  Lines log;
  options.log = log.sink();
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);

  // The initiator offers everything; the target's policy decides.
  auto session = make_session(initiator_options(target->port()),
                              initiator_auth(backend, mutual, policy_with(test::all_algorithms())));
  ASSERT_TRUE(session);
  auto ok = session->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << log.joined();
  EXPECT_EQ(session->algorithm(), algorithm);
  EXPECT_EQ(session->mutual(), mutual);
  EXPECT_NE(session->tsih(), 0);
  EXPECT_EQ(session->attempts(), 1u);
  EXPECT_EQ(session->connection_count(), 1u);
  EXPECT_FALSE(session->last_status().has_value());
  EXPECT_EQ(target->session_count(), 1u);
  ASSERT_TRUE(session->negotiated().find("HeaderDigest"));
  EXPECT_EQ(*session->negotiated().find("HeaderDigest"), "None");

  ASSERT_TRUE(session->ping());
  ASSERT_TRUE(session->ping());
  ASSERT_TRUE(session->logout());
  EXPECT_EQ(session->connection_count(), 0u);

  EXPECT_TRUE(eventually([&] { return target->stats().logouts == 1; }));
  EXPECT_TRUE(eventually([&] { return target->session_count() == 0; }));
  const TargetStats stats = target->stats();
  EXPECT_EQ(stats.connections, 1u);
  EXPECT_EQ(stats.logins_succeeded, 1u);
  EXPECT_EQ(stats.logins_failed, 0u);
  const std::string expected =
      "algorithm=" + std::string(algorithm_name(algorithm)) + " mutual=" + (mutual ? "yes" : "no");
  EXPECT_TRUE(log.contains(expected)) << log.joined();
}

INSTANTIATE_TEST_SUITE_P(AllCombinations, LoopbackMatrix,
                         ::testing::Combine(::testing::ValuesIn(test::all_algorithms()),
                                            ::testing::ValuesIn(test::backend_names()),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<MatrixParam>& info) {
                           std::string alg(algorithm_name(std::get<0>(info.param)));
                           alg.erase(std::remove(alg.begin(), alg.end(), '-'), alg.end());
                           return alg + "_" + std::get<1>(info.param) +
                                  (std::get<2>(info.param) ? "_mutual" : "_oneway");
                         });

// ---------------------------------------------------------------------------------------------
// Failures

class LoopbackFailures : public ::testing::TestWithParam<std::string> {
 protected:
  std::shared_ptr<const HashBackend> backend() const { return test::backend_or_fail(GetParam()); }

  // Logs in once against a target with target_options; returns the session for inspection.
  std::unique_ptr<InitiatorSession> attempt(
      TargetOptions target_options, std::unique_ptr<InitiatorAuthenticator> auth,
      Result<void>& result, std::string target_name = std::string(test::kTargetIqn)) {
    target_options.backend = backend();
    target_options.log = m_log.sink();
    m_target = start_target(std::move(target_options));
    if (!m_target) return nullptr;
    auto options = initiator_options(m_target->port());
    options.target_name = std::move(target_name);
    auto session = make_session(std::move(options), std::move(auth));
    if (!session) return nullptr;
    result = session->login();
    return session;
  }

  void expect_failed_login_closed() {
    EXPECT_TRUE(eventually([&] { return m_target->stats().logins_failed == 1; })) << m_log.joined();
    EXPECT_TRUE(eventually([&] { return m_target->active_connections() == 0; }));
    EXPECT_EQ(m_target->stats().logins_succeeded, 0u);
    EXPECT_EQ(m_target->session_count(), 0u);
  }

  Lines m_log;
  std::unique_ptr<Target> m_target;
};

TEST_P(LoopbackFailures, WrongInitiatorSecretIs0201) {
  TargetOptions options;
  options.chap = target_config(false);
  Result<void> result;
  auto session =
      attempt(std::move(options), initiator_auth(backend(), false, {}, test::kWrongSecret), result);
  ASSERT_TRUE(session);
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed))
      << result.error().message;
  EXPECT_EQ(session->last_status(), status::kAuthenticationFailure);
  EXPECT_EQ(session->attempts(), 1u);
  EXPECT_EQ(session->connection_count(), 0u);
  expect_failed_login_closed();
  // The local log says why; the secret never appears in it.
  EXPECT_TRUE(m_log.contains("0x0201")) << m_log.joined();
  EXPECT_FALSE(m_log.contains(test::kWrongSecret));
  EXPECT_FALSE(m_log.contains(test::kInitiatorSecret));
}

TEST_P(LoopbackFailures, UnknownChapNameIsAlso0201) {
  TargetOptions options;
  options.chap = target_config(false);
  ChapInitiatorConfig config;
  config.local = test::credentials("somebody-else", test::kInitiatorSecret);
  auto auth = InitiatorAuthenticator::create(std::move(config), backend());
  ASSERT_TRUE(auth);
  Result<void> result;
  auto session = attempt(std::move(options), std::move(auth).value(), result);
  ASSERT_TRUE(session);
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed))
      << result.error().message;
  // The peer learns only "authentication failure", whatever the local reason.
  EXPECT_EQ(session->last_status(), status::kAuthenticationFailure);
  expect_failed_login_closed();
}

TEST_P(LoopbackFailures, WrongTargetSecretFailsTheInitiatorWhichCloses) {
  TargetOptions options;
  options.chap = target_config(true, {}, test::kInitiatorSecret, test::kWrongSecret);
  Result<void> result;
  auto session = attempt(std::move(options), initiator_auth(backend(), true), result);
  ASSERT_TRUE(session);
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response))
      << result.error().message;
  EXPECT_FALSE(session->last_status().has_value());
  EXPECT_EQ(session->attempts(), 1u);
  EXPECT_EQ(session->connection_count(), 0u);
  // The target saw the initiator hang up after its (wrong) proof.
  expect_failed_login_closed();
}

TEST_P(LoopbackFailures, UnknownTargetNameIs0203) {
  TargetOptions options;
  options.chap = target_config(false);
  Result<void> result;
  auto session = attempt(std::move(options), initiator_auth(backend(), false), result,
                         "iqn.2026-11.org.multichap.test:nobody");
  ASSERT_TRUE(session);
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::rejected, ErrorCode::login_refused))
      << result.error().message;
  EXPECT_EQ(session->last_status(), status::kTargetNotFound);
  EXPECT_EQ(session->attempts(), 1u);
  expect_failed_login_closed();
}

TEST_P(LoopbackFailures, MissingMutualWhenRequiredIs0201) {
  ChapPolicy policy;
  policy.require_mutual = true;
  TargetOptions options;
  options.chap = target_config(true, policy);
  Result<void> result;
  auto session = attempt(std::move(options), initiator_auth(backend(), false), result);
  ASSERT_TRUE(session);
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed))
      << result.error().message;
  EXPECT_EQ(session->last_status(), status::kAuthenticationFailure);
  expect_failed_login_closed();
}

TEST_P(LoopbackFailures, NoCommonAlgorithmIs0201) {
  TargetOptions options;
  options.chap = target_config(false, policy_with({Algorithm::sha3_256, Algorithm::sha256}));
  Result<void> result;
  auto session = attempt(
      std::move(options),
      initiator_auth(backend(), false, policy_with({Algorithm::sha1, Algorithm::md5})), result);
  ASSERT_TRUE(session);
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed))
      << result.error().message;
  EXPECT_EQ(session->last_status(), status::kAuthenticationFailure);
  EXPECT_EQ(session->attempts(), 1u);
  expect_failed_login_closed();
}

INSTANTIATE_TEST_SUITE_P(AllBackends, LoopbackFailures, ::testing::ValuesIn(test::backend_names()),
                         test::BackendParamName{});

// ---------------------------------------------------------------------------------------------
// MC/S: further connections of a full-feature session

class MultipleConnections : public ::testing::TestWithParam<std::string> {
 protected:
  std::shared_ptr<const HashBackend> backend() const { return test::backend_or_fail(GetParam()); }
};

TEST_P(MultipleConnections, EachConnectionRunsItsOwnExchange) {
  TargetOptions options;
  options.chap = target_config(true);
  options.backend = backend();
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  // A recording relay in front of the target shows the full challenges on the wire.
  auto relay = test::PduRelay::start(Endpoint{"127.0.0.1", target->port()});
  ASSERT_TRUE(relay);
  auto session = make_session(initiator_options(relay->port()), initiator_auth(backend(), true));
  ASSERT_TRUE(session);
  auto ok = session->login();
  ASSERT_TRUE(ok) << ok.error().message;

  const InitiatorAuthenticator& auth = session->authenticator();
  const auto algorithm = auth.algorithm();
  const auto state = auth.exchange().state();
  const Bytes challenge(auth.exchange().issued_challenge().begin(),
                        auth.exchange().issued_challenge().end());
  const unsigned rewinds = auth.rewinds();
  ASSERT_FALSE(challenge.empty());

  auto cid1 = session->add_connection();
  ASSERT_TRUE(cid1) << cid1.error().message;
  auto cid2 = session->add_connection();
  ASSERT_TRUE(cid2) << cid2.error().message;
  EXPECT_NE(*cid1, 0);
  EXPECT_NE(*cid2, 0);
  EXPECT_NE(*cid1, *cid2);
  EXPECT_EQ(session->connection_count(), 3u);
  EXPECT_EQ(target->session_count(), 1u);
  EXPECT_TRUE(eventually([&] { return target->stats().logins_succeeded == 3; }));

  for (const std::uint16_t cid : {std::uint16_t{0}, *cid1, *cid2}) {
    auto pinged = session->ping(cid);
    EXPECT_TRUE(pinged) << "cid " << cid << ": " << pinged.error().message;
  }

  // The session authenticator is exactly as the leading login left it.
  EXPECT_EQ(auth.algorithm(), algorithm);
  EXPECT_EQ(auth.exchange().state(), state);
  EXPECT_EQ(
      Bytes(auth.exchange().issued_challenge().begin(), auth.exchange().issued_challenge().end()),
      challenge);
  EXPECT_EQ(auth.rewinds(), rewinds);

  // Three logins on the wire, each with its own challenges in both directions. Every further
  // login carries the session's TSIH and is answered with it.
  ASSERT_EQ(relay->connections(), 3u);
  std::set<Bytes> target_challenges;
  std::set<Bytes> initiator_challenges;
  for (std::size_t c = 0; c < 3; ++c) {
    const Bytes from_target = decoded(relay->find_key(c, false, "CHAP_C"));
    const Bytes from_initiator = decoded(relay->find_key(c, true, "CHAP_C"));
    EXPECT_FALSE(from_target.empty()) << "connection " << c;
    EXPECT_FALSE(from_initiator.empty()) << "connection " << c;
    target_challenges.insert(from_target);
    initiator_challenges.insert(from_initiator);
    if (c == 0) {
      EXPECT_EQ(from_initiator, challenge);  // the session's is the leading login's
    } else {
      EXPECT_NE(from_initiator, challenge);
    }
    // Every further connection's login requests carry the session's TSIH.
    for (const auto& r : relay->records()) {
      if (r.connection != c || !r.to_target ||
          r.pdu.opcode() != static_cast<std::uint8_t>(Opcode::login_request)) {
        continue;
      }
      auto req = decode_login_request(r.pdu);
      ASSERT_TRUE(req);
      EXPECT_EQ(req->tsih, c == 0 ? 0 : session->tsih());
    }
  }
  EXPECT_EQ(target_challenges.size(), 3u);
  EXPECT_EQ(initiator_challenges.size(), 3u);

  ASSERT_TRUE(session->logout());
  EXPECT_EQ(session->connection_count(), 0u);
  EXPECT_TRUE(eventually([&] { return target->stats().logouts == 3; }));
  EXPECT_TRUE(eventually([&] { return target->session_count() == 0; }));
  EXPECT_TRUE(eventually([&] { return target->active_connections() == 0; }));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, MultipleConnections,
                         ::testing::ValuesIn(test::backend_names()), test::BackendParamName{});

// A non-leading login naming a session that does not exist, written with the PDU codec.
TEST(MultipleConnectionsRaw, ANonLeadingLoginWithAWrongTsihIs020a) {
  const auto backend = test::backend_or_fail(test::backend_names().front());
  TargetOptions options;
  options.chap = target_config(false);
  options.backend = backend;
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  // A real session exists, so the target has a TSIH to compare with.
  auto session = make_session(initiator_options(target->port()), initiator_auth(backend, false));
  ASSERT_TRUE(session);
  ASSERT_TRUE(session->login());
  ASSERT_NE(session->tsih(), 0);

  struct Case {
    const char* what;
    Isid isid;
    std::uint16_t tsih;
  };
  const Case cases[] = {
      {"the session's ISID, another TSIH", session->isid(),
       static_cast<std::uint16_t>(session->tsih() + 100)},
      {"another ISID, the session's TSIH", Isid{0x80, 0xee, 0xee, 0xee, 0, 0}, session->tsih()},
  };
  for (const auto& c : cases) {
    auto conn = Connection::connect(Endpoint{"127.0.0.1", target->port()}, Millis(2000));
    ASSERT_TRUE(conn);
    LoginRequest req;
    req.csg = kSecurityStage;
    req.nsg = kOperationalStage;
    req.isid = c.isid;
    req.tsih = c.tsih;
    req.itt = 77;
    req.cid = 5;
    const std::string text = build_text(KeyList{{"InitiatorName", std::string(test::kInitiatorIqn)},
                                                {"SessionType", "Normal"},
                                                {"TargetName", std::string(test::kTargetIqn)},
                                                {"AuthMethod", "CHAP"}});
    req.data.assign(text.begin(), text.end());
    ASSERT_TRUE(write_pdu(*conn, encode(req), Clock::now() + Millis(2000)));
    auto pdu = read_pdu(*conn, kDefaultMaxRecvDataSegment, Clock::now() + Millis(3000));
    ASSERT_TRUE(pdu) << c.what << ": " << pdu.error().message;
    auto resp = decode_login_response(*pdu);
    ASSERT_TRUE(resp) << c.what;
    EXPECT_EQ(resp->status, status::kSessionDoesNotExist) << c.what;
    EXPECT_EQ(resp->itt, 77u);
    // The target ends the login: the connection closes.
    auto after = read_pdu(*conn, kDefaultMaxRecvDataSegment, Clock::now() + Millis(3000));
    ASSERT_FALSE(after);
    EXPECT_THAT(after, test::ResultIs(ErrorKind::io, ErrorCode::connection_closed)) << c.what;
  }
  EXPECT_EQ(target->session_count(), 1u);
  ASSERT_TRUE(session->ping());
  ASSERT_TRUE(session->logout());
}

// ---------------------------------------------------------------------------------------------
// Many sessions at once

TEST(LoopbackConcurrency, SixteenSessionsLogInAtOnce) {
  constexpr int kSessions = 16;
  const auto backend = test::backend_or_fail(test::backend_names().front());
  TargetOptions options;
  options.chap = target_config(true);
  options.backend = backend;
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);

  std::mutex mutex;
  std::condition_variable go;
  bool started = false;
  std::vector<std::string> failures;
  std::vector<std::uint16_t> tsihs;
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back([&, i] {
      auto options = initiator_options(target->port());
      options.initiator_name = std::string(test::kInitiatorIqn) + "-" + std::to_string(i);
      options.login_timeout = Millis(10000);
      auto session = make_session(std::move(options), initiator_auth(backend, true));
      {
        std::unique_lock<std::mutex> lock(mutex);
        go.wait(lock, [&] { return started; });
      }
      std::string failure;
      std::uint16_t tsih = 0;
      if (!session) {
        failure = "no session";
      } else if (auto ok = session->login(); !ok) {
        failure = "login: " + ok.error().message;
      } else {
        tsih = session->tsih();
        if (auto p = session->ping(); !p) failure = "ping: " + p.error().message;
        if (auto out = session->logout(); !out) failure = "logout: " + out.error().message;
        if (session->attempts() != 1) failure = "needed " + std::to_string(session->attempts());
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure.empty()) failures.push_back("session " + std::to_string(i) + ": " + failure);
      tsihs.push_back(tsih);
    });
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    started = true;
  }
  go.notify_all();
  for (auto& t : threads) t.join();

  for (const auto& f : failures) ADD_FAILURE() << f;
  EXPECT_EQ(std::set<std::uint16_t>(tsihs.begin(), tsihs.end()).size(),
            static_cast<std::size_t>(kSessions));
  EXPECT_TRUE(eventually([&] { return target->stats().logouts == kSessions; }));
  const TargetStats stats = target->stats();
  EXPECT_EQ(stats.logins_succeeded, static_cast<std::uint64_t>(kSessions));
  EXPECT_EQ(stats.logins_failed, 0u);
  EXPECT_TRUE(eventually([&] { return target->session_count() == 0; }));
}

}  // namespace
}  // namespace multichap
