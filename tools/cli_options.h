// A small option parser for the multichap CLI: "--name value" and "--name=value" pairs, flags,
// unknown options rejected with a usage error that names them.
#ifndef MULTICHAP_TOOLS_CLI_OPTIONS_H
#define MULTICHAP_TOOLS_CLI_OPTIONS_H

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "auth/result.h"

namespace multichap::cli {

class Options {
 public:
  // valued: options that take a value; flags: options that don't. Fails on anything else,
  // a missing value, or an option given twice.
  static Result<Options> parse(const std::vector<std::string>& args,
                               const std::set<std::string>& valued,
                               const std::set<std::string>& flags);

  bool has(const std::string& name) const {
    return m_values.count(name) != 0 || m_flags.count(name) != 0;
  }
  const std::string* get(const std::string& name) const;

 private:
  std::map<std::string, std::string> m_values;
  std::set<std::string> m_flags;
};

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_CLI_OPTIONS_H
