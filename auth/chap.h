// SPDX-License-Identifier: BSD-2-Clause
// The CHAP exchange of the iSCSI security stage (RFC 7143 §12.1.3, RFC 1994), for both roles, as
// explicit state machines driven by transition tables. Each step() consumes the authentication
// keys the peer sent (AuthMethod, CHAP_*) and yields the keys to send back, or a typed failure.
// No I/O and no crypto library: digests and random bytes come through ChapCrypto.
//
// The two roles share one driver (auth/chap_machine.h) and are built from a configuration
// checked once (ValidChapConfig, auth/chap_config.h). Sources: auth/chap_response.cpp (the
// response arithmetic and what both roles use), auth/chap_initiator.cpp, auth/chap_target.cpp.
#ifndef MULTICHAP_AUTH_CHAP_H
#define MULTICHAP_AUTH_CHAP_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/algorithm.h"
#include "auth/chap_config.h"
#include "auth/chap_machine.h"
#include "auth/crypto.h"
#include "auth/encoding.h"
#include "auth/policy.h"
#include "auth/result.h"
#include "auth/secret_provider.h"
#include "auth/secure.h"
#include "auth/text.h"

namespace multichap {

// Keys that belong to the authentication exchange: AuthMethod and every CHAP_* key.
bool is_auth_key(std::string_view key);

// R = H(identifier || secret || challenge) (RFC 1994 §4.1), written to out; returns its size.
// A secret held by reference is computed where it lives (ChapCrypto::digest_with_secret).
inline Result<std::size_t> chap_response(const ChapCrypto& crypto, Algorithm alg,
                                         std::uint8_t identifier, const Secret& secret,
                                         ByteView challenge, MutableByteView out) {
  const std::uint8_t id[1] = {identifier};
  return crypto.digest_with_secret(alg, ByteView(id, 1), secret, challenge, out);
}

// ---------------------------------------------------------------------------------------------
// Initiator side.
enum class ChapInitiatorState : std::uint8_t {
  start,              // nothing sent yet
  await_auth_method,  // sent AuthMethod=CHAP
  await_challenge,    // sent CHAP_A
  responded,          // sent CHAP_N/CHAP_R (+ CHAP_I/CHAP_C when mutual)
  succeeded,          // the target accepted us (and, mutual, proved itself)
  failed,
};

class ChapInitiator final : public ChapMachine<ChapInitiator, ChapInitiatorConfig,
                                               ChapInitiatorState, ChapInitiatorState::start> {
 public:
  static constexpr std::string_view kPeer = "target";
  static const std::vector<Transition>& transitions();
  static std::string_view state_name(State state);

  // create(config, crypto) (from ChapMachine) validates config and fails as validate_config()
  // does. This constructor cannot fail: valid (not null) was checked once, for every exchange
  // built from it. The exchange keeps the configuration and the backend alive.
  explicit ChapInitiator(std::shared_ptr<const ValidChapInitiatorConfig> valid);
  // A new exchange in state `start` with this one's configuration and CHAP_A offer (a further
  // connection of the session). Cannot fail.
  std::unique_ptr<ChapInitiator> fresh() const;

  // step() and reset() come from ChapMachine. reset() goes back to `start`: it forgets the
  // algorithm, identifiers and challenges (wiped); the offer set by set_offer() stays.

  // Narrows the CHAP_A offer of the next exchanges to offer (in that order): a non-empty subset
  // of usable(), without duplicates. Anything else is a policy error and leaves the offer as it
  // was: the offer can never leave what the policy and the backend allow. Only in state `start`.
  Result<void> set_offer(std::vector<Algorithm> offer);
  // What we offer in CHAP_A, in preference order.
  const std::vector<Algorithm>& offer() const { return m_offer; }
  // Everything the policy allows and the backend computes, in preference order (the default
  // offer).
  const std::vector<Algorithm>& usable() const { return m_valid->usable(); }

  bool mutual() const { return config().target.has_value(); }

 private:
  friend class ChapMachine<ChapInitiator, ChapInitiatorConfig, ChapInitiatorState,
                           ChapInitiatorState::start>;
  Result<KeyList> send_auth_method(const KeyList& received);
  Result<KeyList> on_auth_method(const KeyList& received);
  Result<KeyList> on_auth_none(const KeyList& received);
  Result<KeyList> on_challenge(const KeyList& received);
  Result<KeyList> on_target_response(const KeyList& received);
  Result<KeyList> on_target_silent(const KeyList& received);
  Result<KeyList> nothing(const KeyList& received);
  ChapEvent classify(const KeyList& received) const;
  void reset_role() { m_encoding = BinaryEncoding::hex; }
  bool none_acceptable() const;
  void update_offer_text();
  const ChapInitiatorConfig& config() const { return m_valid->config(); }
  const ChapCrypto& crypto() const { return m_valid->crypto(); }

  std::shared_ptr<const ValidChapInitiatorConfig> m_valid;
  std::vector<Algorithm> m_offer;
  std::string m_offer_text;  // m_offer as the CHAP_A value ("8,7")
  BinaryEncoding m_encoding = BinaryEncoding::hex;
};

// ---------------------------------------------------------------------------------------------
// Target side.
enum class ChapTargetState : std::uint8_t {
  await_auth_method,  // waiting for the initiator's AuthMethod offer
  await_algorithms,   // answered AuthMethod=CHAP, waiting for CHAP_A
  await_response,     // sent CHAP_A/CHAP_I/CHAP_C, waiting for CHAP_N/CHAP_R
  succeeded,
  failed,
};

class ChapTarget final : public ChapMachine<ChapTarget, ChapTargetConfig, ChapTargetState,
                                            ChapTargetState::await_auth_method> {
 public:
  static constexpr std::string_view kPeer = "initiator";
  static const std::vector<Transition>& transitions();
  static std::string_view state_name(State state);

  // As ChapInitiator: create(config, crypto) validates, this constructor cannot fail.
  explicit ChapTarget(std::shared_ptr<const ValidChapTargetConfig> valid);

  // step() as ChapInitiator's. A failure's keys (AuthMethod=Reject, CHAP_A=Reject) are available
  // from reject_keys(); the engine sends them with status 0x0201.

  // What the engine knows about the login (InitiatorName, TargetName, SessionType), passed to the
  // secret provider. Kept across reset(): it belongs to the connection, not to the exchange.
  void set_login_context(std::string initiator_name, std::string target_name, bool discovery);
  // Whether step(received) would ask the secret provider: a response whose CHAP_N is not among
  // the accounts, with a provider configured and no answer supplied for it yet. An engine on an
  // event loop then runs the lookup elsewhere (a slow store must not stall the loop) and hands
  // the outcome to supply_secret() before calling step(). Returns the CHAP_N to look up.
  std::optional<std::string> needs_lookup(const KeyList& received) const;
  // The provider's answer for chap_n (a secret, "no such account", or the lookup's error),
  // used by the next step() instead of calling the provider. Cleared by reset().
  void supply_secret(std::string chap_n, Result<std::optional<Secret>> found);
  // The query a lookup for chap_n makes (views into this object and chap_n).
  AccountQuery account_query(std::string_view chap_n) const {
    return AccountQuery{chap_n, m_initiator_name, m_target_name, m_discovery};
  }
  const ChapTargetConfig& config() const { return m_valid->config(); }

  bool mutual() const { return m_mutual; }
  // The CHAP_N the initiator proved, after success.
  const std::string& peer_name() const { return m_peer_name; }
  const KeyList& reject_keys() const { return m_reject; }

 private:
  friend class ChapMachine<ChapTarget, ChapTargetConfig, ChapTargetState,
                           ChapTargetState::await_auth_method>;
  Result<KeyList> on_auth_method(const KeyList& received);
  Result<KeyList> on_auth_none(const KeyList& received);
  Result<KeyList> on_algorithm_offer(const KeyList& received);
  Result<KeyList> on_response(const KeyList& received);
  Result<KeyList> nothing(const KeyList& received);
  ChapEvent classify(const KeyList& received) const;
  void reset_role();
  // The secret CHAP_N must prove: from the accounts, else from the provider (checked like a
  // configured secret): a pointer into the accounts, or into holder for a provided secret.
  Result<const Secret*> find_account_secret(const std::string& chap_n,
                                            std::optional<Secret>& holder) const;
  const ChapCrypto& crypto() const { return m_valid->crypto(); }

  std::shared_ptr<const ValidChapTargetConfig> m_valid;
  bool m_mutual = false;
  std::string m_peer_name;
  std::string m_initiator_name;
  std::string m_target_name;
  bool m_discovery = false;
  // An answer of the provider fetched ahead of step() (supply_secret()).
  std::optional<std::string> m_supplied_name;
  std::optional<SecureBytes> m_supplied_secret;  // copyable (the C API copies exchanges)
  std::shared_ptr<const KeyReference> m_supplied_reference;  // or a secret held by reference
  std::optional<Error> m_supplied_error;
  KeyList m_reject;
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_CHAP_H
