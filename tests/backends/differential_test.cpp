// SPDX-License-Identifier: BSD-2-Clause
// Backend behaviour beyond the known answers: OpenSSL and Botan agree on random inputs, digests
// are thread-safe, errors never write past the caller's buffer, random() is random, and every
// algorithm is available on this machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "auth/algorithm.h"
#include "backends/hash_backend.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"
#include "tests/support/split_digest.h"

namespace multichap {
namespace {

constexpr std::array<Algorithm, 4> kAll = {Algorithm::md5, Algorithm::sha1, Algorithm::sha256,
                                           Algorithm::sha3_256};
constexpr std::uint64_t kSeed = 0x6d756c7469636861;  // fixed, so a failure reproduces
constexpr std::uint8_t kCanary = 0xa5;

Bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// H(message) computed over 1-4 parts cut at random points (parts may be empty).
Result<std::size_t> digest_randomly_split(const HashBackend& backend, Algorithm alg,
                                          ByteView message, std::mt19937_64& rng,
                                          MutableByteView out) {
  const std::size_t count = 1 + rng() % 4;
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < count; ++i) cuts.push_back(rng() % (message.size() + 1));
  return test::digest_in_parts(backend, alg, message, std::move(cuts), out);
}

Bytes digest_or_fail(const HashBackend& backend, Algorithm alg, ByteView message,
                     std::mt19937_64& rng) {
  std::array<std::uint8_t, kMaxDigestSize> out{};
  const auto n = digest_randomly_split(backend, alg, message, rng, out);
  if (!n) {
    ADD_FAILURE() << backend.name() << " " << algorithm_name(alg) << ": " << n.error().message;
    return {};
  }
  return Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n));
}

bool all_equal_to(ByteView bytes, std::uint8_t value, std::size_t from = 0) {
  for (std::size_t i = from; i < bytes.size(); ++i) {
    if (bytes[i] != value) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// OpenSSL and Botan agree.

TEST(Differential, BackendsAgreeOnRandomInputs) {
  if (built_backends().size() < 2) {
    GTEST_SKIP() << "needs both backends; this build has only " << built_backends().front();
  }
  const auto openssl = test::backend_or_fail("openssl");
  const auto botan = test::backend_or_fail("botan");
  std::mt19937_64 rng(kSeed);
  constexpr int kInputs = 3000;
  for (const Algorithm alg : kAll) {
    SCOPED_TRACE(std::string(algorithm_name(alg)));
    std::set<Bytes> inputs;
    std::set<Bytes> digests;
    int compared = 0;
    for (int i = 0; i < kInputs; ++i) {
      const Bytes message = random_bytes(rng, rng() % 2049);
      // Each backend gets its own random split of the same message.
      const Bytes a = digest_or_fail(*openssl, alg, message, rng);
      const Bytes b = digest_or_fail(*botan, alg, message, rng);
      ASSERT_EQ(a.size(), digest_size(alg)) << "input " << i;
      ASSERT_EQ(a, b) << "input " << i << " of " << message.size() << " bytes (seed " << kSeed
                      << ")";
      inputs.insert(message);
      digests.insert(a);
      ++compared;
    }
    EXPECT_EQ(compared, kInputs);
    // Agreeing on a constant would be no agreement at all.
    EXPECT_EQ(digests.size(), inputs.size()) << "distinct inputs must give distinct digests";
  }
}

// ---------------------------------------------------------------------------------------------
// Per-backend behaviour.

class BackendBehaviour : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { m_backend = test::backend_or_fail(GetParam()); }
  std::shared_ptr<const HashBackend> m_backend;
};

TEST_P(BackendBehaviour, SupportsEveryAlgorithmOnThisMachine) {
  for (const Algorithm alg : kAll) {
    EXPECT_TRUE(m_backend->supports(alg)) << algorithm_name(alg);
  }
}

TEST_P(BackendBehaviour, ThreadsGetTheSingleThreadedDigests) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10000;
  constexpr std::size_t kInputs = 64;
  std::mt19937_64 rng(kSeed);
  std::vector<Bytes> inputs;
  for (std::size_t i = 0; i < kInputs; ++i) inputs.push_back(random_bytes(rng, rng() % 1500));

  // Reference digests, computed on this thread alone.
  std::vector<std::array<Bytes, 4>> reference(kInputs);
  for (std::size_t i = 0; i < kInputs; ++i) {
    for (std::size_t a = 0; a < kAll.size(); ++a) {
      reference[i][a] = digest_or_fail(*m_backend, kAll[a], inputs[i], rng);
      ASSERT_EQ(reference[i][a].size(), digest_size(kAll[a]));
    }
  }

  std::atomic<int> ready{0};
  std::atomic<int> mismatches{0};
  std::atomic<int> errors{0};
  std::atomic<long> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 local(kSeed + static_cast<std::uint64_t>(t) + 1);
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();  // start together
      for (int r = 0; r < kRounds; ++r) {
        // Interleave algorithms so each thread's reused hash state switches all the time.
        const std::size_t i = local() % kInputs;
        const std::size_t a = local() % kAll.size();
        std::array<std::uint8_t, kMaxDigestSize> out{};
        const auto n = digest_randomly_split(*m_backend, kAll[a], inputs[i], local, out);
        if (!n) {
          ++errors;
          continue;
        }
        if (Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(*n)) != reference[i][a])
          ++mismatches;
        ++done;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(done.load(), static_cast<long>(kThreads) * kRounds);
}

TEST_P(BackendBehaviour, ShortOutputBufferIsABackendErrorAndNothingIsWrittenPastIt) {
  const Bytes message = {'a', 'b', 'c'};
  for (const Algorithm alg : kAll) {
    SCOPED_TRACE(std::string(algorithm_name(alg)));
    const std::size_t size = digest_size(alg);
    for (const std::size_t given : {std::size_t{0}, std::size_t{1}, size / 2, size - 1}) {
      std::array<std::uint8_t, 2 * kMaxDigestSize> buffer;
      buffer.fill(kCanary);
      const auto n =
          m_backend->digest(alg, {ByteView(message)}, MutableByteView(buffer.data(), given));
      ASSERT_FALSE(n) << "accepted a " << given << "-byte buffer";
      EXPECT_THAT(n, test::ResultIs(ErrorKind::backend, ErrorCode::output_too_small));
      EXPECT_FALSE(n.error().message.empty());
      EXPECT_TRUE(all_equal_to(ByteView(buffer), kCanary, given))
          << "wrote past a " << given << "-byte buffer";
    }
    // No buffer at all.
    const auto none = m_backend->digest(alg, {ByteView(message)}, MutableByteView());
    ASSERT_FALSE(none);
    EXPECT_THAT(none, test::ResultIs(ErrorKind::backend, ErrorCode::output_too_small));
  }
}

TEST_P(BackendBehaviour, LargeOutputBufferGetsExactlyTheDigest) {
  const Bytes message = {'a', 'b', 'c'};
  for (const Algorithm alg : kAll) {
    SCOPED_TRACE(std::string(algorithm_name(alg)));
    std::array<std::uint8_t, 2 * kMaxDigestSize> buffer;
    buffer.fill(kCanary);
    const auto n = m_backend->digest(alg, {ByteView(message)}, buffer);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, digest_size(alg));
    EXPECT_TRUE(all_equal_to(ByteView(buffer), kCanary, *n)) << "wrote past the digest";
    EXPECT_FALSE(all_equal_to(ByteView(buffer.data(), *n), kCanary)) << "wrote no digest";
  }
}

TEST_P(BackendBehaviour, AnErrorLeavesTheBackendUsable) {
  std::mt19937_64 rng(kSeed);
  const Bytes message = random_bytes(rng, 300);
  for (const Algorithm alg : kAll) {
    SCOPED_TRACE(std::string(algorithm_name(alg)));
    std::array<std::uint8_t, kMaxDigestSize> before{};
    ASSERT_TRUE(m_backend->digest(alg, {ByteView(message)}, before));
    // Fail half-way through a multi-part digest, then digest again on the same thread.
    std::array<std::uint8_t, 1> tiny{};
    ASSERT_FALSE(m_backend->digest(alg, {ByteView(message), ByteView(message)}, tiny));
    std::array<std::uint8_t, kMaxDigestSize> after{};
    ASSERT_TRUE(m_backend->digest(alg, {ByteView(message)}, after));
    EXPECT_EQ(before, after);
  }
}

TEST_P(BackendBehaviour, RandomGivesDifferentNonZeroBytes) {
  std::array<std::uint8_t, 32> a{};
  std::array<std::uint8_t, 32> b{};
  ASSERT_TRUE(m_backend->random(a));
  ASSERT_TRUE(m_backend->random(b));
  EXPECT_FALSE(all_equal_to(ByteView(a), 0));
  EXPECT_FALSE(all_equal_to(ByteView(b), 0));
  EXPECT_NE(a, b);

  // Many challenges in a row never repeat.
  std::set<Bytes> seen;
  for (int i = 0; i < 1000; ++i) {
    Bytes challenge(16);
    ASSERT_TRUE(m_backend->random(challenge));
    EXPECT_TRUE(seen.insert(challenge).second) << "a 16-byte random value repeated";
  }

  // A large fill (more than one 1 MiB chunk) is random all the way through, and stays in bounds.
  constexpr std::size_t kLarge = (3u << 20) + 5;
  Bytes large(kLarge + 64, kCanary);
  ASSERT_TRUE(m_backend->random(MutableByteView(large.data(), kLarge)));
  for (std::size_t at = 0; at < kLarge; at += 4096) {
    const std::size_t n = std::min<std::size_t>(4096, kLarge - at);
    ASSERT_FALSE(all_equal_to(ByteView(large.data() + at, n), 0)) << "zero block at " << at;
  }
  EXPECT_TRUE(all_equal_to(ByteView(large), kCanary, kLarge)) << "wrote past the buffer";

  // Byte values are spread out: each of 256 values shows up in 3 MiB.
  std::array<bool, 256> value_seen{};
  for (std::size_t i = 0; i < kLarge; ++i) value_seen[large[i]] = true;
  EXPECT_TRUE(std::all_of(value_seen.begin(), value_seen.end(), [](bool s) { return s; }));

  // An empty request succeeds and writes nothing.
  EXPECT_TRUE(m_backend->random(MutableByteView()));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendBehaviour, ::testing::ValuesIn(test::backend_names()),
                         test::BackendParamName{});

}  // namespace
}  // namespace multichap
