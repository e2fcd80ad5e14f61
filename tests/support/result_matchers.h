// SPDX-License-Identifier: BSD-2-Clause
// ResultIs(kind, code): a GoogleTest matcher (after Tink's StatusIs) for an Error, a Result<T>, a
// Result<void> or a std::optional<Error>: it matches a failure of that kind and code, and says
// what it got (kind, code and message) when it does not. Tests check the reason this way, not
// the English of the message.
//
//   EXPECT_THAT(decode_binary("0xZZ", 16), ResultIs(ErrorKind::protocol, ErrorCode::hex_digit));
#ifndef MULTICHAP_TESTS_SUPPORT_RESULT_MATCHERS_H
#define MULTICHAP_TESTS_SUPPORT_RESULT_MATCHERS_H

#include <gmock/gmock.h>

#include <optional>
#include <ostream>
#include <string>

#include "auth/result.h"

namespace multichap {

// gtest prints an Error (and a Result) this way in failure messages.
inline void PrintTo(const Error& error, std::ostream* os) {
  *os << "error " << error_kind_name(error.kind) << "/" << error_code_name(error.code) << " ("
      << error.message << ")";
}

template <typename T>
void PrintTo(const Result<T>& result, std::ostream* os) {
  if (result.has_value()) {
    *os << "a success";
  } else {
    PrintTo(result.error(), os);
  }
}

namespace test {

class ResultIsMatcher {
 public:
  ResultIsMatcher(ErrorKind kind, ErrorCode code) : m_kind(kind), m_code(code) {}

  bool MatchAndExplain(const Error& error, ::testing::MatchResultListener* listener) const {
    *listener << "which is " << ::testing::PrintToString(error);
    return error.kind == m_kind && error.code == m_code;
  }
  template <typename T>
  bool MatchAndExplain(const Result<T>& result, ::testing::MatchResultListener* listener) const {
    if (result.has_value()) {
      *listener << "which succeeded";
      return false;
    }
    return MatchAndExplain(result.error(), listener);
  }
  bool MatchAndExplain(const std::optional<Error>& error,
                       ::testing::MatchResultListener* listener) const {
    if (!error) {
      *listener << "which is no error";
      return false;
    }
    return MatchAndExplain(*error, listener);
  }

  void DescribeTo(std::ostream* os) const {
    *os << "is an error of kind " << error_kind_name(m_kind) << " and code "
        << error_code_name(m_code);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "is not an error of kind " << error_kind_name(m_kind) << " and code "
        << error_code_name(m_code);
  }

 private:
  ErrorKind m_kind;
  ErrorCode m_code;
};

inline ::testing::PolymorphicMatcher<ResultIsMatcher> ResultIs(ErrorKind kind, ErrorCode code) {
  return ::testing::MakePolymorphicMatcher(ResultIsMatcher(kind, code));
}

}  // namespace test
}  // namespace multichap

#endif  // MULTICHAP_TESTS_SUPPORT_RESULT_MATCHERS_H
