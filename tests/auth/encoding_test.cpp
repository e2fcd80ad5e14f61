// SPDX-License-Identifier: BSD-2-Clause
// The iSCSI value codec (auth/encoding.h): hex and base64 binary values, numbers, the 1024-byte
// cap. Malformed inputs and their typed errors are tabulated in malformed_input_test.cpp.
#include "auth/encoding.h"
#include "tests/support/result_matchers.h"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace multichap {
namespace {

Bytes to_bytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

Bytes decode_ok(std::string_view value, std::size_t max_bytes = kMaxBinaryValueBytes) {
  auto r = decode_binary(value, max_bytes);
  EXPECT_TRUE(r) << "'" << value << "': " << (r ? "" : r.error().message);
  if (!r) return {};
  return Bytes(r->begin(), r->end());
}

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  std::uniform_int_distribution<int> dist(0, 255);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(dist(rng));
  return out;
}

// ------------------------------------------------------------------------------------------------
// Prefix detection.

TEST(BinaryEncodingOf, RecognizesBothPrefixesInBothCases) {
  EXPECT_EQ(*binary_encoding_of("0x00"), BinaryEncoding::hex);
  EXPECT_EQ(*binary_encoding_of("0X00"), BinaryEncoding::hex);
  EXPECT_EQ(*binary_encoding_of("0bAA=="), BinaryEncoding::base64);
  EXPECT_EQ(*binary_encoding_of("0BAA=="), BinaryEncoding::base64);
  for (const char* bad : {"", "0", "x0", "00x1", "1x00", "0c00", "Ox00"}) {
    auto r = binary_encoding_of(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::binary_prefix)) << bad;
  }
}

// ------------------------------------------------------------------------------------------------
// Hex.

TEST(HexDecode, AcceptsBothPrefixCasesAndBothDigitCases) {
  const Bytes expected = {0x0a, 0xbc, 0xde, 0xf0};
  EXPECT_EQ(decode_ok("0x0abcdef0"), expected);
  EXPECT_EQ(decode_ok("0X0ABCDEF0"), expected);
  EXPECT_EQ(decode_ok("0x0AbCdEf0"), expected);
  EXPECT_EQ(decode_ok("0X0aBcDeF0"), expected);
}

TEST(HexDecode, OddDigitCountLetsTheFirstDigitStandAlone) {
  // RFC 7143 §6.1: n digits -> ceil(n/2) bytes.
  EXPECT_EQ(decode_ok("0x1"), (Bytes{0x01}));
  EXPECT_EQ(decode_ok("0xF"), (Bytes{0x0f}));
  EXPECT_EQ(decode_ok("0x123"), (Bytes{0x01, 0x23}));
  EXPECT_EQ(decode_ok("0xabcde"), (Bytes{0x0a, 0xbc, 0xde}));
  EXPECT_EQ(decode_ok("0x00000"), (Bytes{0x00, 0x00, 0x00}));
}

TEST(HexDecode, KeepsLeadingZeroBytes) {
  EXPECT_EQ(decode_ok("0x0000ff"), (Bytes{0x00, 0x00, 0xff}));
  EXPECT_EQ(decode_ok("0x00"), (Bytes{0x00}));
}

TEST(HexEncode, IsLowerCaseWithPrefix) {
  EXPECT_EQ(encode_hex(Bytes{0x00, 0x1f, 0xa0, 0xff}), "0x001fa0ff");
  EXPECT_EQ(encode_hex(Bytes{0xde, 0xad, 0xbe, 0xef}), "0xdeadbeef");
  EXPECT_EQ(encode_binary(Bytes{0xab}, BinaryEncoding::hex), "0xab");
}

// ------------------------------------------------------------------------------------------------
// Base64: RFC 4648 §10 test vectors (the empty string is not a valid iSCSI value: no vector).

struct Rfc4648Vector {
  const char* plain;
  const char* encoded;
};

constexpr Rfc4648Vector kRfc4648Vectors[] = {
    {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64, EncodesRfc4648Vectors) {
  for (const auto& v : kRfc4648Vectors) {
    EXPECT_EQ(encode_base64(to_bytes(v.plain)), std::string("0b") + v.encoded) << v.plain;
    EXPECT_EQ(encode_binary(to_bytes(v.plain), BinaryEncoding::base64),
              std::string("0b") + v.encoded);
  }
}

TEST(Base64, DecodesRfc4648VectorsWithEitherPrefixCase) {
  for (const auto& v : kRfc4648Vectors) {
    EXPECT_EQ(decode_ok(std::string("0b") + v.encoded), to_bytes(v.plain)) << v.encoded;
    EXPECT_EQ(decode_ok(std::string("0B") + v.encoded), to_bytes(v.plain)) << v.encoded;
  }
}

TEST(Base64, UsesTheStandardAlphabetIncludingPlusAndSlash) {
  EXPECT_EQ(encode_base64(Bytes{0xfb, 0xff, 0xbf}), "0b+/+/");
  EXPECT_EQ(decode_ok("0b+/+/"), (Bytes{0xfb, 0xff, 0xbf}));
  EXPECT_EQ(decode_ok("0bAAAA"), (Bytes{0x00, 0x00, 0x00}));
  EXPECT_EQ(decode_ok("0b////"), (Bytes{0xff, 0xff, 0xff}));
}

// ------------------------------------------------------------------------------------------------
// Round trips and the cap.

TEST(BinaryRoundTrip, RandomDataOfEverySizeUpToTheCap) {
  std::mt19937 rng(0x6d63);  // fixed seed: reproducible
  std::vector<std::size_t> sizes;
  for (std::size_t n = 1; n <= 70; ++n) sizes.push_back(n);
  for (std::size_t n : {127u, 128u, 255u, 256u, 511u, 1000u, 1022u, 1023u, 1024u})
    sizes.push_back(n);
  for (const std::size_t n : sizes) {
    const Bytes data = random_bytes(rng, n);
    EXPECT_EQ(decode_ok(encode_hex(data)), data) << n;
    EXPECT_EQ(decode_ok(encode_base64(data)), data) << n;
    // Upper-case digits and prefix decode to the same bytes.
    std::string upper = encode_hex(data);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(decode_ok(upper), data) << n;
  }
}

TEST(BinaryCap, HexExactlyAtTheLimitIsAcceptedOnePastIsRejected) {
  std::mt19937 rng(1);
  const Bytes at = random_bytes(rng, kMaxBinaryValueBytes);
  const Bytes past = random_bytes(rng, kMaxBinaryValueBytes + 1);
  EXPECT_EQ(decode_ok(encode_hex(at)), at);
  auto r = decode_binary(encode_hex(past), kMaxBinaryValueBytes);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::binary_too_long));
  // An odd digit count that rounds up past the cap: 2049 digits -> 1025 bytes.
  auto odd = decode_binary("0x1" + encode_hex(at).substr(2), kMaxBinaryValueBytes);
  ASSERT_FALSE(odd);
  EXPECT_THAT(odd, test::ResultIs(ErrorKind::protocol, ErrorCode::binary_too_long));
}

TEST(BinaryCap, Base64ExactlyAtTheLimitIsAcceptedOnePastIsRejected) {
  std::mt19937 rng(2);
  const Bytes at = random_bytes(rng, kMaxBinaryValueBytes);
  const Bytes past = random_bytes(rng, kMaxBinaryValueBytes + 1);
  EXPECT_EQ(decode_ok(encode_base64(at)), at);
  auto r = decode_binary(encode_base64(past), kMaxBinaryValueBytes);
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::binary_too_long));
}

TEST(BinaryCap, HonoursASmallerCallerCap) {
  EXPECT_EQ(decode_ok("0x0102", 2), (Bytes{1, 2}));
  EXPECT_FALSE(decode_binary("0x010203", 2));
  EXPECT_EQ(decode_ok("0bAQI=", 2), (Bytes{1, 2}));
  EXPECT_FALSE(decode_binary("0bAQID", 2));
}

// ------------------------------------------------------------------------------------------------
// Numbers.

TEST(ParseNumber, AcceptsDecimalWithoutLeadingZeros) {
  EXPECT_EQ(*parse_number("0", 255), 0u);
  EXPECT_EQ(*parse_number("7", 255), 7u);
  EXPECT_EQ(*parse_number("10", 255), 10u);
  EXPECT_EQ(*parse_number("255", 255), 255u);
  EXPECT_EQ(*parse_number("4294967295", 0xffffffffu), 0xffffffffu);
}

TEST(ParseNumber, AcceptsHexInBothPrefixAndDigitCases) {
  EXPECT_EQ(*parse_number("0x0", 255), 0u);
  EXPECT_EQ(*parse_number("0xff", 255), 255u);
  EXPECT_EQ(*parse_number("0XFF", 255), 255u);
  EXPECT_EQ(*parse_number("0x0a", 255), 10u);
  EXPECT_EQ(*parse_number("0xFfFfFfFf", 0xffffffffu), 0xffffffffu);
}

TEST(ParseNumber, EnforcesTheRangeAtTheBoundary) {
  for (const std::uint32_t max : {0u, 1u, 5u, 255u, 65535u}) {
    EXPECT_TRUE(parse_number(std::to_string(max), max)) << max;
    auto over = parse_number(std::to_string(std::uint64_t{max} + 1), max);
    ASSERT_FALSE(over) << max;
    EXPECT_THAT(over, test::ResultIs(ErrorKind::protocol, ErrorCode::number_range));
  }
  EXPECT_FALSE(parse_number("4294967296", 0xffffffffu));
  EXPECT_FALSE(parse_number("0x100000000", 0xffffffffu));
}

TEST(ParseNumber, RoundTripsThroughDecimalAndHex) {
  std::mt19937 rng(3);
  for (int i = 0; i < 1000; ++i) {
    const std::uint32_t n = static_cast<std::uint32_t>(rng());
    EXPECT_EQ(*parse_number(std::to_string(n), 0xffffffffu), n);
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", n);
    EXPECT_EQ(*parse_number(hex, 0xffffffffu), n);
  }
}

// ------------------------------------------------------------------------------------------------
// decode_binary_into: the same decoder into caller memory.

TEST(DecodeBinaryInto, AgreesWithDecodeBinaryOnRandomValues) {
  std::mt19937 rng(13);
  for (std::size_t n = 1; n <= 70; ++n) {
    const Bytes bytes = random_bytes(rng, n);
    for (const auto encoding : {BinaryEncoding::hex, BinaryEncoding::base64}) {
      const std::string text = encode_binary(bytes, encoding);
      std::array<std::uint8_t, 80> out{};
      auto written = decode_binary_into(text, MutableByteView(out.data(), out.size()));
      ASSERT_TRUE(written) << text;
      EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*written)), bytes);
      EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*written)),
                decode_ok(text));
    }
  }
}

TEST(DecodeBinaryInto, RejectsValuesLongerThanTheBufferAndLeavesNothingBehind) {
  std::array<std::uint8_t, 4> out{};
  auto r = decode_binary_into("0x0102030405", MutableByteView(out.data(), out.size()));
  ASSERT_FALSE(r);
  EXPECT_THAT(r, test::ResultIs(ErrorKind::protocol, ErrorCode::binary_too_long));
  // A bad digit after good ones: the bytes decoded before it are wiped.
  std::array<std::uint8_t, 8> partial{};
  r = decode_binary_into("0x01020304zz", MutableByteView(partial.data(), partial.size()));
  ASSERT_FALSE(r);
  for (const std::uint8_t b : partial) EXPECT_EQ(b, 0);
}

}  // namespace
}  // namespace multichap
