// SPDX-License-Identifier: BSD-2-Clause
// The multichap CLI's command line, parsed and validated by CLI11 (Debian libcli11-dev,
// header-only; private to tools/). Each command declares its options on its own CLI::App: an
// option takes one value ("--name value" or "--name=value", add_value) or none (a flag,
// add_flag); an option given twice, an unknown option and a stray argument are usage errors.
// After the parse, the command reads what was given through Options.
#ifndef MULTICHAP_TOOLS_CLI_OPTIONS_H
#define MULTICHAP_TOOLS_CLI_OPTIONS_H

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace multichap::cli {

// The options given to one command, by name without the dashes.
class Options {
 public:
  Options() = default;
  // Takes command's parsed options, then wipes and clears CLI11's copies of their values.
  explicit Options(CLI::App& command);
  ~Options();  // wipes the values: secrets are among them
  Options(const Options&) = delete;
  Options& operator=(const Options&) = delete;
  Options(Options&&) = delete;
  Options& operator=(Options&&) = delete;

  bool has(const std::string& name) const {
    return m_values.count(name) != 0 || m_flags.count(name) != 0;
  }
  const std::string* get(const std::string& name) const;

 private:
  std::map<std::string, std::string> m_values;
  std::set<std::string> m_flags;
};

// --name VALUE or --name=VALUE, at most once. The value is taken as it is, even when it starts
// with '-'.
CLI::Option* add_value(CLI::App& command, const std::string& name);
// --name, at most once, without a value.
CLI::Option* add_flag(CLI::App& command, const std::string& name);
// --<prefix>secret TEXT, --<prefix>secret-hex HEX, --<prefix>secret-file PATH,
// --<prefix>secret-pkcs11 URI, at most one of them (read by read_secret, tools/commands.h).
// Without validators: no parse error shows their values.
void add_secret_options(CLI::App& command, const std::string& prefix);

// Checks run while parsing. A failed check is the usage error "--name: RULE"; the rule never
// repeats the value.
// A number from min to max, decimal or 0x hex (parse_number); rule defaults to
// "must be a number from MIN to MAX".
CLI::Validator number_in(std::uint32_t min, std::uint32_t max, std::string rule = {});
// One of choices, spelled exactly.
CLI::Validator one_of(const std::vector<std::string>& choices);
// check returns an empty string for a good value, else the rule it breaks.
CLI::Validator checked_by(std::function<std::string(const std::string&)> check);

// `multichap COMMAND --help` prints usage (the command's hand-written text) on stdout.
void set_usage(CLI::App& command, const char* usage);

struct ParseOutcome {
  CLI::App* command = nullptr;  // the command to run, or nullptr: exit with status
  int status = 0;
};
// Parses args (argv without the program's name) with app, whose subcommands are the commands.
// --help prints the help on stdout (status 0); a usage error prints "multichap: <message>" and
// a hint on stderr (status 2); no command prints usage on stdout (status 2), "help" prints it
// with status 0, "help COMMAND" the command's help.
ParseOutcome parse_command_line(CLI::App& app, const char* usage, std::vector<std::string> args);

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_CLI_OPTIONS_H
