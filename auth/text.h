// SPDX-License-Identifier: BSD-2-Clause
// Login text segments (RFC 7143 §6.1): UTF-8 "key=value" pairs, each terminated by one NUL.
// The caller reassembles a segment that spans several PDUs (the C bit) before parsing it.
#ifndef MULTICHAP_AUTH_TEXT_H
#define MULTICHAP_AUTH_TEXT_H

#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "auth/bytes.h"
#include "auth/result.h"

namespace multichap {

inline constexpr std::size_t kMaxKeyNameBytes = 63;  // RFC 7143 §6.1
inline constexpr std::size_t kMaxSimpleValueBytes = 255;
// CHAP_C / CHAP_R text: "0x" + 2 * 1024 hex digits (base64 of 1024 bytes is shorter).
inline constexpr std::size_t kMaxChapBinaryTextBytes = 2 + 2 * 1024;

struct KeyValue {
  std::string key;
  std::string value;
};

// The items of an iSCSI list value ("CHAP,None", "7,5"; RFC 7143 §6.1), in order, as views into
// value, without allocating: `for (std::string_view item : split_list(value))`. Every comma
// separates two items, so "" is one empty item and "a,,b" is "a", "", "b": callers that forbid
// empty items check for them.
class ListItems {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = std::string_view;

    iterator() = default;
    std::string_view operator*() const {
      return m_value.substr(
          m_start, m_comma == std::string_view::npos ? std::string_view::npos : m_comma - m_start);
    }
    iterator& operator++() {
      if (m_comma == std::string_view::npos) {
        m_start = std::string_view::npos;  // past the last item
      } else {
        m_start = m_comma + 1;
        m_comma = m_value.find(',', m_start);
      }
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator& other) const { return m_start == other.m_start; }
    bool operator!=(const iterator& other) const { return m_start != other.m_start; }

   private:
    friend class ListItems;
    iterator(std::string_view value, std::size_t start)
        : m_value(value),
          m_start(start),
          m_comma(start == std::string_view::npos ? start : value.find(',', start)) {}
    std::string_view m_value;
    std::size_t m_start = std::string_view::npos;  // npos: the end
    std::size_t m_comma = std::string_view::npos;  // the comma ending this item, or npos
  };

  explicit ListItems(std::string_view value) : m_value(value) {}
  iterator begin() const { return iterator(m_value, 0); }
  iterator end() const { return iterator(m_value, std::string_view::npos); }

 private:
  std::string_view m_value;
};
inline ListItems split_list(std::string_view value) {
  return ListItems(value);
}

// An ordered list of keys, each at most once. Order is preserved for the wire.
class KeyList {
 public:
  KeyList() = default;
  KeyList(std::initializer_list<KeyValue> items);

  // Appends key=value; a usage error if key is already present (a key is offered once).
  Result<void> add(std::string key, std::string value);
  // Appends or replaces.
  void set(std::string_view key, std::string value);
  // Appends key=value without looking for key first: for a caller that knows it is absent, such
  // as the answers to one parsed segment (whose keys are unique). Debug builds check it.
  void append_new(std::string key, std::string value);
  // The value of key, or nullptr.
  const std::string* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Room for n pairs without reallocating (the CHAP steps know how many keys they send).
  void reserve(std::size_t n) { m_items.reserve(n); }
  // Removes key if present.
  void erase(std::string_view key);
  // Appends every pair of other (replacing equal keys).
  void merge(const KeyList& other);

  std::size_t size() const { return m_items.size(); }
  bool empty() const { return m_items.empty(); }
  std::vector<KeyValue>::const_iterator begin() const { return m_items.begin(); }
  std::vector<KeyValue>::const_iterator end() const { return m_items.end(); }
  const KeyValue& operator[](std::size_t i) const { return m_items[i]; }

 private:
  // parse_text() appends without the linear duplicate scan of add()/set(): it checks duplicates
  // in a hash set, so a segment with many keys costs linear time, not quadratic.
  friend Result<KeyList> parse_text(ByteView segment);

  std::vector<KeyValue> m_items;
};

// The maximum value length for a key: 2050 for CHAP_C/CHAP_R, 255 otherwise.
std::size_t max_value_bytes(std::string_view key);

// Parses a complete text segment. Trailing NUL padding after the last pair is ignored. Fails
// with ErrorKind::protocol on: a pair without '=', an empty or over-long (> 63) key name, a key
// name with characters outside [A-Za-z0-9.+@_-], an over-long value, a duplicate key, a final
// pair missing its NUL terminator.
Result<KeyList> parse_text(ByteView segment);

// Serializes keys as NUL-terminated pairs (no padding: the PDU codec pads).
std::string build_text(const KeyList& keys);
// The same, appended to out (a PDU's data segment, say) without an intermediate string.
void append_text(const KeyList& keys, Bytes& out);
// The size build_text(keys) would have, without building it.
std::size_t text_size(const KeyList& keys);

}  // namespace multichap

#endif  // MULTICHAP_AUTH_TEXT_H
