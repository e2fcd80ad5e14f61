// SPDX-License-Identifier: BSD-2-Clause
// Secret hygiene (auth/secure.h): constant-time comparison, wiping, the wiping allocator and the
// Secret type.
#include "auth/secure.h"
#include "tests/support/result_matchers.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <new>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

namespace multichap {
namespace {

// Detection idiom: whether `std::ostream << const T&` is a valid expression.
template <typename T, typename = void>
struct is_streamable : std::false_type {};
template <typename T>
struct is_streamable<
    T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

// The idiom itself works (so the assertion on Secret below can fail)...
static_assert(is_streamable<std::string>::value);
static_assert(is_streamable<int>::value);
// ...and a Secret can't be printed, copied or copy-assigned; it moves without throwing.
static_assert(!is_streamable<Secret>::value, "a Secret must not be printable");
static_assert(!std::is_copy_constructible_v<Secret>);
static_assert(!std::is_copy_assignable_v<Secret>);
static_assert(std::is_nothrow_move_constructible_v<Secret>);
static_assert(std::is_nothrow_move_assignable_v<Secret>);
static_assert(std::is_same_v<SecureBytes::allocator_type, WipingAllocator<std::uint8_t>>);

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes bytes_of(ByteView v) {
  return Bytes(v.begin(), v.end());
}

// ------------------------------------------------------------------------------------------------

TEST(ConstantTimeEqual, ComparesLengthAndEveryByte) {
  const Bytes a = bytes_of("0123456789abcdef");
  Bytes b(a.begin(), a.end());
  EXPECT_TRUE(constant_time_equal(a, b));
  for (std::size_t i = 0; i < a.size(); ++i) {  // a difference anywhere is found
    b.assign(a.begin(), a.end());
    b[i] ^= 0x01;
    EXPECT_FALSE(constant_time_equal(a, b)) << i;
    b[i] ^= 0x81;
    EXPECT_FALSE(constant_time_equal(a, b)) << i;
  }
  EXPECT_FALSE(constant_time_equal(a, ByteView(a.data(), a.size() - 1)));  // a prefix
  EXPECT_FALSE(constant_time_equal(ByteView(a.data(), 1), a));
  EXPECT_TRUE(constant_time_equal(ByteView(), ByteView()));
  EXPECT_FALSE(constant_time_equal(ByteView(), a));
}

TEST(SecureWipe, ZeroesExactlyTheGivenRange) {
  std::uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  secure_wipe(buf + 2, 4);
  const std::uint8_t expected[8] = {1, 2, 0, 0, 0, 0, 7, 8};
  EXPECT_EQ(0, std::memcmp(buf, expected, sizeof buf));
}

TEST(WipingAllocator, DeallocationWipesAndCountsTheBytes) {
  const std::uint64_t before = wiped_byte_count();
  { SecureBytes v(1000, 0xaa); }
  EXPECT_GE(wiped_byte_count() - before, 1000u);
}

TEST(WipingAllocator, ReallocationWipesTheOldBuffer) {
  SecureBytes v;
  v.reserve(64);
  v.assign(64, 0x55);
  const std::uint64_t before = wiped_byte_count();
  v.reserve(4096);  // moves to a new buffer; the old 64 bytes go back to the heap wiped
  EXPECT_GE(wiped_byte_count() - before, 64u);
  EXPECT_EQ(v.size(), 64u);
  EXPECT_EQ(v[63], 0x55);
}

TEST(WipingAllocator, RejectsAnOverflowingRequest) {
  WipingAllocator<std::uint64_t> alloc;
  EXPECT_THROW((void)alloc.allocate(std::numeric_limits<std::size_t>::max() / 4), std::bad_alloc);
}

TEST(Wipe, ZeroesTheWholeCapacityAndEmpties) {
  SecureBytes v(48, 0xcc);
  v.resize(16);  // bytes 16..47 still hold 0xcc in the capacity
  const std::uint8_t* storage = v.data();
  const std::size_t capacity = v.capacity();
  ASSERT_GE(capacity, 48u);
  const std::uint64_t before = wiped_byte_count();
  wipe(v);
  EXPECT_TRUE(v.empty());
  EXPECT_GE(wiped_byte_count() - before, capacity);
  ASSERT_EQ(v.data(), storage);  // clear() keeps the buffer: inspect it
  for (std::size_t i = 0; i < capacity; ++i) EXPECT_EQ(storage[i], 0) << i;
}

// ------------------------------------------------------------------------------------------------

TEST(Secret, FromTextHoldsTheExactBytes) {
  const Secret s = Secret::from_text("pass word\x01\xff");
  EXPECT_EQ(bytes_of(s.bytes()), bytes_of("pass word\x01\xff"));
  EXPECT_EQ(s.size(), 11u);
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(Secret().empty());
}

TEST(Secret, FromEncodedDecodesHexAndBase64) {
  auto hex = Secret::from_encoded("0x00ff10");
  ASSERT_TRUE(hex);
  EXPECT_EQ(bytes_of(hex->bytes()), (Bytes{0x00, 0xff, 0x10}));
  auto b64 = Secret::from_encoded("0BZm9vYmFy");
  ASSERT_TRUE(b64);
  EXPECT_EQ(bytes_of(b64->bytes()), bytes_of("foobar"));
}

TEST(Secret, FromEncodedFailsAsUsageWithoutEchoingTheInput) {
  for (const char* bad : {"TOPSECRETVALUE", "0xTOPSECRETVALUE", "0bTOPSECRETVALUE=", "0x"}) {
    auto r = Secret::from_encoded(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_THAT(r, test::ResultIs(ErrorKind::usage, ErrorCode::secret_encoding));
    EXPECT_EQ(r.error().message.find("TOPSECRET"), std::string::npos) << r.error().message;
  }
}

TEST(Secret, MoveConstructionTransfersAndEmptiesTheSource) {
  Secret a = Secret::from_text("a-long-enough-secret");
  Secret b(std::move(a));
  EXPECT_EQ(bytes_of(b.bytes()), bytes_of("a-long-enough-secret"));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(a.size(), 0u);
}

TEST(Secret, MoveAssignmentWipesTheOldValueAndEmptiesTheSource) {
  Secret a = Secret::from_text("first-secret-value");
  Secret b = Secret::from_text("second-secret-value-longer");
  const std::uint64_t before = wiped_byte_count();
  b = std::move(a);
  EXPECT_GE(wiped_byte_count() - before, std::string_view("second-secret-value-longer").size());
  EXPECT_EQ(bytes_of(b.bytes()), bytes_of("first-secret-value"));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(Secret, ClearWipesAndEmpties) {
  Secret s = Secret::from_text("0123456789abcdef");
  const std::uint8_t* storage = s.bytes().data();
  const std::uint64_t before = wiped_byte_count();
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_GE(wiped_byte_count() - before, 16u);
  for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ(storage[i], 0) << i;
}

TEST(Secret, DestructionWipes) {
  const std::uint64_t before = wiped_byte_count();
  { const Secret s = Secret::from_text("destroyed-secret"); }
  EXPECT_GE(wiped_byte_count() - before, 16u);
}

TEST(Secret, EqualsComparesContentAndLength) {
  const Secret a = Secret::from_text("same-secret-12");
  EXPECT_TRUE(a.equals(Secret::from_text("same-secret-12")));
  EXPECT_FALSE(a.equals(Secret::from_text("same-secret-13")));
  EXPECT_FALSE(a.equals(Secret::from_text("same-secret-1")));
  EXPECT_FALSE(a.equals(Secret()));
}

}  // namespace
}  // namespace multichap
