// SPDX-License-Identifier: BSD-2-Clause
// Known-answer tests: every vector of tests/vectors/hash.txt and tests/vectors/chap.txt against
// every backend built into this binary, one test per backend and algorithm (skipped where the
// backend does not offer the algorithm at run time). The digests in those files come from coreutils
// and rhash (see tests/vectors/generate.sh), never from multichap.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/algorithm.h"
#include "auth/chap.h"
#include "auth/secure.h"
#include "backends/hash_backend.h"
#include "tests/support/backend_params.h"
#include "tests/support/split_digest.h"
#include "tests/support/vector_file.h"

namespace multichap {
namespace {

using test::Vector;

constexpr const char* kHashFile = "tests/vectors/hash.txt";
constexpr const char* kChapFile = "tests/vectors/chap.txt";

// Section names of the vector files, spelled out here rather than taken from kAlgorithms so a
// wrong entry in that table cannot make the test agree with itself.
struct SectionName {
  const char* name;
  Algorithm alg;
};
constexpr std::array<SectionName, 4> kSections = {{
    {"MD5", Algorithm::md5},
    {"SHA-1", Algorithm::sha1},
    {"SHA-256", Algorithm::sha256},
    {"SHA3-256", Algorithm::sha3_256},
}};

std::optional<Algorithm> section_algorithm(const std::string& section) {
  for (const auto& s : kSections) {
    if (section == s.name) return s.alg;
  }
  return std::nullopt;
}

std::string hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

// Strict decimal: digits only, at most max.
std::optional<std::uint64_t> parse_decimal(const std::string& text, std::uint64_t max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

std::string where(const char* file, const Vector& v) {
  std::ostringstream out;
  out << file << ":" << v.line << " [" << v.section << "]";
  return out.str();
}

// Reads a vector file; a malformed file fails the test instead of aborting the run.
std::vector<Vector> load(const char* file) {
  try {
    return test::read_vectors(file);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return {};
  }
}

// Every vector sits in one of the four sections, and each section has at least one vector.
void expect_every_section(const char* file, const std::vector<Vector>& vectors) {
  std::map<std::string, int> counts;
  for (const auto& v : vectors) {
    EXPECT_TRUE(section_algorithm(v.section).has_value())
        << where(file, v) << ": vector outside the known sections";
    ++counts[v.section];
  }
  for (const auto& s : kSections) {
    EXPECT_GT(counts[s.name], 0) << file << " has no vector in [" << s.name << "]";
  }
}

// Fails the test for every attribute of v that no check read.
void expect_all_used(const char* file, const Vector& v) {
  for (const auto& key : v.unused()) {
    ADD_FAILURE() << where(file, v) << ": attribute " << key << " is never checked";
  }
}

// The message of a hash vector: Msg, or Pattern repeated Repeat times.
std::optional<Bytes> message_of(const Vector& v) {
  if (!v.has("Pattern")) return v.hex("Msg");
  const Bytes pattern = v.hex("Pattern");
  const auto repeat = parse_decimal(v.get("Repeat"), 1u << 24);
  if (pattern.empty() || !repeat || *repeat == 0) return std::nullopt;
  Bytes out;
  out.reserve(pattern.size() * *repeat);
  for (std::uint64_t i = 0; i < *repeat; ++i) out.insert(out.end(), pattern.begin(), pattern.end());
  return out;
}

// One backend and one algorithm: each pair is a test of its own, skipped (not failed) when the
// backend does not offer the algorithm at run time (as an OpenSSL in FIPS mode refuses MD5).
struct BackendAlgorithm {
  std::string backend;
  SectionName section;
};

void PrintTo(const BackendAlgorithm& p, std::ostream* os) {
  *os << p.backend << " " << p.section.name;
}

std::vector<BackendAlgorithm> backend_algorithms() {
  std::vector<BackendAlgorithm> out;
  for (const auto& name : test::backend_names()) {
    for (const auto& s : kSections) out.push_back({name, s});
  }
  return out;
}

// "openssl_SHA3_256": gtest names take letters, digits and '_' only.
std::string param_name(const ::testing::TestParamInfo<BackendAlgorithm>& info) {
  std::string out = info.param.backend + "_" + info.param.section.name;
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

class BackendVectors : public ::testing::TestWithParam<BackendAlgorithm> {
 protected:
  void SetUp() override {
    m_backend = test::backend_or_fail(GetParam().backend);
    m_alg = GetParam().section.alg;
    if (!m_backend->supports(m_alg)) {
      GTEST_SKIP() << "backend " << GetParam().backend << " does not support "
                   << algorithm_name(m_alg) << " at run time";
    }
  }
  // The vectors of file in this test's section.
  std::vector<Vector> section_vectors(const char* file) const {
    std::vector<Vector> out;
    for (auto& v : load(file)) {
      if (v.section == GetParam().section.name) out.push_back(std::move(v));
    }
    return out;
  }
  std::shared_ptr<const HashBackend> m_backend;
  Algorithm m_alg = Algorithm::md5;
};

// Skipping is for an algorithm a backend lacks, never for all of them: every backend must run the
// vectors of at least one algorithm, so a build whose tests would all skip fails here.
TEST(BackendVectorsCoverage, EveryBackendRunsTheVectorsOfAtLeastOneAlgorithm) {
  const auto names = test::backend_names();
  ASSERT_FALSE(names.empty());
  for (const auto& name : names) {
    const auto backend = test::backend_or_fail(name);
    const auto supported =
        std::count_if(kSections.begin(), kSections.end(),
                      [&](const SectionName& s) { return backend->supports(s.alg); });
    EXPECT_GT(supported, 0) << "backend " << name << " supports none of the algorithms";
  }
}

TEST(VectorFiles, HashFileCoversEveryAlgorithm) {
  const auto vectors = load(kHashFile);
  expect_every_section(kHashFile, vectors);
}

TEST(VectorFiles, ChapFileCoversEveryAlgorithm) {
  const auto vectors = load(kChapFile);
  expect_every_section(kChapFile, vectors);
}

TEST_P(BackendVectors, HashKnownAnswers) {
  const auto vectors = section_vectors(kHashFile);
  ASSERT_FALSE(vectors.empty());
  int checked = 0;
  for (const auto& v : vectors) {
    SCOPED_TRACE(where(kHashFile, v));
    const auto alg = section_algorithm(v.section);
    const auto message = message_of(v);
    const Bytes expected = v.hex("Digest");
    expect_all_used(kHashFile, v);
    if (!alg || !message) {
      ADD_FAILURE() << "unusable vector (section or Pattern/Repeat)";
      continue;
    }
    ASSERT_EQ(*alg, m_alg);
    ASSERT_EQ(expected.size(), digest_size(*alg)) << "the vector's digest has the wrong length";

    std::array<std::uint8_t, kMaxDigestSize> out{};
    const auto n = m_backend->digest(*alg, {ByteView(*message)}, out);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_EQ(*n, expected.size());
    EXPECT_EQ(hex(ByteView(out.data(), *n)), hex(expected)) << "one-shot";

    // The same message in several parts gives the same digest: halves, a byte at each end, thirds,
    // empty parts at both ends, and cuts at the block boundaries of each algorithm.
    const std::size_t size = message->size();
    const std::vector<std::vector<std::size_t>> splits = {
        {size / 2},
        {1, size - std::min<std::size_t>(size, 1)},
        {size / 3, size * 2 / 3},
        {0, size / 2, size},
        {63, 64, 65},
        {135, 136, 137},
        {55, 56, 1000},
    };
    for (const auto& cuts : splits) {
      out.fill(0);
      const auto m = test::digest_in_parts(*m_backend, *alg, *message, cuts, out);
      ASSERT_TRUE(m) << m.error().message;
      EXPECT_EQ(hex(ByteView(out.data(), *m)), hex(expected))
          << "split at " << ::testing::PrintToString(cuts);
    }
    if (size == 0) {
      // No part at all is the empty message too.
      out.fill(0);
      const auto m = m_backend->digest(*alg, {}, out);
      ASSERT_TRUE(m) << m.error().message;
      EXPECT_EQ(hex(ByteView(out.data(), *m)), hex(expected)) << "no parts";
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(vectors.size()));
}

TEST_P(BackendVectors, ChapKnownAnswers) {
  const auto vectors = section_vectors(kChapFile);
  ASSERT_FALSE(vectors.empty());
  int checked = 0;
  for (const auto& v : vectors) {
    SCOPED_TRACE(where(kChapFile, v));
    const auto alg = section_algorithm(v.section);
    const auto id = parse_decimal(v.get("Id"), 255);
    const Secret secret = Secret::from_bytes(v.hex("Secret"));
    const Bytes challenge = v.hex("Challenge");
    const Bytes expected = v.hex("Response");
    expect_all_used(kChapFile, v);
    if (!alg || !id) {
      ADD_FAILURE() << "unusable vector (section or Id)";
      continue;
    }
    ASSERT_EQ(*alg, m_alg);
    ASSERT_EQ(expected.size(), digest_size(*alg)) << "the vector's response has the wrong length";
    ASSERT_GE(secret.size(), 12u) << "secrets in chap.txt are 12..32 bytes";

    std::array<std::uint8_t, kMaxDigestSize> out{};
    const auto n =
        chap_response(*m_backend, *alg, static_cast<std::uint8_t>(*id), secret, challenge, out);
    ASSERT_TRUE(n) << n.error().message;
    ASSERT_EQ(*n, expected.size());
    EXPECT_EQ(hex(ByteView(out.data(), *n)), hex(expected)) << "chap_response";

    // The same bytes hashed as one buffer give the same response.
    Bytes joined{static_cast<std::uint8_t>(*id)};
    joined.insert(joined.end(), secret.bytes().begin(), secret.bytes().end());
    joined.insert(joined.end(), challenge.begin(), challenge.end());
    out.fill(0);
    const auto m = m_backend->digest(*alg, {ByteView(joined)}, out);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(hex(ByteView(out.data(), *m)), hex(expected)) << "digest of id||secret||challenge";
    secure_wipe(joined.data(), joined.size());
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(vectors.size()));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendVectors, ::testing::ValuesIn(backend_algorithms()),
                         param_name);

}  // namespace
}  // namespace multichap
