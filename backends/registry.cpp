// SPDX-License-Identifier: BSD-2-Clause
// The one place that knows which backends were compiled in (MULTICHAP_HAVE_* come from CMake).
#include "backends/hash_backend.h"
#include "backends/raw_digest.h"

#if MULTICHAP_HAVE_OPENSSL
#include "backends/openssl/openssl_backend.h"
#endif
#if MULTICHAP_HAVE_BOTAN
#include "backends/botan/botan_backend.h"
#endif

namespace multichap {

namespace {

struct Entry {
  std::string_view name;
  std::shared_ptr<const HashBackend> (*make)();
  std::unique_ptr<RawDigest> (*make_raw)(Algorithm);
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
#if MULTICHAP_HAVE_OPENSSL
    {"openssl", &make_openssl_backend, &make_openssl_raw_digest},
#endif
#if MULTICHAP_HAVE_BOTAN
    {"botan", &make_botan_backend, &make_botan_raw_digest},
#endif
  };
  return list;
}

}  // namespace

const std::vector<std::string_view>& built_backends() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const auto& e : entries()) out.push_back(e.name);
    return out;
  }();
  return names;
}

std::string_view default_backend_name() {
  return entries().front().name;
}

Result<std::shared_ptr<const HashBackend>> make_backend(std::string_view name) {
  for (const auto& e : entries()) {
    if (e.name == name) return e.make();
  }
  std::string built;
  for (const auto& e : entries()) built += (built.empty() ? "" : ", ") + std::string(e.name);
  const bool known = name == "openssl" || name == "botan";
  return make_error(
      ErrorKind::usage, known ? ErrorCode::backend_not_built : ErrorCode::backend_unknown,
      "backend '" + std::string(name) + "' " +
          (known ? "was not built into this binary" : "is unknown") + " (built: " + built + ")");
}

std::unique_ptr<RawDigest> make_raw_digest(std::string_view name, Algorithm alg) {
  for (const auto& e : entries()) {
    if (e.name == name) return e.make_raw(alg);
  }
  return nullptr;
}

Result<std::shared_ptr<const HashBackend>> make_default_backend() {
  return make_backend(default_backend_name());
}

}  // namespace multichap
