// SPDX-License-Identifier: BSD-2-Clause
// libFuzzer target: login text segments (auth/text.h).
// Invariants: parsing fails with a protocol error or yields keys that obey every rule the parser
// enforces; build_text(parse_text(x)) re-parses to the same list in the same order and is a
// fixed point of build(parse(...)); it is never longer than x.
#include <algorithm>
#include <set>
#include <string>

#include "auth/text.h"
#include "tests/fuzz/fuzz_targets.h"

namespace multichap::fuzz {

namespace {

bool valid_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '+' || c == '@' || c == '_';
}

bool same_list(const KeyList& a, const KeyList& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].value != b[i].value) return false;
  }
  return true;
}

}  // namespace

void fuzz_text(const std::uint8_t* data, std::size_t size) {
  auto parsed = parse_text(ByteView(data, size));
  if (!parsed) {
    MULTICHAP_FUZZ_CHECK(parsed.error().kind == ErrorKind::protocol);
    MULTICHAP_FUZZ_CHECK(!parsed.error().message.empty());
    MULTICHAP_FUZZ_CHECK(parsed.error().code != ErrorCode::generic_protocol);
    return;
  }
  const KeyList& keys = *parsed;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const KeyValue& kv = keys[i];
    MULTICHAP_FUZZ_CHECK(!kv.key.empty() && kv.key.size() <= kMaxKeyNameBytes);
    MULTICHAP_FUZZ_CHECK(std::all_of(kv.key.begin(), kv.key.end(), valid_key_char));
    MULTICHAP_FUZZ_CHECK(kv.value.size() <= max_value_bytes(kv.key));
    MULTICHAP_FUZZ_CHECK(kv.value.find('\0') == std::string::npos);
    MULTICHAP_FUZZ_CHECK(seen.insert(kv.key).second);
    if (i < 64) {  // find() is a linear scan: spot-check, keep the target linear in the input
      MULTICHAP_FUZZ_CHECK(keys.find(kv.key) != nullptr && *keys.find(kv.key) == kv.value);
    }
  }

  const std::string built = build_text(keys);
  MULTICHAP_FUZZ_CHECK(built.size() <= size);
  auto reparsed = parse_text(ByteView(built));
  MULTICHAP_FUZZ_CHECK(reparsed.has_value());
  MULTICHAP_FUZZ_CHECK(same_list(*reparsed, keys));
  MULTICHAP_FUZZ_CHECK(build_text(*reparsed) == built);
  // The original bytes are the built text plus nothing but NUL padding.
  const std::string_view original(reinterpret_cast<const char*>(data), size);
  MULTICHAP_FUZZ_CHECK(original.substr(0, built.size()) == built);
  MULTICHAP_FUZZ_CHECK(original.find_first_not_of('\0', built.size()) == std::string_view::npos);
}

}  // namespace multichap::fuzz

#if !defined(MULTICHAP_FUZZ_REPLAY)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  multichap::fuzz::fuzz_text(data, size);
  return 0;
}
#endif
