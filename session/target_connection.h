// The target side of one iSCSI connection as a sans-I/O state machine: bytes in, bytes out, time
// as an input. It frames PDUs, runs the login phase (RFC 7143 §6.3: stages, C-bit text, the
// security stage through a LoginAuthenticator, operational negotiation, leading and non-leading
// logins) and a minimal full feature phase (Logout, NOP-Out; anything else is rejected: there is
// no SCSI layer). It owns no socket, thread or clock.
//
// Driving it from your own event loop:
//   TargetConnection conn(options, registry, peer_name, now);
//   on readable:  conn.receive(bytes, now);            then send conn.take_output()
//   on a timer:   conn.tick(now);                      (conn.deadline() says when)
//   on EOF/error: conn.peer_closed("reason");
//   after sending: if conn.finished(), close the socket.
// Every call may append output; send it in order. A header that cannot be valid at this point
// (wrong opcode, oversized data segment) is acted on as soon as its 48 bytes arrive, without
// waiting for the data segment it announces.
#ifndef MULTICHAP_SESSION_TARGET_CONNECTION_H
#define MULTICHAP_SESSION_TARGET_CONNECTION_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "auth/chap.h"
#include "auth/text.h"
#include "backends/hash_backend.h"
#include "session/login_text.h"
#include "session/pdu.h"
#include "session/session_registry.h"
#include "session/transcript.h"
#include "session/transport.h"

namespace multichap {

class TargetAuthenticator;

struct TargetOptions {
  std::string target_name;                       // the IQN served (TargetName)
  std::shared_ptr<const ChapTargetConfig> chap;  // null: no authentication (AuthMethod=None)
  std::shared_ptr<const HashBackend> backend;    // null: the default backend
  // chap checked against backend once for every login (validate_target_chap(), which
  // Target::create calls). When it is null, or made from another chap or backend, each login
  // validates chap itself.
  std::shared_ptr<const ValidChapTargetConfig> valid_chap;
  // Deadline for the whole login, from accept to full feature phase: a slow or silent client
  // cannot hold a connection past it, however it paces its bytes.
  Millis login_timeout{15000};
  // Connections that have not reached full feature phase, all sources together. When full, the
  // oldest of them is closed to make room (established sessions are never touched).
  std::size_t max_unauthenticated = 4096;
  // Such connections from one source address; further ones are refused.
  std::size_t max_unauthenticated_per_source = 64;
  // Every connection, established ones included (each costs one descriptor and a few KiB).
  std::size_t max_connections = 65536;
  std::uint16_t max_connections_per_session = 8;
  // Threads running the event loop (0: one per core).
  unsigned threads = 0;
  LogSink log;             // one line per login outcome and per limit that bites (optional)
  bool log_logins = true;  // also a line per successful login and per logout (not only failures)
  bool log_keys = false;   // also log every key exchanged (masked)
};

// Validates options.chap (if any) against options.backend (the default backend when null, which
// it then sets) and stores the result in options.valid_chap, so that logins build their CHAP
// exchange without validating it again. Fails as validate_config() does.
Result<void> validate_target_chap(TargetOptions& options);

class TargetConnection {
 public:
  enum class Phase : std::uint8_t {
    await_login,   // nothing received yet
    login,         // in the login phase
    full_feature,  // logged in
    done,          // finished: send what is left, then close
  };

  // options and registry must outlive the connection; now starts the login deadline.
  TargetConnection(const TargetOptions& options, SessionRegistry& registry, std::string peer,
                   Clock::time_point now);
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
  // When tick() must be called next (the login deadline); none once logged in.
  std::optional<Clock::time_point> deadline() const;
  const std::string& peer() const { return m_peer; }

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
  bool admit(const LoginRequest& req, const KeyList& keys);
  void on_full_feature_pdu(const Pdu& pdu);
  void on_logout(const Pdu& pdu);
  void on_nop_out(const Pdu& pdu);
  void send_reject(const std::array<std::uint8_t, kBhsSize>& bhs);

  void respond(bool transit, std::uint8_t csg, std::uint8_t nsg, std::uint16_t tsih,
               std::uint16_t code, const KeyList& keys);
  void fail_login(std::uint8_t csg, const LoginFailure& failure);
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
  Clock::time_point m_deadline;
  Phase m_phase = Phase::await_login;

  Bytes m_in;  // received, not yet consumed
  std::size_t m_in_pos = 0;
  std::size_t m_discard = 0;  // data bytes of a rejected PDU still to skip
  bool m_header_checked = false;
  Bytes m_out;

  // The login in progress.
  std::unique_ptr<TargetAuthenticator> m_auth;
  TextAssembler m_text;
  KeyList m_negotiated;
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
  std::uint32_t m_itt = 0;
  std::uint32_t m_stat_sn = 1;
  std::uint32_t m_exp_cmd_sn = 0;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_TARGET_CONNECTION_H
