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

}  // namespace multichap
