// SPDX-License-Identifier: BSD-2-Clause
// Operational parameter negotiation of the login phase (RFC 7143 §6.2, §13), as a table of key
// rules: declarative keys are recorded, list keys answered with the first supported value,
// boolean keys with OR/AND, numeric keys with min/max. Unknown keys get NotUnderstood.
#ifndef MULTICHAP_SESSION_OPERATIONAL_H
#define MULTICHAP_SESSION_OPERATIONAL_H

#include <string>
#include <string_view>

#include "auth/result.h"
#include "auth/text.h"

namespace multichap {

// Whether a key is a declaration that gets no answer (InitiatorName, TargetAlias...).
bool is_declarative_key(std::string_view key);

// What we propose as an initiator: connection-level keys always, session-level (leading-only)
// keys on a leading login.
KeyList initiator_operational_offer(bool leading);

// Answers every negotiable key in received (auth keys and declaratives excluded) the way a
// responder must, and records the outcome in negotiated. Leading-only keys on a non-leading
// login are answered Irrelevant. Never fails: bad values are answered Reject.
KeyList answer_operational(const KeyList& received, bool leading, KeyList& negotiated);
// The same answers appended to out, which must hold none of received's negotiable keys (it may
// hold auth keys), and recorded in *negotiated unless that is null (a target has no use for the
// record: it answers and forgets).
void append_operational_answers(const KeyList& received, bool leading, KeyList& out,
                                KeyList* negotiated);

// Checks the target's answers to what we offered (e.g. a digest we can't do) and records them.
// A protocol error if the target picked a value we did not offer or one the key's selection rule
// does not admit (a minimum above our offer, No to our Yes for an OR key; RFC 7143 §6.2.2).
// Reserved answers (Reject, Irrelevant, NotUnderstood) are not recorded.
Result<void> check_operational_answers(const KeyList& offered, const KeyList& received,
                                       KeyList& negotiated);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_OPERATIONAL_H
