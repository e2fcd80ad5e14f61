// SPDX-License-Identifier: BSD-2-Clause
// The target side of one iSCSI connection as a sans-I/O state machine: bytes in, bytes out, time
// as an input. It frames PDUs, runs the login phase (RFC 7143 §6.3: stages, C-bit text, the
// security stage through a LoginAuthenticator, operational negotiation, leading and non-leading
// logins), the access rules of TargetAccess (which targets, which initiators: 0x0202 for an
// authenticated initiator outside a target's ACL), the brute-force defence of LoginGuard, and a
// minimal full feature phase: Logout, NOP-Out, and Text Requests answering SendTargets (RFC 7143
// §12.3, Appendix C, with C-bit continuation); a Discovery session may only do Text and Logout.
// Anything else is rejected: there is no SCSI layer. It owns no socket, thread or clock.
//
// Driving it from your own event loop:
//   TargetConnection conn(options, registry, peer_name, now);
//   on readable:  conn.receive(bytes, now);            then send conn.take_output()
//   on a timer:   conn.tick(now);                      (conn.deadline() says when)
//   on EOF/error: conn.peer_closed("reason");
//   after sending: if conn.finished(), close the socket.
//   after every call: close every connection whose session_token() is in conn.take_displaced()
//                     (the login reinstated their session or took over their CID);
//                     if (auto lookup = conn.take_lookup()) run lookup->run() off the loop,
//                     then conn.lookup_done(result, now) (a slow secret provider never blocks).
// A failed authentication may be answered late (LoginGuard's delay): the answer is held inside
// the machine and released by tick() at deadline(); no thread waits for it.
// Every call may append output; send it in order. A header that cannot be valid at this point
// (wrong opcode, oversized data segment) is acted on as soon as its 48 bytes arrive, without
// waiting for the data segment it announces.
#ifndef MULTICHAP_SESSION_TARGET_CONNECTION_H
#define MULTICHAP_SESSION_TARGET_CONNECTION_H

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/chap.h"
#include "auth/text.h"
#include "backends/hash_backend.h"
#include "session/login_guard.h"
#include "session/login_text.h"
#include "session/pdu.h"
#include "session/session_registry.h"
#include "session/target_access.h"
#include "session/transcript.h"
#include "session/transport.h"

namespace multichap {

class TargetAuthenticator;

struct TargetOptions {
  // The one-target form: the IQN served and its CHAP (null: AuthMethod=None), used for Discovery
  // sessions too. Ignored when access is set.
  std::string target_name;
  std::shared_ptr<const ChapTargetConfig> chap;
  // Several targets with ACLs and discovery authentication (Target::reload() replaces it).
  std::shared_ptr<const TargetAccess> access;
  // Password-guessing defence (LoginGuardPolicy::enabled = false turns it off).
  LoginGuardPolicy guard;
  // A count shared with other targets (a fleet on one store), asked beside the local one.
  std::shared_ptr<SharedLoginGuard> shared_guard;
  // A secret provider's lookup runs on a small pool of its own (never on the event loop); one
  // that takes longer than this fails the login with 0x0201. Lookups queued beyond
  // lookup_queue fail at once (0x0201), so a stalled store cannot pile up work.
  Millis lookup_timeout{5000};
  unsigned lookup_threads = 2;
  std::size_t lookup_queue = 256;
  std::shared_ptr<const HashBackend> backend;  // null: the default backend
  // Deadline for the whole login, from accept to full feature phase: a slow or silent client
  // cannot hold a connection past it, however it paces its bytes.
  Millis login_timeout{15000};
  // Connections that have not reached full feature phase, all sources together. When full, the
  // oldest of them is closed to make room (established sessions are never touched).
  std::size_t max_unauthenticated = 4096;
  // Such connections from one source address. When full, the one of that address that has made
  // the least progress (no complete PDU yet, then the oldest) is closed to make room: a client
  // that keeps reconnecting cannot lock out a valid initiator behind the same address.
  std::size_t max_unauthenticated_per_source = 64;
  // Every connection, established ones included (each costs one descriptor and a few KiB).
  std::size_t max_connections = 65536;
  std::uint16_t max_connections_per_session = 8;
  // Threads running the event loop (0: one per core).
  unsigned threads = 0;
  // After each burst of work an event-loop thread keeps polling this long before it sleeps, so
  // the next PDU of a login under way is read without a wake-up (0: sleep at once). An idle
  // target spends nothing on it; a busy one never waits long enough to poll.
  std::chrono::microseconds busy_poll{50};
  LogSink log;             // one line per login outcome and per limit that bites (optional)
  bool log_logins = true;  // also a line per successful login and per logout (not only failures)
  bool log_keys = false;   // also log every key exchanged (masked)
};

// The access rules a TargetOptions stands for: options.access, or its one-target form.
std::shared_ptr<const TargetAccess> access_of(const TargetOptions& options);

// A secret lookup the driver must run off its event loop (TargetConnection::take_lookup()).
struct SecretLookup {
  std::shared_ptr<const SecretProvider> provider;
  std::string chap_n;
  std::string initiator_name;
  std::string target_name;
  bool discovery = false;
  // Calls the provider (blocking, on the caller's thread).
  Result<std::optional<Secret>> run() const {
    return provider->find_secret(AccountQuery{chap_n, initiator_name, target_name, discovery});
  }
};

class TargetConnection {
 public:
  enum class Phase : std::uint8_t {
    await_login,   // nothing received yet
    login,         // in the login phase
    lookup,        // in the login phase, waiting for lookup_done()
    full_feature,  // logged in
    delayed,       // a failed login's answer held back until deadline(); then done
    done,          // finished: send what is left, then close
  };

  // options and registry (and guard, when given) must outlive the connection; now starts the
  // login deadline. access: the rules this connection lives by, validated once for every
  // connection (ValidTargetAccess::create). Null: access_of(options), validated at this
  // connection's login (a configuration error then fails the login with 0x0300).
  TargetConnection(const TargetOptions& options, SessionRegistry& registry, std::string peer,
                   Clock::time_point now, std::shared_ptr<const ValidTargetAccess> access = nullptr,
                   LoginGuard* guard = nullptr);
  ~TargetConnection();
  TargetConnection(const TargetConnection&) = delete;
  TargetConnection& operator=(const TargetConnection&) = delete;

  // Bytes received from the peer.
  void receive(ByteView bytes, Clock::time_point now);
  // Ends a login whose deadline has passed.
  void tick(Clock::time_point now);
  // The peer closed the connection or the transport failed.
  void peer_closed(const std::string& why);
  // Ends the connection from our side (target shutting down, eviction); reason for the log.
  void abort(const std::string& reason);

  // What to send, in order; empties the buffer.
  Bytes take_output();
  bool has_output() const { return !m_out.empty(); }
  // Send what is left, then close.
  bool finished() const { return m_phase == Phase::done; }
  Phase phase() const { return m_phase; }
  // When tick() must be called next (the login deadline, a lookup's timeout, the release of a
  // delayed answer); none once logged in.
  std::optional<Clock::time_point> deadline() const;
  const std::string& peer() const { return m_peer; }

  // A secret lookup to run, once (then the machine waits in Phase::lookup).
  std::optional<SecretLookup> take_lookup();
  // Once logged in: this connection's token in the session registry (0 before).
  std::uint64_t session_token() const { return m_token; }
  // The connections (by session_token()) this login displaced: all those of the session it
  // reinstated (RFC 7143 §6.3.5), or the one whose CID it took over (§6.3.4). The driver must
  // close them. Empties the list.
  std::vector<std::uint64_t> take_displaced();
  // Its outcome; ignored unless the machine still waits for it (a timed-out lookup's late
  // answer is dropped).
  void lookup_done(Result<std::optional<Secret>> found, Clock::time_point now);

 private:
  // A login that must end with a status (and the reason for the local log).
  struct LoginFailure {
    std::uint16_t status;
    std::string reason;
    KeyList keys;  // e.g. CHAP_A=Reject
  };

  // What to do with a PDU once its header is known.
  enum class Verdict : std::uint8_t { read, skip, stop };
  // Acts on a header before its data segment arrives: read the PDU, skip it (already answered),
  // or stop (the connection is done).
  Verdict on_header(const std::array<std::uint8_t, kBhsSize>& bhs);
  void on_pdu(const Pdu& pdu);
  void on_login_pdu(const Pdu& pdu);
  void on_complete_request(const LoginRequest& req);
  void process_request(const LoginRequest& req, const KeyList& keys);
  bool admit(const LoginRequest& req, const KeyList& keys);
  void fail_authentication(const std::string& reason, const KeyList& reject,
                           const std::string* chap_n, bool count);
  bool authorized();
  void on_full_feature_pdu(const Pdu& pdu);
  void on_logout(const Pdu& pdu);
  void on_nop_out(const Pdu& pdu);
  void on_text_request(const Pdu& pdu);
  std::string answer_text(const KeyList& keys);
  void send_text_segment(std::uint32_t itt);
  void send_reject(const std::array<std::uint8_t, kBhsSize>& bhs, std::uint8_t reason = 0x05);

  void respond(bool transit, std::uint8_t csg, std::uint8_t nsg, std::uint16_t tsih,
               std::uint16_t code, const KeyList& keys);
  void fail_login(std::uint8_t csg, const LoginFailure& failure, Millis delay = Millis(0));
  void abandon(const std::string& why);
  bool check_same_login(const LoginRequest& req);
  void log(const std::string& line) const;
  void log_keys(const char* direction, const KeyList& keys) const;
  void send(const Pdu& pdu);
  void finish();
  void leave_session();

  const TargetOptions& m_options;
  SessionRegistry& m_registry;
  const std::string m_peer;
  std::string m_source;  // the peer's address without the port (LoginGuard's key)
  std::shared_ptr<const ValidTargetAccess> m_access;  // null until the login when not given
  LoginGuard* m_guard;
  const TargetEntry* m_target = nullptr;  // the Normal session's target (in m_access)
  Clock::time_point m_deadline;
  Clock::time_point m_now;      // the time of the latest input
  Clock::time_point m_release;  // Phase::delayed: when the held answer goes out
  Bytes m_held;                 // that answer
  Phase m_phase = Phase::await_login;

  Bytes m_in;  // received, not yet consumed
  std::size_t m_in_pos = 0;
  std::size_t m_discard = 0;  // data bytes of a rejected PDU still to skip
  bool m_header_checked = false;
  Bytes m_out;

  // The login in progress.
  std::unique_ptr<TargetAuthenticator> m_auth;
  TextAssembler m_text;
  std::uint8_t m_stage = kSecurityStage;
  bool m_first_request = true;
  bool m_started = false;  // the first request was seen: later ones must match it
  bool m_sent_tpgt = false;
  bool m_declared_mrdsl = false;
  bool m_leading = true;
  bool m_discovery = false;
  std::string m_initiator_name;
  Isid m_isid{};
  std::uint16_t m_request_tsih = 0;
  std::uint16_t m_tsih = 0;  // set once in full feature phase
  std::uint16_t m_cid = 0;
  std::uint64_t m_token = 0;               // our seat in the registry, with m_tsih and m_cid
  std::vector<std::uint64_t> m_displaced;  // for take_displaced()
  std::uint32_t m_itt = 0;
  std::uint32_t m_stat_sn = 1;
  std::uint32_t m_exp_cmd_sn = 0;
  std::uint32_t m_peer_mrdsl = kDefaultMaxRecvDataSegment;  // the initiator's declaration

  // A secret lookup in flight: the request it interrupted, and when it times out.
  std::optional<SecretLookup> m_lookup;
  bool m_lookup_taken = false;
  std::optional<LoginRequest> m_lookup_req;
  KeyList m_lookup_keys;
  Clock::time_point m_lookup_deadline;
  bool m_lookup_failed = false;

  // Full feature phase Text Requests (RFC 7143 §11.10): one being assembled (C=1), or our answer
  // being sent in parts (C=1 responses, continued by the initiator's empty requests).
  TextAssembler m_text_request;
  bool m_text_assembling = false;
  std::string m_text_answer;  // what is left to send
  std::uint32_t m_text_itt = 0;
  std::uint32_t m_text_ttt = 0xffffffff;
  std::uint32_t m_next_ttt = 1;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_TARGET_CONNECTION_H
