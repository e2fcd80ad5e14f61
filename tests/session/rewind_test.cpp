// SPDX-License-Identifier: BSD-2-Clause
// The rewind, proven on the wire (docs/ARCHITECTURE.md "The rewind, and session versus connection
// scope").
//
// A scripted target, written here with the PDU codec, a Listener and a real ChapTarget per
// connection, follows one script per connection attempt: which algorithms it allows, and whether
// it answers, drops the connection, sends a status, or stalls at a given login request. It records
// what it saw on each attempt (the initiator's CHAP_A offer, the algorithm chosen, the challenge
// it issued, the initiator's mutual CHAP_C, whether the initiator's CHAP_R verified).
//
// The central test: attempt 1 negotiates algorithm A and fails after the initiator answered
// (dropped connection, or status 0x0300); attempt 2, on a fresh TCP connection, allows only
// algorithm B and completes. InitiatorSession::login() must renegotiate from scratch: B chosen
// from the full offer, fresh challenges on both sides, and nothing of attempt 1 left in the
// session authenticator.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "auth/encoding.h"
#include "session/initiator.h"
#include "session/operational.h"
#include "session/pdu.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

using test::initiator_auth;
using test::initiator_options;
using test::Lines;
using test::policy_with;

constexpr std::uint16_t kScriptTsih = 0x1234;

enum class Action {
  answer,  // carry on with the login
  drop,    // close the TCP connection without a word
  status,  // end the login with a failure status
  stall,   // never answer; wait for the initiator to give up
};

struct AttemptScript {
  std::vector<Algorithm> allowed = test::all_algorithms();  // the target's policy this attempt
  int at_request = 0;  // the login request (1-4) at which `action` happens; 0: never
  Action action = Action::answer;
  std::uint16_t status = 0;                           // for Action::status
  std::string_view own_secret = test::kTargetSecret;  // what the target proves itself with
};

struct AttemptRecord {
  std::string peer;  // initiator address:port: a new one means a new TCP connection
  std::string chap_a_offer;
  std::optional<Algorithm> algorithm;
  Bytes target_challenge;        // the CHAP_C this target issued
  std::string initiator_chap_c;  // the initiator's mutual CHAP_C, as sent
  bool initiator_verified = false;
  bool completed = false;  // reached full feature phase
  std::vector<std::string> problems;
};

Bytes decode_or_empty(const std::string& value) {
  auto decoded = decode_binary(value, kMaxBinaryValueBytes);
  if (!decoded) return {};
  return Bytes(decoded->begin(), decoded->end());
}

class ScriptedTarget {
 public:
  ScriptedTarget(std::shared_ptr<const HashBackend> backend, std::vector<AttemptScript> scripts)
      : m_backend(std::move(backend)), m_scripts(std::move(scripts)) {
    auto listener = Listener::listen(Endpoint{"127.0.0.1", 0});
    if (!listener) return;
    m_listener = std::move(listener).value();
    m_listening = true;
    m_thread = std::thread([this] { run(); });
  }
  ~ScriptedTarget() {
    m_stop.store(true);
    if (m_thread.joinable()) m_thread.join();
  }
  ScriptedTarget(const ScriptedTarget&) = delete;
  ScriptedTarget& operator=(const ScriptedTarget&) = delete;

  bool listening() const { return m_listening; }
  std::uint16_t port() const { return m_listener.port(); }
  std::size_t connections() const { return m_connections.load(); }
  // Waits until n attempts have been played to their end (the initiator gone or logged out).
  bool wait_for_records(std::size_t n) {
    return test::eventually([&] { return records().size() >= n; }, Millis(5000));
  }
  std::vector<AttemptRecord> records() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_records;
  }

 private:
  void run() {
    for (const AttemptScript& script : m_scripts) {
      Connection conn;
      while (!m_stop.load() && !conn.is_open()) {
        auto accepted = m_listener.accept(Millis(50));
        if (accepted) conn = std::move(accepted).value();
      }
      if (m_stop.load()) return;
      ++m_connections;
      AttemptRecord record;
      record.peer = conn.peer();
      serve(conn, script, record);
      std::lock_guard<std::mutex> lock(m_mutex);
      m_records.push_back(std::move(record));
    }
  }

  Clock::time_point deadline() const { return Clock::now() + Millis(5000); }

  struct Request {
    LoginRequest header;
    KeyList keys;
  };

  // Plays one connection according to script.
  void serve(Connection& conn, const AttemptScript& script, AttemptRecord& record) {
    auto problem = [&](std::string what) { record.problems.push_back(std::move(what)); };
    auto created =
        ChapTarget::create(test::target_config(true, policy_with(script.allowed),
                                               test::kInitiatorSecret, script.own_secret),
                           m_backend);
    if (!created) return problem("ChapTarget::create: " + created.error().message);
    ChapTarget& chap = **created;
    std::optional<LoginRequest> first;
    std::uint32_t stat_sn = 1;

    auto read_request = [&](int number) -> std::optional<Request> {
      auto pdu = read_pdu(conn, kDefaultMaxRecvDataSegment, deadline(), &m_stop);
      if (!pdu) return std::nullopt;  // the initiator went away
      auto req = decode_login_request(*pdu);
      if (!req) {
        problem("request " + std::to_string(number) + ": " + req.error().message);
        return std::nullopt;
      }
      auto keys = parse_text(req->data);
      if (!keys) {
        problem("request " + std::to_string(number) + " text: " + keys.error().message);
        return std::nullopt;
      }
      if (req->tsih != 0) problem("a leading login with TSIH != 0");
      if (req->cont) problem("unexpected C bit");
      if (first && (req->itt != first->itt || req->isid != first->isid || req->cid != first->cid))
        problem("ITT, ISID or CID changed within one login");
      if (!first) first = *req;
      return Request{std::move(req).value(), std::move(keys).value()};
    };
    auto respond = [&](const LoginRequest& req, bool transit, std::uint8_t csg, std::uint8_t nsg,
                       std::uint16_t tsih, std::uint16_t code, const KeyList& keys) {
      LoginResponse r;
      r.transit = transit;
      r.csg = csg;
      r.nsg = transit ? nsg : 0;
      r.isid = req.isid;
      r.tsih = tsih;
      r.itt = req.itt;
      r.stat_sn = stat_sn++;
      r.exp_cmd_sn = req.cmd_sn;
      r.max_cmd_sn = req.cmd_sn + 1;
      r.status = code;
      const std::string text = build_text(keys);
      r.data.assign(text.begin(), text.end());
      if (!write_pdu(conn, encode(r), deadline())) problem("could not write a response");
    };
    // Applies the script's action at request `number`; true when the attempt ends here.
    auto intervene = [&](int number, const LoginRequest& req) {
      if (script.at_request != number) return false;
      switch (script.action) {
        case Action::answer:
          return false;
        case Action::drop:
          conn.close();
          return true;
        case Action::status:
          respond(req, false, req.csg, 0, 0, script.status, KeyList{});
          return true;
        case Action::stall:
          while (read_pdu(conn, kDefaultMaxRecvDataSegment, deadline(), &m_stop)) {
          }
          return true;
      }
      return true;
    };

    // 1: declarations and AuthMethod.
    auto r1 = read_request(1);
    if (!r1) return problem("no first request");
    for (const char* key : {"InitiatorName", "TargetName", "SessionType", "AuthMethod"}) {
      if (!r1->keys.contains(key)) problem(std::string("first request lacks ") + key);
    }
    if (r1->header.csg != kSecurityStage) problem("first request not in the security stage");
    if (intervene(1, r1->header)) return;
    auto a1 = chap.step(auth_keys_of(r1->keys));
    if (!a1) return problem("AuthMethod step: " + a1.error().message);
    KeyList out = *a1;
    out.set("TargetPortalGroupTag", "1");
    respond(r1->header, false, kSecurityStage, 0, 0, status::kSuccess, out);

    // 2: the CHAP_A offer; we answer with our pick and a challenge.
    auto r2 = read_request(2);
    if (!r2) return problem("no CHAP_A request");
    if (const std::string* offer = r2->keys.find("CHAP_A")) record.chap_a_offer = *offer;
    if (intervene(2, r2->header)) return;
    auto a2 = chap.step(auth_keys_of(r2->keys));
    if (!a2) return problem("CHAP_A step: " + a2.error().message);
    record.algorithm = chap.algorithm();
    record.target_challenge.assign(chap.issued_challenge().begin(), chap.issued_challenge().end());
    respond(r2->header, false, kSecurityStage, 0, 0, status::kSuccess, *a2);

    // 3: the initiator's response (and, mutual, its challenge), asking to transit.
    auto r3 = read_request(3);
    if (!r3) return problem("no CHAP response");
    if (const std::string* c = r3->keys.find("CHAP_C")) record.initiator_chap_c = *c;
    if (!r3->header.transit || r3->header.nsg != kOperationalStage)
      problem("the CHAP response did not ask to transit to the operational stage");
    auto a3 = chap.step(auth_keys_of(r3->keys));
    record.initiator_verified = a3.has_value();
    if (intervene(3, r3->header)) return;
    if (!a3) {
      respond(r3->header, false, kSecurityStage, 0, 0, status::kAuthenticationFailure,
              chap.reject_keys());
      return;
    }
    respond(r3->header, true, kSecurityStage, kOperationalStage, 0, status::kSuccess, *a3);

    // 4: operational negotiation, straight to full feature phase.
    auto r4 = read_request(4);
    if (!r4) return;  // e.g. the initiator refused our proof and closed
    if (r4->header.csg != kOperationalStage || !r4->header.transit ||
        r4->header.nsg != kFullFeaturePhase) {
      problem("the operational request did not ask for full feature phase");
    }
    for (const auto& kv : r4->keys) {
      if (is_auth_key(kv.key)) problem(kv.key + " in the operational stage");
    }
    if (intervene(4, r4->header)) return;
    KeyList negotiated;
    KeyList answers = answer_operational(r4->keys, true, negotiated);
    answers.set("MaxRecvDataSegmentLength", "262144");
    respond(r4->header, true, kOperationalStage, kFullFeaturePhase, kScriptTsih, status::kSuccess,
            answers);
    record.completed = true;

    // Full feature phase: NOP and Logout only, until the initiator leaves.
    while (auto pdu = read_pdu(conn, 262144, deadline(), &m_stop)) {
      if (pdu->opcode() == static_cast<std::uint8_t>(Opcode::logout_request)) {
        auto req = decode_logout_request(*pdu);
        LogoutResponse resp;
        resp.itt = req ? req->itt : 0;
        resp.stat_sn = stat_sn++;
        (void)write_pdu(conn, encode(resp), deadline());
        return;
      }
      if (pdu->opcode() == static_cast<std::uint8_t>(Opcode::nop_out)) {
        auto nop = decode_nop_out(*pdu);
        NopIn in;
        in.itt = nop ? nop->itt : 0;
        in.stat_sn = stat_sn++;
        in.data = pdu->data;
        (void)write_pdu(conn, encode(in), deadline());
      }
    }
  }

  std::shared_ptr<const HashBackend> m_backend;
  std::vector<AttemptScript> m_scripts;
  Listener m_listener;
  bool m_listening = false;
  std::atomic<bool> m_stop{false};
  std::atomic<std::size_t> m_connections{0};
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<AttemptRecord> m_records;
};

std::unique_ptr<InitiatorSession> make_session(std::uint16_t port,
                                               std::unique_ptr<InitiatorAuthenticator> auth,
                                               Lines& transcript, Millis login_timeout) {
  auto options = initiator_options(port);
  options.transcript = transcript.sink();
  options.login_timeout = login_timeout;
  options.max_attempts = 3;
  auto created = InitiatorSession::create(std::move(options), std::move(auth));
  if (!created) return nullptr;
  return std::move(created).value();
}

void expect_no_problems(const std::vector<AttemptRecord>& records) {
  for (std::size_t i = 0; i < records.size(); ++i) {
    for (const auto& p : records[i].problems) ADD_FAILURE() << "attempt " << i + 1 << ": " << p;
  }
}

// ---------------------------------------------------------------------------------------------
// Attempt 1 fails after the initiator answered; attempt 2 negotiates a different algorithm.

struct FailureVariant {
  const char* name;
  Action action;
  std::uint16_t status;
};
constexpr FailureVariant kDropped{"dropped", Action::drop, 0};
constexpr FailureVariant kTargetError{"status0300", Action::status, status::kTargetError};

class RewindTest
    : public ::testing::TestWithParam<std::tuple<FailureVariant, std::string /*backend*/>> {
 protected:
  const FailureVariant& variant() const { return std::get<0>(GetParam()); }
  std::shared_ptr<const HashBackend> backend() const {
    return test::backend_or_fail(std::get<1>(GetParam()));
  }
};

TEST_P(RewindTest, SecondAttemptRenegotiatesFromScratch) {
  const Algorithm kA = Algorithm::sha256;
  const Algorithm kB = Algorithm::sha3_256;
  AttemptScript first;
  first.allowed = {kA};
  first.at_request = 3;
  first.action = variant().action;
  first.status = variant().status;
  AttemptScript second;
  second.allowed = {kB};
  ScriptedTarget target(backend(), {first, second});
  ASSERT_TRUE(target.listening());

  Lines transcript;
  auto session = make_session(target.port(),
                              initiator_auth(backend(), true, policy_with(test::all_algorithms())),
                              transcript, Millis(3000));
  ASSERT_TRUE(session);
  auto ok = session->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << transcript.joined();

  EXPECT_EQ(session->attempts(), 2u);
  EXPECT_EQ(session->authenticator().rewinds(), 2u);
  EXPECT_EQ(session->algorithm(), kB);
  EXPECT_TRUE(session->mutual());
  EXPECT_EQ(session->tsih(), kScriptTsih);
  if (variant().action == Action::status) {
    EXPECT_EQ(session->last_status(), status::kTargetError);
  }
  const Bytes session_challenge(session->authenticator().exchange().issued_challenge().begin(),
                                session->authenticator().exchange().issued_challenge().end());
  ASSERT_TRUE(session->ping());
  ASSERT_TRUE(session->logout());

  ASSERT_TRUE(target.wait_for_records(2));
  const auto records = target.records();
  expect_no_problems(records);
  ASSERT_EQ(records.size(), 2u);
  const AttemptRecord& one = records[0];
  const AttemptRecord& two = records[1];

  // Each attempt on its own TCP connection.
  EXPECT_NE(one.peer, two.peer);
  // Attempt 1 really negotiated A, and the initiator's answer under A was correct.
  EXPECT_EQ(one.algorithm, kA);
  EXPECT_TRUE(one.initiator_verified);
  EXPECT_FALSE(one.completed);
  // Attempt 2: a fresh negotiation from the full offer, ending on B.
  EXPECT_EQ(one.chap_a_offer, "8,7,6,5");
  EXPECT_EQ(two.chap_a_offer, "8,7,6,5");
  EXPECT_EQ(two.algorithm, kB);
  EXPECT_TRUE(two.initiator_verified);
  EXPECT_TRUE(two.completed);
  // Fresh challenges on both sides.
  ASSERT_FALSE(one.target_challenge.empty());
  ASSERT_FALSE(two.target_challenge.empty());
  EXPECT_NE(one.target_challenge, two.target_challenge);
  const Bytes one_c = decode_or_empty(one.initiator_chap_c);
  const Bytes two_c = decode_or_empty(two.initiator_chap_c);
  ASSERT_FALSE(one_c.empty()) << one.initiator_chap_c;
  ASSERT_FALSE(two_c.empty()) << two.initiator_chap_c;
  EXPECT_NE(one_c, two_c);
  // The session authenticator holds attempt 2's state only.
  EXPECT_EQ(session_challenge, two_c);
  EXPECT_NE(session_challenge, one_c);
  EXPECT_TRUE(transcript.contains("attempt 2/3"));
}

INSTANTIATE_TEST_SUITE_P(Variants, RewindTest,
                         ::testing::Combine(::testing::Values(kDropped, kTargetError),
                                            ::testing::ValuesIn(test::backend_names())),
                         [](const ::testing::TestParamInfo<RewindTest::ParamType>& info) {
                           return std::string(std::get<0>(info.param).name) + "_" +
                                  std::get<1>(info.param);
                         });

// ---------------------------------------------------------------------------------------------
// What is not retried, and what is.

class RetryPolicyTest : public ::testing::Test {
 protected:
  std::shared_ptr<const HashBackend> backend() const {
    return test::backend_or_fail(test::backend_names().front());
  }
};

TEST_F(RetryPolicyTest, AuthenticationFailureStatusIsNotRetried) {
  AttemptScript first;
  first.at_request = 3;
  first.action = Action::status;
  first.status = status::kAuthenticationFailure;
  ScriptedTarget target(backend(), {first, AttemptScript{}});
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto session =
      make_session(target.port(), initiator_auth(backend(), false), transcript, Millis(3000));
  ASSERT_TRUE(session);
  auto result = session->login();
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed))
      << result.error().message;
  EXPECT_EQ(session->last_status(), status::kAuthenticationFailure);
  EXPECT_EQ(session->attempts(), 1u);
  EXPECT_EQ(session->authenticator().rewinds(), 1u);
  ASSERT_TRUE(target.wait_for_records(1));
  EXPECT_EQ(target.connections(), 1u);
  expect_no_problems(target.records());
}

TEST_F(RetryPolicyTest, TargetNotFoundStatusIsNotRetried) {
  AttemptScript first;
  first.at_request = 1;
  first.action = Action::status;
  first.status = status::kTargetNotFound;
  ScriptedTarget target(backend(), {first, AttemptScript{}});
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto session =
      make_session(target.port(), initiator_auth(backend(), false), transcript, Millis(3000));
  ASSERT_TRUE(session);
  auto result = session->login();
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::rejected, ErrorCode::login_refused))
      << result.error().message;
  EXPECT_EQ(session->last_status(), status::kTargetNotFound);
  EXPECT_EQ(session->attempts(), 1u);
  ASSERT_TRUE(target.wait_for_records(1));
  EXPECT_EQ(target.connections(), 1u);
  expect_no_problems(target.records());
}

TEST_F(RetryPolicyTest, ATargetThatFailsMutualAuthenticationIsNotRetried) {
  AttemptScript impostor;
  impostor.own_secret = test::kWrongSecret;  // not the secret the initiator expects
  ScriptedTarget target(backend(), {impostor, AttemptScript{}});
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto session =
      make_session(target.port(), initiator_auth(backend(), true), transcript, Millis(3000));
  ASSERT_TRUE(session);
  auto result = session->login();
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response))
      << result.error().message;
  EXPECT_FALSE(session->last_status().has_value());  // we close; nobody sent a status
  EXPECT_EQ(session->attempts(), 1u);
  EXPECT_EQ(session->connection_count(), 0u);
  ASSERT_TRUE(target.wait_for_records(1));  // the initiator closed the connection
  const auto records = target.records();
  EXPECT_TRUE(records[0].initiator_verified);  // the initiator was fine; the target was not
  EXPECT_FALSE(records[0].completed);
  EXPECT_EQ(target.connections(), 1u);
  expect_no_problems(records);
}

class StallTest : public RetryPolicyTest, public ::testing::WithParamInterface<int> {};

TEST_P(StallTest, AStallingTargetTimesOutAndTheRetrySucceeds) {
  AttemptScript stall;
  stall.at_request = GetParam();
  stall.action = Action::stall;
  ScriptedTarget target(backend(), {stall, AttemptScript{}});
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto session =
      make_session(target.port(), initiator_auth(backend(), true), transcript, Millis(400));
  ASSERT_TRUE(session);
  const auto start = Clock::now();
  auto ok = session->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << transcript.joined();
  EXPECT_GE(Clock::now() - start, Millis(400));
  EXPECT_EQ(session->attempts(), 2u);
  EXPECT_EQ(session->authenticator().rewinds(), 2u);
  EXPECT_TRUE(transcript.contains("attempt 1 failed: read timed out")) << transcript.joined();
  ASSERT_TRUE(session->logout());
  ASSERT_TRUE(target.wait_for_records(2));
  const auto records = target.records();
  EXPECT_FALSE(records[0].completed);
  EXPECT_TRUE(records[1].completed);
  EXPECT_NE(records[0].peer, records[1].peer);
  expect_no_problems(records);
}

// Stalling before anything is answered, and after the initiator's CHAP response.
INSTANTIATE_TEST_SUITE_P(AtRequest, StallTest, ::testing::Values(1, 3));

TEST_F(RetryPolicyTest, GivesUpAfterMaxAttemptsEachWithFreshChallenges) {
  AttemptScript drop;
  drop.at_request = 3;
  drop.action = Action::drop;
  ScriptedTarget target(backend(), {drop, drop, drop});
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto session =
      make_session(target.port(), initiator_auth(backend(), true), transcript, Millis(3000));
  ASSERT_TRUE(session);
  auto result = session->login();
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::io, ErrorCode::connection_closed))
      << result.error().message;
  EXPECT_EQ(session->attempts(), 3u);
  EXPECT_EQ(session->authenticator().rewinds(), 3u);
  ASSERT_TRUE(target.wait_for_records(3));
  const auto records = target.records();
  expect_no_problems(records);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_TRUE(records[i].initiator_verified) << i;
    for (std::size_t j = 0; j < i; ++j) {
      EXPECT_NE(records[i].target_challenge, records[j].target_challenge);
      EXPECT_NE(decode_or_empty(records[i].initiator_chap_c),
                decode_or_empty(records[j].initiator_chap_c));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Offer fallback (session/offer_fallback.h): each fallback attempt is a fresh connection with the
// session authenticator rewound, and only the offer differs.

struct FallbackVariant {
  const char* name;
  std::vector<Algorithm> first_allowed;  // what attempt 1's target picks from
  int at_request;                        // 2: right after CHAP_A; 3: right after our CHAP_R
  std::uint16_t status;
  std::string second_offer;  // what the fallback must offer next
  Algorithm second_pick;
};

class FallbackRewindTest : public ::testing::TestWithParam<FallbackVariant> {
 protected:
  std::shared_ptr<const HashBackend> backend() const {
    return test::backend_or_fail(test::backend_names().front());
  }
};

TEST_P(FallbackRewindTest, EachFallbackAttemptStartsClean) {
  const FallbackVariant& v = GetParam();
  AttemptScript first;
  first.allowed = v.first_allowed;
  first.at_request = v.at_request;
  first.action = Action::status;
  first.status = v.status;
  AttemptScript second;
  second.allowed = {v.second_pick};
  ScriptedTarget target(backend(), {first, second});
  ASSERT_TRUE(target.listening());
  Lines transcript;
  auto options = initiator_options(target.port());
  options.transcript = transcript.sink();
  options.max_attempts = 1;  // no plain retry: the second attempt is the fallback's
  options.offer_memory = std::make_shared<OfferMemory>();
  auto created = InitiatorSession::create(
      std::move(options), initiator_auth(backend(), true, policy_with(test::all_algorithms())));
  ASSERT_TRUE(created);
  auto& session = *created;
  auto ok = session->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << transcript.joined();
  EXPECT_EQ(session->attempts(), 2u);
  EXPECT_EQ(session->fallback_steps(), 1u);
  EXPECT_EQ(session->authenticator().rewinds(), 2u);
  EXPECT_EQ(session->algorithm(), v.second_pick);
  EXPECT_TRUE(session->mutual());
  EXPECT_EQ(session->last_status(), v.status);
  EXPECT_TRUE(transcript.contains("offering " + v.second_offer)) << transcript.joined();
  const Bytes session_challenge(session->authenticator().exchange().issued_challenge().begin(),
                                session->authenticator().exchange().issued_challenge().end());
  ASSERT_TRUE(session->logout());

  ASSERT_TRUE(target.wait_for_records(2));
  const auto records = target.records();
  expect_no_problems(records);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_NE(records[0].peer, records[1].peer);  // a fresh TCP connection
  EXPECT_EQ(records[0].chap_a_offer, "8,7,6,5");
  EXPECT_EQ(records[1].chap_a_offer, v.second_offer);
  EXPECT_EQ(records[1].algorithm, v.second_pick);
  EXPECT_TRUE(records[1].initiator_verified);
  EXPECT_TRUE(records[1].completed);
  // Nothing of attempt 1 survives: fresh challenges both ways, the session holds attempt 2's.
  const Bytes two_c = decode_or_empty(records[1].initiator_chap_c);
  ASSERT_FALSE(two_c.empty());
  EXPECT_EQ(session_challenge, two_c);
  if (v.at_request == 3) {
    const Bytes one_c = decode_or_empty(records[0].initiator_chap_c);
    ASSERT_FALSE(one_c.empty());
    EXPECT_NE(one_c, two_c);
    EXPECT_NE(records[0].target_challenge, records[1].target_challenge);
    EXPECT_EQ(records[0].algorithm, Algorithm::sha256);
  } else {
    EXPECT_TRUE(records[0].initiator_chap_c.empty());  // it never got to our response
  }
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, FallbackRewindTest,
    ::testing::Values(
        // pre-3.15 LIO: the list itself is refused; one algorithm at a time.
        FallbackVariant{"list_refused_0201", test::all_algorithms(), 2,
                        status::kAuthenticationFailure, "8", Algorithm::sha3_256},
        // tgt: our SHA-256 answer to CHAP_A=7 refused with 0x0200; the list without 7.
        FallbackVariant{"sha256_as_7_0200",
                        {Algorithm::sha256},
                        3,
                        status::kInitiatorError,
                        "8,6,5",
                        Algorithm::sha1}),
    [](const ::testing::TestParamInfo<FallbackVariant>& info) { return info.param.name; });

}  // namespace
}  // namespace multichap
