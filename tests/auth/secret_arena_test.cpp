// SPDX-License-Identifier: BSD-2-Clause
// The secret arena under WipingAllocator (auth/secure.h): where Secret and SecureBytes live, slot
// reuse across threads, guard pages, the kernel's view of its pages (/proc/self/smaps: locked,
// "dd" = MADV_DONTDUMP, "wf" = MADV_WIPEONFORK), a fork() child that sees them zeroed, counters
// and the off switch.
//
// In an AddressSanitizer build the arena is off (ASan has to see every allocation to find
// overflows, and a slot allocator would hide them): these tests then only check that it says so
// and that memory comes from the ordinary heap.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "auth/secure.h"

namespace multichap {
namespace {

bool arena_on() {
  return secret_arena_stats().enabled;
}

#define SKIP_WITHOUT_ARENA()                                                                    \
  do {                                                                                          \
    if (!arena_on()) GTEST_SKIP() << "the secret arena is off here: " << secret_arena_status(); \
  } while (0)

// The /proc/self/smaps entry of the mapping that holds p: its VmFlags line and Locked: kB.
struct SmapsEntry {
  bool found = false;
  std::string flags;
  std::size_t locked_kb = 0;
};

SmapsEntry smaps_of(const void* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream in("/proc/self/smaps");
  std::string line;
  SmapsEntry entry;
  bool inside = false;
  while (std::getline(in, line)) {
    std::uintptr_t lo = 0;
    std::uintptr_t hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-' &&
        line.find(' ') != std::string::npos && line.find(':') > line.find(' ')) {
      if (inside) break;  // the next mapping: ours is complete
      inside = address >= lo && address < hi;
      entry.found = inside;
      continue;
    }
    if (!inside) continue;
    if (line.rfind("VmFlags:", 0) == 0) entry.flags = line.substr(8);
    if (line.rfind("Locked:", 0) == 0) entry.locked_kb = std::stoul(line.substr(7));
  }
  return entry;
}

bool has_flag(const std::string& flags, const std::string& flag) {
  std::istringstream words(flags);
  std::string w;
  while (words >> w) {
    if (w == flag) return true;
  }
  return false;
}

TEST(SecretArena, SaysWhetherItIsOnAndWhy) {
  const std::string status = secret_arena_status();
  EXPECT_EQ(status.rfind("secret arena: ", 0), 0u) << status;
  if (secret_arena_stats().asan_build) {  // the arena falls back to the ordinary heap
    EXPECT_FALSE(arena_on());
    EXPECT_NE(status.find("AddressSanitizer"), std::string::npos) << status;
    const Secret s = Secret::from_text("an ordinary heap secret");
    EXPECT_FALSE(secret_arena_contains(s.bytes().data()));
  }
}

TEST(SecretArena, SecretsChallengesAndBuffersLiveThere) {
  SKIP_WITHOUT_ARENA();
  const Secret s = Secret::from_text("a secret of some length");
  EXPECT_TRUE(secret_arena_contains(s.bytes().data()));
  SecureBytes challenge(32, 0x5a);
  EXPECT_TRUE(secret_arena_contains(challenge.data()));
  EXPECT_TRUE(secret_arena_contains(challenge.data() + 31));
  const std::vector<std::uint8_t> ordinary(32, 1);
  EXPECT_FALSE(secret_arena_contains(ordinary.data()));
  const SecureBytes large(10000, 0x11);  // a mapping of its own
  EXPECT_TRUE(secret_arena_contains(large.data()));
  EXPECT_TRUE(secret_arena_contains(large.data() + 9999));
}

TEST(SecretArena, SlotsAreAlignedDistinctAndReused) {
  SKIP_WITHOUT_ARENA();
  std::vector<std::pair<void*, std::size_t>> live;
  for (std::size_t n : {1, 15, 16, 17, 31, 32, 33, 64, 100, 256, 500, 1024, 1500, 2048}) {
    for (int i = 0; i < 50; ++i) {
      void* p = secret_arena_allocate(n);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
      EXPECT_TRUE(secret_arena_contains(p));
      std::memset(p, 0xee, n);
      live.emplace_back(p, n);
    }
  }
  // No two live blocks overlap.
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
  for (const auto& [p, n] : live) {
    ranges.emplace_back(reinterpret_cast<std::uintptr_t>(p),
                        reinterpret_cast<std::uintptr_t>(p) + n);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first);
  const std::uint64_t in_use = secret_arena_stats().bytes_in_use;
  // A freed slot is the next one handed out for its size class.
  void* last = live.back().first;
  secret_arena_free(last, 2048);
  EXPECT_LT(secret_arena_stats().bytes_in_use, in_use);
  void* again = secret_arena_allocate(2000);
  EXPECT_EQ(again, last);
  live.back().first = again;
  for (const auto& [p, n] : live) secret_arena_free(p, n);
}

TEST(SecretArena, ThreadsNeverShareASlot) {
  SKIP_WITHOUT_ARENA();
  std::atomic<int> corrupt{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &corrupt] {
      std::vector<SecureBytes> held;
      for (int i = 0; i < 20000; ++i) {
        const std::size_t n = 1 + static_cast<std::size_t>((i * 37 + t * 11) % 300);
        held.emplace_back(n, static_cast<std::uint8_t>(t + 1));
        if (held.size() > 64) {
          for (const SecureBytes& b : held) {
            if (std::any_of(b.begin(), b.end(), [t](std::uint8_t v) { return v != t + 1; })) {
              ++corrupt;
            }
          }
          held.erase(held.begin(), held.begin() + 32);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(corrupt.load(), 0);
}

TEST(SecretArena, PagesAreLockedLeftOutOfDumpsAndWipedOnFork) {
  SKIP_WITHOUT_ARENA();
  const Secret s = Secret::from_text("smaps-visible secret");
  const SmapsEntry e = smaps_of(s.bytes().data());
  ASSERT_TRUE(e.found);
  EXPECT_TRUE(has_flag(e.flags, "dd")) << e.flags;  // MADV_DONTDUMP
  EXPECT_TRUE(has_flag(e.flags, "wf")) << e.flags;  // MADV_WIPEONFORK
  const SecretArenaStats stats = secret_arena_stats();
  if (stats.lock_failures == 0) {
    EXPECT_TRUE(has_flag(e.flags, "lo")) << e.flags;  // VM_LOCKED
    EXPECT_GT(e.locked_kb, 0u);
    EXPECT_EQ(stats.bytes_locked, stats.bytes_mapped);
  } else {
    EXPECT_LT(stats.bytes_locked, stats.bytes_mapped);
    EXPECT_NE(secret_arena_status().find("NOT LOCKED"), std::string::npos);
  }
}

TEST(SecretArena, AForkChildSeesItZeroed) {
  SKIP_WITHOUT_ARENA();
  const Secret s = Secret::from_text("fork-child-must-not-see-this");
  const SecureBytes large(9000, 0x77);
  const std::uint8_t* small_page = s.bytes().data();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No allocation here: read the parent's secret and buffer where they were.
    bool zero = true;
    for (std::size_t i = 0; i < s.size(); ++i) zero = zero && small_page[i] == 0;
    for (std::size_t i = 0; i < large.size(); ++i) zero = zero && large[i] == 0;
    ::_exit(zero ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child saw secret bytes";
  EXPECT_EQ(s.bytes()[0], 'f');  // the parent's are intact
  EXPECT_EQ(large[8999], 0x77);
}

TEST(SecretArenaDeathTest, GuardPagesFenceALargeMapping) {
  SKIP_WITHOUT_ARENA();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SecureBytes large(4096, 0x01);
  EXPECT_DEATH(
      {
        volatile std::uint8_t* before = large.data() - 1;
        *before = 1;
      },
      "");
  EXPECT_DEATH(
      {
        volatile std::uint8_t* after = large.data() + 4096;
        *after = 1;
      },
      "");
}

TEST(SecretArena, CountsWhatIsInUse) {
  SKIP_WITHOUT_ARENA();
  const SecretArenaStats before = secret_arena_stats();
  {
    SecureBytes b(100);
    const SecretArenaStats during = secret_arena_stats();
    EXPECT_EQ(during.bytes_in_use, before.bytes_in_use + 128);  // the 128-byte class
    EXPECT_GE(during.bytes_mapped, during.bytes_in_use);
    EXPECT_EQ(during.allocations, before.allocations + 1);
  }
  EXPECT_EQ(secret_arena_stats().bytes_in_use, before.bytes_in_use);
}

TEST(SecretArena, TheSwitchOnlyMovesNewAllocations) {
  SKIP_WITHOUT_ARENA();
  SecureBytes in_arena(40, 3);
  ASSERT_TRUE(set_secret_arena_enabled(false));
  SecureBytes on_heap(40, 4);
  EXPECT_FALSE(secret_arena_contains(on_heap.data()));
  EXPECT_FALSE(set_secret_arena_enabled(true));
  SecureBytes back(40, 5);
  EXPECT_TRUE(secret_arena_contains(back.data()));
  // Each is freed where it came from (ASan and glibc would abort otherwise).
  on_heap = SecureBytes();
  in_arena = SecureBytes();
  EXPECT_EQ(back[0], 5);
}

}  // namespace
}  // namespace multichap
