#include "tests/support/backend_params.h"

#include <cstdlib>
#include <iostream>

namespace multichap::test {

std::vector<std::string> backend_names() {
  std::vector<std::string> out;
  for (const auto name : built_backends()) out.emplace_back(name);
  return out;
}

std::shared_ptr<const HashBackend> backend_or_die(const std::string& name) {
  auto backend = make_backend(name);
  if (!backend) {
    std::cerr << "cannot make backend " << name << ": " << backend.error().message << "\n";
    std::abort();
  }
  return *backend;
}

}  // namespace multichap::test
