// SPDX-License-Identifier: BSD-2-Clause
// What a CHAP exchange is configured with, for each role, and the configuration checked once:
// ValidChapConfig is created (fallibly) from a configuration and a crypto backend, and every
// exchange is then built from it without checking anything again (auth/chap.h).
#ifndef MULTICHAP_AUTH_CHAP_CONFIG_H
#define MULTICHAP_AUTH_CHAP_CONFIG_H

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/algorithm.h"
#include "auth/crypto.h"
#include "auth/policy.h"
#include "auth/result.h"
#include "auth/secret_provider.h"

namespace multichap {

// Configuration of an initiator for the life of a session.
struct ChapInitiatorConfig {
  ChapCredentials local;                  // our CHAP_N and the secret the target knows us by
  std::optional<ChapCredentials> target;  // when set: mutual CHAP; name is the expected CHAP_N
  ChapPolicy policy;
  // Whether this configuration authenticates with nothing at all: no local name or secret, no
  // target, and policy.allow_none. Such an initiator offers AuthMethod=None only (a discovery
  // session to a target that asks for no CHAP) and fails if the target asks for CHAP.
  bool none_only() const {
    return local.name.empty() && local.secret.empty() && !target && policy.allow_none;
  }
};

// Configuration of a target: the accounts it accepts and, for mutual CHAP, its own identity.
// A CHAP_N is looked up in accounts first, then (when set) through provider.
struct ChapTargetConfig {
  std::vector<ChapCredentials> accounts;           // initiator CHAP_N -> secret
  std::shared_ptr<const SecretProvider> provider;  // the embedder's account store (optional)
  std::optional<ChapCredentials> local;            // the target's CHAP_N and secret (mutual CHAP)
  ChapPolicy policy;
};

// Whether a and b are the same secret (RFC 7143 §9.2.1: the two directions must not share one).
// Secrets held as bytes are compared in constant time. With one or both held by reference (a
// token), the bytes are out of reach: H(0 || a || nonce) is compared with H(0 || b || nonce) for a
// fresh random nonce (from crypto), each digest computed where its secret lives, with the first
// of SHA-256, SHA3-256, SHA-1, MD5 that both can compute. Fails (policy) when none can, or as the
// digest or the generator fails.
Result<bool> same_secret(const ChapCrypto& crypto, const Secret& a, const Secret& b);

// Checks a configuration against the RFC rules (secret lengths, one secret per direction,
// usable algorithms on crypto); the error names the rule.
Result<void> validate_config(const ChapInitiatorConfig& config, const ChapCrypto& crypto);
Result<void> validate_config(const ChapTargetConfig& config, const ChapCrypto& crypto);

// A configuration that passed validate_config() against a crypto backend, with the algorithms
// the two allow (usable_algorithms(), in preference order). Immutable: share it (by
// shared_ptr<const>) between every exchange built from it, on any thread.
template <typename Config>
class ValidChapConfig {
 public:
  // Fails with a usage error when config or crypto is null, else as validate_config().
  static Result<std::shared_ptr<const ValidChapConfig>> create(
      std::shared_ptr<const Config> config, std::shared_ptr<const ChapCrypto> crypto);

  const Config& config() const { return *m_config; }
  const ChapCrypto& crypto() const { return *m_crypto; }
  const std::shared_ptr<const Config>& shared_config() const { return m_config; }
  const std::shared_ptr<const ChapCrypto>& shared_crypto() const { return m_crypto; }
  // What the policy allows, the backend computes and every secret held by reference computes
  // where it lives (a token), in preference order (never empty).
  const std::vector<Algorithm>& usable() const { return m_usable; }
  // Why each other algorithm the policy allows is left out for a secret held by reference, one
  // line each ("md5 not usable with the secret pkcs11:...: ..."), for a transcript or a log.
  const std::vector<std::string>& notes() const { return m_notes; }

 private:
  ValidChapConfig(std::shared_ptr<const Config> config, std::shared_ptr<const ChapCrypto> crypto,
                  std::vector<Algorithm> usable, std::vector<std::string> notes)
      : m_config(std::move(config)),
        m_crypto(std::move(crypto)),
        m_usable(std::move(usable)),
        m_notes(std::move(notes)) {}

  std::shared_ptr<const Config> m_config;
  std::shared_ptr<const ChapCrypto> m_crypto;
  std::vector<Algorithm> m_usable;
  std::vector<std::string> m_notes;
};

extern template class ValidChapConfig<ChapInitiatorConfig>;
extern template class ValidChapConfig<ChapTargetConfig>;
using ValidChapInitiatorConfig = ValidChapConfig<ChapInitiatorConfig>;
using ValidChapTargetConfig = ValidChapConfig<ChapTargetConfig>;

}  // namespace multichap

#endif  // MULTICHAP_AUTH_CHAP_CONFIG_H
