// SPDX-License-Identifier: BSD-2-Clause
// libFuzzer target: the iSCSI value codec (auth/encoding.h).
// Invariants: decoding either fails with a protocol error or yields 1..cap bytes; strict decoding
// means re-encoding gives back the input (modulo prefix and digit case, and the implicit leading
// zero of an odd hex digit count); the cap is exact; numbers agree across maxima and round-trip
// through decimal and hex; encoding any bytes decodes back to them.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>

#include "auth/encoding.h"
#include "tests/fuzz/fuzz_targets.h"

namespace multichap::fuzz {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool same_bytes(const SecureBytes& a, ByteView b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void check_binary(std::string_view value) {
  auto decoded = decode_binary(value, kMaxBinaryValueBytes);
  if (!decoded) {
    MULTICHAP_FUZZ_CHECK(decoded.error().kind == ErrorKind::protocol);
    MULTICHAP_FUZZ_CHECK(!decoded.error().message.empty());
    MULTICHAP_FUZZ_CHECK(decoded.error().code != ErrorCode::generic_protocol);
    return;
  }
  const SecureBytes& bytes = *decoded;
  MULTICHAP_FUZZ_CHECK(!bytes.empty());
  MULTICHAP_FUZZ_CHECK(bytes.size() <= kMaxBinaryValueBytes);
  auto encoding = binary_encoding_of(value);
  MULTICHAP_FUZZ_CHECK(encoding.has_value());

  const std::string body(value.substr(2));
  if (*encoding == BinaryEncoding::hex) {
    MULTICHAP_FUZZ_CHECK(bytes.size() == (body.size() + 1) / 2);
    const std::string canonical = "0x" + std::string(body.size() % 2, '0') + lower(body);
    MULTICHAP_FUZZ_CHECK(encode_hex(bytes) == canonical);
  } else {
    MULTICHAP_FUZZ_CHECK(encode_base64(bytes) == "0b" + body);  // only canonical input decodes
  }
  // Re-encoding in either encoding decodes back to the same bytes.
  for (const BinaryEncoding e : {BinaryEncoding::hex, BinaryEncoding::base64}) {
    auto again = decode_binary(encode_binary(bytes, e), kMaxBinaryValueBytes);
    MULTICHAP_FUZZ_CHECK(again.has_value());
    MULTICHAP_FUZZ_CHECK(same_bytes(*again, ByteView(bytes.data(), bytes.size())));
  }
  // The cap is exact.
  MULTICHAP_FUZZ_CHECK(decode_binary(value, bytes.size()).has_value());
  auto capped = decode_binary(value, bytes.size() - 1);
  MULTICHAP_FUZZ_CHECK(!capped.has_value());
  MULTICHAP_FUZZ_CHECK(capped.error().kind == ErrorKind::protocol);
}

void check_number(std::string_view value) {
  auto wide = parse_number(value, 0xffffffffu);
  auto narrow = parse_number(value, 255);
  if (!wide) {
    MULTICHAP_FUZZ_CHECK(wide.error().kind == ErrorKind::protocol);
    MULTICHAP_FUZZ_CHECK(!narrow.has_value());
    return;
  }
  const std::uint32_t n = *wide;
  MULTICHAP_FUZZ_CHECK(narrow.has_value() == (n <= 255));
  if (narrow) MULTICHAP_FUZZ_CHECK(*narrow == n);
  if (!narrow) MULTICHAP_FUZZ_CHECK(narrow.error().kind == ErrorKind::protocol);
  // Exactly at the maximum passes; one below fails.
  MULTICHAP_FUZZ_CHECK(parse_number(value, n).has_value());
  if (n > 0) MULTICHAP_FUZZ_CHECK(!parse_number(value, n - 1).has_value());
  // Round trips; decimal input is canonical (no sign, no leading zeros).
  const std::string decimal = std::to_string(n);
  MULTICHAP_FUZZ_CHECK(*parse_number(decimal, 0xffffffffu) == n);
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%X", n);
  MULTICHAP_FUZZ_CHECK(*parse_number(hex, 0xffffffffu) == n);
  const bool is_hex = value.size() >= 2 && (value[1] == 'x' || value[1] == 'X');
  if (!is_hex) MULTICHAP_FUZZ_CHECK(value == decimal);
}

void check_encoders(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > kMaxBinaryValueBytes) return;
  const ByteView raw(data, size);
  auto from_hex = decode_binary(encode_hex(raw), kMaxBinaryValueBytes);
  MULTICHAP_FUZZ_CHECK(from_hex.has_value() && same_bytes(*from_hex, raw));
  auto from_b64 = decode_binary(encode_base64(raw), kMaxBinaryValueBytes);
  MULTICHAP_FUZZ_CHECK(from_b64.has_value() && same_bytes(*from_b64, raw));
}

}  // namespace

void fuzz_value_codec(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  check_binary(value);
  check_number(value);
  check_encoders(data, size);
}

}  // namespace multichap::fuzz

#if !defined(MULTICHAP_FUZZ_REPLAY)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  multichap::fuzz::fuzz_value_codec(data, size);
  return 0;
}
#endif
