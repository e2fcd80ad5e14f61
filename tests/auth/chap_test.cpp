// SPDX-License-Identifier: BSD-2-Clause
// The CHAP state machines (auth/chap.h) of both roles, run against each other in memory with the
// real backends: every algorithm x every built backend x one-way/mutual, negotiation, the RFC 7143
// §9.2.1 / §12.1.3 rules, reset, and properties of the transition tables.
#include "auth/chap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "backends/hash_backend.h"
#include "tests/auth/chap_fixtures.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"

namespace multichap {
namespace {

using test::credentials;
using test::initiator_config;
using test::kInitiatorSecret;
using test::kInitiatorUser;
using test::kTargetSecret;
using test::kTargetUser;
using test::make_initiator;
using test::make_target;
using test::run_exchange;
using test::target_config;

std::shared_ptr<const HashBackend> default_backend() {
  return test::backend_or_fail(std::string(default_backend_name()));
}

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes decoded(const std::string& value) {
  auto r = decode_binary(value, kMaxBinaryValueBytes);
  EXPECT_TRUE(r) << value;
  return r ? Bytes(r->begin(), r->end()) : Bytes{};
}

std::string chap_a_of(Algorithm alg) {
  return std::to_string(algorithm_info(alg).chap_a);
}

// The response to (id, challenge) with a secret given as text, as 0x hex.
std::string response_hex(const ChapCrypto& crypto, Algorithm alg, std::uint8_t id,
                         std::string_view secret, ByteView challenge) {
  std::array<std::uint8_t, kMaxDigestSize> out{};
  auto n = chap_response(crypto, alg, id, Secret::from_text(secret), challenge, out);
  EXPECT_TRUE(n);
  return n ? encode_hex(ByteView(out.data(), *n)) : std::string();
}

std::string error_text(const std::optional<Error>& e) {
  return e ? std::string(error_kind_name(e->kind)) + ": " + e->message : "(none)";
}

// A ChapCrypto around a real backend that can be told to fail or to return fixed "random" bytes:
// the one kind of fake these tests use, to reach failure paths real backends never take.
class RiggedCrypto final : public ChapCrypto {
 public:
  explicit RiggedCrypto(std::shared_ptr<const ChapCrypto> real) : m_real(std::move(real)) {}
  bool fail_digest = false;
  bool fail_random = false;
  std::optional<std::uint8_t> fixed_random;

  bool supports(Algorithm alg) const override { return m_real->supports(alg); }
  Result<std::size_t> digest(Algorithm alg, std::initializer_list<ByteView> parts,
                             MutableByteView out) const override {
    if (fail_digest)
      return make_error(ErrorKind::backend, ErrorCode::digest_failed, "rigged digest failure");
    return m_real->digest(alg, parts, out);
  }
  Result<void> random(MutableByteView out) const override {
    if (fail_random)
      return make_error(ErrorKind::backend, ErrorCode::random_failed, "rigged random failure");
    if (fixed_random) {
      std::memset(out.data(), *fixed_random, out.size());
      return {};
    }
    return m_real->random(out);
  }

 private:
  std::shared_ptr<const ChapCrypto> m_real;
};

// A target that answered AuthMethod=CHAP and CHAP_A=alg, waiting for the response.
std::unique_ptr<ChapTarget> target_awaiting_response(std::shared_ptr<const ChapTargetConfig> config,
                                                     std::shared_ptr<const ChapCrypto> crypto,
                                                     Algorithm alg) {
  auto target = make_target(std::move(config), std::move(crypto));
  EXPECT_NE(target, nullptr);
  if (target == nullptr) return nullptr;
  EXPECT_TRUE(target->step(KeyList{{"AuthMethod", "CHAP"}}));
  auto challenge = target->step(KeyList{{"CHAP_A", chap_a_of(alg)}});
  EXPECT_TRUE(challenge);
  EXPECT_EQ(target->state(), ChapTarget::State::await_response);
  return target;
}

// An initiator that sent its CHAP_A offer (policy.algorithms), waiting for the challenge.
std::unique_ptr<ChapInitiator> initiator_awaiting_challenge(
    std::shared_ptr<const ChapInitiatorConfig> config, std::shared_ptr<const ChapCrypto> crypto) {
  auto initiator = make_initiator(std::move(config), std::move(crypto));
  EXPECT_NE(initiator, nullptr);
  if (initiator == nullptr) return nullptr;
  EXPECT_TRUE(initiator->step(KeyList{}));
  EXPECT_TRUE(initiator->step(KeyList{{"AuthMethod", "CHAP"}}));
  EXPECT_EQ(initiator->state(), ChapInitiator::State::await_challenge);
  return initiator;
}

ChapPolicy policy_with(std::vector<Algorithm> algs) {
  ChapPolicy p;
  p.algorithms = std::move(algs);
  return p;
}

// ================================================================================================
// The response itself, against published digests of "abc" (RFC 1321 §A.5, FIPS 180-2 appendix,
// FIPS 202 examples): identifier 'a', secret "b", challenge "c" make the message "abc".

class ChapResponseKnownAnswer : public ::testing::TestWithParam<std::string> {};

TEST_P(ChapResponseKnownAnswer, MatchesPublishedDigestsOfAbc) {
  const auto backend = test::backend_or_fail(GetParam());
  const struct {
    Algorithm alg;
    const char* digest;
  } vectors[] = {
      {Algorithm::md5, "0x900150983cd24fb0d6963f7d28e17f72"},
      {Algorithm::sha1, "0xa9993e364706816aba3e25717850c26c9cd0d89d"},
      {Algorithm::sha256, "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {Algorithm::sha3_256, "0x3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"},
  };
  for (const auto& v : vectors) {
    if (!backend->supports(v.alg)) continue;
    EXPECT_EQ(response_hex(*backend, v.alg, 'a', "b", bytes_of("c")), v.digest)
        << algorithm_name(v.alg);
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ChapResponseKnownAnswer,
                         ::testing::ValuesIn(test::backend_names()), test::BackendParamName{});

// ================================================================================================
// Full exchanges: every algorithm x every backend x one-way/mutual.

using ExchangeParam = std::tuple<std::string, Algorithm, bool>;

class FullExchange : public ::testing::TestWithParam<ExchangeParam> {};

TEST_P(FullExchange, SucceedsAndFollowsTheRfc) {
  const auto& [backend_name, alg, mutual] = GetParam();
  const auto backend = test::backend_or_fail(backend_name);
  if (!backend->supports(alg)) GTEST_SKIP() << backend_name << " lacks " << algorithm_name(alg);

  auto initiator = make_initiator(initiator_config(mutual, policy_with({alg})), backend);
  auto target = make_target(target_config(true), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_NE(target, nullptr);
  const auto outcome = run_exchange(*initiator, *target);
  ASSERT_TRUE(outcome.both_succeeded) << "initiator " << error_text(outcome.initiator_error)
                                      << ", target " << error_text(outcome.target_error);

  EXPECT_EQ(initiator->status(), AuthStatus::succeeded);
  EXPECT_EQ(target->status(), AuthStatus::succeeded);
  EXPECT_EQ(initiator->algorithm(), alg);
  EXPECT_EQ(target->algorithm(), alg);
  EXPECT_EQ(initiator->mutual(), mutual);
  EXPECT_EQ(target->mutual(), mutual);
  EXPECT_FALSE(initiator->authenticated_none());
  EXPECT_FALSE(target->authenticated_none());
  EXPECT_EQ(target->peer_name(), kInitiatorUser);

  // The wire: AuthMethod, CHAP_A offer, challenge, response (+ mutual challenge), answer.
  ASSERT_GE(outcome.to_target.size(), 3u);
  ASSERT_GE(outcome.to_initiator.size(), 3u);
  EXPECT_EQ(*outcome.to_target[0].find("AuthMethod"), "CHAP");
  EXPECT_EQ(*outcome.to_target[1].find("CHAP_A"), chap_a_of(alg));
  const KeyList& challenge = outcome.to_initiator[1];
  EXPECT_EQ(*challenge.find("CHAP_A"), chap_a_of(alg));
  ASSERT_TRUE(challenge.contains("CHAP_I"));
  EXPECT_TRUE(parse_number(*challenge.find("CHAP_I"), 255));
  EXPECT_GE(decoded(*challenge.find("CHAP_C")).size(), digest_size(alg));
  const KeyList& response = outcome.to_target[2];
  EXPECT_EQ(*response.find("CHAP_N"), kInitiatorUser);
  EXPECT_EQ(decoded(*response.find("CHAP_R")).size(), digest_size(alg));
  EXPECT_EQ(response.contains("CHAP_C"), mutual);
  EXPECT_EQ(response.contains("CHAP_I"), mutual);
  const KeyList& answer = outcome.to_initiator[2];
  if (mutual) {
    EXPECT_GE(decoded(*response.find("CHAP_C")).size(), digest_size(alg));
    EXPECT_EQ(*answer.find("CHAP_N"), kTargetUser);
    EXPECT_EQ(decoded(*answer.find("CHAP_R")).size(), digest_size(alg));
  } else {
    EXPECT_TRUE(answer.empty());
  }
  // Every key exchanged is an authentication key and survives the text codec.
  for (const auto* list : {&outcome.to_target, &outcome.to_initiator}) {
    for (const KeyList& keys : *list) {
      for (const auto& kv : keys) EXPECT_TRUE(is_auth_key(kv.key)) << kv.key;
      EXPECT_TRUE(parse_text(ByteView(build_text(keys))));
    }
  }
}

TEST_P(FullExchange, WrongInitiatorSecretFailsAuthenticationAtTheTarget) {
  const auto& [backend_name, alg, mutual] = GetParam();
  const auto backend = test::backend_or_fail(backend_name);
  if (!backend->supports(alg)) GTEST_SKIP();
  auto config = initiator_config(mutual, policy_with({alg}));
  config->local.secret = Secret::from_text("not-the-initiator-secret");
  auto initiator = make_initiator(config, backend);
  auto target = make_target(target_config(true), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_NE(target, nullptr);
  const auto outcome = run_exchange(*initiator, *target);
  EXPECT_FALSE(outcome.both_succeeded);
  ASSERT_TRUE(outcome.target_error);
  EXPECT_THAT(outcome.target_error,
              test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response));
  EXPECT_EQ(target->status(), AuthStatus::failed);
  EXPECT_THAT(target->failure(),
              test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response));
}

TEST_P(FullExchange, WrongTargetSecretFailsAuthenticationAtTheInitiatorWhenMutual) {
  const auto& [backend_name, alg, mutual] = GetParam();
  const auto backend = test::backend_or_fail(backend_name);
  if (!backend->supports(alg)) GTEST_SKIP();
  auto tconfig = target_config(true);
  tconfig->local->secret = Secret::from_text("not-the-target-secret");
  auto initiator = make_initiator(initiator_config(mutual, policy_with({alg})), backend);
  auto target = make_target(tconfig, backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_NE(target, nullptr);
  const auto outcome = run_exchange(*initiator, *target);
  EXPECT_FALSE(outcome.target_error) << error_text(outcome.target_error);
  if (!mutual) {
    // One-way CHAP never tests the target's secret.
    EXPECT_TRUE(outcome.both_succeeded) << error_text(outcome.initiator_error);
    return;
  }
  ASSERT_TRUE(outcome.initiator_error);
  EXPECT_THAT(outcome.initiator_error,
              test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response));
  EXPECT_EQ(initiator->status(), AuthStatus::failed);
}

std::string exchange_param_name(const ::testing::TestParamInfo<ExchangeParam>& info) {
  std::string alg(algorithm_name(std::get<1>(info.param)));
  alg.erase(std::remove(alg.begin(), alg.end(), '-'), alg.end());
  return std::get<0>(info.param) + "_" + alg + (std::get<2>(info.param) ? "_mutual" : "_oneway");
}

INSTANTIATE_TEST_SUITE_P(AllBackendsAlgorithms, FullExchange,
                         ::testing::Combine(::testing::ValuesIn(test::backend_names()),
                                            ::testing::Values(Algorithm::md5, Algorithm::sha1,
                                                              Algorithm::sha256,
                                                              Algorithm::sha3_256),
                                            ::testing::Bool()),
                         exchange_param_name);

TEST(Exchange, Base64ChallengesAreAnsweredInBase64) {
  const auto backend = default_backend();
  auto target = make_target(target_config(true), backend);
  auto initiator = initiator_awaiting_challenge(
      initiator_config(true, policy_with({Algorithm::sha256})), backend);
  ASSERT_NE(target, nullptr);
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(target->step(KeyList{{"AuthMethod", "CHAP"}}));
  auto challenge = target->step(KeyList{{"CHAP_A", "7"}});
  ASSERT_TRUE(challenge);
  KeyList as_base64 = *challenge;
  as_base64.set("CHAP_C", encode_base64(target->issued_challenge()));
  auto response = initiator->step(as_base64);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->find("CHAP_R")->rfind("0b", 0), 0u) << *response->find("CHAP_R");
  EXPECT_EQ(response->find("CHAP_C")->rfind("0b", 0), 0u) << *response->find("CHAP_C");
  auto answer = target->step(*response);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->find("CHAP_R")->rfind("0b", 0), 0u) << *answer->find("CHAP_R");
  auto done = initiator->step(*answer);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(initiator->status(), AuthStatus::succeeded);
}

TEST(Exchange, LegacyTgtNumberingNegotiatesSha1AsSeven) {
  const auto backend = default_backend();
  ChapPolicy legacy;
  legacy.numbering = ChapNumbering::legacy_tgt_sha1;
  legacy.algorithms = {Algorithm::sha256, Algorithm::sha1, Algorithm::md5};
  auto initiator = make_initiator(initiator_config(false, legacy), backend);
  auto target = make_target(target_config(false, legacy), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_NE(target, nullptr);
  const auto outcome = run_exchange(*initiator, *target);
  ASSERT_TRUE(outcome.both_succeeded) << error_text(outcome.target_error);
  EXPECT_EQ(*outcome.to_target[1].find("CHAP_A"), "7,5");  // SHA-256 has no legacy number
  EXPECT_EQ(initiator->algorithm(), Algorithm::sha1);
  EXPECT_EQ(target->algorithm(), Algorithm::sha1);
}

// ================================================================================================
// Negotiation.

TEST(Negotiation, TargetPicksTheFirstOfferedAlgorithmItAllows) {
  const auto backend = default_backend();
  const std::vector<std::vector<Algorithm>> offers = {
      {Algorithm::sha3_256, Algorithm::sha256, Algorithm::sha1, Algorithm::md5},
      {Algorithm::md5, Algorithm::sha1, Algorithm::sha256, Algorithm::sha3_256},
      {Algorithm::sha256, Algorithm::sha3_256},
      {Algorithm::sha1, Algorithm::md5},
      {Algorithm::md5},
      {Algorithm::sha3_256},
  };
  const std::vector<std::vector<Algorithm>> target_policies = {
      {Algorithm::sha3_256, Algorithm::sha256, Algorithm::sha1, Algorithm::md5},
      {Algorithm::md5, Algorithm::sha3_256},  // the target's own order does not matter
      {Algorithm::sha3_256, Algorithm::sha256},
      {Algorithm::sha1},
      {Algorithm::md5},
      {Algorithm::sha256},
  };
  int agreed = 0;
  int rejected = 0;
  for (const auto& offer : offers) {
    for (const auto& allowed : target_policies) {
      std::optional<Algorithm> expected;
      for (const Algorithm a : offer) {
        if (std::find(allowed.begin(), allowed.end(), a) != allowed.end() && backend->supports(a)) {
          expected = a;
          break;
        }
      }
      const std::string label =
          "offer " + format_algorithm_list(offer) + " / target " + format_algorithm_list(allowed);
      auto initiator = make_initiator(initiator_config(false, policy_with(offer)), backend);
      auto target = make_target(target_config(false, policy_with(allowed)), backend);
      ASSERT_NE(initiator, nullptr) << label;
      ASSERT_NE(target, nullptr) << label;
      const auto outcome = run_exchange(*initiator, *target);
      if (expected) {
        ++agreed;
        EXPECT_TRUE(outcome.both_succeeded) << label << ": " << error_text(outcome.target_error);
        EXPECT_EQ(target->algorithm(), expected) << label;
        EXPECT_EQ(initiator->algorithm(), expected) << label;
      } else {
        ++rejected;
        ASSERT_TRUE(outcome.target_error) << label;
        EXPECT_THAT(outcome.target_error,
                    test::ResultIs(ErrorKind::policy, ErrorCode::chap_a_unsupported))
            << label;
        ASSERT_NE(target->reject_keys().find("CHAP_A"), nullptr) << label;
        EXPECT_EQ(*target->reject_keys().find("CHAP_A"), "Reject") << label;
        // The initiator, handed the reject, fails with a policy error too.
        ASSERT_TRUE(outcome.initiator_error) << label;
        EXPECT_THAT(outcome.initiator_error,
                    test::ResultIs(ErrorKind::policy, ErrorCode::chap_a_unsupported))
            << label;
      }
    }
  }
  EXPECT_GT(agreed, 10);
  EXPECT_GT(rejected, 5);
}

TEST(Negotiation, InitiatorOffersItsPolicyInOrder) {
  const auto backend = default_backend();
  auto initiator = make_initiator(
      initiator_config(false, policy_with({Algorithm::md5, Algorithm::sha3_256, Algorithm::sha1})),
      backend);
  ASSERT_NE(initiator, nullptr);
  auto first = initiator->step(KeyList{});
  ASSERT_TRUE(first);
  EXPECT_EQ(*first->find("AuthMethod"), "CHAP");
  auto offer = initiator->step(KeyList{{"AuthMethod", "CHAP"}});
  ASSERT_TRUE(offer);
  EXPECT_EQ(*offer->find("CHAP_A"), "5,8,6");
}

TEST(Negotiation, TargetSkipsUnknownNumbersInTheOffer) {
  const auto backend = default_backend();
  auto target = make_target(target_config(false), backend);
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(target->step(KeyList{{"AuthMethod", "CHAP"}}));
  auto challenge = target->step(KeyList{{"CHAP_A", "129,0x80,4294967295,6,8"}});
  ASSERT_TRUE(challenge) << challenge.error().message;
  EXPECT_EQ(*challenge->find("CHAP_A"), "6");
  EXPECT_EQ(target->algorithm(), Algorithm::sha1);
}

TEST(Negotiation, InitiatorFailsOnAnAlgorithmItDidNotOffer) {
  const auto backend = default_backend();
  for (const Algorithm chosen : {Algorithm::md5, Algorithm::sha1}) {
    auto initiator = initiator_awaiting_challenge(
        initiator_config(false, policy_with({Algorithm::sha3_256, Algorithm::sha256})), backend);
    ASSERT_NE(initiator, nullptr);
    auto r = initiator->step(KeyList{
        {"CHAP_A", chap_a_of(chosen)}, {"CHAP_I", "1"}, {"CHAP_C", test::hex_of_size(32, 'a')}});
    ASSERT_FALSE(r);
    EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::chap_a_not_offered));
    EXPECT_EQ(initiator->state(), ChapInitiator::State::failed);
  }
}

TEST(Negotiation, HardenedPolicyNeverOffersOrAcceptsMd5OrSha1) {
  const auto backend = default_backend();
  const ChapPolicy hardened = ChapPolicy::hardened();
  EXPECT_EQ(std::count(hardened.algorithms.begin(), hardened.algorithms.end(), Algorithm::md5), 0);
  EXPECT_EQ(std::count(hardened.algorithms.begin(), hardened.algorithms.end(), Algorithm::sha1), 0);
  EXPECT_TRUE(hardened.require_mutual);

  auto initiator = make_initiator(initiator_config(true, hardened), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(initiator->step(KeyList{}));
  auto offer = initiator->step(KeyList{{"AuthMethod", "CHAP"}});
  ASSERT_TRUE(offer);
  EXPECT_EQ(*offer->find("CHAP_A"), "8,7");

  auto target = make_target(target_config(true, hardened), backend);
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(target->step(KeyList{{"AuthMethod", "CHAP"}}));
  auto r = target->step(KeyList{{"CHAP_A", "5,6"}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::policy, ErrorCode::chap_a_unsupported));
  EXPECT_EQ(*target->reject_keys().find("CHAP_A"), "Reject");

  // Hardened on both sides: SHA3-256, mutual.
  auto i2 = make_initiator(initiator_config(true, hardened), backend);
  auto t2 = make_target(target_config(true, hardened), backend);
  const auto outcome = run_exchange(*i2, *t2);
  ASSERT_TRUE(outcome.both_succeeded)
      << error_text(outcome.target_error) << error_text(outcome.initiator_error);
  EXPECT_EQ(t2->algorithm(), Algorithm::sha3_256);
  EXPECT_TRUE(t2->mutual());
}

TEST(Negotiation, ConfigWithNoUsableAlgorithmIsRefused) {
  const auto backend = default_backend();
  ChapPolicy legacy_sha256_only = policy_with({Algorithm::sha256});
  legacy_sha256_only.numbering = ChapNumbering::legacy_tgt_sha1;  // SHA-256 has no number there
  auto r = ChapInitiator::create(initiator_config(false, legacy_sha256_only), backend);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::policy, ErrorCode::no_usable_algorithm));
  auto t = ChapTarget::create(target_config(false, legacy_sha256_only), backend);
  ASSERT_FALSE(t);
  EXPECT_THAT(t, test::ResultIs(ErrorKind::policy, ErrorCode::no_usable_algorithm));
  auto empty = ChapInitiator::create(initiator_config(false, policy_with({})), backend);
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty, test::ResultIs(ErrorKind::usage, ErrorCode::policy_no_algorithm));
}

// ================================================================================================
// Challenges: size, freshness, identifiers.

TEST(Challenge, IsAtLeastTheDigestSizeEvenWhenConfiguredSmaller) {
  const auto backend = default_backend();
  for (const auto& info : kAlgorithms) {
    if (!backend->supports(info.id)) continue;
    ChapPolicy small;
    small.challenge_size = 16;
    auto target = target_awaiting_response(target_config(true, small), backend, info.id);
    ASSERT_NE(target, nullptr);
    EXPECT_EQ(target->issued_challenge().size(), std::max<std::size_t>(16, info.digest_size))
        << info.name;

    small.algorithms = {info.id};
    auto initiator = initiator_awaiting_challenge(initiator_config(true, small), backend);
    ASSERT_NE(initiator, nullptr);
    auto r = initiator->step(KeyList{
        {"CHAP_A", chap_a_of(info.id)}, {"CHAP_I", "1"}, {"CHAP_C", test::hex_of_size(16, 'e')}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(initiator->issued_challenge().size(), std::max<std::size_t>(16, info.digest_size));
    EXPECT_EQ(decoded(*r->find("CHAP_C")).size(), initiator->issued_challenge().size());
  }
}

TEST(Challenge, HonoursALargerConfiguredSize) {
  ChapPolicy big;
  big.challenge_size = 1024;
  auto target =
      target_awaiting_response(target_config(false, big), default_backend(), Algorithm::md5);
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->issued_challenge().size(), 1024u);
}

TEST(Challenge, IsFreshForEveryExchangeWithRandomIdentifiers) {
  const auto backend = default_backend();
  auto config = target_config(true);
  std::set<Bytes> target_challenges;
  std::set<Bytes> initiator_challenges;
  std::set<int> identifiers;
  auto shared_target = make_target(config, backend);  // also reused across resets
  ASSERT_NE(shared_target, nullptr);
  constexpr int kExchanges = 64;
  for (int i = 0; i < kExchanges; ++i) {
    auto initiator = make_initiator(initiator_config(true), backend);
    ASSERT_NE(initiator, nullptr);
    shared_target->reset();
    const auto outcome = run_exchange(*initiator, *shared_target);
    ASSERT_TRUE(outcome.both_succeeded) << i;
    const KeyList& challenge = outcome.to_initiator[1];
    target_challenges.insert(decoded(*challenge.find("CHAP_C")));
    identifiers.insert(static_cast<int>(*parse_number(*challenge.find("CHAP_I"), 255)));
    initiator_challenges.insert(decoded(*outcome.to_target[2].find("CHAP_C")));
  }
  EXPECT_EQ(target_challenges.size(), static_cast<std::size_t>(kExchanges));
  EXPECT_EQ(initiator_challenges.size(), static_cast<std::size_t>(kExchanges));
  for (const auto& c : target_challenges) EXPECT_EQ(initiator_challenges.count(c), 0u);
  // 64 draws from 0..255 land on a single value with probability 256^-63.
  EXPECT_GT(identifiers.size(), 1u);
}

TEST(Challenge, IdentifierAcceptedInDecimalAndHexFromZeroTo255) {
  const auto backend = default_backend();
  const Algorithm alg = Algorithm::sha256;
  const Bytes challenge(32, 0x5c);
  const struct {
    const char* text;
    std::uint8_t id;
  } forms[] = {{"0", 0},      {"1", 1},     {"17", 17},    {"255", 255},  {"0x0", 0},
               {"0x00", 0},   {"0x11", 17}, {"0xff", 255}, {"0XFF", 255}, {"0x00ff", 255},
               {"0xFf", 255}, {"128", 128}, {"0x80", 128}};
  for (const auto& form : forms) {
    auto initiator =
        initiator_awaiting_challenge(initiator_config(false, policy_with({alg})), backend);
    ASSERT_NE(initiator, nullptr);
    auto r = initiator->step(
        KeyList{{"CHAP_A", "7"}, {"CHAP_I", form.text}, {"CHAP_C", encode_hex(challenge)}});
    ASSERT_TRUE(r) << form.text << ": " << r.error().message;
    EXPECT_EQ(*r->find("CHAP_R"), response_hex(*backend, alg, form.id, kInitiatorSecret, challenge))
        << form.text;
  }
}

TEST(Challenge, IdentifierOutsideZeroTo255OrMalformedIsRejected) {
  const auto backend = default_backend();
  for (const char* bad : {"256", "0x100", "-1", "01", "1000", "", " 1", "1 ", "0x", "x1",
                          "0b/w==", "0x1ff", "4294967296", "one"}) {
    auto initiator = initiator_awaiting_challenge(
        initiator_config(false, policy_with({Algorithm::sha256})), backend);
    ASSERT_NE(initiator, nullptr);
    auto r = initiator->step(
        KeyList{{"CHAP_A", "7"}, {"CHAP_I", bad}, {"CHAP_C", test::hex_of_size(32, '1')}});
    ASSERT_FALSE(r) << "'" << bad << "' accepted";
    EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::chap_i_encoding)) << bad;

    // The target checks the initiator's CHAP_I the same way (mutual).
    auto target = target_awaiting_response(target_config(true), backend, Algorithm::sha256);
    ASSERT_NE(target, nullptr);
    auto t = target->step(
        KeyList{{"CHAP_N", std::string(kInitiatorUser)},
                {"CHAP_R", response_hex(*backend, Algorithm::sha256, target->issued_identifier(),
                                        kInitiatorSecret, target->issued_challenge())},
                {"CHAP_I", bad},
                {"CHAP_C", test::hex_of_size(32, '1')}});
    ASSERT_FALSE(t) << "'" << bad << "' accepted by the target";
    EXPECT_THAT(t, test::ResultIs(ErrorKind::protocol, ErrorCode::chap_i_encoding)) << bad;
  }
}

TEST(Challenge, TargetAnswersTheInitiatorsIdentifierInAnyForm) {
  const auto backend = default_backend();
  const Bytes ichallenge(32, 0x77);
  for (const auto& [text, id] : std::vector<std::pair<std::string, std::uint8_t>>{
           {"0", 0}, {"255", 255}, {"0xfe", 254}, {"0X0A", 10}}) {
    auto target = target_awaiting_response(target_config(true), backend, Algorithm::sha3_256);
    ASSERT_NE(target, nullptr);
    auto r = target->step(
        KeyList{{"CHAP_N", std::string(kInitiatorUser)},
                {"CHAP_R", response_hex(*backend, Algorithm::sha3_256, target->issued_identifier(),
                                        kInitiatorSecret, target->issued_challenge())},
                {"CHAP_I", text},
                {"CHAP_C", encode_hex(ichallenge)}});
    ASSERT_TRUE(r) << text << ": " << r.error().message;
    EXPECT_EQ(*r->find("CHAP_N"), kTargetUser);
    EXPECT_EQ(*r->find("CHAP_R"),
              response_hex(*backend, Algorithm::sha3_256, id, kTargetSecret, ichallenge))
        << text;
  }
}

TEST(Challenge, TooShortPeerChallengeIsRefusedByPolicy) {
  const auto backend = default_backend();
  auto initiator = initiator_awaiting_challenge(initiator_config(false), backend);
  ASSERT_NE(initiator, nullptr);
  auto r =
      initiator->step(KeyList{{"CHAP_A", "8"}, {"CHAP_I", "1"}, {"CHAP_C", test::hex_of_size(15)}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::policy, ErrorCode::chap_c_too_short));
}

// ================================================================================================
// CHAP_R length and value.

TEST(Response, MustBeExactlyTheDigestSize) {
  const auto backend = default_backend();
  for (const auto& info : kAlgorithms) {
    if (!backend->supports(info.id)) continue;
    for (const std::size_t size :
         {std::size_t{1}, info.digest_size - 1, info.digest_size + 1, std::size_t{16},
          std::size_t{20}, std::size_t{32}, std::size_t{64}, std::size_t{1024}}) {
      if (size == info.digest_size) continue;
      auto target = target_awaiting_response(target_config(false), backend, info.id);
      ASSERT_NE(target, nullptr);
      // The correct response, truncated or extended: the length is checked before the value.
      Bytes r = decoded(response_hex(*backend, info.id, target->issued_identifier(),
                                     kInitiatorSecret, target->issued_challenge()));
      r.resize(size, 0);
      auto out =
          target->step(KeyList{{"CHAP_N", std::string(kInitiatorUser)}, {"CHAP_R", encode_hex(r)}});
      ASSERT_FALSE(out) << info.name << " accepted " << size << " bytes";
      EXPECT_THAT(out, test::ResultIs(ErrorKind::protocol, ErrorCode::chap_r_length))
          << info.name << " " << size;
    }
    // The correct value is accepted in hex and in base64.
    for (const BinaryEncoding enc : {BinaryEncoding::hex, BinaryEncoding::base64}) {
      auto target = target_awaiting_response(target_config(false), backend, info.id);
      ASSERT_NE(target, nullptr);
      const Bytes r = decoded(response_hex(*backend, info.id, target->issued_identifier(),
                                           kInitiatorSecret, target->issued_challenge()));
      auto out = target->step(
          KeyList{{"CHAP_N", std::string(kInitiatorUser)}, {"CHAP_R", encode_binary(r, enc)}});
      ASSERT_TRUE(out) << info.name << ": " << out.error().message;
      EXPECT_EQ(target->status(), AuthStatus::succeeded);
    }
  }
}

TEST(Response, ForTheWrongIdentifierOrChallengeFails) {
  const auto backend = default_backend();
  const Algorithm alg = Algorithm::sha256;
  {
    auto target = target_awaiting_response(target_config(false), backend, alg);
    ASSERT_NE(target, nullptr);
    const auto wrong_id = static_cast<std::uint8_t>(target->issued_identifier() + 1);
    auto out =
        target->step(KeyList{{"CHAP_N", std::string(kInitiatorUser)},
                             {"CHAP_R", response_hex(*backend, alg, wrong_id, kInitiatorSecret,
                                                     target->issued_challenge())}});
    ASSERT_FALSE(out);
    EXPECT_THAT(out, test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response));
  }
  {
    auto target = target_awaiting_response(target_config(false), backend, alg);
    ASSERT_NE(target, nullptr);
    Bytes other(target->issued_challenge().begin(), target->issued_challenge().end());
    other[0] ^= 1;
    auto out =
        target->step(KeyList{{"CHAP_N", std::string(kInitiatorUser)},
                             {"CHAP_R", response_hex(*backend, alg, target->issued_identifier(),
                                                     kInitiatorSecret, other)}});
    ASSERT_FALSE(out);
    EXPECT_THAT(out, test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response));
  }
}

// ================================================================================================
// RFC 7143 §9.2.1: reflection, one secret per direction, short secrets.

TEST(Reflection, TargetRefusesItsOwnChallengeFromTheInitiator) {
  const auto backend = default_backend();
  for (const BinaryEncoding enc : {BinaryEncoding::hex, BinaryEncoding::base64}) {
    auto target = target_awaiting_response(target_config(true), backend, Algorithm::sha256);
    ASSERT_NE(target, nullptr);
    auto out = target->step(
        KeyList{{"CHAP_N", std::string(kInitiatorUser)},
                {"CHAP_R", response_hex(*backend, Algorithm::sha256, target->issued_identifier(),
                                        kInitiatorSecret, target->issued_challenge())},
                {"CHAP_I", std::to_string(target->issued_identifier())},
                {"CHAP_C", encode_binary(target->issued_challenge(), enc)}});
    ASSERT_FALSE(out);
    EXPECT_THAT(out, test::ResultIs(ErrorKind::authentication, ErrorCode::reflection));
  }
}

TEST(Reflection, InitiatorNeverIssuesTheChallengeItReceived) {
  // A generator that always yields the same byte would make the initiator's challenge equal the
  // target's; the initiator must fail instead of sending a reflectable challenge.
  auto rigged = std::make_shared<RiggedCrypto>(default_backend());
  rigged->fixed_random = 0x44;  // the bytes of hex_of_size(32, '4')
  auto initiator = initiator_awaiting_challenge(
      initiator_config(true, policy_with({Algorithm::sha256})), rigged);
  ASSERT_NE(initiator, nullptr);
  auto r = initiator->step(
      KeyList{{"CHAP_A", "7"}, {"CHAP_I", "66"}, {"CHAP_C", test::hex_of_size(32, '4')}});
  ASSERT_FALSE(r);
  EXPECT_EQ(initiator->state(), ChapInitiator::State::failed);
  // Control: a different peer challenge goes through.
  auto again = initiator_awaiting_challenge(
      initiator_config(true, policy_with({Algorithm::sha256})), rigged);
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->step(
      KeyList{{"CHAP_A", "7"}, {"CHAP_I", "66"}, {"CHAP_C", test::hex_of_size(32, '5')}}));
}

TEST(Reflection, TargetRefusesAResponseComputedWithItsOwnSecret) {
  const auto backend = default_backend();
  auto target = target_awaiting_response(target_config(true), backend, Algorithm::sha3_256);
  ASSERT_NE(target, nullptr);
  auto out = target->step(
      KeyList{{"CHAP_N", std::string(kInitiatorUser)},
              {"CHAP_R", response_hex(*backend, Algorithm::sha3_256, target->issued_identifier(),
                                      kTargetSecret, target->issued_challenge())}});
  ASSERT_FALSE(out);
  EXPECT_THAT(out, test::ResultIs(ErrorKind::authentication, ErrorCode::response_with_own_secret));
}

TEST(Reflection, InitiatorRefusesAResponseComputedWithItsOwnSecret) {
  const auto backend = default_backend();
  auto initiator = initiator_awaiting_challenge(
      initiator_config(true, policy_with({Algorithm::sha256})), backend);
  ASSERT_NE(initiator, nullptr);
  auto sent = initiator->step(
      KeyList{{"CHAP_A", "7"}, {"CHAP_I", "3"}, {"CHAP_C", test::hex_of_size(32, '9')}});
  ASSERT_TRUE(sent);
  const auto id = static_cast<std::uint8_t>(*parse_number(*sent->find("CHAP_I"), 255));
  auto out = initiator->step(
      KeyList{{"CHAP_N", std::string(kTargetUser)},
              {"CHAP_R", response_hex(*backend, Algorithm::sha256, id, kInitiatorSecret,
                                      initiator->issued_challenge())}});
  ASSERT_FALSE(out);
  EXPECT_THAT(out, test::ResultIs(ErrorKind::authentication, ErrorCode::response_with_own_secret));
}

TEST(SecretRules, SameSecretForBothDirectionsIsRefusedAtConfigTime) {
  const auto backend = default_backend();
  auto iconfig = initiator_config(true);
  iconfig->target->secret = Secret::from_text(kInitiatorSecret);
  auto i = ChapInitiator::create(iconfig, backend);
  ASSERT_FALSE(i);
  EXPECT_THAT(i, test::ResultIs(ErrorKind::policy, ErrorCode::same_secret_both_directions));
  EXPECT_FALSE(validate_config(*iconfig, *backend));

  auto tconfig = target_config(true);
  tconfig->accounts.push_back(credentials("iqn.other", kTargetSecret));  // a second account
  auto t = ChapTarget::create(tconfig, backend);
  ASSERT_FALSE(t);
  EXPECT_THAT(t, test::ResultIs(ErrorKind::policy, ErrorCode::same_secret_both_directions));
  EXPECT_EQ(t.error().message.find(kTargetSecret), std::string::npos);

  // Distinct secrets are fine.
  EXPECT_TRUE(validate_config(*initiator_config(true), *backend));
  EXPECT_TRUE(validate_config(*target_config(true), *backend));
}

TEST(SecretRules, SecretsUnder12BytesNeedAProtectedLink) {
  const auto backend = default_backend();
  const std::string eleven = "elevenbytes";   // 11
  const std::string twelve = "twelve-bytes";  // 12
  ASSERT_EQ(eleven.size(), 11u);
  ASSERT_EQ(twelve.size(), 12u);

  auto short_initiator = initiator_config(false);
  short_initiator->local.secret = Secret::from_text(eleven);
  auto r = ChapInitiator::create(short_initiator, backend);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::policy, ErrorCode::secret_too_short));
  EXPECT_EQ(r.error().message.find(eleven), std::string::npos) << "secret leaked into message";

  auto short_target_secret = initiator_config(true);
  short_target_secret->target->secret = Secret::from_text(eleven);
  EXPECT_FALSE(ChapInitiator::create(short_target_secret, backend));

  auto short_account = target_config(false);
  short_account->accounts[0].secret = Secret::from_text(eleven);
  auto t = ChapTarget::create(short_account, backend);
  ASSERT_FALSE(t);
  EXPECT_THAT(t, test::ResultIs(ErrorKind::policy, ErrorCode::secret_too_short));

  auto short_local = target_config(true);
  short_local->local->secret = Secret::from_text(eleven);
  EXPECT_FALSE(ChapTarget::create(short_local, backend));

  auto ok = initiator_config(false);
  ok->local.secret = Secret::from_text(twelve);
  EXPECT_TRUE(ChapInitiator::create(ok, backend));

  // With link_protected an 11-byte secret works end to end...
  ChapPolicy protected_link;
  protected_link.link_protected = true;
  auto pi = initiator_config(false, protected_link);
  pi->local.secret = Secret::from_text(eleven);
  auto pt = target_config(false, protected_link);
  pt->accounts[0].secret = Secret::from_text(eleven);
  auto initiator = make_initiator(pi, backend);
  auto target = make_target(pt, backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_NE(target, nullptr);
  EXPECT_TRUE(run_exchange(*initiator, *target).both_succeeded);

  // ...but an empty secret never does.
  auto empty = initiator_config(false, protected_link);
  empty->local.secret = Secret();
  auto e = ChapInitiator::create(empty, backend);
  ASSERT_FALSE(e);
  EXPECT_THAT(e, test::ResultIs(ErrorKind::policy, ErrorCode::secret_empty));
}

// ================================================================================================
// CHAP_N is opaque and compared exactly.

TEST(ChapName, TargetComparesTheInitiatorNameExactly) {
  const auto backend = default_backend();
  const std::string name(kInitiatorUser);
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  for (const std::string& variant : {upper, name + " ", " " + name, name.substr(0, name.size() - 1),
                                     name + "\t", std::string("0x") + name}) {
    auto target = target_awaiting_response(target_config(false), backend, Algorithm::sha256);
    ASSERT_NE(target, nullptr);
    auto out = target->step(
        KeyList{{"CHAP_N", variant},
                {"CHAP_R", response_hex(*backend, Algorithm::sha256, target->issued_identifier(),
                                        kInitiatorSecret, target->issued_challenge())}});
    ASSERT_FALSE(out) << "'" << variant << "' accepted";
    EXPECT_THAT(out, test::ResultIs(ErrorKind::authentication, ErrorCode::unknown_user)) << variant;
  }
  auto target = target_awaiting_response(target_config(false), backend, Algorithm::sha256);
  ASSERT_NE(target, nullptr);
  EXPECT_TRUE(target->step(
      KeyList{{"CHAP_N", name},
              {"CHAP_R", response_hex(*backend, Algorithm::sha256, target->issued_identifier(),
                                      kInitiatorSecret, target->issued_challenge())}}));
  EXPECT_EQ(target->peer_name(), name);
}

TEST(ChapName, TargetPicksTheAccountByName) {
  const auto backend = default_backend();
  auto config = target_config(false);
  config->accounts.push_back(credentials("iqn.second", "second-account-secret"));
  auto target = target_awaiting_response(config, backend, Algorithm::sha256);
  ASSERT_NE(target, nullptr);
  EXPECT_TRUE(target->step(
      KeyList{{"CHAP_N", "iqn.second"},
              {"CHAP_R", response_hex(*backend, Algorithm::sha256, target->issued_identifier(),
                                      "second-account-secret", target->issued_challenge())}}));
  EXPECT_EQ(target->peer_name(), "iqn.second");
  // The first account's secret under the second account's name is refused.
  auto other = target_awaiting_response(config, backend, Algorithm::sha256);
  ASSERT_NE(other, nullptr);
  auto out = other->step(
      KeyList{{"CHAP_N", "iqn.second"},
              {"CHAP_R", response_hex(*backend, Algorithm::sha256, other->issued_identifier(),
                                      kInitiatorSecret, other->issued_challenge())}});
  ASSERT_FALSE(out);
  EXPECT_THAT(out, test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response));
}

TEST(ChapName, InitiatorComparesTheTargetNameExactly) {
  const auto backend = default_backend();
  const std::string name(kTargetUser);
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  for (const std::string& variant : {upper, name + " ", name.substr(1), std::string()}) {
    auto initiator = initiator_awaiting_challenge(
        initiator_config(true, policy_with({Algorithm::sha256})), backend);
    ASSERT_NE(initiator, nullptr);
    auto sent = initiator->step(
        KeyList{{"CHAP_A", "7"}, {"CHAP_I", "3"}, {"CHAP_C", test::hex_of_size(32, '9')}});
    ASSERT_TRUE(sent);
    const auto id = static_cast<std::uint8_t>(*parse_number(*sent->find("CHAP_I"), 255));
    auto out = initiator->step(
        KeyList{{"CHAP_N", variant},
                {"CHAP_R", response_hex(*backend, Algorithm::sha256, id, kTargetSecret,
                                        initiator->issued_challenge())}});
    ASSERT_FALSE(out) << "'" << variant << "' accepted";
    EXPECT_THAT(out, test::ResultIs(ErrorKind::authentication, ErrorCode::chap_n_mismatch))
        << variant;
  }
}

// ================================================================================================
// Mutual CHAP and AuthMethod=None by policy.

TEST(Mutual, RequireMutualRefusesAOneWayInitiator) {
  const auto backend = default_backend();
  ChapPolicy require;
  require.require_mutual = true;
  auto initiator = make_initiator(initiator_config(false), backend);
  auto target = make_target(target_config(true, require), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_NE(target, nullptr);
  auto outcome = run_exchange(*initiator, *target);
  ASSERT_TRUE(outcome.target_error);
  EXPECT_THAT(outcome.target_error, test::ResultIs(ErrorKind::policy, ErrorCode::mutual_required));

  auto mutual_initiator = make_initiator(initiator_config(true), backend);
  auto target2 = make_target(target_config(true, require), backend);
  EXPECT_TRUE(run_exchange(*mutual_initiator, *target2).both_succeeded);

  // A target that requires mutual CHAP needs a secret of its own.
  auto r = ChapTarget::create(target_config(false, require), backend);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::usage, ErrorCode::mutual_without_secret));
}

TEST(Mutual, TargetWithoutIdentityRefusesToBeChallenged) {
  const auto backend = default_backend();
  auto initiator = make_initiator(initiator_config(true), backend);
  auto target = make_target(target_config(false), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_NE(target, nullptr);
  auto outcome = run_exchange(*initiator, *target);
  ASSERT_TRUE(outcome.target_error);
  EXPECT_THAT(outcome.target_error,
              test::ResultIs(ErrorKind::policy, ErrorCode::mutual_unavailable));
}

TEST(Mutual, InitiatorFailsWhenTheTargetStaysSilent) {
  const auto backend = default_backend();
  auto initiator = initiator_awaiting_challenge(initiator_config(true), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(initiator->step(
      KeyList{{"CHAP_A", "8"}, {"CHAP_I", "1"}, {"CHAP_C", test::hex_of_size(32, '2')}}));
  auto r = initiator->step(KeyList{});
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::authentication, ErrorCode::mutual_not_answered));
}

TEST(Mutual, OneWayInitiatorRefusesAnUnaskedTargetResponse) {
  const auto backend = default_backend();
  auto initiator = initiator_awaiting_challenge(initiator_config(false), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(initiator->step(
      KeyList{{"CHAP_A", "8"}, {"CHAP_I", "1"}, {"CHAP_C", test::hex_of_size(32, '2')}}));
  auto r = initiator->step(
      KeyList{{"CHAP_N", std::string(kTargetUser)}, {"CHAP_R", test::hex_of_size(32)}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::unexpected_key));
}

TEST(AuthMethodNone, TargetAcceptsNoneOnlyWhenAllowed) {
  const auto backend = default_backend();
  {
    auto target = make_target(target_config(false), backend);
    ASSERT_NE(target, nullptr);
    auto r = target->step(KeyList{{"AuthMethod", "None"}});
    ASSERT_FALSE(r);
    EXPECT_THAT(r, test::ResultIs(ErrorKind::policy, ErrorCode::auth_method_unacceptable));
    EXPECT_EQ(*target->reject_keys().find("AuthMethod"), "Reject");
    EXPECT_FALSE(target->authenticated_none());
  }
  ChapPolicy allow;
  allow.allow_none = true;
  {
    auto target = make_target(target_config(false, allow), backend);
    ASSERT_NE(target, nullptr);
    auto r = target->step(KeyList{{"AuthMethod", "None"}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r->find("AuthMethod"), "None");
    EXPECT_EQ(target->status(), AuthStatus::succeeded);
    EXPECT_TRUE(target->authenticated_none());
    EXPECT_TRUE(target->peer_name().empty());
  }
  {  // The initiator's order decides: CHAP first means CHAP even when None is allowed.
    auto target = make_target(target_config(false, allow), backend);
    ASSERT_NE(target, nullptr);
    auto r = target->step(KeyList{{"AuthMethod", "CHAP,None"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->find("AuthMethod"), "CHAP");
    EXPECT_EQ(target->state(), ChapTarget::State::await_algorithms);
  }
  {
    auto target = make_target(target_config(false, allow), backend);
    ASSERT_NE(target, nullptr);
    auto r = target->step(KeyList{{"AuthMethod", "None,CHAP"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->find("AuthMethod"), "None");
    EXPECT_TRUE(target->authenticated_none());
  }
  {  // Unknown methods before CHAP are skipped.
    auto target = make_target(target_config(false), backend);
    ASSERT_NE(target, nullptr);
    auto r = target->step(KeyList{{"AuthMethod", "KRB5,SRP,None,CHAP"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->find("AuthMethod"), "CHAP");
  }
  {  // Requiring mutual CHAP overrides allow_none: no downgrade to no authentication.
    ChapPolicy strict = allow;
    strict.require_mutual = true;
    auto target = make_target(target_config(true, strict), backend);
    ASSERT_NE(target, nullptr);
    auto r = target->step(KeyList{{"AuthMethod", "None,CHAP"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->find("AuthMethod"), "CHAP");
    EXPECT_FALSE(target->authenticated_none());
  }
  // A target with no accounts at all is only valid when None is allowed.
  auto no_accounts = std::make_shared<ChapTargetConfig>();
  EXPECT_FALSE(ChapTarget::create(no_accounts, backend));
  no_accounts->policy.allow_none = true;
  EXPECT_TRUE(ChapTarget::create(no_accounts, backend));
}

TEST(AuthMethodNone, InitiatorAcceptsNoneOnlyWhenAllowed) {
  const auto backend = default_backend();
  {
    auto initiator = make_initiator(initiator_config(false), backend);
    ASSERT_NE(initiator, nullptr);
    auto offer = initiator->step(KeyList{});
    ASSERT_TRUE(offer);
    EXPECT_EQ(*offer->find("AuthMethod"), "CHAP");
    auto r = initiator->step(KeyList{{"AuthMethod", "None"}});
    ASSERT_FALSE(r);
    EXPECT_THAT(r, test::ResultIs(ErrorKind::policy, ErrorCode::auth_none_not_allowed));
    EXPECT_FALSE(initiator->authenticated_none());
  }
  ChapPolicy allow;
  allow.allow_none = true;
  auto initiator = make_initiator(initiator_config(false, allow), backend);
  ASSERT_NE(initiator, nullptr);
  auto offer = initiator->step(KeyList{});
  ASSERT_TRUE(offer);
  EXPECT_EQ(*offer->find("AuthMethod"), "CHAP,None");
  auto r = initiator->step(KeyList{{"AuthMethod", "None"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(initiator->status(), AuthStatus::succeeded);
  EXPECT_TRUE(initiator->authenticated_none());

  // Target answering an AuthMethod we did not offer.
  auto other = make_initiator(initiator_config(false), backend);
  ASSERT_TRUE(other->step(KeyList{}));
  auto krb = other->step(KeyList{{"AuthMethod", "KRB5"}});
  ASSERT_FALSE(krb);
  EXPECT_THAT(krb, test::ResultIs(ErrorKind::policy, ErrorCode::auth_method_unexpected));
}

// ================================================================================================
// Failure handling and reset().

TEST(Lifecycle, FailedMachineRefusesFurtherStepsUntilReset) {
  const auto backend = default_backend();
  auto target = make_target(target_config(false), backend);
  ASSERT_NE(target, nullptr);
  ASSERT_FALSE(target->step(KeyList{{"CHAP_A", "5"}}));  // out of order
  EXPECT_EQ(target->status(), AuthStatus::failed);
  ASSERT_TRUE(target->failure());
  EXPECT_THAT(target->failure(), test::ResultIs(ErrorKind::protocol, ErrorCode::unexpected_key));
  auto again = target->step(KeyList{{"AuthMethod", "CHAP"}});
  ASSERT_FALSE(again);
  EXPECT_THAT(again, test::ResultIs(ErrorKind::usage, ErrorCode::exchange_failed));
  target->reset();
  EXPECT_FALSE(target->failure());
  EXPECT_TRUE(target->step(KeyList{{"AuthMethod", "CHAP"}}));

  auto initiator = make_initiator(initiator_config(false), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_FALSE(initiator->step(KeyList{{"CHAP_R", "0x00"}}));
  EXPECT_EQ(initiator->status(), AuthStatus::failed);
  EXPECT_THAT(initiator->step(KeyList{}),
              test::ResultIs(ErrorKind::usage, ErrorCode::exchange_failed));
  initiator->reset();
  EXPECT_EQ(initiator->state(), ChapInitiator::State::start);
  EXPECT_TRUE(initiator->step(KeyList{}));
}

TEST(Lifecycle, TargetResetWipesTheChallengeAndReturnsToStart) {
  const auto backend = default_backend();
  auto target = target_awaiting_response(target_config(true), backend, Algorithm::sha256);
  ASSERT_NE(target, nullptr);
  const ByteView challenge = target->issued_challenge();
  ASSERT_EQ(challenge.size(), kDefaultChallengeBytes);
  const std::uint8_t* storage = challenge.data();
  const std::size_t size = challenge.size();
  ASSERT_TRUE(std::any_of(storage, storage + size, [](std::uint8_t b) { return b != 0; }));
  const Bytes old(challenge.begin(), challenge.end());
  const std::uint64_t wiped_before = wiped_byte_count();

  target->reset();
  EXPECT_EQ(target->state(), ChapTarget::State::await_auth_method);
  EXPECT_EQ(target->status(), AuthStatus::in_progress);
  EXPECT_TRUE(target->issued_challenge().empty());
  EXPECT_FALSE(target->algorithm());
  EXPECT_FALSE(target->mutual());
  EXPECT_FALSE(target->failure());
  EXPECT_TRUE(target->reject_keys().empty());
  EXPECT_TRUE(target->peer_name().empty());
  EXPECT_GE(wiped_byte_count() - wiped_before, size);
  // The buffer is kept for reuse (capacity), and it holds zeros now.
  for (std::size_t i = 0; i < size; ++i) EXPECT_EQ(storage[i], 0) << i;

  // A new exchange after reset runs from the start with a fresh challenge.
  auto initiator = make_initiator(initiator_config(true), backend);
  const auto outcome = run_exchange(*initiator, *target);
  ASSERT_TRUE(outcome.both_succeeded);
  EXPECT_NE(decoded(*outcome.to_initiator[1].find("CHAP_C")), old);
}

TEST(Lifecycle, InitiatorResetWipesTheChallengeAndReturnsToStart) {
  const auto backend = default_backend();
  auto initiator = initiator_awaiting_challenge(initiator_config(true), backend);
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(initiator->step(
      KeyList{{"CHAP_A", "8"}, {"CHAP_I", "1"}, {"CHAP_C", test::hex_of_size(32, '2')}}));
  const ByteView challenge = initiator->issued_challenge();
  ASSERT_FALSE(challenge.empty());
  const std::uint8_t* storage = challenge.data();
  const std::size_t size = challenge.size();
  const std::uint64_t wiped_before = wiped_byte_count();

  initiator->reset();
  EXPECT_EQ(initiator->state(), ChapInitiator::State::start);
  EXPECT_EQ(initiator->status(), AuthStatus::in_progress);
  EXPECT_TRUE(initiator->issued_challenge().empty());
  EXPECT_FALSE(initiator->algorithm());
  EXPECT_FALSE(initiator->failure());
  EXPECT_GE(wiped_byte_count() - wiped_before, size);
  for (std::size_t i = 0; i < size; ++i) EXPECT_EQ(storage[i], 0) << i;

  auto target = make_target(target_config(true), backend);
  EXPECT_TRUE(run_exchange(*initiator, *target).both_succeeded);
}

TEST(Lifecycle, FailureWipesTheChallenge) {
  const auto backend = default_backend();
  auto target = target_awaiting_response(target_config(false), backend, Algorithm::md5);
  ASSERT_NE(target, nullptr);
  ASSERT_FALSE(target->step(
      KeyList{{"CHAP_N", std::string(kInitiatorUser)}, {"CHAP_R", test::hex_of_size(16)}}));
  EXPECT_TRUE(target->issued_challenge().empty());
}

TEST(Lifecycle, BackendFailuresSurfaceAsBackendErrors) {
  auto rigged = std::make_shared<RiggedCrypto>(default_backend());
  rigged->fail_random = true;
  auto target = make_target(target_config(false), rigged);
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(target->step(KeyList{{"AuthMethod", "CHAP"}}));
  auto r = target->step(KeyList{{"CHAP_A", "7"}});
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::backend, ErrorCode::random_failed));

  auto digest_broken = std::make_shared<RiggedCrypto>(default_backend());
  digest_broken->fail_digest = true;
  auto initiator = initiator_awaiting_challenge(initiator_config(false), digest_broken);
  ASSERT_NE(initiator, nullptr);
  auto d = initiator->step(
      KeyList{{"CHAP_A", "8"}, {"CHAP_I", "1"}, {"CHAP_C", test::hex_of_size(32, '2')}});
  ASSERT_FALSE(d);
  EXPECT_THAT(d, test::ResultIs(ErrorKind::backend, ErrorCode::digest_failed));
  EXPECT_EQ(initiator->status(), AuthStatus::failed);
}

TEST(Lifecycle, CreateRejectsMissingConfigOrBackend) {
  auto i = ChapInitiator::create(nullptr, default_backend());
  ASSERT_FALSE(i);
  EXPECT_THAT(i, test::ResultIs(ErrorKind::usage, ErrorCode::config_missing));
  auto t = ChapTarget::create(target_config(false), nullptr);
  ASSERT_FALSE(t);
  EXPECT_THAT(t, test::ResultIs(ErrorKind::usage, ErrorCode::config_missing));
}

TEST(AuthKeys, RecognizesAuthMethodAndChapKeys) {
  EXPECT_TRUE(is_auth_key("AuthMethod"));
  EXPECT_TRUE(is_auth_key("CHAP_A"));
  EXPECT_TRUE(is_auth_key("CHAP_R"));
  EXPECT_FALSE(is_auth_key("InitiatorName"));
  EXPECT_FALSE(is_auth_key("chap_a"));
  EXPECT_FALSE(is_auth_key("AuthMethods"));
}

// ================================================================================================
// Properties of the transition tables (after s2n's state machine tests).

template <typename Machine>
void check_transition_table(typename Machine::State start) {
  using State = typename Machine::State;
  const auto& table = Machine::transitions();
  const int state_count = static_cast<int>(State::failed) + 1;  // failed is the last state
  ASSERT_FALSE(table.empty());

  // No duplicate (state, event) pair; every action set; nothing leads into `failed` explicitly
  // (failure is the implicit outcome of any failed action) and nothing leaves it.
  std::set<std::pair<int, int>> seen;
  for (const auto& t : table) {
    EXPECT_TRUE(seen.insert({static_cast<int>(t.from), static_cast<int>(t.event)}).second)
        << "duplicate transition from " << Machine::state_name(t.from) << " on "
        << event_name(t.event);
    EXPECT_NE(t.action, nullptr) << Machine::state_name(t.from);
    EXPECT_NE(t.from, State::failed);
    EXPECT_NE(t.to, State::failed);
    EXPECT_NE(t.event, ChapEvent::invalid) << "an invalid key mix must never be accepted";
  }

  // Every state except failed is reachable from the start state.
  std::set<State> reached = {start};
  std::queue<State> todo;
  todo.push(start);
  while (!todo.empty()) {
    const State s = todo.front();
    todo.pop();
    for (const auto& t : table) {
      if (t.from == s && reached.insert(t.to).second) todo.push(t.to);
    }
  }
  for (int i = 0; i < state_count; ++i) {
    const auto s = static_cast<State>(i);
    if (s == State::failed) continue;
    EXPECT_EQ(reached.count(s), 1u) << Machine::state_name(s) << " is unreachable";
  }
  EXPECT_EQ(reached.count(State::failed), 0u);

  // Every non-terminal state has a way out.
  for (int i = 0; i < state_count; ++i) {
    const auto s = static_cast<State>(i);
    if (s == State::failed || s == State::succeeded) continue;
    const bool has_exit = std::any_of(table.begin(), table.end(),
                                      [&](const auto& t) { return t.from == s && t.to != s; });
    EXPECT_TRUE(has_exit) << Machine::state_name(s) << " has no outgoing transition";
  }
  // succeeded only loops on itself (a late empty key set), never goes back.
  for (const auto& t : table) {
    if (t.from == State::succeeded) {
      EXPECT_EQ(t.to, State::succeeded);
    }
  }

  // state_name() is distinct (and not the fallback) for every state.
  std::set<std::string_view> names;
  for (int i = 0; i < state_count; ++i) {
    const std::string_view name = Machine::state_name(static_cast<State>(i));
    EXPECT_NE(name, "?");
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(names.insert(name).second) << "state name " << name << " used twice";
  }
}

TEST(TransitionTable, InitiatorTableIsWellFormed) {
  check_transition_table<ChapInitiator>(ChapInitiator::State::start);
}

TEST(TransitionTable, TargetTableIsWellFormed) {
  check_transition_table<ChapTarget>(ChapTarget::State::await_auth_method);
}

TEST(TransitionTable, EventNamesAreDistinct) {
  std::set<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(ChapEvent::invalid); ++i) {
    EXPECT_TRUE(names.insert(event_name(static_cast<ChapEvent>(i))).second) << i;
  }
}

}  // namespace
}  // namespace multichap
