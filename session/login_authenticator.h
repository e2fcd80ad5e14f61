// SPDX-License-Identifier: BSD-2-Clause
// LoginAuthenticator: what a login engine calls during the iSCSI security stage (RFC 7143 §6.3.2).
// Our engines use it, and so can an initiator's or target's own engine: feed it the
// authentication keys of each received login PDU, send what it returns, ask it the outcome.
//
// Contract for an engine:
//   1. At the start of every leading login (each retry included) call rewind(). For a further
//      connection of an existing session (TSIH != 0) use a separate authenticator instead
//      (InitiatorAuthenticator::for_connection()), so the session's own state is left alone.
//   2. Initiator: call step({}) to get the first keys (AuthMethod=...), then step(received) with
//      the auth keys (is_auth_key()) of every login response of the security stage.
//      Target: call step(received) with the auth keys of every login request.
//   3. After a step fails, stop: the target answers status 0x0201 (with reject_keys(), if any) and
//      the initiator closes the connection. The error's message is for the local log only.
//   4. Leave the security stage only when state() == AuthStatus::succeeded.
#ifndef MULTICHAP_SESSION_LOGIN_AUTHENTICATOR_H
#define MULTICHAP_SESSION_LOGIN_AUTHENTICATOR_H

#include <optional>

#include "auth/chap.h"
#include "auth/result.h"
#include "auth/text.h"

namespace multichap {

class LoginAuthenticator {
 public:
  virtual ~LoginAuthenticator() = default;
  // Clears all negotiated state (algorithm, identifiers, challenges sent and received, step) and
  // wipes challenge bytes. Configuration (names, secrets, policy) stays.
  virtual void rewind() = 0;
  // Security-stage keys in, keys to send out. Only auth keys are read; others are ignored.
  virtual Result<KeyList> step(const KeyList& received) = 0;
  virtual AuthStatus state() const = 0;
  // Initiator: whether our side has said everything (CHAP_R sent), so the next request may ask
  // to leave the security stage (T=1). Target: whether authentication succeeded.
  virtual bool ready_to_transit() const = 0;
  // The negotiated algorithm, once chosen.
  virtual std::optional<Algorithm> algorithm() const = 0;
  // Whether both sides authenticated each other.
  virtual bool mutual() const = 0;
  // Keys to send alongside a failure status (AuthMethod=Reject, CHAP_A=Reject), if any.
  virtual KeyList reject_keys() const { return KeyList{}; }
};

// Returns the auth keys (AuthMethod, CHAP_*) of a key list.
KeyList auth_keys_of(const KeyList& keys);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_LOGIN_AUTHENTICATOR_H
