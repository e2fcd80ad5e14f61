// SPDX-License-Identifier: BSD-2-Clause
#include <gtest/gtest.h>

#include "backends/hash_backend.h"
#include "tests/support/result_matchers.h"

namespace multichap {
namespace {

TEST(Registry, ListsBuiltBackendsAndMakesEach) {
  ASSERT_FALSE(built_backends().empty());
  EXPECT_EQ(default_backend_name(), built_backends().front());
  for (const auto& name : built_backends()) {
    auto backend = make_backend(name);
    ASSERT_TRUE(backend) << name;
    EXPECT_EQ((*backend)->name(), name);
    EXPECT_FALSE((*backend)->version().empty());
    EXPECT_EQ(make_backend(name)->get(), backend->get()) << "backends are singletons";
  }
}

TEST(Registry, UnknownNameIsAUsageError) {
  auto backend = make_backend("gnutls");
  ASSERT_FALSE(backend);
  EXPECT_THAT(backend, test::ResultIs(ErrorKind::usage, ErrorCode::backend_unknown));
}

TEST(Registry, UnbuiltNameSaysSo) {
  for (const char* name : {"openssl", "botan"}) {
    bool built = false;
    for (const auto& b : built_backends()) built |= b == name;
    if (built) continue;
    auto backend = make_backend(name);
    ASSERT_FALSE(backend);
    EXPECT_THAT(backend, test::ResultIs(ErrorKind::usage, ErrorCode::backend_not_built));
  }
}

}  // namespace
}  // namespace multichap
