// SPDX-License-Identifier: BSD-2-Clause
// Non-owning byte views (a C++17 stand-in for std::span<const std::uint8_t>) and the
// bounds-checked readers the parsers read through.
#ifndef MULTICHAP_AUTH_BYTES_H
#define MULTICHAP_AUTH_BYTES_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace multichap {

using Bytes = std::vector<std::uint8_t>;

// A read-only view of bytes owned elsewhere. Never owns, never outlives its source.
class ByteView {
 public:
  constexpr ByteView() = default;
  constexpr ByteView(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
  template <typename Container,
            typename =
                decltype(static_cast<const std::uint8_t*>(std::declval<const Container&>().data())),
            typename = decltype(std::declval<const Container&>().size())>
  ByteView(const Container& c)  // NOLINT: implicit, like std::span
      : m_data(c.data()), m_size(c.size()) {}
  explicit ByteView(std::string_view text)
      : m_data(reinterpret_cast<const std::uint8_t*>(text.data())), m_size(text.size()) {}

  constexpr const std::uint8_t* data() const { return m_data; }
  constexpr std::size_t size() const { return m_size; }
  constexpr bool empty() const { return m_size == 0; }
  constexpr const std::uint8_t* begin() const { return m_data; }
  constexpr const std::uint8_t* end() const { return m_data + m_size; }
  // Callers check bounds first; first(n)/subview() clamp instead of over-reading.
  constexpr std::uint8_t operator[](std::size_t i) const { return m_data[i]; }
  constexpr ByteView first(std::size_t n) const { return {m_data, n < m_size ? n : m_size}; }
  constexpr ByteView subview(std::size_t offset) const {
    return offset >= m_size ? ByteView{} : ByteView{m_data + offset, m_size - offset};
  }

 private:
  const std::uint8_t* m_data = nullptr;
  std::size_t m_size = 0;
};

// A writable view of caller-owned bytes (digest outputs, random fills).
class MutableByteView {
 public:
  constexpr MutableByteView() = default;
  constexpr MutableByteView(std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
  template <typename Container,
            typename = decltype(static_cast<std::uint8_t*>(std::declval<Container&>().data()))>
  MutableByteView(Container& c)  // NOLINT: implicit
      : m_data(c.data()), m_size(c.size()) {}

  constexpr std::uint8_t* data() const { return m_data; }
  constexpr std::size_t size() const { return m_size; }
  constexpr MutableByteView first(std::size_t n) const { return {m_data, n < m_size ? n : m_size}; }

 private:
  std::uint8_t* m_data = nullptr;
  std::size_t m_size = 0;
};

// Bounds-checked sequential reader (after BoringSSL's CBS), through which the parsers read (PDU
// headers, text segments). Every read either succeeds fully or returns false and leaves the
// reader unchanged; nothing ever reads past the end. Inline: it sits on every login's path.
class ByteReader {
 public:
  explicit ByteReader(ByteView input) : m_input(input) {}

  std::size_t remaining() const { return m_input.size() - m_offset; }
  bool empty() const { return remaining() == 0; }
  bool read_u8(std::uint8_t& out) {
    if (remaining() < 1) return false;
    out = m_input[m_offset++];
    return true;
  }
  bool read_u16(std::uint16_t& out) {  // big-endian
    if (remaining() < 2) return false;
    out = static_cast<std::uint16_t>((m_input[m_offset] << 8) | m_input[m_offset + 1]);
    m_offset += 2;
    return true;
  }
  bool read_u24(std::uint32_t& out) {  // big-endian
    if (remaining() < 3) return false;
    out = (std::uint32_t{m_input[m_offset]} << 16) | (std::uint32_t{m_input[m_offset + 1]} << 8) |
          m_input[m_offset + 2];
    m_offset += 3;
    return true;
  }
  bool read_u32(std::uint32_t& out) {  // big-endian
    if (remaining() < 4) return false;
    out = (std::uint32_t{m_input[m_offset]} << 24) | (std::uint32_t{m_input[m_offset + 1]} << 16) |
          (std::uint32_t{m_input[m_offset + 2]} << 8) | m_input[m_offset + 3];
    m_offset += 4;
    return true;
  }
  bool read_bytes(std::size_t n, ByteView& out) {
    if (remaining() < n) return false;
    out = ByteView(m_input.data() + m_offset, n);
    m_offset += n;
    return true;
  }
  // The bytes before the next delimiter, which is consumed too (not part of out); false when no
  // delimiter remains.
  bool read_until(std::uint8_t delimiter, ByteView& out) {
    const ByteView rest = m_input.subview(m_offset);
    const void* found = rest.empty() ? nullptr : std::memchr(rest.data(), delimiter, rest.size());
    if (found == nullptr) return false;
    const auto n = static_cast<std::size_t>(static_cast<const std::uint8_t*>(found) - rest.data());
    out = ByteView(rest.data(), n);
    m_offset += n + 1;
    return true;
  }
  bool skip(std::size_t n) {
    if (remaining() < n) return false;
    m_offset += n;
    return true;
  }

 private:
  ByteView m_input;
  std::size_t m_offset = 0;
};

// The big-endian fields of a fixed-size header at known offsets (an iSCSI BHS), read through a
// ByteReader positioned at each offset. A field that would end past the header reads as zero:
// with constant offsets inside the header, that is a bug of the caller, never an over-read.
class HeaderFields {
 public:
  explicit HeaderFields(ByteView header) : m_header(header) {}
  std::uint8_t u8(std::size_t offset) const {
    std::uint8_t v = 0;
    return at(offset).read_u8(v) ? v : 0;
  }
  std::uint16_t u16(std::size_t offset) const {
    std::uint16_t v = 0;
    return at(offset).read_u16(v) ? v : 0;
  }
  std::uint32_t u24(std::size_t offset) const {
    std::uint32_t v = 0;
    return at(offset).read_u24(v) ? v : 0;
  }
  std::uint32_t u32(std::size_t offset) const {
    std::uint32_t v = 0;
    return at(offset).read_u32(v) ? v : 0;
  }
  // n bytes at offset, or an empty view when they would end past the header.
  ByteView bytes(std::size_t offset, std::size_t n) const {
    ByteView v;
    return at(offset).read_bytes(n, v) ? v : ByteView();
  }

 private:
  ByteReader at(std::size_t offset) const {
    return ByteReader(offset > m_header.size() ? ByteView() : m_header.subview(offset));
  }
  ByteView m_header;
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_BYTES_H
