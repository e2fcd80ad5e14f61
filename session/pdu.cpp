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
std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get24(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}
std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

Error protocol_error(std::string message) {
  return make_error(ErrorKind::protocol, std::move(message));
}

Result<void> expect_opcode(const Pdu& pdu, Opcode opcode) {
  if (pdu.opcode() != static_cast<std::uint8_t>(opcode)) {
    return protocol_error("expected a " + opcode_name(static_cast<std::uint8_t>(opcode)) +
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
  if (transit && cont) return protocol_error("login PDU has both T and C set");
  if (csg == 2) return protocol_error("login PDU has reserved CSG 2");
  // The full feature phase is where a login leads, never a stage a login PDU is in.
  if (csg == kFullFeaturePhase) return protocol_error("login PDU has CSG 3 (full feature phase)");
  if (transit && nsg == 2) return protocol_error("login PDU has reserved NSG 2");
  if (transit && nsg <= csg)
    return protocol_error("login PDU transits to a stage not after the current one");
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
  return get32(&bhs[16]);
}

Bytes Pdu::serialize() const {
  Bytes out(bhs.begin(), bhs.end());
  out[4] = 0;  // no AHS
  put24(&out[5], static_cast<std::uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  out.resize(out.size() + ((4 - data.size() % 4) % 4), 0);
  return out;
}

Result<Pdu> parse_pdu(ByteView wire, std::uint32_t max_data) {
  ByteReader reader(wire);
  ByteView header;
  if (!reader.read_bytes(kBhsSize, header))
    return protocol_error("PDU shorter than its 48-byte header");
  Pdu pdu;
  std::copy(header.begin(), header.end(), pdu.bhs.begin());
  const std::size_t ahs = std::size_t{pdu.bhs[4]} * 4;
  const std::uint32_t length = get24(&pdu.bhs[5]);
  if (length > max_data) {
    return protocol_error("DataSegmentLength " + std::to_string(length) + " exceeds the limit of " +
                          std::to_string(max_data));
  }
  ByteView data;
  if (!reader.skip(ahs) || !reader.read_bytes(length, data)) {
    return protocol_error("PDU shorter than its AHS and data lengths say");
  }
  const std::size_t padding = (4 - length % 4) % 4;
  if (!reader.skip(padding)) return protocol_error("PDU lacks its data padding");
  if (!reader.empty()) return protocol_error("trailing bytes after the PDU");
  pdu.data.assign(data.begin(), data.end());
  return pdu;
}

Result<Pdu> read_pdu(Connection& conn, std::uint32_t max_data, Clock::time_point deadline,
                     const std::atomic<bool>* stop) {
  Pdu pdu;
  MULTICHAP_GUARD(conn.read_exact(pdu.bhs, deadline, stop));
  const std::size_t ahs = std::size_t{pdu.bhs[4]} * 4;
  const std::uint32_t length = get24(&pdu.bhs[5]);
  if (length > max_data) {
    return protocol_error("DataSegmentLength " + std::to_string(length) + " exceeds the limit of " +
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
  b[0] = 0x40 | static_cast<std::uint8_t>(Opcode::login_request);  // always immediate
  b[1] = stage_byte(r.transit, r.cont, r.csg, r.nsg);
  b[2] = r.version_max;
  b[3] = r.version_min;
  std::copy(r.isid.begin(), r.isid.end(), b + 8);
  put16(b + 14, r.tsih);
  put32(b + 16, r.itt);
  put16(b + 20, r.cid);
  put32(b + 24, r.cmd_sn);
  put32(b + 28, r.exp_stat_sn);
  pdu.data = r.data;
  return pdu;
}

Pdu encode(const LoginResponse& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[0] = static_cast<std::uint8_t>(Opcode::login_response);
  b[1] = stage_byte(r.transit, r.cont, r.csg, r.nsg);
  b[2] = r.version_max;
  b[3] = r.version_active;
  std::copy(r.isid.begin(), r.isid.end(), b + 8);
  put16(b + 14, r.tsih);
  put32(b + 16, r.itt);
  put32(b + 24, r.stat_sn);
  put32(b + 28, r.exp_cmd_sn);
  put32(b + 32, r.max_cmd_sn);
  b[36] = static_cast<std::uint8_t>(r.status >> 8);
  b[37] = static_cast<std::uint8_t>(r.status);
  pdu.data = r.data;
  return pdu;
}

Result<LoginRequest> decode_login_request(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::login_request));
  const auto* b = pdu.bhs.data();
  MULTICHAP_GUARD(check_stages(b[1]));
  if ((b[1] & 0x30) != 0) return protocol_error("login request has reserved flag bits set");
  LoginRequest r;
  r.transit = (b[1] & 0x80) != 0;
  r.cont = (b[1] & 0x40) != 0;
  r.csg = (b[1] >> 2) & 3;
  r.nsg = b[1] & 3;
  r.version_max = b[2];
  r.version_min = b[3];
  std::copy(b + 8, b + 14, r.isid.begin());
  r.tsih = get16(b + 14);
  r.itt = get32(b + 16);
  r.cid = get16(b + 20);
  r.cmd_sn = get32(b + 24);
  r.exp_stat_sn = get32(b + 28);
  r.data = pdu.data;
  return r;
}

Result<LoginResponse> decode_login_response(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::login_response));
  const auto* b = pdu.bhs.data();
  LoginResponse r;
  r.status = get16(b + 36);
  if (r.status == status::kSuccess) MULTICHAP_GUARD(check_stages(b[1]));
  r.transit = (b[1] & 0x80) != 0;
  r.cont = (b[1] & 0x40) != 0;
  r.csg = (b[1] >> 2) & 3;
  r.nsg = b[1] & 3;
  r.version_max = b[2];
  r.version_active = b[3];
  std::copy(b + 8, b + 14, r.isid.begin());
  r.tsih = get16(b + 14);
  r.itt = get32(b + 16);
  r.stat_sn = get32(b + 24);
  r.exp_cmd_sn = get32(b + 28);
  r.max_cmd_sn = get32(b + 32);
  r.data = pdu.data;
  return r;
}

Pdu encode(const LogoutRequest& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[0] = 0x40 | static_cast<std::uint8_t>(Opcode::logout_request);
  b[1] = static_cast<std::uint8_t>(0x80 | (r.reason & 0x7f));
  put32(b + 16, r.itt);
  put16(b + 20, r.cid);
  put32(b + 24, r.cmd_sn);
  put32(b + 28, r.exp_stat_sn);
  return pdu;
}

Pdu encode(const LogoutResponse& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[0] = static_cast<std::uint8_t>(Opcode::logout_response);
  b[1] = 0x80;
  b[2] = r.response;
  put32(b + 16, r.itt);
  put32(b + 24, r.stat_sn);
  put32(b + 28, r.exp_cmd_sn);
  put32(b + 32, r.max_cmd_sn);
  return pdu;
}

Result<LogoutRequest> decode_logout_request(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::logout_request));
  const auto* b = pdu.bhs.data();
  if ((b[1] & 0x80) == 0) return protocol_error("logout request without its F bit");
  LogoutRequest r;
  r.reason = b[1] & 0x7f;
  r.itt = get32(b + 16);
  r.cid = get16(b + 20);
  r.cmd_sn = get32(b + 24);
  r.exp_stat_sn = get32(b + 28);
  return r;
}

Result<LogoutResponse> decode_logout_response(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::logout_response));
  const auto* b = pdu.bhs.data();
  LogoutResponse r;
  r.response = b[2];
  r.itt = get32(b + 16);
  r.stat_sn = get32(b + 24);
  r.exp_cmd_sn = get32(b + 28);
  r.max_cmd_sn = get32(b + 32);
  return r;
}

Pdu encode(const NopOut& n) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[0] = 0x40 | static_cast<std::uint8_t>(Opcode::nop_out);
  b[1] = 0x80;
  put32(b + 16, n.itt);
  put32(b + 20, n.ttt);
  put32(b + 24, n.cmd_sn);
  put32(b + 28, n.exp_stat_sn);
  pdu.data = n.data;
  return pdu;
}

Pdu encode(const NopIn& n) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[0] = static_cast<std::uint8_t>(Opcode::nop_in);
  b[1] = 0x80;
  put32(b + 16, n.itt);
  put32(b + 20, n.ttt);
  put32(b + 24, n.stat_sn);
  put32(b + 28, n.exp_cmd_sn);
  put32(b + 32, n.max_cmd_sn);
  pdu.data = n.data;
  return pdu;
}

Result<NopOut> decode_nop_out(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::nop_out));
  const auto* b = pdu.bhs.data();
  NopOut n;
  n.itt = get32(b + 16);
  n.ttt = get32(b + 20);
  n.cmd_sn = get32(b + 24);
  n.exp_stat_sn = get32(b + 28);
  n.data = pdu.data;
  return n;
}

Result<NopIn> decode_nop_in(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::nop_in));
  const auto* b = pdu.bhs.data();
  NopIn n;
  n.itt = get32(b + 16);
  n.ttt = get32(b + 20);
  n.stat_sn = get32(b + 24);
  n.exp_cmd_sn = get32(b + 28);
  n.max_cmd_sn = get32(b + 32);
  n.data = pdu.data;
  return n;
}

Pdu encode(const RejectPdu& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[0] = static_cast<std::uint8_t>(Opcode::reject);
  b[1] = 0x80;
  b[2] = r.reason;
  put32(b + 16, 0xffffffff);
  put32(b + 24, r.stat_sn);
  put32(b + 28, r.exp_cmd_sn);
  put32(b + 32, r.max_cmd_sn);
  pdu.data = r.rejected_header;
  return pdu;
}

Result<RejectPdu> decode_reject(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::reject));
  const auto* b = pdu.bhs.data();
  RejectPdu r;
  r.reason = b[2];
  r.stat_sn = get32(b + 24);
  r.exp_cmd_sn = get32(b + 28);
  r.max_cmd_sn = get32(b + 32);
  r.rejected_header = pdu.data;
  return r;
}

Pdu encode(const TextRequest& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[0] = static_cast<std::uint8_t>((r.immediate ? 0x40 : 0) |
                                   static_cast<std::uint8_t>(Opcode::text_request));
  b[1] = static_cast<std::uint8_t>((r.final ? 0x80 : 0) | (r.cont ? 0x40 : 0));
  put32(b + 16, r.itt);
  put32(b + 20, r.ttt);
  put32(b + 24, r.cmd_sn);
  put32(b + 28, r.exp_stat_sn);
  pdu.data = r.data;
  return pdu;
}

Pdu encode(const TextResponse& r) {
  Pdu pdu;
  auto* b = pdu.bhs.data();
  b[0] = static_cast<std::uint8_t>(Opcode::text_response);
  b[1] = static_cast<std::uint8_t>((r.final ? 0x80 : 0) | (r.cont ? 0x40 : 0));
  put32(b + 16, r.itt);
  put32(b + 20, r.ttt);
  put32(b + 24, r.stat_sn);
  put32(b + 28, r.exp_cmd_sn);
  put32(b + 32, r.max_cmd_sn);
  pdu.data = r.data;
  return pdu;
}

Result<TextRequest> decode_text_request(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::text_request));
  const auto* b = pdu.bhs.data();
  TextRequest r;
  r.immediate = pdu.immediate();
  r.final = (b[1] & 0x80) != 0;
  r.cont = (b[1] & 0x40) != 0;
  if (r.final && r.cont) return protocol_error("text request has both F and C set");
  r.itt = get32(b + 16);
  r.ttt = get32(b + 20);
  r.cmd_sn = get32(b + 24);
  r.exp_stat_sn = get32(b + 28);
  r.data = pdu.data;
  return r;
}

Result<TextResponse> decode_text_response(const Pdu& pdu) {
  MULTICHAP_GUARD(expect_opcode(pdu, Opcode::text_response));
  const auto* b = pdu.bhs.data();
  TextResponse r;
  r.final = (b[1] & 0x80) != 0;
  r.cont = (b[1] & 0x40) != 0;
  if (r.final && r.cont) return protocol_error("text response has both F and C set");
  r.itt = get32(b + 16);
  r.ttt = get32(b + 20);
  r.stat_sn = get32(b + 24);
  r.exp_cmd_sn = get32(b + 28);
  r.max_cmd_sn = get32(b + 32);
  r.data = pdu.data;
  return r;
}

}  // namespace multichap
