// SPDX-License-Identifier: BSD-2-Clause
#include "session/pdu.h"

#include <cstdio>

namespace multichap {

namespace {

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put24(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 16);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

Result<void> expect_opcode(const Pdu& pdu, Opcode opcode) {
  if (pdu.opcode() != static_cast<std::uint8_t>(opcode)) {
    return protocol_error(ErrorCode::opcode_unexpected,
                          "expected a " + opcode_name(static_cast<std::uint8_t>(opcode)) +
                              " PDU, got " + opcode_name(pdu.opcode()));
  }
  return {};
}

std::uint8_t stage_byte(bool transit, bool cont, std::uint8_t csg, std::uint8_t nsg) {
  return static_cast<std::uint8_t>((transit ? 0x80 : 0) | (cont ? 0x40 : 0) | ((csg & 3) << 2) |
                                   (nsg & 3));
}

// RFC 7143 §11.12.3/§11.13.3: stage 2 is reserved, C=1 forbids T=1, and a transit must go forward.
Result<void> check_stages(std::uint8_t flags) {
  const bool transit = (flags & 0x80) != 0;
  const bool cont = (flags & 0x40) != 0;
  const std::uint8_t csg = (flags >> 2) & 3;
  const std::uint8_t nsg = flags & 3;
  if (transit && cont)
    return protocol_error(ErrorCode::login_t_and_c, "login PDU has both T and C set");
  if (csg == 2)
    return protocol_error(ErrorCode::login_reserved_stage, "login PDU has reserved CSG 2");
  // The full feature phase is where a login leads, never a stage a login PDU is in.
  if (csg == kFullFeaturePhase)
    return protocol_error(ErrorCode::login_csg_full_feature,
                          "login PDU has CSG 3 (full feature phase)");
  if (transit && nsg == 2)
    return protocol_error(ErrorCode::login_reserved_stage, "login PDU has reserved NSG 2");
  if (transit && nsg <= csg)
    return protocol_error(ErrorCode::login_stage_backwards,
                          "login PDU transits to a stage not after the current one");
  return {};
}

}  // namespace

std::string opcode_name(std::uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::nop_out:
      return "NOP-Out";
    case Opcode::scsi_command:
      return "SCSI Command";
    case Opcode::task_management:
      return "Task Management Request";
    case Opcode::login_request:
      return "Login Request";
    case Opcode::text_request:
      return "Text Request";
    case Opcode::data_out:
      return "SCSI Data-Out";
    case Opcode::logout_request:
      return "Logout Request";
    case Opcode::snack:
      return "SNACK";
    case Opcode::nop_in:
      return "NOP-In";
    case Opcode::scsi_response:
      return "SCSI Response";
    case Opcode::task_management_response:
      return "Task Management Response";
    case Opcode::login_response:
      return "Login Response";
    case Opcode::text_response:
      return "Text Response";
    case Opcode::data_in:
      return "SCSI Data-In";
    case Opcode::logout_response:
      return "Logout Response";
    case Opcode::r2t:
      return "R2T";
    case Opcode::async_message:
      return "Asynchronous Message";
    case Opcode::reject:
      return "Reject";
  }
  char buf[32];
  (void)std::snprintf(buf, sizeof(buf), "opcode 0x%02x", opcode);
  return buf;
}

std::string status_text(std::uint16_t code) {
  const char* text = "unknown status";
  switch (code) {
    case status::kSuccess:
      text = "success";
      break;
    case status::kRedirectTemporary:
      text = "target moved temporarily";
      break;
    case status::kRedirectPermanent:
      text = "target moved permanently";
      break;
    case status::kInitiatorError:
      text = "initiator error";
      break;
    case status::kAuthenticationFailure:
      text = "authentication failure";
      break;
    case status::kAuthorizationFailure:
      text = "authorization failure";
      break;
    case status::kTargetNotFound:
      text = "target not found";
      break;
    case status::kTargetRemoved:
      text = "target removed";
      break;
    case status::kUnsupportedVersion:
      text = "unsupported version";
      break;
    case status::kTooManyConnections:
      text = "too many connections";
      break;
    case status::kMissingParameter:
      text = "missing parameter";
      break;
    case status::kCantIncludeInSession:
      text = "can't include in session";
      break;
    case status::kSessionTypeNotSupported:
      text = "session type not supported";
      break;
    case status::kSessionDoesNotExist:
      text = "session does not exist";
      break;
    case status::kInvalidDuringLogin:
      text = "invalid request during login";
      break;
    case status::kTargetError:
      text = "target error";
      break;
    case status::kServiceUnavailable:
      text = "service unavailable";
      break;
    case status::kOutOfResources:
      text = "out of resources";
      break;
    default:
      break;
  }
  char buf[96];
  (void)std::snprintf(buf, sizeof(buf), "0x%04x %s", code, text);
  return buf;
}

std::uint32_t Pdu::itt() const {
  return HeaderFields(ByteView(bhs)).u32(bhs_offset::kItt);
}

Bytes Pdu::serialize() const {
  Bytes out;
  serialize_into(out);
  return out;
}

void Pdu::serialize_into(Bytes& out) const {
  const std::size_t start = out.size();
  const std::size_t padding = (4 - data.size() % 4) % 4;
  if (start == 0) out.reserve(kBhsSize + data.size() + padding);  // else: the vector's growth
  out.insert(out.end(), bhs.begin(), bhs.end());
  out[start + bhs_offset::kTotalAhsLength] = 0;  // no AHS
  put24(&out[start + bhs_offset::kDataSegmentLength], static_cast<std::uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  out.resize(out.size() + padding, 0);
}

Result<Pdu> parse_pdu(ByteView wire, std::uint32_t max_data) {
  ByteReader reader(wire);
  ByteView header;
  if (!reader.read_bytes(kBhsSize, header))
    return protocol_error(ErrorCode::pdu_truncated, "PDU shorter than its 48-byte header");
  Pdu pdu;
  std::copy(header.begin(), header.end(), pdu.bhs.begin());
  const HeaderFields fields{ByteView(pdu.bhs)};
  const std::size_t ahs = std::size_t{fields.u8(bhs_offset::kTotalAhsLength)} * 4;
  const std::uint32_t length = fields.u24(bhs_offset::kDataSegmentLength);
  if (length > max_data) {
    return protocol_error(ErrorCode::pdu_data_too_long,
                          "DataSegmentLength " + std::to_string(length) + " exceeds the limit of " +
                              std::to_string(max_data));
  }
  ByteView data;
  if (!reader.skip(ahs) || !reader.read_bytes(length, data)) {
    return protocol_error(ErrorCode::pdu_truncated,
                          "PDU shorter than its AHS and data lengths say");
  }
  const std::size_t padding = (4 - length % 4) % 4;
  if (!reader.skip(padding))
    return protocol_error(ErrorCode::pdu_padding, "PDU lacks its data padding");
  if (!reader.empty())
    return protocol_error(ErrorCode::pdu_trailing_bytes, "trailing bytes after the PDU");
  pdu.data.assign(data.begin(), data.end());
  return pdu;
}

Result<Pdu> read_pdu(Connection& conn, std::uint32_t max_data, Clock::time_point deadline,
                     const std::atomic<bool>* stop) {
  Pdu pdu;
  MULTICHAP_GUARD(conn.read_exact(pdu.bhs, deadline, stop));
  const HeaderFields fields{ByteView(pdu.bhs)};
  const std::size_t ahs = std::size_t{fields.u8(bhs_offset::kTotalAhsLength)} * 4;
  const std::uint32_t length = fields.u24(bhs_offset::kDataSegmentLength);
  if (length > max_data) {
    return protocol_error(ErrorCode::pdu_data_too_long,
                          "DataSegmentLength " + std::to_string(length) + " exceeds the limit of " +
                              std::to_string(max_data));
  }
  if (ahs > 0) {
    Bytes discard(ahs);
    MULTICHAP_GUARD(conn.read_exact(discard, deadline, stop));
  }
  const std::size_t padded = length + (4 - length % 4) % 4;
  pdu.data.resize(padded);
  MULTICHAP_GUARD(conn.read_exact(pdu.data, deadline, stop));
  pdu.data.resize(length);
  return pdu;
}

Result<void> write_pdu(Connection& conn, const Pdu& pdu, Clock::time_point deadline) {
  const Bytes wire = pdu.serialize();
  return conn.write_all(wire, deadline);
}

Pdu encode(const LoginRequest& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] =
      0x40 | static_cast<std::uint8_t>(Opcode::login_request);  // always immediate
  b[bhs_offset::kFlags] = stage_byte(r.transit, r.cont, r.csg, r.nsg);
  b[bhs_offset::kVersionMax] = r.version_max;
  b[bhs_offset::kVersionMin] = r.version_min;
  std::copy(r.isid.begin(), r.isid.end(), b + bhs_offset::kIsid);
  put16(b + bhs_offset::kTsih, r.tsih);
  put32(b + bhs_offset::kItt, r.itt);
  put16(b + bhs_offset::kCid, r.cid);
  put32(b + bhs_offset::kCmdSn, r.cmd_sn);
  put32(b + bhs_offset::kExpStatSn, r.exp_stat_sn);
  pdu.data = r.data;
  return pdu;
}

namespace {
Pdu encode_header(const LoginResponse& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] = static_cast<std::uint8_t>(Opcode::login_response);
  b[bhs_offset::kFlags] = stage_byte(r.transit, r.cont, r.csg, r.nsg);
  b[bhs_offset::kVersionMax] = r.version_max;
  b[bhs_offset::kVersionMin] = r.version_active;
  std::copy(r.isid.begin(), r.isid.end(), b + bhs_offset::kIsid);
  put16(b + bhs_offset::kTsih, r.tsih);
  put32(b + bhs_offset::kItt, r.itt);
  put32(b + bhs_offset::kStatSn, r.stat_sn);
  put32(b + bhs_offset::kExpCmdSn, r.exp_cmd_sn);
  put32(b + bhs_offset::kMaxCmdSn, r.max_cmd_sn);
  b[bhs_offset::kStatus] = static_cast<std::uint8_t>(r.status >> 8);
  b[bhs_offset::kStatus + 1] = static_cast<std::uint8_t>(r.status);
  return pdu;
}
}  // namespace

Pdu encode(const LoginResponse& r) {
  Pdu pdu = encode_header(r);
  pdu.data = r.data;
  return pdu;
}

Pdu encode(LoginResponse&& r) {
  Pdu pdu = encode_header(r);
  pdu.data = std::move(r.data);
  return pdu;
}

Result<LoginRequest> decode_login_request(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::login_request));
  const HeaderFields b{ByteView(pdu.bhs)};
  const std::uint8_t flags = b.u8(bhs_offset::kFlags);
  MULTICHAP_GUARD(check_stages(flags));
  if ((flags & 0x30) != 0)
    return protocol_error(ErrorCode::login_reserved_flags,
                          "login request has reserved flag bits set");
  LoginRequest r;
  r.transit = (flags & 0x80) != 0;
  r.cont = (flags & 0x40) != 0;
  r.csg = (flags >> 2) & 3;
  r.nsg = flags & 3;
  r.version_max = b.u8(bhs_offset::kVersionMax);
  r.version_min = b.u8(bhs_offset::kVersionMin);
  const ByteView isid = b.bytes(bhs_offset::kIsid, r.isid.size());
  std::copy(isid.begin(), isid.end(), r.isid.begin());
  r.tsih = b.u16(bhs_offset::kTsih);
  r.itt = b.u32(bhs_offset::kItt);
  r.cid = b.u16(bhs_offset::kCid);
  r.cmd_sn = b.u32(bhs_offset::kCmdSn);
  r.exp_stat_sn = b.u32(bhs_offset::kExpStatSn);
  r.data = pdu.data;
  return r;
}

Result<LoginResponse> decode_login_response(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::login_response));
  const HeaderFields b{ByteView(pdu.bhs)};
  const std::uint8_t flags = b.u8(bhs_offset::kFlags);
  LoginResponse r;
  r.status = b.u16(bhs_offset::kStatus);
  if (r.status == status::kSuccess) MULTICHAP_GUARD(check_stages(flags));
  r.transit = (flags & 0x80) != 0;
  r.cont = (flags & 0x40) != 0;
  r.csg = (flags >> 2) & 3;
  r.nsg = flags & 3;
  r.version_max = b.u8(bhs_offset::kVersionMax);
  r.version_active = b.u8(bhs_offset::kVersionMin);
  const ByteView isid = b.bytes(bhs_offset::kIsid, r.isid.size());
  std::copy(isid.begin(), isid.end(), r.isid.begin());
  r.tsih = b.u16(bhs_offset::kTsih);
  r.itt = b.u32(bhs_offset::kItt);
  r.stat_sn = b.u32(bhs_offset::kStatSn);
  r.exp_cmd_sn = b.u32(bhs_offset::kExpCmdSn);
  r.max_cmd_sn = b.u32(bhs_offset::kMaxCmdSn);
  r.data = pdu.data;
  return r;
}

Pdu encode(const LogoutRequest& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] = 0x40 | static_cast<std::uint8_t>(Opcode::logout_request);
  b[bhs_offset::kFlags] = static_cast<std::uint8_t>(0x80 | (r.reason & 0x7f));
  put32(b + bhs_offset::kItt, r.itt);
  put16(b + bhs_offset::kCid, r.cid);
  put32(b + bhs_offset::kCmdSn, r.cmd_sn);
  put32(b + bhs_offset::kExpStatSn, r.exp_stat_sn);
  return pdu;
}

Pdu encode(const LogoutResponse& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] = static_cast<std::uint8_t>(Opcode::logout_response);
  b[bhs_offset::kFlags] = 0x80;
  b[bhs_offset::kResponse] = r.response;
  put32(b + bhs_offset::kItt, r.itt);
  put32(b + bhs_offset::kStatSn, r.stat_sn);
  put32(b + bhs_offset::kExpCmdSn, r.exp_cmd_sn);
  put32(b + bhs_offset::kMaxCmdSn, r.max_cmd_sn);
  return pdu;
}

Result<LogoutRequest> decode_logout_request(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::logout_request));
  const HeaderFields b{ByteView(pdu.bhs)};
  const std::uint8_t flags = b.u8(bhs_offset::kFlags);
  if ((flags & 0x80) == 0)
    return protocol_error(ErrorCode::logout_without_final, "logout request without its F bit");
  LogoutRequest r;
  r.reason = flags & 0x7f;
  r.itt = b.u32(bhs_offset::kItt);
  r.cid = b.u16(bhs_offset::kCid);
  r.cmd_sn = b.u32(bhs_offset::kCmdSn);
  r.exp_stat_sn = b.u32(bhs_offset::kExpStatSn);
  return r;
}

Result<LogoutResponse> decode_logout_response(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::logout_response));
  const HeaderFields b{ByteView(pdu.bhs)};
  LogoutResponse r;
  r.response = b.u8(bhs_offset::kResponse);
  r.itt = b.u32(bhs_offset::kItt);
  r.stat_sn = b.u32(bhs_offset::kStatSn);
  r.exp_cmd_sn = b.u32(bhs_offset::kExpCmdSn);
  r.max_cmd_sn = b.u32(bhs_offset::kMaxCmdSn);
  return r;
}

Pdu encode(const NopOut& n) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] = 0x40 | static_cast<std::uint8_t>(Opcode::nop_out);
  b[bhs_offset::kFlags] = 0x80;
  put32(b + bhs_offset::kItt, n.itt);
  put32(b + bhs_offset::kTtt, n.ttt);
  put32(b + bhs_offset::kCmdSn, n.cmd_sn);
  put32(b + bhs_offset::kExpStatSn, n.exp_stat_sn);
  pdu.data = n.data;
  return pdu;
}

Pdu encode(const NopIn& n) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] = static_cast<std::uint8_t>(Opcode::nop_in);
  b[bhs_offset::kFlags] = 0x80;
  put32(b + bhs_offset::kItt, n.itt);
  put32(b + bhs_offset::kTtt, n.ttt);
  put32(b + bhs_offset::kStatSn, n.stat_sn);
  put32(b + bhs_offset::kExpCmdSn, n.exp_cmd_sn);
  put32(b + bhs_offset::kMaxCmdSn, n.max_cmd_sn);
  pdu.data = n.data;
  return pdu;
}

Result<NopOut> decode_nop_out(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::nop_out));
  const HeaderFields b{ByteView(pdu.bhs)};
  NopOut n;
  n.itt = b.u32(bhs_offset::kItt);
  n.ttt = b.u32(bhs_offset::kTtt);
  n.cmd_sn = b.u32(bhs_offset::kCmdSn);
  n.exp_stat_sn = b.u32(bhs_offset::kExpStatSn);
  n.data = pdu.data;
  return n;
}

Result<NopIn> decode_nop_in(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::nop_in));
  const HeaderFields b{ByteView(pdu.bhs)};
  NopIn n;
  n.itt = b.u32(bhs_offset::kItt);
  n.ttt = b.u32(bhs_offset::kTtt);
  n.stat_sn = b.u32(bhs_offset::kStatSn);
  n.exp_cmd_sn = b.u32(bhs_offset::kExpCmdSn);
  n.max_cmd_sn = b.u32(bhs_offset::kMaxCmdSn);
  n.data = pdu.data;
  return n;
}

Pdu encode(const RejectPdu& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] = static_cast<std::uint8_t>(Opcode::reject);
  b[bhs_offset::kFlags] = 0x80;
  b[bhs_offset::kReason] = r.reason;
  put32(b + bhs_offset::kItt, 0xffffffff);
  put32(b + bhs_offset::kStatSn, r.stat_sn);
  put32(b + bhs_offset::kExpCmdSn, r.exp_cmd_sn);
  put32(b + bhs_offset::kMaxCmdSn, r.max_cmd_sn);
  pdu.data = r.rejected_header;
  return pdu;
}

Result<RejectPdu> decode_reject(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::reject));
  const HeaderFields b{ByteView(pdu.bhs)};
  RejectPdu r;
  r.reason = b.u8(bhs_offset::kReason);
  r.stat_sn = b.u32(bhs_offset::kStatSn);
  r.exp_cmd_sn = b.u32(bhs_offset::kExpCmdSn);
  r.max_cmd_sn = b.u32(bhs_offset::kMaxCmdSn);
  r.rejected_header = pdu.data;
  return r;
}

Pdu encode(const TextRequest& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] = static_cast<std::uint8_t>(
      (r.immediate ? 0x40 : 0) | static_cast<std::uint8_t>(Opcode::text_request));
  b[bhs_offset::kFlags] = static_cast<std::uint8_t>((r.final ? 0x80 : 0) | (r.cont ? 0x40 : 0));
  put32(b + bhs_offset::kItt, r.itt);
  put32(b + bhs_offset::kTtt, r.ttt);
  put32(b + bhs_offset::kCmdSn, r.cmd_sn);
  put32(b + bhs_offset::kExpStatSn, r.exp_stat_sn);
  pdu.data = r.data;
  return pdu;
}

Pdu encode(const TextResponse& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[bhs_offset::kOpcode] = static_cast<std::uint8_t>(Opcode::text_response);
  b[bhs_offset::kFlags] = static_cast<std::uint8_t>((r.final ? 0x80 : 0) | (r.cont ? 0x40 : 0));
  put32(b + bhs_offset::kItt, r.itt);
  put32(b + bhs_offset::kTtt, r.ttt);
  put32(b + bhs_offset::kStatSn, r.stat_sn);
  put32(b + bhs_offset::kExpCmdSn, r.exp_cmd_sn);
  put32(b + bhs_offset::kMaxCmdSn, r.max_cmd_sn);
  pdu.data = r.data;
  return pdu;
}

Result<TextRequest> decode_text_request(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::text_request));
  const HeaderFields b{ByteView(pdu.bhs)};
  const std::uint8_t flags = b.u8(bhs_offset::kFlags);
  TextRequest r;
  r.immediate = pdu.immediate();
  r.final = (flags & 0x80) != 0;
  r.cont = (flags & 0x40) != 0;
  if (r.final && r.cont)
    return protocol_error(ErrorCode::text_f_and_c, "text request has both F and C set");
  r.itt = b.u32(bhs_offset::kItt);
  r.ttt = b.u32(bhs_offset::kTtt);
  r.cmd_sn = b.u32(bhs_offset::kCmdSn);
  r.exp_stat_sn = b.u32(bhs_offset::kExpStatSn);
  r.data = pdu.data;
  return r;
}

Result<TextResponse> decode_text_response(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::text_response));
  const HeaderFields b{ByteView(pdu.bhs)};
  const std::uint8_t flags = b.u8(bhs_offset::kFlags);
  TextResponse r;
  r.final = (flags & 0x80) != 0;
  r.cont = (flags & 0x40) != 0;
  if (r.final && r.cont)
    return protocol_error(ErrorCode::text_f_and_c, "text response has both F and C set");
  r.itt = b.u32(bhs_offset::kItt);
  r.ttt = b.u32(bhs_offset::kTtt);
  r.stat_sn = b.u32(bhs_offset::kStatSn);
  r.exp_cmd_sn = b.u32(bhs_offset::kExpCmdSn);
  r.max_cmd_sn = b.u32(bhs_offset::kMaxCmdSn);
  r.data = pdu.data;
  return r;
}

}  // namespace multichap
