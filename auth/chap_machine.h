// SPDX-License-Identifier: BSD-2-Clause
// The machine both CHAP roles are: a transition table (state, event -> state, action) that one
// driver runs, after s2n-tls, whose handshake drives the client and the server from one table.
// ChapMachine holds what both roles share (the driver step(), create(), status(), reset(), and
// the state of one exchange: algorithm, identifier and challenge issued, None, failure); each
// role (ChapInitiator, ChapTarget in auth/chap.h) brings its table, its classify() and its
// actions. Not thread-safe: one exchange at a time per object. Copyable (the C API steps a copy).
#ifndef MULTICHAP_AUTH_CHAP_MACHINE_H
#define MULTICHAP_AUTH_CHAP_MACHINE_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "auth/algorithm.h"
#include "auth/chap_config.h"
#include "auth/crypto.h"
#include "auth/result.h"
#include "auth/secure.h"
#include "auth/text.h"

namespace multichap {

// The outcome of an exchange so far.
enum class AuthStatus { in_progress, succeeded, failed };

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

// The protocol error of an event that no transition of state accepts ("unexpected CHAP response
// from the target in CHAP state start").
Error unexpected_event(ChapEvent event, std::string_view peer, std::string_view state);

// Role is the derived class (CRTP). It provides:
//   static const std::vector<Transition>& transitions();   its table
//   static std::string_view state_name(State);              for logs and errors
//   static constexpr std::string_view kPeer;                 "target" or "initiator"
//   ChapEvent classify(const KeyList&) const;                the event of a received key set
//   void reset_role();                                       forgets the role's own state
//   explicit Role(std::shared_ptr<const ValidChapConfig<Config>>);   infallible
// State must have a `failed` value, which no transition names: any failed action leads there.
template <typename Role, typename Config, typename StateT, StateT kStart>
class ChapMachine {
 public:
  using State = StateT;
  using Action = Result<KeyList> (Role::*)(const KeyList& received);
  struct Transition {
    State from;
    ChapEvent event;
    State to;
    Action action;
  };

  // Validates config against crypto (ValidChapConfig::create, which fails as validate_config()
  // does, or with a usage error when either is null) and builds an exchange from it. To build
  // many exchanges from one configuration, validate it once and construct Role from the result.
  static Result<std::unique_ptr<Role>> create(std::shared_ptr<const Config> config,
                                              std::shared_ptr<const ChapCrypto> crypto) {
    MULTICHAP_ASSIGN_OR_RETURN(
        auto valid, ValidChapConfig<Config>::create(std::move(config), std::move(crypto)));
    return std::make_unique<Role>(std::move(valid));
  }

  // Feeds the authentication keys received (none for the initiator's first call) and returns
  // the keys to send. On failure the machine moves to `failed`, wipes its challenge and stays
  // there until reset().
  Result<KeyList> step(const KeyList& received) {
    if (m_state == State::failed) {
      return make_error(ErrorKind::usage, ErrorCode::exchange_failed,
                        "CHAP exchange already failed; rewind before reuse");
    }
    Role& role = static_cast<Role&>(*this);
    const ChapEvent event = role.classify(received);
    const Transition* t = find_transition(m_state, event);
    Result<KeyList> out =
        t != nullptr
            ? (role.*(t->action))(received)
            : Result<KeyList>(unexpected_event(event, Role::kPeer, Role::state_name(m_state)));
    if (!out) {
      m_state = State::failed;
      m_failure = out.error();
      wipe(m_challenge);
      return out;
    }
    m_state = t->to;
    return out;
  }

  // Back to the start state: forgets the algorithm, identifier, challenge (wiped), None and the
  // failure, then the role's own state of the exchange.
  void reset() {
    m_state = kStart;
    m_algorithm.reset();
    m_identifier = 0;
    wipe(m_challenge);
    m_none = false;
    m_failure.reset();
    static_cast<Role&>(*this).reset_role();
  }

  State state() const { return m_state; }
  AuthStatus status() const {
    if (m_state == State::succeeded) return AuthStatus::succeeded;
    if (m_state == State::failed) return AuthStatus::failed;
    return AuthStatus::in_progress;
  }
  std::optional<Algorithm> algorithm() const { return m_algorithm; }
  // Whether the peer settled on AuthMethod=None (allowed by policy).
  bool authenticated_none() const { return m_none; }
  const std::optional<Error>& failure() const { return m_failure; }
  // The challenge we issued (the target always, the initiator when mutual) and its identifier,
  // for tests of freshness and wiping.
  ByteView issued_challenge() const { return ByteView(m_challenge.data(), m_challenge.size()); }
  std::uint8_t issued_identifier() const { return m_identifier; }

 protected:
  ChapMachine() = default;

  State m_state = kStart;
  std::optional<Algorithm> m_algorithm;
  std::uint8_t m_identifier = 0;  // the CHAP_I we issued
  SecureBytes m_challenge;        // the CHAP_C we issued
  bool m_none = false;
  std::optional<Error> m_failure;

 private:
  static const Transition* find_transition(State state, ChapEvent event) {
    for (const Transition& t : Role::transitions()) {
      if (t.from == state && t.event == event) return &t;
    }
    return nullptr;
  }
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_CHAP_MACHINE_H
