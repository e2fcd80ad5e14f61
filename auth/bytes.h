// Non-owning byte views (a C++17 stand-in for std::span<const std::uint8_t>) and a bounds-checked
// reader used by every parser in multichap.
#ifndef MULTICHAP_AUTH_BYTES_H
#define MULTICHAP_AUTH_BYTES_H

#include <cstddef>
#include <cstdint>
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

// Bounds-checked sequential reader (after BoringSSL's CBS). Every read either succeeds fully or
// returns false and leaves the reader unchanged; nothing ever reads past the end.
class ByteReader {
 public:
  explicit ByteReader(ByteView input) : m_input(input) {}

  std::size_t remaining() const { return m_input.size() - m_offset; }
  bool empty() const { return remaining() == 0; }
  bool read_u8(std::uint8_t& out);
  bool read_u16(std::uint16_t& out);  // big-endian
  bool read_u24(std::uint32_t& out);  // big-endian
  bool read_u32(std::uint32_t& out);  // big-endian
  bool read_bytes(std::size_t n, ByteView& out);
  bool skip(std::size_t n);

 private:
  ByteView m_input;
  std::size_t m_offset = 0;
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_BYTES_H
