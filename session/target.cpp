#include "session/target.h"

#include <sys/socket.h>

#include <algorithm>

#include "session/operational.h"
#include "session/session_authenticator.h"

namespace multichap {

namespace {

// A login that must end with a status (and the reason for the local log).
struct LoginFailure {
  std::uint16_t status;
  std::string reason;
  KeyList keys;  // e.g. CHAP_A=Reject
};

}  // namespace

// Runs one connection: login phase, then full feature phase until logout or close.
class Target::ConnectionHandler {
 public:
  ConnectionHandler(Target& target, Connection& conn)
      : m_target(target), m_conn(conn), m_peer(conn.peer()) {}

  void run() {
    auto first = read_pdu(m_conn, kDefaultMaxRecvDataSegment, deadline(), &m_target.m_stop);
    if (!first) {
      m_target.log("connection from " + m_peer + " closed before login: " + first.error().message);
      return;
    }
    if (first->opcode() != static_cast<std::uint8_t>(Opcode::login_request)) {
      // RFC 7143 §6.3: a non-login PDU before login: drop the connection.
      m_target.log("connection from " + m_peer + ": " + opcode_name(first->opcode()) +
                   " before login, dropping the connection");
      fail_counter();
      return;
    }
    const auto outcome = login(*first);
    if (!outcome) {
      fail_counter();
      return;
    }
    full_feature_phase();
    leave_session();
  }

 private:
  Clock::time_point deadline() const { return Clock::now() + m_target.m_options.login_timeout; }

  void fail_counter() {
    std::lock_guard<std::mutex> lock(m_target.m_mutex);
    ++m_target.m_stats.logins_failed;
  }

  void log_keys(const char* direction, const KeyList& keys) {
    if (m_target.m_options.log_keys)
      m_target.log("  " + std::string(direction) + " " + describe_keys(keys));
  }

  // Sends a Login Response for the current request.
  Result<void> respond(bool transit, std::uint8_t csg, std::uint8_t nsg, std::uint16_t tsih,
                       std::uint16_t code, const KeyList& keys) {
    LoginResponse r;
    r.transit = transit;
    r.csg = csg;
    r.nsg = transit ? nsg : 0;
    r.version_max = 0;
    r.version_active = 0;
    r.isid = m_isid;
    // RFC 7143 §11.13.4: every response echoes the request's TSIH, except the final response of
    // a leading login, which carries the new session's.
    r.tsih = tsih != 0 ? tsih : m_request_tsih;
    r.itt = m_itt;
    r.stat_sn = m_stat_sn++;
    r.exp_cmd_sn = m_exp_cmd_sn;
    r.max_cmd_sn = m_exp_cmd_sn + 31;
    r.status = code;
    const std::string text = build_text(keys);
    r.data.assign(text.begin(), text.end());
    log_keys("->", keys);
    return write_pdu(m_conn, encode(r), deadline());
  }

  // Ends a login with a non-zero status: sends it (best effort) and logs the local reason.
  Result<void> reject_login(std::uint8_t csg, const LoginFailure& failure) {
    (void)respond(false, csg, 0, 0, failure.status, failure.keys);
    m_target.log("login from " + m_peer +
                 (m_initiator_name.empty() ? "" : " (" + m_initiator_name + ")") +
                 " failed: " + status_text(failure.status) + ": " + failure.reason);
    return make_error(ErrorKind::rejected, failure.reason);
  }

  // Reads the next Login Request of this login, reassembling text continued with the C bit
  // (RFC 7143 §6.3: each C=1 PDU is acknowledged by an empty response).
  Result<LoginRequest> next_request(std::uint8_t stage, std::string& text) {
    text.clear();
    while (true) {
      auto pdu = read_pdu(m_conn, kDefaultMaxRecvDataSegment, deadline(), &m_target.m_stop);
      if (!pdu) return pdu.error();
      if (pdu->opcode() != static_cast<std::uint8_t>(Opcode::login_request)) {
        return reject_login(
                   stage,
                   {status::kInvalidDuringLogin, opcode_name(pdu->opcode()) + " during login", {}})
            .error();
      }
      auto req = decode_login_request(*pdu);
      if (!req)
        return reject_login(stage, {status::kInitiatorError, req.error().message, {}}).error();
      if (!check_same_login(*req, stage)) {
        return reject_login(stage, {status::kInitiatorError, m_mismatch, {}}).error();
      }
      text.append(req->data.begin(), req->data.end());
      if (text.size() > kMaxLoginText) {
        return reject_login(stage, {status::kOutOfResources, "login text over 64 KiB", {}}).error();
      }
      if (!req->cont) return req;
      MULTICHAP_GUARD(respond(false, stage, 0, 0, status::kSuccess, KeyList{}));
    }
  }

  // Every request of a login repeats ISID, TSIH, ITT, CID and sits in the current stage.
  bool check_same_login(const LoginRequest& req, std::uint8_t stage) {
    if (!m_started) return true;
    if (req.isid != m_isid || req.tsih != m_request_tsih || req.cid != m_cid) {
      m_mismatch = "login request changed ISID, TSIH or CID mid-login";
      return false;
    }
    if (req.csg != stage) {
      m_mismatch = "login request in stage " + std::to_string(req.csg) +
                   " while the login is in stage " + std::to_string(stage);
      return false;
    }
    m_itt = req.itt;
    return true;
  }

  // Checks the first request's declarations and finds or creates the session (RFC 7143 §6.3.1).
  Result<void> admit(const LoginRequest& req, const KeyList& keys) {
    if (req.version_min > 0) {
      return reject_login(req.csg, {status::kUnsupportedVersion,
                                    "initiator needs version " + std::to_string(req.version_min),
                                    {}});
    }
    const std::string* name = keys.find("InitiatorName");
    if (name == nullptr || name->empty()) {
      return reject_login(
          req.csg, {status::kMissingParameter, "no InitiatorName in the first login request", {}});
    }
    m_initiator_name = *name;
    const std::string* type = keys.find("SessionType");
    const std::string session_type = type != nullptr ? *type : "Normal";
    if (session_type != "Normal" && session_type != "Discovery") {
      return reject_login(
          req.csg,
          {status::kSessionTypeNotSupported, "SessionType=" + session_type.substr(0, 32), {}});
    }
    m_discovery = session_type == "Discovery";
    if (!m_discovery) {
      const std::string* target = keys.find("TargetName");
      if (target == nullptr) {
        return reject_login(req.csg,
                            {status::kMissingParameter, "no TargetName in a Normal session", {}});
      }
      if (*target != m_target.m_options.target_name) {
        return reject_login(
            req.csg,
            {status::kTargetNotFound, "unknown TargetName '" + target->substr(0, 223) + "'", {}});
      }
    }
    m_leading = req.tsih == 0;
    if (!m_leading) {
      std::lock_guard<std::mutex> lock(m_target.m_mutex);
      const auto it = m_target.m_sessions.find(req.tsih);
      if (it == m_target.m_sessions.end() || it->second.isid != req.isid ||
          it->second.initiator_name != m_initiator_name) {
        return reject_login(
            req.csg,
            {status::kSessionDoesNotExist, "no session with TSIH " + std::to_string(req.tsih), {}});
      }
      if (it->second.cids.size() >= m_target.m_options.max_connections_per_session) {
        return reject_login(
            req.csg,
            {status::kTooManyConnections, "session already has its maximum of connections", {}});
      }
    }
    return {};
  }

  Result<void> login(const Pdu& first_pdu) {
    auto first = decode_login_request(first_pdu);
    if (!first) {
      m_isid = Isid{};
      m_itt = first_pdu.itt();
      return reject_login(0, {status::kInitiatorError, first.error().message, {}});
    }
    m_isid = first->isid;
    m_request_tsih = first->tsih;
    m_cid = first->cid;
    m_itt = first->itt;
    m_exp_cmd_sn = first->cmd_sn;

    std::unique_ptr<TargetAuthenticator> auth;
    if (m_target.m_options.chap) {
      auto created =
          TargetAuthenticator::create(m_target.m_options.chap, m_target.m_options.backend);
      if (!created)
        return reject_login(first->csg, {status::kTargetError, created.error().message, {}});
      auth = std::move(created).value();
      auth->rewind();  // a fresh exchange for this login, whatever came before
    }

    // The first request, possibly continued with C=1.
    std::string text(first->data.begin(), first->data.end());
    LoginRequest req = std::move(first).value();
    while (req.cont) {
      MULTICHAP_GUARD(respond(false, req.csg, 0, 0, status::kSuccess, KeyList{}));
      m_started = true;
      std::string more;
      auto next = next_request(req.csg, more);
      if (!next) return next.error();
      text += more;
      req = std::move(next).value();
      req.cont = false;
    }
    m_started = true;

    std::uint8_t stage = req.csg;
    bool first_request = true;
    KeyList negotiated;
    while (true) {
      auto keys =
          parse_text(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
      if (!keys)
        return reject_login(stage,
                            {status::kInitiatorError, "login text: " + keys.error().message, {}});
      log_keys("<-", *keys);
      if (first_request) {
        MULTICHAP_GUARD(admit(req, *keys));
        if (auth) {
          auth->set_login_context(m_initiator_name,
                                  m_discovery ? std::string() : m_target.m_options.target_name,
                                  m_discovery);
        }
        first_request = false;
      }

      KeyList out;
      bool may_transit = true;
      if (stage == kSecurityStage) {
        if (auth) {
          auto step = auth->step(*keys);
          if (!step) {
            return reject_login(
                stage, {status::kAuthenticationFailure, step.error().message, auth->reject_keys()});
          }
          out = std::move(step).value();
          may_transit = auth->state() == AuthStatus::succeeded;
        } else if (const std::string* method = keys->find("AuthMethod")) {
          // No CHAP configured: only AuthMethod=None is acceptable.
          if (method->find("None") == std::string::npos) {
            return reject_login(stage, {status::kAuthenticationFailure,
                                        "initiator requires authentication; this "
                                        "target has none configured",
                                        KeyList{{"AuthMethod", "Reject"}}});
          }
          out.set("AuthMethod", "None");
        }
      } else {
        // Operational stage (CSG=1): authentication must be complete, and no auth keys here.
        if (auth && auth->state() != AuthStatus::succeeded) {
          return reject_login(stage, {status::kAuthenticationFailure,
                                      "initiator skipped the security stage, but CHAP is required",
                                      {}});
        }
        for (const auto& kv : *keys) {
          if (is_auth_key(kv.key)) {
            return reject_login(
                stage, {status::kInitiatorError, kv.key + " outside the security stage", {}});
          }
        }
      }
      out.merge(answer_operational(*keys, m_leading, negotiated));
      // RFC 7143 §13.9: the first response of a Normal session carries TargetPortalGroupTag.
      if (!m_sent_tpgt && !m_discovery) {
        out.set("TargetPortalGroupTag", "1");
        m_sent_tpgt = true;
      }
      // Our own declaration of what we can receive, once in the operational stage.
      if (stage == kOperationalStage && !m_declared_mrdsl) {
        out.set("MaxRecvDataSegmentLength", "262144");
        m_declared_mrdsl = true;
      }

      // RFC 7143 §13.12: a login PDU carries at most 8192 data bytes (the initiator's default
      // MaxRecvDataSegmentLength) and we never continue a response (C=1), so answers that would
      // not fit end the login; only a flood of unknown keys gets here.
      if (build_text(out).size() > kDefaultMaxRecvDataSegment) {
        return reject_login(stage, {status::kInitiatorError,
                                    "answers to " + std::to_string(keys->size()) +
                                        " keys would exceed one 8192-byte login response",
                                    {}});
      }

      const bool transit = req.transit && may_transit;
      const bool to_ffp = transit && req.nsg == kFullFeaturePhase;
      std::uint16_t tsih = 0;
      if (to_ffp) {
        auto joined = join_session();
        if (!joined)
          return reject_login(stage, {status::kTooManyConnections, joined.error().message, {}});
        tsih = *joined;
      }
      if (auto sent = respond(transit, stage, req.nsg, tsih, status::kSuccess, out); !sent) {
        if (to_ffp) leave_session();
        return sent.error();
      }
      if (to_ffp) {
        std::string algorithm = "none";
        if (auth && auth->algorithm()) algorithm = std::string(algorithm_name(*auth->algorithm()));
        {
          std::lock_guard<std::mutex> lock(m_target.m_mutex);
          ++m_target.m_stats.logins_succeeded;
        }
        m_target.log("login from " + m_peer + " (" + m_initiator_name + ") succeeded: algorithm=" +
                     algorithm + " mutual=" + (auth && auth->mutual() ? "yes" : "no") +
                     " tsih=" + std::to_string(tsih) + " cid=" + std::to_string(m_cid) +
                     (m_leading ? " (leading)" : " (added connection)"));
        return {};
      }
      if (transit) stage = req.nsg;
      auto next = next_request(stage, text);
      if (!next) {
        if (next.error().kind != ErrorKind::rejected) {
          m_target.log("login from " + m_peer + " abandoned: " + next.error().message);
        }
        return next.error();
      }
      req = std::move(next).value();
    }
  }

  // Registers this connection in its session (creating the session on a leading login).
  Result<std::uint16_t> join_session() {
    std::lock_guard<std::mutex> lock(m_target.m_mutex);
    if (m_leading) {
      // Session reinstatement (same ISID and initiator, TSIH 0) replaces the old session record.
      for (auto it = m_target.m_sessions.begin(); it != m_target.m_sessions.end();) {
        if (it->second.isid == m_isid && it->second.initiator_name == m_initiator_name) {
          it = m_target.m_sessions.erase(it);
        } else {
          ++it;
        }
      }
      std::uint16_t tsih = m_target.m_next_tsih;
      while (tsih == 0 || m_target.m_sessions.count(tsih) != 0) ++tsih;
      m_target.m_next_tsih = static_cast<std::uint16_t>(tsih + 1);
      Session s;
      s.isid = m_isid;
      s.initiator_name = m_initiator_name;
      s.tsih = tsih;
      s.cids.push_back(m_cid);
      s.discovery = m_discovery;
      m_target.m_sessions[tsih] = s;
      m_tsih = tsih;
      return tsih;
    }
    const auto it = m_target.m_sessions.find(m_request_tsih);
    if (it == m_target.m_sessions.end())
      return make_error(ErrorKind::protocol, "session vanished during login");
    auto& cids = it->second.cids;
    if (std::find(cids.begin(), cids.end(), m_cid) ==
        cids.end()) {  // else: connection reinstatement
      if (cids.size() >= m_target.m_options.max_connections_per_session) {
        return make_error(ErrorKind::protocol, "session already has its maximum of connections");
      }
      cids.push_back(m_cid);
    }
    m_tsih = m_request_tsih;
    return m_tsih;
  }

  void leave_session() {
    if (m_tsih == 0) return;
    std::lock_guard<std::mutex> lock(m_target.m_mutex);
    const auto it = m_target.m_sessions.find(m_tsih);
    if (it != m_target.m_sessions.end()) {
      auto& cids = it->second.cids;
      cids.erase(std::remove(cids.begin(), cids.end(), m_cid), cids.end());
      if (cids.empty()) m_target.m_sessions.erase(it);
    }
    m_tsih = 0;
  }

  // Full feature phase: Logout and NOP-Out are answered, anything else is rejected.
  void full_feature_phase() {
    while (!m_target.m_stop.load()) {
      auto pdu = read_pdu(m_conn, 262144, Clock::now() + std::chrono::hours(24), &m_target.m_stop);
      if (!pdu) return;
      if (!pdu->immediate()) ++m_exp_cmd_sn;
      const auto opcode = static_cast<Opcode>(pdu->opcode());
      if (opcode == Opcode::logout_request) {
        auto req = decode_logout_request(*pdu);
        if (!req) return;
        LogoutResponse r;
        r.itt = req->itt;
        r.stat_sn = m_stat_sn++;
        r.exp_cmd_sn = m_exp_cmd_sn;
        r.max_cmd_sn = m_exp_cmd_sn + 31;
        (void)write_pdu(m_conn, encode(r), deadline());
        {
          std::lock_guard<std::mutex> lock(m_target.m_mutex);
          ++m_target.m_stats.logouts;
        }
        m_target.log("logout from " + m_peer + " (" + m_initiator_name +
                     ") tsih=" + std::to_string(m_tsih) + " cid=" + std::to_string(m_cid));
        return;
      }
      if (opcode == Opcode::nop_out) {
        auto nop = decode_nop_out(*pdu);
        if (!nop || nop->itt == 0xffffffff) continue;  // a reply to our ping: nothing to answer
        NopIn in;
        in.itt = nop->itt;
        in.stat_sn = m_stat_sn++;
        in.exp_cmd_sn = m_exp_cmd_sn;
        in.max_cmd_sn = m_exp_cmd_sn + 31;
        in.data = nop->data;
        if (!write_pdu(m_conn, encode(in), deadline())) return;
        continue;
      }
      RejectPdu reject;
      reject.reason = 0x05;  // RFC 7143 §11.17.1 "command not supported": no SCSI layer here
      reject.stat_sn = m_stat_sn++;
      reject.exp_cmd_sn = m_exp_cmd_sn;
      reject.max_cmd_sn = m_exp_cmd_sn + 31;
      reject.rejected_header.assign(pdu->bhs.begin(), pdu->bhs.end());
      if (!write_pdu(m_conn, encode(reject), deadline())) return;
    }
  }

  Target& m_target;
  Connection& m_conn;
  std::string m_peer;
  std::string m_initiator_name;
  std::string m_mismatch;
  Isid m_isid{};
  std::uint16_t m_request_tsih = 0;
  std::uint16_t m_tsih = 0;  // set once in full feature phase
  std::uint16_t m_cid = 0;
  std::uint32_t m_itt = 0;
  std::uint32_t m_stat_sn = 1;
  std::uint32_t m_exp_cmd_sn = 0;
  bool m_started = false;
  bool m_sent_tpgt = false;
  bool m_declared_mrdsl = false;
  bool m_leading = true;
  bool m_discovery = false;
};

Target::Target(TargetOptions options) : m_options(std::move(options)) {}

Result<std::unique_ptr<Target>> Target::create(TargetOptions options) {
  if (options.target_name.empty())
    return make_error(ErrorKind::usage, "target needs a TargetName (IQN)");
  if (!options.backend) {
    MULTICHAP_ASSIGN_OR_RETURN(options.backend, make_default_backend());
  }
  if (options.chap) MULTICHAP_GUARD(validate_config(*options.chap, *options.backend));
  if (options.max_connections == 0 || options.max_connections_per_session == 0) {
    return make_error(ErrorKind::usage, "connection limits must be at least 1");
  }
  return std::unique_ptr<Target>(new Target(std::move(options)));
}

Target::~Target() {
  stop();
}

Result<std::uint16_t> Target::listen(const Endpoint& endpoint) {
  MULTICHAP_ASSIGN_OR_RETURN(m_listener, Listener::listen(endpoint));
  return m_listener.port();
}

void Target::start() {
  m_accept_thread = std::thread([this] { accept_loop(); });
}

void Target::run() {
  accept_loop();
}

void Target::stop() {
  m_stop.store(true);
  if (m_accept_thread.joinable()) m_accept_thread.join();
  m_listener.close();
  std::vector<std::thread> pool;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_queue.clear();  // closes connections nobody picked up
    for (const int fd : m_active_fds) ::shutdown(fd, SHUT_RDWR);  // wakes blocked readers
    pool.swap(m_pool);
  }
  m_work_ready.notify_all();
  for (auto& t : pool) t.join();
}

void Target::serve(Connection conn) {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_stats.connections;
  }
  ConnectionHandler(*this, conn).run();
}

void Target::log(const std::string& line) const {
  if (m_options.log) m_options.log(line);
}

TargetStats Target::stats() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_stats;
}

std::size_t Target::session_count() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_sessions.size();
}

std::size_t Target::active_connections() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_active_fds.size() + m_queue.size();
}

void Target::worker_loop() {
  std::unique_lock<std::mutex> lock(m_mutex);
  while (true) {
    ++m_idle_workers;
    m_work_ready.wait(lock, [this] { return m_stop.load() || !m_queue.empty(); });
    --m_idle_workers;
    if (m_stop.load()) return;
    std::shared_ptr<Connection> conn = std::move(m_queue.front());
    m_queue.pop_front();
    m_active_fds.insert(conn->fd());
    lock.unlock();
    ConnectionHandler(*this, *conn).run();
    lock.lock();
    m_active_fds.erase(conn->fd());
    conn->close();  // under the lock: stop() never shuts down a reused descriptor
  }
}

void Target::accept_loop() {
  while (!m_stop.load()) {
    auto accepted = m_listener.accept(Millis(100));
    if (!accepted) {
      log("accept failed: " + accepted.error().message);
      std::this_thread::sleep_for(Millis(50));
      continue;
    }
    if (!accepted->is_open()) continue;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (m_stop.load()) break;  // stop() may run on another thread than run()
      const std::size_t active = m_active_fds.size() + m_queue.size();
      if (active >= m_options.max_connections) {
        log("refusing connection from " + accepted->peer() + ": " + std::to_string(active) +
            " connections open");
        continue;  // closes it
      }
      ++m_stats.connections;
      m_queue.push_back(std::make_shared<Connection>(std::move(accepted).value()));
      if (m_idle_workers < m_queue.size()) m_pool.emplace_back([this] { worker_loop(); });
    }
    m_work_ready.notify_one();
  }
}

}  // namespace multichap
