// SPDX-License-Identifier: BSD-2-Clause
// What the CLI adds to a library error: the option that helps, by the error's code. The library's
// messages name no CLI option (they serve every embedder); the CLI maps the codes it can help
// with to a hint that does.
#ifndef MULTICHAP_TOOLS_ERROR_HINTS_H
#define MULTICHAP_TOOLS_ERROR_HINTS_H

#include <string_view>

#include "auth/result.h"

namespace multichap::cli {

// A one-line hint for error (naming multichap's options), or "" when there is none.
std::string_view cli_hint(const Error& error);

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_ERROR_HINTS_H
