// SPDX-License-Identifier: BSD-2-Clause
// The per-thread random pool (backends/random_pool.h): every byte handed out once and wiped,
// nothing shared across fork() or threads, through RandomPool itself (with a counting
// generator) and through every built backend's random().
#include "backends/random_pool.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "backends/hash_backend.h"
#include "tests/support/backend_params.h"

namespace multichap {
namespace {

// A generator that writes a running counter (never zero), so every byte it ever produced is
// distinguishable by position: byte k of the stream is (k % 255) + 1.
struct CountingGenerator {
  std::uint64_t produced = 0;
  int fills = 0;
  static bool fill(void* context, MutableByteView out) {
    auto& self = *static_cast<CountingGenerator*>(context);
    for (std::size_t i = 0; i < out.size(); ++i) {
      out.data()[i] = static_cast<std::uint8_t>(self.produced++ % 255 + 1);
    }
    ++self.fills;
    return true;
  }
  static bool fail(void*, MutableByteView) { return false; }
};

std::vector<std::uint8_t> take(RandomPool& pool, CountingGenerator& gen, std::size_t n) {
  std::vector<std::uint8_t> out(n);
  EXPECT_TRUE(pool.take(MutableByteView(out.data(), out.size()), &CountingGenerator::fill, &gen));
  return out;
}

TEST(RandomPool, HandsOutEveryGeneratedByteOnceInOrder) {
  RandomPool pool;
  CountingGenerator gen;
  std::vector<std::uint8_t> all;
  // Sizes that straddle refills, plus one larger than the pool (drawn directly).
  for (const std::size_t n : {1u, 31u, 32u, 33u, 500u, 1000u, 2048u, 16u, 1024u, 7u}) {
    const auto got = take(pool, gen, n);
    all.insert(all.end(), got.begin(), got.end());
  }
  // The outputs, concatenated, are exactly the generator's stream minus what is still unused
  // in the pool: no byte repeated, none skipped.
  ASSERT_EQ(all.size() + pool.available(), gen.produced);
  for (std::size_t k = 0; k < all.size(); ++k) {
    ASSERT_EQ(all[k], static_cast<std::uint8_t>(k % 255 + 1)) << "byte " << k;
  }
}

TEST(RandomPool, WipesBytesAsTheyAreHandedOut) {
  RandomPool pool;
  CountingGenerator gen;
  (void)take(pool, gen, 100);
  const ByteView buffer = pool.bytes_for_testing();
  const std::size_t used = RandomPool::kBytes - pool.available();
  ASSERT_EQ(used, 100u);
  EXPECT_TRUE(
      std::all_of(buffer.begin(), buffer.begin() + used, [](std::uint8_t b) { return b == 0; }));
  EXPECT_TRUE(
      std::none_of(buffer.begin() + used, buffer.end(), [](std::uint8_t b) { return b == 0; }));
  pool.discard();
  EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](std::uint8_t b) { return b == 0; }));
  EXPECT_EQ(pool.available(), 0u);
}

TEST(RandomPool, AFailedRefillHandsOutNothing) {
  RandomPool pool;
  std::array<std::uint8_t, 32> out{};
  out.fill(0xaa);
  EXPECT_FALSE(
      pool.take(MutableByteView(out.data(), out.size()), &CountingGenerator::fail, nullptr));
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST(RandomPool, AForkedChildRefillsInsteadOfReusingItsParentsBytes) {
  RandomPool pool;
  CountingGenerator gen;
  (void)take(pool, gen, 10);  // the pool now holds 1014 unused bytes
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    const int fills_before = gen.fills;
    // Where the kernel supports MADV_WIPEONFORK the child's pool is already empty (zeroed).
    const bool wiped_by_kernel = !pool.wipes_on_fork() || pool.available() == 0;
    std::array<std::uint8_t, 16> out{};
    const bool ok =
        pool.take(MutableByteView(out.data(), out.size()), &CountingGenerator::fill, &gen);
    const std::uint8_t refilled = ok && wiped_by_kernel && gen.fills == fills_before + 1 ? 1 : 0;
    (void)!write(fds[1], &refilled, 1);
    _exit(0);
  }
  close(fds[1]);
  std::uint8_t refilled = 0;
  ASSERT_EQ(read(fds[0], &refilled, 1), 1);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(refilled, 1) << "the child handed out bytes it inherited from its parent's pool";
  if (!pool.wipes_on_fork()) std::cout << "note: no MADV_WIPEONFORK here; the pid check alone\n";
  EXPECT_EQ(pool.available(), RandomPool::kBytes - 10);  // the parent's pool is untouched
}

// --------------------------------------------------------------------------------------------
// Through the backends.

class BackendRandom : public ::testing::TestWithParam<std::string> {
 protected:
  std::shared_ptr<const HashBackend> backend = test::backend_or_fail(GetParam());
};

std::string challenge(const HashBackend& backend) {
  std::string out(32, '\0');
  auto* data = reinterpret_cast<std::uint8_t*>(out.data());
  EXPECT_TRUE(backend.random(MutableByteView(data, out.size())).has_value());
  return out;
}

TEST_P(BackendRandom, TwoForkedChildrenNeverProduceTheSameChallenge) {
  (void)challenge(*backend);  // the parent's pool holds unused bytes the children inherit
  std::vector<std::string> seen = {challenge(*backend)};
  for (int round = 0; round < 2; ++round) {
    std::array<pid_t, 2> children{};
    std::array<int, 2> pipes{};
    for (std::size_t c = 0; c < children.size(); ++c) {
      int fds[2];
      ASSERT_EQ(pipe(fds), 0);
      children[c] = fork();
      ASSERT_GE(children[c], 0);
      if (children[c] == 0) {
        close(fds[0]);
        const std::string bytes = challenge(*backend);
        (void)!write(fds[1], bytes.data(), bytes.size());
        _exit(0);
      }
      close(fds[1]);
      pipes[c] = fds[0];
    }
    for (std::size_t c = 0; c < children.size(); ++c) {
      std::string bytes(32, '\0');
      ASSERT_EQ(read(pipes[c], bytes.data(), bytes.size()), 32);
      close(pipes[c]);
      waitpid(children[c], nullptr, 0);
      seen.push_back(bytes);
    }
  }
  seen.push_back(challenge(*backend));  // and the parent's next one differs from all of theirs
  const std::set<std::string> distinct(seen.begin(), seen.end());
  EXPECT_EQ(distinct.size(), seen.size()) << "a challenge repeated across fork()";
}

TEST_P(BackendRandom, ChallengesFromManyThreadsNeverCollide) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;  // 160,000 challenges of 16 bytes per backend
  std::vector<std::vector<std::string>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      drawn[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        std::string c(16, '\0');
        if (!backend->random(MutableByteView(reinterpret_cast<std::uint8_t*>(c.data()), 16)))
          return;
        drawn[t].push_back(std::move(c));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::unordered_set<std::string> all;
  all.reserve(kThreads * kPerThread);
  for (const auto& list : drawn) {
    ASSERT_EQ(list.size(), static_cast<std::size_t>(kPerThread));
    for (const auto& c : list) ASSERT_TRUE(all.insert(c).second) << "two challenges collided";
  }
}

// The generator's stream as the tap saw it, from every thread (the test reads it after joining
// the one thread that draws).
std::mutex g_tap_mutex;
std::vector<std::uint8_t> g_tapped;
void record_tap(ByteView generated) {
  const std::lock_guard<std::mutex> lock(g_tap_mutex);
  g_tapped.insert(g_tapped.end(), generated.begin(), generated.end());
}

TEST_P(BackendRandom, NoRandomByteIsHandedOutTwice) {
  g_tapped.clear();
  set_random_pool_tap_for_testing(&record_tap);
  std::vector<std::uint8_t> handed_out;
  // A fresh thread starts with an empty pool, so everything it hands out passes the tap.
  std::thread drawer([&] {
    for (int i = 0; i < 200; ++i) {
      for (const std::size_t n : {1u, 16u, 32u, 33u, 100u, 1025u}) {
        std::vector<std::uint8_t> out(n);
        if (!backend->random(MutableByteView(out.data(), out.size()))) return;
        handed_out.insert(handed_out.end(), out.begin(), out.end());
      }
    }
  });
  drawer.join();
  set_random_pool_tap_for_testing(nullptr);
  ASSERT_EQ(handed_out.size(), 200u * (1 + 16 + 32 + 33 + 100 + 1025));
  // Handed out = the generated stream, in order, each byte once (the tail still in the pool
  // when the thread ended was wiped, never handed out).
  ASSERT_GE(g_tapped.size(), handed_out.size());
  ASSERT_LT(g_tapped.size() - handed_out.size(), RandomPool::kBytes);
  EXPECT_TRUE(std::equal(handed_out.begin(), handed_out.end(), g_tapped.begin()));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendRandom, ::testing::ValuesIn(test::backend_names()),
                         test::BackendParamName{});

}  // namespace
}  // namespace multichap
