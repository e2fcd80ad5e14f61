// SPDX-License-Identifier: BSD-2-Clause
// Shared pieces of the benchmark suites: input data, the sizes measured, a per-thread CPU clock,
// and run_paired(), which times one of our operations under Google Benchmark's timer and the
// same work done directly with the crypto library in interleaved blocks, so the reported
// ours/raw ratio compares runs made within milliseconds of each other on the same core.
#ifndef MULTICHAP_BENCH_BENCH_UTIL_H
#define MULTICHAP_BENCH_BENCH_UTIL_H

#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/algorithm.h"
#include "auth/bytes.h"

namespace multichap::bench {

// Message sizes of the hash suite: a CHAP response to a 16-byte challenge (1 + 16 + 16), one to
// a 1024-byte challenge (1 + 16 + 1024), and a bulk size where per-call overhead vanishes.
inline constexpr std::size_t kHashSizes[] = {33, 1041, 64 * 1024};
// Challenge sizes of the CHAP suite (RFC 7143 §12.1.3 allows up to 1024 bytes).
inline constexpr std::size_t kChallengeSizes[] = {16, 32, 1024};
inline constexpr std::size_t kSecretBytes = 16;

// Deterministic pseudo-random bytes (xorshift), so every run hashes the same input.
inline Bytes filled_bytes(std::size_t n, std::uint32_t seed) {
  Bytes out(n);
  std::uint32_t x = seed | 1u;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

// CPU time consumed by the calling thread, in nanoseconds. Unlike wall time it does not count
// the time another process (a parallel compile) holds the core.
inline std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// How many operations on `bytes` of input make a block of roughly a millisecond: long enough
// that the clock reads and timer pauses between blocks cost well under 1%.
inline std::int64_t block_for_bytes(std::size_t bytes) {
  return std::clamp<std::int64_t>(
      static_cast<std::int64_t>((1u << 20) / std::max<std::size_t>(bytes, 1)), 1, 4096);
}

// Runs ours() once per benchmark iteration under the framework's timer. After every `block`
// iterations the timer is paused and raw() runs `block` times. Both are timed by the thread's
// CPU clock, and the counters report:
//   ratio   = (CPU time per ours()) / (CPU time per raw())   -- 1.00 means no overhead
//   ours_ns, raw_ns = CPU nanoseconds per call from the paired blocks
// ours and raw must do the same work (same inputs, same library calls underneath).
template <typename Ours, typename Raw>
void run_paired(benchmark::State& state, std::int64_t block, Ours&& ours, Raw&& raw) {
  std::int64_t ours_ns = 0;
  std::int64_t raw_ns = 0;
  std::int64_t ours_ops = 0;
  std::int64_t raw_ops = 0;
  std::int64_t in_block = 0;
  auto time_raw = [&](std::int64_t n) {
    const std::int64_t start = thread_cpu_ns();
    for (std::int64_t i = 0; i < n; ++i) raw();
    raw_ns += thread_cpu_ns() - start;
    raw_ops += n;
  };
  std::int64_t block_start = thread_cpu_ns();
  for (auto _ : state) {
    ours();
    if (++in_block == block) {
      ours_ns += thread_cpu_ns() - block_start;
      ours_ops += block;
      in_block = 0;
      state.PauseTiming();
      time_raw(block);
      state.ResumeTiming();
      block_start = thread_cpu_ns();
    }
  }
  if (in_block > 0) {  // the last, partial block
    ours_ns += thread_cpu_ns() - block_start;
    ours_ops += in_block;
    time_raw(in_block);
  }
  if (ours_ops > 0 && raw_ns > 0) {
    const double ours_per = static_cast<double>(ours_ns) / static_cast<double>(ours_ops);
    const double raw_per = static_cast<double>(raw_ns) / static_cast<double>(raw_ops);
    state.counters["ratio"] = ours_per / raw_per;
    state.counters["ours_ns"] = ours_per;
    state.counters["raw_ns"] = raw_per;
  }
}

// "hash/ours/openssl/sha256/33": the names report.py parses (suite/impl/backend/alg/param).
inline std::string bench_name(std::string_view suite, std::string_view impl,
                              std::string_view backend, std::string_view alg,
                              std::string_view param = {}) {
  std::string name = std::string(suite) + "/" + std::string(impl) + "/" + std::string(backend);
  if (!alg.empty()) name += "/" + std::string(alg);
  if (!param.empty()) name += "/" + std::string(param);
  return name;
}

}  // namespace multichap::bench

#endif  // MULTICHAP_BENCH_BENCH_UTIL_H
