// SPDX-License-Identifier: BSD-2-Clause
// What a node allows during CHAP: algorithms and their order, challenge size, mutual CHAP,
// short secrets, and the credentials of each direction.
#ifndef MULTICHAP_AUTH_POLICY_H
#define MULTICHAP_AUTH_POLICY_H

#include <cstddef>
#include <string>
#include <vector>

#include "auth/algorithm.h"
#include "auth/crypto.h"
#include "auth/result.h"
#include "auth/secure.h"

namespace multichap {

// RFC 7143 §9.2.1: secrets under 96 bits need a protected link (IPsec).
inline constexpr std::size_t kMinSecretBytes = 12;
inline constexpr std::size_t kDefaultChallengeBytes = 32;
inline constexpr std::size_t kMaxChallengeBytes = 1024;

struct ChapPolicy {
  // Allowed algorithms. For an initiator, also its CHAP_A offer order; a target picks the first
  // value of the peer's offer that appears here (and that its backend supports).
  std::vector<Algorithm> algorithms{kDefaultPreference.begin(), kDefaultPreference.end()};
  ChapNumbering numbering = ChapNumbering::iana;
  // Bytes of each challenge we issue; never less than the negotiated digest size.
  std::size_t challenge_size = kDefaultChallengeBytes;
  // Shortest challenge we agree to answer.
  std::size_t min_peer_challenge_size = 16;
  // Target: refuse initiators that do not also authenticate the target.
  bool require_mutual = false;
  // Accept AuthMethod=None (target: let initiators skip CHAP; initiator: accept a target that
  // does not authenticate us, unless mutual CHAP is configured: then the target must prove itself).
  bool allow_none = false;
  // The link is otherwise protected (IPsec): secrets under 12 bytes are allowed.
  bool link_protected = false;

  // MD5 and SHA-1 off, mutual CHAP required.
  static ChapPolicy hardened();
};

// Checks the policy on its own; a usage error names the broken rule.
Result<void> validate_policy(const ChapPolicy& policy);

// The policy's algorithms that crypto can compute and the numbering can express, in order.
std::vector<Algorithm> usable_algorithms(const ChapPolicy& policy, const ChapCrypto& crypto);

// One CHAP identity: the name sent (or expected) as CHAP_N and its secret.
struct ChapCredentials {
  std::string name;
  Secret secret;
};

// Rejects (ErrorKind::policy) a secret shorter than 12 bytes unless the link is protected, and an
// empty one always. role names the secret in the message ("initiator secret for 'iqn...'").
Result<void> check_secret(const Secret& secret, std::string_view role, const ChapPolicy& policy);

}  // namespace multichap

#endif  // MULTICHAP_AUTH_POLICY_H
