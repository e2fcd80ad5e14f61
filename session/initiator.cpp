// SPDX-License-Identifier: BSD-2-Clause
#include "session/initiator.h"

#include <array>
#include <thread>

#include "session/initiator_login.h"

#include "auth/encoding.h"
#include "session/discovery.h"
#include "session/operational.h"

namespace multichap {

InitiatorSession::InitiatorSession(InitiatorOptions options,
                                   std::unique_ptr<InitiatorAuthenticator> auth, Isid isid)
    : m_options(std::move(options)), m_auth(std::move(auth)), m_isid(isid) {}

InitiatorSession::~InitiatorSession() = default;

Result<std::unique_ptr<InitiatorSession>> InitiatorSession::create(
    InitiatorOptions options, std::unique_ptr<InitiatorAuthenticator> auth) {
  if (!auth)
    return make_error(ErrorKind::usage, ErrorCode::config_missing,
                      "an initiator session needs an authenticator");
  if (options.session_type == "Normal" && options.target_name.empty()) {
    return make_error(ErrorKind::usage, ErrorCode::target_name_missing,
                      "a Normal session needs a target name (IQN)");
  }
  if (options.initiator_name.empty())
    return make_error(ErrorKind::usage, ErrorCode::initiator_name_missing,
                      "initiator name is empty");
  if (options.max_attempts == 0)
    return make_error(ErrorKind::usage, ErrorCode::max_attempts_zero,
                      "at least one login attempt is needed");
  // ISID type 10b "random" (RFC 7143 §11.12.5): A=0, B and C random, qualifier D=0.
  Isid isid{};
  std::uint8_t random[3];
  MULTICHAP_GUARD(auth->backend().random(MutableByteView(random, 3)));
  isid[0] = 0x80;
  isid[1] = random[0];
  isid[2] = random[1];
  isid[3] = random[2];
  return std::unique_ptr<InitiatorSession>(
      new InitiatorSession(std::move(options), std::move(auth), isid));
}

void InitiatorSession::note(const std::string& line) const {
  if (m_options.transcript) m_options.transcript(line);
}

Result<void> InitiatorSession::login_on(Link& link, LoginAuthenticator& auth, bool leading,
                                        std::uint16_t cid, std::optional<AttemptFailure>& failure) {
  InitiatorLoginParams params;
  params.initiator_name = m_options.initiator_name;
  params.target_name = m_options.target_name;
  params.session_type = m_options.session_type;
  params.isid = m_isid;
  params.leading = leading;
  params.tsih = m_tsih;
  params.cid = cid;
  params.itt = ++m_itt;
  params.cmd_sn = m_cmd_sn;
  params.transcript = m_options.transcript;
  InitiatorLogin login(std::move(params), auth);
  login.start();
  // The machine's blocking driver: send what it queued, then wait (each response within the
  // login timeout) for what the target says.
  std::array<std::uint8_t, 16384> buffer{};
  while (!login.done()) {
    if (login.has_output()) {
      if (auto sent =
              link.conn.write_all(login.take_output(), Clock::now() + m_options.login_timeout);
          !sent) {
        login.transport_failed(sent.error());
      }
      continue;
    }
    auto n = link.conn.read_some(buffer, Clock::now() + m_options.login_timeout);
    if (!n) {
      login.transport_failed(n.error());
      continue;
    }
    login.receive(ByteView(buffer.data(), *n));
  }
  link.exp_stat_sn = login.exp_stat_sn();
  if (login.last_status()) m_last_status = login.last_status();
  if (const auto& f = login.failure()) {
    failure = AttemptFailure{f->error, f->retry, f->redirect, f->refusal};
    return f->error;
  }
  if (leading) {
    m_tsih = login.tsih();
    m_negotiated = login.negotiated();
  }
  return {};
}

OfferMemory& InitiatorSession::memory() const {
  return m_options.offer_memory ? *m_options.offer_memory : OfferMemory::process();
}

std::string InitiatorSession::memory_key() const {
  return m_options.portal.to_string() + " " + m_options.session_type + " " + m_options.target_name;
}

Result<void> InitiatorSession::login() {
  if (!m_connections.empty())
    return make_error(ErrorKind::usage, ErrorCode::already_logged_in,
                      "session is already logged in");
  Endpoint portal = m_options.portal;
  Error last = make_error(ErrorKind::internal, ErrorCode::generic_internal, "no attempt made");
  const ChapNumbering numbering = m_auth->config().policy.numbering;
  OfferFallback plan(m_auth->usable());
  (void)plan.start_from(m_auth->offer());  // an offer narrowed by the caller
  if (m_options.offer_fallback && !m_auth->config().none_only()) {
    if (auto remembered = memory().find(memory_key()); remembered && plan.start_from(*remembered)) {
      if (m_auth->set_offer(plan.current())) {
        note("offer: CHAP_A=" + chap_a_list(plan.current(), numbering) +
             ", remembered for this portal and target");
      }
    }
  }
  m_attempts = 0;
  m_fallback_steps = 0;
  unsigned tries = 0;  // attempts that count against max_attempts
  while (tries < m_options.max_attempts) {
    ++tries;
    ++m_attempts;
    const std::string budget = std::to_string(m_options.max_attempts + m_fallback_steps);
    if (m_attempts > 1) std::this_thread::sleep_for(m_options.retry_delay);
    // The rewind: every leading-login attempt starts from a clean authenticator (EDK2's
    // IScsiSessionResetAuthData), before the first key is sent.
    m_auth->rewind();
    m_tsih = 0;
    note("attempt " + std::to_string(m_attempts) + "/" + budget + ": connecting to " +
         portal.to_string() + " (authenticator rewound)");
    auto conn = m_options.connector ? m_options.connector()
                                    : Connection::connect(portal, m_options.connect_timeout);
    if (!conn) {
      last = conn.error();
      note("attempt " + std::to_string(m_attempts) + " failed: " + last.message);
      continue;
    }
    Link link{std::move(conn).value(), 0};
    std::optional<AttemptFailure> failure;
    if (login_on(link, *m_auth, true, 0, failure)) {
      m_connections.emplace(std::uint16_t{0}, std::move(link));
      if (m_fallback_steps > 0) memory().remember(memory_key(), m_auth->offer());
      return {};
    }
    link.conn.close();
    last = failure ? failure->error
                   : make_error(ErrorKind::internal, ErrorCode::generic_internal,
                                "login failed without a reason");
    note("attempt " + std::to_string(m_attempts) + " failed: " + last.message);
    if (failure && failure->refusal != OfferRefusal::none && m_options.offer_fallback) {
      const std::vector<Algorithm> refused = m_auth->offer();
      if (auto narrower = plan.next(failure->refusal); narrower && m_auth->set_offer(*narrower)) {
        ++m_fallback_steps;
        --tries;  // a fallback attempt does not use up a retry
        note(std::string("fallback: target refused ") +
             (failure->refusal == OfferRefusal::sha256_as_7
                  ? "our SHA-256 answer to CHAP_A=7 (it may number SHA-1 as 7)"
                  : "CHAP_A=" + chap_a_list(refused, numbering)) +
             ", offering " + chap_a_list(*narrower, numbering));
        continue;
      }
      note("fallback: no narrower offer left within the allowed " +
           format_algorithm_list(m_auth->usable()));
    }
    if (!failure || !failure->retry) return last;
    if (failure->redirect) portal = *failure->redirect;
  }
  return last;
}

Result<std::uint16_t> InitiatorSession::add_connection() {
  if (m_connections.empty() || m_tsih == 0)
    return make_error(ErrorKind::usage, ErrorCode::not_logged_in,
                      "add_connection needs a logged-in session");
  // RFC 7143 §13.2: the session may not exceed the MaxConnections the leading login negotiated
  // (tgt, for one, answers 1 and would otherwise let the extra connection in).
  if (const std::string* max = m_negotiated.find("MaxConnections")) {
    const auto limit = parse_number(*max, 65535);
    if (limit && m_connections.size() >= *limit) {
      return make_error(ErrorKind::policy, ErrorCode::max_connections_reached,
                        "the target allows " + *max +
                            " connection(s) per session (MaxConnections=" + *max +
                            "): not adding another");
    }
  }
  const std::uint16_t cid = m_next_cid++;
  note("adding connection cid=" + std::to_string(cid) +
       " to session tsih=" + std::to_string(m_tsih));
  MULTICHAP_ASSIGN_OR_RETURN(Connection conn,
                             Connection::connect(m_options.portal, m_options.connect_timeout));
  Link link{std::move(conn), 0};
  // A separate exchange: fresh challenges, and the session's own authenticator is left alone.
  const auto auth = m_auth->for_connection();
  std::optional<AttemptFailure> failure;
  MULTICHAP_GUARD(login_on(link, *auth, false, cid, failure));
  m_connections.emplace(cid, std::move(link));
  return cid;
}

Result<std::vector<DiscoveredTarget>> InitiatorSession::send_targets(std::string_view what) {
  constexpr std::size_t kMaxText = std::size_t{1} << 20;
  constexpr int kMaxPdus = 256;
  const auto it = m_connections.find(0);
  if (it == m_connections.end() || m_options.session_type != "Discovery")
    return make_error(ErrorKind::usage, ErrorCode::not_logged_in,
                      "SendTargets needs a logged-in Discovery session");
  Link& link = it->second;
  TextRequest req;
  req.itt = ++m_itt;
  req.cmd_sn = m_cmd_sn++;  // not immediate: it takes a command number
  req.exp_stat_sn = link.exp_stat_sn;
  const std::string text = build_text(KeyList{{"SendTargets", std::string(what)}});
  req.data.assign(text.begin(), text.end());
  note("-> [text] SendTargets=" + std::string(what));
  const auto deadline = Clock::now() + m_options.login_timeout;
  MULTICHAP_GUARD(write_pdu(link.conn, encode(req), deadline));
  Bytes answer;
  for (int n = 0;; ++n) {
    if (n == kMaxPdus)
      return protocol_error(ErrorCode::send_targets_too_long,
                            "SendTargets answer spans over 256 PDUs");
    MULTICHAP_ASSIGN_OR_RETURN(const Pdu pdu, read_pdu(link.conn, 262144, deadline));
    if (pdu.opcode() == static_cast<std::uint8_t>(Opcode::reject))
      return make_error(ErrorKind::rejected, ErrorCode::send_targets_rejected,
                        "the target rejected our SendTargets request");
    MULTICHAP_ASSIGN_OR_RETURN(const TextResponse resp, decode_text_response(pdu));
    if (resp.itt != req.itt)
      return protocol_error(ErrorCode::itt_mismatch,
                            "text response for another task (ITT mismatch)");
    link.exp_stat_sn = resp.stat_sn + 1;
    if (answer.size() + resp.data.size() > kMaxText)
      return protocol_error(ErrorCode::send_targets_too_long, "SendTargets answer over 1 MiB");
    answer.insert(answer.end(), resp.data.begin(), resp.data.end());
    if (resp.final) break;
    // C=1 (or F=0): ask for the rest with an empty request carrying the target's TTT.
    TextRequest more;
    more.itt = req.itt;
    more.ttt = resp.ttt;
    more.cmd_sn = m_cmd_sn++;
    more.exp_stat_sn = link.exp_stat_sn;
    MULTICHAP_GUARD(write_pdu(link.conn, encode(more), deadline));
  }
  MULTICHAP_ASSIGN_OR_RETURN(auto targets, parse_send_targets(ByteView(answer)));
  for (const auto& t : targets) {
    std::string line = "<- [text] TargetName=" + t.name;
    for (const auto& a : t.addresses) line += " TargetAddress=" + a;
    note(line);
  }
  return targets;
}

Result<void> InitiatorSession::ping(std::uint16_t cid) {
  const auto it = m_connections.find(cid);
  if (it == m_connections.end())
    return make_error(ErrorKind::usage, ErrorCode::connection_unknown,
                      "no connection with that CID");
  NopOut nop;
  nop.itt = ++m_itt;
  nop.cmd_sn = m_cmd_sn;
  nop.exp_stat_sn = it->second.exp_stat_sn;
  nop.data = {'p', 'i', 'n', 'g'};
  const auto deadline = Clock::now() + m_options.login_timeout;
  MULTICHAP_GUARD(write_pdu(it->second.conn, encode(nop), deadline));
  MULTICHAP_ASSIGN_OR_RETURN(const Pdu pdu, read_pdu(it->second.conn, 262144, deadline));
  MULTICHAP_ASSIGN_OR_RETURN(const NopIn in, decode_nop_in(pdu));
  if (in.itt != nop.itt || in.data != nop.data)
    return protocol_error(ErrorCode::nop_mismatch, "NOP-In does not match our ping");
  it->second.exp_stat_sn = in.stat_sn + 1;
  return {};
}

Result<void> InitiatorSession::logout() {
  Result<void> result;
  // Close the added connections first (reason 1), then the session on the leading one (reason 0).
  for (auto it = m_connections.rbegin(); it != m_connections.rend(); ++it) {
    const std::uint16_t cid = it->first;
    Link& link = it->second;
    LogoutRequest req;
    req.reason = cid == 0 ? 0 : 1;
    req.itt = ++m_itt;
    req.cid = cid;
    req.cmd_sn = m_cmd_sn;
    req.exp_stat_sn = link.exp_stat_sn;
    const auto deadline = Clock::now() + m_options.login_timeout;
    bool closed_instead = false;
    auto done = [&]() -> Result<void> {
      MULTICHAP_GUARD(write_pdu(link.conn, encode(req), deadline));
      auto pdu = read_pdu(link.conn, 262144, deadline);
      if (!pdu && pdu.error().code == ErrorCode::connection_closed) {
        // The target ended the connection (and with it the session) on our Logout without
        // answering it, as istgt 0.4 now and then does: what we asked for has happened.
        closed_instead = true;
        return {};
      }
      if (!pdu) return pdu.error();
      MULTICHAP_ASSIGN_OR_RETURN(const LogoutResponse resp, decode_logout_response(*pdu));
      if (resp.response != 0) {
        return protocol_error(ErrorCode::logout_refused,
                              "logout refused with response " + std::to_string(resp.response));
      }
      return {};
    }();
    note("logout cid=" + std::to_string(cid) +
         (!done            ? ": " + done.error().message
          : closed_instead ? ": the target closed the connection instead of answering (logged out)"
                           : ": ok"));
    if (!done && result) result = done;
    link.conn.close();
  }
  m_connections.clear();
  m_tsih = 0;
  return result;
}

}  // namespace multichap
