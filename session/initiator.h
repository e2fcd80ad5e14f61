// SPDX-License-Identifier: BSD-2-Clause
// The initiator-side login engine: a session of one or more TCP connections to a target.
//
// login() performs the leading login in the shape of EDK2's IScsiSessionLogin: each attempt on a
// fresh TCP connection, the session authenticator rewound before the first key is sent, retries
// only after a timeout, a lost connection, a class-3 status or a redirect — never after a class-2
// status (the same request would fail the same way) nor after the target failed to prove itself.
// The one class-2 exception is the offer fallback (session/offer_fallback.h): a failure that shows
// the target could not handle our CHAP_A offer is retried, also on a fresh rewound connection,
// with a narrower offer inside the allowed set; the offer that worked is remembered per portal and
// target (InitiatorOptions::offer_memory) and used by later logins and by add_connection().
// A Discovery session can then ask for the targets with send_targets() (session/discovery.h).
// add_connection() adds a connection to the full-feature session (MC/S) with its own, separate
// CHAP exchange (InitiatorAuthenticator::for_connection()).
#ifndef MULTICHAP_SESSION_INITIATOR_H
#define MULTICHAP_SESSION_INITIATOR_H

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "session/offer_fallback.h"
#include "session/pdu.h"
#include "session/session_authenticator.h"
#include "session/transcript.h"
#include "session/transport.h"

namespace multichap {

struct DiscoveredTarget;  // session/discovery.h

struct InitiatorOptions {
  Endpoint portal;
  std::string target_name;  // required for SessionType=Normal
  std::string initiator_name = "iqn.2026-11.org.multichap:initiator";
  std::string session_type = "Normal";
  Millis connect_timeout{5000};
  Millis login_timeout{10000};  // deadline for each login response
  unsigned max_attempts = 3;    // leading-login attempts, first included
  Millis retry_delay{100};
  LogSink transcript;  // optional: attempts and every key exchanged (CHAP_R masked)
  // Optional: makes each connection instead of a TCP connect to portal (tests and fuzzers hand
  // in one end of a socketpair).
  std::function<Result<Connection>()> connector;
  // Offer fallback (session/offer_fallback.h): after an attempt that shows the target could not
  // handle our CHAP_A offer, retry on a fresh connection, authenticator rewound, with a narrower
  // offer inside the allowed set. Fallback attempts come on top of max_attempts.
  bool offer_fallback = true;
  // Where the offer that worked is remembered per portal and target; null: the process-wide
  // OfferMemory::process().
  std::shared_ptr<OfferMemory> offer_memory;
};

class InitiatorSession {
 public:
  // auth carries the session's CHAP configuration; the session owns it for its whole life.
  static Result<std::unique_ptr<InitiatorSession>> create(
      InitiatorOptions options, std::unique_ptr<InitiatorAuthenticator> auth);
  ~InitiatorSession();

  // Leading login with retries. On failure the error says why; last_status() holds the
  // target's status when it sent one. ErrorKind::authentication for 0x0201 or a target that
  // failed mutual authentication; rejected for other statuses; io/timeout when no attempt
  // got through.
  Result<void> login();
  // Adds a connection to the logged-in session (TSIH of the leading login); returns its CID.
  Result<std::uint16_t> add_connection();
  // On a logged-in Discovery session: one SendTargets=<what> text exchange (RFC 7143 §12.3),
  // following C=1 continuations (at most 1 MiB of text in 256 PDUs), parsed into targets
  // (session/discovery.h). A Reject PDU or a text response for another task is an error.
  Result<std::vector<DiscoveredTarget>> send_targets(std::string_view what = "All");
  // NOP-Out/NOP-In round trip on a connection (full feature phase check).
  Result<void> ping(std::uint16_t cid = 0);
  // Logs every connection out (non-leading ones first, then the session) and closes them.
  Result<void> logout();

  std::uint16_t tsih() const { return m_tsih; }
  const Isid& isid() const { return m_isid; }
  unsigned attempts() const { return m_attempts; }
  // How many narrower offers the fallback made during login().
  unsigned fallback_steps() const { return m_fallback_steps; }
  // The CHAP_A offer of the last leading-login attempt.
  const std::vector<Algorithm>& offer() const { return m_auth->offer(); }
  // The most recent failure status a target sent during login() (kept after a later attempt
  // succeeds, to tell why the retry was needed); empty if none was sent.
  std::optional<std::uint16_t> last_status() const { return m_last_status; }
  std::size_t connection_count() const { return m_connections.size(); }
  const KeyList& negotiated() const { return m_negotiated; }
  InitiatorAuthenticator& authenticator() { return *m_auth; }
  const InitiatorAuthenticator& authenticator() const { return *m_auth; }
  // The algorithm and mutual flag of the leading login.
  std::optional<Algorithm> algorithm() const { return m_auth->algorithm(); }
  bool mutual() const { return m_auth->mutual(); }

 private:
  struct Link {
    Connection conn;
    std::uint32_t exp_stat_sn = 0;
  };
  // Why an attempt failed, and whether another attempt may help.
  struct AttemptFailure {
    Error error;
    bool retry = false;
    std::optional<Endpoint> redirect;
    OfferRefusal refusal = OfferRefusal::none;
  };

  InitiatorSession(InitiatorOptions options, std::unique_ptr<InitiatorAuthenticator> auth,
                   Isid isid);
  // Runs one login on conn through auth (leading: TSIH 0).
  Result<void> login_on(Link& link, LoginAuthenticator& auth, bool leading, std::uint16_t cid,
                        std::optional<AttemptFailure>& failure);
  void note(const std::string& line) const;
  OfferMemory& memory() const;
  std::string memory_key() const;

  InitiatorOptions m_options;
  std::unique_ptr<InitiatorAuthenticator> m_auth;
  Isid m_isid{};
  std::uint16_t m_tsih = 0;
  std::uint32_t m_itt = 1;
  std::uint32_t m_cmd_sn = 1;
  std::uint16_t m_next_cid = 1;
  unsigned m_attempts = 0;
  unsigned m_fallback_steps = 0;
  std::optional<std::uint16_t> m_last_status;
  KeyList m_negotiated;
  std::map<std::uint16_t, Link> m_connections;  // by CID; 0 is the leading connection
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_INITIATOR_H
