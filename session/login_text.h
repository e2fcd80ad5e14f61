// SPDX-License-Identifier: BSD-2-Clause
// Login text that spans several PDUs (RFC 7143 §6.3, §11.12.2: the C bit), in one place for both
// roles: a request or response with C=1 is continued by the next PDU, and the receiver answers
// each C=1 PDU with an empty one until the text is complete.
#ifndef MULTICHAP_SESSION_LOGIN_TEXT_H
#define MULTICHAP_SESSION_LOGIN_TEXT_H

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "auth/bytes.h"
#include "auth/result.h"
#include "session/pdu.h"

namespace multichap {

// Collects the data segments of one text until a PDU arrives with C=0.
class TextAssembler {
 public:
  explicit TextAssembler(std::size_t limit = kMaxLoginText) : m_limit(limit) {}
  // Appends one PDU's data segment; ErrorKind::policy once the text exceeds the limit.
  Result<void> append(ByteView data);
  // The text so far; clear() starts the next one.
  const std::string& text() const { return m_text; }
  ByteView bytes() const {
    return ByteView(reinterpret_cast<const std::uint8_t*>(m_text.data()), m_text.size());
  }
  void clear() { m_text.clear(); }

 private:
  std::size_t m_limit;
  std::string m_text;
};

// Cuts text into segments of at most max_segment bytes (the peer's MaxRecvDataSegmentLength);
// every segment but the last is sent with C=1. An empty text is one empty segment.
std::vector<std::string_view> split_text(std::string_view text, std::size_t max_segment);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_LOGIN_TEXT_H
