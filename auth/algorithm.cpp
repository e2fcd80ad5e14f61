// SPDX-License-Identifier: BSD-2-Clause
#include "auth/algorithm.h"

#include <algorithm>
#include <cctype>

#include "auth/text.h"

namespace multichap {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<std::uint8_t> chap_a_number(Algorithm alg, ChapNumbering numbering) {
  if (numbering == ChapNumbering::legacy_tgt_sha1) {
    if (alg == Algorithm::sha1) return std::uint8_t{7};
    if (alg == Algorithm::sha256) return std::nullopt;
  }
  return algorithm_info(alg).chap_a;
}

std::optional<Algorithm> algorithm_from_chap_a(std::uint32_t number, ChapNumbering numbering) {
  for (const auto& info : kAlgorithms) {
    const auto n = chap_a_number(info.id, numbering);
    if (n && *n == number) return info.id;
  }
  return std::nullopt;
}

Result<Algorithm> parse_algorithm(std::string_view text) {
  for (const auto& info : kAlgorithms) {
    if (iequals(text, info.name) || iequals(text, info.display)) return info.id;
    if (text.size() == 1 && text[0] == static_cast<char>('0' + info.chap_a)) return info.id;
  }
  return make_error(ErrorKind::usage, ErrorCode::algorithm_unknown,
                    "unknown algorithm '" + std::string(text) +
                        "' (expected md5, sha1, sha256, sha3-256 or 5-8)");
}

Result<std::vector<Algorithm>> parse_algorithm_list(std::string_view text) {
  std::vector<Algorithm> out;
  for (const std::string_view item : split_list(text)) {
    if (item.empty())
      return make_error(ErrorKind::usage, ErrorCode::algorithm_list_empty_item,
                        "empty item in algorithm list");
    MULTICHAP_ASSIGN_OR_RETURN(const Algorithm alg, parse_algorithm(item));
    if (std::find(out.begin(), out.end(), alg) != out.end()) {
      return make_error(ErrorKind::usage, ErrorCode::algorithm_listed_twice,
                        "algorithm '" + std::string(algorithm_name(alg)) + "' listed twice");
    }
    out.push_back(alg);
  }
  return out;
}

std::string format_algorithm_list(const std::vector<Algorithm>& algs) {
  std::string out;
  for (const Algorithm alg : algs) {
    if (!out.empty()) out += ',';
    out += algorithm_name(alg);
  }
  return out;
}

}  // namespace multichap
