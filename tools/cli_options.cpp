#include "tools/cli_options.h"

namespace multichap::cli {

Result<Options> Options::parse(const std::vector<std::string>& args,
                               const std::set<std::string>& valued,
                               const std::set<std::string>& flags) {
  Options out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0)
      return make_error(ErrorKind::usage, "unexpected argument '" + arg + "'");
    std::string name = arg.substr(2);
    std::string value;
    bool has_inline_value = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline_value = true;
    }
    if (out.has(name)) return make_error(ErrorKind::usage, "option --" + name + " given twice");
    if (flags.count(name) != 0) {
      if (has_inline_value)
        return make_error(ErrorKind::usage, "option --" + name + " takes no value");
      out.m_flags.insert(name);
    } else if (valued.count(name) != 0) {
      if (!has_inline_value) {
        if (i + 1 >= args.size())
          return make_error(ErrorKind::usage, "option --" + name + " needs a value");
        value = args[++i];
      }
      out.m_values[name] = value;
    } else {
      return make_error(ErrorKind::usage, "unknown option --" + name);
    }
  }
  return out;
}

const std::string* Options::get(const std::string& name) const {
  const auto it = m_values.find(name);
  return it == m_values.end() ? nullptr : &it->second;
}

}  // namespace multichap::cli
