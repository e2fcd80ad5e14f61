// SPDX-License-Identifier: BSD-2-Clause
// ErrorCode: every code has a distinct, stable snake_case name; each kind has its generic code;
// and the ResultIs matcher (tests/support/result_matchers.h) matches kind and code and says what
// it got when it does not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "auth/encoding.h"
#include "auth/error_code.h"
#include "auth/result.h"
#include "tests/support/result_matchers.h"

namespace multichap {
namespace {

using test::ResultIs;

std::vector<ErrorCode> all_codes() {
  return {
#define MULTICHAP_TEST_CODE(name) ErrorCode::name,
      MULTICHAP_ERROR_CODES(MULTICHAP_TEST_CODE)
#undef MULTICHAP_TEST_CODE
  };
}

TEST(ErrorCode, EveryCodeHasADistinctSnakeCaseName) {
  const auto codes = all_codes();
  EXPECT_GE(codes.size(), 100u);
  std::set<std::string> names;
  for (const ErrorCode code : codes) {
    const std::string name(error_code_name(code));
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    ASSERT_FALSE(name.empty());
    EXPECT_TRUE(std::islower(static_cast<unsigned char>(name.front()))) << name;
    for (const char c : name) {
      EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c)) || c == '_')
          << name;
    }
  }
}

TEST(ErrorCode, NamesAreStable) {
  // Spelled out: a renamed code breaks every caller that stored or matched its name.
  EXPECT_EQ(error_code_name(ErrorCode::hex_digit), "hex_digit");
  EXPECT_EQ(error_code_name(ErrorCode::reflection), "reflection");
  EXPECT_EQ(error_code_name(ErrorCode::bad_response), "bad_response");
  EXPECT_EQ(error_code_name(ErrorCode::secret_too_short), "secret_too_short");
  EXPECT_EQ(error_code_name(ErrorCode::generic_usage), "generic_usage");
  EXPECT_EQ(error_code_name(static_cast<ErrorCode>(100000)), "unknown");
}

TEST(ErrorCode, EachKindHasItsGenericCode) {
  const std::vector<std::pair<ErrorKind, ErrorCode>> pairs = {
      {ErrorKind::protocol, ErrorCode::generic_protocol},
      {ErrorKind::authentication, ErrorCode::generic_authentication},
      {ErrorKind::policy, ErrorCode::generic_policy},
      {ErrorKind::backend, ErrorCode::generic_backend},
      {ErrorKind::usage, ErrorCode::generic_usage},
      {ErrorKind::io, ErrorCode::generic_io},
      {ErrorKind::timeout, ErrorCode::generic_timeout},
      {ErrorKind::rejected, ErrorCode::generic_rejected},
      {ErrorKind::internal, ErrorCode::generic_internal},
  };
  for (const auto& [kind, code] : pairs) {
    EXPECT_EQ(generic_error_code(kind), code) << error_kind_name(kind);
    EXPECT_EQ(make_error(kind, "no reason of its own").code, code);
  }
  EXPECT_EQ(Error{}.code, ErrorCode::generic_internal);
}

TEST(ErrorCode, WithContextKeepsKindAndCode) {
  const Error e = with_context("CHAP_C", protocol_error(ErrorCode::hex_digit, "bad digit"));
  EXPECT_EQ(e.kind, ErrorKind::protocol);
  EXPECT_EQ(e.code, ErrorCode::hex_digit);
  EXPECT_EQ(e.message, "CHAP_C: bad digit");
}

TEST(ResultIs, MatchesKindAndCodeOnErrorResultAndOptional) {
  const Result<SecureBytes> bad = decode_binary("0xZZ", 16);
  EXPECT_THAT(bad, ResultIs(ErrorKind::protocol, ErrorCode::hex_digit));
  EXPECT_THAT(bad.error(), ResultIs(ErrorKind::protocol, ErrorCode::hex_digit));
  const Result<void> failed = make_error(ErrorKind::policy, ErrorCode::reflection, "x");
  EXPECT_THAT(failed, ResultIs(ErrorKind::policy, ErrorCode::reflection));
  const std::optional<Error> some = failed.error();
  EXPECT_THAT(some, ResultIs(ErrorKind::policy, ErrorCode::reflection));
}

TEST(ResultIs, RefusesAnotherKindAnotherCodeASuccessAndNoError) {
  const auto m = ResultIs(ErrorKind::protocol, ErrorCode::hex_digit);
  EXPECT_THAT(Error(protocol_error(ErrorCode::hex_empty, "x")), ::testing::Not(m));
  EXPECT_THAT(make_error(ErrorKind::usage, ErrorCode::hex_digit, "x"), ::testing::Not(m));
  const Result<SecureBytes> good = decode_binary("0x00", 16);
  ASSERT_TRUE(good);
  EXPECT_THAT(good, ::testing::Not(m));
  EXPECT_THAT(std::optional<Error>(), ::testing::Not(m));
  EXPECT_THAT(Result<void>(), ::testing::Not(m));
}

TEST(ResultIs, DescribesWhatItWantsAndWhatItGot) {
  const auto m = ResultIs(ErrorKind::protocol, ErrorCode::hex_digit);
  EXPECT_EQ(::testing::DescribeMatcher<Error>(m),
            "is an error of kind protocol and code hex_digit");
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(
      m, make_error(ErrorKind::usage, ErrorCode::secret_empty, "secret is empty"), &listener));
  EXPECT_EQ(listener.str(), "which is error usage/secret_empty (secret is empty)");
  ::testing::StringMatchResultListener success;
  EXPECT_FALSE(::testing::ExplainMatchResult(m, Result<void>(), &success));
  EXPECT_EQ(success.str(), "which succeeded");
}

}  // namespace
}  // namespace multichap
