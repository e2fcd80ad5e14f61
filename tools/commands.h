// SPDX-License-Identifier: BSD-2-Clause
// The multichap CLI's subcommands. Each returns the process exit status:
// 0 success, 1 authentication failed, 2 usage error, 3 any other failure.
#ifndef MULTICHAP_TOOLS_COMMANDS_H
#define MULTICHAP_TOOLS_COMMANDS_H

#include <string>

#include "auth/result.h"
#include "auth/secure.h"
#include "tools/cli_options.h"

namespace multichap::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitAuthFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailure = 3;

// define_X declares command X's options and help on its CLI::App (tools/cli_options.h);
// run_X runs it with the options parsed.
void define_algorithms(CLI::App& command);
int run_algorithms(const Options& options);
void define_version(CLI::App& command);  // also `multichap --version`
int run_version(const Options& options);
void define_response(CLI::App& command);
int run_response(const Options& options);
void define_serve(CLI::App& command);  // tools/serve_login.cpp
int run_serve(const Options& options);
void define_login(CLI::App& command);  // tools/serve_login.cpp
int run_login(const Options& options);
void define_discover(CLI::App& command);  // tools/discover_command.cpp
int run_discover(const Options& options);
void define_bench(CLI::App& command);  // tools/bench_command.cpp
int run_bench(const Options& options);
void define_store(CLI::App& command);  // tools/store_command.cpp
int run_store(const Options& options);
void define_token(CLI::App& command);  // tools/token_command.cpp
int run_token(const Options& options);

// Whether read_secret may fall back to the environment variable. Callers say no when the command
// does not ask for CHAP in that direction (no user name for it), so that a merely exported
// MULTICHAP_SECRET or MULTICHAP_TARGET_SECRET never turns a command into a usage error.
enum class SecretFromEnv { no, yes };

// Reads a secret from --<prefix>secret TEXT, --<prefix>secret-hex HEX, --<prefix>secret-file PATH,
// --<prefix>secret-pkcs11 URI (a key in a token, opened with --pkcs11-allow-md5 when given: a
// Secret held by reference) or, when from_env says so, the environment variable env_name, in that
// order of precedence; exactly one source may be given on the command line. Warns on stderr when
// the secret itself is on the command line (naming env_name as an alternative). Returns an empty
// Secret (empty()) when none was given.
Result<Secret> read_secret(const Options& options, const std::string& prefix, const char* env_name,
                           SecretFromEnv from_env = SecretFromEnv::yes);

// Prints "multichap: <message>" to stderr and returns the exit status for the error's kind.
int report_error(const Error& error);

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_COMMANDS_H
