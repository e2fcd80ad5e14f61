// SPDX-License-Identifier: BSD-2-Clause
// The CHAP hash algorithms iSCSI negotiates with CHAP_A, as one constexpr table.
// Numbers are the IANA "PPP Authentication Algorithms" registry values (RFC 7143 §12.1.3).
#ifndef MULTICHAP_AUTH_ALGORITHM_H
#define MULTICHAP_AUTH_ALGORITHM_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/result.h"

namespace multichap {

enum class Algorithm : std::uint8_t { md5 = 5, sha1 = 6, sha256 = 7, sha3_256 = 8 };

struct AlgorithmInfo {
  Algorithm id;
  std::uint8_t chap_a;       // IANA number sent in CHAP_A
  std::string_view name;     // CLI / config name
  std::string_view display;  // conventional spelling for humans ("SHA3-256")
  std::size_t digest_size;   // bytes; CHAP_R must be exactly this long
};

inline constexpr std::size_t kAlgorithmCount = 4;

// One row per Algorithm, in the order of the enum: kAlgorithms[algorithm_index(alg)] is alg's.
inline constexpr std::array<AlgorithmInfo, kAlgorithmCount> kAlgorithms = {{
    {Algorithm::md5, 5, "md5", "MD5", 16},
    {Algorithm::sha1, 6, "sha1", "SHA-1", 20},
    {Algorithm::sha256, 7, "sha256", "SHA-256", 32},
    {Algorithm::sha3_256, 8, "sha3-256", "SHA3-256", 32},
}};

inline constexpr std::size_t kMaxDigestSize = 32;

// The strongest first: the default preference order of an initiator.
inline constexpr std::array<Algorithm, kAlgorithmCount> kDefaultPreference = {
    Algorithm::sha3_256, Algorithm::sha256, Algorithm::sha1, Algorithm::md5};

// The position of alg in kAlgorithms, 0 .. kAlgorithmCount - 1: the index of any array with one
// entry per algorithm (a backend's hash objects).
constexpr std::size_t algorithm_index(Algorithm alg) {
  return static_cast<std::size_t>(alg) - static_cast<std::size_t>(Algorithm::md5);
}

// Whether a table with one row per algorithm (rows with an `id`: kAlgorithms, a backend's
// library names) lists every Algorithm once, in the order of the enum, so that
// rows[algorithm_index(alg)] is alg's row. For static_assert beside each such table.
template <typename Row>
constexpr bool in_algorithm_order(const std::array<Row, kAlgorithmCount>& rows) {
  for (std::size_t i = 0; i < kAlgorithmCount; ++i) {
    if (algorithm_index(rows[i].id) != i) return false;
  }
  return true;
}
static_assert(in_algorithm_order(kAlgorithms),
              "kAlgorithms must list every Algorithm once, in the order of the enum");

constexpr const AlgorithmInfo& algorithm_info(Algorithm alg) {
  return kAlgorithms[algorithm_index(alg)];
}
constexpr std::string_view algorithm_name(Algorithm alg) {
  return algorithm_info(alg).name;
}
constexpr std::size_t digest_size(Algorithm alg) {
  return algorithm_info(alg).digest_size;
}

// The CHAP_A numbering in force on a link. IANA is the default. tgt (and IET before it) numbered
// SHA-1 as 7, which IANA assigns to SHA-256; the legacy numbering maps 7 to SHA-1 and leaves
// SHA-256 unnumbered so it can never be offered or accepted by mistake.
enum class ChapNumbering { iana, legacy_tgt_sha1 };

// The CHAP_A number for alg, or nothing when the numbering has none for it.
std::optional<std::uint8_t> chap_a_number(Algorithm alg,
                                          ChapNumbering numbering = ChapNumbering::iana);
// The algorithm a CHAP_A number denotes, or nothing for numbers we don't know.
std::optional<Algorithm> algorithm_from_chap_a(std::uint32_t number,
                                               ChapNumbering numbering = ChapNumbering::iana);

// Parses "sha3-256", "SHA-256", "sha256", "md5" or the IANA number "5".."8".
Result<Algorithm> parse_algorithm(std::string_view text);
// Parses a comma-separated list in preference order; rejects empty items and duplicates.
Result<std::vector<Algorithm>> parse_algorithm_list(std::string_view text);
// "sha3-256,sha256".
std::string format_algorithm_list(const std::vector<Algorithm>& algs);

}  // namespace multichap

#endif  // MULTICHAP_AUTH_ALGORITHM_H
