// SPDX-License-Identifier: BSD-2-Clause
// The session authenticator (session/session_authenticator.h), in memory against a real
// TargetAuthenticator, for every built backend: rewind() forgets and wipes everything negotiated
// (algorithm, challenges, step) while keeping the configuration, and for_connection() runs an
// independent exchange that leaves the session's state alone (docs/ARCHITECTURE.md "The rewind,
// and session versus connection scope").
#include "session/session_authenticator.h"

#include <gtest/gtest.h>

#include "auth/secure.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

using test::initiator_auth;
using test::policy_with;
using test::target_config;

Bytes copy_of(ByteView view) {
  return Bytes(view.begin(), view.end());
}

// Runs initiator against target until both are done or one fails; at most 8 round trips.
// Returns the keys the initiator sent, in order.
std::vector<KeyList> run_exchange(LoginAuthenticator& initiator, LoginAuthenticator& target) {
  std::vector<KeyList> sent;
  auto to_target = initiator.step(KeyList{});
  for (int round = 0; round < 8 && to_target; ++round) {
    sent.push_back(*to_target);
    auto to_initiator = target.step(*to_target);
    if (!to_initiator) break;
    to_target = initiator.step(*to_initiator);
    if (initiator.state() != AuthStatus::in_progress) break;
  }
  return sent;
}

std::unique_ptr<TargetAuthenticator> make_target(std::shared_ptr<const HashBackend> backend,
                                                 bool with_identity, ChapPolicy policy = {}) {
  auto created = TargetAuthenticator::create(target_config(with_identity, std::move(policy)),
                                             std::move(backend));
  if (!created) return nullptr;
  return std::move(created).value();
}

class SessionAuthenticatorTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::shared_ptr<const HashBackend> backend() const { return test::backend_or_fail(GetParam()); }
};

TEST_P(SessionAuthenticatorTest, MutualExchangeSucceedsThroughTheInterface) {
  auto initiator = initiator_auth(backend(), true);
  auto target = make_target(backend(), true);
  ASSERT_TRUE(initiator && target);
  initiator->rewind();
  run_exchange(*initiator, *target);
  EXPECT_EQ(initiator->state(), AuthStatus::succeeded);
  EXPECT_EQ(target->state(), AuthStatus::succeeded);
  EXPECT_TRUE(initiator->mutual());
  EXPECT_TRUE(target->mutual());
  EXPECT_EQ(initiator->algorithm(), Algorithm::sha3_256);  // first of the default preference
  EXPECT_EQ(initiator->algorithm(), target->algorithm());
  EXPECT_EQ(initiator->exchange().issued_challenge().size(), 32u);
  EXPECT_TRUE(initiator->ready_to_transit());
  EXPECT_EQ(initiator->rewinds(), 1u);
}

TEST_P(SessionAuthenticatorTest, RewindClearsAndWipesEverythingNegotiated) {
  auto initiator = initiator_auth(backend(), true, policy_with({Algorithm::sha256}));
  auto target = make_target(backend(), true);
  ASSERT_TRUE(initiator && target);
  run_exchange(*initiator, *target);
  ASSERT_EQ(initiator->state(), AuthStatus::succeeded);
  ASSERT_EQ(initiator->algorithm(), Algorithm::sha256);
  const std::size_t challenge_size = initiator->exchange().issued_challenge().size();
  ASSERT_GE(challenge_size, 32u);

  const std::uint64_t wiped_before = wiped_byte_count();
  initiator->rewind();
  EXPECT_GE(wiped_byte_count() - wiped_before, challenge_size) << "the challenge was not wiped";
  EXPECT_TRUE(initiator->exchange().issued_challenge().empty());
  EXPECT_FALSE(initiator->algorithm().has_value());
  EXPECT_EQ(initiator->state(), AuthStatus::in_progress);
  EXPECT_EQ(initiator->exchange().state(), ChapInitiator::State::start);
  EXPECT_FALSE(initiator->ready_to_transit());
  EXPECT_FALSE(initiator->mutual());
  EXPECT_FALSE(initiator->exchange().failure().has_value());
  EXPECT_EQ(initiator->rewinds(), 1u);

  // The configuration stayed: the next exchange starts from the first key again and succeeds.
  auto first = initiator->step(KeyList{});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(first->find("AuthMethod"));
  EXPECT_EQ(*first->find("AuthMethod"), "CHAP");
  initiator->rewind();
  auto target2 = make_target(backend(), true);
  ASSERT_TRUE(target2);
  run_exchange(*initiator, *target2);
  EXPECT_EQ(initiator->state(), AuthStatus::succeeded);
  EXPECT_EQ(initiator->config().local.name, test::kInitiatorUser);
  EXPECT_EQ(initiator->rewinds(), 2u);
}

TEST_P(SessionAuthenticatorTest, RewindInTheMiddleOfAnExchangeForgetsTheChallenge) {
  auto initiator = initiator_auth(backend(), true);
  auto target = make_target(backend(), true);
  ASSERT_TRUE(initiator && target);
  // Up to the initiator's answer: it has picked the algorithm and issued its own challenge.
  auto a = initiator->step(KeyList{});
  ASSERT_TRUE(a);
  auto b = target->step(*a);
  ASSERT_TRUE(b);
  auto c = initiator->step(*b);
  ASSERT_TRUE(c);
  auto d = target->step(*c);
  ASSERT_TRUE(d);
  auto e = initiator->step(*d);
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_EQ(initiator->exchange().state(), ChapInitiator::State::responded);
  ASSERT_TRUE(initiator->algorithm().has_value());
  ASSERT_FALSE(initiator->exchange().issued_challenge().empty());
  ASSERT_TRUE(e->find("CHAP_C"));

  const std::uint64_t wiped_before = wiped_byte_count();
  initiator->rewind();
  EXPECT_GT(wiped_byte_count(), wiped_before);
  EXPECT_TRUE(initiator->exchange().issued_challenge().empty());
  EXPECT_FALSE(initiator->algorithm().has_value());
  EXPECT_EQ(initiator->exchange().state(), ChapInitiator::State::start);
  // A late answer from the abandoned exchange is now out of order.
  auto stale = initiator->step(
      KeyList{{"CHAP_N", std::string(test::kTargetUser)}, {"CHAP_R", "0x" + std::string(64, '0')}});
  EXPECT_FALSE(stale);
}

TEST_P(SessionAuthenticatorTest, RewindRecoversAFailedExchange) {
  // The target proves itself with a secret the initiator does not expect.
  auto initiator = initiator_auth(backend(), true, {}, test::kInitiatorSecret, test::kWrongSecret);
  auto target = make_target(backend(), true);
  ASSERT_TRUE(initiator && target);
  run_exchange(*initiator, *target);
  ASSERT_EQ(initiator->state(), AuthStatus::failed);
  EXPECT_TRUE(initiator->exchange().issued_challenge().empty());  // wiped on failure too
  auto again = initiator->step(KeyList{});
  ASSERT_FALSE(again);
  EXPECT_THAT(again, test::ResultIs(ErrorKind::usage,
                                    ErrorCode::exchange_failed));  // "rewind before reuse"

  initiator->rewind();
  EXPECT_EQ(initiator->state(), AuthStatus::in_progress);
  auto restarted = initiator->step(KeyList{});
  EXPECT_TRUE(restarted) << restarted.error().message;
}

TEST_P(SessionAuthenticatorTest, ForConnectionIsAnIndependentExchange) {
  auto session = initiator_auth(backend(), true, policy_with(test::all_algorithms()));
  auto leading_target = make_target(backend(), true, policy_with({Algorithm::sha256}));
  ASSERT_TRUE(session && leading_target);
  session->rewind();
  run_exchange(*session, *leading_target);
  ASSERT_EQ(session->state(), AuthStatus::succeeded);
  ASSERT_EQ(session->algorithm(), Algorithm::sha256);
  const Bytes session_challenge = copy_of(session->exchange().issued_challenge());
  ASSERT_FALSE(session_challenge.empty());
  const auto session_state = session->exchange().state();
  const unsigned session_rewinds = session->rewinds();

  auto connection = session->for_connection();
  ASSERT_TRUE(connection);
  // Same configuration object, none of the session's negotiated state.
  EXPECT_EQ(&connection->config(), &session->config());
  EXPECT_EQ(connection->exchange().state(), ChapInitiator::State::start);
  EXPECT_FALSE(connection->algorithm().has_value());
  EXPECT_TRUE(connection->exchange().issued_challenge().empty());
  EXPECT_EQ(connection->rewinds(), 0u);

  // Step the connection's exchange step by step, checking the session after every step. The
  // connection's target allows a different algorithm, so any leak would show.
  auto other_target = make_target(backend(), true, policy_with({Algorithm::md5}));
  ASSERT_TRUE(other_target);
  auto keys = connection->step(KeyList{});
  for (int round = 0; round < 8 && keys && connection->state() == AuthStatus::in_progress;
       ++round) {
    auto reply = other_target->step(*keys);
    ASSERT_TRUE(reply) << reply.error().message;
    keys = connection->step(*reply);
    EXPECT_EQ(session->algorithm(), Algorithm::sha256);
    EXPECT_EQ(session->exchange().state(), session_state);
    EXPECT_EQ(copy_of(session->exchange().issued_challenge()), session_challenge);
  }
  ASSERT_EQ(connection->state(), AuthStatus::succeeded);
  EXPECT_EQ(connection->algorithm(), Algorithm::md5);
  EXPECT_TRUE(connection->mutual());
  const Bytes connection_challenge = copy_of(connection->exchange().issued_challenge());
  EXPECT_FALSE(connection_challenge.empty());
  EXPECT_NE(connection_challenge, session_challenge);

  EXPECT_EQ(session->state(), AuthStatus::succeeded);
  EXPECT_EQ(session->algorithm(), Algorithm::sha256);
  EXPECT_EQ(copy_of(session->exchange().issued_challenge()), session_challenge);
  EXPECT_EQ(session->rewinds(), session_rewinds);

  // And the other way round: rewinding the session leaves the connection's exchange alone.
  session->rewind();
  EXPECT_EQ(connection->state(), AuthStatus::succeeded);
  EXPECT_EQ(connection->algorithm(), Algorithm::md5);
  EXPECT_EQ(copy_of(connection->exchange().issued_challenge()), connection_challenge);
}

TEST_P(SessionAuthenticatorTest, EveryExchangeIssuesAFreshChallenge) {
  auto session = initiator_auth(backend(), true);
  ASSERT_TRUE(session);
  std::vector<Bytes> seen;
  for (int i = 0; i < 4; ++i) {
    auto target = make_target(backend(), true);
    ASSERT_TRUE(target);
    session->rewind();
    run_exchange(*session, *target);
    ASSERT_EQ(session->state(), AuthStatus::succeeded);
    const Bytes challenge = copy_of(session->exchange().issued_challenge());
    for (const auto& earlier : seen) EXPECT_NE(challenge, earlier);
    seen.push_back(challenge);

    auto connection = session->for_connection();
    auto connection_target = make_target(backend(), true);
    ASSERT_TRUE(connection_target);
    run_exchange(*connection, *connection_target);
    ASSERT_EQ(connection->state(), AuthStatus::succeeded);
    const Bytes ours = copy_of(connection->exchange().issued_challenge());
    for (const auto& earlier : seen) EXPECT_NE(ours, earlier);
    seen.push_back(ours);
  }
}

TEST_P(SessionAuthenticatorTest, TargetAuthenticatorRewindForgetsItsExchange) {
  auto initiator = initiator_auth(backend(), true);
  auto target = make_target(backend(), true);
  ASSERT_TRUE(initiator && target);
  run_exchange(*initiator, *target);
  ASSERT_EQ(target->state(), AuthStatus::succeeded);
  ASSERT_FALSE(target->exchange().issued_challenge().empty());
  ASSERT_EQ(target->exchange().peer_name(), test::kInitiatorUser);
  const std::uint64_t wiped_before = wiped_byte_count();
  target->rewind();
  EXPECT_GT(wiped_byte_count(), wiped_before);
  EXPECT_TRUE(target->exchange().issued_challenge().empty());
  EXPECT_FALSE(target->algorithm().has_value());
  EXPECT_FALSE(target->mutual());
  EXPECT_TRUE(target->exchange().peer_name().empty());
  EXPECT_EQ(target->exchange().state(), ChapTarget::State::await_auth_method);
}

TEST_P(SessionAuthenticatorTest, TargetRejectKeysForNoCommonAlgorithm) {
  auto initiator = initiator_auth(backend(), false, policy_with({Algorithm::md5}));
  auto target = make_target(backend(), false, policy_with({Algorithm::sha3_256}));
  ASSERT_TRUE(initiator && target);
  run_exchange(*initiator, *target);
  EXPECT_EQ(target->state(), AuthStatus::failed);
  const KeyList reject = target->reject_keys();
  ASSERT_TRUE(reject.find("CHAP_A"));
  EXPECT_EQ(*reject.find("CHAP_A"), "Reject");
}

TEST_P(SessionAuthenticatorTest, OnlyAuthKeysReachTheExchange) {
  auto initiator = initiator_auth(backend(), false);
  ASSERT_TRUE(initiator);
  ASSERT_TRUE(initiator->step(KeyList{}));
  // Operational keys mixed into a security-stage response are not the authenticator's business.
  auto next = initiator->step(KeyList{{"AuthMethod", "CHAP"}, {"TargetPortalGroupTag", "1"}});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_TRUE(next->find("CHAP_A"));
  const KeyList only = auth_keys_of(
      KeyList{{"AuthMethod", "CHAP"}, {"CHAP_A", "7"}, {"HeaderDigest", "None"}, {"CHAPX", "1"}});
  ASSERT_EQ(only.size(), 2u);
  EXPECT_TRUE(only.contains("AuthMethod"));
  EXPECT_TRUE(only.contains("CHAP_A"));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, SessionAuthenticatorTest,
                         ::testing::ValuesIn(test::backend_names()), test::BackendParamName{});

}  // namespace
}  // namespace multichap
