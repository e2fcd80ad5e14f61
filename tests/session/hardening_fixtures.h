// SPDX-License-Identifier: BSD-2-Clause
// Helpers of the hardening tests (fault injection, bad-input campaign, soak, secret hygiene), on
// top of tests/support/ (identities, Lines, start_target, eventually): a raw TCP client that speaks
// PDUs byte for byte (LoginScript: a scripted initiator that can go part of the way through a valid
// login and then misbehave), a real InitiatorSession login, a FaultProxy that replaces one login
// response of a real target with a fault, VmRSS.
#ifndef MULTICHAP_TESTS_SESSION_HARDENING_FIXTURES_H
#define MULTICHAP_TESTS_SESSION_HARDENING_FIXTURES_H

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "session/initiator.h"
#include "session/pdu.h"
#include "session/session_authenticator.h"
#include "session/target.h"
#include "session/transport.h"
#include "tests/support/backend_params.h"
#include "tests/support/session_support.h"

namespace multichap::hardening {

using test::eventually;
using test::kInitiatorIqn;
using test::kInitiatorSecret;
using test::kInitiatorUser;
using test::kTargetIqn;
using test::kTargetSecret;
using test::kTargetUser;
using test::kWrongSecret;
using test::Lines;
using test::start_target;
using test::target_config;

// The named backend, the default when name is empty (the test fails if it cannot be made).
inline std::shared_ptr<const HashBackend> backend(std::string_view name = {}) {
  return test::backend_or_fail(name);
}

struct LoginSpec {
  bool mutual = false;
  std::vector<Algorithm> algorithms{kDefaultPreference.begin(), kDefaultPreference.end()};
  std::string_view secret = kInitiatorSecret;
  std::string_view target_secret = kTargetSecret;
  std::string backend;  // empty: default
  Millis timeout{5000};
  unsigned attempts = 1;
  bool offer_fallback = true;  // InitiatorOptions::offer_fallback
  LogSink transcript;
};

struct LoginResult {
  Result<void> login = make_error(ErrorKind::internal, "not run");
  std::optional<Algorithm> algorithm;
  bool mutual = false;
  unsigned attempts = 0;
  unsigned rewinds = 0;
  std::optional<std::uint16_t> status;
};

inline std::unique_ptr<InitiatorAuthenticator> initiator_auth(const LoginSpec& spec) {
  return test::initiator_auth(backend(spec.backend), spec.mutual,
                              test::policy_with(spec.algorithms), spec.secret, spec.target_secret);
}

inline InitiatorOptions initiator_options(std::uint16_t port, const LoginSpec& spec) {
  InitiatorOptions options = test::initiator_options(port);
  options.connect_timeout = spec.timeout;
  options.login_timeout = spec.timeout;
  options.max_attempts = spec.attempts;
  options.offer_fallback = spec.offer_fallback;
  options.offer_memory = std::make_shared<OfferMemory>();
  options.retry_delay = Millis(1);
  options.transcript = spec.transcript;
  return options;
}

// A real InitiatorSession login (and, when it succeeds, logout) against 127.0.0.1:port.
inline LoginResult real_login(std::uint16_t port, const LoginSpec& spec = {}) {
  LoginResult result;
  auto auth = initiator_auth(spec);
  if (!auth) {
    result.login = make_error(ErrorKind::usage, "bad initiator configuration");
    return result;
  }
  auto session = InitiatorSession::create(initiator_options(port, spec), std::move(auth));
  if (!session) {
    result.login = session.error();
    return result;
  }
  result.login = (*session)->login();
  result.algorithm = (*session)->algorithm();
  result.mutual = (*session)->mutual();
  result.attempts = (*session)->attempts();
  result.rewinds = (*session)->authenticator().rewinds();
  result.status = (*session)->last_status();
  if (result.login) {
    if (auto out = (*session)->logout(); !out) result.login = out.error();
  }
  return result;
}

// What a peer did after we sent something: answered with a PDU, or closed the connection.
struct Reply {
  std::optional<Pdu> pdu;
  Error error;  // why no PDU (closed by peer, timeout, ...)
};

// A raw TCP client speaking whole PDUs (or arbitrary bytes) to a target.
class RawClient {
 public:
  static std::optional<RawClient> connect(std::uint16_t port) {
    auto conn = Connection::connect(Endpoint{"127.0.0.1", port}, Millis(2000));
    if (!conn) return std::nullopt;
    return RawClient(std::move(conn).value());
  }
  bool send(const Bytes& bytes) {
    return conn.write_all(ByteView(bytes), Clock::now() + Millis(2000)).has_value();
  }
  bool send(const Pdu& pdu) { return send(pdu.serialize()); }
  Reply read(Millis timeout = Millis(3000), std::uint32_t max_data = 0xffffff) {
    auto pdu = read_pdu(conn, max_data, Clock::now() + timeout);
    if (!pdu) return Reply{std::nullopt, pdu.error()};
    return Reply{std::move(pdu).value(), {}};
  }
  // True when the peer closes (end of stream or reset) within timeout without sending anything.
  bool closed_by_peer(Millis timeout = Millis(3000)) {
    std::uint8_t byte = 0;
    auto r = conn.read_exact(MutableByteView(&byte, 1), Clock::now() + timeout);
    return !r && closed(r.error());
  }
  // An end of stream or a reset: how a peer closes.
  static bool closed(const Error& e) {
    return e.code == ErrorCode::connection_closed || e.code == ErrorCode::read_failed;
  }
  void half_close() { ::shutdown(conn.fd(), SHUT_WR); }

  Connection conn;

 private:
  explicit RawClient(Connection c) : conn(std::move(c)) {}
};

// A scripted initiator over a RawClient: builds requests that repeat one ISID/ITT/CID/CmdSN (as
// a login must), answers the target's challenge with a real response, and can stop anywhere to
// misbehave. Every step returns false (with a reason in failure) when the target did not answer
// as a correct target would.
class LoginScript {
 public:
  explicit LoginScript(RawClient client, std::shared_ptr<const HashBackend> crypto = backend())
      : m_client(std::move(client)), m_crypto(std::move(crypto)) {}

  RawClient& client() { return m_client; }
  Isid isid{0x80, 0x12, 0x34, 0x56, 0x00, 0x01};
  std::uint32_t itt = 7;
  std::uint16_t cid = 0;
  std::uint16_t tsih = 0;
  std::uint32_t cmd_sn = 1;
  std::uint32_t exp_stat_sn = 0;
  std::string failure;

  // The target's challenge, once received.
  std::optional<Algorithm> algorithm;
  std::uint8_t identifier = 0;
  SecureBytes challenge;
  std::string challenge_text;  // CHAP_C as the target sent it
  std::uint16_t session_tsih = 0;

  // A Login Request of this login with the given stage byte (T, C, CSG, NSG bits as given).
  Pdu request(std::uint8_t stage_byte, const std::string& text) const {
    LoginRequest r;
    r.isid = isid;
    r.tsih = tsih;
    r.itt = itt;
    r.cid = cid;
    r.cmd_sn = cmd_sn;
    r.exp_stat_sn = exp_stat_sn;
    r.data.assign(text.begin(), text.end());
    Pdu pdu = encode(r);
    pdu.bhs[1] = stage_byte;
    return pdu;
  }
  Pdu request(std::uint8_t stage_byte, const KeyList& keys) const {
    return request(stage_byte, build_text(keys));
  }
  static KeyList first_keys(std::string_view auth_method = "CHAP") {
    return KeyList{{"InitiatorName", std::string(kInitiatorIqn)},
                   {"SessionType", "Normal"},
                   {"TargetName", std::string(kTargetIqn)},
                   {"AuthMethod", std::string(auth_method)}};
  }
  // The correct CHAP_R for the received challenge, from secret (hex), or with another identifier.
  std::string response(std::string_view secret = kInitiatorSecret) const {
    return response_for(identifier, secret);
  }
  std::string response_for(std::uint8_t id, std::string_view secret) const {
    std::uint8_t out[kMaxDigestSize];
    const Secret s = Secret::from_text(secret);
    auto n =
        chap_response(*m_crypto, *algorithm, id, s, ByteView(challenge.data(), challenge.size()),
                      MutableByteView(out, sizeof(out)));
    if (!n) return "0x00";
    return encode_hex(ByteView(out, *n));
  }

  // Sends and reads one Login Response with status 0; records StatSN.
  std::optional<LoginResponse> exchange(const Pdu& pdu) {
    if (!m_client.send(pdu)) {
      failure = "send failed";
      return std::nullopt;
    }
    Reply reply = m_client.read();
    if (!reply.pdu) {
      failure = "no response: " + reply.error.message;
      return std::nullopt;
    }
    auto response = decode_login_response(*reply.pdu);
    if (!response) {
      failure = "not a login response: " + response.error().message;
      return std::nullopt;
    }
    exp_stat_sn = response->stat_sn + 1;
    if (response->status != status::kSuccess) {
      failure = "status " + status_text(response->status);
      return std::nullopt;
    }
    return std::move(response).value();
  }

  // Step 1: InitiatorName..., AuthMethod=CHAP -> AuthMethod=CHAP.
  bool offer_auth_method() {
    auto r = exchange(request(0x01, first_keys()));
    if (!r) return false;
    auto keys = parse_text(ByteView(r->data));
    if (!keys || !keys->find("AuthMethod") || *keys->find("AuthMethod") != "CHAP") {
      failure = "target did not choose CHAP";
      return false;
    }
    return true;
  }
  // Step 2: CHAP_A=offer -> CHAP_A, CHAP_I, CHAP_C (kept).
  bool offer_algorithms(const std::string& offer = "7") {
    auto r = exchange(request(0x01, KeyList{{"CHAP_A", offer}}));
    if (!r) return false;
    auto keys = parse_text(ByteView(r->data));
    if (!keys || !keys->find("CHAP_A") || !keys->find("CHAP_I") || !keys->find("CHAP_C")) {
      failure = "no challenge";
      return false;
    }
    auto number = parse_number(*keys->find("CHAP_A"), 255);
    auto id = parse_number(*keys->find("CHAP_I"), 255);
    auto c = decode_binary(*keys->find("CHAP_C"), kMaxBinaryValueBytes);
    if (!number || !id || !c || !algorithm_from_chap_a(*number)) {
      failure = "malformed challenge";
      return false;
    }
    algorithm = algorithm_from_chap_a(*number);
    identifier = static_cast<std::uint8_t>(*id);
    challenge = std::move(c).value();
    challenge_text = *keys->find("CHAP_C");
    return true;
  }
  // Step 3: the correct one-way response with T=1 -> operational stage.
  bool answer_challenge() {
    auto r = exchange(
        request(0x81, KeyList{{"CHAP_N", std::string(kInitiatorUser)}, {"CHAP_R", response()}}));
    if (!r) return false;
    if (!r->transit || r->nsg != kOperationalStage) {
      failure = "target did not move to the operational stage";
      return false;
    }
    return true;
  }
  // Step 4: operational stage, T=1 to full feature phase -> the final response (TSIH).
  bool finish_operational() {
    auto r = exchange(request(0x87, KeyList{{"HeaderDigest", "None"}, {"DataDigest", "None"}}));
    if (!r) return false;
    if (!r->transit || r->nsg != kFullFeaturePhase || r->tsih == 0) {
      failure = "target did not complete the login";
      return false;
    }
    session_tsih = r->tsih;
    return true;
  }

  // How far a valid login goes before a case misbehaves.
  enum class Prefix { none, auth_method, challenge, operational, full_feature };
  bool run_prefix(Prefix prefix) {
    if (prefix == Prefix::none) return true;
    if (!offer_auth_method()) return false;
    if (prefix == Prefix::auth_method) return true;
    if (!offer_algorithms()) return false;
    if (prefix == Prefix::challenge) return true;
    if (!answer_challenge()) return false;
    if (prefix == Prefix::operational) return true;
    return finish_operational();
  }

 private:
  RawClient m_client;
  std::shared_ptr<const HashBackend> m_crypto;
};

// ---- fault injection ---------------------------------------------------------------------

enum class Fault { drop, stall, malformed, oversized, out_of_order, premature_full_feature };

inline const char* fault_name(Fault f) {
  switch (f) {
    case Fault::drop:
      return "drop";
    case Fault::stall:
      return "stall";
    case Fault::malformed:
      return "malformed";
    case Fault::oversized:
      return "oversized";
    case Fault::out_of_order:
      return "out-of-order";
    case Fault::premature_full_feature:
      return "premature-full-feature";
  }
  return "?";
}

// A PDU relay that injects one fault into the target -> initiator direction of its first
// connection, in place of the fault_at-th login response (1-based). Later connections are relayed
// untouched. Every thread is joined by the destructor.
class FaultProxy {
 public:
  FaultProxy(std::uint16_t upstream_port, Fault fault, int fault_at)
      : m_upstream(upstream_port), m_fault(fault), m_fault_at(fault_at) {
    auto listener = Listener::listen(Endpoint{"127.0.0.1", 0});
    if (listener) m_listener = std::move(listener).value();
    m_accept = std::thread([this] { accept_loop(); });
  }
  ~FaultProxy() {
    m_stop.store(true);
    m_accept.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      threads.swap(m_threads);
    }
    for (auto& t : threads) t.join();
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const { return m_listener.port(); }
  bool injected() const { return m_injected.load(); }
  int connections() const { return m_connections.load(); }

 private:
  struct Pair {
    Connection down;  // towards the initiator
    Connection up;    // towards the target
  };

  void accept_loop() {
    while (!m_stop.load()) {
      auto accepted = m_listener.accept(Millis(20));
      if (!accepted || !accepted->is_open()) continue;
      auto upstream = Connection::connect(Endpoint{"127.0.0.1", m_upstream}, Millis(2000));
      if (!upstream) continue;
      auto pair =
          std::make_shared<Pair>(Pair{std::move(accepted).value(), std::move(upstream).value()});
      const int index = m_connections++;
      std::lock_guard<std::mutex> lock(m_mutex);
      m_threads.emplace_back([this, pair] { pump_up(*pair); });
      m_threads.emplace_back([this, pair, index] { pump_down(*pair, index == 0); });
    }
  }

  // Initiator -> target, untouched, until either side closes.
  void pump_up(Pair& pair) {
    while (true) {
      auto pdu = read_pdu(pair.down, 0xffffff, Clock::now() + std::chrono::seconds(30), &m_stop);
      if (!pdu || !write_pdu(pair.up, *pdu, Clock::now() + Millis(2000))) break;
    }
    pair.down.shutdown();
    pair.up.shutdown();
  }

  // Target -> initiator, with the fault in place of login response number m_fault_at.
  void pump_down(Pair& pair, bool faulty) {
    int responses = 0;
    while (true) {
      auto pdu = read_pdu(pair.up, 0xffffff, Clock::now() + std::chrono::seconds(30), &m_stop);
      if (!pdu) break;
      if (pdu->opcode() == static_cast<std::uint8_t>(Opcode::login_response)) ++responses;
      if (!faulty || responses != m_fault_at) {
        if (!write_pdu(pair.down, *pdu, Clock::now() + Millis(2000))) break;
        continue;
      }
      m_injected.store(true);
      if (!inject(pair, *pdu)) break;
    }
    pair.down.shutdown();
    pair.up.shutdown();
  }

  // Returns whether relaying may go on.
  bool inject(Pair& pair, const Pdu& due) {
    const auto deadline = Clock::now() + Millis(2000);
    switch (m_fault) {
      case Fault::drop:
        return false;
      case Fault::stall:
        // Withhold the response; the initiator times out and closes, which ends pump_up.
        while (!m_stop.load() && pair.down.is_open()) {
          std::uint8_t byte;
          if (::recv(pair.down.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) break;
          std::this_thread::sleep_for(Millis(5));
        }
        return false;
      case Fault::malformed: {
        Pdu bad = due;
        const std::string garbage("this is not key=value text\x01\x02", 29);
        bad.data.assign(garbage.begin(), garbage.end());  // no NUL terminator either
        (void)write_pdu(pair.down, bad, deadline);
        return true;
      }
      case Fault::oversized: {
        Pdu big = due;
        big.data.assign(9000, 'A');
        (void)write_pdu(pair.down, big, deadline);
        return true;
      }
      case Fault::out_of_order: {
        NopIn nop;
        nop.itt = due.itt();
        (void)write_pdu(pair.down, encode(nop), deadline);
        return true;
      }
      case Fault::premature_full_feature: {
        auto response = decode_login_response(due);
        if (!response) return false;
        response->transit = true;
        response->nsg = kFullFeaturePhase;
        response->tsih = 0x4242;
        response->data.clear();
        (void)write_pdu(pair.down, encode(*response), deadline);
        return true;
      }
    }
    return false;
  }

  std::uint16_t m_upstream;
  Fault m_fault;
  int m_fault_at;
  Listener m_listener;
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_injected{false};
  std::atomic<int> m_connections{0};
  std::thread m_accept;
  std::mutex m_mutex;
  std::vector<std::thread> m_threads;
};

// Resident set size of this process in KiB (VmRSS), or 0 when unknown; VmHWM for the peak.
inline std::size_t proc_status_kib(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':') {
      return std::stoul(line.substr(field.size() + 1));
    }
  }
  return 0;
}

}  // namespace multichap::hardening

#endif  // MULTICHAP_TESTS_SESSION_HARDENING_FIXTURES_H
