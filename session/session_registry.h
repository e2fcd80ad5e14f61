// SPDX-License-Identifier: BSD-2-Clause
// The target's sessions (RFC 7143 §6.3.1: ISID, TSIH, connections by CID) and its counters,
// shared by every connection. Thread-safe (one mutex); holds no socket, thread or clock.
#ifndef MULTICHAP_SESSION_SESSION_REGISTRY_H
#define MULTICHAP_SESSION_SESSION_REGISTRY_H

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "auth/result.h"
#include "session/pdu.h"

namespace multichap {

struct TargetStats {
  std::uint64_t connections = 0;
  std::uint64_t logins_succeeded = 0;
  std::uint64_t logins_failed = 0;
  std::uint64_t logouts = 0;
  // Connections closed or refused by a limit (TargetOptions): each limit also logs once.
  std::uint64_t login_deadline_closed = 0;
  std::uint64_t evicted_per_source = 0;       // gave way to a newer one from their address
  std::uint64_t evicted_unauthenticated = 0;  // gave way to a newer one (all sources full)
  std::uint64_t refused_total = 0;
  // Access and discovery.
  std::uint64_t logins_unauthorized = 0;  // authenticated, outside the target's ACL (0x0202)
  std::uint64_t send_targets = 0;         // SendTargets requests answered
  std::uint64_t lookups_failed = 0;       // secret lookups that failed or timed out (0x0201)
  // The brute-force defence (LoginGuard): failed logins answered late, lockouts started, and
  // (filled in by Target::stats()) the guard's own counters.
  std::uint64_t answers_delayed = 0;
  std::uint64_t lockouts = 0;
  std::uint64_t guard_failures = 0;
  std::uint64_t guard_refused_locked = 0;
  std::uint64_t guard_evictions = 0;
  std::uint64_t guard_entries = 0;  // counters held now (bounded by max_entries per table)
  // The secret arena (auth/secure.h) of the process, filled in by Target::stats(): where the
  // secrets, challenges and lookup buffers of every target in the process live.
  std::uint64_t secret_bytes_in_use = 0;
  std::uint64_t secret_bytes_mapped = 0;
  std::uint64_t secret_bytes_locked = 0;  // < secret_bytes_mapped: swappable (RLIMIT_MEMLOCK)
  std::uint64_t secret_lock_failures = 0;
};

// One connection's place in a session, handed out by join() and given back to leave(). The token
// is unique to the connection: it tells a connection apart from the one that took over its CID.
struct SessionSeat {
  std::uint16_t tsih = 0;
  std::uint16_t cid = 0;
  std::uint64_t token = 0;
};

// What join() did: the new connection's seat, and the connections it displaced, by token: every
// connection of a session it reinstated (RFC 7143 §6.3.5), or the one whose CID it took over
// (connection reinstatement, §6.3.4). Their drivers must close them; the registry has already
// forgotten them.
struct SessionJoin {
  SessionSeat seat;
  std::vector<std::uint64_t> displaced;
};

class SessionRegistry {
 public:
  explicit SessionRegistry(std::uint16_t max_connections_per_session)
      : m_max_per_session(max_connections_per_session) {}

  // A non-leading login (TSIH != 0) may proceed: the session exists for this ISID and initiator
  // and has room for one more connection. The error is the status to answer with.
  Result<void> check_join(const Isid& isid, const std::string& initiator_name,
                          std::uint16_t tsih) const;
  // Registers a connection that reached full feature phase. Leading: creates the session with a
  // new TSIH (a session with the same ISID and initiator is reinstated: replaced, its connections
  // displaced). Non-leading: adds cid to session tsih (a cid already there is connection
  // reinstatement: that connection is displaced).
  Result<SessionJoin> join(const Isid& isid, const std::string& initiator_name, bool leading,
                           std::uint16_t tsih, std::uint16_t cid, bool discovery);
  // Gives the seat back; the session ends with its last connection. A displaced connection's
  // seat is no longer held, and giving it back changes nothing.
  void leave(const SessionSeat& seat);

  std::size_t session_count() const;

  // Counters: add(&TargetStats::logouts) and a copy of them all.
  void add(std::uint64_t TargetStats::*counter, std::uint64_t n = 1);
  TargetStats stats() const;

 private:
  struct Member {
    std::uint16_t cid = 0;
    std::uint64_t token = 0;
  };
  struct Session {
    Isid isid{};
    std::string initiator_name;
    std::vector<Member> members;
    bool discovery = false;
  };

  const std::uint16_t m_max_per_session;
  mutable std::mutex m_mutex;                   // guards everything below
  std::map<std::uint16_t, Session> m_sessions;  // by TSIH
  // TSIH by (InitiatorName, ISID): finds the session a leading login reinstates without a scan.
  std::map<std::pair<std::string, Isid>, std::uint16_t> m_by_initiator;
  std::uint16_t m_next_tsih = 1;
  std::uint64_t m_next_token = 1;
  TargetStats m_stats;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_SESSION_REGISTRY_H
