// SPDX-License-Identifier: BSD-2-Clause
// The byte views and the bounds-checked readers of auth/bytes.h: every read either succeeds fully
// or fails and leaves the reader where it was; nothing reads past the end.
#include "auth/bytes.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "auth/text.h"

namespace multichap {
namespace {

constexpr std::array<std::uint8_t, 10> kInput = {0x01, 0x02, 0x03, 0x04, 0x05,
                                                 0x06, 0x07, 0x08, 0x09, 0x0a};

TEST(ByteReader, ReadsBigEndianIntegersInSequence) {
  ByteReader r{ByteView(kInput)};
  std::uint8_t u8 = 0;
  std::uint16_t u16 = 0;
  std::uint32_t u24 = 0;
  std::uint32_t u32 = 0;
  ASSERT_TRUE(r.read_u8(u8));
  ASSERT_TRUE(r.read_u16(u16));
  ASSERT_TRUE(r.read_u24(u24));
  ASSERT_TRUE(r.read_u32(u32));
  EXPECT_EQ(u8, 0x01);
  EXPECT_EQ(u16, 0x0203);
  EXPECT_EQ(u24, 0x040506u);
  EXPECT_EQ(u32, 0x0708090au);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ByteReader, HighBitsAreNotSignExtended) {
  constexpr std::array<std::uint8_t, 4> kHigh = {0xff, 0xfe, 0xfd, 0xfc};
  ByteReader r{ByteView(kHigh)};
  std::uint32_t v = 0;
  ASSERT_TRUE(r.read_u32(v));
  EXPECT_EQ(v, 0xfffefdfcu);
}

TEST(ByteReader, AShortReadFailsAndLeavesTheReaderUnchanged) {
  ByteReader r{ByteView(kInput).first(3)};
  std::uint32_t u32 = 0xdeadbeef;
  EXPECT_FALSE(r.read_u32(u32));
  EXPECT_EQ(u32, 0xdeadbeefu) << "a failed read must not write its output";
  EXPECT_EQ(r.remaining(), 3u);
  std::uint32_t u24 = 0;
  EXPECT_TRUE(r.read_u24(u24));
  EXPECT_EQ(u24, 0x010203u);
  std::uint8_t u8 = 0;
  std::uint16_t u16 = 0;
  EXPECT_FALSE(r.read_u8(u8));
  EXPECT_FALSE(r.read_u16(u16));
  EXPECT_FALSE(r.read_u24(u24));
  EXPECT_FALSE(r.skip(1));
  EXPECT_TRUE(r.skip(0));
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, ReadBytesAndSkipAreBounded) {
  ByteReader r{ByteView(kInput)};
  ByteView out;
  EXPECT_FALSE(r.read_bytes(11, out));
  EXPECT_EQ(r.remaining(), 10u);
  ASSERT_TRUE(r.skip(2));
  ASSERT_TRUE(r.read_bytes(3, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.data(), kInput.data() + 2) << "a view into the input, not a copy";
  EXPECT_FALSE(r.skip(6));
  EXPECT_EQ(r.remaining(), 5u);
  ASSERT_TRUE(r.read_bytes(5, out));
  EXPECT_EQ(out[4], 0x0a);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(r.read_bytes(0, out));
  EXPECT_TRUE(out.empty());
}

TEST(ByteReader, ReadUntilConsumesTheDelimiter) {
  constexpr std::string_view kText("a=1\0bc=22\0tail", 14);
  ByteReader r{ByteView(kText)};
  ByteView out;
  ASSERT_TRUE(r.read_until('\0', out));
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(out.data()), out.size()), "a=1");
  ASSERT_TRUE(r.read_until('\0', out));
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(out.data()), out.size()), "bc=22");
  EXPECT_EQ(r.remaining(), 4u);
  EXPECT_FALSE(r.read_until('\0', out)) << "no delimiter left";
  EXPECT_EQ(r.remaining(), 4u);
  EXPECT_TRUE(r.skip(4));
  EXPECT_FALSE(r.read_until('\0', out)) << "an empty reader has no delimiter";
}

TEST(ByteReader, ReadUntilAnImmediateDelimiterGivesAnEmptyView) {
  constexpr std::array<std::uint8_t, 2> kTwo = {0, 0};
  ByteReader r{ByteView(kTwo)};
  ByteView out;
  ASSERT_TRUE(r.read_until(0, out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(r.read_until(0, out));
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, AnEmptyInputReadsNothing) {
  ByteReader r{ByteView()};
  std::uint8_t u8 = 0;
  ByteView out;
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.read_u8(u8));
  EXPECT_FALSE(r.read_bytes(1, out));
  EXPECT_FALSE(r.read_until(0, out));
}

TEST(HeaderFields, ReadsAtOffsets) {
  const HeaderFields h{ByteView(kInput)};
  EXPECT_EQ(h.u8(0), 0x01);
  EXPECT_EQ(h.u16(1), 0x0203);
  EXPECT_EQ(h.u24(5), 0x060708u);
  EXPECT_EQ(h.u32(6), 0x0708090au);
  const ByteView b = h.bytes(8, 2);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], 0x09);
}

TEST(HeaderFields, AFieldPastTheEndReadsAsZero) {
  const HeaderFields h{ByteView(kInput)};
  EXPECT_EQ(h.u32(7), 0u);
  EXPECT_EQ(h.u16(9), 0u);
  EXPECT_EQ(h.u8(10), 0u);
  EXPECT_EQ(h.u8(1000), 0u);
  EXPECT_TRUE(h.bytes(9, 2).empty());
}

TEST(ByteView, FirstAndSubviewClamp) {
  const ByteView v(kInput);
  EXPECT_EQ(v.first(3).size(), 3u);
  EXPECT_EQ(v.first(100).size(), 10u);
  EXPECT_EQ(v.subview(8).size(), 2u);
  EXPECT_EQ(v.subview(8)[0], 0x09);
  EXPECT_TRUE(v.subview(10).empty());
  EXPECT_TRUE(v.subview(11).empty());
}

TEST(SplitList, YieldsEveryItemInOrder) {
  std::vector<std::string_view> items;
  for (const std::string_view item : split_list("CHAP,None,,x")) items.push_back(item);
  EXPECT_EQ(items, (std::vector<std::string_view>{"CHAP", "None", "", "x"}));
}

TEST(SplitList, EmptyAndTrailingCommaGiveEmptyItems) {
  std::vector<std::string_view> items;
  for (const std::string_view item : split_list("")) items.push_back(item);
  EXPECT_EQ(items, (std::vector<std::string_view>{""}));
  items.clear();
  for (const std::string_view item : split_list("7,")) items.push_back(item);
  EXPECT_EQ(items, (std::vector<std::string_view>{"7", ""}));
  items.clear();
  for (const std::string_view item : split_list("5")) items.push_back(item);
  EXPECT_EQ(items, (std::vector<std::string_view>{"5"}));
}

}  // namespace
}  // namespace multichap
