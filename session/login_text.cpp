// SPDX-License-Identifier: BSD-2-Clause
#include "session/login_text.h"

namespace multichap {

Result<void> TextAssembler::append(ByteView data) {
  if (m_text.size() + data.size() > m_limit) {
    return make_error(ErrorKind::policy, ErrorCode::login_text_too_long,
                      "login text over " + std::to_string(m_limit / 1024) + " KiB");
  }
  m_text.append(reinterpret_cast<const char*>(data.data()), data.size());
  return {};
}

std::vector<std::string_view> split_text(std::string_view text, std::size_t max_segment) {
  std::vector<std::string_view> segments;
  if (max_segment == 0) max_segment = 1;
  do {
    segments.push_back(text.substr(0, max_segment));
    text.remove_prefix(segments.back().size());
  } while (!text.empty());
  return segments;
}

}  // namespace multichap
