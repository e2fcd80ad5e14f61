// SPDX-License-Identifier: BSD-2-Clause
// Bad-input campaign against a running Target over real TCP (127.0.0.1).
//
// One table of malformed or hostile inputs: bad opcodes, lying lengths, missing, duplicate and
// overlong keys, bad encodings, CHAP_I out of range, wrong-length CHAP_R, reflected challenges and
// own-secret responses (RFC 7143 §9.2.1), AuthMethod games, stage violations, T and C together,
// versions out of range, non-login PDUs before and during login, data after logout. Each case
// runs a valid login part of the way (LoginScript) and then sends its bytes, which may depend on
// the challenge the target just issued. The expected outcome is a specific status code, the
// target closing the connection without a word, a Reject PDU in full feature phase, or (for the
// boundary cases that must still be accepted) a normal answer. After every case a valid login
// must still succeed, and Target::stats() must account for both connections. Each case is a test
// of its own (TEST_P, named after the case) against a target of its own. The ASan+UBSan
// build runs this too (ctest label unit), so a case that corrupts memory or leaks fails there.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <functional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "tests/session/hardening_fixtures.h"

namespace multichap::hardening {
namespace {

using Prefix = LoginScript::Prefix;

enum class Outcome {
  status,    // a Login Response with exactly this status, then the target closes
  close,     // the target closes without sending anything
  reject,    // a Reject PDU (full feature phase), and the connection still logs out cleanly
  ignored,   // no answer at all, and the connection still logs out cleanly
  accepted,  // a normal (status 0) answer: strict, but not stricter than the RFC
  logout,    // a Logout Response, then the target closes (whatever else was sent)
};

struct Expect {
  Outcome outcome;
  std::uint16_t code = 0;
};
Expect status_is(std::uint16_t code) {
  return {Outcome::status, code};
}
const Expect kClose{Outcome::close};
const Expect kReject{Outcome::reject};
const Expect kIgnored{Outcome::ignored};
const Expect kAccepted{Outcome::accepted};
const Expect kLogout{Outcome::logout};

struct Case {
  std::string name;
  Prefix prefix;
  std::function<Bytes(LoginScript&)> bytes;
  Expect expect;
  bool half_close = false;  // shut our sending side after the bytes (a peer that hangs up)
  bool skip_acks = false;   // skip empty status-0 responses (acknowledgements of C=1 requests)
};

// ---- building blocks -------------------------------------------------------------------------

Bytes pdu_bytes(const Pdu& pdu) {
  return pdu.serialize();
}

// Any PDU: opcode (immediate bit added), byte 1, data.
Pdu raw(std::uint8_t opcode, std::uint8_t flags, const std::string& text = {}) {
  Pdu pdu;
  pdu.bhs[0] = static_cast<std::uint8_t>(0x40 | opcode);
  pdu.bhs[1] = flags;
  pdu.bhs[16] = 0;
  pdu.bhs[19] = 9;  // ITT 9
  pdu.data.assign(text.begin(), text.end());
  return pdu;
}

KeyList first_with(std::initializer_list<KeyValue> changes,
                   std::initializer_list<const char*> drop = {}) {
  KeyList keys = LoginScript::first_keys();
  for (const char* key : drop) keys.erase(key);
  for (const auto& kv : changes) keys.set(kv.key, kv.value);
  return keys;
}

// A first request with these keys (stage byte 0x01: security stage, T=0).
std::function<Bytes(LoginScript&)> first(KeyList keys, std::uint8_t stage = 0x01) {
  return [keys, stage](LoginScript& s) { return pdu_bytes(s.request(stage, keys)); };
}
std::function<Bytes(LoginScript&)> first_text(std::string text, std::uint8_t stage = 0x01) {
  return [text, stage](LoginScript& s) { return pdu_bytes(s.request(stage, text)); };
}
// A request of the current login with these keys.
std::function<Bytes(LoginScript&)> next(KeyList keys, std::uint8_t stage = 0x01) {
  return first(std::move(keys), stage);
}
// The response step with CHAP_N/CHAP_R computed by make(s) (plus extra keys).
std::function<Bytes(LoginScript&)> respond(std::function<KeyList(LoginScript&)> make,
                                           std::uint8_t stage = 0x81) {
  return [make, stage](LoginScript& s) { return pdu_bytes(s.request(stage, make(s))); };
}
KeyList nr(std::string r) {
  return KeyList{{"CHAP_N", std::string(kInitiatorUser)}, {"CHAP_R", std::move(r)}};
}
KeyList with(KeyList keys, std::initializer_list<KeyValue> more) {
  for (const auto& kv : more) keys.set(kv.key, kv.value);
  return keys;
}
std::string hex_bytes(std::size_t n, std::uint8_t fill = 0xa5) {
  return encode_hex(ByteView(Bytes(n, fill)));
}
// A mutual challenge: CHAP_I=1 and n bytes.
KeyList mutual(LoginScript& s, std::size_t n = 32) {
  return with(nr(s.response()), {{"CHAP_I", "1"}, {"CHAP_C", hex_bytes(n, 0x3c)}});
}
// Changes one hex digit of a value (keeps its length).
std::string flip_digit(std::string value) {
  value.back() = value.back() == '0' ? '1' : '0';
  return value;
}
// A full feature phase PDU of this connection.
Pdu ffp(LoginScript& s, std::uint8_t opcode, std::uint8_t flags = 0x80, bool immediate = true) {
  Pdu pdu = raw(opcode, flags);
  if (!immediate) pdu.bhs[0] &= 0x3f;
  pdu.bhs[16] = 0;
  pdu.bhs[19] = 0x55;
  pdu.bhs[24] = static_cast<std::uint8_t>(s.cmd_sn >> 24);
  pdu.bhs[27] = static_cast<std::uint8_t>(s.cmd_sn);
  return pdu;
}
Pdu logout(LoginScript& s) {
  LogoutRequest r;
  r.reason = 0;
  r.itt = 0x77;
  r.cid = s.cid;
  r.cmd_sn = s.cmd_sn;
  r.exp_stat_sn = s.exp_stat_sn;
  return encode(r);
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
// Changes header byte i of a PDU.
std::function<Bytes(LoginScript&)> patched(std::function<Pdu(LoginScript&)> make, std::size_t i,
                                           std::uint8_t value) {
  return [make, i, value](LoginScript& s) {
    Pdu pdu = make(s);
    Bytes b = pdu.serialize();
    b[i] = value;
    return b;
  };
}
Pdu first_pdu(LoginScript& s) {
  return s.request(0x01, LoginScript::first_keys());
}
// Header claims `claimed` data bytes; the bytes sent carry `sent` (the stream then ends).
std::function<Bytes(LoginScript&)> lying_length(std::uint32_t claimed, std::size_t sent) {
  return [claimed, sent](LoginScript& s) {
    Bytes b = first_pdu(s).serialize();
    b.resize(kBhsSize + sent, 0);  // cut (or zero-extend) the data after the header
    b[4] = 0;
    b[5] = static_cast<std::uint8_t>(claimed >> 16);
    b[6] = static_cast<std::uint8_t>(claimed >> 8);
    b[7] = static_cast<std::uint8_t>(claimed);
    return b;
  };
}
// n PDUs of 8192 text bytes with C=1 (text that never ends), then one with C=0.
std::function<Bytes(LoginScript&)> continued(std::size_t n) {
  return [n](LoginScript& s) {
    Bytes out;
    const std::string chunk = std::string(8191, 'k') + '=';
    for (std::size_t i = 0; i < n; ++i) {
      const Bytes b = s.request(0x40, chunk).serialize();
      out.insert(out.end(), b.begin(), b.end());
    }
    const Bytes last = s.request(0x00, std::string("v\0", 2)).serialize();
    out.insert(out.end(), last.begin(), last.end());
    return out;
  };
}
std::string many_unknown_keys(std::size_t n) {
  KeyList keys = LoginScript::first_keys();
  for (std::size_t i = 0; i < n; ++i) {
    char number[8];
    std::snprintf(number, sizeof(number), "%04zu", i % 10000);
    // 63 bytes: "X-unknown-", four digits, '-', 48 letters.
    keys.set("X-unknown-" + std::string(number) + "-" + std::string(48, 'a'), "1");
  }
  return build_text(keys);
}

constexpr std::uint16_t k0200 = status::kInitiatorError;
constexpr std::uint16_t k0201 = status::kAuthenticationFailure;
constexpr std::uint16_t k0203 = status::kTargetNotFound;
constexpr std::uint16_t k0205 = status::kUnsupportedVersion;
constexpr std::uint16_t k0207 = status::kMissingParameter;
constexpr std::uint16_t k0209 = status::kSessionTypeNotSupported;
constexpr std::uint16_t k020a = status::kSessionDoesNotExist;
constexpr std::uint16_t k020b = status::kInvalidDuringLogin;
constexpr std::uint16_t k0302 = status::kOutOfResources;

// ---- the table -------------------------------------------------------------------------------

std::vector<Case> campaign() {
  std::vector<Case> c;
  const auto P0 = Prefix::none;
  const auto PA = Prefix::auth_method;
  const auto PC = Prefix::challenge;
  const auto PO = Prefix::operational;
  const auto PF = Prefix::full_feature;

  // Non-login PDUs before login: RFC 7143 §6.3, drop the connection.
  for (const auto& [name, op] :
       std::vector<std::pair<std::string, std::uint8_t>>{{"nop_out_first", 0x00},
                                                         {"scsi_command_first", 0x01},
                                                         {"task_mgmt_first", 0x02},
                                                         {"text_request_first", 0x04},
                                                         {"data_out_first", 0x05},
                                                         {"logout_first", 0x06},
                                                         {"snack_first", 0x10},
                                                         {"vendor_opcode_1c_first", 0x1c},
                                                         {"login_response_sent_by_initiator", 0x23},
                                                         {"reject_sent_by_initiator", 0x3f}}) {
    c.push_back({name, P0, [op = op](LoginScript&) { return pdu_bytes(raw(op, 0x80)); }, kClose});
  }
  // Framing: lengths that lie or exceed the limits, truncated headers, AHS.
  c.push_back({"dsl_8193_first", P0, lying_length(8193, 8193), kClose});
  c.push_back({"dsl_16m_first", P0, lying_length(0xffffff, 0), kClose});
  c.push_back({"dsl_longer_than_sent", P0, lying_length(100, 10), kClose, true});
  c.push_back({"header_truncated", P0,
               [](LoginScript& s) {
                 Bytes b = first_pdu(s).serialize();
                 b.resize(20);
                 return b;
               },
               kClose, true});
  c.push_back({"ahs_255_words_then_eof", P0, patched(first_pdu, 4, 255), kClose, true});
  c.push_back({"empty_stream", P0, [](LoginScript&) { return Bytes{}; }, kClose, true});
  // Stage-byte violations (RFC 7143 §11.12.3).
  c.push_back({"t_and_c_both_set", P0, first(LoginScript::first_keys(), 0xC1), status_is(k0200)});
  c.push_back({"csg_reserved_2", P0, first(LoginScript::first_keys(), 0x09), status_is(k0200)});
  c.push_back(
      {"nsg_reserved_2_with_t", P0, first(LoginScript::first_keys(), 0x82), status_is(k0200)});
  c.push_back(
      {"transit_backwards_0_to_0", P0, first(LoginScript::first_keys(), 0x80), status_is(k0200)});
  c.push_back({"transit_1_to_1", P0, first(LoginScript::first_keys(), 0x85), status_is(k0200)});
  c.push_back({"reserved_flag_bits", P0, first(LoginScript::first_keys(), 0x31), status_is(k0200)});
  c.push_back({"csg_3_full_feature", P0, first(LoginScript::first_keys(), 0x0c), status_is(k0200)});
  // Versions (RFC 7143 §11.12.4): we speak version 0 only.
  c.push_back({"version_min_1", P0, patched(first_pdu, 3, 1), status_is(k0205)});
  c.push_back({"version_min_255", P0, patched(first_pdu, 3, 255), status_is(k0205)});
  // Required declarations (§6.3.1, §13).
  c.push_back(
      {"missing_initiator_name", P0, first(first_with({}, {"InitiatorName"})), status_is(k0207)});
  c.push_back(
      {"empty_initiator_name", P0, first(first_with({{"InitiatorName", ""}})), status_is(k0207)});
  c.push_back({"missing_target_name", P0, first(first_with({}, {"TargetName"})), status_is(k0207)});
  c.push_back({"unknown_target_name", P0,
               first(first_with({{"TargetName", "iqn.2026-11.org.example:nobody"}})),
               status_is(k0203)});
  c.push_back({"target_name_case_changed", P0,
               first(first_with({{"TargetName", "IQN.2026-11.org.multichap.fuzz:target"}})),
               status_is(k0203)});
  c.push_back(
      {"session_type_bogus", P0, first(first_with({{"SessionType", "Bogus"}})), status_is(k0209)});
  c.push_back({"session_type_lowercase", P0, first(first_with({{"SessionType", "normal"}})),
               status_is(k0209)});
  c.push_back({"tsih_of_no_session", P0, patched(first_pdu, 15, 0x42), status_is(k020a)});
  // Text that does not parse (RFC 7143 §6.1): 0x0200.
  const std::string base = build_text(LoginScript::first_keys());
  c.push_back({"duplicate_key", P0, first_text(base + std::string("InitiatorName=x\0", 16)),
               status_is(k0200)});
  c.push_back({"pair_without_equals", P0, first_text(base + std::string("NoEquals\0", 9)),
               status_is(k0200)});
  c.push_back(
      {"empty_key_name", P0, first_text(base + std::string("=value\0", 7)), status_is(k0200)});
  c.push_back({"key_name_64_bytes", P0,
               first_text(base + std::string(64, 'K') + std::string("=v\0", 3)), status_is(k0200)});
  c.push_back({"key_name_bad_character", P0, first_text(base + std::string("Bad!Key=v\0", 10)),
               status_is(k0200)});
  c.push_back({"value_256_bytes", P0,
               first_text(base + "InitiatorAlias=" + std::string(256, 'a') + std::string(1, '\0')),
               status_is(k0200)});
  c.push_back(
      {"last_pair_without_nul", P0, first_text(base.substr(0, base.size() - 1)), status_is(k0200)});
  c.push_back({"only_padding", P0, first_text(std::string(4, '\0')), status_is(k0200)});
  c.push_back(
      {"nul_inside_key", P0, first_text(base + std::string("Ke\0y=v\0", 7)), status_is(k0200)});
  // Operational answers that would not fit in one 8192-byte response (RFC 7143 §13.12).
  c.push_back(
      {"answers_over_8192_bytes", P0, first_text(many_unknown_keys(110)), status_is(k0200)});
  // Login text continued (C=1) past 64 KiB: out of resources.
  c.push_back({"continued_text_over_64k_first", P0, continued(9), status_is(k0302), false, true});
  c.push_back({"continued_text_over_64k_later", PA, continued(9), status_is(k0302), false, true});
  // AuthMethod games (RFC 7143 §6.2, §12.1): CHAP is required here; 0x0201 with Reject keys.
  c.push_back(
      {"auth_method_none_only", P0, first(first_with({{"AuthMethod", "None"}})), status_is(k0201)});
  c.push_back({"auth_method_krb5_srp", P0, first(first_with({{"AuthMethod", "KRB5,SRP"}})),
               status_is(k0201)});
  c.push_back({"auth_method_empty", P0, first(first_with({{"AuthMethod", ""}})), status_is(k0201)});
  c.push_back({"auth_method_empty_item_first", P0, first(first_with({{"AuthMethod", ",CHAP"}})),
               status_is(k0201)});
  c.push_back(
      {"auth_method_lowercase", P0, first(first_with({{"AuthMethod", "chap"}})), status_is(k0201)});
  c.push_back(
      {"auth_method_reject", P0, first(first_with({{"AuthMethod", "Reject"}})), status_is(k0201)});
  c.push_back(
      {"auth_method_with_chap_a", P0, first(first_with({{"CHAP_A", "5"}})), status_is(k0201)});
  c.push_back({"chap_a_without_auth_method", P0,
               first(first_with({{"CHAP_A", "5"}}, {"AuthMethod"})), status_is(k0201)});
  c.push_back(
      {"chap_response_first", P0,
       first(first_with({{"CHAP_N", std::string(kInitiatorUser)}, {"CHAP_R", hex_bytes(16)}},
                        {"AuthMethod"})),
       status_is(k0201)});
  c.push_back({"operational_first_skips_security", P0, first(LoginScript::first_keys(), 0x04),
               status_is(k0201)});
  c.push_back(
      {"jump_to_full_feature", P0, first(first_with({}, {"AuthMethod"}), 0x87), status_is(k0201)});
  c.push_back({"auth_method_twice", PA, next(KeyList{{"AuthMethod", "CHAP"}}), status_is(k0201)});
  c.push_back(
      {"none_after_chap_chosen", PA, next(KeyList{{"AuthMethod", "None"}}), status_is(k0201)});
  // CHAP_A (RFC 7143 §12.1.3, IANA PPP numbers): 0x0201 with CHAP_A=Reject or a protocol error.
  for (const auto& [name, offer] :
       std::vector<std::pair<std::string, std::string>>{{"chap_a_unknown_1", "1"},
                                                        {"chap_a_ms_chap_128", "128,129"},
                                                        {"chap_a_not_a_number", "5x"},
                                                        {"chap_a_leading_zero", "05"},
                                                        {"chap_a_overflow", "4294967296"},
                                                        {"chap_a_empty", ""},
                                                        {"chap_a_empty_item", "7,,5"},
                                                        {"chap_a_negative", "-5"},
                                                        {"chap_a_reject_value", "Reject"},
                                                        {"chap_a_hex_no_digits", "0x"}}) {
    c.push_back({name, PA, next(KeyList{{"CHAP_A", offer}}), status_is(k0201)});
  }
  c.push_back({"chap_a_with_chap_i", PA, next(KeyList{{"CHAP_A", "5"}, {"CHAP_I", "1"}}),
               status_is(k0201)});
  c.push_back({"chap_response_before_challenge", PA,
               next(KeyList{{"CHAP_N", std::string(kInitiatorUser)}, {"CHAP_R", hex_bytes(32)}}),
               status_is(k0201)});
  c.push_back({"no_keys_while_awaiting_chap_a", PA, next(KeyList{}), status_is(k0201)});
  // Stage and identity changes mid-login (RFC 7143 §6.3, §11.12).
  c.push_back({"request_in_operational_stage_mid_security", PA,
               next(KeyList{{"CHAP_A", "5"}}, 0x04), status_is(k0200)});
  c.push_back({"isid_changed", PA,
               [](LoginScript& s) {
                 s.isid[5] ^= 1;
                 return pdu_bytes(s.request(0x01, KeyList{{"CHAP_A", "5"}}));
               },
               status_is(k0200)});
  c.push_back({"cid_changed", PA,
               [](LoginScript& s) {
                 s.cid = 3;
                 return pdu_bytes(s.request(0x01, KeyList{{"CHAP_A", "5"}}));
               },
               status_is(k0200)});
  c.push_back({"tsih_changed", PA,
               [](LoginScript& s) {
                 s.tsih = 9;
                 return pdu_bytes(s.request(0x01, KeyList{{"CHAP_A", "5"}}));
               },
               status_is(k0200)});
  c.push_back({"t_and_c_mid_login", PA, next(KeyList{{"CHAP_A", "5"}}, 0xC1), status_is(k0200)});
  // Non-login PDUs during login: 0x020b.
  for (const auto& [name, op] :
       std::vector<std::pair<std::string, std::uint8_t>>{{"nop_out_mid_login", 0x00},
                                                         {"scsi_command_mid_login", 0x01},
                                                         {"text_request_mid_login", 0x04},
                                                         {"logout_mid_login", 0x06},
                                                         {"login_response_mid_login", 0x23}}) {
    c.push_back(
        {name, PA, [op = op](LoginScript&) { return pdu_bytes(raw(op, 0x80)); }, status_is(k020b)});
  }
  c.push_back({"dsl_8193_mid_login", PA,
               [](LoginScript& s) { return pdu_bytes(s.request(0x01, std::string(8193, 'a'))); },
               kClose});
  // CHAP_R (RFC 7143 §12.1.3: binary, exactly the digest size; RFC 1994 §4.1).
  c.push_back({"chap_r_wrong_value", PC,
               respond([](LoginScript& s) { return nr(flip_digit(s.response())); }),
               status_is(k0201)});
  c.push_back({"chap_r_wrong_secret", PC,
               respond([](LoginScript& s) { return nr(s.response(kWrongSecret)); }),
               status_is(k0201)});
  c.push_back({"chap_r_wrong_identifier", PC, respond([](LoginScript& s) {
                 return nr(
                     s.response_for(static_cast<std::uint8_t>(s.identifier + 1), kInitiatorSecret));
               }),
               status_is(k0201)});
  c.push_back({"chap_r_own_secret_of_target", PC,
               respond([](LoginScript& s) { return nr(s.response(kTargetSecret)); }),
               status_is(k0201)});
  c.push_back({"chap_r_one_byte_short", PC, respond([](LoginScript& s) {
                 const std::string r = s.response();
                 return nr(r.substr(0, r.size() - 2));
               }),
               status_is(k0201)});
  c.push_back({"chap_r_one_byte_long", PC,
               respond([](LoginScript& s) { return nr(s.response() + "00"); }), status_is(k0201)});
  c.push_back({"chap_r_md5_size_for_sha256", PC,
               respond([](LoginScript&) { return nr(hex_bytes(16)); }), status_is(k0201)});
  c.push_back({"chap_r_1024_bytes", PC, respond([](LoginScript&) { return nr(hex_bytes(1024)); }),
               status_is(k0201)});
  c.push_back({"chap_r_1025_bytes_text_too_long", PC,
               respond([](LoginScript&) { return nr(hex_bytes(1025)); }), status_is(k0200)});
  c.push_back({"chap_r_base64_2000_bytes", PC,
               respond([](LoginScript&) { return nr(encode_base64(ByteView(Bytes(1500, 1)))); }),
               status_is(k0201)});
  c.push_back({"chap_r_no_prefix", PC,
               respond([](LoginScript& s) { return nr(s.response().substr(2)); }),
               status_is(k0201)});
  c.push_back(
      {"chap_r_empty_hex", PC, respond([](LoginScript&) { return nr("0x"); }), status_is(k0201)});
  c.push_back(
      {"chap_r_empty_value", PC, respond([](LoginScript&) { return nr(""); }), status_is(k0201)});
  c.push_back({"chap_r_bad_hex_digit", PC, respond([](LoginScript& s) {
                 std::string r = s.response();
                 r[5] = 'g';
                 return nr(r);
               }),
               status_is(k0201)});
  c.push_back({"chap_r_hex_with_space", PC, respond([](LoginScript& s) {
                 std::string r = s.response();
                 r[5] = ' ';
                 return nr(r);
               }),
               status_is(k0201)});
  c.push_back({"chap_r_odd_hex_digits", PC,
               respond([](LoginScript& s) { return nr(s.response().substr(0, 65)); }),
               status_is(k0201)});
  c.push_back({"chap_r_base64_bad_padding", PC,
               respond([](LoginScript&) { return nr("0bAAAA=A"); }), status_is(k0201)});
  c.push_back({"chap_r_base64_non_canonical", PC,
               respond([](LoginScript&) { return nr("0b" + std::string(42, 'A') + "B="); }),
               status_is(k0201)});
  c.push_back({"chap_r_base64_bad_char", PC,
               respond([](LoginScript&) { return nr("0b" + std::string(40, 'A') + "*AA="); }),
               status_is(k0201)});
  c.push_back({"chap_r_is_the_challenge", PC,
               respond([](LoginScript& s) { return nr(s.challenge_text); }), status_is(k0201)});
  c.push_back({"chap_r_duplicated_key", PC,
               [](LoginScript& s) {
                 const std::string r = s.response();
                 return pdu_bytes(
                     s.request(0x81, build_text(nr(r)) + "CHAP_R=" + r + std::string(1, '\0')));
               },
               status_is(k0200)});
  // CHAP_N (opaque, compared exactly).
  c.push_back({"chap_n_unknown", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()), {{"CHAP_N", "mallory"}});
               }),
               status_is(k0201)});
  c.push_back({"chap_n_empty", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()), {{"CHAP_N", ""}});
               }),
               status_is(k0201)});
  c.push_back({"chap_n_uppercase", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()), {{"CHAP_N", "HARDENING-INITIATOR"}});
               }),
               status_is(k0201)});
  c.push_back({"chap_n_with_suffix", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()), {{"CHAP_N", std::string(kInitiatorUser) + "x"}});
               }),
               status_is(k0201)});
  c.push_back({"chap_n_hex_encoded", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()),
                             {{"CHAP_N", encode_hex(ByteView(std::string_view(kInitiatorUser)))}});
               }),
               status_is(k0201)});
  c.push_back({"chap_n_missing", PC, respond([](LoginScript& s) {
                 return KeyList{{"CHAP_R", s.response()}};
               }),
               status_is(k0201)});
  c.push_back({"chap_r_missing", PC, respond([](LoginScript&) {
                 return KeyList{{"CHAP_N", std::string(kInitiatorUser)}};
               }),
               status_is(k0201)});
  c.push_back({"chap_a_again_with_response", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()), {{"CHAP_A", "7"}});
               }),
               status_is(k0201)});
  c.push_back({"auth_method_with_response", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()), {{"AuthMethod", "CHAP"}});
               }),
               status_is(k0201)});
  c.push_back({"no_keys_while_awaiting_response", PC, next(KeyList{}), status_is(k0201)});
  // Mutual CHAP from the initiator (CHAP_I/CHAP_C): ranges, encodings, reflection (§9.2.1).
  for (const auto& [name, id] :
       std::vector<std::pair<std::string, std::string>>{{"chap_i_256", "256"},
                                                        {"chap_i_negative", "-1"},
                                                        {"chap_i_hex_0x100", "0x100"},
                                                        {"chap_i_not_a_number", "abc"},
                                                        {"chap_i_empty", ""},
                                                        {"chap_i_leading_zero", "01"},
                                                        {"chap_i_huge", "99999999999999999999"}}) {
    c.push_back({name, PC, respond([id = id](LoginScript& s) {
                   return with(mutual(s), {{"CHAP_I", id}});
                 }),
                 status_is(k0201)});
  }
  c.push_back({"chap_i_without_chap_c", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()), {{"CHAP_I", "1"}});
               }),
               status_is(k0201)});
  c.push_back({"chap_c_without_chap_i", PC, respond([](LoginScript& s) {
                 return with(nr(s.response()), {{"CHAP_C", hex_bytes(32)}});
               }),
               status_is(k0201)});
  c.push_back({"chap_c_reflected", PC, respond([](LoginScript& s) {
                 return with(mutual(s), {{"CHAP_C", s.challenge_text}});
               }),
               status_is(k0201)});
  c.push_back({"chap_c_reflected_as_base64", PC, respond([](LoginScript& s) {
                 return with(mutual(s), {{"CHAP_C", encode_base64(ByteView(s.challenge))}});
               }),
               status_is(k0201)});
  c.push_back({"chap_c_too_short_8", PC, respond([](LoginScript& s) { return mutual(s, 8); }),
               status_is(k0201)});
  c.push_back({"chap_c_1025_bytes_text_too_long", PC,
               respond([](LoginScript& s) { return mutual(s, 1025); }), status_is(k0200)});
  c.push_back({"chap_c_empty_hex", PC, respond([](LoginScript& s) {
                 return with(mutual(s), {{"CHAP_C", "0x"}});
               }),
               status_is(k0201)});
  c.push_back({"chap_c_bad_base64", PC, respond([](LoginScript& s) {
                 return with(mutual(s), {{"CHAP_C", "0b%%%%"}});
               }),
               status_is(k0201)});
  c.push_back({"chap_c_no_prefix", PC, respond([](LoginScript& s) {
                 return with(mutual(s), {{"CHAP_C", "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c"}});
               }),
               status_is(k0201)});
  c.push_back({"mutual_with_wrong_response", PC, respond([](LoginScript& s) {
                 return with(mutual(s), {{"CHAP_R", flip_digit(s.response())}});
               }),
               status_is(k0201)});
  // Boundaries that a strict target must still accept (not stricter than the RFC).
  c.push_back({"accept_chap_c_1024_bytes", PC,
               respond([](LoginScript& s) { return mutual(s, 1024); }), kAccepted});
  c.push_back({"accept_chap_r_uppercase_hex", PC, respond([](LoginScript& s) {
                 std::string r = s.response();
                 for (auto& ch : r)
                   ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                 return nr(r);
               }),
               kAccepted});
  c.push_back({"accept_chap_r_base64", PC, respond([](LoginScript& s) {
                 auto r = decode_binary(s.response(), 64);
                 return nr(encode_base64(ByteView(r->data(), r->size())));
               }),
               kAccepted});
  c.push_back({"accept_chap_i_hex", PC, respond([](LoginScript& s) {
                 return with(mutual(s), {{"CHAP_I", "0xff"}});
               }),
               kAccepted});
  c.push_back({"accept_chap_a_hex_number", PA, next(KeyList{{"CHAP_A", "0x7"}}), kAccepted});
  c.push_back({"accept_unknown_key_answered_not_understood", P0,
               first(first_with({{"X-Vendor-Key", "1"}})), kAccepted});
  // After the response: the exchange is over.
  c.push_back({"second_response_after_success", PC,
               [](LoginScript& s) {
                 const Bytes a = s.request(0x01, nr(s.response())).serialize();
                 const Bytes b = s.request(0x01, nr(s.response())).serialize();
                 return cat({a, b});
               },
               status_is(k0201), false, true});
  // Operational stage: no authentication keys, no going back (RFC 7143 §6.3).
  c.push_back(
      {"chap_a_in_operational", PO, next(KeyList{{"CHAP_A", "5"}}, 0x05), status_is(k0200)});
  c.push_back({"auth_method_in_operational", PO, next(KeyList{{"AuthMethod", "CHAP"}}, 0x05),
               status_is(k0200)});
  c.push_back({"chap_r_in_operational", PO, next(KeyList{{"CHAP_R", hex_bytes(32)}}, 0x05),
               status_is(k0200)});
  c.push_back(
      {"back_to_security_stage", PO, next(KeyList{{"CHAP_A", "5"}}, 0x01), status_is(k0200)});
  c.push_back({"operational_transit_to_itself", PO, next(KeyList{}, 0x85), status_is(k0200)});
  c.push_back({"nop_out_in_operational", PO,
               [](LoginScript&) { return pdu_bytes(raw(0x00, 0x80)); }, status_is(k020b)});
  c.push_back({"dsl_8193_in_operational", PO,
               [](LoginScript& s) { return pdu_bytes(s.request(0x05, std::string(8193, 'a'))); },
               kClose});
  // Full feature phase: no SCSI layer, so Reject (RFC 7143 §11.17); bounded reads; logout ends.
  c.push_back({"scsi_command_in_ffp", PF,
               [](LoginScript& s) { return pdu_bytes(ffp(s, 0x01, 0x80, false)); }, kReject});
  c.push_back({"vendor_opcode_in_ffp", PF, [](LoginScript& s) { return pdu_bytes(ffp(s, 0x1e)); },
               kReject});
  c.push_back({"login_request_in_ffp", PF,
               [](LoginScript& s) { return pdu_bytes(s.request(0x01, LoginScript::first_keys())); },
               kReject});
  c.push_back(
      {"text_request_in_ffp", PF, [](LoginScript& s) { return pdu_bytes(ffp(s, 0x04)); }, kReject});
  c.push_back({"nop_out_reply_itt_ffffffff_ignored", PF,
               [](LoginScript& s) {
                 Pdu p = ffp(s, 0x00);
                 for (int i = 16; i < 20; ++i) p.bhs[i] = 0xff;
                 return pdu_bytes(p);
               },
               kIgnored});
  c.push_back({"dsl_over_256k_in_ffp", PF,
               [](LoginScript& s) {
                 Bytes b = ffp(s, 0x00).serialize();
                 b[5] = 0x04;  // 262145 bytes
                 b[6] = 0x00;
                 b[7] = 0x01;
                 return b;
               },
               kClose});
  c.push_back({"logout_without_f_bit", PF,
               [](LoginScript& s) {
                 Bytes b = logout(s).serialize();
                 b[1] = 0x00;
                 return b;
               },
               kClose});
  c.push_back({"data_after_logout", PF,
               [](LoginScript& s) {
                 return cat({logout(s).serialize(), ffp(s, 0x00).serialize(),
                             s.request(0x01, LoginScript::first_keys()).serialize()});
               },
               kLogout});
  return c;
}

// ---- running a case --------------------------------------------------------------------------

std::string describe(const Reply& r) {
  if (!r.pdu) return "no PDU (" + r.error.message + ")";
  std::string s = opcode_name(r.pdu->opcode());
  if (auto resp = decode_login_response(*r.pdu)) s += " status " + status_text(resp->status);
  return s;
}

// Sends a valid logout on an FFP connection and expects its response.
::testing::AssertionResult logs_out(LoginScript& s) {
  if (!s.client().send(logout(s))) return ::testing::AssertionFailure() << "logout send failed";
  Reply r = s.client().read();
  while (r.pdu && r.pdu->opcode() != static_cast<std::uint8_t>(Opcode::logout_response)) {
    r = s.client().read();  // e.g. a Reject still in flight
  }
  if (!r.pdu) return ::testing::AssertionFailure() << "no logout response: " << r.error.message;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult run_case(std::uint16_t port, const Case& c) {
  auto client = RawClient::connect(port);
  if (!client) return ::testing::AssertionFailure() << "cannot connect";
  LoginScript s(std::move(*client));
  if (!s.run_prefix(c.prefix)) {
    return ::testing::AssertionFailure() << "valid prefix failed: " << s.failure;
  }
  if (!s.client().send(c.bytes(s))) return ::testing::AssertionFailure() << "send failed";
  if (c.half_close) s.client().half_close();

  switch (c.expect.outcome) {
    case Outcome::status: {
      Reply r = s.client().read();
      while (c.skip_acks && r.pdu) {
        auto resp = decode_login_response(*r.pdu);
        if (!resp || resp->status != status::kSuccess || !resp->data.empty()) break;
        r = s.client().read();
      }
      if (!r.pdu) return ::testing::AssertionFailure() << "expected a status, got " << describe(r);
      auto resp = decode_login_response(*r.pdu);
      if (!resp || resp->status != c.expect.code) {
        return ::testing::AssertionFailure()
               << "expected " << status_text(c.expect.code) << ", got " << describe(r);
      }
      // Only reject keys may accompany a failure.
      auto keys = parse_text(ByteView(resp->data));
      if (!keys) return ::testing::AssertionFailure() << "failure response text does not parse";
      for (const auto& kv : *keys) {
        if (kv.value != "Reject") {
          return ::testing::AssertionFailure() << "failure response carries " << kv.key;
        }
      }
      if (!s.client().closed_by_peer()) {
        return ::testing::AssertionFailure() << "target kept the connection after the status";
      }
      return ::testing::AssertionSuccess();
    }
    case Outcome::close: {
      Reply r = s.client().read();
      if (r.pdu) return ::testing::AssertionFailure() << "expected a close, got " << describe(r);
      if (!RawClient::closed(r.error)) {
        return ::testing::AssertionFailure() << "expected a close, got " << r.error.message;
      }
      return ::testing::AssertionSuccess();
    }
    case Outcome::reject: {
      Reply r = s.client().read();
      if (!r.pdu || r.pdu->opcode() != static_cast<std::uint8_t>(Opcode::reject)) {
        return ::testing::AssertionFailure() << "expected a Reject, got " << describe(r);
      }
      auto reject = decode_reject(*r.pdu);
      if (!reject || reject->rejected_header.size() != kBhsSize) {
        return ::testing::AssertionFailure() << "Reject without the rejected header";
      }
      return logs_out(s);
    }
    case Outcome::ignored: {
      Reply r = s.client().read(Millis(200));
      if (r.pdu) return ::testing::AssertionFailure() << "expected silence, got " << describe(r);
      return logs_out(s);
    }
    case Outcome::logout: {
      Reply r = s.client().read();
      if (!r.pdu || r.pdu->opcode() != static_cast<std::uint8_t>(Opcode::logout_response)) {
        return ::testing::AssertionFailure() << "expected a Logout Response, got " << describe(r);
      }
      if (!s.client().closed_by_peer()) {
        return ::testing::AssertionFailure() << "target kept the connection after logout";
      }
      return ::testing::AssertionSuccess();
    }
    case Outcome::accepted: {
      Reply r = s.client().read();
      if (!r.pdu) return ::testing::AssertionFailure() << "expected an answer, got " << describe(r);
      auto resp = decode_login_response(*r.pdu);
      if (!resp || resp->status != status::kSuccess) {
        return ::testing::AssertionFailure() << "expected status 0, got " << describe(r);
      }
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "unknown outcome";
}

// gtest prints a failing case's parameter: its name is what identifies it.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

// One test per case, each against a target of its own: the case gets the answer it must, then a
// valid login still succeeds, the stats count both connections, and nothing in the target's log
// is a secret.
class BadInputCampaign : public ::testing::TestWithParam<Case> {};

TEST_P(BadInputCampaign, TargetAnswersTheMalformedInputAndKeepsServing) {
  const Case& c = GetParam();
  Lines log;
  TargetOptions options;
  // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers it).
  options.guard.enabled = false;
  options.chap = target_config(true);
  options.login_timeout = Millis(1500);
  options.log = log.sink();
  options.log_keys = true;
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  const std::uint16_t port = target->port();

  EXPECT_TRUE(run_case(port, c));

  // A valid login right after the case.
  const LoginResult good = real_login(port);
  EXPECT_TRUE(good.login.has_value())
      << "valid login after the case failed: " << good.login.error().message;

  // Stats: both connections counted, the good login succeeded; the case counts as a failed
  // login at most once (never as a success unless it reached full feature phase).
  ASSERT_TRUE(eventually([&] { return target->active_connections() == 0; }));
  const TargetStats stats = target->stats();
  EXPECT_EQ(stats.connections, 2u);
  const bool case_logged_in = c.prefix == Prefix::full_feature;
  EXPECT_EQ(stats.logins_succeeded, case_logged_in ? 2u : 1u);
  if (c.expect.outcome == Outcome::status) {
    EXPECT_EQ(stats.logins_failed, 1u);
  } else {
    EXPECT_LE(stats.logins_failed, 1u);
  }
  EXPECT_EQ(target->session_count(), 0u);

  // Nothing the case sent made the target log a secret.
  const std::string text = log.joined();
  EXPECT_EQ(text.find(kInitiatorSecret), std::string::npos);
  EXPECT_EQ(text.find(kTargetSecret), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInputCampaign, ::testing::ValuesIn(campaign()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(BadInputCampaignTable, HasAtLeastAHundredDistinctCasesOfEveryOutcome) {
  const auto cases = campaign();
  std::set<std::string> names;
  std::size_t by_outcome[6] = {};
  for (const Case& c : cases) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    ++by_outcome[static_cast<int>(c.expect.outcome)];
  }
  EXPECT_GE(cases.size(), 100u);
  for (const std::size_t n : by_outcome) EXPECT_GT(n, 0u);
  std::printf(
      "bad-input campaign: %zu cases (%zu status codes, %zu closes, %zu rejects, %zu ignored, "
      "%zu accepted boundaries, %zu logouts), each followed by a valid login\n",
      cases.size(), by_outcome[0], by_outcome[1], by_outcome[2], by_outcome[3], by_outcome[4],
      by_outcome[5]);
}

// The campaign's checks can fail: a correct response is not a failure, and a status the target
// does not send is not matched.
TEST(BadInputCampaignTable, ExpectationsAreNotVacuous) {
  TargetOptions options;
  // Its failures all come from 127.0.0.1: LoginGuard would delay them (login_guard_test covers it).
  options.guard.enabled = false;
  options.chap = target_config(true);
  options.login_timeout = Millis(1500);
  auto target = start_target(std::move(options));
  ASSERT_TRUE(target);
  const Case correct{"correct_response", Prefix::challenge,
                     respond([](LoginScript& s) { return nr(s.response()); }), status_is(k0201)};
  EXPECT_FALSE(run_case(target->port(), correct));
  const Case wrong_code{"wrong_code", Prefix::none, first(first_with({}, {"InitiatorName"})),
                        status_is(k0203)};
  EXPECT_FALSE(run_case(target->port(), wrong_code));
  const Case not_closed{"not_closed", Prefix::auth_method, next(KeyList{{"CHAP_A", "7"}}), kClose};
  EXPECT_FALSE(run_case(target->port(), not_closed));
}

}  // namespace
}  // namespace multichap::hardening
