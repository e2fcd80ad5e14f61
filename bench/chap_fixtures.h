// SPDX-License-Identifier: BSD-2-Clause
// Configurations for the CHAP state-machine benchmarks: one initiator account and a target
// identity, 16-byte secrets, mutual CHAP, a single allowed algorithm.
#ifndef MULTICHAP_BENCH_CHAP_FIXTURES_H
#define MULTICHAP_BENCH_CHAP_FIXTURES_H

#include <memory>

#include "auth/chap.h"
#include "bench/bench_util.h"

namespace multichap::bench {

inline constexpr char kInitiatorName[] = "iqn.2024-01.org.example:bench-initiator";
inline constexpr char kTargetName[] = "iqn.2024-01.org.example:bench-target";

inline ChapPolicy bench_policy(Algorithm alg) {
  ChapPolicy policy;
  policy.algorithms = {alg};
  policy.require_mutual = true;
  return policy;
}

inline ChapCredentials initiator_credentials() {
  return {kInitiatorName, Secret::from_bytes(filled_bytes(kSecretBytes, 11))};
}
inline ChapCredentials target_credentials() {
  return {kTargetName, Secret::from_bytes(filled_bytes(kSecretBytes, 12))};
}

inline std::shared_ptr<const ChapInitiatorConfig> bench_initiator_config(Algorithm alg) {
  auto config = std::make_shared<ChapInitiatorConfig>();
  config->local = initiator_credentials();
  config->target = target_credentials();
  config->policy = bench_policy(alg);
  return config;
}

inline std::shared_ptr<const ChapTargetConfig> bench_target_config(Algorithm alg) {
  auto config = std::make_shared<ChapTargetConfig>();
  config->accounts.push_back(initiator_credentials());
  config->local = target_credentials();
  config->policy = bench_policy(alg);
  return config;
}

}  // namespace multichap::bench

#endif  // MULTICHAP_BENCH_CHAP_FIXTURES_H
