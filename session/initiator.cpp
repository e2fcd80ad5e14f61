#include "session/initiator.h"

#include <thread>

#include "auth/encoding.h"
#include "session/discovery.h"
#include "session/operational.h"

namespace multichap {

namespace {

const char* stage_name(std::uint8_t stage) {
  switch (stage) {
    case kSecurityStage:
      return "security";
    case kOperationalStage:
      return "operational";
    case kFullFeaturePhase:
      return "full-feature";
    default:
      return "reserved";
  }
}

// Whether a failure status says the target could not handle our offer: right after our CHAP_A
// (any failure status: LIO before 3.15 answers 0x0201 to a list, tgt 0x0200 to unknown values,
// istgt 0x0201 to a lone unknown value), or a 0x0200 right after our SHA-256 answer to CHAP_A=7
// (tgt and IET number SHA-1 as 7 and refuse a 32-byte response).
// A status that comes with CHAP_A=Reject is a well-formed "none of these" from a target that read
// our whole list: a narrower offer would only be refused again, so no fallback.
OfferRefusal refusal_of(std::uint8_t stage, const KeyList& sent, const LoginAuthenticator& auth,
                        const LoginResponse& resp) {
  const std::uint16_t status = resp.status;
  if (stage != kSecurityStage) return OfferRefusal::none;
  if (static_cast<std::uint8_t>(status >> 8) == 1) return OfferRefusal::none;  // a redirect
  if (const auto keys = parse_text(resp.data); keys) {
    const std::string* a = keys->find("CHAP_A");
    if (a != nullptr && *a == "Reject") return OfferRefusal::none;
  }
  if (sent.contains("CHAP_A") && !sent.contains("CHAP_R")) return OfferRefusal::after_offer;
  if (status == status::kInitiatorError && sent.contains("CHAP_R") &&
      auth.algorithm() == Algorithm::sha256) {
    return OfferRefusal::sha256_as_7;  // SHA-256 is only ever numbered 7 (IANA)
  }
  return OfferRefusal::none;
}

}  // namespace

InitiatorSession::InitiatorSession(InitiatorOptions options,
                                   std::unique_ptr<InitiatorAuthenticator> auth, Isid isid)
    : m_options(std::move(options)), m_auth(std::move(auth)), m_isid(isid) {}

InitiatorSession::~InitiatorSession() = default;

Result<std::unique_ptr<InitiatorSession>> InitiatorSession::create(
    InitiatorOptions options, std::unique_ptr<InitiatorAuthenticator> auth) {
  if (!auth) return make_error(ErrorKind::usage, "an initiator session needs an authenticator");
  if (options.session_type == "Normal" && options.target_name.empty()) {
    return make_error(ErrorKind::usage, "a Normal session needs a target name (IQN)");
  }
  if (options.initiator_name.empty())
    return make_error(ErrorKind::usage, "initiator name is empty");
  if (options.max_attempts == 0)
    return make_error(ErrorKind::usage, "at least one login attempt is needed");
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

Result<void> InitiatorSession::send_request(Link& link, bool transit, std::uint8_t csg,
                                            std::uint8_t nsg, bool leading, std::uint16_t cid,
                                            const KeyList& keys) {
  const std::string text = build_text(keys);
  note(std::string("-> [") + stage_name(csg) +
       (transit ? " T=1 -> " + std::string(stage_name(nsg)) : " T=0") + "] " + describe_keys(keys));
  std::size_t offset = 0;
  do {
    const std::size_t chunk =
        std::min<std::size_t>(text.size() - offset, kDefaultMaxRecvDataSegment);
    const bool more = offset + chunk < text.size();
    LoginRequest r;
    r.transit = transit && !more;  // C=1 forces T=0
    r.cont = more;
    r.csg = csg;
    r.nsg = r.transit ? nsg : 0;
    r.isid = m_isid;
    r.tsih = leading ? 0 : m_tsih;
    r.itt = m_itt;
    r.cid = cid;
    r.cmd_sn = m_cmd_sn;
    r.exp_stat_sn = link.exp_stat_sn;
    r.data.assign(text.begin() + static_cast<long>(offset),
                  text.begin() + static_cast<long>(offset + chunk));
    MULTICHAP_GUARD(write_pdu(link.conn, encode(r), Clock::now() + m_options.login_timeout));
    offset += chunk;
    if (more) {  // the target acknowledges each C=1 PDU with an empty response
      MULTICHAP_ASSIGN_OR_RETURN(const LoginResponse ack, read_response(link, leading, cid, csg));
      if (!ack.data.empty() || ack.transit) {
        return make_error(ErrorKind::protocol, "target answered a continued request with data");
      }
    }
  } while (offset < text.size());
  return {};
}

Result<LoginResponse> InitiatorSession::read_response(Link& link, bool leading, std::uint16_t cid,
                                                      std::uint8_t csg) {
  (void)cid;
  MULTICHAP_ASSIGN_OR_RETURN(Pdu pdu, read_pdu(link.conn, kDefaultMaxRecvDataSegment,
                                               Clock::now() + m_options.login_timeout));
  if (pdu.opcode() != static_cast<std::uint8_t>(Opcode::login_response)) {
    return make_error(ErrorKind::protocol,
                      "target sent a " + opcode_name(pdu.opcode()) + " during login");
  }
  MULTICHAP_ASSIGN_OR_RETURN(LoginResponse r, decode_login_response(pdu));
  link.exp_stat_sn = r.stat_sn + 1;
  if (r.status == status::kSuccess) {
    // (A failure status ends the login whatever it echoes; some targets zero these fields.)
    if (r.itt != m_itt || r.isid != m_isid) {
      return make_error(ErrorKind::protocol,
                        "login response for another task or session (ITT/ISID mismatch)");
    }
    if (r.csg != csg)
      return make_error(ErrorKind::protocol, "login response in another stage than our request");
    if (r.version_active != 0)
      return make_error(ErrorKind::protocol, "target chose an unknown iSCSI version");
    if (r.transit && !leading && r.tsih != m_tsih) {
      return make_error(ErrorKind::protocol, "target changed the TSIH of a non-leading login");
    }
  }
  return r;
}

Result<void> InitiatorSession::login_on(Link& link, LoginAuthenticator& auth, bool leading,
                                        std::uint16_t cid, std::optional<AttemptFailure>& failure) {
  auto fail = [&](Error error, bool retry) -> Result<void> {
    failure = AttemptFailure{error, retry, std::nullopt};
    return error;
  };
  ++m_itt;
  std::uint8_t stage = kSecurityStage;
  KeyList out{{"InitiatorName", m_options.initiator_name}, {"SessionType", m_options.session_type}};
  if (m_options.session_type == "Normal") out.set("TargetName", m_options.target_name);
  auto first = auth.step(KeyList{});
  if (!first) return fail(first.error(), false);
  out.merge(*first);
  bool transit = false;
  std::uint8_t nsg = kOperationalStage;
  KeyList offered;
  KeyList negotiated;

  KeyList sent;  // what the last request carried
  while (true) {
    if (auto written = send_request(link, transit, stage, nsg, leading, cid, out); !written) {
      return fail(written.error(), true);
    }
    sent = out;
    // Read the response, following C=1 continuations with empty requests.
    std::string text;
    LoginResponse resp;
    while (true) {
      auto r = read_response(link, leading, cid, stage);
      if (!r) {
        const bool io = r.error().kind == ErrorKind::io || r.error().kind == ErrorKind::timeout;
        auto result = fail(r.error(), io);
        // A close right after our CHAP_A (not a timeout: a target that stalls may be slow).
        if (r.error().kind == ErrorKind::io && stage == kSecurityStage && sent.contains("CHAP_A"))
          failure->refusal = OfferRefusal::after_offer;
        return result;
      }
      resp = std::move(r).value();
      if (resp.status != status::kSuccess) break;
      text.append(resp.data.begin(), resp.data.end());
      if (text.size() > kMaxLoginText)
        return fail(make_error(ErrorKind::protocol, "login text over 64 KiB"), false);
      if (!resp.cont) break;
      LoginRequest more;
      more.csg = stage;
      more.isid = m_isid;
      more.tsih = leading ? 0 : m_tsih;
      more.itt = m_itt;
      more.cid = cid;
      more.cmd_sn = m_cmd_sn;
      more.exp_stat_sn = link.exp_stat_sn;
      if (auto written = write_pdu(link.conn, encode(more), Clock::now() + m_options.login_timeout);
          !written) {
        return fail(written.error(), true);
      }
    }
    if (resp.status != status::kSuccess) {
      if (leading) m_last_status = resp.status;
      note("<- status " + status_text(resp.status));
      // Whether the failure is about our offer (session/offer_fallback.h): kept in `failure` by
      // the returns below.
      const OfferRefusal refusal = refusal_of(stage, sent, auth, resp);
      const auto refuse = [&](Error error, bool retry) -> Result<void> {
        failure = AttemptFailure{error, retry, std::nullopt, refusal};
        return error;
      };
      const std::uint8_t cls = static_cast<std::uint8_t>(resp.status >> 8);
      if (cls == 1) {
        auto keys = parse_text(resp.data);
        const std::string* address = keys ? keys->find("TargetAddress") : nullptr;
        auto ep = address != nullptr ? target_address_endpoint(*address) : std::nullopt;
        if (!ep)
          return refuse(make_error(ErrorKind::protocol, "redirect without a usable TargetAddress"),
                        false);
        failure = AttemptFailure{
            make_error(ErrorKind::rejected, "target redirected us to " + ep->to_string()), true, ep,
            OfferRefusal::none};
        return failure->error;
      }
      if (resp.status == status::kAuthenticationFailure) {
        return refuse(
            make_error(ErrorKind::authentication,
                       "authentication failed: the target answered " + status_text(resp.status)),
            false);
      }
      std::string hint;
      if (refusal == OfferRefusal::sha256_as_7) {
        // tgt and IET number SHA-1 as CHAP_A 7 and refuse a SHA-256 answer with 0x0200.
        hint =
            " (if this is tgt or IET, which take CHAP_A=7 to mean SHA-1, use --legacy-tgt-sha1 or "
            "leave sha256 out of --algs)";
      }
      return refuse(make_error(ErrorKind::rejected,
                               "the target refused the login: " + status_text(resp.status) + hint),
                    cls == 3);
    }
    auto keys =
        parse_text(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    if (!keys)
      return fail(make_error(ErrorKind::protocol, "target's login text: " + keys.error().message),
                  false);
    note(std::string("<- [") + stage_name(resp.csg) +
         (resp.transit ? " T=1 -> " + std::string(stage_name(resp.nsg)) : " T=0") + "] " +
         describe_keys(*keys));

    out = KeyList{};
    if (stage == kSecurityStage) {
      auto step = auth.step(*keys);
      if (!step) {
        // A target that fails to prove itself gets no status from us: we close (RFC 7143 §12.1.3).
        return fail(step.error(), false);
      }
      out = std::move(step).value();
    } else {
      if (auto checked = check_operational_answers(offered, *keys, negotiated); !checked) {
        return fail(checked.error(), false);
      }
      KeyList proposals;
      for (const auto& kv : *keys) {
        if (!offered.contains(kv.key)) proposals.set(kv.key, kv.value);
      }
      out = answer_operational(proposals, leading, negotiated);
    }

    if (resp.transit && resp.nsg > nsg) {
      // RFC 7143 §6.3: the target may not transit further than the initiator asked.
      return fail(
          make_error(ErrorKind::protocol, "target transited to a later stage than we asked for"),
          false);
    }
    if (resp.transit) {
      if (stage == kSecurityStage && auth.state() != AuthStatus::succeeded) {
        return fail(make_error(ErrorKind::authentication,
                               "target left the security stage before authentication completed"),
                    false);
      }
      stage = resp.nsg;
      if (stage == kFullFeaturePhase) {
        if (leading) {
          if (resp.tsih == 0)
            return fail(make_error(ErrorKind::protocol, "target assigned TSIH 0"), false);
          m_tsih = resp.tsih;
          m_negotiated = negotiated;
        }
        return {};
      }
      // Now in the operational stage: propose our parameters and ask for full feature phase.
      offered = initiator_operational_offer(leading);
      offered.merge(out);
      out = offered;
      transit = true;
      nsg = kFullFeaturePhase;
      continue;
    }
    if (stage == kSecurityStage) {
      transit = auth.ready_to_transit();
      nsg = kOperationalStage;
    } else {
      transit = true;
      nsg = kFullFeaturePhase;
    }
  }
}

OfferMemory& InitiatorSession::memory() const {
  return m_options.offer_memory ? *m_options.offer_memory : OfferMemory::process();
}

std::string InitiatorSession::memory_key() const {
  return m_options.portal.to_string() + " " + m_options.session_type + " " + m_options.target_name;
}

Result<void> InitiatorSession::login() {
  if (!m_connections.empty()) return make_error(ErrorKind::usage, "session is already logged in");
  Endpoint portal = m_options.portal;
  Error last = make_error(ErrorKind::internal, "no attempt made");
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
    last =
        failure ? failure->error : make_error(ErrorKind::internal, "login failed without a reason");
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
    return make_error(ErrorKind::usage, "add_connection needs a logged-in session");
  // RFC 7143 §13.2: the session may not exceed the MaxConnections the leading login negotiated
  // (tgt, for one, answers 1 and would otherwise let the extra connection in).
  if (const std::string* max = m_negotiated.find("MaxConnections")) {
    const auto limit = parse_number(*max, 65535);
    if (limit && m_connections.size() >= *limit) {
      return make_error(ErrorKind::policy, "the target allows " + *max +
                                               " connection(s) per session (MaxConnections=" +
                                               *max + "): not adding another");
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
    return make_error(ErrorKind::usage, "SendTargets needs a logged-in Discovery session");
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
      return make_error(ErrorKind::protocol, "SendTargets answer spans over 256 PDUs");
    MULTICHAP_ASSIGN_OR_RETURN(const Pdu pdu, read_pdu(link.conn, 262144, deadline));
    if (pdu.opcode() == static_cast<std::uint8_t>(Opcode::reject))
      return make_error(ErrorKind::rejected, "the target rejected our SendTargets request");
    MULTICHAP_ASSIGN_OR_RETURN(const TextResponse resp, decode_text_response(pdu));
    if (resp.itt != req.itt)
      return make_error(ErrorKind::protocol, "text response for another task (ITT mismatch)");
    link.exp_stat_sn = resp.stat_sn + 1;
    if (answer.size() + resp.data.size() > kMaxText)
      return make_error(ErrorKind::protocol, "SendTargets answer over 1 MiB");
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
  if (it == m_connections.end()) return make_error(ErrorKind::usage, "no connection with that CID");
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
    return make_error(ErrorKind::protocol, "NOP-In does not match our ping");
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
    auto done = [&]() -> Result<void> {
      MULTICHAP_GUARD(write_pdu(link.conn, encode(req), deadline));
      MULTICHAP_ASSIGN_OR_RETURN(const Pdu pdu, read_pdu(link.conn, 262144, deadline));
      MULTICHAP_ASSIGN_OR_RETURN(const LogoutResponse resp, decode_logout_response(pdu));
      if (resp.response != 0) {
        return make_error(ErrorKind::protocol,
                          "logout refused with response " + std::to_string(resp.response));
      }
      return {};
    }();
    note("logout cid=" + std::to_string(cid) + (done ? ": ok" : ": " + done.error().message));
    if (!done && result) result = done;
    link.conn.close();
  }
  m_connections.clear();
  m_tsih = 0;
  return result;
}

}  // namespace multichap
