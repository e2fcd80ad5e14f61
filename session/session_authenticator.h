// SPDX-License-Identifier: BSD-2-Clause
// Session-scoped CHAP authenticators (docs/ARCHITECTURE.md "The rewind, and session versus
// connection scope").
//
// The authenticator holds the configuration (names, secrets, policy, backend) for the session's
// life and the negotiated state of the current leading login only. rewind() at the start of each
// leading login (every retry included) forgets and wipes everything negotiated. Further
// connections of a full-feature session get their own exchange from for_connection(): fresh
// challenges, and the session's state is never touched. This is the EDK2 IScsiDxe data-model
// confusion (AuthType/AuthData per session, AuthStep per connection) fixed by construction.
#ifndef MULTICHAP_SESSION_SESSION_AUTHENTICATOR_H
#define MULTICHAP_SESSION_SESSION_AUTHENTICATOR_H

#include <memory>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "session/login_authenticator.h"

namespace multichap {

class InitiatorAuthenticator final : public LoginAuthenticator {
 public:
  // Validates config against backend (secret rules, usable algorithms).
  static Result<std::unique_ptr<InitiatorAuthenticator>> create(
      ChapInitiatorConfig config, std::shared_ptr<const HashBackend> backend);
  static Result<std::unique_ptr<InitiatorAuthenticator>> create(
      std::shared_ptr<const ChapInitiatorConfig> config,
      std::shared_ptr<const HashBackend> backend);

  void rewind() override;
  Result<KeyList> step(const KeyList& received) override;
  AuthStatus state() const override { return m_exchange->status(); }
  bool ready_to_transit() const override {
    return m_exchange->state() == ChapInitiator::State::responded ||
           state() == AuthStatus::succeeded;
  }
  std::optional<Algorithm> algorithm() const override { return m_exchange->algorithm(); }
  bool mutual() const override { return m_exchange->mutual() && state() == AuthStatus::succeeded; }

  // An independent authenticator for a non-leading login of this session (same configuration,
  // same CHAP_A offer). Cannot fail: the configuration was validated once, by create().
  std::unique_ptr<InitiatorAuthenticator> for_connection() const;

  // Narrows the CHAP_A offer of the following leading logins (see ChapInitiator::set_offer: a
  // subset of usable() or a policy error). Call it between attempts, before rewind().
  Result<void> set_offer(std::vector<Algorithm> offer);
  const std::vector<Algorithm>& offer() const { return m_exchange->offer(); }
  // The full offer: what the policy allows and the backend computes, in preference order.
  const std::vector<Algorithm>& usable() const { return m_exchange->usable(); }

  const ChapInitiator& exchange() const { return *m_exchange; }
  const ChapInitiatorConfig& config() const { return *m_config; }
  const HashBackend& backend() const { return *m_backend; }
  // How many times rewind() ran: one per leading-login attempt.
  unsigned rewinds() const { return m_rewinds; }

 private:
  InitiatorAuthenticator(std::shared_ptr<const ChapInitiatorConfig> config,
                         std::shared_ptr<const HashBackend> backend,
                         std::unique_ptr<ChapInitiator> exchange);
  std::shared_ptr<const ChapInitiatorConfig> m_config;
  std::shared_ptr<const HashBackend> m_backend;
  std::unique_ptr<ChapInitiator> m_exchange;
  unsigned m_rewinds = 0;
};

// Target side: one per login connection, created from the target's shared configuration.
class TargetAuthenticator final : public LoginAuthenticator {
 public:
  // Validates config against backend (ChapTarget::create).
  static Result<std::unique_ptr<TargetAuthenticator>> create(
      std::shared_ptr<const ChapTargetConfig> config, std::shared_ptr<const HashBackend> backend);
  // From a configuration validated once for every login (Target::create does it): cannot fail.
  explicit TargetAuthenticator(std::shared_ptr<const ValidChapTargetConfig> valid)
      : m_exchange(std::make_unique<ChapTarget>(std::move(valid))) {}

  void rewind() override { m_exchange->reset(); }
  Result<KeyList> step(const KeyList& received) override;
  AuthStatus state() const override { return m_exchange->status(); }
  bool ready_to_transit() const override { return state() == AuthStatus::succeeded; }
  std::optional<Algorithm> algorithm() const override { return m_exchange->algorithm(); }
  bool mutual() const override { return m_exchange->mutual(); }
  KeyList reject_keys() const override { return m_exchange->reject_keys(); }
  // Passed on to the secret provider (ChapTarget::set_login_context).
  void set_login_context(std::string initiator_name, std::string target_name, bool discovery) {
    m_exchange->set_login_context(std::move(initiator_name), std::move(target_name), discovery);
  }

  // Lookups of a slow secret provider run outside the engine (ChapTarget::needs_lookup).
  std::optional<std::string> needs_lookup(const KeyList& received) const {
    return m_exchange->needs_lookup(received);
  }
  void supply_secret(std::string chap_n, Result<std::optional<Secret>> found) {
    m_exchange->supply_secret(std::move(chap_n), std::move(found));
  }

  const ChapTarget& exchange() const { return *m_exchange; }

 private:
  explicit TargetAuthenticator(std::unique_ptr<ChapTarget> exchange)
      : m_exchange(std::move(exchange)) {}
  std::unique_ptr<ChapTarget> m_exchange;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_SESSION_AUTHENTICATOR_H
