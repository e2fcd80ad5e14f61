// SPDX-License-Identifier: BSD-2-Clause
// Our initiator against scripted targets with the quirks of the targets in the field
// (tests/session/quirk_target.h): each test asserts the exact sequence of CHAP_A offers the
// target received and the final outcome; the offer fallback never leaves the allowed set.
#include <gtest/gtest.h>

#include "session/initiator.h"
#include "session/offer_fallback.h"
#include "tests/session/quirk_target.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

using test::Lines;
using test::Quirks;
using test::QuirkTarget;
using test::ResultIs;
using Offers = std::vector<std::string>;

class QuirkTargetTest : public ::testing::Test {
 protected:
  std::shared_ptr<const HashBackend> backend() const {
    return test::backend_or_fail(test::backend_names().front());
  }

  // A session into target with the given allowed algorithms (default: all four, 8,7,6,5).
  std::unique_ptr<InitiatorSession> session(const QuirkTarget& target,
                                            std::vector<Algorithm> algs = test::all_algorithms(),
                                            bool mutual = false, bool fallback = true) {
    auto options = test::initiator_options(target.port());
    options.transcript = m_transcript.sink();
    options.offer_memory = m_memory;
    options.offer_fallback = fallback;
    options.max_attempts = 2;
    auto created = InitiatorSession::create(
        std::move(options), test::initiator_auth(backend(), mutual, test::policy_with(algs)));
    if (!created) return nullptr;
    return std::move(created).value();
  }

  Lines m_transcript;
  std::shared_ptr<OfferMemory> m_memory = std::make_shared<OfferMemory>();
};

Quirks lio_pre_315() {
  Quirks q;
  q.md5_literal_only = true;  // "CHAP_A is not MD5"
  q.list_status = status::kAuthenticationFailure;
  return q;
}

Quirks tgt_style() {
  Quirks q;
  q.knows = {Algorithm::md5, Algorithm::sha1};
  q.numbering = ChapNumbering::legacy_tgt_sha1;  // SHA-1 is 7
  q.unknown_status = status::kInitiatorError;
  q.wrong_size_status = status::kInitiatorError;  // "buf[20] !sufficient to decode string[66]"
  q.challenge_size = 50;
  return q;
}

Quirks istgt_style() {
  Quirks q;
  q.knows = {Algorithm::md5};
  q.unknown_status = status::kAuthenticationFailure;  // not CHAP_A=Reject
  q.challenge_size = 1024;
  return q;
}

// ---- pre-3.15 LIO: refuses any list; one algorithm at a time reaches MD5 ---------------------

TEST_F(QuirkTargetTest, Pre315LioRefusesListsAndTheFallbackReachesMd5) {
  QuirkTarget target(backend(), lio_pre_315());
  ASSERT_TRUE(target.listening());
  auto s = session(target);
  ASSERT_TRUE(s);
  auto ok = s->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << m_transcript.joined();
  EXPECT_EQ(s->algorithm(), Algorithm::md5);
  EXPECT_EQ(s->attempts(), 5u);
  EXPECT_EQ(s->fallback_steps(), 4u);
  EXPECT_EQ(s->authenticator().rewinds(), 5u);
  EXPECT_TRUE(m_transcript.contains("fallback: target refused CHAP_A=8,7,6,5, offering 8\n"))
      << m_transcript.joined();
  EXPECT_TRUE(m_transcript.contains("fallback: target refused CHAP_A=8, offering 7"));
  EXPECT_TRUE(m_transcript.contains("fallback: target refused CHAP_A=6, offering 5"));
  ASSERT_TRUE(s->logout());
  ASSERT_TRUE(target.wait_for(5));
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5", "8", "7", "6", "5"}));

  // Remembered for this portal and target: a new session offers 5 straight away.
  auto again = session(target);
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->login()) << m_transcript.joined();
  EXPECT_EQ(again->attempts(), 1u);
  EXPECT_EQ(again->fallback_steps(), 0u);
  EXPECT_TRUE(m_transcript.contains("offer: CHAP_A=5, remembered for this portal and target"));
  // MC/S: a further connection of the session offers the same.
  auto cid = again->add_connection();
  ASSERT_TRUE(cid) << cid.error().message;
  ASSERT_TRUE(again->logout());
  ASSERT_TRUE(target.wait_for(7));
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5", "8", "7", "6", "5", "5", "5"}));
}

TEST_F(QuirkTargetTest, Pre315LioClosingTheConnectionIsHandledTheSameWay) {
  Quirks q = lio_pre_315();
  q.close_instead_of_status = true;
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  auto s = session(target);
  ASSERT_TRUE(s);
  auto ok = s->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << m_transcript.joined();
  EXPECT_EQ(s->algorithm(), Algorithm::md5);
  EXPECT_FALSE(s->last_status().has_value());  // nobody sent a status: the target hung up
  ASSERT_TRUE(s->logout());
  ASSERT_TRUE(target.wait_for(5));
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5", "8", "7", "6", "5"}));
}

TEST_F(QuirkTargetTest, Pre315LioWithMd5NotAllowedFailsWithoutEverOfferingIt) {
  QuirkTarget target(backend(), lio_pre_315());
  ASSERT_TRUE(target.listening());
  auto s = session(target, {Algorithm::sha3_256, Algorithm::sha256});
  ASSERT_TRUE(s);
  auto result = s->login();
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed))
      << result.error().message;
  EXPECT_TRUE(
      m_transcript.contains("fallback: no narrower offer left within the allowed "
                            "sha3-256,sha256"))
      << m_transcript.joined();
  ASSERT_TRUE(target.wait_for(3));
  EXPECT_EQ(target.offers(), (Offers{"8,7", "8", "7"}));
}

TEST_F(QuirkTargetTest, WithTheFallbackOffTheFirstRefusalIsFinal) {
  QuirkTarget target(backend(), lio_pre_315());
  ASSERT_TRUE(target.listening());
  auto s = session(target, test::all_algorithms(), false, /*fallback=*/false);
  ASSERT_TRUE(s);
  auto result = s->login();
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed));
  EXPECT_EQ(s->attempts(), 1u);
  EXPECT_FALSE(m_transcript.contains("fallback:"));
  ASSERT_TRUE(target.wait_for(1));
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5"}));
}

// ---- tgt: SHA-1 numbered 7 --------------------------------------------------------------------

TEST_F(QuirkTargetTest, TgtNumberingRefusesOurSha256AnswerAndTheOfferWithout7Succeeds) {
  QuirkTarget target(backend(), tgt_style());
  ASSERT_TRUE(target.listening());
  auto s = session(target, test::all_algorithms(), /*mutual=*/true);
  ASSERT_TRUE(s);
  auto ok = s->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << m_transcript.joined();
  EXPECT_EQ(s->algorithm(), Algorithm::md5);
  EXPECT_TRUE(s->mutual());
  EXPECT_EQ(s->attempts(), 2u);
  EXPECT_EQ(s->last_status(), status::kInitiatorError);
  EXPECT_TRUE(m_transcript.contains(
      "fallback: target refused our SHA-256 answer to CHAP_A=7 (it may number SHA-1 as 7), "
      "offering 8,6,5"))
      << m_transcript.joined();
  ASSERT_TRUE(s->logout());
  ASSERT_TRUE(target.wait_for(2));
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5", "8,6,5"}));
  const auto records = target.records();
  EXPECT_EQ(records[0].chap_a_chosen, "7");
  EXPECT_EQ(records[0].status, status::kInitiatorError);
  EXPECT_EQ(records[1].chap_a_chosen, "5");
  EXPECT_TRUE(records[1].completed);
}

TEST_F(QuirkTargetTest, TgtNumberingWithOnlySha256AllowedFailsWithACodeOfItsOwn) {
  QuirkTarget target(backend(), tgt_style());
  ASSERT_TRUE(target.listening());
  auto s = session(target, {Algorithm::sha256});
  ASSERT_TRUE(s);
  auto result = s->login();
  ASSERT_FALSE(result);
  // A code of its own, so the CLI can point at --legacy-tgt-sha1 (tools/error_hints.cpp).
  EXPECT_THAT(result, ResultIs(ErrorKind::rejected, ErrorCode::login_refused_sha256_as_7));
  ASSERT_TRUE(target.wait_for(1));
  EXPECT_EQ(target.offers(), (Offers{"7"}));
}

// ---- istgt: MD5 from a list, 0x0201 to a lone unknown value, 1,024-byte challenges -----------

TEST_F(QuirkTargetTest, IstgtPicksMd5FromTheDefaultOfferWithoutAFallback) {
  QuirkTarget target(backend(), istgt_style());
  ASSERT_TRUE(target.listening());
  auto s = session(target, test::all_algorithms(), /*mutual=*/true);
  ASSERT_TRUE(s);
  auto ok = s->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << m_transcript.joined();
  EXPECT_EQ(s->algorithm(), Algorithm::md5);
  EXPECT_EQ(s->attempts(), 1u);
  EXPECT_TRUE(m_transcript.contains("(1024 bytes)")) << m_transcript.joined();
  ASSERT_TRUE(s->logout());
  ASSERT_TRUE(target.wait_for(1));
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5"}));
}

TEST_F(QuirkTargetTest, IstgtAnswersALoneUnknownValueWith0201AndTheFallbackMovesOn) {
  QuirkTarget target(backend(), istgt_style());
  ASSERT_TRUE(target.listening());
  // Offered one at a time (as after a list refusal elsewhere): 0x0201 right after CHAP_A is
  // about the offer, not our secret, so the next value is tried.
  auto s = session(target, {Algorithm::sha256, Algorithm::md5});
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->authenticator().set_offer({Algorithm::sha256}));
  auto ok = s->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << m_transcript.joined();
  EXPECT_EQ(s->algorithm(), Algorithm::md5);
  ASSERT_TRUE(s->logout());
  ASSERT_TRUE(target.wait_for(2));
  EXPECT_EQ(target.offers(), (Offers{"7", "5"}));
}

TEST_F(QuirkTargetTest, AWrongSecretAfterTheChallengeIsNeverAFallbackTrigger) {
  Quirks q = istgt_style();
  q.secret = "another-secret-entirely-42";
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  auto s = session(target);
  ASSERT_TRUE(s);
  auto result = s->login();
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed));
  EXPECT_EQ(s->attempts(), 1u);
  EXPECT_FALSE(m_transcript.contains("fallback:"));
  ASSERT_TRUE(target.wait_for(1));
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5"}));
}

// ---- ctld: closes on a repeated key ------------------------------------------------------------

TEST_F(QuirkTargetTest, CtldStyleTargetSeesNoRepeatedKeyEvenAcrossTheFallback) {
  Quirks q = lio_pre_315();        // forces fallback attempts...
  q.close_on_repeated_key = true;  // ...each of which must still send every key once
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  auto s = session(target, test::all_algorithms(), /*mutual=*/true);
  ASSERT_TRUE(s);
  auto ok = s->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << m_transcript.joined();
  ASSERT_TRUE(s->ping());
  ASSERT_TRUE(s->logout());
  ASSERT_TRUE(target.wait_for(5));
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5", "8", "7", "6", "5"}));
  for (const auto& r : target.records()) EXPECT_FALSE(r.repeated_key);
  EXPECT_TRUE(target.records().back().completed);
}

// ---- 1,024-byte challenges, base64 only -------------------------------------------------------

TEST_F(QuirkTargetTest, OneThousandTwentyFourByteChallengesOnEveryAlgorithm) {
  for (const Algorithm alg : test::all_algorithms()) {
    Quirks q;
    q.knows = {alg};
    q.challenge_size = 1024;
    QuirkTarget target(backend(), q);
    ASSERT_TRUE(target.listening());
    auto s = session(target, test::all_algorithms(), /*mutual=*/true);
    ASSERT_TRUE(s);
    auto ok = s->login();
    ASSERT_TRUE(ok) << algorithm_name(alg) << ": " << ok.error().message;
    EXPECT_EQ(s->algorithm(), alg);
    EXPECT_TRUE(s->mutual());
    ASSERT_TRUE(s->logout());
    ASSERT_TRUE(target.wait_for(1));
    EXPECT_EQ(target.offers(), (Offers{"8,7,6,5"}));
  }
}

TEST_F(QuirkTargetTest, Base64OnlyTargetGetsBase64Back) {
  Quirks q;
  q.knows = {Algorithm::sha256};
  q.base64 = true;
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  auto s = session(target, test::all_algorithms(), /*mutual=*/true);
  ASSERT_TRUE(s);
  auto ok = s->login();
  ASSERT_TRUE(ok) << ok.error().message << "\n" << m_transcript.joined();
  EXPECT_EQ(s->algorithm(), Algorithm::sha256);
  EXPECT_TRUE(s->mutual());  // its base64 CHAP_R verified
  ASSERT_TRUE(s->logout());
  ASSERT_TRUE(target.wait_for(1));
  const auto records = target.records();
  EXPECT_EQ(records[0].initiator_chap_r, "0b");
  EXPECT_EQ(records[0].initiator_chap_c, "0b");
  EXPECT_EQ(target.offers(), (Offers{"8,7,6,5"}));
}

// ---- a target choosing what we did not offer: a failure, never a fallback ----------------------

TEST_F(QuirkTargetTest, ATargetPickingAnAlgorithmWeDidNotOfferFailsWithoutFallback) {
  Quirks q;
  q.knows = {Algorithm::md5};
  q.force_chap_a = 5;
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  auto s = session(target, {Algorithm::sha3_256, Algorithm::sha256});
  ASSERT_TRUE(s);
  auto result = s->login();
  ASSERT_FALSE(result);
  EXPECT_THAT(result, test::ResultIs(ErrorKind::protocol, ErrorCode::chap_a_not_offered))
      << result.error().message;
  EXPECT_EQ(s->attempts(), 1u);
  EXPECT_FALSE(m_transcript.contains("fallback:"));
  ASSERT_TRUE(target.wait_for(1));
  EXPECT_EQ(target.offers(), (Offers{"8,7"}));
  EXPECT_FALSE(target.records()[0].verified);  // we sent no CHAP_R
}

// ---- the plan itself --------------------------------------------------------------------------

TEST(OfferFallbackPlan, OneAtATimeThenOut) {
  OfferFallback plan(test::all_algorithms());
  std::vector<std::string> seen{chap_a_list(plan.current())};
  while (auto next = plan.next(OfferRefusal::after_offer)) seen.push_back(chap_a_list(*next));
  EXPECT_EQ(seen, (Offers{"8,7,6,5", "8", "7", "6", "5"}));
  EXPECT_EQ(plan.steps(), 4u);
}

TEST(OfferFallbackPlan, Sha256As7DropsSha256EverywhereAfter) {
  OfferFallback plan(test::all_algorithms());
  auto a = plan.next(OfferRefusal::sha256_as_7);
  ASSERT_TRUE(a);
  EXPECT_EQ(chap_a_list(*a), "8,6,5");
  EXPECT_FALSE(plan.next(OfferRefusal::sha256_as_7));  // nothing narrower for the same reason
  OfferFallback plan2(test::all_algorithms());
  std::vector<std::string> seen;
  for (auto r : {OfferRefusal::after_offer, OfferRefusal::after_offer, OfferRefusal::sha256_as_7,
                 OfferRefusal::after_offer, OfferRefusal::after_offer}) {
    auto next = plan2.next(r);
    seen.push_back(next ? chap_a_list(*next) : "-");
  }
  EXPECT_EQ(seen, (Offers{"8", "7", "6", "5", "-"}));
}

TEST(OfferFallbackPlan, NeverLeavesTheAllowedSetAndEnds) {
  const std::vector<Algorithm> allowed = {Algorithm::sha256, Algorithm::sha1};
  for (int pattern = 0; pattern < 64; ++pattern) {
    OfferFallback plan(allowed);
    for (int i = 0; i < 6; ++i) {
      const auto r =
          ((pattern >> i) & 1) != 0 ? OfferRefusal::sha256_as_7 : OfferRefusal::after_offer;
      auto next = plan.next(r);
      if (!next) break;
      for (const Algorithm alg : *next)
        EXPECT_NE(std::find(allowed.begin(), allowed.end(), alg), allowed.end());
    }
    EXPECT_LE(plan.steps(), allowed.size() + 1);
  }
  EXPECT_FALSE(OfferFallback(allowed).next(OfferRefusal::none));
  OfferFallback plan(allowed);
  EXPECT_FALSE(plan.start_from({Algorithm::md5}));  // outside the allowed set: ignored
  EXPECT_EQ(plan.current(), allowed);
}

TEST(OfferFallbackPlan, AuthenticatorRefusesAnOfferOutsideThePolicy) {
  auto auth = test::initiator_auth(test::backend_or_fail(test::backend_names().front()), false,
                                   test::policy_with({Algorithm::sha256, Algorithm::sha1}));
  ASSERT_TRUE(auth);
  EXPECT_FALSE(auth->set_offer({Algorithm::md5}));
  EXPECT_FALSE(auth->set_offer({}));
  EXPECT_FALSE(auth->set_offer({Algorithm::sha1, Algorithm::sha1}));
  EXPECT_EQ(auth->offer(), (std::vector<Algorithm>{Algorithm::sha256, Algorithm::sha1}));
  ASSERT_TRUE(auth->set_offer({Algorithm::sha1}));
  EXPECT_EQ(auth->for_connection()->offer(), std::vector<Algorithm>{Algorithm::sha1});
  auth->rewind();  // the offer is configuration: a rewind keeps it
  EXPECT_EQ(auth->offer(), std::vector<Algorithm>{Algorithm::sha1});
}

// ---- a target that closes instead of answering a Logout (istgt's race) -----------------------

TEST_F(QuirkTargetTest, ALogoutAnsweredByAClosedConnectionIsALogout) {
  Quirks q = istgt_style();
  q.close_on_logout = true;
  QuirkTarget target(backend(), q);
  ASSERT_TRUE(target.listening());
  auto s = session(target, {Algorithm::md5});
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->login()) << m_transcript.joined();
  const auto out = s->logout();
  EXPECT_TRUE(out) << out.error().message;
  EXPECT_TRUE(m_transcript.contains(
      "logout cid=0: the target closed the connection instead of answering (logged out)"))
      << m_transcript.joined();
  EXPECT_EQ(s->tsih(), 0);
}

}  // namespace
}  // namespace multichap
