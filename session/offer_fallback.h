// SPDX-License-Identifier: BSD-2-Clause
// Offer fallback: narrower CHAP_A offers for targets that cannot handle ours, and the process-wide
// memory of the offer that worked (docs/cli.md).
//
// Targets written when only MD5 existed break on a modern offer: Linux LIO before 3.15 fails any
// CHAP_A of more than one value, tgt and IET number SHA-1 as 7 (IANA: SHA-256) and refuse our
// SHA-256 answer with 0x0200, istgt answers a lone unknown value with 0x0201. OfferFallback is the
// plan the initiator follows when an attempt ends that way: given what the target refused, the
// next offer, always a subset of the allowed set (in its preference order), each step removing at
// least one possibility: every single value is offered at most once and the list narrows at most
// once, so the plan ends after at most (allowed algorithms) + 1 steps.
//
// Security: CHAP_A is not integrity-protected, so an active attacker can already make any login
// settle on any algorithm of the allowed set (by rewriting our offer or the target's choice).
// Narrowing the offer after a refusal gives such an attacker nothing new; the allowed set
// (--algs) is the real bound, and the fallback never leaves it. No state machine here: pure data.
#ifndef MULTICHAP_SESSION_OFFER_FALLBACK_H
#define MULTICHAP_SESSION_OFFER_FALLBACK_H

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/algorithm.h"

namespace multichap {

// How an attempt ended, as far as the offer is concerned.
enum class OfferRefusal : std::uint8_t {
  none,  // not about the offer: no fallback (wrong secret, unknown target, timeout...)
  // A failure status, or the connection closed, right after our CHAP_A (before any CHAP_R).
  after_offer,
  // 0x0200 right after our SHA-256 answer to a CHAP_A=7 in IANA numbering: the target probably
  // numbers SHA-1 as 7 (tgt, IET).
  sha256_as_7,
};

class OfferFallback {
 public:
  // allowed: the full offer in preference order (non-empty); the plan starts with it.
  explicit OfferFallback(std::vector<Algorithm> allowed);

  // The offer of the current attempt.
  const std::vector<Algorithm>& current() const { return m_current; }
  // Starts the plan from a remembered offer instead of the full one (it must be a subset of the
  // allowed set; otherwise it is ignored and false returned).
  bool start_from(const std::vector<Algorithm>& offer);
  // After the current offer was refused: the next, narrower offer (also made current), or nothing
  // when no narrower offer is left (or refusal is OfferRefusal::none).
  //   after_offer on a list  -> one algorithm at a time, in preference order;
  //   after_offer on one     -> that one is out; the next one alone;
  //   sha256_as_7            -> SHA-256 is out; the same offer without it (a list), or the next
  //                             one alone.
  std::optional<std::vector<Algorithm>> next(OfferRefusal refusal);
  unsigned steps() const { return m_steps; }

 private:
  std::optional<std::vector<Algorithm>> next_single();

  std::vector<Algorithm> m_allowed;
  std::vector<Algorithm> m_excluded;
  std::vector<Algorithm> m_current;
  unsigned m_steps = 0;
};

// The offer that worked, per portal and target, for the life of the process (so MC/S connections,
// re-logins and further sessions to the same target don't repeat the fallback). Thread-safe.
class OfferMemory {
 public:
  static OfferMemory& process();
  std::optional<std::vector<Algorithm>> find(const std::string& key) const;
  void remember(const std::string& key, std::vector<Algorithm> offer);
  void forget(const std::string& key);

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::vector<Algorithm>> m_offers;
};

// "8,7,6,5": CHAP_A numbers of offer in the given numbering (algorithms without a number left out).
std::string chap_a_list(const std::vector<Algorithm>& offer,
                        ChapNumbering numbering = ChapNumbering::iana);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_OFFER_FALLBACK_H
