// SPDX-License-Identifier: BSD-2-Clause
#include "auth/text.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <unordered_set>

namespace multichap {

namespace {

// The characters of a key name (RFC 7143 §6.1: letters, digits, '.', '-', '+', '@', '_'), as a
// table: one load per character of every key parsed.
constexpr std::array<bool, 256> make_key_chars() {
  std::array<bool, 256> table{};
  for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
  for (const char c : {'.', '-', '+', '@', '_'}) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kKeyChars = make_key_chars();

bool valid_key_char(char c) {
  return kKeyChars[static_cast<unsigned char>(c)];
}

// Key names are short and many share a prefix (CHAP_A, CHAP_I, CHAP_C...): compare the lengths,
// then the last character, which tells them apart, and only then the rest, inline instead of a
// call to memcmp.
inline bool same_key(const std::string& a, std::string_view b) {
  const std::size_t n = b.size();
  if (a.size() != n) return false;
  if (n == 0) return true;
  const char* p = a.data();
  if (p[n - 1] != b[n - 1]) return false;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    if (p[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

KeyList::KeyList(std::initializer_list<KeyValue> items) {
  m_items.reserve(items.size());
  for (const auto& item : items) set(item.key, item.value);
}

Result<void> KeyList::add(std::string key, std::string value) {
  if (contains(key))
    return make_error(ErrorKind::usage, ErrorCode::key_added_twice,
                      "key '" + key + "' added twice");
  m_items.push_back({std::move(key), std::move(value)});
  return {};
}

void KeyList::set(std::string_view key, std::string value) {
  for (auto& item : m_items) {
    if (same_key(item.key, key)) {
      item.value = std::move(value);
      return;
    }
  }
  m_items.push_back({std::string(key), std::move(value)});
}

void KeyList::append_new(std::string key, std::string value) {
  assert(find(key) == nullptr);
  m_items.push_back({std::move(key), std::move(value)});
}

const std::string* KeyList::find(std::string_view key) const {
  for (const auto& item : m_items) {
    if (same_key(item.key, key)) return &item.value;
  }
  return nullptr;
}

void KeyList::erase(std::string_view key) {
  m_items.erase(std::remove_if(m_items.begin(), m_items.end(),
                               [&](const KeyValue& kv) { return kv.key == key; }),
                m_items.end());
}

void KeyList::merge(const KeyList& other) {
  for (const auto& item : other) set(item.key, item.value);
}

std::size_t max_value_bytes(std::string_view key) {
  if (key == "CHAP_C" || key == "CHAP_R") return kMaxChapBinaryTextBytes;
  return kMaxSimpleValueBytes;
}

Result<KeyList> parse_text(ByteView segment) {
  const std::string_view text(reinterpret_cast<const char*>(segment.data()), segment.size());
  // Trailing zero bytes after the last terminator are padding, not empty pairs.
  std::size_t end = text.size();
  while (end >= 2 && text[end - 1] == '\0' && text[end - 2] == '\0') --end;

  KeyList keys;
  keys.m_items.reserve(
      static_cast<std::size_t>(std::count(text.begin(), text.begin() + end, '\0')));
  // The key count is the peer's choice. A login PDU carries a dozen keys or so: those are checked
  // for duplicates by a scan, with no allocation; past kScanLimit keys a hash set takes over (views
  // into segment), so a flood of distinct keys still costs linear time, not quadratic.
  // The scan compares a one-word digest of each key (taken while its characters are checked)
  // before the key itself.
  constexpr std::size_t kScanLimit = 16;
  std::array<std::string_view, kScanLimit> first{};  // the first keys, by scan
  std::array<std::uint64_t, kScanLimit> first_digest{};
  std::unordered_set<std::string_view> seen;  // all keys, once past them
  ByteReader reader(segment.first(end));
  while (!reader.empty()) {
    ByteView pair_bytes;
    if (!reader.read_until('\0', pair_bytes)) {
      return protocol_error(ErrorCode::text_unterminated,
                            "text segment ends without a NUL after its last key=value pair");
    }
    const std::string_view pair(reinterpret_cast<const char*>(pair_bytes.data()),
                                pair_bytes.size());
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos)
      return protocol_error(ErrorCode::text_pair_without_equals, "key=value pair without '='");
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = pair.substr(eq + 1);
    if (key.empty()) return protocol_error(ErrorCode::text_key_empty, "empty key name");
    if (key.size() > kMaxKeyNameBytes) {
      return protocol_error(ErrorCode::text_key_too_long,
                            "key name longer than " + std::to_string(kMaxKeyNameBytes) + " bytes");
    }
    std::uint64_t digest = key.size();
    bool valid = true;
    for (const char c : key) {
      valid &= valid_key_char(c);
      digest = digest * 131 + static_cast<unsigned char>(c);
    }
    if (!valid)
      return protocol_error(ErrorCode::text_key_character, "key name with an invalid character");
    if (value.size() > max_value_bytes(key)) {
      return protocol_error(ErrorCode::text_value_too_long,
                            "value of " + std::string(key) + " longer than " +
                                std::to_string(max_value_bytes(key)) + " bytes");
    }
    bool duplicate = false;
    const std::size_t count = keys.m_items.size();
    if (count < kScanLimit) {
      for (std::size_t i = 0; i < count && !duplicate; ++i) {
        duplicate = first_digest[i] == digest && first[i] == key;
      }
      first[count] = key;
      first_digest[count] = digest;
    } else {
      if (seen.empty()) seen.insert(first.begin(), first.end());
      duplicate = !seen.insert(key).second;
    }
    if (duplicate)
      return protocol_error(ErrorCode::text_duplicate_key, "duplicate key " + std::string(key));
    keys.m_items.push_back({std::string(key), std::string(value)});
  }
  return keys;
}

std::size_t text_size(const KeyList& keys) {
  std::size_t size = 0;
  for (const auto& item : keys) size += item.key.size() + item.value.size() + 2;
  return size;
}

void append_text(const KeyList& keys, Bytes& out) {
  if (out.empty()) out.reserve(text_size(keys));  // else: the vector's own growth
  for (const auto& item : keys) {
    const auto* key = reinterpret_cast<const std::uint8_t*>(item.key.data());
    const auto* value = reinterpret_cast<const std::uint8_t*>(item.value.data());
    out.insert(out.end(), key, key + item.key.size());
    out.push_back('=');
    out.insert(out.end(), value, value + item.value.size());
    out.push_back('\0');
  }
}

std::string build_text(const KeyList& keys) {
  std::string out;
  out.reserve(text_size(keys));
  for (const auto& item : keys) {
    out += item.key;
    out += '=';
    out += item.value;
    out += '\0';
  }
  return out;
}

}  // namespace multichap
