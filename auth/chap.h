// The CHAP exchange of the iSCSI security stage (RFC 7143 §12.1.3, RFC 1994), for both roles, as
// explicit state machines driven by transition tables. Each step() consumes the authentication
// keys the peer sent (AuthMethod, CHAP_*) and yields the keys to send back, or a typed failure.
// No I/O and no crypto library: digests and random bytes come through ChapCrypto.
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

// The outcome of an exchange so far.
enum class AuthStatus { in_progress, succeeded, failed };

// R = H(identifier || secret || challenge) (RFC 1994 §4.1), written to out; returns its size.
Result<std::size_t> chap_response(const ChapCrypto& crypto, Algorithm alg, std::uint8_t identifier,
                                  const Secret& secret, ByteView challenge, MutableByteView out);

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

// Checks a configuration against the RFC rules (secret lengths, one secret per direction,
// usable algorithms on crypto); the error names the rule.
Result<void> validate_config(const ChapInitiatorConfig& config, const ChapCrypto& crypto);
Result<void> validate_config(const ChapTargetConfig& config, const ChapCrypto& crypto);

// Events are derived from which authentication keys a received key set carries.
enum class ChapEvent : std::uint8_t {
  none,              // no authentication key at all
  auth_method,       // AuthMethod that selects (or offers) CHAP, or nothing acceptable
  auth_method_none,  // AuthMethod that settles on None
  algorithm_offer,   // CHAP_A alone (initiator -> target)
  challenge,         // CHAP_A, CHAP_I, CHAP_C (target -> initiator)
  response,          // CHAP_N, CHAP_R [, CHAP_I, CHAP_C]
  invalid,           // a mix that matches no step
};
std::string_view event_name(ChapEvent event);

// ---------------------------------------------------------------------------------------------
// Initiator side.
class ChapInitiator {
 public:
  enum class State : std::uint8_t {
    start,              // nothing sent yet
    await_auth_method,  // sent AuthMethod=CHAP
    await_challenge,    // sent CHAP_A
    responded,          // sent CHAP_N/CHAP_R (+ CHAP_I/CHAP_C when mutual)
    succeeded,          // the target accepted us (and, mutual, proved itself)
    failed,
  };
  using Action = Result<KeyList> (ChapInitiator::*)(const KeyList& received);
  struct Transition {
    State from;
    ChapEvent event;
    State to;
    Action action;
  };
  static const std::vector<Transition>& transitions();
  static std::string_view state_name(State state);

  // config and crypto are shared, immutable, and must outlive nothing in particular: the
  // exchange keeps them alive. Fails when validate_config() does.
  static Result<std::unique_ptr<ChapInitiator>> create(
      std::shared_ptr<const ChapInitiatorConfig> config, std::shared_ptr<const ChapCrypto> crypto);

  // Feeds the authentication keys received (none for the first call) and returns the keys to
  // send. On failure the machine moves to `failed` and stays there until reset().
  Result<KeyList> step(const KeyList& received);
  // Back to `start`: forgets the algorithm, identifiers and challenges (wiped). The offer set by
  // set_offer() stays.
  void reset();
  // Narrows the CHAP_A offer of the next exchanges to offer (in that order): a non-empty subset
  // of usable(), without duplicates. Anything else is a policy error and leaves the offer as it
  // was: the offer can never leave what the policy and the backend allow. Only in state `start`.
  Result<void> set_offer(std::vector<Algorithm> offer);
  // What we offer in CHAP_A, in preference order.
  const std::vector<Algorithm>& offer() const { return m_offer; }
  // Everything the policy allows and the backend computes, in preference order (the default
  // offer).
  const std::vector<Algorithm>& usable() const { return m_usable; }

  State state() const { return m_state; }
  AuthStatus status() const;
  std::optional<Algorithm> algorithm() const { return m_algorithm; }
  bool mutual() const { return m_config->target.has_value(); }
  // Whether the target skipped authentication (AuthMethod=None, allowed by policy).
  bool authenticated_none() const { return m_none; }
  const std::optional<Error>& failure() const { return m_failure; }
  // Bytes of the challenge we sent (mutual), for tests of freshness and wiping.
  ByteView issued_challenge() const { return ByteView(m_challenge.data(), m_challenge.size()); }

 private:
  ChapInitiator(std::shared_ptr<const ChapInitiatorConfig> config,
                std::shared_ptr<const ChapCrypto> crypto, std::vector<Algorithm> offer);
  Result<KeyList> send_auth_method(const KeyList& received);
  Result<KeyList> on_auth_method(const KeyList& received);
  Result<KeyList> on_auth_none(const KeyList& received);
  Result<KeyList> on_challenge(const KeyList& received);
  Result<KeyList> on_target_response(const KeyList& received);
  Result<KeyList> on_target_silent(const KeyList& received);
  Result<KeyList> nothing(const KeyList& received);
  ChapEvent classify(const KeyList& received) const;
  bool none_acceptable() const;
  void update_offer_text();

  std::shared_ptr<const ChapInitiatorConfig> m_config;
  std::shared_ptr<const ChapCrypto> m_crypto;
  std::vector<Algorithm> m_usable;
  std::vector<Algorithm> m_offer;
  std::string m_offer_text;  // m_offer as the CHAP_A value ("8,7")
  State m_state = State::start;
  std::optional<Algorithm> m_algorithm;
  std::uint8_t m_identifier = 0;  // the CHAP_I we sent (mutual)
  SecureBytes m_challenge;        // the CHAP_C we sent (mutual)
  BinaryEncoding m_encoding = BinaryEncoding::hex;
  bool m_none = false;
  std::optional<Error> m_failure;
};

// ---------------------------------------------------------------------------------------------
// Target side.
class ChapTarget {
 public:
  enum class State : std::uint8_t {
    await_auth_method,  // waiting for the initiator's AuthMethod offer
    await_algorithms,   // answered AuthMethod=CHAP, waiting for CHAP_A
    await_response,     // sent CHAP_A/CHAP_I/CHAP_C, waiting for CHAP_N/CHAP_R
    succeeded,
    failed,
  };
  using Action = Result<KeyList> (ChapTarget::*)(const KeyList& received);
  struct Transition {
    State from;
    ChapEvent event;
    State to;
    Action action;
  };
  static const std::vector<Transition>& transitions();
  static std::string_view state_name(State state);

  static Result<std::unique_ptr<ChapTarget>> create(std::shared_ptr<const ChapTargetConfig> config,
                                                    std::shared_ptr<const ChapCrypto> crypto);

  // As ChapInitiator::step. A failure's keys (AuthMethod=Reject, CHAP_A=Reject) are available
  // from reject_keys(); the engine sends them with status 0x0201.
  Result<KeyList> step(const KeyList& received);
  void reset();
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
  const ChapTargetConfig& config() const { return *m_config; }

  State state() const { return m_state; }
  AuthStatus status() const;
  std::optional<Algorithm> algorithm() const { return m_algorithm; }
  bool mutual() const { return m_mutual; }
  bool authenticated_none() const { return m_none; }
  // The CHAP_N the initiator proved, after success.
  const std::string& peer_name() const { return m_peer_name; }
  const std::optional<Error>& failure() const { return m_failure; }
  const KeyList& reject_keys() const { return m_reject; }
  ByteView issued_challenge() const { return ByteView(m_challenge.data(), m_challenge.size()); }
  std::uint8_t issued_identifier() const { return m_identifier; }

 private:
  ChapTarget(std::shared_ptr<const ChapTargetConfig> config,
             std::shared_ptr<const ChapCrypto> crypto, std::vector<Algorithm> usable);
  Result<KeyList> on_auth_method(const KeyList& received);
  Result<KeyList> on_auth_none(const KeyList& received);
  Result<KeyList> on_algorithm_offer(const KeyList& received);
  Result<KeyList> on_response(const KeyList& received);
  Result<KeyList> nothing(const KeyList& received);
  ChapEvent classify(const KeyList& received) const;
  // The secret CHAP_N must prove: from the accounts, else from the provider (checked like a
  // configured secret): a pointer into the accounts, or into holder for a provided secret.
  Result<const Secret*> find_account_secret(const std::string& chap_n,
                                            std::optional<Secret>& holder) const;

  std::shared_ptr<const ChapTargetConfig> m_config;
  std::shared_ptr<const ChapCrypto> m_crypto;
  std::vector<Algorithm> m_usable;
  State m_state = State::await_auth_method;
  std::optional<Algorithm> m_algorithm;
  std::uint8_t m_identifier = 0;
  SecureBytes m_challenge;
  bool m_mutual = false;
  bool m_none = false;
  std::string m_peer_name;
  std::string m_initiator_name;
  std::string m_target_name;
  bool m_discovery = false;
  // An answer of the provider fetched ahead of step() (supply_secret()).
  std::optional<std::string> m_supplied_name;
  std::optional<SecureBytes> m_supplied_secret;  // copyable (the C API copies exchanges)
  std::optional<Error> m_supplied_error;
  KeyList m_reject;
  std::optional<Error> m_failure;
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_CHAP_H
