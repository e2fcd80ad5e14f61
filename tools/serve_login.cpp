// multichap serve / multichap login (placeholders until the login engine lands).
#include <iostream>

#include "tools/commands.h"

namespace multichap::cli {

int run_serve(const std::vector<std::string>&) {
  return report_error(make_error(ErrorKind::internal, "serve: not built yet"));
}

int run_login(const std::vector<std::string>&) {
  return report_error(make_error(ErrorKind::internal, "login: not built yet"));
}

}  // namespace multichap::cli
