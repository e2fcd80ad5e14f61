// SPDX-License-Identifier: BSD-2-Clause
// iSCSI PDUs of the login phase and of a minimal full feature phase (RFC 7143 §11): the 48-byte
// Basic Header Segment, the data segment with its padding, and typed views of Login
// Request/Response, Logout Request/Response, NOP-Out/In and Reject. Reading is bounded: a
// length field that lies is an error, never an over-read or an unbounded allocation.
#ifndef MULTICHAP_SESSION_PDU_H
#define MULTICHAP_SESSION_PDU_H

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "auth/bytes.h"
#include "auth/result.h"
#include "session/transport.h"

namespace multichap {

inline constexpr std::size_t kBhsSize = 48;
// Default MaxRecvDataSegmentLength (RFC 7143 §13.12); login PDUs must not exceed it.
inline constexpr std::uint32_t kDefaultMaxRecvDataSegment = 8192;
// Largest login text we reassemble from C-bit continuations.
inline constexpr std::size_t kMaxLoginText = std::size_t{64} * 1024;

enum class Opcode : std::uint8_t {
  nop_out = 0x00,
  scsi_command = 0x01,
  task_management = 0x02,
  login_request = 0x03,
  text_request = 0x04,
  data_out = 0x05,
  logout_request = 0x06,
  snack = 0x10,
  nop_in = 0x20,
  scsi_response = 0x21,
  task_management_response = 0x22,
  login_response = 0x23,
  text_response = 0x24,
  data_in = 0x25,
  logout_response = 0x26,
  r2t = 0x31,
  async_message = 0x32,
  reject = 0x3f,
};
std::string opcode_name(std::uint8_t opcode);

// Login stages (RFC 7143 §11.12.3).
enum Stage : std::uint8_t { kSecurityStage = 0, kOperationalStage = 1, kFullFeaturePhase = 3 };

// Status-Class << 8 | Status-Detail (RFC 7143 §11.13.5).
namespace status {
inline constexpr std::uint16_t kSuccess = 0x0000;
inline constexpr std::uint16_t kRedirectTemporary = 0x0101;
inline constexpr std::uint16_t kRedirectPermanent = 0x0102;
inline constexpr std::uint16_t kInitiatorError = 0x0200;
inline constexpr std::uint16_t kAuthenticationFailure = 0x0201;
inline constexpr std::uint16_t kAuthorizationFailure = 0x0202;
inline constexpr std::uint16_t kTargetNotFound = 0x0203;
inline constexpr std::uint16_t kTargetRemoved = 0x0204;
inline constexpr std::uint16_t kUnsupportedVersion = 0x0205;
inline constexpr std::uint16_t kTooManyConnections = 0x0206;
inline constexpr std::uint16_t kMissingParameter = 0x0207;
inline constexpr std::uint16_t kCantIncludeInSession = 0x0208;
inline constexpr std::uint16_t kSessionTypeNotSupported = 0x0209;
inline constexpr std::uint16_t kSessionDoesNotExist = 0x020a;
inline constexpr std::uint16_t kInvalidDuringLogin = 0x020b;
inline constexpr std::uint16_t kTargetError = 0x0300;
inline constexpr std::uint16_t kServiceUnavailable = 0x0301;
inline constexpr std::uint16_t kOutOfResources = 0x0302;
}  // namespace status
// "0x0201 authentication failure".
std::string status_text(std::uint16_t status);

// Byte offsets of the Basic Header Segment fields (RFC 7143 §11.2.1, and the BHS of each PDU in
// §11): the decoders read them through a bounds-checked ByteReader.
namespace bhs_offset {
inline constexpr std::size_t kOpcode = 0;             // I bit, opcode
inline constexpr std::size_t kFlags = 1;              // F/T, C, CSG, NSG; logout reason code
inline constexpr std::size_t kVersionMax = 2;         // login PDUs
inline constexpr std::size_t kResponse = 2;           // Logout Response
inline constexpr std::size_t kReason = 2;             // Reject
inline constexpr std::size_t kVersionMin = 3;         // Login Request (Response: version active)
inline constexpr std::size_t kTotalAhsLength = 4;     // in 4-byte words
inline constexpr std::size_t kDataSegmentLength = 5;  // 24 bits
inline constexpr std::size_t kIsid = 8;               // 6 bytes, login PDUs
inline constexpr std::size_t kTsih = 14;              // login PDUs
inline constexpr std::size_t kItt = 16;               // Initiator Task Tag
inline constexpr std::size_t kCid = 20;               // Login and Logout Requests
inline constexpr std::size_t kTtt = 20;               // NOP and Text PDUs: Target Transfer Tag
inline constexpr std::size_t kCmdSn = 24;             // requests
inline constexpr std::size_t kStatSn = 24;            // responses
inline constexpr std::size_t kExpStatSn = 28;         // requests
inline constexpr std::size_t kExpCmdSn = 28;          // responses
inline constexpr std::size_t kMaxCmdSn = 32;          // responses
inline constexpr std::size_t kStatus = 36;            // Login Response: Status-Class, -Detail
}  // namespace bhs_offset

using Isid = std::array<std::uint8_t, 6>;

// A raw PDU: header plus data segment (without padding). AHS is read and discarded.
struct Pdu {
  std::array<std::uint8_t, kBhsSize> bhs{};
  Bytes data;

  std::uint8_t opcode() const { return bhs[bhs_offset::kOpcode] & 0x3f; }
  bool immediate() const { return (bhs[bhs_offset::kOpcode] & 0x40) != 0; }
  std::uint32_t itt() const;
  // Header + data + zero padding to a multiple of 4, ready to send.
  Bytes serialize() const;
  // The same, appended to out.
  void serialize_into(Bytes& out) const;
};

// Reads one PDU. Fails with ErrorKind::protocol when DataSegmentLength exceeds max_data (the
// connection must then be closed: the stream can no longer be trusted), io/timeout on I/O.
Result<Pdu> read_pdu(Connection& conn, std::uint32_t max_data, Clock::time_point deadline,
                     const std::atomic<bool>* stop = nullptr);
Result<void> write_pdu(Connection& conn, const Pdu& pdu, Clock::time_point deadline);
// Parses one PDU from a byte buffer (for fuzzing and tests): the same bounds as read_pdu.
Result<Pdu> parse_pdu(ByteView wire, std::uint32_t max_data);

// Login Request (RFC 7143 §11.12).
struct LoginRequest {
  bool transit = false;
  bool cont = false;
  std::uint8_t csg = 0;
  std::uint8_t nsg = 0;
  std::uint8_t version_max = 0;
  std::uint8_t version_min = 0;
  Isid isid{};
  std::uint16_t tsih = 0;
  std::uint32_t itt = 0;
  std::uint16_t cid = 0;
  std::uint32_t cmd_sn = 0;
  std::uint32_t exp_stat_sn = 0;
  Bytes data;
};

// Login Response (RFC 7143 §11.13).
struct LoginResponse {
  bool transit = false;
  bool cont = false;
  std::uint8_t csg = 0;
  std::uint8_t nsg = 0;
  std::uint8_t version_max = 0;
  std::uint8_t version_active = 0;
  Isid isid{};
  std::uint16_t tsih = 0;
  std::uint32_t itt = 0;
  std::uint32_t stat_sn = 0;
  std::uint32_t exp_cmd_sn = 0;
  std::uint32_t max_cmd_sn = 0;
  std::uint16_t status = 0;  // class << 8 | detail
  Bytes data;
};

Pdu encode(const LoginRequest& request);
Pdu encode(const LoginResponse& response);
Pdu encode(LoginResponse&& response);  // moves the data segment instead of copying it
// Decoding checks the opcode and the stage rules of RFC 7143 §11.12.3 that concern the
// encoding (reserved stage 2, CSG 3, C with T, NSG not after CSG when T); violations are protocol
// errors.
Result<LoginRequest> decode_login_request(const Pdu& pdu);
Result<LoginResponse> decode_login_response(const Pdu& pdu);

struct LogoutRequest {
  std::uint8_t reason = 0;  // 0 close the session, 1 close the connection
  std::uint32_t itt = 0;
  std::uint16_t cid = 0;
  std::uint32_t cmd_sn = 0;
  std::uint32_t exp_stat_sn = 0;
};
struct LogoutResponse {
  std::uint8_t response = 0;  // 0 closed successfully
  std::uint32_t itt = 0;
  std::uint32_t stat_sn = 0;
  std::uint32_t exp_cmd_sn = 0;
  std::uint32_t max_cmd_sn = 0;
};
Pdu encode(const LogoutRequest& request);
Pdu encode(const LogoutResponse& response);
Result<LogoutRequest> decode_logout_request(const Pdu& pdu);
Result<LogoutResponse> decode_logout_response(const Pdu& pdu);

struct NopOut {
  std::uint32_t itt = 0xffffffff;
  std::uint32_t ttt = 0xffffffff;
  std::uint32_t cmd_sn = 0;
  std::uint32_t exp_stat_sn = 0;
  Bytes data;
};
struct NopIn {
  std::uint32_t itt = 0xffffffff;
  std::uint32_t ttt = 0xffffffff;
  std::uint32_t stat_sn = 0;
  std::uint32_t exp_cmd_sn = 0;
  std::uint32_t max_cmd_sn = 0;
  Bytes data;
};
Pdu encode(const NopOut& nop);
Pdu encode(const NopIn& nop);
Result<NopOut> decode_nop_out(const Pdu& pdu);
Result<NopIn> decode_nop_in(const Pdu& pdu);

// Text Request / Text Response (RFC 7143 §11.10, §11.11): F ends the exchange, C says the text
// goes on in the next PDU (C=1 requires F=0), the Target Transfer Tag links a continuation to the
// response it continues (0xffffffff: none).
struct TextRequest {
  bool immediate = false;
  bool final = true;
  bool cont = false;
  std::uint32_t itt = 0;
  std::uint32_t ttt = 0xffffffff;
  std::uint32_t cmd_sn = 0;
  std::uint32_t exp_stat_sn = 0;
  Bytes data;
};
struct TextResponse {
  bool final = true;
  bool cont = false;
  std::uint32_t itt = 0;
  std::uint32_t ttt = 0xffffffff;
  std::uint32_t stat_sn = 0;
  std::uint32_t exp_cmd_sn = 0;
  std::uint32_t max_cmd_sn = 0;
  Bytes data;
};
Pdu encode(const TextRequest& request);
Pdu encode(const TextResponse& response);
// Both reject F and C set together (a protocol error).
Result<TextRequest> decode_text_request(const Pdu& pdu);
Result<TextResponse> decode_text_response(const Pdu& pdu);

// Reject (RFC 7143 §11.17): carries the rejected PDU's header as data.
struct RejectPdu {
  // RFC 7143 §11.17.1: 0x04 protocol error, 0x05 command not supported, 0x09 invalid PDU field
  std::uint8_t reason = 0x05;
  std::uint32_t stat_sn = 0;
  std::uint32_t exp_cmd_sn = 0;
  std::uint32_t max_cmd_sn = 0;
  Bytes rejected_header;
};
Pdu encode(const RejectPdu& reject);
Result<RejectPdu> decode_reject(const Pdu& pdu);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_PDU_H
