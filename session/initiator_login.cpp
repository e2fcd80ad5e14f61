// SPDX-License-Identifier: BSD-2-Clause
#include "session/initiator_login.h"

#include <algorithm>

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

std::uint32_t data_length_of(const Bytes& in, std::size_t at) {
  return (std::uint32_t{in[at + 5]} << 16) | (std::uint32_t{in[at + 6]} << 8) | in[at + 7];
}

}  // namespace

InitiatorLogin::InitiatorLogin(InitiatorLoginParams params, LoginAuthenticator& auth)
    : m_params(std::move(params)), m_auth(auth) {}

void InitiatorLogin::note(const std::string& line) const {
  if (m_params.transcript) m_params.transcript(line);
}

Bytes InitiatorLogin::take_output() {
  Bytes out;
  out.swap(m_out);
  return out;
}

void InitiatorLogin::fail(Error error, bool retry, OfferRefusal refusal,
                          std::optional<Endpoint> redirect) {
  if (m_done) return;
  m_failure = Failure{std::move(error), retry, std::move(redirect), refusal};
  m_done = true;
}

void InitiatorLogin::start() {
  KeyList out{{"InitiatorName", m_params.initiator_name}, {"SessionType", m_params.session_type}};
  if (m_params.session_type == "Normal") out.set("TargetName", m_params.target_name);
  auto first = m_auth.step(KeyList{});
  if (!first) {
    fail(first.error(), false);
    return;
  }
  out.merge(*first);
  send_keys(out);
}

void InitiatorLogin::send_keys(const KeyList& keys) {
  if (m_params.transcript)
    note(std::string("-> [") + stage_name(m_stage) +
         (m_transit ? " T=1 -> " + std::string(stage_name(m_nsg)) : " T=0") + "] " +
         describe_keys(keys));
  m_sent = keys;
  m_request_text = build_text(keys);
  m_request_pos = 0;
  send_next_piece();
}

// The next piece of the current request; C=1 (and T=0) on all but the last (RFC 7143 §6.3).
void InitiatorLogin::send_next_piece() {
  const std::string_view rest = std::string_view(m_request_text).substr(m_request_pos);
  const std::string_view piece = split_text(rest, kDefaultMaxRecvDataSegment).front();
  m_request_pos += piece.size();
  const bool more = m_request_pos < m_request_text.size();
  send_request(piece, more);
  m_wait = more ? Wait::ack : Wait::response;
}

void InitiatorLogin::send_request(const std::string_view text, bool more) {
  LoginRequest r;
  r.transit = m_transit && !more;  // C=1 forces T=0
  r.cont = more;
  r.csg = m_stage;
  r.nsg = r.transit ? m_nsg : 0;
  r.isid = m_params.isid;
  r.tsih = m_params.leading ? 0 : m_params.tsih;
  r.itt = m_params.itt;
  r.cid = m_params.cid;
  r.cmd_sn = m_params.cmd_sn;
  r.exp_stat_sn = m_exp_stat_sn;
  r.data.assign(text.begin(), text.end());
  const Bytes wire = encode(r).serialize();
  m_out.insert(m_out.end(), wire.begin(), wire.end());
}

void InitiatorLogin::transport_failed(const Error& error) {
  if (m_done) return;
  const bool io = error.kind == ErrorKind::io || error.kind == ErrorKind::timeout;
  // A close right after our CHAP_A (not a timeout: a target that stalls may only be slow).
  const bool refused = error.kind == ErrorKind::io && m_stage == kSecurityStage &&
                       m_sent.contains("CHAP_A") && !m_sent.contains("CHAP_R");
  fail(error, io, refused ? OfferRefusal::after_offer : OfferRefusal::none);
}

void InitiatorLogin::receive(ByteView bytes) {
  if (m_done) return;
  m_in.insert(m_in.end(), bytes.data(), bytes.data() + bytes.size());
  while (!m_done) {
    const std::size_t available = m_in.size() - m_in_pos;
    if (available < kBhsSize) break;
    const std::uint8_t opcode = m_in[m_in_pos] & 0x3f;
    const std::uint32_t length = data_length_of(m_in, m_in_pos);
    // Decided on the header alone: nothing but a Login Response of at most 8192 bytes belongs here.
    if (opcode != static_cast<std::uint8_t>(Opcode::login_response)) {
      fail(protocol_error(ErrorCode::opcode_unexpected,
                          "target sent a " + opcode_name(opcode) + " during login"),
           false);
      break;
    }
    if (length > kDefaultMaxRecvDataSegment) {
      fail(protocol_error(ErrorCode::pdu_data_too_long,
                          "DataSegmentLength " + std::to_string(length) + " exceeds the limit of " +
                              std::to_string(kDefaultMaxRecvDataSegment)),
           false);
      break;
    }
    const std::size_t total =
        kBhsSize + std::size_t{m_in[m_in_pos + 4]} * 4 + length + (4 - length % 4) % 4;
    if (available < total) break;
    auto pdu = parse_pdu(ByteView(m_in.data() + m_in_pos, total), kDefaultMaxRecvDataSegment);
    m_in_pos += total;
    if (!pdu) {
      fail(pdu.error(), false);
      break;
    }
    on_pdu(*pdu);
  }
  if (m_in_pos == m_in.size()) {
    m_in.clear();
    m_in_pos = 0;
  }
}

void InitiatorLogin::on_pdu(const Pdu& pdu) {
  auto decoded = decode_login_response(pdu);
  if (!decoded) {
    fail(decoded.error(), false);
    return;
  }
  const LoginResponse& r = *decoded;
  m_exp_stat_sn = r.stat_sn + 1;
  if (r.status != status::kSuccess) {
    // (A failure status ends the login whatever it echoes; some targets zero these fields.)
    on_failure_status(r);
    return;
  }
  if (r.itt != m_params.itt || r.isid != m_params.isid) {
    fail(protocol_error(ErrorCode::itt_mismatch,
                        "login response for another task or session (ITT/ISID mismatch)"),
         false);
    return;
  }
  if (r.csg != m_stage) {
    fail(protocol_error(ErrorCode::login_stage_mismatch,
                        "login response in another stage than our request"),
         false);
    return;
  }
  if (r.version_active != 0) {
    fail(protocol_error(ErrorCode::login_version, "target chose an unknown iSCSI version"), false);
    return;
  }
  if (r.transit && !m_params.leading && r.tsih != m_params.tsih) {
    fail(protocol_error(ErrorCode::tsih_changed, "target changed the TSIH of a non-leading login"),
         false);
    return;
  }
  if (m_wait == Wait::ack) {
    // The target acknowledges each C=1 piece of our request with an empty response.
    if (!r.data.empty() || r.transit) {
      fail(protocol_error(ErrorCode::login_continue_data,
                          "target answered a continued request with data"),
           false);
      return;
    }
    send_next_piece();
    return;
  }
  if (auto appended = m_response.append(ByteView(r.data)); !appended) {
    fail(protocol_error(ErrorCode::login_text_too_long, "login text over 64 KiB"), false);
    return;
  }
  if (r.cont) {
    // More text follows: ask for it with an empty request in the same stage (T=0).
    LoginRequest more;
    more.csg = m_stage;
    more.isid = m_params.isid;
    more.tsih = m_params.leading ? 0 : m_params.tsih;
    more.itt = m_params.itt;
    more.cid = m_params.cid;
    more.cmd_sn = m_params.cmd_sn;
    more.exp_stat_sn = m_exp_stat_sn;
    const Bytes wire = encode(more).serialize();
    m_out.insert(m_out.end(), wire.begin(), wire.end());
    return;
  }
  on_complete_response(r);
}

void InitiatorLogin::on_failure_status(const LoginResponse& resp) {
  if (m_params.leading) m_last_status = resp.status;
  if (m_params.transcript) note("<- status " + status_text(resp.status));
  // Whether the failure is about our offer (session/offer_fallback.h).
  const OfferRefusal refusal = refusal_of(m_stage, m_sent, m_auth, resp);
  const std::uint8_t cls = static_cast<std::uint8_t>(resp.status >> 8);
  if (cls == 1) {
    auto keys = parse_text(resp.data);
    const std::string* address = keys ? keys->find("TargetAddress") : nullptr;
    auto ep = address != nullptr ? target_address_endpoint(*address) : std::nullopt;
    if (!ep) {
      fail(protocol_error(ErrorCode::redirect_address, "redirect without a usable TargetAddress"),
           false, refusal);
      return;
    }
    fail(make_error(ErrorKind::rejected, ErrorCode::redirected,
                    "target redirected us to " + ep->to_string()),
         true, OfferRefusal::none, ep);
    return;
  }
  if (resp.status == status::kAuthenticationFailure) {
    fail(make_error(ErrorKind::authentication, ErrorCode::target_auth_failed,
                    "authentication failed: the target answered " + status_text(resp.status)),
         false, refusal);
    return;
  }
  // tgt and IET number SHA-1 as CHAP_A 7 and refuse a SHA-256 answer with 0x0200: a code of its
  // own, so that a caller can say what to do (the CLI names its options, tools/error_hints.cpp).
  const bool sha256_as_7 = refusal == OfferRefusal::sha256_as_7;
  fail(make_error(ErrorKind::rejected,
                  sha256_as_7 ? ErrorCode::login_refused_sha256_as_7 : ErrorCode::login_refused,
                  "the target refused the login: " + status_text(resp.status) +
                      (sha256_as_7 ? " (tgt and IET take CHAP_A=7 to mean SHA-1)" : "")),
       cls == 3, refusal);
}

void InitiatorLogin::on_complete_response(const LoginResponse& resp) {
  auto keys = parse_text(m_response.bytes());
  m_response.clear();
  if (!keys) {
    fail(with_context("target's login text", keys.error()), false);
    return;
  }
  if (m_params.transcript)
    note(std::string("<- [") + stage_name(resp.csg) +
         (resp.transit ? " T=1 -> " + std::string(stage_name(resp.nsg)) : " T=0") + "] " +
         describe_keys(*keys));

  KeyList out;
  if (m_stage == kSecurityStage) {
    auto step = m_auth.step(*keys);
    if (!step) {
      // A target that fails to prove itself gets no status from us: we close (RFC 7143 §12.1.3).
      fail(step.error(), false);
      return;
    }
    out = std::move(step).value();
  } else {
    if (auto checked = check_operational_answers(m_offered, *keys, m_negotiated); !checked) {
      fail(checked.error(), false);
      return;
    }
    KeyList proposals;
    for (const auto& kv : *keys) {
      if (!m_offered.contains(kv.key)) proposals.set(kv.key, kv.value);
    }
    out = answer_operational(proposals, m_params.leading, m_negotiated);
  }

  if (resp.transit && resp.nsg > m_nsg) {
    // RFC 7143 §6.3: the target may not transit further than the initiator asked.
    fail(protocol_error(ErrorCode::login_stage_skipped,
                        "target transited to a later stage than we asked for"),
         false);
    return;
  }
  if (resp.transit) {
    if (m_stage == kSecurityStage && m_auth.state() != AuthStatus::succeeded) {
      fail(make_error(ErrorKind::authentication, ErrorCode::auth_incomplete,
                      "target left the security stage before authentication completed"),
           false);
      return;
    }
    m_stage = resp.nsg;
    if (m_stage == kFullFeaturePhase) {
      if (m_params.leading) {
        if (resp.tsih == 0) {
          fail(protocol_error(ErrorCode::tsih_zero, "target assigned TSIH 0"), false);
          return;
        }
        m_tsih = resp.tsih;
      } else {
        m_tsih = m_params.tsih;
      }
      m_done = true;
      return;
    }
    // Now in the operational stage: propose our parameters and ask for full feature phase.
    m_offered = initiator_operational_offer(m_params.leading);
    m_offered.merge(out);
    m_transit = true;
    m_nsg = kFullFeaturePhase;
    send_keys(m_offered);
    return;
  }
  if (m_stage == kSecurityStage) {
    m_transit = m_auth.ready_to_transit();
    m_nsg = kOperationalStage;
  } else {
    m_transit = true;
    m_nsg = kFullFeaturePhase;
  }
  send_keys(out);
}

}  // namespace multichap
