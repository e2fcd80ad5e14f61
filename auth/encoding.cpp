// SPDX-License-Identifier: BSD-2-Clause
#include "auth/encoding.h"

#include <array>
#include <cstring>

namespace multichap {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Character -> digit value tables (-1: not a digit), built at compile time from the alphabets so
// decoding is one load per character instead of a chain of range comparisons.
struct DigitTables {
  std::array<std::int8_t, 256> hex{};
  std::array<std::int8_t, 256> base64{};
  // "00" .. "ff": one 2-byte copy per encoded byte.
  std::array<char, 512> hex_pairs{};
};

constexpr DigitTables make_tables() {
  DigitTables t{};
  for (auto& v : t.hex) v = -1;
  for (auto& v : t.base64) v = -1;
  for (int i = 0; i < 16; ++i) {
    t.hex[static_cast<unsigned char>(kHexDigits[i])] = static_cast<std::int8_t>(i);
    if (i >= 10) t.hex[static_cast<unsigned char>('A' + i - 10)] = static_cast<std::int8_t>(i);
  }
  for (int i = 0; i < 64; ++i) {
    t.base64[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<std::int8_t>(i);
  }
  for (std::size_t b = 0; b < 256; ++b) {
    t.hex_pairs[2 * b] = kHexDigits[b >> 4];
    t.hex_pairs[2 * b + 1] = kHexDigits[b & 15];
  }
  return t;
}
constexpr DigitTables kTables = make_tables();

inline int hex_value(char c) {
  return kTables.hex[static_cast<unsigned char>(c)];
}

inline int base64_value(char c) {
  return kTables.base64[static_cast<unsigned char>(c)];
}

// The decoders check the length first, then ask place(out_size) for the memory to write the
// exact number of bytes to, so a value is sized once and written through a pointer (whether it
// lands in a SecureBytes or in a caller's buffer). They return the size written.
template <typename Place>
Result<std::size_t> decode_hex_digits(std::string_view digits, std::size_t max_bytes,
                                      Place&& place) {
  if (digits.empty())
    return protocol_error(ErrorCode::hex_empty, "hex value has no digits after 0x");
  const std::size_t out_size = (digits.size() + 1) / 2;
  if (out_size > max_bytes) {
    return protocol_error(ErrorCode::binary_too_long,
                          "hex value decodes to " + std::to_string(out_size) +
                              " bytes, over the limit of " + std::to_string(max_bytes));
  }
  std::uint8_t* dst = place(out_size);
  std::size_t i = 0;
  if (digits.size() % 2 == 1) {  // n digits -> ceil(n/2) bytes; the first digit stands alone
    const int v = hex_value(digits[0]);
    if (v < 0) return protocol_error(ErrorCode::hex_digit, "invalid hex digit at position 0");
    *dst++ = static_cast<std::uint8_t>(v);
    i = 1;
  }
  for (; i < digits.size(); i += 2) {
    const int hi = hex_value(digits[i]);
    const int lo = hex_value(digits[i + 1]);
    if ((hi | lo) < 0) {
      return protocol_error(ErrorCode::hex_digit,
                            "invalid hex digit at position " + std::to_string(hi < 0 ? i : i + 1));
    }
    *dst++ = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out_size;
}

template <typename Place>
Result<std::size_t> decode_base64_digits(std::string_view text, std::size_t max_bytes,
                                         Place&& place) {
  if (text.empty())
    return protocol_error(ErrorCode::base64_empty, "base64 value has no characters after 0b");
  if (text.size() % 4 != 0)
    return protocol_error(ErrorCode::base64_length, "base64 value length is not a multiple of 4");
  std::size_t padding = 0;
  if (text[text.size() - 1] == '=') padding = (text[text.size() - 2] == '=') ? 2 : 1;
  const std::size_t out_size = text.size() / 4 * 3 - padding;
  if (out_size > max_bytes) {
    return protocol_error(ErrorCode::binary_too_long,
                          "base64 value decodes to " + std::to_string(out_size) +
                              " bytes, over the limit of " + std::to_string(max_bytes));
  }
  if (out_size == 0)
    return protocol_error(ErrorCode::base64_empty, "base64 value decodes to no bytes");
  std::uint8_t* dst = place(out_size);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::array<int, 4> v{};
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 4 - padding) {
        v[j] = 0;
        continue;
      }
      v[j] = base64_value(c);
      if (v[j] < 0)
        return protocol_error(ErrorCode::base64_character,
                              "invalid base64 character at position " + std::to_string(i + j));
    }
    const std::uint32_t group =
        (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
        (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    *dst++ = static_cast<std::uint8_t>(group >> 16);
    if (!last || padding < 2) *dst++ = static_cast<std::uint8_t>(group >> 8);
    if (!last || padding < 1) *dst++ = static_cast<std::uint8_t>(group);
    if (last &&
        ((padding == 1 && (group & 0xff) != 0) || (padding == 2 && (group & 0xffff) != 0))) {
      return protocol_error(ErrorCode::base64_padding,
                            "base64 value has non-zero bits in its padding (not canonical)");
    }
  }
  return out_size;
}

template <typename Place>
Result<std::size_t> decode_body(std::string_view value, std::size_t max_bytes, Place&& place) {
  MULTICHAP_ASSIGN_OR_RETURN(const BinaryEncoding encoding, binary_encoding_of(value));
  const std::string_view body = value.substr(2);
  if (encoding == BinaryEncoding::hex) return decode_hex_digits(body, max_bytes, place);
  return decode_base64_digits(body, max_bytes, place);
}

}  // namespace

Result<BinaryEncoding> binary_encoding_of(std::string_view value) {
  if (value.size() >= 2 && value[0] == '0') {
    if (value[1] == 'x' || value[1] == 'X') return BinaryEncoding::hex;
    if (value[1] == 'b' || value[1] == 'B') return BinaryEncoding::base64;
  }
  return protocol_error(ErrorCode::binary_prefix,
                        "binary value lacks a 0x (hex) or 0b (base64) prefix");
}

Result<SecureBytes> decode_binary(std::string_view value, std::size_t max_bytes) {
  SecureBytes out;
  MULTICHAP_GUARD(decode_body(value, max_bytes, [&](std::size_t n) {
    out.resize(n);
    return out.data();
  }));
  return out;
}

Result<std::size_t> decode_binary_into(std::string_view value, MutableByteView out) {
  std::size_t written = 0;
  auto decoded = decode_body(value, out.size(), [&](std::size_t n) {
    written = n;
    return out.data();
  });
  if (!decoded) secure_wipe(out.data(), written);  // a partial decode leaves nothing behind
  return decoded;
}

std::string encode_hex(ByteView bytes) {
  std::string out(2 + bytes.size() * 2, '\0');  // sized once, written through a pointer
  char* dst = out.data();
  *dst++ = '0';
  *dst++ = 'x';
  for (const std::uint8_t b : bytes) {
    std::memcpy(dst, &kTables.hex_pairs[2 * std::size_t{b}], 2);
    dst += 2;
  }
  return out;
}

std::string encode_base64(ByteView bytes) {
  std::string out;
  out.reserve(2 + (bytes.size() + 2) / 3 * 4);  // the exact size: no reallocation below
  out += "0b";
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t g =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kBase64Alphabet[(g >> 18) & 63];
    out += kBase64Alphabet[(g >> 12) & 63];
    out += kBase64Alphabet[(g >> 6) & 63];
    out += kBase64Alphabet[g & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t g = std::uint32_t{bytes[i]} << 16;
    if (rest == 2) g |= std::uint32_t{bytes[i + 1]} << 8;
    out += kBase64Alphabet[(g >> 18) & 63];
    out += kBase64Alphabet[(g >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(g >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string encode_binary(ByteView bytes, BinaryEncoding encoding) {
  return encoding == BinaryEncoding::hex ? encode_hex(bytes) : encode_base64(bytes);
}

Result<std::uint32_t> parse_number(std::string_view value, std::uint32_t max) {
  if (value.empty()) return protocol_error(ErrorCode::number_empty, "empty number");
  std::uint64_t n = 0;
  if (value.size() >= 2 && value[0] == '0' && (value[1] == 'x' || value[1] == 'X')) {
    const std::string_view digits = value.substr(2);
    if (digits.empty())
      return protocol_error(ErrorCode::number_empty, "hex number has no digits after 0x");
    for (const char c : digits) {
      const int v = hex_value(c);
      if (v < 0) return protocol_error(ErrorCode::number_character, "invalid hex digit in number");
      n = n * 16 + static_cast<std::uint64_t>(v);
      if (n > max)
        return protocol_error(ErrorCode::number_range,
                              "number out of range (maximum " + std::to_string(max) + ")");
    }
    return static_cast<std::uint32_t>(n);
  }
  if (value.size() > 1 && value[0] == '0')
    return protocol_error(ErrorCode::number_leading_zero, "decimal number has leading zeros");
  for (const char c : value) {
    if (c < '0' || c > '9')
      return protocol_error(ErrorCode::number_character, "invalid character in number");
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
    if (n > max)
      return protocol_error(ErrorCode::number_range,
                            "number out of range (maximum " + std::to_string(max) + ")");
  }
  return static_cast<std::uint32_t>(n);
}

}  // namespace multichap
