// SPDX-License-Identifier: BSD-2-Clause
// The full-feature-phase responder of TargetConnection (session/target_connection.h): what a
// connection answers once logged in. Logout and NOP-Out are answered; Text Requests carry
// SendTargets (RFC 7143 §12.3, Appendix C) and the other text keys; anything else was rejected on
// its header (TargetConnection::on_header). The login phase is in target_connection.cpp.
#include <algorithm>

#include "session/operational.h"
#include "session/session_authenticator.h"
#include "session/target_connection.h"

namespace multichap {

namespace {

// Keys negotiated only during login (RFC 7143 §13): in a Text Request they are answered Reject.
bool is_login_only_key(std::string_view key) {
  static const char* const kKeys[] = {
      "HeaderDigest",      "DataDigest",           "MaxConnections",      "SendTargets",
      "TargetName",        "InitiatorName",        "TargetAlias",         "InitiatorAlias",
      "TargetAddress",     "TargetPortalGroupTag", "InitialR2T",          "ImmediateData",
      "MaxBurstLength",    "FirstBurstLength",     "DefaultTime2Wait",    "DefaultTime2Retain",
      "MaxOutstandingR2T", "DataPDUInOrder",       "DataSequenceInOrder", "ErrorRecoveryLevel",
      "SessionType",       "AuthMethod",           "TaskReporting",       "iSCSIProtocolLevel",
      "X#NodeArchitecture"};
  for (const char* k : kKeys) {
    if (key == k) return true;
  }
  return is_auth_key(key);
}

}  // namespace

// ---- full feature phase: Logout and NOP-Out are answered, anything else is rejected ------------

void TargetConnection::on_full_feature_pdu(const Pdu& pdu) {
  if (pdu.opcode() == static_cast<std::uint8_t>(Opcode::logout_request)) {
    on_logout(pdu);
  } else if (pdu.opcode() == static_cast<std::uint8_t>(Opcode::text_request)) {
    on_text_request(pdu);
  } else {
    on_nop_out(pdu);  // on_header() let nothing else through
  }
}

void TargetConnection::on_logout(const Pdu& pdu) {
  auto req = decode_logout_request(pdu);
  if (!req) {
    finish();
    return;
  }
  LogoutResponse r;
  r.itt = req->itt;
  r.stat_sn = m_stat_sn++;
  r.exp_cmd_sn = m_exp_cmd_sn;
  r.max_cmd_sn = m_exp_cmd_sn + 31;
  send(encode(r));
  m_registry.add(&TargetStats::logouts);
  if (m_options.log && m_options.log_logins)
    log("logout from " + m_peer + " (" + m_initiator_name + ") tsih=" + std::to_string(m_tsih) +
        " cid=" + std::to_string(m_cid));
  finish();
}

void TargetConnection::on_nop_out(const Pdu& pdu) {
  auto nop = decode_nop_out(pdu);
  if (!nop || nop->itt == 0xffffffff) return;  // a reply to our ping: nothing to answer
  NopIn in;
  in.itt = nop->itt;
  in.stat_sn = m_stat_sn++;
  in.exp_cmd_sn = m_exp_cmd_sn;
  in.max_cmd_sn = m_exp_cmd_sn + 31;
  in.data = std::move(nop->data);
  send(encode(in));
}

// ---- Text Requests: SendTargets (RFC 7143 §11.10, §12.3, Appendix C) ----------------------------

void TargetConnection::on_text_request(const Pdu& pdu) {
  auto req = decode_text_request(pdu);
  if (!req) {
    send_reject(pdu.bhs, 0x04);  // protocol error (F and C together)
    return;
  }
  if (req->ttt != 0xffffffff) {
    // The continuation of an exchange we started: more of our answer, or more of theirs.
    if (req->ttt != m_text_ttt || req->itt != m_text_itt) {
      send_reject(pdu.bhs, 0x09);  // invalid PDU field: a TTT we did not hand out
      return;
    }
    if (!m_text_assembling) {
      send_text_segment(req->itt);
      return;
    }
  } else {
    // A new exchange (a new ITT) drops whatever was left of the previous one.
    m_text_request.clear();
    m_text_answer.clear();
    m_text_assembling = false;
    m_text_ttt = 0xffffffff;
  }
  m_text_itt = req->itt;
  if (auto appended = m_text_request.append(ByteView(req->data)); !appended) {
    send_reject(pdu.bhs, 0x04);
    m_text_request.clear();
    m_text_assembling = false;
    return;
  }
  if (req->cont) {
    // Their text goes on: acknowledge with an empty response and a TTT to continue with.
    m_text_assembling = true;
    m_text_ttt = m_next_ttt++ & 0x7fffffff;
    TextResponse r;
    r.final = false;
    r.itt = req->itt;
    r.ttt = m_text_ttt;
    r.stat_sn = m_stat_sn++;
    r.exp_cmd_sn = m_exp_cmd_sn;
    r.max_cmd_sn = m_exp_cmd_sn + 31;
    send(encode(r));
    return;
  }
  m_text_assembling = false;
  auto keys = parse_text(m_text_request.bytes());
  m_text_request.clear();
  if (!keys) {
    send_reject(pdu.bhs, 0x04);
    return;
  }
  log_keys("<-", *keys);
  m_text_answer = answer_text(*keys);
  send_text_segment(req->itt);
}

std::string TargetConnection::answer_text(const KeyList& keys) {
  std::string text;
  KeyList others;
  bool answered_send_targets = false;
  for (const auto& kv : keys) {
    if (kv.key == "SendTargets" && !answered_send_targets) {
      answered_send_targets = true;
      std::vector<const TargetEntry*> entries;
      if (m_discovery) {
        // A Discovery session: every target this initiator may use, or the one named.
        if (kv.value == "All") {
          entries = m_access->access().visible_to(m_initiator_name);
        } else if (const TargetEntry* t = m_access->access().find(kv.value);
                   t != nullptr && t->allows(m_initiator_name)) {
          entries.push_back(t);
        }
      } else if (kv.value == "All") {
        // RFC 7143 §12.3: All is for Discovery sessions.
        others.set("SendTargets", "Reject");
        continue;
      } else if (m_target != nullptr && (kv.value.empty() || kv.value == m_target->name)) {
        entries.push_back(m_target);  // a Normal session learns only about its own target
      }
      m_registry.add(&TargetStats::send_targets);
      const std::string part = m_access->access().send_targets_text(entries);
      const std::size_t max = std::max<std::size_t>(512, m_peer_mrdsl);
      if (m_options.log)
        log("SendTargets=" + kv.value.substr(0, 64) + " from " + m_peer + " (" + m_initiator_name +
            "): " + std::to_string(entries.size()) + " target(s), " + std::to_string(part.size()) +
            " bytes in " + std::to_string(std::max<std::size_t>(1, (part.size() + max - 1) / max)) +
            " PDU(s)");
      text += part;
    } else if (kv.key == "MaxRecvDataSegmentLength") {
      // Declarative (RFC 7143 §13.12), allowed in full feature phase: no answer.
      auto n = parse_number(kv.value, 0xffffff);
      if (n && *n >= 512) m_peer_mrdsl = *n;
    } else if (is_login_only_key(kv.key)) {
      others.set(kv.key, "Reject");
    } else {
      others.set(kv.key, "NotUnderstood");
    }
  }
  if (!others.empty()) {
    log_keys("->", others);
    text += build_text(others);
  }
  return text;
}

// Sends the next part of m_text_answer: C=1 with a TTT while more is left (the initiator asks for
// the rest with empty requests carrying that TTT), F=1 with the last part.
void TargetConnection::send_text_segment(std::uint32_t itt) {
  TextResponse r;
  r.itt = itt;
  const std::size_t max = std::max<std::size_t>(512, m_peer_mrdsl);
  if (m_text_answer.size() > max) {
    r.final = false;
    r.cont = true;
    m_text_ttt = m_next_ttt++ & 0x7fffffff;
    r.ttt = m_text_ttt;
    r.data.assign(m_text_answer.begin(), m_text_answer.begin() + static_cast<std::ptrdiff_t>(max));
    m_text_answer.erase(0, max);
  } else {
    r.data.assign(m_text_answer.begin(), m_text_answer.end());
    m_text_answer.clear();
    m_text_ttt = 0xffffffff;
  }
  r.stat_sn = m_stat_sn++;
  r.exp_cmd_sn = m_exp_cmd_sn;
  r.max_cmd_sn = m_exp_cmd_sn + 31;
  send(encode(r));
}

void TargetConnection::send_reject(const std::array<std::uint8_t, kBhsSize>& bhs,
                                   std::uint8_t reason) {
  RejectPdu reject;
  // RFC 7143 §11.17.1: 0x05 "command not supported" (no SCSI layer here), 0x04 protocol error,
  // 0x09 invalid PDU field.
  reject.reason = reason;
  reject.stat_sn = m_stat_sn++;
  reject.exp_cmd_sn = m_exp_cmd_sn;
  reject.max_cmd_sn = m_exp_cmd_sn + 31;
  reject.rejected_header.assign(bhs.begin(), bhs.end());
  send(encode(reject));
}

}  // namespace multichap
