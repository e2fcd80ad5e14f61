// SPDX-License-Identifier: BSD-2-Clause
#include "auth/algorithm.h"
#include "tests/support/result_matchers.h"

#include <gtest/gtest.h>

namespace multichap {
namespace {

TEST(AlgorithmTable, MatchesIanaRegistry) {
  EXPECT_EQ(algorithm_info(Algorithm::md5).chap_a, 5);
  EXPECT_EQ(algorithm_info(Algorithm::sha1).chap_a, 6);
  EXPECT_EQ(algorithm_info(Algorithm::sha256).chap_a, 7);
  EXPECT_EQ(algorithm_info(Algorithm::sha3_256).chap_a, 8);
  EXPECT_EQ(digest_size(Algorithm::md5), 16u);
  EXPECT_EQ(digest_size(Algorithm::sha1), 20u);
  EXPECT_EQ(digest_size(Algorithm::sha256), 32u);
  EXPECT_EQ(digest_size(Algorithm::sha3_256), 32u);
  for (const auto& info : kAlgorithms) {
    EXPECT_EQ(&algorithm_info(info.id), &info) << info.name;  // table indexed by enum
    EXPECT_LE(info.digest_size, kMaxDigestSize);
  }
}

TEST(AlgorithmTable, ParsesNamesAndNumbers) {
  EXPECT_EQ(*parse_algorithm("md5"), Algorithm::md5);
  EXPECT_EQ(*parse_algorithm("SHA-1"), Algorithm::sha1);
  EXPECT_EQ(*parse_algorithm("sha256"), Algorithm::sha256);
  EXPECT_EQ(*parse_algorithm("SHA3-256"), Algorithm::sha3_256);
  EXPECT_EQ(*parse_algorithm("7"), Algorithm::sha256);
  EXPECT_EQ(*parse_algorithm("8"), Algorithm::sha3_256);
  for (const char* bad : {"", "sha512", "4", "9", "55", "md5 ", "sha-3"}) {
    auto r = parse_algorithm(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_THAT(r, test::ResultIs(ErrorKind::usage, ErrorCode::algorithm_unknown));
  }
}

TEST(AlgorithmTable, ParsesListsInOrder) {
  auto list = parse_algorithm_list("sha3-256,sha256,5");
  ASSERT_TRUE(list);
  EXPECT_EQ(*list,
            (std::vector<Algorithm>{Algorithm::sha3_256, Algorithm::sha256, Algorithm::md5}));
  EXPECT_EQ(format_algorithm_list(*list), "sha3-256,sha256,md5");
  EXPECT_FALSE(parse_algorithm_list("md5,,sha1"));
  EXPECT_FALSE(parse_algorithm_list("md5,5"));  // duplicate
  EXPECT_FALSE(parse_algorithm_list(""));
}

TEST(AlgorithmTable, LegacyTgtNumberingMapsSevenToSha1) {
  EXPECT_EQ(*algorithm_from_chap_a(7), Algorithm::sha256);
  EXPECT_EQ(*algorithm_from_chap_a(7, ChapNumbering::legacy_tgt_sha1), Algorithm::sha1);
  EXPECT_FALSE(chap_a_number(Algorithm::sha256, ChapNumbering::legacy_tgt_sha1));
  EXPECT_EQ(*chap_a_number(Algorithm::sha1, ChapNumbering::legacy_tgt_sha1), 7);
  EXPECT_FALSE(algorithm_from_chap_a(6, ChapNumbering::legacy_tgt_sha1));
  EXPECT_FALSE(algorithm_from_chap_a(128));
}

}  // namespace
}  // namespace multichap
