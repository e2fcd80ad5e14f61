// SPDX-License-Identifier: BSD-2-Clause
// The fleet's objects in etcd: one key per object under a prefix (default "/multichap/"), values
// JSON. docs/fleet.md documents the layout:
//   PREFIX accounts/NAME      {"secret_b64": "..."} or {"sealed": {"kid","iv","ct"}}
//   PREFIX identities/NAME    the same: the target's own CHAP_N and secret for mutual CHAP
//   PREFIX targets/IQN        {"initiators": "all" | [IQN...], "accounts": [NAME...],
//                              "identity": NAME, "algorithms": ["sha256", ...],
//                              "require_mutual": true, "auth": "chap" | "mutual" | "none"}
//   PREFIX discovery          like a target without "initiators" (absent: no authentication)
//   PREFIX guard/fail/p/SOURCE/NAME, guard/fail/s/SOURCE     failure counters (on leases)
//   PREFIX guard/lock/p/SOURCE/NAME, guard/lock/s/SOURCE     lockouts (on leases)
// NAME, IQN and SOURCE are percent-encoded: every byte outside [A-Za-z0-9._:@+-] becomes %XX, so
// a '/' in a name cannot reach another key. Parsing never throws and never trusts a value: a
// wrong or malformed value is reported with its key and skipped.
#ifndef MULTICHAP_STORE_FLEET_LAYOUT_H
#define MULTICHAP_STORE_FLEET_LAYOUT_H

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/algorithm.h"
#include "auth/crypto.h"
#include "auth/result.h"
#include "auth/secure.h"
#include "session/target_access.h"
#include "store/envelope.h"

namespace multichap::store {

inline constexpr std::string_view kAccountsDir = "accounts/";
inline constexpr std::string_view kIdentitiesDir = "identities/";
inline constexpr std::string_view kTargetsDir = "targets/";
inline constexpr std::string_view kDiscoveryKey = "discovery";
inline constexpr std::string_view kGuardDir = "guard/";

std::string encode_name(std::string_view name);
// Fails on a malformed escape.
Result<std::string> decode_name(std::string_view encoded);

// A secret's value: plain ({"secret_b64"}) or, with a key ring, sealed for key (the object's key
// relative to the prefix, bound in as associated data).
Result<std::string> secret_value(ByteView secret, const KeyRing* ring, std::string_view key);
// Reads a secret's value; a sealed one needs ring.
Result<Secret> parse_secret_value(std::string_view value, const KeyRing* ring,
                                  std::string_view key);

// A target (or the discovery's settings) as stored.
struct StoredTarget {
  bool allow_all = true;
  std::vector<std::string> initiators;
  std::string auth = "chap";  // "chap", "mutual" (require mutual CHAP) or "none"
  std::vector<std::string> accounts;
  std::optional<std::string> identity;
  std::vector<Algorithm> algorithms;  // empty: the default four
};
std::string target_value(const StoredTarget& target);
Result<StoredTarget> parse_target_value(std::string_view value);

// The store's objects by key relative to the prefix.
using Snapshot = std::map<std::string, std::string>;

struct BuiltAccess {
  std::shared_ptr<TargetAccess> access;
  std::vector<std::string> problems;  // "KEY: what" for every object skipped
};
// The targets, ACLs and accounts of a snapshot. An object that does not parse, a target naming a
// missing account or identity, or a target whose CHAP settings break the rules (checked against
// crypto: short secrets, one secret both ways, no usable algorithm) is skipped and reported.
BuiltAccess build_access(const Snapshot& snapshot, const KeyRing* ring, const ChapCrypto& crypto);

// The access of a fleet that has lost its store for longer than max_stale: the same targets, each
// requiring CHAP through a provider that always fails with why, so every login is answered 0x0201
// and logged with why (nobody is let in unchecked).
std::shared_ptr<TargetAccess> refusing_access(const TargetAccess& from, const std::string& why);

}  // namespace multichap::store

#endif  // MULTICHAP_STORE_FLEET_LAYOUT_H
