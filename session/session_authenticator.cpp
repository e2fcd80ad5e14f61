// SPDX-License-Identifier: BSD-2-Clause
#include "session/session_authenticator.h"

#include <algorithm>

namespace multichap {

KeyList auth_keys_of(const KeyList& keys) {
  KeyList out;
  for (const auto& kv : keys) {
    if (is_auth_key(kv.key)) out.set(kv.key, kv.value);
  }
  return out;
}

namespace {
bool only_auth_keys(const KeyList& keys) {
  return std::all_of(keys.begin(), keys.end(),
                     [](const KeyValue& kv) { return is_auth_key(kv.key); });
}
}  // namespace

InitiatorAuthenticator::InitiatorAuthenticator(std::shared_ptr<const ChapInitiatorConfig> config,
                                               std::shared_ptr<const HashBackend> backend,
                                               std::unique_ptr<ChapInitiator> exchange)
    : m_config(std::move(config)), m_backend(std::move(backend)), m_exchange(std::move(exchange)) {}

Result<std::unique_ptr<InitiatorAuthenticator>> InitiatorAuthenticator::create(
    ChapInitiatorConfig config, std::shared_ptr<const HashBackend> backend) {
  return create(std::make_shared<const ChapInitiatorConfig>(std::move(config)), std::move(backend));
}

Result<std::unique_ptr<InitiatorAuthenticator>> InitiatorAuthenticator::create(
    std::shared_ptr<const ChapInitiatorConfig> config, std::shared_ptr<const HashBackend> backend) {
  MULTICHAP_ASSIGN_OR_RETURN(auto exchange, ChapInitiator::create(config, backend));
  return std::unique_ptr<InitiatorAuthenticator>(
      new InitiatorAuthenticator(std::move(config), std::move(backend), std::move(exchange)));
}

Result<void> InitiatorAuthenticator::set_offer(std::vector<Algorithm> offer) {
  m_exchange->reset();
  return m_exchange->set_offer(std::move(offer));
}

void InitiatorAuthenticator::rewind() {
  m_exchange->reset();
  ++m_rewinds;
}

Result<KeyList> InitiatorAuthenticator::step(const KeyList& received) {
  // Most steps carry auth keys only: no copy then.
  if (only_auth_keys(received)) return m_exchange->step(received);
  return m_exchange->step(auth_keys_of(received));
}

std::unique_ptr<InitiatorAuthenticator> InitiatorAuthenticator::for_connection() const {
  // The same validated configuration and offer, a fresh exchange: nothing to check again.
  return std::unique_ptr<InitiatorAuthenticator>(
      new InitiatorAuthenticator(m_config, m_backend, m_exchange->fresh()));
}

Result<std::unique_ptr<TargetAuthenticator>> TargetAuthenticator::create(
    std::shared_ptr<const ChapTargetConfig> config, std::shared_ptr<const HashBackend> backend) {
  MULTICHAP_ASSIGN_OR_RETURN(auto exchange,
                             ChapTarget::create(std::move(config), std::move(backend)));
  return std::unique_ptr<TargetAuthenticator>(new TargetAuthenticator(std::move(exchange)));
}

Result<KeyList> TargetAuthenticator::step(const KeyList& received) {
  if (only_auth_keys(received)) return m_exchange->step(received);
  return m_exchange->step(auth_keys_of(received));
}

}  // namespace multichap
