// SPDX-License-Identifier: BSD-2-Clause
// The iSCSI value codec (RFC 7143 §6.1): binary values as hex (0x/0X) or base64 (0b/0B), and
// numbers as decimal or hex. Decoding is strict: anything not exactly well formed is a typed
// protocol error, and no input can make a decoder allocate more than its cap or over-read.
#ifndef MULTICHAP_AUTH_ENCODING_H
#define MULTICHAP_AUTH_ENCODING_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/bytes.h"
#include "auth/result.h"
#include "auth/secure.h"

namespace multichap {

// CHAP_C and CHAP_R carry at most 1024 decoded bytes (RFC 7143 §12.1.3).
inline constexpr std::size_t kMaxBinaryValueBytes = 1024;

enum class BinaryEncoding { hex, base64 };

// Which encoding a binary value uses, from its prefix; a protocol error for no 0x/0b prefix.
Result<BinaryEncoding> binary_encoding_of(std::string_view value);

// Decodes "0x..." (any case, odd digit counts allowed: the first digit stands alone) or
// "0b..." (RFC 4648 base64, padding required, canonical trailing bits). Fails with
// ErrorKind::protocol on an empty value, a bad character, bad padding or more than max_bytes.
// The output lives in wiping memory since it may be a challenge or a secret.
Result<SecureBytes> decode_binary(std::string_view value, std::size_t max_bytes);

// As decode_binary, into caller-owned memory (no allocation): decodes at most out.size() bytes
// and returns how many were written. A value longer than out.size() is the same protocol error
// as decode_binary's max_bytes. On failure out holds nothing of the value (wiped). The caller
// wipes out after use.
Result<std::size_t> decode_binary_into(std::string_view value, MutableByteView out);

// "0x" + lower-case hex.
std::string encode_hex(ByteView bytes);
// "0b" + base64 with padding.
std::string encode_base64(ByteView bytes);
std::string encode_binary(ByteView bytes, BinaryEncoding encoding);

// Parses a number: decimal without leading zeros ("0" itself is fine) or 0x/0X hex.
// Fails with ErrorKind::protocol when malformed or larger than max.
Result<std::uint32_t> parse_number(std::string_view value, std::uint32_t max);

}  // namespace multichap

#endif  // MULTICHAP_AUTH_ENCODING_H
