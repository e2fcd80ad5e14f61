// SPDX-License-Identifier: BSD-2-Clause
// libFuzzer target: the PDU codec (session/pdu.h).
//
// The input is a byte stream of PDUs. Invariants:
//   - parse_pdu over the first PDU agrees with itself under a larger limit, fails exactly when a
//     length lies or exceeds the limit, and yields the header verbatim and DataSegmentLength bytes;
//     serialize() of what it parsed is a fixed point (parse(serialize(p)) == p, AHS dropped) and
//     equals the input when the input had no AHS and zero padding;
//   - read_pdu over a socket carrying the same stream yields the same PDUs, in order, as
//     parse_pdu over the split stream, and fails where the buffer parser fails (no parser is
//     laxer or stricter than the other: CVE-2018-14633 was a decoder trusting a length);
//   - every decode_* either fails with a protocol error or yields fields whose encode() decodes
//     back to the same fields (decode is a projection); a decoded Login Request obeys the stage
//     rules of RFC 7143 §11.12.3 (no T with C, no stage 2, transit only forward), and so does a
//     successful Login Response; Text Requests and Responses never have F and C together;
//   - any data segment parsed as a SendTargets answer fails with a protocol error or yields
//     targets with non-empty names, no more text than it was given.
#include <algorithm>
#include <string>

#include "session/discovery.h"
#include "session/pdu.h"
#include "session/transport.h"
#include "tests/fuzz/session_fuzz_targets.h"

namespace multichap::fuzz {

namespace {

bool same_pdu(const Pdu& a, const Pdu& b) {
  return a.bhs == b.bhs && a.data == b.data;
}

void check_stage_rules(bool transit, bool cont, std::uint8_t csg, std::uint8_t nsg) {
  MULTICHAP_FUZZ_CHECK(!(transit && cont));
  MULTICHAP_FUZZ_CHECK(csg != 2 && csg != 3);
  if (transit) {
    MULTICHAP_FUZZ_CHECK(nsg != 2);
    MULTICHAP_FUZZ_CHECK(nsg > csg);
  }
}

bool same_request(const LoginRequest& a, const LoginRequest& b) {
  return a.transit == b.transit && a.cont == b.cont && a.csg == b.csg && a.nsg == b.nsg &&
         a.version_max == b.version_max && a.version_min == b.version_min && a.isid == b.isid &&
         a.tsih == b.tsih && a.itt == b.itt && a.cid == b.cid && a.cmd_sn == b.cmd_sn &&
         a.exp_stat_sn == b.exp_stat_sn && a.data == b.data;
}

bool same_response(const LoginResponse& a, const LoginResponse& b) {
  return a.transit == b.transit && a.cont == b.cont && a.csg == b.csg && a.nsg == b.nsg &&
         a.version_max == b.version_max && a.version_active == b.version_active &&
         a.isid == b.isid && a.tsih == b.tsih && a.itt == b.itt && a.stat_sn == b.stat_sn &&
         a.exp_cmd_sn == b.exp_cmd_sn && a.max_cmd_sn == b.max_cmd_sn && a.status == b.status &&
         a.data == b.data;
}

template <typename T>
void expect_protocol_error(const Result<T>& r) {
  MULTICHAP_FUZZ_CHECK(r.error().kind == ErrorKind::protocol);
  MULTICHAP_FUZZ_CHECK(!r.error().message.empty());
  MULTICHAP_FUZZ_CHECK(r.error().code != ErrorCode::generic_protocol);
}

// Runs every typed decoder on pdu and checks the round trips.
void check_decoders(const Pdu& pdu) {
  const auto opcode = static_cast<Opcode>(pdu.opcode());

  auto request = decode_login_request(pdu);
  MULTICHAP_FUZZ_CHECK(request.has_value() == false || opcode == Opcode::login_request);
  if (request) {
    check_stage_rules(request->transit, request->cont, request->csg, request->nsg);
    MULTICHAP_FUZZ_CHECK(request->data == pdu.data);
    const Pdu encoded = encode(*request);
    MULTICHAP_FUZZ_CHECK(encoded.immediate());
    auto again = decode_login_request(encoded);
    MULTICHAP_FUZZ_CHECK(again.has_value() && same_request(*again, *request));
  } else {
    expect_protocol_error(request);
  }

  auto response = decode_login_response(pdu);
  MULTICHAP_FUZZ_CHECK(response.has_value() == false || opcode == Opcode::login_response);
  if (response) {
    if (response->status == status::kSuccess) {
      check_stage_rules(response->transit, response->cont, response->csg, response->nsg);
    }
    // (A failure status ends the login whatever its flags say: they are not checked then.)
    auto again = decode_login_response(encode(*response));
    MULTICHAP_FUZZ_CHECK(again.has_value() && same_response(*again, *response));
    MULTICHAP_FUZZ_CHECK(!status_text(response->status).empty());
  } else {
    expect_protocol_error(response);
  }

  if (auto logout = decode_logout_request(pdu)) {
    MULTICHAP_FUZZ_CHECK(opcode == Opcode::logout_request);
    auto again = decode_logout_request(encode(*logout));
    MULTICHAP_FUZZ_CHECK(again.has_value() && again->reason == logout->reason &&
                         again->itt == logout->itt && again->cid == logout->cid &&
                         again->cmd_sn == logout->cmd_sn &&
                         again->exp_stat_sn == logout->exp_stat_sn);
  } else {
    expect_protocol_error(logout);
  }

  if (auto logout = decode_logout_response(pdu)) {
    MULTICHAP_FUZZ_CHECK(opcode == Opcode::logout_response);
    auto again = decode_logout_response(encode(*logout));
    MULTICHAP_FUZZ_CHECK(again.has_value() && again->response == logout->response &&
                         again->itt == logout->itt && again->stat_sn == logout->stat_sn &&
                         again->exp_cmd_sn == logout->exp_cmd_sn &&
                         again->max_cmd_sn == logout->max_cmd_sn);
  } else {
    expect_protocol_error(logout);
  }

  if (auto nop = decode_nop_out(pdu)) {
    MULTICHAP_FUZZ_CHECK(opcode == Opcode::nop_out && nop->data == pdu.data);
    auto again = decode_nop_out(encode(*nop));
    MULTICHAP_FUZZ_CHECK(again.has_value() && again->itt == nop->itt && again->ttt == nop->ttt &&
                         again->cmd_sn == nop->cmd_sn && again->exp_stat_sn == nop->exp_stat_sn &&
                         again->data == nop->data);
  } else {
    expect_protocol_error(nop);
  }

  if (auto nop = decode_nop_in(pdu)) {
    MULTICHAP_FUZZ_CHECK(opcode == Opcode::nop_in && nop->data == pdu.data);
    auto again = decode_nop_in(encode(*nop));
    MULTICHAP_FUZZ_CHECK(again.has_value() && again->itt == nop->itt && again->ttt == nop->ttt &&
                         again->stat_sn == nop->stat_sn && again->exp_cmd_sn == nop->exp_cmd_sn &&
                         again->max_cmd_sn == nop->max_cmd_sn && again->data == nop->data);
  } else {
    expect_protocol_error(nop);
  }

  if (auto reject = decode_reject(pdu)) {
    MULTICHAP_FUZZ_CHECK(opcode == Opcode::reject && reject->rejected_header == pdu.data);
    auto again = decode_reject(encode(*reject));
    MULTICHAP_FUZZ_CHECK(
        again.has_value() && again->reason == reject->reason && again->stat_sn == reject->stat_sn &&
        again->exp_cmd_sn == reject->exp_cmd_sn && again->max_cmd_sn == reject->max_cmd_sn &&
        again->rejected_header == reject->rejected_header);
  } else {
    expect_protocol_error(reject);
  }

  if (auto text = decode_text_request(pdu)) {
    MULTICHAP_FUZZ_CHECK(opcode == Opcode::text_request && text->data == pdu.data);
    MULTICHAP_FUZZ_CHECK(!(text->final && text->cont));
    auto again = decode_text_request(encode(*text));
    MULTICHAP_FUZZ_CHECK(again.has_value() && again->immediate == text->immediate &&
                         again->final == text->final && again->cont == text->cont &&
                         again->itt == text->itt && again->ttt == text->ttt &&
                         again->cmd_sn == text->cmd_sn && again->exp_stat_sn == text->exp_stat_sn &&
                         again->data == text->data);
  } else {
    expect_protocol_error(text);
  }

  if (auto text = decode_text_response(pdu)) {
    MULTICHAP_FUZZ_CHECK(opcode == Opcode::text_response && text->data == pdu.data);
    MULTICHAP_FUZZ_CHECK(!(text->final && text->cont));
    auto again = decode_text_response(encode(*text));
    MULTICHAP_FUZZ_CHECK(again.has_value() && again->final == text->final &&
                         again->cont == text->cont && again->itt == text->itt &&
                         again->ttt == text->ttt && again->stat_sn == text->stat_sn &&
                         again->exp_cmd_sn == text->exp_cmd_sn &&
                         again->max_cmd_sn == text->max_cmd_sn && again->data == text->data);
  } else {
    expect_protocol_error(text);
  }

  // Any data segment as a SendTargets answer (session/discovery.h): a protocol error, or targets
  // with non-empty names whose text adds up to no more than the input.
  if (auto targets = parse_send_targets(ByteView(pdu.data))) {
    std::size_t bytes = 0;
    for (const auto& t : *targets) {
      MULTICHAP_FUZZ_CHECK(!t.name.empty());
      bytes += t.name.size();
      for (const auto& a : t.addresses) bytes += a.size();
    }
    MULTICHAP_FUZZ_CHECK(bytes <= pdu.data.size());
  } else {
    expect_protocol_error(targets);
  }

  MULTICHAP_FUZZ_CHECK(!opcode_name(pdu.opcode()).empty());
}

// Checks one PDU's buffer parse; returns it when the input starts with a complete PDU within
// the login limit.
std::optional<Pdu> check_buffer_parse(ByteView wire) {
  auto strict = parse_pdu(wire, kDefaultMaxRecvDataSegment);
  auto lax = parse_pdu(wire, 0xffffff);
  if (!lax) {
    MULTICHAP_FUZZ_CHECK(!strict.has_value());
    expect_protocol_error(lax);
    return std::nullopt;
  }
  const std::uint32_t length =
      (std::uint32_t{wire[5]} << 16) | (std::uint32_t{wire[6]} << 8) | std::uint32_t{wire[7]};
  MULTICHAP_FUZZ_CHECK(lax->data.size() == length);
  MULTICHAP_FUZZ_CHECK(std::equal(lax->bhs.begin(), lax->bhs.end(), wire.begin()));
  MULTICHAP_FUZZ_CHECK(wire_length(wire) == wire.size());
  MULTICHAP_FUZZ_CHECK(strict.has_value() == (length <= kDefaultMaxRecvDataSegment));
  if (strict) MULTICHAP_FUZZ_CHECK(same_pdu(*strict, *lax));

  const Bytes serialized = lax->serialize();
  auto reparsed = parse_pdu(ByteView(serialized), 0xffffff);
  MULTICHAP_FUZZ_CHECK(reparsed.has_value());
  MULTICHAP_FUZZ_CHECK(reparsed->data == lax->data);
  MULTICHAP_FUZZ_CHECK(reparsed->bhs[4] == 0);
  MULTICHAP_FUZZ_CHECK(reparsed->serialize() == serialized);
  const bool zero_padding = std::all_of(wire.begin() + (wire.size() - (4 - length % 4) % 4),
                                        wire.end(), [](std::uint8_t b) { return b == 0; });
  if (wire[4] == 0 && zero_padding) {
    MULTICHAP_FUZZ_CHECK(serialized.size() == wire.size());
    MULTICHAP_FUZZ_CHECK(std::equal(serialized.begin(), serialized.end(), wire.begin()));
  }
  if (!strict) return std::nullopt;
  return std::move(strict).value();
}

}  // namespace

void fuzz_pdu(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, std::min(size, kMaxSessionFuzzInput));

  // The buffer parser over the whole input, then over the stream split by wire lengths.
  auto whole = parse_pdu(input, kDefaultMaxRecvDataSegment);
  const auto first_length = wire_length(input);
  if (whole) MULTICHAP_FUZZ_CHECK(first_length == input.size());
  if (!first_length) MULTICHAP_FUZZ_CHECK(!whole.has_value());

  std::vector<Pdu> expected;  // what read_pdu must produce, in order
  bool expect_error_after = false;
  ByteView rest = input;
  while (!rest.empty()) {
    const auto length = wire_length(rest);
    if (!length || *length > rest.size()) {
      expect_error_after = true;  // truncated: read_pdu sees end of stream mid-PDU
      break;
    }
    auto pdu = check_buffer_parse(rest.first(*length));
    if (!pdu) {
      expect_error_after = true;  // over the limit: read_pdu must refuse it too
      break;
    }
    check_decoders(*pdu);
    expected.push_back(std::move(*pdu));
    rest = rest.subview(*length);
  }

  // The socket reader over the same bytes.
  SocketPair pair;
  MULTICHAP_FUZZ_CHECK(write_fully(pair.ours, input.data(), input.size()));
  ::shutdown(pair.ours, SHUT_WR);
  Connection conn(pair.release_theirs());
  const auto deadline = Clock::now() + Millis(2000);
  for (const Pdu& want : expected) {
    auto got = read_pdu(conn, kDefaultMaxRecvDataSegment, deadline);
    MULTICHAP_FUZZ_CHECK(got.has_value());
    MULTICHAP_FUZZ_CHECK(same_pdu(*got, want));
  }
  auto end = read_pdu(conn, kDefaultMaxRecvDataSegment, deadline);
  MULTICHAP_FUZZ_CHECK(!end.has_value());
  // Either a clean end of stream, a truncated PDU (closed mid-read) or a refused length.
  if (expect_error_after) {
    MULTICHAP_FUZZ_CHECK(end.error().kind == ErrorKind::io ||
                         end.error().kind == ErrorKind::protocol);
  } else {
    MULTICHAP_FUZZ_CHECK(end.error().kind == ErrorKind::io);
  }
}

}  // namespace multichap::fuzz

#if !defined(MULTICHAP_FUZZ_REPLAY)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  multichap::fuzz::fuzz_pdu(data, size);
  return 0;
}
#endif
