// SPDX-License-Identifier: BSD-2-Clause
// Result<T>: a value or a typed error, shaped like std::expected so C++23 code can swap it in.
// No exception crosses multichap's public API; every fallible call returns one of these.
#ifndef MULTICHAP_AUTH_RESULT_H
#define MULTICHAP_AUTH_RESULT_H

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "auth/error_code.h"

namespace multichap {

// What went wrong, in the terms a caller branches on: the kind (the class of failure) and the
// code (the reason, auth/error_code.h). The message is for the local log only: it never contains
// secret material, names no CLI option, and a peer only ever learns "authentication failed".
enum class ErrorKind {
  protocol,        // the peer sent something malformed or out of order
  authentication,  // the peer's credentials were wrong (bad CHAP_R, unknown CHAP_N)
  policy,          // well-formed but not allowed by our configuration
  backend,         // the crypto library failed or refused
  usage,           // the caller (or the CLI user) asked for something invalid
  io,              // connection refused, reset or closed
  timeout,         // a connect, read or write deadline passed
  rejected,        // the peer ended the login with a non-success status (other than 0x0201)
  internal,        // a bug in multichap
};

std::string_view error_kind_name(ErrorKind kind);

// The generic code of a kind (ErrorCode::generic_usage for ErrorKind::usage...).
ErrorCode generic_error_code(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::internal;
  ErrorCode code = ErrorCode::generic_internal;
  std::string message;
};

inline Error make_error(ErrorKind kind, ErrorCode code, std::string message) {
  return Error{kind, code, std::move(message)};
}

// The peer sent something malformed or out of order: the one helper for ErrorKind::protocol.
inline Error protocol_error(ErrorCode code, std::string message) {
  return make_error(ErrorKind::protocol, code, std::move(message));
}

// error with "context: " before its message, kind and code kept.
inline Error with_context(std::string_view context, Error error) {
  error.message = std::string(context) + ": " + error.message;
  return error;
}

#ifndef MULTICHAP_LIBRARY_SOURCE
// An Error with the generic code of its kind: for callers outside the library that have no reason
// of their own (the CLI's option errors). The library's own sources are built with
// MULTICHAP_LIBRARY_SOURCE and cannot call it: every library failure names its code.
inline Error make_error(ErrorKind kind, std::string message) {
  return make_error(kind, generic_error_code(kind), std::move(message));
}
#endif

// Holds either a T or an Error. Access to value() on an error (or error() on a value) is a
// programming bug and aborts rather than being undefined.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : m_state(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return m_state.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return checked_value(); }
  const T& value() const& { return const_cast<Result*>(this)->checked_value(); }
  T&& value() && { return std::move(checked_value()); }
  T& operator*() & { return checked_value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &checked_value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    if (has_value()) std::abort();
    return std::get<1>(m_state);
  }

 private:
  T& checked_value() {
    if (!has_value()) std::abort();
    return std::get<0>(m_state);
  }
  std::variant<T, Error> m_state;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)) {}  // NOLINT: implicit

  bool has_value() const { return !m_error.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (m_error) std::abort();
  }
  const Error& error() const {
    if (!m_error) std::abort();
    return *m_error;
  }

 private:
  std::optional<Error> m_error;
};

}  // namespace multichap

// Early-return helpers in the style of s2n's GUARD: branch on failure, keep the success path flat.
#define MULTICHAP_CONCAT_INNER(a, b) a##b
#define MULTICHAP_CONCAT(a, b) MULTICHAP_CONCAT_INNER(a, b)

// Evaluates a Result<...> expression and returns its error from the enclosing function on failure.
#define MULTICHAP_GUARD(expr)                                           \
  do {                                                                  \
    auto&& multichap_guard_result = (expr);                             \
    if (!multichap_guard_result) return multichap_guard_result.error(); \
  } while (0)

// tmp is an identifier and lhs may be a declaration ("auto x"): neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define MULTICHAP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp) return tmp.error();                         \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

// `MULTICHAP_ASSIGN_OR_RETURN(auto x, f());` declares x from f()'s value or returns its error.
#define MULTICHAP_ASSIGN_OR_RETURN(lhs, expr) \
  MULTICHAP_ASSIGN_OR_RETURN_IMPL(MULTICHAP_CONCAT(multichap_result_, __LINE__), lhs, expr)

#endif  // MULTICHAP_AUTH_RESULT_H
