// SPDX-License-Identifier: BSD-2-Clause
// Parameterizing tests over every backend built into this binary (after Botan's "run every
// vector against every provider").
#ifndef MULTICHAP_TESTS_SUPPORT_BACKEND_PARAMS_H
#define MULTICHAP_TESTS_SUPPORT_BACKEND_PARAMS_H

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/hash_backend.h"

namespace multichap::test {

// Names of the built backends, as std::string for gtest parameters.
std::vector<std::string> backend_names();
// The named backend (empty: the default one). When it cannot be made, the running test fails
// (ADD_FAILURE, naming the backend and why) and a stand-in is returned whose every operation
// fails and which supports no algorithm, so the test ends in failures rather than a crash.
std::shared_ptr<const HashBackend> backend_or_fail(std::string_view name = {});

// Use as: INSTANTIATE_TEST_SUITE_P(AllBackends, Fixture, ::testing::ValuesIn(backend_names()),
//                                  BackendParamName{});
struct BackendParamName {
  std::string operator()(const ::testing::TestParamInfo<std::string>& info) const {
    return info.param;
  }
};

}  // namespace multichap::test

#endif
