// SPDX-License-Identifier: BSD-2-Clause
// A scripted iSCSI target with the quirks of the targets in the field (docs/interop.md),
// for the offer-fallback and discovery tests. It writes its own CHAP (no ChapTarget), so it can
// misbehave the way they do:
//   - LIO before 3.15: any CHAP_A other than exactly "5" fails the login ("CHAP_A is not MD5"),
//     with a status or by closing the connection;
//   - tgt / IET: SHA-1 numbered 7, the first known value of the offer picked, 0x0200 for an offer
//     with nothing known and for a response of the wrong size;
//   - istgt: MD5 only, a lone unknown CHAP_A answered with 0x0201, 1,024-byte challenges;
//   - FreeBSD ctld: closes the connection when the initiator repeats a key in one login;
//   - a target that answers only in base64, and one that picks an algorithm nobody offered.
// Discovery sessions answer SendTargets (optionally split into C=1 continuations); a Normal login
// may be answered with a redirect. Every connection is recorded (offer, choice, outcome). All
// loops are bounded: at most max_connections accepted, 5 s per read.
#ifndef MULTICHAP_TESTS_SESSION_QUIRK_TARGET_H
#define MULTICHAP_TESTS_SESSION_QUIRK_TARGET_H

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/chap.h"
#include "auth/encoding.h"
#include "backends/hash_backend.h"
#include "session/operational.h"
#include "session/pdu.h"
#include "session/transport.h"
#include "tests/support/identities.h"

namespace multichap::test {

struct Quirks {
  // Algorithms the target knows, in its own numbering.
  std::vector<Algorithm> knows = {Algorithm::md5};
  ChapNumbering numbering = ChapNumbering::iana;
  // LIO < 3.15: any CHAP_A but "5" ends the login (list_status, or a close).
  bool md5_literal_only = false;
  std::uint16_t list_status = status::kAuthenticationFailure;
  bool close_instead_of_status = false;
  // What an offer with nothing known gets: 0 answers CHAP_A=Reject (RFC 7143 §6.2); otherwise
  // this status (tgt 0x0200, istgt 0x0201 for a lone value).
  std::uint16_t unknown_status = 0;
  // A CHAP_R of the wrong size: tgt 0x0200 ("buf[20] !sufficient"), others 0x0201.
  std::uint16_t wrong_size_status = status::kAuthenticationFailure;
  bool close_on_repeated_key = false;  // ctld
  // istgt 0.4, now and then under load: a Logout is acted on (the session ends) but the
  // connection is closed before the Logout Response is sent.
  bool close_on_logout = false;
  std::size_t challenge_size = 32;
  bool base64 = false;                        // CHAP_C (and mutual CHAP_R) in base64
  std::optional<std::uint32_t> force_chap_a;  // picks this number whatever was offered
  // Accounts.
  std::string user = std::string(kInitiatorUser);
  std::string secret = std::string(kInitiatorSecret);
  std::string target_user = std::string(kTargetUser);
  std::string target_secret = std::string(kTargetSecret);
  bool require_chap = true;  // false: AuthMethod=None accepted
  // Discovery.
  // The SendTargets answer: names and addresses ("SELF": this target's own portal, ",1").
  std::vector<std::pair<std::string, std::vector<std::string>>> targets;
  std::size_t text_chunk = 0;  // >0: the answer split into C=1 PDUs of this many bytes
  // Normal logins: answer the first request with 0x0101 and this TargetAddress.
  std::string redirect_to;
};

struct QuirkRecord {
  std::string session_type;
  std::string target_name;
  std::string auth_method_offer;
  std::string chap_a_offer;  // as received
  std::string chap_a_chosen;
  std::string initiator_chap_r;  // encoding prefix only ("0x" / "0b")
  std::string initiator_chap_c;
  bool verified = false;
  bool completed = false;  // full feature phase reached
  bool send_targets = false;
  bool repeated_key = false;
  std::uint16_t status = 0;  // the failure status sent, if any
  bool closed_by_target = false;
};

class QuirkTarget {
 public:
  QuirkTarget(std::shared_ptr<const HashBackend> backend, Quirks quirks,
              std::size_t max_connections = 12)
      : m_backend(std::move(backend)), m_quirks(std::move(quirks)), m_max(max_connections) {
    auto listener = Listener::listen(Endpoint{"127.0.0.1", 0});
    if (!listener) return;
    m_listener = std::move(listener).value();
    m_listening = true;
    m_thread = std::thread([this] { run(); });
  }
  ~QuirkTarget() {
    m_stop.store(true);
    if (m_thread.joinable()) m_thread.join();
    for (auto& t : m_workers) t.join();
  }
  QuirkTarget(const QuirkTarget&) = delete;
  QuirkTarget& operator=(const QuirkTarget&) = delete;

  bool listening() const { return m_listening; }
  std::uint16_t port() const { return m_listener.port(); }
  std::string portal() const { return "127.0.0.1:" + std::to_string(port()); }
  // One record per connection, in the order they were accepted (those still running included).
  std::vector<QuirkRecord> records() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_records;
  }
  // The CHAP_A offers received, one per connection that got that far.
  std::vector<std::string> offers() const {
    std::vector<std::string> out;
    for (const auto& r : records()) {
      if (!r.chap_a_offer.empty()) out.push_back(r.chap_a_offer);
    }
    return out;
  }
  // Waits (up to 5 s) until n connections were played to their end.
  bool wait_for(std::size_t n) const {
    const auto deadline = Clock::now() + Millis(5000);
    while (m_done.load() < n) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(Millis(5));
    }
    return true;
  }

 private:
  // Each connection on its own thread (MC/S needs two at once), at most m_max in all.
  void run() {
    for (std::size_t i = 0; i < m_max && !m_stop.load(); ++i) {
      Connection conn;
      while (!m_stop.load() && !conn.is_open()) {
        auto accepted = m_listener.accept(Millis(50));
        if (accepted) conn = std::move(accepted).value();
      }
      if (m_stop.load()) return;
      std::size_t slot = 0;
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        slot = m_records.size();
        m_records.emplace_back();
      }
      m_workers.emplace_back([this, slot, c = std::move(conn)]() mutable {
        QuirkRecord record;
        serve(c, record);
        {
          std::lock_guard<std::mutex> lock(m_mutex);
          m_records[slot] = std::move(record);
        }
        ++m_done;
      });
    }
  }

  static Clock::time_point deadline() { return Clock::now() + Millis(5000); }

  struct Request {
    LoginRequest header;
    KeyList keys;
  };

  std::optional<std::uint32_t> number_of(Algorithm alg) const {
    return chap_a_number(alg, m_quirks.numbering);
  }

  void serve(Connection& conn, QuirkRecord& rec) {
    const Quirks& q = m_quirks;
    std::uint32_t stat_sn = 1;
    std::set<std::string> seen;
    auto read_request = [&]() -> std::optional<Request> {
      auto pdu = read_pdu(conn, kDefaultMaxRecvDataSegment, deadline(), &m_stop);
      if (!pdu) return std::nullopt;
      auto req = decode_login_request(*pdu);
      if (!req) return std::nullopt;
      auto keys = parse_text(req->data);
      if (!keys) return std::nullopt;
      for (const auto& kv : *keys) {
        if (!seen.insert(kv.key).second) rec.repeated_key = true;
      }
      return Request{std::move(req).value(), std::move(keys).value()};
    };
    auto respond = [&](const LoginRequest& req, bool transit, std::uint8_t csg, std::uint8_t nsg,
                       std::uint16_t tsih, std::uint16_t code, const KeyList& keys) {
      LoginResponse r;
      r.transit = transit;
      r.csg = csg;
      r.nsg = transit ? nsg : 0;
      r.isid = req.isid;
      r.tsih = req.tsih != 0 ? req.tsih : tsih;  // a non-leading login keeps its TSIH
      r.itt = req.itt;
      r.stat_sn = stat_sn++;
      r.exp_cmd_sn = req.cmd_sn;
      r.max_cmd_sn = req.cmd_sn + 1;
      r.status = code;
      const std::string text = build_text(keys);
      r.data.assign(text.begin(), text.end());
      (void)write_pdu(conn, encode(r), deadline());
    };
    // Ends the login with a status (or a close when the quirk says so).
    auto refuse = [&](const LoginRequest& req, std::uint16_t code, bool close = false) {
      if (close) {
        rec.closed_by_target = true;
        conn.close();
        return;
      }
      rec.status = code;
      respond(req, false, req.csg, 0, 0, code, KeyList{});
    };
    auto repeated = [&]() {
      if (q.close_on_repeated_key && rec.repeated_key) {
        rec.closed_by_target = true;
        conn.close();
        return true;
      }
      return false;
    };

    auto r1 = read_request();
    if (!r1 || repeated()) return;
    if (const auto* v = r1->keys.find("SessionType")) rec.session_type = *v;
    if (const auto* v = r1->keys.find("TargetName")) rec.target_name = *v;
    if (const auto* v = r1->keys.find("AuthMethod")) rec.auth_method_offer = *v;
    if (rec.session_type == "Normal" && !q.redirect_to.empty()) {
      rec.status = status::kRedirectTemporary;
      respond(r1->header, true, kSecurityStage, kOperationalStage, 0, status::kRedirectTemporary,
              KeyList{{"TargetAddress", q.redirect_to}});
      return;
    }
    const bool offers_chap = rec.auth_method_offer.find("CHAP") != std::string::npos;
    const bool offers_none = rec.auth_method_offer.find("None") != std::string::npos;
    std::uint8_t stage = kSecurityStage;
    if (!q.require_chap && offers_none) {
      respond(r1->header, true, kSecurityStage, kOperationalStage, 0, status::kSuccess,
              KeyList{{"AuthMethod", "None"}, {"TargetPortalGroupTag", "1"}});
      stage = kOperationalStage;
    } else {
      if (!offers_chap) return refuse(r1->header, status::kAuthenticationFailure);
      respond(r1->header, false, kSecurityStage, 0, 0, status::kSuccess,
              KeyList{{"AuthMethod", "CHAP"}, {"TargetPortalGroupTag", "1"}});
      if (!chap(conn, rec, read_request, respond, refuse, repeated)) return;
      stage = kOperationalStage;
    }
    (void)stage;

    // Operational stage, straight to full feature phase.
    auto r4 = read_request();
    if (!r4 || repeated()) return;
    KeyList negotiated;
    KeyList answers = answer_operational(r4->keys, r4->header.tsih == 0, negotiated);
    respond(r4->header, true, kOperationalStage, kFullFeaturePhase,
            r4->header.tsih != 0 ? r4->header.tsih : std::uint16_t{0x4242}, status::kSuccess,
            answers);
    rec.completed = true;
    full_feature(conn, rec, stat_sn);
  }

  template <typename Read, typename Respond, typename Refuse, typename Repeated>
  bool chap(Connection& conn, QuirkRecord& rec, Read& read_request, Respond& respond,
            Refuse& refuse, Repeated& repeated) {
    (void)conn;
    const Quirks& q = m_quirks;
    auto r2 = read_request();
    if (!r2 || repeated()) return false;
    const std::string* offer = r2->keys.find("CHAP_A");
    if (offer == nullptr) return refuse(r2->header, status::kAuthenticationFailure), false;
    rec.chap_a_offer = *offer;
    if (q.md5_literal_only && *offer != "5") {
      refuse(r2->header, q.list_status, q.close_instead_of_status);
      return false;
    }
    std::optional<Algorithm> alg;
    std::uint32_t chosen = 0;
    if (q.force_chap_a) {
      chosen = *q.force_chap_a;
      alg = algorithm_from_chap_a(chosen, q.numbering);
    } else {
      std::size_t start = 0;
      while (start <= offer->size() && !alg) {
        const auto comma = offer->find(',', start);
        const std::string item =
            offer->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto n = parse_number(item, 255);
        if (n) {
          auto a = algorithm_from_chap_a(*n, q.numbering);
          if (a && std::find(q.knows.begin(), q.knows.end(), *a) != q.knows.end()) {
            alg = a;
            chosen = *n;
          }
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    if (!alg) {
      if (q.unknown_status != 0) {
        refuse(r2->header, q.unknown_status);
      } else {
        rec.status = status::kAuthenticationFailure;
        respond(r2->header, false, kSecurityStage, 0, 0, status::kAuthenticationFailure,
                KeyList{{"CHAP_A", "Reject"}});
      }
      return false;
    }
    rec.chap_a_chosen = std::to_string(chosen);
    const BinaryEncoding enc = q.base64 ? BinaryEncoding::base64 : BinaryEncoding::hex;
    Bytes challenge(q.challenge_size);
    if (!m_backend->random(MutableByteView(challenge.data(), challenge.size()))) return false;
    const std::uint8_t id = challenge[0];
    respond(r2->header, false, kSecurityStage, 0, 0, status::kSuccess,
            KeyList{{"CHAP_A", std::to_string(chosen)},
                    {"CHAP_I", std::to_string(id)},
                    {"CHAP_C", encode_binary(ByteView(challenge), enc)}});

    auto r3 = read_request();
    if (!r3 || repeated()) return false;
    const std::string* n = r3->keys.find("CHAP_N");
    const std::string* r = r3->keys.find("CHAP_R");
    if (n == nullptr || r == nullptr) return refuse(r3->header, 0x0201), false;
    rec.initiator_chap_r = r->substr(0, 2);
    if (const auto* c = r3->keys.find("CHAP_C")) rec.initiator_chap_c = c->substr(0, 2);
    auto got = decode_binary(*r, kMaxBinaryValueBytes);
    if (!got) return refuse(r3->header, 0x0201), false;
    if (got->size() != digest_size(*alg)) return refuse(r3->header, q.wrong_size_status), false;
    std::array<std::uint8_t, kMaxDigestSize> want{};
    const Secret secret = Secret::from_text(q.secret);
    auto len = chap_response(*m_backend, *alg, id, secret, ByteView(challenge), want);
    if (!len || *n != q.user ||
        !constant_time_equal(ByteView(want.data(), *len), ByteView(got->data(), got->size()))) {
      return refuse(r3->header, status::kAuthenticationFailure), false;
    }
    rec.verified = true;
    KeyList out;
    const std::string* ci = r3->keys.find("CHAP_I");
    const std::string* cc = r3->keys.find("CHAP_C");
    if (ci != nullptr && cc != nullptr) {
      auto their_id = parse_number(*ci, 255);
      auto their_c = decode_binary(*cc, kMaxBinaryValueBytes);
      if (!their_id || !their_c) return refuse(r3->header, 0x0201), false;
      const Secret own = Secret::from_text(q.target_secret);
      std::array<std::uint8_t, kMaxDigestSize> proof{};
      auto plen = chap_response(*m_backend, *alg, static_cast<std::uint8_t>(*their_id), own,
                                ByteView(their_c->data(), their_c->size()), proof);
      if (!plen) return false;
      out.set("CHAP_N", q.target_user);
      out.set("CHAP_R", encode_binary(ByteView(proof.data(), *plen), enc));
    }
    respond(r3->header, true, kSecurityStage, kOperationalStage, 0, status::kSuccess, out);
    return true;
  }

  void full_feature(Connection& conn, QuirkRecord& rec, std::uint32_t& stat_sn) {
    for (int n = 0; n < 64; ++n) {
      auto pdu = read_pdu(conn, 262144, deadline(), &m_stop);
      if (!pdu) return;
      const auto op = static_cast<Opcode>(pdu->opcode());
      if (op == Opcode::logout_request) {
        if (m_quirks.close_on_logout) return;  // the caller closes the connection
        auto req = decode_logout_request(*pdu);
        LogoutResponse resp;
        resp.itt = req ? req->itt : 0;
        resp.stat_sn = stat_sn++;
        (void)write_pdu(conn, encode(resp), deadline());
        return;
      }
      if (op == Opcode::nop_out) {
        auto nop = decode_nop_out(*pdu);
        NopIn in;
        in.itt = nop ? nop->itt : 0;
        in.stat_sn = stat_sn++;
        in.data = pdu->data;
        (void)write_pdu(conn, encode(in), deadline());
        continue;
      }
      if (op == Opcode::text_request) {
        auto req = decode_text_request(*pdu);
        if (!req) return;
        rec.send_targets = true;
        std::string text;
        for (const auto& [name, addresses] : m_quirks.targets) {
          text += "TargetName=" + name + std::string(1, '\0');
          for (const auto& a : addresses) {
            const std::string address = a == "SELF" ? portal() + ",1" : a;
            text += "TargetAddress=" + address + std::string(1, '\0');
          }
        }
        const std::size_t chunk = m_quirks.text_chunk == 0 ? text.size() + 1 : m_quirks.text_chunk;
        std::size_t offset = 0;
        do {
          const std::size_t len = std::min(chunk, text.size() - offset);
          TextResponse resp;
          resp.itt = req->itt;
          resp.cont = offset + len < text.size();
          resp.final = !resp.cont;
          resp.ttt = resp.cont ? 0x77 : 0xffffffff;
          resp.stat_sn = stat_sn++;
          resp.exp_cmd_sn = req->cmd_sn + 1;
          resp.max_cmd_sn = req->cmd_sn + 2;
          resp.data.assign(text.begin() + static_cast<long>(offset),
                           text.begin() + static_cast<long>(offset + len));
          (void)write_pdu(conn, encode(resp), deadline());
          offset += len;
          if (resp.cont) {  // the initiator asks for the rest with an empty request, our TTT
            auto next = read_pdu(conn, 262144, deadline(), &m_stop);
            if (!next) return;
            auto more = decode_text_request(*next);
            if (!more || more->ttt != 0x77 || !more->data.empty() || more->itt != req->itt) return;
          }
        } while (offset < text.size());
      }
    }
  }

  std::shared_ptr<const HashBackend> m_backend;
  Quirks m_quirks;
  std::size_t m_max;
  Listener m_listener;
  bool m_listening = false;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  std::vector<std::thread> m_workers;  // touched by m_thread only, joined after it
  std::atomic<std::size_t> m_done{0};
  mutable std::mutex m_mutex;
  std::vector<QuirkRecord> m_records;
};

}  // namespace multichap::test

#endif  // MULTICHAP_TESTS_SESSION_QUIRK_TARGET_H
