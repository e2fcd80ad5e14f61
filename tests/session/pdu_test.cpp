// SPDX-License-Identifier: BSD-2-Clause
// The PDU codec (session/pdu.h): every PDU type round-trips through encode -> bytes -> parse ->
// decode and lands on the byte offsets RFC 7143 §11 gives; the login stage rules are enforced;
// lying length fields are protocol errors and never over-reads (this suite runs under ASan);
// read_pdu over real sockets reports a peer that closes mid-PDU (io) or stalls (timeout).
#include "session/pdu.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <thread>

#include "session/transport.h"
#include "tests/support/result_matchers.h"

namespace multichap {
namespace {

constexpr std::uint32_t kMax = kDefaultMaxRecvDataSegment;

// Serializes pdu and parses it back through the bounded parser.
Pdu through_wire(const Pdu& pdu) {
  const Bytes wire = pdu.serialize();
  EXPECT_EQ(wire.size() % 4, 0u);
  auto parsed = parse_pdu(wire, kMax);
  EXPECT_TRUE(parsed) << parsed.error().message;
  return parsed ? std::move(parsed).value() : Pdu{};
}

Bytes text_bytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

std::uint32_t be32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

// ---------------------------------------------------------------------------------------------
// Round trips and wire layout

TEST(PduCodec, LoginRequestRoundTripsAndSitsWhereTheRfcSays) {
  LoginRequest in;
  in.transit = true;
  in.csg = kSecurityStage;
  in.nsg = kOperationalStage;
  in.version_max = 0;
  in.version_min = 0;
  in.isid = {0x80, 0x12, 0x34, 0x56, 0x00, 0x01};
  in.tsih = 0x0203;
  in.itt = 0x11223344;
  in.cid = 0x0506;
  in.cmd_sn = 0xa1a2a3a4;
  in.exp_stat_sn = 0xb1b2b3b4;
  in.data = text_bytes(std::string_view("InitiatorName=iqn.x\0AuthMethod=CHAP\0", 36));

  const Pdu pdu = encode(in);
  const Bytes wire = pdu.serialize();
  ASSERT_EQ(wire.size(), kBhsSize + 36);  // 36 is already a multiple of 4
  EXPECT_EQ(wire[0], 0x43);               // immediate + opcode 0x03
  EXPECT_EQ(wire[1], 0x81);               // T, CSG 0, NSG 1
  EXPECT_EQ(wire[4], 0);                  // no AHS
  EXPECT_EQ((wire[5] << 16) | (wire[6] << 8) | wire[7], 36);
  EXPECT_EQ(wire[8], 0x80);
  EXPECT_EQ(wire[13], 0x01);
  EXPECT_EQ((wire[14] << 8) | wire[15], 0x0203);
  EXPECT_EQ(be32(wire, 16), 0x11223344u);
  EXPECT_EQ((wire[20] << 8) | wire[21], 0x0506);
  EXPECT_EQ(be32(wire, 24), 0xa1a2a3a4u);
  EXPECT_EQ(be32(wire, 28), 0xb1b2b3b4u);

  auto out = decode_login_request(through_wire(pdu));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE(out->transit);
  EXPECT_FALSE(out->cont);
  EXPECT_EQ(out->csg, kSecurityStage);
  EXPECT_EQ(out->nsg, kOperationalStage);
  EXPECT_EQ(out->isid, in.isid);
  EXPECT_EQ(out->tsih, in.tsih);
  EXPECT_EQ(out->itt, in.itt);
  EXPECT_EQ(out->cid, in.cid);
  EXPECT_EQ(out->cmd_sn, in.cmd_sn);
  EXPECT_EQ(out->exp_stat_sn, in.exp_stat_sn);
  EXPECT_EQ(out->data, in.data);
}

TEST(PduCodec, LoginRequestWithContinuationRoundTrips) {
  LoginRequest in;
  in.cont = true;
  in.csg = kOperationalStage;
  in.data = text_bytes("A=1");  // 3 bytes: one byte of padding on the wire
  const Bytes wire = encode(in).serialize();
  ASSERT_EQ(wire.size(), kBhsSize + 4);
  EXPECT_EQ(wire[1], 0x44);  // C, CSG 1
  EXPECT_EQ(wire[kBhsSize + 3], 0);
  auto out = decode_login_request(through_wire(encode(in)));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE(out->cont);
  EXPECT_FALSE(out->transit);
  EXPECT_EQ(out->csg, kOperationalStage);
  EXPECT_EQ(out->data, in.data);  // padding stripped
}

TEST(PduCodec, LoginResponseRoundTripsAndSitsWhereTheRfcSays) {
  LoginResponse in;
  in.transit = true;
  in.csg = kOperationalStage;
  in.nsg = kFullFeaturePhase;
  in.version_max = 0;
  in.version_active = 0;
  in.isid = {0x80, 1, 2, 3, 0, 0};
  in.tsih = 0x7788;
  in.itt = 0xdeadbeef;
  in.stat_sn = 5;
  in.exp_cmd_sn = 6;
  in.max_cmd_sn = 37;
  in.status = status::kSuccess;
  in.data = text_bytes(std::string_view("MaxRecvDataSegmentLength=262144\0", 32));

  const Bytes wire = encode(in).serialize();
  EXPECT_EQ(wire[0], 0x23);
  EXPECT_EQ(wire[1], 0x87);  // T, CSG 1, NSG 3
  EXPECT_EQ((wire[14] << 8) | wire[15], 0x7788);
  EXPECT_EQ(be32(wire, 16), 0xdeadbeefu);
  EXPECT_EQ(be32(wire, 24), 5u);
  EXPECT_EQ(be32(wire, 28), 6u);
  EXPECT_EQ(be32(wire, 32), 37u);
  EXPECT_EQ(wire[36], 0);
  EXPECT_EQ(wire[37], 0);

  auto out = decode_login_response(through_wire(encode(in)));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE(out->transit);
  EXPECT_EQ(out->csg, kOperationalStage);
  EXPECT_EQ(out->nsg, kFullFeaturePhase);
  EXPECT_EQ(out->isid, in.isid);
  EXPECT_EQ(out->tsih, in.tsih);
  EXPECT_EQ(out->itt, in.itt);
  EXPECT_EQ(out->stat_sn, in.stat_sn);
  EXPECT_EQ(out->exp_cmd_sn, in.exp_cmd_sn);
  EXPECT_EQ(out->max_cmd_sn, in.max_cmd_sn);
  EXPECT_EQ(out->status, status::kSuccess);
  EXPECT_EQ(out->data, in.data);
}

TEST(PduCodec, LoginResponseCarriesStatusClassAndDetail) {
  LoginResponse in;
  in.status = status::kSessionDoesNotExist;
  const Bytes wire = encode(in).serialize();
  EXPECT_EQ(wire[36], 0x02);  // class: initiator error
  EXPECT_EQ(wire[37], 0x0a);  // detail: session does not exist
  auto out = decode_login_response(through_wire(encode(in)));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, status::kSessionDoesNotExist);
  EXPECT_EQ(status_text(status::kAuthenticationFailure), "0x0201 authentication failure");
  EXPECT_EQ(status_text(0x0300), "0x0300 target error");
}

TEST(PduCodec, LogoutRequestAndResponseRoundTrip) {
  LogoutRequest req;
  req.reason = 1;
  req.itt = 42;
  req.cid = 3;
  req.cmd_sn = 9;
  req.exp_stat_sn = 10;
  const Bytes wire = encode(req).serialize();
  EXPECT_EQ(wire[0], 0x46);  // immediate + 0x06
  EXPECT_EQ(wire[1], 0x81);  // F + reason 1
  auto r = decode_logout_request(through_wire(encode(req)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->reason, 1);
  EXPECT_EQ(r->itt, 42u);
  EXPECT_EQ(r->cid, 3);
  EXPECT_EQ(r->cmd_sn, 9u);
  EXPECT_EQ(r->exp_stat_sn, 10u);

  LogoutResponse resp;
  resp.response = 0;
  resp.itt = 42;
  resp.stat_sn = 11;
  resp.exp_cmd_sn = 12;
  resp.max_cmd_sn = 13;
  EXPECT_EQ(encode(resp).serialize()[0], 0x26);
  auto s = decode_logout_response(through_wire(encode(resp)));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->response, 0);
  EXPECT_EQ(s->itt, 42u);
  EXPECT_EQ(s->stat_sn, 11u);
  EXPECT_EQ(s->exp_cmd_sn, 12u);
  EXPECT_EQ(s->max_cmd_sn, 13u);
}

TEST(PduCodec, LogoutRequestWithoutFinalBitIsAProtocolError) {
  Pdu pdu = encode(LogoutRequest{});
  pdu.bhs[1] &= 0x7f;
  auto r = decode_logout_request(pdu);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::logout_without_final));
}

TEST(PduCodec, NopOutAndNopInRoundTripWithData) {
  NopOut out;
  out.itt = 7;
  out.ttt = 0xffffffff;
  out.cmd_sn = 8;
  out.exp_stat_sn = 9;
  out.data = {'p', 'i', 'n', 'g', '!'};  // 5 bytes: 3 of padding
  const Bytes wire = encode(out).serialize();
  EXPECT_EQ(wire.size(), kBhsSize + 8);
  EXPECT_EQ(wire[0], 0x40);
  auto o = decode_nop_out(through_wire(encode(out)));
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->itt, 7u);
  EXPECT_EQ(o->ttt, 0xffffffffu);
  EXPECT_EQ(o->cmd_sn, 8u);
  EXPECT_EQ(o->exp_stat_sn, 9u);
  EXPECT_EQ(o->data, out.data);

  NopIn in;
  in.itt = 7;
  in.stat_sn = 1;
  in.exp_cmd_sn = 2;
  in.max_cmd_sn = 3;
  in.data = out.data;
  EXPECT_EQ(encode(in).serialize()[0], 0x20);
  auto i = decode_nop_in(through_wire(encode(in)));
  ASSERT_TRUE(i) << i.error().message;
  EXPECT_EQ(i->itt, 7u);
  EXPECT_EQ(i->stat_sn, 1u);
  EXPECT_EQ(i->exp_cmd_sn, 2u);
  EXPECT_EQ(i->max_cmd_sn, 3u);
  EXPECT_EQ(i->data, out.data);
}

TEST(PduCodec, RejectRoundTripsWithTheRejectedHeader) {
  const Pdu rejected = encode(NopOut{});
  RejectPdu in;
  in.reason = 0x09;
  in.stat_sn = 4;
  in.exp_cmd_sn = 5;
  in.max_cmd_sn = 6;
  in.rejected_header.assign(rejected.bhs.begin(), rejected.bhs.end());
  const Bytes wire = encode(in).serialize();
  EXPECT_EQ(wire[0], 0x3f);
  EXPECT_EQ(wire[2], 0x09);
  auto out = decode_reject(through_wire(encode(in)));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->reason, 0x09);
  EXPECT_EQ(out->stat_sn, 4u);
  EXPECT_EQ(out->exp_cmd_sn, 5u);
  EXPECT_EQ(out->max_cmd_sn, 6u);
  EXPECT_EQ(out->rejected_header, in.rejected_header);
}

TEST(PduCodec, DecodersRefuseTheWrongOpcode) {
  const Pdu nop = encode(NopOut{});
  EXPECT_THAT(decode_login_request(nop),
              test::ResultIs(ErrorKind::protocol, ErrorCode::opcode_unexpected));
  EXPECT_THAT(decode_login_response(nop),
              test::ResultIs(ErrorKind::protocol, ErrorCode::opcode_unexpected));
  EXPECT_THAT(decode_logout_request(nop),
              test::ResultIs(ErrorKind::protocol, ErrorCode::opcode_unexpected));
  EXPECT_THAT(decode_logout_response(nop),
              test::ResultIs(ErrorKind::protocol, ErrorCode::opcode_unexpected));
  EXPECT_THAT(decode_nop_in(nop),
              test::ResultIs(ErrorKind::protocol, ErrorCode::opcode_unexpected));
  EXPECT_THAT(decode_reject(nop),
              test::ResultIs(ErrorKind::protocol, ErrorCode::opcode_unexpected));
  EXPECT_THAT(decode_nop_out(encode(NopIn{})),
              test::ResultIs(ErrorKind::protocol, ErrorCode::opcode_unexpected));
  EXPECT_EQ(opcode_name(0x03), "Login Request");
  EXPECT_EQ(opcode_name(0x1c), "opcode 0x1c");
}

// ---------------------------------------------------------------------------------------------
// Stage rules (RFC 7143 §11.12.3)

Pdu login_request_with_flags(std::uint8_t flags) {
  Pdu pdu = encode(LoginRequest{});
  pdu.bhs[1] = flags;
  return pdu;
}

Pdu login_response_with_flags(std::uint8_t flags, std::uint16_t code = status::kSuccess) {
  LoginResponse r;
  r.status = code;
  Pdu pdu = encode(r);
  pdu.bhs[1] = flags;
  return pdu;
}

struct StageCase {
  std::uint8_t flags;
  bool valid;
  const char* what;
  ErrorCode code = ErrorCode::generic_internal;  // the reason, when not valid
};

constexpr StageCase kStageCases[] = {
    {0x00, true, "CSG 0, no transit"},
    {0x01, true, "CSG 0, T=0: NSG is ignored"},
    {0x81, true, "CSG 0 -> 1"},
    {0x83, true, "CSG 0 -> 3"},
    {0x87, true, "CSG 1 -> 3"},
    {0x40, true, "C alone"},
    {0xc1, false, "T and C both set", ErrorCode::login_t_and_c},
    {0xc7, false, "T and C both set, forward transit", ErrorCode::login_t_and_c},
    {0x08, false, "CSG 2", ErrorCode::login_reserved_stage},
    {0x8b, false, "CSG 2 with transit", ErrorCode::login_reserved_stage},
    {0x82, false, "NSG 2 with transit", ErrorCode::login_reserved_stage},
    {0x80, false, "transit to the same stage (0 -> 0)", ErrorCode::login_stage_backwards},
    {0x85, false, "transit to the same stage (1 -> 1)", ErrorCode::login_stage_backwards},
    {0x84, false, "transit backwards (1 -> 0)", ErrorCode::login_stage_backwards},
};

TEST(PduStages, LoginRequestStageRules) {
  for (const auto& c : kStageCases) {
    auto r = decode_login_request(login_request_with_flags(c.flags));
    EXPECT_EQ(r.has_value(), c.valid) << c.what;
    if (!c.valid && !r) {
      EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, c.code)) << c.what;
    }
  }
}

TEST(PduStages, LoginResponseStageRules) {
  for (const auto& c : kStageCases) {
    auto r = decode_login_response(login_response_with_flags(c.flags));
    EXPECT_EQ(r.has_value(), c.valid) << c.what;
    if (!c.valid && !r) {
      EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, c.code)) << c.what;
    }
  }
}

TEST(PduStages, ReservedFlagBitsInALoginRequestAreAProtocolError) {
  auto r = decode_login_request(login_request_with_flags(0x10));
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::login_reserved_flags));
}

TEST(PduStages, AFailureStatusIsDecodedWhateverItsStageBits) {
  // A failure ends the login; some targets send it with odd stage bits, and the status must
  // still reach the initiator.
  auto r = decode_login_response(login_response_with_flags(0xc0, status::kAuthenticationFailure));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, status::kAuthenticationFailure);
}

// ---------------------------------------------------------------------------------------------
// parse_pdu against lying length fields. Each buffer is an exact-size heap allocation, so an
// over-read is an ASan report, not a silent pass.

Bytes header_with(std::uint8_t ahs_words, std::uint32_t data_length) {
  Bytes b(kBhsSize, 0);
  b[0] = 0x43;
  b[4] = ahs_words;
  b[5] = static_cast<std::uint8_t>(data_length >> 16);
  b[6] = static_cast<std::uint8_t>(data_length >> 8);
  b[7] = static_cast<std::uint8_t>(data_length);
  return b;
}

void expect_protocol_error(const Bytes& wire, std::uint32_t max_data, ErrorCode code,
                           const char* what) {
  auto r = parse_pdu(wire, max_data);
  ASSERT_FALSE(r) << what;
  EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, code)) << what;
}

TEST(PduParse, AcceptsAWellFormedPduWithAhs) {
  Bytes wire = header_with(1, 5);
  wire.insert(wire.end(), {0xa, 0xb, 0xc, 0xd});       // 4 bytes of AHS, discarded
  wire.insert(wire.end(), {'h', 'e', 'l', 'l', 'o'});  // data
  wire.insert(wire.end(), {0, 0, 0});                  // padding
  auto r = parse_pdu(wire, kMax);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->data, text_bytes("hello"));
}

TEST(PduParse, ShorterThanAHeader) {
  Bytes wire = header_with(0, 0);
  for (std::size_t n = 0; n < kBhsSize; ++n) {
    expect_protocol_error(Bytes(wire.begin(), wire.begin() + static_cast<long>(n)), kMax,
                          ErrorCode::pdu_truncated, "truncated header");
  }
}

TEST(PduParse, DataSegmentLengthBeyondTheBuffer) {
  Bytes wire = header_with(0, 64);
  wire.resize(wire.size() + 16, 'x');
  expect_protocol_error(wire, kMax, ErrorCode::pdu_truncated, "64 bytes announced, 16 present");
  expect_protocol_error(header_with(0, 0xffffff), 0xffffff, ErrorCode::pdu_truncated,
                        "16 MiB announced, none present");
}

TEST(PduParse, DataSegmentLengthBeyondMaxData) {
  Bytes wire = header_with(0, kMax + 4);
  wire.resize(wire.size() + kMax + 4, 'x');  // even when the bytes are all there
  expect_protocol_error(wire, kMax, ErrorCode::pdu_data_too_long, "length over max_data");
  expect_protocol_error(header_with(0, 8), 4, ErrorCode::pdu_data_too_long,
                        "8 bytes with max_data 4");
}

TEST(PduParse, AhsLengthBeyondTheBuffer) {
  Bytes wire = header_with(255, 0);  // 1020 bytes of AHS announced
  wire.resize(wire.size() + 100, 0);
  expect_protocol_error(wire, kMax, ErrorCode::pdu_truncated, "AHS beyond the buffer");
  Bytes with_data = header_with(2, 4);
  with_data.resize(with_data.size() + 8, 0);  // the AHS, but no room for the data
  expect_protocol_error(with_data, kMax, ErrorCode::pdu_truncated, "AHS present, data missing");
}

TEST(PduParse, MissingPadding) {
  Bytes wire = header_with(0, 5);
  wire.insert(wire.end(), {'h', 'e', 'l', 'l', 'o'});
  expect_protocol_error(wire, kMax, ErrorCode::pdu_padding, "no padding");
  wire.push_back(0);
  expect_protocol_error(wire, kMax, ErrorCode::pdu_padding, "one of three padding bytes");
  wire.insert(wire.end(), {0, 0});
  EXPECT_TRUE(parse_pdu(wire, kMax));
}

TEST(PduParse, TrailingBytes) {
  Bytes wire = header_with(0, 4);
  wire.insert(wire.end(), {'a', 'b', 'c', 'd'});
  ASSERT_TRUE(parse_pdu(wire, kMax));
  wire.push_back(0);
  expect_protocol_error(wire, kMax, ErrorCode::pdu_trailing_bytes, "one trailing byte");
  Bytes two = encode(NopOut{}).serialize();
  const Bytes second = encode(NopOut{}).serialize();
  two.insert(two.end(), second.begin(), second.end());
  expect_protocol_error(two, kMax, ErrorCode::pdu_trailing_bytes, "two PDUs in one buffer");
}

TEST(PduParse, EveryTruncationOfAValidPduIsRejected) {
  LoginRequest req;
  req.data = text_bytes(std::string_view("InitiatorName=iqn.2026-11.x\0", 28));
  const Bytes wire = encode(req).serialize();
  for (std::size_t n = 0; n < wire.size(); ++n) {
    // A fresh exact-size copy each time, so reading byte n would trip ASan.
    const Bytes cut(wire.begin(), wire.begin() + static_cast<long>(n));
    auto r = parse_pdu(cut, kMax);
    EXPECT_FALSE(r) << "accepted a PDU cut to " << n << " bytes";
  }
  EXPECT_TRUE(parse_pdu(wire, kMax));
}

// ---------------------------------------------------------------------------------------------
// read_pdu over real sockets

// A connected loopback TCP pair, both ends owned by the test.
struct LoopbackPair {
  Connection reader;
  Connection writer;
};

std::optional<LoopbackPair> loopback_pair() {
  auto listener = Listener::listen(Endpoint{"127.0.0.1", 0});
  if (!listener) return std::nullopt;
  auto writer = Connection::connect(Endpoint{"127.0.0.1", listener->port()}, Millis(2000));
  if (!writer) return std::nullopt;
  auto reader = listener->accept(Millis(2000));
  if (!reader || !reader->is_open()) return std::nullopt;
  return LoopbackPair{std::move(reader).value(), std::move(writer).value()};
}

Result<void> send_bytes(Connection& conn, const Bytes& bytes) {
  return conn.write_all(bytes, Clock::now() + Millis(2000));
}

TEST(PduRead, ReadsWhatWritePduWrote) {
  auto pair = loopback_pair();
  ASSERT_TRUE(pair);
  NopOut nop;
  nop.itt = 99;
  nop.data = {1, 2, 3};
  ASSERT_TRUE(write_pdu(pair->writer, encode(nop), Clock::now() + Millis(2000)));
  auto pdu = read_pdu(pair->reader, kMax, Clock::now() + Millis(2000));
  ASSERT_TRUE(pdu) << pdu.error().message;
  auto decoded = decode_nop_out(*pdu);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->itt, 99u);
  EXPECT_EQ(decoded->data, nop.data);
}

TEST(PduRead, PeerClosingInsideTheHeaderIsAnIoError) {
  auto pair = loopback_pair();
  ASSERT_TRUE(pair);
  const Bytes wire = encode(NopOut{}).serialize();
  ASSERT_TRUE(send_bytes(pair->writer, Bytes(wire.begin(), wire.begin() + 20)));
  pair->writer.close();
  auto pdu = read_pdu(pair->reader, kMax, Clock::now() + Millis(2000));
  ASSERT_FALSE(pdu);
  EXPECT_THAT(pdu, test::ResultIs(ErrorKind::io, ErrorCode::connection_closed))
      << pdu.error().message;
}

TEST(PduRead, PeerClosingInsideTheDataIsAnIoError) {
  auto pair = loopback_pair();
  ASSERT_TRUE(pair);
  NopOut nop;
  nop.data = Bytes(100, 'x');
  const Bytes wire = encode(nop).serialize();
  ASSERT_TRUE(send_bytes(pair->writer, Bytes(wire.begin(), wire.begin() + kBhsSize + 10)));
  pair->writer.close();
  auto pdu = read_pdu(pair->reader, kMax, Clock::now() + Millis(2000));
  ASSERT_FALSE(pdu);
  EXPECT_THAT(pdu, test::ResultIs(ErrorKind::io, ErrorCode::connection_closed))
      << pdu.error().message;
}

TEST(PduRead, AStallingPeerIsATimeoutAtTheDeadline) {
  auto pair = loopback_pair();
  ASSERT_TRUE(pair);
  NopOut nop;
  nop.data = Bytes(100, 'x');
  const Bytes wire = encode(nop).serialize();
  ASSERT_TRUE(send_bytes(pair->writer, Bytes(wire.begin(), wire.begin() + kBhsSize + 10)));
  const auto start = Clock::now();
  auto pdu = read_pdu(pair->reader, kMax, start + Millis(300));
  const auto took = Clock::now() - start;
  ASSERT_FALSE(pdu);
  EXPECT_THAT(pdu, test::ResultIs(ErrorKind::timeout, ErrorCode::read_timeout))
      << pdu.error().message;
  EXPECT_GE(took, Millis(300));
  EXPECT_LT(took, Millis(1500));
}

TEST(PduRead, ALengthOverMaxIsRefusedBeforeReadingTheData) {
  auto pair = loopback_pair();
  ASSERT_TRUE(pair);
  // Only the header is sent: if read_pdu tried to read the announced data it would time out
  // instead of failing at once with a protocol error.
  ASSERT_TRUE(send_bytes(pair->writer, header_with(0, kMax + 1)));
  auto pdu = read_pdu(pair->reader, kMax, Clock::now() + Millis(2000));
  ASSERT_FALSE(pdu);
  EXPECT_THAT(pdu, test::ResultIs(ErrorKind::protocol, ErrorCode::pdu_data_too_long))
      << pdu.error().message;
}

TEST(PduRead, TheStopFlagEndsABlockedRead) {
  auto pair = loopback_pair();
  ASSERT_TRUE(pair);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(Millis(150));
    stop.store(true);
  });
  const auto start = Clock::now();
  auto pdu = read_pdu(pair->reader, kMax, start + Millis(5000), &stop);
  stopper.join();
  ASSERT_FALSE(pdu);
  EXPECT_THAT(pdu, test::ResultIs(ErrorKind::io, ErrorCode::stopped));
  EXPECT_LT(Clock::now() - start, Millis(2000));
}

// Connection adopts any socket; a blocking one must still honour the deadline.
TEST(PduRead, ASocketpairPeerThatStallsOrClosesIsReportedNotWaitedOnForever) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);  // blocking sockets on purpose
  Connection reader(fds[0]);
  Connection writer(fds[1]);
  const Bytes wire = encode(NopOut{}).serialize();
  ASSERT_TRUE(send_bytes(writer, Bytes(wire.begin(), wire.begin() + 10)));
  const auto start = Clock::now();
  auto stalled = read_pdu(reader, kMax, start + Millis(300));
  ASSERT_FALSE(stalled);
  EXPECT_THAT(stalled, test::ResultIs(ErrorKind::timeout, ErrorCode::read_timeout))
      << stalled.error().message;
  EXPECT_LT(Clock::now() - start, Millis(1500));

  // Then the peer goes away.
  writer.close();
  auto closed = read_pdu(reader, kMax, Clock::now() + Millis(2000));
  ASSERT_FALSE(closed);
  EXPECT_THAT(closed, test::ResultIs(ErrorKind::io, ErrorCode::connection_closed))
      << closed.error().message;
}

}  // namespace
}  // namespace multichap
