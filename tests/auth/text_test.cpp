// SPDX-License-Identifier: BSD-2-Clause
// Login text segments (auth/text.h): parsing, building, order, sizes, padding, and the KeyList
// API. Malformed segments are in malformed_input_test.cpp.
#include "auth/text.h"
#include "tests/support/result_matchers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace multichap {
namespace {

using namespace std::string_literals;

std::vector<std::pair<std::string, std::string>> pairs_of(const KeyList& keys) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : keys) out.emplace_back(kv.key, kv.value);
  return out;
}

KeyList parse_ok(const std::string& text) {
  auto r = parse_text(ByteView(text));
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : KeyList{};
}

TEST(ParseText, ParsesNulTerminatedPairs) {
  const KeyList keys = parse_ok("InitiatorName=iqn.a\0AuthMethod=CHAP,None\0"s);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key, "InitiatorName");
  EXPECT_EQ(keys[0].value, "iqn.a");
  EXPECT_EQ(keys[1].key, "AuthMethod");
  EXPECT_EQ(keys[1].value, "CHAP,None");
}

TEST(ParseText, EmptySegmentIsAnEmptyList) {
  EXPECT_TRUE(parse_ok("").empty());
}

TEST(ParseText, ValueKeepsEverythingAfterTheFirstEquals) {
  const KeyList keys = parse_ok("X-Opaque=a=b==c\0CHAP_R=0bAQ==\0"s);
  EXPECT_EQ(*keys.find("X-Opaque"), "a=b==c");
  EXPECT_EQ(*keys.find("CHAP_R"), "0bAQ==");
}

TEST(ParseText, AcceptsEveryAllowedKeyCharacter) {
  const std::string key = "Az09.-+@_";
  EXPECT_EQ(*parse_ok(key + "=1\0"s).find(key), "1");
}

TEST(ParseText, AcceptsLimitsExactly) {
  const std::string key63(63, 'k');
  const std::string value255(255, 'v');
  const std::string chap_c = "0x" + std::string(2048, 'f');  // 2050 bytes of text
  const KeyList keys = parse_ok(key63 + "=" + value255 + '\0' + "CHAP_C=" + chap_c + '\0' +
                                "CHAP_R=" + chap_c + '\0');
  EXPECT_EQ(*keys.find(key63), value255);
  EXPECT_EQ(*keys.find("CHAP_C"), chap_c);
  EXPECT_EQ(*keys.find("CHAP_R"), chap_c);
  EXPECT_EQ(max_value_bytes("CHAP_C"), 2050u);
  EXPECT_EQ(max_value_bytes("CHAP_R"), 2050u);
  EXPECT_EQ(max_value_bytes("CHAP_N"), 255u);
  EXPECT_EQ(max_value_bytes("CHAP_c"), 255u);  // key names are case-sensitive
}

TEST(ParseText, AcceptsSegmentsLongerThan8192Bytes) {
  // RFC 7143 §6.1: receivers accept at least 8192 bytes of login text.
  KeyList keys;
  for (int i = 0; i < 60; ++i) {
    keys.set("X-Key." + std::to_string(i), std::string(200, static_cast<char>('a' + i % 26)));
  }
  keys.set("CHAP_C", "0x" + std::string(2048, '7'));
  const std::string text = build_text(keys);
  ASSERT_GT(text.size(), 8192u + 4096u);
  const KeyList parsed = parse_ok(text);
  EXPECT_EQ(pairs_of(parsed), pairs_of(keys));
}

TEST(ParseText, ToleratesTrailingNulPadding) {
  const std::string body = "AuthMethod=CHAP\0CHAP_A=7,5\0"s;
  for (std::size_t pad = 0; pad <= 7; ++pad) {
    const KeyList keys = parse_ok(body + std::string(pad, '\0'));
    ASSERT_EQ(keys.size(), 2u) << pad;
    EXPECT_EQ(*keys.find("CHAP_A"), "7,5") << pad;
  }
}

TEST(ParseText, ManyKeysCostLinearTime) {
  // Regression (tests/fuzz/regressions/text/): the duplicate check used to scan the list for every
  // key, so parsing was quadratic in the peer-chosen key count (100000 keys: ~30 s in Release, a
  // libFuzzer timeout at 16000 keys under ASan). Linear, this takes milliseconds; the bound is
  // loose enough for a loaded sanitizer build and far below the quadratic cost.
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "k" + std::to_string(i) + "=v\0"s;
  const auto start = std::chrono::steady_clock::now();
  auto keys = parse_text(ByteView(text));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->size(), 100000u);
  EXPECT_EQ((*keys)[99999].key, "k99999");
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  // A duplicate of an early key at the very end is still found.
  auto dup = parse_text(ByteView(text + "k7=w\0"s));
  ASSERT_FALSE(dup);
  EXPECT_THAT(dup, test::ResultIs(ErrorKind::protocol, ErrorCode::text_duplicate_key));
}

TEST(ParseText, DuplicatesAreFoundOnEitherSideOfTheScanLimit) {
  // The first 16 keys are checked by a scan, later ones through a hash set that starts with them:
  // a duplicate is found wherever its first copy and the repeat fall.
  for (const int keys : {2, 15, 16, 17, 40}) {
    std::string text;
    for (int i = 0; i < keys; ++i) text += "k" + std::to_string(i) + "=v\0"s;
    ASSERT_TRUE(parse_text(ByteView(text))) << keys;
    for (const int repeat : {0, keys / 2, keys - 1}) {
      auto dup = parse_text(ByteView(text + "k" + std::to_string(repeat) + "=w\0"s));
      ASSERT_FALSE(dup) << keys << " keys, repeat of k" << repeat;
      EXPECT_THAT(dup, test::ResultIs(ErrorKind::protocol, ErrorCode::text_duplicate_key));
    }
  }
}

TEST(BuildText, TerminatesEveryPairWithNulAndAddsNoPadding) {
  const KeyList keys{{"CHAP_N", "iqn.x"}, {"CHAP_R", "0x00"}};
  EXPECT_EQ(build_text(keys), "CHAP_N=iqn.x\0CHAP_R=0x00\0"s);
  EXPECT_EQ(build_text(KeyList{}), "");
}

TEST(TextRoundTrip, ParseOfBuildGivesTheSameListInTheSameOrder) {
  // Deliberately not in any sorted order.
  const KeyList keys{{"TargetName", "iqn.t"},    {"CHAP_A", "8,7,6,5"}, {"AuthMethod", "CHAP,None"},
                     {"InitiatorName", "iqn.i"}, {"CHAP_C", "0bAQID"},  {"X.empty", ""}};
  const std::string text = build_text(keys);
  const KeyList parsed = parse_ok(text);
  EXPECT_EQ(pairs_of(parsed), pairs_of(keys));
  EXPECT_EQ(build_text(parsed), text);
}

// ------------------------------------------------------------------------------------------------
// KeyList.

TEST(KeyList, AddRefusesADuplicateKey) {
  KeyList keys;
  EXPECT_TRUE(keys.add("CHAP_A", "5"));
  auto again = keys.add("CHAP_A", "7");
  ASSERT_FALSE(again);
  EXPECT_THAT(again, test::ResultIs(ErrorKind::usage, ErrorCode::key_added_twice));
  EXPECT_EQ(*keys.find("CHAP_A"), "5");
  EXPECT_EQ(keys.size(), 1u);
}

TEST(KeyList, SetReplacesInPlaceAndAppendsNewKeys) {
  KeyList keys{{"A", "1"}, {"B", "2"}};
  keys.set("A", "one");
  keys.set("C", "3");
  EXPECT_EQ(pairs_of(keys), (std::vector<std::pair<std::string, std::string>>{
                                {"A", "one"}, {"B", "2"}, {"C", "3"}}));
}

TEST(KeyList, FindContainsAndErase) {
  KeyList keys{{"A", "1"}, {"B", "2"}, {"C", "3"}};
  EXPECT_TRUE(keys.contains("B"));
  EXPECT_FALSE(keys.contains("b"));
  EXPECT_EQ(keys.find("Z"), nullptr);
  keys.erase("B");
  keys.erase("not-there");
  EXPECT_FALSE(keys.contains("B"));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key, "A");
  EXPECT_EQ(keys[1].key, "C");
}

TEST(KeyList, MergeReplacesEqualKeysAndAppendsTheRest) {
  KeyList keys{{"A", "1"}, {"B", "2"}};
  keys.merge(KeyList{{"B", "two"}, {"D", "4"}});
  EXPECT_EQ(pairs_of(keys), (std::vector<std::pair<std::string, std::string>>{
                                {"A", "1"}, {"B", "two"}, {"D", "4"}}));
}

TEST(KeyList, InitializerListKeepsTheLastValueOfARepeatedKey) {
  const KeyList keys{{"A", "1"}, {"A", "2"}};
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(*keys.find("A"), "2");
  EXPECT_FALSE(keys.empty());
  EXPECT_TRUE(KeyList{}.empty());
}

}  // namespace
}  // namespace multichap
