// SPDX-License-Identifier: BSD-2-Clause
// The one set of CHAP identities the tests share: the target's and the initiator's iSCSI names,
// each side's CHAP user and secret (distinct and long enough for RFC 7143 §9.2.1), a secret that
// is neither, and the configurations built from them. Header-only, needing nothing but the
// library, so the libFuzzer targets (built without GoogleTest) use it too.
//
// The values are the ones the recorded session fuzz seeds carry (tests/fuzz/corpus/
// {target_login,initiator_login,pdu}, written by tests/session/fuzz_seeds_test.cpp): changing
// one means recording those seeds again.
#ifndef MULTICHAP_TESTS_SUPPORT_IDENTITIES_H
#define MULTICHAP_TESTS_SUPPORT_IDENTITIES_H

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/chap.h"

namespace multichap::test {

inline constexpr std::string_view kTargetIqn = "iqn.2026-11.org.multichap.fuzz:target";
inline constexpr std::string_view kInitiatorIqn = "iqn.2026-11.org.multichap.fuzz:initiator";
inline constexpr std::string_view kInitiatorUser = "fuzz-initiator";
inline constexpr std::string_view kInitiatorSecret = "fuzz-initiator-secret-01";
inline constexpr std::string_view kTargetUser = "fuzz-target";
inline constexpr std::string_view kTargetSecret = "fuzz-target-secret-0002";
inline constexpr std::string_view kWrongSecret = "not-the-right-secret-42";

inline ChapCredentials credentials(std::string_view name, std::string_view secret) {
  return ChapCredentials{std::string(name), Secret::from_text(secret)};
}

inline ChapPolicy policy_with(std::vector<Algorithm> algorithms) {
  ChapPolicy policy;
  policy.algorithms = std::move(algorithms);
  return policy;
}

// Every algorithm, strongest first (the default preference: CHAP_A=8,7,6,5).
inline std::vector<Algorithm> all_algorithms() {
  return std::vector<Algorithm>(kDefaultPreference.begin(), kDefaultPreference.end());
}

// An initiator that is kInitiatorUser/own_secret; mutual expects the target to prove
// kTargetUser/target_secret.
inline std::shared_ptr<ChapInitiatorConfig> initiator_config(
    bool mutual, ChapPolicy policy = {}, std::string_view own_secret = kInitiatorSecret,
    std::string_view target_secret = kTargetSecret) {
  auto config = std::make_shared<ChapInitiatorConfig>();
  config->local = credentials(kInitiatorUser, own_secret);
  if (mutual) config->target = credentials(kTargetUser, target_secret);
  config->policy = std::move(policy);
  return config;
}

// A target with the one account kInitiatorUser/initiator_secret; with_identity gives it its own
// CHAP identity kTargetUser/own_secret so it can answer an initiator's challenge.
inline std::shared_ptr<ChapTargetConfig> target_config(
    bool with_identity, ChapPolicy policy = {},
    std::string_view initiator_secret = kInitiatorSecret,
    std::string_view own_secret = kTargetSecret) {
  auto config = std::make_shared<ChapTargetConfig>();
  config->accounts.push_back(credentials(kInitiatorUser, initiator_secret));
  if (with_identity) config->local = credentials(kTargetUser, own_secret);
  config->policy = std::move(policy);
  return config;
}

}  // namespace multichap::test

#endif  // MULTICHAP_TESTS_SUPPORT_IDENTITIES_H
