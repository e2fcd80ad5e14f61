// SPDX-License-Identifier: BSD-2-Clause
// Operational negotiation (session/operational.h, RFC 7143 §6.2, §13): the responder's answers
// per key rule (list, boolean OR/AND, numeric min/max), the reserved answers NotUnderstood,
// Irrelevant and Reject, and the initiator's check of the target's answers.
#include "session/operational.h"
#include "tests/support/result_matchers.h"

#include <gtest/gtest.h>

#include <string>

namespace multichap {
namespace {

// Answers a single key as a leading (or non-leading) responder.
std::string answer_one(std::string_view key, std::string value, bool leading = true) {
  KeyList negotiated;
  const KeyList out =
      answer_operational(KeyList{{std::string(key), std::move(value)}}, leading, negotiated);
  const std::string* answer = out.find(key);
  return answer != nullptr ? *answer : "<no answer>";
}

TEST(AnswerOperational, ListKeysAnswerTheFirstValueWeSupport) {
  EXPECT_EQ(answer_one("HeaderDigest", "CRC32C,None"), "None");
  EXPECT_EQ(answer_one("DataDigest", "None"), "None");
  EXPECT_EQ(answer_one("HeaderDigest", "CRC32C"), "Reject");
  EXPECT_EQ(answer_one("DataDigest", "CRC32C,Nonesuch"), "Reject");
}

TEST(AnswerOperational, BooleanOrKeys) {
  // InitialR2T: OR, ours Yes.
  EXPECT_EQ(answer_one("InitialR2T", "No"), "Yes");
  EXPECT_EQ(answer_one("InitialR2T", "Yes"), "Yes");
  // DataPDUInOrder: OR, ours Yes.
  EXPECT_EQ(answer_one("DataPDUInOrder", "No"), "Yes");
}

TEST(AnswerOperational, BooleanAndKeys) {
  // ImmediateData: AND, ours Yes.
  EXPECT_EQ(answer_one("ImmediateData", "Yes"), "Yes");
  EXPECT_EQ(answer_one("ImmediateData", "No"), "No");
  // IFMarker/OFMarker: AND, ours No.
  EXPECT_EQ(answer_one("IFMarker", "Yes"), "No");
  EXPECT_EQ(answer_one("OFMarker", "No"), "No");
}

TEST(AnswerOperational, NumericMinimumAndMaximum) {
  // MaxBurstLength: min, ours 262144.
  EXPECT_EQ(answer_one("MaxBurstLength", "1048576"), "262144");
  EXPECT_EQ(answer_one("MaxBurstLength", "4096"), "4096");
  EXPECT_EQ(answer_one("MaxBurstLength", "0x1000"), "4096");  // hex numbers are numbers too
  // MaxConnections: min, ours 8.
  EXPECT_EQ(answer_one("MaxConnections", "1"), "1");
  EXPECT_EQ(answer_one("MaxConnections", "65535"), "8");
  // DefaultTime2Wait: max, ours 2.
  EXPECT_EQ(answer_one("DefaultTime2Wait", "0"), "2");
  EXPECT_EQ(answer_one("DefaultTime2Wait", "20"), "20");
  // ErrorRecoveryLevel: min, ours 0.
  EXPECT_EQ(answer_one("ErrorRecoveryLevel", "2"), "0");
}

TEST(AnswerOperational, BadValuesAreRejected) {
  EXPECT_EQ(answer_one("MaxBurstLength", "lots"), "Reject");
  EXPECT_EQ(answer_one("MaxBurstLength", "511"), "Reject");       // below 512
  EXPECT_EQ(answer_one("MaxBurstLength", "16777216"), "Reject");  // above 2^24-1
  EXPECT_EQ(answer_one("MaxBurstLength", "0100"), "Reject");      // leading zero
  EXPECT_EQ(answer_one("MaxBurstLength", ""), "Reject");
  EXPECT_EQ(answer_one("MaxConnections", "0"), "Reject");
  EXPECT_EQ(answer_one("ErrorRecoveryLevel", "3"), "Reject");
  EXPECT_EQ(answer_one("InitialR2T", "yes"), "Reject");  // values are case-sensitive
  EXPECT_EQ(answer_one("ImmediateData", "Maybe"), "Reject");
}

TEST(AnswerOperational, UnknownKeysAreNotUnderstood) {
  EXPECT_EQ(answer_one("X-com.example.Frobnicate", "Yes"), "NotUnderstood");
  EXPECT_EQ(answer_one("MaxBurstLen", "512"), "NotUnderstood");
  EXPECT_EQ(answer_one("headerdigest", "None"), "NotUnderstood");  // keys are case-sensitive
}

TEST(AnswerOperational, LeadingOnlyKeysAreIrrelevantOnANonLeadingLogin) {
  EXPECT_EQ(answer_one("MaxConnections", "4", false), "Irrelevant");
  EXPECT_EQ(answer_one("InitialR2T", "Yes", false), "Irrelevant");
  EXPECT_EQ(answer_one("MaxBurstLength", "4096", false), "Irrelevant");
  EXPECT_EQ(answer_one("ErrorRecoveryLevel", "0", false), "Irrelevant");
  // Connection-level keys are negotiated on every connection.
  EXPECT_EQ(answer_one("HeaderDigest", "None", false), "None");
  EXPECT_EQ(answer_one("IFMarker", "No", false), "No");
}

TEST(AnswerOperational, DeclarativeAndAuthKeysGetNoAnswerAndOutcomesAreRecorded) {
  const KeyList received{
      {"InitiatorName", "iqn.x"}, {"SessionType", "Normal"}, {"MaxRecvDataSegmentLength", "65536"},
      {"AuthMethod", "CHAP"},     {"CHAP_A", "7"},           {"MaxBurstLength", "1048576"},
      {"HeaderDigest", "CRC32C"}, {"X-unknown", "1"}};
  KeyList negotiated;
  const KeyList out = answer_operational(received, true, negotiated);
  EXPECT_FALSE(out.contains("InitiatorName"));
  EXPECT_FALSE(out.contains("SessionType"));
  EXPECT_FALSE(out.contains("MaxRecvDataSegmentLength"));
  EXPECT_FALSE(out.contains("AuthMethod"));
  EXPECT_FALSE(out.contains("CHAP_A"));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(*out.find("MaxBurstLength"), "262144");
  EXPECT_EQ(*out.find("HeaderDigest"), "Reject");
  EXPECT_EQ(*out.find("X-unknown"), "NotUnderstood");

  // Declarations and agreed values are recorded; a rejected key is not.
  ASSERT_TRUE(negotiated.find("InitiatorName"));
  EXPECT_EQ(*negotiated.find("InitiatorName"), "iqn.x");
  EXPECT_EQ(*negotiated.find("MaxRecvDataSegmentLength"), "65536");
  EXPECT_EQ(*negotiated.find("MaxBurstLength"), "262144");
  EXPECT_FALSE(negotiated.contains("HeaderDigest"));
  EXPECT_FALSE(negotiated.contains("X-unknown"));
  EXPECT_FALSE(negotiated.contains("CHAP_A"));
}

TEST(InitiatorOffer, LeadingOnlyKeysOnlyOnALeadingLogin) {
  const KeyList leading = initiator_operational_offer(true);
  const KeyList further = initiator_operational_offer(false);
  for (const char* key : {"MaxConnections", "InitialR2T", "ImmediateData", "MaxBurstLength",
                          "FirstBurstLength", "ErrorRecoveryLevel"}) {
    EXPECT_TRUE(leading.contains(key)) << key;
    EXPECT_FALSE(further.contains(key)) << key;
  }
  for (const char* key : {"HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength"}) {
    EXPECT_TRUE(leading.contains(key)) << key;
    EXPECT_TRUE(further.contains(key)) << key;
  }
  // Our own offer, answered by our own responder rules, agrees with itself.
  KeyList negotiated;
  const KeyList answers = answer_operational(leading, true, negotiated);
  for (const auto& kv : answers) {
    EXPECT_NE(kv.value, "Reject") << kv.key;
    EXPECT_NE(kv.value, "NotUnderstood") << kv.key;
  }
  KeyList checked;
  EXPECT_TRUE(check_operational_answers(leading, answers, checked));
}

TEST(CheckOperationalAnswers, RecordsAgreedValues) {
  const KeyList offered{{"HeaderDigest", "CRC32C,None"},
                        {"MaxBurstLength", "262144"},
                        {"InitialR2T", "Yes"},
                        {"X-private", "7"}};
  const KeyList received{{"HeaderDigest", "None"},
                         {"MaxBurstLength", "65536"},
                         {"InitialR2T", "Yes"},
                         {"X-private", "8"},
                         {"TargetPortalGroupTag", "1"}};
  KeyList negotiated;
  auto ok = check_operational_answers(offered, received, negotiated);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*negotiated.find("HeaderDigest"), "None");
  EXPECT_EQ(*negotiated.find("MaxBurstLength"), "65536");
  EXPECT_EQ(*negotiated.find("InitialR2T"), "Yes");
  EXPECT_EQ(*negotiated.find("X-private"), "8");              // no rule: taken as answered
  EXPECT_FALSE(negotiated.contains("TargetPortalGroupTag"));  // not an answer to our offer
}

TEST(CheckOperationalAnswers, ReservedAnswersAreNotRecorded) {
  const KeyList offered{{"MaxConnections", "8"}, {"IFMarker", "No"}, {"X-new", "1"}};
  const KeyList received{
      {"MaxConnections", "Irrelevant"}, {"IFMarker", "Reject"}, {"X-new", "NotUnderstood"}};
  KeyList negotiated;
  ASSERT_TRUE(check_operational_answers(offered, received, negotiated));
  EXPECT_FALSE(negotiated.contains("MaxConnections"));
  EXPECT_FALSE(negotiated.contains("IFMarker"));
  EXPECT_FALSE(negotiated.contains("X-new"));
}

TEST(CheckOperationalAnswers, AListValueWeDidNotOfferIsAProtocolError) {
  KeyList negotiated;
  auto r = check_operational_answers(KeyList{{"HeaderDigest", "None"}},
                                     KeyList{{"HeaderDigest", "CRC32C"}}, negotiated);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::operational_answer_invalid));
  EXPECT_FALSE(negotiated.contains("HeaderDigest"));
}

// RFC 7143 §6.2.2: "Selection of a value not admitted by the selection rule is considered a
// protocol error."
TEST(CheckOperationalAnswers, AValueTheSelectionRuleDoesNotAdmitIsAProtocolError) {
  struct Case {
    const char* key;
    const char* offered;
    const char* answered;
    bool admitted;
  };
  const Case cases[] = {
      {"MaxBurstLength", "262144", "262144", true},   // min: equal
      {"MaxBurstLength", "262144", "512", true},      // min: lower
      {"MaxBurstLength", "262144", "524288", false},  // min: higher than offered
      {"MaxBurstLength", "262144", "100", false},     // below the key's range
      {"MaxBurstLength", "262144", "big", false},     // not a number
      {"DefaultTime2Wait", "2", "5", true},           // max: higher
      {"DefaultTime2Wait", "2", "1", false},          // max: lower than offered
      {"InitialR2T", "Yes", "Yes", true},             // OR with Yes: only Yes
      {"InitialR2T", "Yes", "No", false},
      {"InitialR2T", "No", "Yes", true},  // OR with No: either
      {"InitialR2T", "No", "No", true},
      {"ImmediateData", "No", "Yes", false},   // AND with No: only No
      {"ImmediateData", "Yes", "No", true},    // AND with Yes: either
      {"ImmediateData", "Yes", "yes", false},  // not a boolean
  };
  for (const auto& c : cases) {
    KeyList negotiated;
    auto r = check_operational_answers(KeyList{{c.key, c.offered}}, KeyList{{c.key, c.answered}},
                                       negotiated);
    EXPECT_EQ(r.has_value(), c.admitted)
        << c.key << ": offered " << c.offered << ", answered " << c.answered;
    if (!r) {
      EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::operational_answer_invalid));
      EXPECT_FALSE(negotiated.contains(c.key));
    } else {
      EXPECT_EQ(*negotiated.find(c.key), c.answered);
    }
  }
}

}  // namespace
}  // namespace multichap
