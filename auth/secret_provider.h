// SPDX-License-Identifier: BSD-2-Clause
// SecretProvider: where a target finds the secret that an initiator's CHAP_N must prove. A target
// with thousands of hosts, or with its accounts in its own store (a database, a directory, a C
// embedder's callback), implements this instead of listing every account in ChapTargetConfig.
#ifndef MULTICHAP_AUTH_SECRET_PROVIDER_H
#define MULTICHAP_AUTH_SECRET_PROVIDER_H

#include <optional>
#include <string_view>
#include <vector>

#include "auth/policy.h"
#include "auth/result.h"
#include "auth/secure.h"

namespace multichap {

// What the target knows about a login when it asks for a secret. The views are valid only for
// the duration of the call.
struct AccountQuery {
  std::string_view chap_n;          // the name the initiator sent in CHAP_N (opaque text)
  std::string_view initiator_name;  // InitiatorName of the login, "" when the engine gave none
  std::string_view target_name;     // TargetName ("" in a discovery session)
  bool discovery = false;           // SessionType=Discovery
};

class SecretProvider {
 public:
  virtual ~SecretProvider() = default;

  // The secret the initiator called query.chap_n must prove; std::nullopt when there is no such
  // account; an error when the lookup itself failed (store unreachable, timed out). Either of the
  // last two ends the login with an authentication failure (0x0201); the error's message goes to
  // the local log only. Called from whichever thread runs the login: implementations must be
  // thread-safe. The returned secret is checked against the RFC 7143 §9.2.1 rules (length, one
  // secret per direction) like a configured one.
  virtual Result<std::optional<Secret>> find_secret(const AccountQuery& query) const = 0;
};

// A fixed set of accounts held in wiping memory. Immutable after construction.
class InMemorySecretProvider final : public SecretProvider {
 public:
  explicit InMemorySecretProvider(std::vector<ChapCredentials> accounts)
      : m_accounts(std::move(accounts)) {}

  Result<std::optional<Secret>> find_secret(const AccountQuery& query) const override;

 private:
  std::vector<ChapCredentials> m_accounts;
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_SECRET_PROVIDER_H
