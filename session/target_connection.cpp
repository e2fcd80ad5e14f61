// SPDX-License-Identifier: BSD-2-Clause
#include "session/target_connection.h"

#include <algorithm>

#include "session/operational.h"
#include "session/session_authenticator.h"

namespace multichap {

namespace {

// Data we accept in one PDU: the login phase uses the default MaxRecvDataSegmentLength (RFC 7143
// §13.12); in full feature phase we declared 262144.
constexpr std::uint32_t kFullFeatureMaxData = 262144;

std::uint8_t opcode_of(const std::array<std::uint8_t, kBhsSize>& bhs) {
  return bhs[0] & 0x3f;
}
std::uint32_t data_length_of(const std::array<std::uint8_t, kBhsSize>& bhs) {
  return (std::uint32_t{bhs[5]} << 16) | (std::uint32_t{bhs[6]} << 8) | bhs[7];
}
std::size_t padded(std::uint32_t length) {
  return length + (4 - length % 4) % 4;
}

// "a.b.c.d:port" or "[v6]:port" -> the address alone.
std::string source_of(const std::string& peer) {
  std::string s = peer;
  const auto colon = s.rfind(':');
  if (colon != std::string::npos && s.find(']') == std::string::npos && s.find(':') != colon) {
    return s;  // a bare IPv6 address without a port
  }
  if (colon != std::string::npos) s.resize(colon);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

std::shared_ptr<const TargetAccess> access_of(const TargetOptions& options) {
  if (options.access) return options.access;
  return single_target_access(options.target_name, options.chap);
}

TargetConnection::TargetConnection(const TargetOptions& options, SessionRegistry& registry,
                                   std::string peer, Clock::time_point now,
                                   std::shared_ptr<const ValidTargetAccess> access,
                                   LoginGuard* guard)
    : m_options(options),
      m_registry(registry),
      m_peer(std::move(peer)),
      m_source(source_of(m_peer)),
      m_access(std::move(access)),
      m_guard(guard),
      m_deadline(now + options.login_timeout),
      m_now(now) {}

TargetConnection::~TargetConnection() {
  leave_session();
}

std::optional<Clock::time_point> TargetConnection::deadline() const {
  switch (m_phase) {
    case Phase::await_login:
    case Phase::login:
      return m_deadline;
    case Phase::lookup:
      return std::min(m_deadline, m_lookup_deadline);
    case Phase::delayed:
      return m_release;
    case Phase::full_feature:
    case Phase::done:
      break;
  }
  return std::nullopt;
}

std::optional<SecretLookup> TargetConnection::take_lookup() {
  if (m_phase != Phase::lookup || m_lookup_taken || !m_lookup) return std::nullopt;
  m_lookup_taken = true;
  return m_lookup;
}

void TargetConnection::lookup_done(Result<std::optional<Secret>> found, Clock::time_point now) {
  if (m_phase != Phase::lookup || !m_lookup) return;
  m_now = now;
  if (!found) {
    m_lookup_failed = true;
    if (m_options.log)
      log("secret lookup for CHAP_N '" + m_lookup->chap_n.substr(0, 64) + "' from " + m_peer +
          " failed: " + found.error().message);
    m_registry.add(&TargetStats::lookups_failed);
  }
  std::string chap_n = m_lookup->chap_n;
  m_lookup.reset();
  const LoginRequest req = std::move(*m_lookup_req);
  m_lookup_req.reset();
  const KeyList keys = std::move(m_lookup_keys);
  m_lookup_keys = KeyList{};
  m_phase = Phase::login;
  m_auth->supply_secret(std::move(chap_n), std::move(found));
  process_request(req, keys);
  // Bytes that arrived while we waited: their turn now.
  if (m_phase == Phase::login && m_in.size() > m_in_pos) receive(ByteView(), now);
}

std::vector<std::uint64_t> TargetConnection::take_displaced() {
  std::vector<std::uint64_t> out;
  out.swap(m_displaced);
  return out;
}

Bytes TargetConnection::take_output() {
  Bytes out;
  out.swap(m_out);
  return out;
}

void TargetConnection::log(const std::string& line) const {
  if (m_options.log) m_options.log(line);
}

void TargetConnection::log_keys(const char* direction, const KeyList& keys) const {
  if (m_options.log_keys) log("  " + std::string(direction) + " " + describe_keys(keys));
}

void TargetConnection::send(const Pdu& pdu) {
  pdu.serialize_into(m_out);
}

void TargetConnection::finish() {
  m_phase = Phase::done;
  m_lookup.reset();
  m_lookup_req.reset();
  m_text_answer.clear();
  m_in.clear();
  m_in_pos = 0;
  m_auth.reset();
  leave_session();
}

void TargetConnection::leave_session() {
  if (m_tsih == 0) return;
  m_registry.leave(SessionSeat{m_tsih, m_cid, m_token});
  m_tsih = 0;
}

void TargetConnection::receive(ByteView bytes, Clock::time_point now) {
  tick(now);
  // Done, or a held answer waiting for its time: what the peer sends now is not read.
  if (m_phase == Phase::done || m_phase == Phase::delayed) return;
  if (m_phase == Phase::lookup) {
    // The initiator must wait for our answer; keep its bytes (bounded) for afterwards.
    if (m_in.size() + bytes.size() > kMaxLoginText) {
      abandon("sent more data while its CHAP response was being checked");
      return;
    }
    m_in.insert(m_in.end(), bytes.data(), bytes.data() + bytes.size());
    return;
  }
  // Skip the data segment of a PDU already rejected on its header.
  std::size_t skip = std::min(m_discard, bytes.size());
  m_discard -= skip;
  m_in.insert(m_in.end(), bytes.data() + skip, bytes.data() + bytes.size());
  while (m_phase != Phase::done && m_phase != Phase::delayed && m_phase != Phase::lookup) {
    const std::size_t available = m_in.size() - m_in_pos;
    if (available < kBhsSize) break;
    std::array<std::uint8_t, kBhsSize> bhs{};
    std::copy_n(m_in.begin() + static_cast<std::ptrdiff_t>(m_in_pos), kBhsSize, bhs.begin());
    const std::size_t body = std::size_t{bhs[4]} * 4 + padded(data_length_of(bhs));
    if (!m_header_checked) {
      const Verdict verdict = on_header(bhs);
      if (verdict == Verdict::stop) break;
      if (verdict == Verdict::skip) {  // answered on its header: drop it, and its data as it comes
        const std::size_t here = std::min(body, available - kBhsSize);
        m_in_pos += kBhsSize + here;
        m_discard = body - here;
        continue;
      }
      m_header_checked = true;
    }
    const std::size_t ahs = std::size_t{bhs[4]} * 4;
    const std::uint32_t length = data_length_of(bhs);
    const std::size_t total = kBhsSize + body;
    if (available < total) break;
    Pdu pdu;
    pdu.bhs = bhs;
    const auto data_begin = m_in.begin() + static_cast<std::ptrdiff_t>(m_in_pos + kBhsSize + ahs);
    pdu.data.assign(data_begin, data_begin + length);
    m_in_pos += total;
    m_header_checked = false;
    on_pdu(pdu);
  }
  // Compact once the consumed prefix dominates (keeps appends amortized O(1)).
  if (m_in_pos > 0 && (m_in_pos == m_in.size() || m_in_pos > m_in.size() / 2)) {
    m_in.erase(m_in.begin(), m_in.begin() + static_cast<std::ptrdiff_t>(m_in_pos));
    m_in_pos = 0;
  }
}

void TargetConnection::tick(Clock::time_point now) {
  m_now = std::max(m_now, now);
  if (m_phase == Phase::delayed) {
    if (now < m_release) return;
    m_out.insert(m_out.end(), m_held.begin(), m_held.end());
    m_held.clear();
    finish();
    return;
  }
  if (m_phase == Phase::lookup && now >= m_lookup_deadline && now < m_deadline) {
    lookup_done(
        make_error(ErrorKind::timeout, ErrorCode::secret_lookup_timeout,
                   "timed out after " + std::to_string(m_options.lookup_timeout.count()) + " ms"),
        now);
    return;
  }
  if ((m_phase != Phase::await_login && m_phase != Phase::login && m_phase != Phase::lookup) ||
      now < m_deadline)
    return;
  m_registry.add(&TargetStats::login_deadline_closed);
  const std::string why = "no full feature phase within the login deadline of " +
                          std::to_string(m_options.login_timeout.count()) + " ms";
  if (m_phase == Phase::await_login) {
    if (m_options.log) log("connection from " + m_peer + " closed before login: " + why);
    finish();
    return;
  }
  abandon(why);
}

void TargetConnection::peer_closed(const std::string& why) {
  if (m_phase == Phase::login || m_phase == Phase::lookup) {
    abandon(why);
    return;
  }
  if (m_phase == Phase::delayed) {
    m_held.clear();  // the failure was counted already; nobody is left to tell
  } else if (m_phase == Phase::await_login) {
    if (m_options.log) log("connection from " + m_peer + " closed before login: " + why);
  }
  finish();
}

void TargetConnection::abort(const std::string& reason) {
  if (m_phase == Phase::login || m_phase == Phase::lookup) {
    abandon(reason);
    return;
  }
  if (m_phase == Phase::await_login) log("connection from " + m_peer + " closed: " + reason);
  finish();
}

void TargetConnection::abandon(const std::string& why) {
  if (m_options.log) log("login from " + m_peer + " abandoned: " + why);
  m_registry.add(&TargetStats::logins_failed);
  finish();
}

// ---- framing decisions on the 48-byte header ---------------------------------------------------

TargetConnection::Verdict TargetConnection::on_header(
    const std::array<std::uint8_t, kBhsSize>& bhs) {
  const std::uint8_t opcode = opcode_of(bhs);
  const std::uint32_t length = data_length_of(bhs);
  const bool login_pdu = opcode == static_cast<std::uint8_t>(Opcode::login_request);
  const auto too_long = [length] {
    return "DataSegmentLength " + std::to_string(length) + " exceeds the limit of ";
  };
  switch (m_phase) {
    case Phase::await_login:
      if (!login_pdu) {
        // RFC 7143 §6.3: a non-login PDU before login: drop the connection.
        if (m_options.log)
          log("connection from " + m_peer + ": " + opcode_name(opcode) +
              " before login, dropping the connection");
        m_registry.add(&TargetStats::logins_failed);
        finish();
        return Verdict::stop;
      }
      if (length > kDefaultMaxRecvDataSegment) {
        if (m_options.log)
          log("connection from " + m_peer + " closed before login: " + too_long() +
              std::to_string(kDefaultMaxRecvDataSegment));
        finish();
        return Verdict::stop;
      }
      return Verdict::read;
    case Phase::login:
      if (!login_pdu) {
        // RFC 7143 §6.3: after the login started, any other PDU ends it with 0x020b.
        fail_login(m_stage,
                   {status::kInvalidDuringLogin, opcode_name(opcode) + " during login", {}});
        return Verdict::stop;
      }
      if (length > kDefaultMaxRecvDataSegment) {
        abandon(too_long() + std::to_string(kDefaultMaxRecvDataSegment));
        return Verdict::stop;
      }
      return Verdict::read;
    case Phase::full_feature: {
      if (length > kFullFeatureMaxData) {
        if (m_options.log)
          log("connection from " + m_peer + " (" + m_initiator_name + ") closed: " + too_long() +
              std::to_string(kFullFeatureMaxData));
        finish();
        return Verdict::stop;
      }
      if ((bhs[0] & 0x40) == 0) ++m_exp_cmd_sn;  // non-immediate: consumes a CmdSN
      const auto op = static_cast<Opcode>(opcode);
      if (op == Opcode::logout_request || op == Opcode::text_request) return Verdict::read;
      // RFC 7143 §4.3: a Discovery session carries only Text Requests and Logout.
      if (op == Opcode::nop_out && !m_discovery) return Verdict::read;
      send_reject(bhs);
      return Verdict::skip;
    }
    case Phase::lookup:
    case Phase::delayed:
    case Phase::done:
      break;
  }
  return Verdict::stop;
}

void TargetConnection::on_pdu(const Pdu& pdu) {
  if (m_phase == Phase::full_feature) {
    on_full_feature_pdu(pdu);
  } else {
    on_login_pdu(pdu);
  }
}

// ---- login phase -------------------------------------------------------------------------------

void TargetConnection::respond(bool transit, std::uint8_t csg, std::uint8_t nsg, std::uint16_t tsih,
                               std::uint16_t code, const KeyList& keys) {
  LoginResponse r;
  r.transit = transit;
  r.csg = csg;
  r.nsg = transit ? nsg : 0;
  r.version_max = 0;
  r.version_active = 0;
  r.isid = m_isid;
  // RFC 7143 §11.13.4: every response echoes the request's TSIH, except the final response of a
  // leading login, which carries the new session's.
  r.tsih = tsih != 0 ? tsih : m_request_tsih;
  r.itt = m_itt;
  r.stat_sn = m_stat_sn++;
  r.exp_cmd_sn = m_exp_cmd_sn;
  r.max_cmd_sn = m_exp_cmd_sn + 31;
  r.status = code;
  append_text(keys, r.data);
  log_keys("->", keys);
  send(encode(std::move(r)));
}

void TargetConnection::fail_login(std::uint8_t csg, const LoginFailure& failure, Millis delay) {
  respond(false, csg, 0, 0, failure.status, failure.keys);
  if (m_options.log)
    log("login from " + m_peer + (m_initiator_name.empty() ? "" : " (" + m_initiator_name + ")") +
        " failed: " + status_text(failure.status) + ": " + failure.reason +
        (delay.count() > 0 ? " (answered after " + std::to_string(delay.count()) + " ms)" : ""));
  m_registry.add(&TargetStats::logins_failed);
  if (delay.count() <= 0) {
    finish();
    return;
  }
  // LoginGuard: the answer waits; tick() releases it at m_release.
  m_held = take_output();
  m_auth.reset();
  m_in.clear();
  m_in_pos = 0;
  m_release = m_now + delay;
  m_phase = Phase::delayed;
  m_registry.add(&TargetStats::answers_delayed);
}

// A failed CHAP exchange (0x0201): counted by the guard when the initiator named an account
// (a guess), answered after the guard's delay.
void TargetConnection::fail_authentication(const std::string& reason, const KeyList& reject,
                                           const std::string* chap_n, bool count) {
  Millis delay{0};
  if (m_guard != nullptr && chap_n != nullptr) {
    if (count) {
      const LoginGuard::Failure failure = m_guard->failed(m_source, *chap_n, m_now);
      delay = failure.delay;
      if (failure.new_lockout) {
        m_registry.add(&TargetStats::lockouts);
        const LoginGuardPolicy& p = m_guard->policy();
        if (m_options.log)
          log("lockout: " + failure.what + " for " + std::to_string(p.lockout.count() / 1000) +
              " s after repeated authentication failures (every login from it answered 0x0201)");
      }
    } else if (m_guard->locked(m_source, *chap_n, m_now)) {
      delay = m_guard->policy().max_delay;
    }
  }
  fail_login(m_stage, {status::kAuthenticationFailure, reason, reject}, delay);
}

// RFC 7143 §11.13.5 0x0202: an authenticated initiator outside the target's ACL.
bool TargetConnection::authorized() {
  if (m_discovery || m_target == nullptr || m_target->allows(m_initiator_name)) return true;
  m_registry.add(&TargetStats::logins_unauthorized);
  fail_login(m_stage, {status::kAuthorizationFailure,
                       "InitiatorName is not in the ACL of " + m_target->name.substr(0, 223),
                       {}});
  return false;
}

// Every request of a login repeats ISID, TSIH, ITT, CID and sits in the current stage.
bool TargetConnection::check_same_login(const LoginRequest& req) {
  if (!m_started) return true;
  if (req.isid != m_isid || req.tsih != m_request_tsih || req.cid != m_cid) {
    fail_login(m_stage,
               {status::kInitiatorError, "login request changed ISID, TSIH or CID mid-login", {}});
    return false;
  }
  if (req.csg != m_stage) {
    fail_login(m_stage, {status::kInitiatorError,
                         "login request in stage " + std::to_string(req.csg) +
                             " while the login is in stage " + std::to_string(m_stage),
                         {}});
    return false;
  }
  m_itt = req.itt;
  return true;
}

void TargetConnection::on_login_pdu(const Pdu& pdu) {
  auto decoded = decode_login_request(pdu);
  if (!decoded) {
    if (!m_started) {
      m_isid = Isid{};
      m_itt = pdu.itt();
    }
    fail_login(m_started ? m_stage : 0, {status::kInitiatorError, decoded.error().message, {}});
    return;
  }
  const LoginRequest& req = *decoded;
  if ((pdu.bhs[0] & 0x40) == 0) {
    // RFC 7143 §11.12: the I bit of a Login Request is always 1 (tgt also refuses it).
    if (!m_started) {
      m_isid = req.isid;
      m_itt = req.itt;
      m_request_tsih = req.tsih;
    }
    fail_login(m_started ? m_stage : req.csg,
               {status::kInitiatorError, "Login Request without the immediate (I) bit", {}});
    return;
  }
  if (m_phase == Phase::await_login) {
    m_phase = Phase::login;
    m_isid = req.isid;
    m_request_tsih = req.tsih;
    m_cid = req.cid;
    m_itt = req.itt;
    m_exp_cmd_sn = req.cmd_sn;
    m_stage = req.csg;
  } else if (!check_same_login(req)) {
    return;
  }
  if (auto appended = m_text.append(ByteView(req.data)); !appended) {
    fail_login(m_stage, {status::kOutOfResources, appended.error().message, {}});
    return;
  }
  // RFC 7143 §6.3: each C=1 PDU is acknowledged by an empty response.
  if (req.cont) {
    respond(false, m_stage, 0, 0, status::kSuccess, KeyList{});
    m_started = true;
    return;
  }
  m_started = true;
  on_complete_request(req);
}

// Checks the first request's declarations and the session it joins (RFC 7143 §6.3.1).
bool TargetConnection::admit(const LoginRequest& req, const KeyList& keys) {
  if (req.version_min > 0) {
    fail_login(req.csg, {status::kUnsupportedVersion,
                         "initiator needs version " + std::to_string(req.version_min),
                         {}});
    return false;
  }
  const std::string* name = keys.find("InitiatorName");
  if (name == nullptr || name->empty()) {
    fail_login(req.csg,
               {status::kMissingParameter, "no InitiatorName in the first login request", {}});
    return false;
  }
  m_initiator_name = *name;
  const std::string* type = keys.find("SessionType");
  const std::string session_type = type != nullptr ? *type : "Normal";
  if (session_type != "Normal" && session_type != "Discovery") {
    fail_login(req.csg,
               {status::kSessionTypeNotSupported, "SessionType=" + session_type.substr(0, 32), {}});
    return false;
  }
  m_discovery = session_type == "Discovery";
  if (!m_access) {
    std::shared_ptr<const HashBackend> backend = m_options.backend;
    if (!backend) {
      auto made = make_default_backend();
      if (made) backend = std::move(made).value();
    }
    auto valid = ValidTargetAccess::create(access_of(m_options), std::move(backend));
    if (!valid) {
      fail_login(req.csg, {status::kTargetError, valid.error().message, {}});
      return false;
    }
    m_access = std::move(valid).value();
  }
  const TargetAccess& access = m_access->access();
  std::shared_ptr<const ValidChapTargetConfig> chap;
  if (m_discovery) {
    if (!access.discovery_enabled) {
      fail_login(req.csg,
                 {status::kSessionTypeNotSupported, "discovery sessions are disabled here", {}});
      return false;
    }
    chap = m_access->discovery_chap();
  } else {
    const std::string* target = keys.find("TargetName");
    if (target == nullptr) {
      fail_login(req.csg, {status::kMissingParameter, "no TargetName in a Normal session", {}});
      return false;
    }
    m_target = access.find(*target);
    if (m_target == nullptr) {
      fail_login(
          req.csg,
          {status::kTargetNotFound, "unknown TargetName '" + target->substr(0, 223) + "'", {}});
      return false;
    }
    chap = m_access->chap_of(*m_target);
  }
  if (chap) {
    m_auth = std::make_unique<TargetAuthenticator>(std::move(chap));  // a fresh exchange
  } else if (!authorized()) {
    return false;  // no authentication: the ACL applies at once
  }
  m_leading = req.tsih == 0;
  if (!m_leading) {
    auto joinable = m_registry.check_join(m_isid, m_initiator_name, req.tsih);
    if (!joinable) {
      fail_login(req.csg,
                 {joinable.error().kind == ErrorKind::rejected ? status::kSessionDoesNotExist
                                                               : status::kTooManyConnections,
                  joinable.error().message,
                  {}});
      return false;
    }
  }
  if (m_auth) {
    m_auth->set_login_context(m_initiator_name, m_discovery ? std::string() : m_target->name,
                              m_discovery);
  }
  return true;
}

void TargetConnection::on_complete_request(const LoginRequest& req) {
  auto keys = parse_text(m_text.bytes());
  m_text.clear();
  if (!keys) {
    fail_login(m_stage, {status::kInitiatorError, "login text: " + keys.error().message, {}});
    return;
  }
  log_keys("<-", *keys);
  if (m_first_request) {
    if (!admit(req, *keys)) return;
    m_first_request = false;
  }
  if (const std::string* mrdsl = keys->find("MaxRecvDataSegmentLength")) {
    // RFC 7143 §13.12: 512 to 2^24-1; what we may send in one PDU from now on.
    auto n = parse_number(*mrdsl, 0xffffff);
    if (n && *n >= 512) m_peer_mrdsl = *n;
  }
  if (m_stage == kSecurityStage && m_auth) {
    if (auto chap_n = m_auth->needs_lookup(*keys)) {
      // The provider may be slow: the driver runs the lookup elsewhere (take_lookup()).
      m_lookup = SecretLookup{m_auth->exchange().config().provider, *chap_n, m_initiator_name,
                              m_discovery ? std::string() : m_target->name, m_discovery};
      m_lookup_taken = false;
      m_lookup_req = req;
      m_lookup_keys = std::move(keys).value();
      m_lookup_deadline = m_now + m_options.lookup_timeout;
      m_phase = Phase::lookup;
      return;
    }
  }
  process_request(req, *keys);
}

void TargetConnection::process_request(const LoginRequest& req, const KeyList& received) {
  const KeyList* keys = &received;
  KeyList out;
  bool may_transit = true;
  if (m_stage == kSecurityStage) {
    if (m_auth) {
      const std::string* chap_n = keys->find("CHAP_N");
      auto step = m_auth->step(*keys);
      if (!step) {
        fail_authentication(step.error().message, m_auth->reject_keys(), chap_n, !m_lookup_failed);
        return;
      }
      out = std::move(step).value();
      may_transit = m_auth->state() == AuthStatus::succeeded;
      if (may_transit && chap_n != nullptr && m_guard != nullptr) {
        // A locked-out source learns nothing, not even that this guess was right.
        if (m_guard->locked(m_source, *chap_n, m_now)) {
          fail_authentication("source is locked out after repeated failures", {}, chap_n, false);
          return;
        }
        m_guard->succeeded(m_source, *chap_n);
      }
      if (may_transit && !authorized()) return;
    } else if (const std::string* method = keys->find("AuthMethod")) {
      // No CHAP configured: only AuthMethod=None is acceptable.
      if (method->find("None") == std::string::npos) {
        fail_login(m_stage, {status::kAuthenticationFailure,
                             "initiator requires authentication; this target has none configured",
                             KeyList{{"AuthMethod", "Reject"}}});
        return;
      }
      out.set("AuthMethod", "None");
    }
  } else {
    // Operational stage (CSG=1): authentication must be complete, and no auth keys here.
    if (m_auth && m_auth->state() != AuthStatus::succeeded) {
      fail_login(m_stage, {status::kAuthenticationFailure,
                           "initiator skipped the security stage, but CHAP is required",
                           {}});
      return;
    }
    for (const auto& kv : *keys) {
      if (is_auth_key(kv.key)) {
        fail_login(m_stage, {status::kInitiatorError, kv.key + " outside the security stage", {}});
        return;
      }
    }
  }
  append_operational_answers(*keys, m_leading, out, nullptr);
  // RFC 7143 §13.9: the first response of a Normal session carries TargetPortalGroupTag.
  if (!m_sent_tpgt && !m_discovery) {
    out.set("TargetPortalGroupTag", "1");
    m_sent_tpgt = true;
  }
  // Our own declaration of what we can receive, once in the operational stage.
  if (m_stage == kOperationalStage && !m_declared_mrdsl) {
    out.set("MaxRecvDataSegmentLength", std::to_string(kFullFeatureMaxData));
    m_declared_mrdsl = true;
  }
  // RFC 7143 §13.12: a login PDU carries at most 8192 data bytes (the initiator's default
  // MaxRecvDataSegmentLength) and we never continue a response (C=1), so answers that would not
  // fit end the login; only a flood of unknown keys gets here.
  if (text_size(out) > kDefaultMaxRecvDataSegment) {
    fail_login(m_stage, {status::kInitiatorError,
                         "answers to " + std::to_string(keys->size()) +
                             " keys would exceed one 8192-byte login response",
                         {}});
    return;
  }

  const bool transit = req.transit && may_transit;
  const bool to_ffp = transit && req.nsg == kFullFeaturePhase;
  std::uint16_t tsih = 0;
  if (to_ffp) {
    auto joined =
        m_registry.join(m_isid, m_initiator_name, m_leading, m_request_tsih, m_cid, m_discovery);
    if (!joined) {
      fail_login(m_stage, {status::kTooManyConnections, joined.error().message, {}});
      return;
    }
    tsih = joined->seat.tsih;
    m_tsih = tsih;
    m_token = joined->seat.token;
    m_displaced = std::move(joined->displaced);
    if (!m_displaced.empty() && m_options.log) {
      log("login from " + m_peer + " (" + m_initiator_name + ") reinstates " +
          (m_leading ? "its session: " : "its connection: ") + std::to_string(m_displaced.size()) +
          " old connection(s) to close");
    }
  }
  respond(transit, m_stage, req.nsg, tsih, status::kSuccess, out);
  if (to_ffp) {
    std::string algorithm = "none";
    if (m_auth && m_auth->algorithm())
      algorithm = std::string(algorithm_name(*m_auth->algorithm()));
    m_registry.add(&TargetStats::logins_succeeded);
    if (m_options.log && m_options.log_logins)
      log("login from " + m_peer + " (" + m_initiator_name + ") succeeded: algorithm=" + algorithm +
          " mutual=" + (m_auth && m_auth->mutual() ? "yes" : "no") +
          " tsih=" + std::to_string(tsih) + " cid=" + std::to_string(m_cid) +
          (m_leading ? " (leading)" : " (added connection)"));
    m_auth.reset();  // challenges and state wiped; nothing of the login is kept
    m_phase = Phase::full_feature;
    return;
  }
  if (transit) m_stage = req.nsg;
}

}  // namespace multichap
