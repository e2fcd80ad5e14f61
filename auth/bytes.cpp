#include "auth/bytes.h"

namespace multichap {

bool ByteReader::read_u8(std::uint8_t& out) {
  if (remaining() < 1) return false;
  out = m_input[m_offset++];
  return true;
}

bool ByteReader::read_u16(std::uint16_t& out) {
  if (remaining() < 2) return false;
  out = static_cast<std::uint16_t>((m_input[m_offset] << 8) | m_input[m_offset + 1]);
  m_offset += 2;
  return true;
}

bool ByteReader::read_u24(std::uint32_t& out) {
  if (remaining() < 3) return false;
  out = (std::uint32_t{m_input[m_offset]} << 16) | (std::uint32_t{m_input[m_offset + 1]} << 8) |
        m_input[m_offset + 2];
  m_offset += 3;
  return true;
}

bool ByteReader::read_u32(std::uint32_t& out) {
  if (remaining() < 4) return false;
  out = (std::uint32_t{m_input[m_offset]} << 24) | (std::uint32_t{m_input[m_offset + 1]} << 16) |
        (std::uint32_t{m_input[m_offset + 2]} << 8) | m_input[m_offset + 3];
  m_offset += 4;
  return true;
}

bool ByteReader::read_bytes(std::size_t n, ByteView& out) {
  if (remaining() < n) return false;
  out = ByteView(m_input.data() + m_offset, n);
  m_offset += n;
  return true;
}

bool ByteReader::skip(std::size_t n) {
  if (remaining() < n) return false;
  m_offset += n;
  return true;
}

}  // namespace multichap
