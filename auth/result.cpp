// SPDX-License-Identifier: BSD-2-Clause
#include "auth/result.h"

namespace multichap {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::protocol:
      return "protocol";
    case ErrorKind::authentication:
      return "authentication";
    case ErrorKind::policy:
      return "policy";
    case ErrorKind::backend:
      return "backend";
    case ErrorKind::usage:
      return "usage";
    case ErrorKind::io:
      return "io";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::rejected:
      return "rejected";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

ErrorCode generic_error_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::protocol:
      return ErrorCode::generic_protocol;
    case ErrorKind::authentication:
      return ErrorCode::generic_authentication;
    case ErrorKind::policy:
      return ErrorCode::generic_policy;
    case ErrorKind::backend:
      return ErrorCode::generic_backend;
    case ErrorKind::usage:
      return ErrorCode::generic_usage;
    case ErrorKind::io:
      return ErrorCode::generic_io;
    case ErrorKind::timeout:
      return ErrorCode::generic_timeout;
    case ErrorKind::rejected:
      return ErrorCode::generic_rejected;
    case ErrorKind::internal:
      return ErrorCode::generic_internal;
  }
  return ErrorCode::generic_internal;
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
#define MULTICHAP_ERROR_CODE_CASE(name) \
  case ErrorCode::name:                 \
    return #name;
    MULTICHAP_ERROR_CODES(MULTICHAP_ERROR_CODE_CASE)
#undef MULTICHAP_ERROR_CODE_CASE
  }
  return "unknown";
}

}  // namespace multichap
