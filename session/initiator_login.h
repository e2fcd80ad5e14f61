// SPDX-License-Identifier: BSD-2-Clause
// The initiator side of one login (RFC 7143 §6.3) as a sans-I/O state machine: bytes in, bytes
// out, no socket, thread or clock. It sends the first request, reassembles responses continued
// with the C bit (answering each with an empty request), splits requests longer than 8192 bytes
// (waiting for the target's empty acknowledgement of each C=1 piece), runs the security stage
// through a LoginAuthenticator, proposes and checks operational parameters, and ends in full
// feature phase or with a failure that says whether another attempt may help and whether the
// target refused our CHAP_A offer (session/offer_fallback.h).
//
// Driving it from your own event loop (InitiatorSession does this with blocking sockets; the
// benchmark's load client with Asio):
//   InitiatorLogin login(params, auth);   // auth rewound by the caller for a leading login
//   login.start();                        then send login.take_output()
//   on readable:  login.receive(bytes);   then send login.take_output()
//   on a timeout, EOF or write error: login.transport_failed(error);
//   until login.done(): succeeded() or failure().
// Time is the driver's: a response that does not come within its deadline is transport_failed()
// with ErrorKind::timeout.
#ifndef MULTICHAP_SESSION_INITIATOR_LOGIN_H
#define MULTICHAP_SESSION_INITIATOR_LOGIN_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/text.h"
#include "session/login_authenticator.h"
#include "session/login_text.h"
#include "session/offer_fallback.h"
#include "session/pdu.h"
#include "session/transcript.h"
#include "session/transport.h"

namespace multichap {

struct InitiatorLoginParams {
  std::string initiator_name;
  std::string target_name;  // sent when session_type is Normal
  std::string session_type = "Normal";
  Isid isid{};
  bool leading = true;     // TSIH 0; otherwise tsih is the session's
  std::uint16_t tsih = 0;  // for a non-leading login
  std::uint16_t cid = 0;
  std::uint32_t itt = 0;
  std::uint32_t cmd_sn = 1;
  LogSink transcript;  // optional: every key exchanged (CHAP_R masked)
};

class InitiatorLogin {
 public:
  // Why a login failed, and whether another attempt may help.
  struct Failure {
    Error error;
    bool retry = false;                // a transport failure or a class-3 status
    std::optional<Endpoint> redirect;  // a class-1 status with a usable TargetAddress
    OfferRefusal refusal = OfferRefusal::none;
  };

  // auth must outlive the login.
  InitiatorLogin(InitiatorLoginParams params, LoginAuthenticator& auth);

  // Queues the first request.
  void start();
  // Bytes received from the target.
  void receive(ByteView bytes);
  // The connection failed (EOF, reset, write error) or a response did not come in time.
  void transport_failed(const Error& error);

  Bytes take_output();
  bool has_output() const { return !m_out.empty(); }
  bool done() const { return m_done; }
  bool succeeded() const { return m_done && !m_failure; }
  const std::optional<Failure>& failure() const { return m_failure; }
  // The most recent failure status the target sent, if any.
  std::optional<std::uint16_t> last_status() const { return m_last_status; }
  // After success: the session's TSIH and the operational values negotiated.
  std::uint16_t tsih() const { return m_tsih; }
  const KeyList& negotiated() const { return m_negotiated; }
  // The next StatSN we expect (for the full feature phase that follows).
  std::uint32_t exp_stat_sn() const { return m_exp_stat_sn; }

 private:
  enum class Wait : std::uint8_t { response, ack };

  void send_keys(const KeyList& keys);
  void send_next_piece();
  void send_request(const std::string_view text, bool more);
  void on_pdu(const Pdu& pdu);
  void on_failure_status(const LoginResponse& resp);
  void on_complete_response(const LoginResponse& resp);
  void fail(Error error, bool retry, OfferRefusal refusal = OfferRefusal::none,
            std::optional<Endpoint> redirect = std::nullopt);
  void note(const std::string& line) const;

  InitiatorLoginParams m_params;
  LoginAuthenticator& m_auth;

  Bytes m_in;
  std::size_t m_in_pos = 0;
  Bytes m_out;

  Wait m_wait = Wait::response;
  std::uint8_t m_stage = kSecurityStage;
  bool m_transit = false;
  std::uint8_t m_nsg = kOperationalStage;
  KeyList m_sent;              // the keys of the last request
  std::string m_request_text;  // of the last request, sent in pieces of at most 8192 bytes
  std::size_t m_request_pos = 0;
  TextAssembler m_response;
  KeyList m_offered;  // operational keys we proposed
  KeyList m_negotiated;
  std::uint32_t m_exp_stat_sn = 0;
  std::uint16_t m_tsih = 0;
  std::optional<std::uint16_t> m_last_status;
  std::optional<Failure> m_failure;
  bool m_done = false;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_INITIATOR_LOGIN_H
