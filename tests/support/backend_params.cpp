// SPDX-License-Identifier: BSD-2-Clause
#include "tests/support/backend_params.h"

#include <utility>

namespace multichap::test {

namespace {

// Stands in for a backend that could not be made: the test has already failed, and everything
// it then asks of this backend fails too.
class UnavailableBackend final : public HashBackend {
 public:
  explicit UnavailableBackend(std::string name) : m_name(std::move(name)) {}
  std::string_view name() const override { return m_name; }
  std::string version() const override { return "unavailable"; }
  bool supports(Algorithm) const override { return false; }
  Result<std::size_t> digest(Algorithm, std::initializer_list<ByteView>,
                             MutableByteView) const override {
    return make_error(ErrorKind::backend, "backend " + m_name + " could not be made");
  }
  Result<void> random(MutableByteView) const override {
    return make_error(ErrorKind::backend, "backend " + m_name + " could not be made");
  }

 private:
  std::string m_name;
};

}  // namespace

std::vector<std::string> backend_names() {
  std::vector<std::string> out;
  for (const auto& name : built_backends()) out.emplace_back(name);
  return out;
}

std::shared_ptr<const HashBackend> backend_or_fail(std::string_view name) {
  auto backend = name.empty() ? make_default_backend() : make_backend(name);
  if (!backend) {
    ADD_FAILURE() << "cannot make backend '" << name << "': " << backend.error().message;
    return std::make_shared<UnavailableBackend>(std::string(name));
  }
  return *backend;
}

}  // namespace multichap::test
