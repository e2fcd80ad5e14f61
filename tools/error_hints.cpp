// SPDX-License-Identifier: BSD-2-Clause
#include "tools/error_hints.h"

namespace multichap::cli {

std::string_view cli_hint(const Error& error) {
  switch (error.code) {
    case ErrorCode::login_refused_sha256_as_7:
      return "if this is tgt or IET, which take CHAP_A=7 to mean SHA-1, use --legacy-tgt-sha1 or "
             "leave sha256 out of --algs";
    case ErrorCode::secret_too_short:
      return "if the link is protected by IPsec, --link-protected allows a shorter secret";
    default:
      return {};
  }
}

}  // namespace multichap::cli
