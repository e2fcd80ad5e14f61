// SPDX-License-Identifier: BSD-2-Clause
#include "auth/policy.h"

#include <algorithm>

namespace multichap {

ChapPolicy ChapPolicy::hardened() {
  ChapPolicy p;
  p.algorithms = {Algorithm::sha3_256, Algorithm::sha256};
  p.require_mutual = true;
  return p;
}

Result<void> validate_policy(const ChapPolicy& policy) {
  if (policy.algorithms.empty())
    return make_error(ErrorKind::usage, ErrorCode::policy_no_algorithm,
                      "policy allows no algorithm");
  for (std::size_t i = 0; i < policy.algorithms.size(); ++i) {
    if (std::find(policy.algorithms.begin(), policy.algorithms.begin() + static_cast<long>(i),
                  policy.algorithms[i]) != policy.algorithms.begin() + static_cast<long>(i)) {
      return make_error(ErrorKind::usage, ErrorCode::algorithm_listed_twice,
                        "policy lists an algorithm twice");
    }
  }
  if (policy.challenge_size < 16 || policy.challenge_size > kMaxChallengeBytes) {
    return make_error(ErrorKind::usage, ErrorCode::challenge_size_range,
                      "challenge size must be 16..1024 bytes");
  }
  if (policy.min_peer_challenge_size < 1 || policy.min_peer_challenge_size > kMaxChallengeBytes) {
    return make_error(ErrorKind::usage, ErrorCode::min_peer_challenge_range,
                      "minimum peer challenge size must be 1..1024 bytes");
  }
  return {};
}

std::vector<Algorithm> usable_algorithms(const ChapPolicy& policy, const ChapCrypto& crypto) {
  std::vector<Algorithm> out;
  for (const Algorithm alg : policy.algorithms) {
    if (crypto.supports(alg) && chap_a_number(alg, policy.numbering)) out.push_back(alg);
  }
  return out;
}

Result<void> check_secret(const Secret& secret, std::string_view role, const ChapPolicy& policy) {
  if (secret.empty())
    return make_error(ErrorKind::policy, ErrorCode::secret_empty, std::string(role) + " is empty");
  // A secret held by reference: its length as its holder tells it (0: not told, not checked).
  const std::size_t size =
      secret.reference() != nullptr ? secret.reference()->size() : secret.size();
  if (size < kMinSecretBytes && size != 0 && !policy.link_protected) {
    return make_error(ErrorKind::policy, ErrorCode::secret_too_short,
                      std::string(role) + " is " + std::to_string(size) +
                          " bytes; RFC 7143 §9.2.1 requires at least 12 bytes (96 bits) unless "
                          "the link is protected by IPsec");
  }
  return {};
}

}  // namespace multichap
