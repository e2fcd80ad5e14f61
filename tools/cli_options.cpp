// SPDX-License-Identifier: BSD-2-Clause
#include "tools/cli_options.h"

#include <algorithm>
#include <iostream>
#include <utility>

#include "auth/encoding.h"
#include "auth/secure.h"
#include "tools/commands.h"

namespace multichap::cli {

namespace {

void wipe(std::string& s) {
  secure_wipe(s.data(), s.size());
}

// Wipes and clears the values CLI11 holds for the options of app and of its subcommands.
void wipe_parsed_values(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    // results() is read-only in CLI11's interface; the strings themselves are not const.
    for (const std::string& value : option->results()) wipe(const_cast<std::string&>(value));
    option->clear();
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    wipe_parsed_values(*sub);
}

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// The options whose values are secrets themselves (a --*secret-file value is only a path; a
// --*secret-pkcs11 URI may hold a PIN).
bool is_secret_valued(const CLI::Option& option) {
  const std::string& name = option.get_single_name();
  return ends_with(name, "secret") || ends_with(name, "secret-hex") ||
         ends_with(name, "secret-pkcs11");
}

bool secret_given(const CLI::App& command) {
  const auto options = command.get_options();
  return std::any_of(options.begin(), options.end(),
                     [](const CLI::Option* o) { return o->count() != 0 && is_secret_valued(*o); });
}

CLI::App* selected_command(const CLI::App& app) {
  const auto selected = app.get_subcommands();
  return selected.empty() ? nullptr : selected.front();
}

// What a CLI11 parse error says, in our words where CLI11's are less clear: an option given
// twice and a flag given a value are named as such.
std::string describe(const CLI::ParseError& error, const CLI::App* command) {
  if (command != nullptr) {
    for (const CLI::Option* option : command->get_options()) {
      if (option->count() > 1) return "option --" + option->get_single_name() + " given twice";
    }
    // CLI11: "NAME was given a disallowed flag override" for --flag=VALUE, and
    // "--NAME: 1 required TYPE missing" for a value option at the end or given "--NAME=".
    const std::string what = error.what();
    if (ends_with(what, " was given a disallowed flag override"))
      return "option --" + what.substr(0, what.find(' ')) + " takes no value";
    if (const auto colon = what.find(": 1 required ");
        colon != std::string::npos && what.rfind("--", 0) == 0 && ends_with(what, " missing")) {
      return "option " + what.substr(0, colon) + " needs a value";
    }
  }
  return error.what();
}

// An argument CLI11 did not take: an unknown option (named without its value, which may be a
// secret) or a stray argument (not repeated after a secret: it may be part of one).
std::string describe_extra(const std::string& arg, const CLI::App& command) {
  if (arg.rfind("--", 0) == 0 && arg.size() > 2)
    return "unknown option " + arg.substr(0, arg.find('='));
  const bool option = arg.size() > 1 && arg[0] == '-';
  if (secret_given(command)) {
    return std::string(option ? "unknown option" : "unexpected argument") +
           " (not shown: it may be part of a secret; quote a secret that has spaces)";
  }
  return option ? "unknown option " + arg : "unexpected argument '" + arg + "'";
}

int usage_error(const std::string& message, const CLI::App* command, const char* usage) {
  std::cerr << "multichap: " << message << "\n";
  if (command != nullptr) {
    std::cerr << "run 'multichap " << command->get_name() << " --help' for the options\n";
  } else {
    std::cerr << "\n" << usage;
  }
  return kExitUsage;
}

}  // namespace

Options::Options(CLI::App& command) {
  for (const CLI::Option* option : command.get_options()) {
    if (option->count() == 0) continue;
    const std::string& name = option->get_single_name();
    if (option->get_type_size() == 0) {
      m_flags.insert(name);
    } else if (!option->results().empty()) {
      m_values[name] = option->results().front();
    }
  }
  wipe_parsed_values(command);
}

Options::~Options() {
  for (auto& [name, value] : m_values) wipe(value);
}

const std::string* Options::get(const std::string& name) const {
  const auto it = m_values.find(name);
  return it == m_values.end() ? nullptr : &it->second;
}

CLI::Option* add_value(CLI::App& command, const std::string& name) {
  return command.add_option("--" + name)->expected(1);
}

CLI::Option* add_flag(CLI::App& command, const std::string& name) {
  // CLI11 lets a flag repeat and take --flag=VALUE: a repeat is refused, and so is any VALUE but
  // CLI11's default ("true", or empty), which leaves the flag set.
  return command.add_flag("--" + name)
      ->multi_option_policy(CLI::MultiOptionPolicy::Throw)
      ->disable_flag_override();
}

void add_secret_options(CLI::App& command, const std::string& prefix) {
  CLI::Option* text = add_value(command, prefix + "secret");
  CLI::Option* hex = add_value(command, prefix + "secret-hex");
  CLI::Option* file = add_value(command, prefix + "secret-file");
  CLI::Option* pkcs11 = add_value(command, prefix + "secret-pkcs11");
  text->excludes(hex)->excludes(file)->excludes(pkcs11);
  hex->excludes(file)->excludes(pkcs11);
  file->excludes(pkcs11);
}

CLI::Validator number_in(std::uint32_t min, std::uint32_t max, std::string rule) {
  if (rule.empty())
    rule = "must be a number from " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, rule](const std::string& value) -> std::string {
        const auto n = parse_number(value, max);
        return n && *n >= min ? std::string() : rule;
      },
      "");
}

CLI::Validator one_of(const std::vector<std::string>& choices) {
  std::string rule = "must be ";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i != 0) rule += i + 1 == choices.size() ? " or " : ", ";
    rule += choices[i];
  }
  return CLI::Validator(
      [choices, rule](const std::string& value) -> std::string {
        return std::find(choices.begin(), choices.end(), value) != choices.end() ? std::string()
                                                                                 : rule;
      },
      "");
}

CLI::Validator checked_by(std::function<std::string(const std::string&)> check) {
  return CLI::Validator(
      [check = std::move(check)](const std::string& value) { return check(value); }, "");
}

void set_usage(CLI::App& command, const char* usage) {
  command.formatter_fn([usage](const CLI::App*, const std::string&, CLI::AppFormatMode) {
    return std::string(usage);
  });
}

ParseOutcome parse_command_line(CLI::App& app, const char* usage, std::vector<std::string> args) {
  if (args.empty()) {
    std::cout << usage;
    return {nullptr, kExitUsage};
  }
  if (args[0] == "help") {  // "help" or "help COMMAND"
    const auto named = app.get_subcommands(
        [&](CLI::App* sub) { return args.size() == 2 && sub->get_name() == args[1]; });
    if (named.empty()) {
      std::cout << usage;
      return {nullptr, kExitOk};
    }
    args = {args[1], "--help"};
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    wipe_parsed_values(app);
    return {nullptr, kExitOk};
  } catch (const CLI::ParseError& e) {
    const CLI::App* command = selected_command(app);
    // A misspelt option explains more than what CLI11 then found missing or wrong.
    std::vector<std::string> extra = app.remaining(true);
    const auto unknown = std::find_if(extra.begin(), extra.end(), [](const std::string& arg) {
      return arg.size() > 1 && arg[0] == '-';
    });
    const int status = usage_error(command != nullptr && unknown != extra.end()
                                       ? describe_extra(*unknown, *command)
                                       : describe(e, command),
                                   command, usage);
    wipe_parsed_values(app);
    for (std::string& arg : extra) wipe(arg);
    for (std::string& arg : args) wipe(arg);
    return {nullptr, status};
  }
  for (std::string& arg : args) wipe(arg);
  CLI::App* command = selected_command(app);
  std::vector<std::string> extra = app.remaining(true);
  ParseOutcome outcome{command, kExitOk};
  if (command == nullptr && extra.empty()) {
    std::cout << usage;
    outcome.status = kExitUsage;
  } else if (command == nullptr) {
    outcome.status = usage_error("unknown command '" + extra.front() + "'", nullptr, usage);
  } else if (!extra.empty()) {
    outcome.status = usage_error(describe_extra(extra.front(), *command), command, usage);
  }
  for (std::string& arg : extra) wipe(arg);
  if (outcome.status != kExitOk) {
    wipe_parsed_values(app);
    outcome.command = nullptr;
  }
  return outcome;
}

}  // namespace multichap::cli
