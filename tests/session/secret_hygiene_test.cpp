// SPDX-License-Identifier: BSD-2-Clause
// Secret hygiene, end to end.
//
// 1. Nothing a node says locally carries a secret or a computed response: for successful and
//    failing logins over real TCP (one-way and mutual, every algorithm, a wrong initiator secret,
//    a target proving the wrong secret, no common algorithm, a reflected challenge, an own-secret
//    response), the target's log with log_keys on, the initiator's transcript and every error
//    message are searched for each secret (as text, hex and base64) and for every CHAP_R that
//    actually went over the wire (recorded by test::PduRelay), whole and in part. Configuration
//    errors (short, empty or shared secrets) and decoding errors are searched too.
// 2. Challenge and secret buffers are wiped on rewind and destruction, proven through the wiping
//    allocator: wiped_byte_count() grows by at least the buffer sizes when the session's
//    authenticator rewinds after a real login, when a target drops a login's exchange, and when an
//    InitiatorSession or a Target (with its configuration) is destroyed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "tests/session/hardening_fixtures.h"
#include "tests/session/pdu_relay.h"

namespace multichap::hardening {
namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Every form in which a secret or a response could leak into text.
std::vector<std::string> forms_of(ByteView bytes) {
  const std::string hex = encode_hex(bytes).substr(2);
  std::vector<std::string> forms = {hex, upper(hex), encode_base64(bytes).substr(2)};
  if (hex.size() >= 24) forms.push_back(hex.substr(0, 16));  // a prefix is a leak too
  if (hex.size() >= 24) forms.push_back(hex.substr(hex.size() - 16));
  const std::string raw(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (std::all_of(raw.begin(), raw.end(),
                  [](char c) { return std::isprint(static_cast<unsigned char>(c)); })) {
    forms.push_back(raw);
  }
  return forms;
}

std::vector<std::string> secret_forms() {
  std::vector<std::string> out;
  for (const std::string_view s : {kInitiatorSecret, kTargetSecret, kWrongSecret}) {
    for (auto& f : forms_of(ByteView(s))) out.push_back(f);
  }
  return out;
}

// The CHAP_R values the relay saw, decoded, in every form.
std::vector<std::string> response_forms(const test::PduRelay& relay) {
  std::vector<std::string> out;
  for (const auto& record : relay.records()) {
    auto keys = parse_text(ByteView(record.pdu.data));
    if (!keys) continue;
    if (const std::string* r = keys->find("CHAP_R")) {
      auto decoded = decode_binary(*r, kMaxBinaryValueBytes);
      if (!decoded) continue;
      for (auto& f : forms_of(ByteView(decoded->data(), decoded->size()))) out.push_back(f);
    }
  }
  return out;
}

::testing::AssertionResult free_of(const std::string& text, const std::vector<std::string>& forms) {
  for (const auto& f : forms) {
    if (!f.empty() && text.find(f) != std::string::npos) {
      return ::testing::AssertionFailure() << "found '" << f << "' in:\n" << text;
    }
  }
  return ::testing::AssertionSuccess();
}

struct Scenario {
  std::string name;
  LoginSpec spec;
  ChapPolicy target_policy;
  bool expect_success;
};

TEST(SecretHygiene, LogsTranscriptsAndErrorsNeverCarrySecretsOrResponses) {
  std::vector<Scenario> scenarios;
  for (const auto& info : kAlgorithms) {
    for (const bool mutual : {false, true}) {
      LoginSpec spec;
      spec.mutual = mutual;
      spec.algorithms = {info.id};
      scenarios.push_back(
          {std::string(info.name) + (mutual ? " mutual" : " one-way"), spec, {}, true});
    }
  }
  {
    LoginSpec spec;
    spec.secret = kWrongSecret;
    scenarios.push_back({"wrong initiator secret", spec, {}, false});
  }
  {
    LoginSpec spec;
    spec.mutual = true;
    spec.target_secret = kWrongSecret;  // the target proves kTargetSecret: mismatch
    scenarios.push_back({"target proves another secret", spec, {}, false});
  }
  {
    LoginSpec spec;
    spec.algorithms = {Algorithm::md5};
    ChapPolicy hardened;
    hardened.algorithms = {Algorithm::sha3_256};
    scenarios.push_back({"no common algorithm", spec, hardened, false});
  }

  std::size_t responses_checked = 0;
  for (const auto& sc : scenarios) {
    SCOPED_TRACE(sc.name);
    Lines log;
    Lines transcript;
    TargetOptions options;
    // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers
    // it).
    options.guard.enabled = false;
    options.chap = target_config(true, sc.target_policy);
    options.log = log.sink();
    options.log_keys = true;
    auto target = start_target(std::move(options));
    ASSERT_TRUE(target);
    auto relay = test::PduRelay::start(Endpoint{"127.0.0.1", target->port()});
    ASSERT_TRUE(relay);
    LoginSpec spec = sc.spec;
    spec.transcript = transcript.sink();
    const LoginResult r = real_login(relay->port(), spec);
    EXPECT_EQ(r.login.has_value(), sc.expect_success) << (r.login ? "" : r.login.error().message);
    // Every PDU is recorded before it is forwarded, so the records are complete; the target logs
    // a login's outcome before its connection ends.
    ASSERT_TRUE(eventually([&] { return target->active_connections() == 0; }));

    const std::string said =
        log.joined() + transcript.joined() + (r.login ? "" : r.login.error().message);
    EXPECT_GT(log.count(), 3u);         // log_keys really logged the exchange
    EXPECT_GT(transcript.count(), 3u);  // and the transcript shows it
    EXPECT_TRUE(free_of(said, secret_forms()));
    const auto responses = response_forms(*relay);
    if (!responses.empty()) {
      ++responses_checked;
      EXPECT_NE(said.find("CHAP_R=<masked"), std::string::npos) << said;  // shown, but masked
      EXPECT_TRUE(free_of(said, responses));
      // The search is not vacuous: the same forms are found in what went over the wire.
      std::string wire;
      for (const auto& record : relay->records()) {
        wire.append(record.pdu.data.begin(), record.pdu.data.end());
      }
      EXPECT_FALSE(free_of(upper(wire) + wire, responses));
    }
  }
  EXPECT_EQ(responses_checked, scenarios.size() - 1);  // all but "no common algorithm"
  std::printf(
      "secret hygiene: %zu logins' target logs, transcripts and errors searched for 3 "
      "secrets and every CHAP_R sent (%zu with responses)\n",
      scenarios.size(), responses_checked);
}

// A peer that reflects the target's challenge or answers with the target's own secret is refused,
// and neither the target's log nor the refusal names a secret or a response.
TEST(SecretHygiene, ReflectionAndOwnSecretRefusalsStayQuiet) {
  Lines log;
  TargetOptions options;
  // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers it).
  options.guard.enabled = false;
  options.chap = target_config(true);
  options.log = log.sink();
  options.log_keys = true;
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  std::vector<std::string> sent;
  for (int variant = 0; variant < 2; ++variant) {
    auto client = RawClient::connect(target->port());
    ASSERT_TRUE(client);
    LoginScript s(std::move(*client));
    ASSERT_TRUE(s.offer_auth_method() && s.offer_algorithms()) << s.failure;
    KeyList keys{{"CHAP_N", std::string(kInitiatorUser)}};
    if (variant == 0) {
      keys.set("CHAP_R", s.response(kTargetSecret));  // the target's own secret (§9.2.1)
    } else {
      keys.set("CHAP_R", s.response());
      keys.set("CHAP_I", "3");
      keys.set("CHAP_C", s.challenge_text);  // the target's own challenge, reflected
    }
    sent.push_back(keys.find("CHAP_R")->substr(2));
    ASSERT_TRUE(s.client().send(s.request(0x81, keys)));
    Reply reply = s.client().read();
    ASSERT_TRUE(reply.pdu);
    auto resp = decode_login_response(*reply.pdu);
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->status, status::kAuthenticationFailure);
  }
  ASSERT_TRUE(eventually([&] { return target->active_connections() == 0; }));
  const std::string text = log.joined();
  EXPECT_NE(text.find("our own secret"), std::string::npos) << text;
  EXPECT_NE(text.find("reflected our own challenge"), std::string::npos) << text;
  EXPECT_TRUE(free_of(text, secret_forms()));
  EXPECT_TRUE(free_of(text, sent));
}

// Every configuration and decoding error we can provoke names the rule, never the secret.
TEST(SecretHygiene, ConfigurationErrorsNameTheRuleNotTheSecret) {
  const auto crypto = backend();
  constexpr std::string_view kShort = "short-7f3a9";  // 11 bytes: under RFC 7143 §9.2.1's 12
  constexpr std::string_view kTiny = "tiny-5e0d2";
  std::vector<Error> errors;
  auto initiator = [&](std::string_view own, std::optional<std::string_view> target,
                       ChapPolicy policy = {}) {
    ChapInitiatorConfig config;
    config.local = ChapCredentials{"n", Secret::from_text(own)};
    if (target) config.target = ChapCredentials{"t", Secret::from_text(*target)};
    config.policy = std::move(policy);
    auto r = validate_config(config, *crypto);
    ASSERT_FALSE(r.has_value()) << own;
    errors.push_back(r.error());
  };
  initiator(kShort, std::nullopt);
  initiator("", std::nullopt);
  initiator(kInitiatorSecret, kInitiatorSecret);  // one secret for both directions
  initiator(kInitiatorSecret, kTiny);
  ChapPolicy unnumbered;  // SHA-256 has no CHAP_A number in tgt's legacy numbering
  unnumbered.algorithms = {Algorithm::sha256};
  unnumbered.numbering = ChapNumbering::legacy_tgt_sha1;
  initiator(kInitiatorSecret, std::nullopt, unnumbered);

  ChapTargetConfig config;
  config.accounts.push_back(ChapCredentials{"a", Secret::from_text(kInitiatorSecret)});
  config.local = ChapCredentials{"t", Secret::from_text(kInitiatorSecret)};
  auto shared = validate_config(config, *crypto);
  ASSERT_FALSE(shared.has_value());
  errors.push_back(shared.error());
  config.local.reset();
  config.accounts[0].secret = Secret::from_text(kShort);
  auto short_account = validate_config(config, *crypto);
  ASSERT_FALSE(short_account.has_value());
  errors.push_back(short_account.error());

  const std::string_view bad_encodings[] = {"0xnot-hex-7f3a9c", "0b@@@@", kInitiatorSecret};
  for (const std::string_view bad : bad_encodings) {
    auto r = Secret::from_encoded(bad);
    ASSERT_FALSE(r.has_value());
    errors.push_back(r.error());
    EXPECT_EQ(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
  std::vector<std::string> forms = secret_forms();
  for (const std::string_view s : {kShort, kTiny}) {
    for (auto& f : forms_of(ByteView(s))) forms.push_back(f);
  }
  ASSERT_EQ(errors.size(), 10u);
  for (const auto& e : errors) {
    EXPECT_FALSE(e.message.empty());
    EXPECT_TRUE(free_of(e.message, forms));
  }
}

// ---- wiping ------------------------------------------------------------------------------------

TEST(SecretWiping, SessionAuthenticatorRewindWipesTheChallengeOfARealLogin) {
  TargetOptions options;
  // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers it).
  options.guard.enabled = false;
  options.chap = target_config(true);
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  LoginSpec spec;
  spec.mutual = true;
  auto auth = initiator_auth(spec);
  ASSERT_TRUE(auth);
  auto session = InitiatorSession::create(initiator_options(target->port(), spec), std::move(auth));
  ASSERT_TRUE(session);
  ASSERT_TRUE((*session)->login());
  ASSERT_TRUE((*session)->logout());
  ASSERT_TRUE(eventually([&] { return target->active_connections() == 0; }));

  InitiatorAuthenticator& a = (*session)->authenticator();
  const std::size_t challenge = a.exchange().issued_challenge().size();
  ASSERT_GE(challenge, 32u);  // our mutual challenge of this login
  const std::uint64_t before = wiped_byte_count();
  a.rewind();
  EXPECT_GE(wiped_byte_count() - before, challenge);
  EXPECT_TRUE(a.exchange().issued_challenge().empty());
  EXPECT_EQ(a.rewinds(), 2u);
}

TEST(SecretWiping, RetriedLoginRewindsBeforeTheNextAttempt) {
  TargetOptions options;
  // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers it).
  options.guard.enabled = false;
  options.chap = target_config(true);
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  // The first connection is dropped in place of the target's CHAP_R: our challenge was issued.
  FaultProxy proxy(target->port(), Fault::drop, 3);
  LoginSpec spec;
  spec.mutual = true;
  spec.attempts = 2;
  auto auth = initiator_auth(spec);
  ASSERT_TRUE(auth);
  auto session = InitiatorSession::create(initiator_options(proxy.port(), spec), std::move(auth));
  ASSERT_TRUE(session);
  const std::uint64_t before = wiped_byte_count();
  ASSERT_TRUE((*session)->login());
  EXPECT_TRUE(proxy.injected());
  EXPECT_EQ((*session)->authenticator().rewinds(), 2u);
  // At least the first attempt's challenge (32 bytes) was wiped by the second rewind.
  EXPECT_GE(wiped_byte_count() - before, 32u);
  ASSERT_TRUE((*session)->logout());
}

TEST(SecretWiping, TargetWipesTheChallengeWhenALoginEnds) {
  TargetOptions options;
  // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers it).
  options.guard.enabled = false;
  options.chap = target_config(true);
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  auto client = RawClient::connect(target->port());
  ASSERT_TRUE(client);
  LoginScript s(std::move(*client));
  ASSERT_TRUE(s.offer_auth_method() && s.offer_algorithms()) << s.failure;
  const std::size_t challenge = s.challenge.size();
  ASSERT_GE(challenge, 32u);
  const std::uint64_t before = wiped_byte_count();
  s.client().conn.close();  // the login is abandoned: the target drops its exchange
  ASSERT_TRUE(eventually([&] { return target->active_connections() == 0; }));
  EXPECT_GE(wiped_byte_count() - before, challenge);
}

TEST(SecretWiping, DestroyingASessionOrATargetWipesTheirSecrets) {
  TargetOptions options;
  // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers it).
  options.guard.enabled = false;
  auto chap = target_config(true);
  options.chap = chap;
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  chap.reset();  // the target holds the only reference
  LoginSpec spec;
  spec.mutual = true;
  {
    auto auth = initiator_auth(spec);
    ASSERT_TRUE(auth);
    auto session =
        InitiatorSession::create(initiator_options(target->port(), spec), std::move(auth));
    ASSERT_TRUE(session);
    ASSERT_TRUE((*session)->login());
    ASSERT_TRUE((*session)->logout());
    ASSERT_TRUE(eventually([&] { return target->active_connections() == 0; }));
    const std::size_t expected = kInitiatorSecret.size() + kTargetSecret.size() +
                                 (*session)->authenticator().exchange().issued_challenge().size();
    const std::uint64_t before = wiped_byte_count();
    session->reset();
    EXPECT_GE(wiped_byte_count() - before, expected);
  }
  const std::uint64_t before = wiped_byte_count();
  target.reset();
  EXPECT_GE(wiped_byte_count() - before, kInitiatorSecret.size() + kTargetSecret.size());
}

}  // namespace
}  // namespace multichap::hardening
