// SPDX-License-Identifier: BSD-2-Clause
// Hash throughput: every built backend x algorithm x message size, through HashBackend::digest
// ("ours") and through the library directly ("raw"). The ours runs carry a paired ratio to raw.
#include <array>
#include <memory>
#include <string>

#include "backends/hash_backend.h"
#include "bench/bench_util.h"
#include "bench/raw_baselines.h"
#include "bench/suites.h"

namespace multichap::bench {

namespace {

template <typename Raw>
void register_hash(const std::shared_ptr<const HashBackend>& backend, Algorithm alg) {
  const std::string_view alg_name = algorithm_name(alg);
  for (const std::size_t size : kHashSizes) {
    const std::string size_name = std::to_string(size);

    benchmark::RegisterBenchmark(
        bench_name("hash", "raw", backend->name(), alg_name, size_name).c_str(),
        [alg, size](benchmark::State& state) {
          Raw raw(alg);
          if (!raw.ok()) return state.SkipWithError("raw baseline unavailable");
          const Bytes input = filled_bytes(size, 1);
          std::array<std::uint8_t, kMaxDigestSize> out{};
          for (auto _ : state) {
            raw.digest(out.data(), ByteView(input));
            benchmark::DoNotOptimize(out.data());
            benchmark::ClobberMemory();
          }
          state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
        });

    benchmark::RegisterBenchmark(
        bench_name("hash", "ours", backend->name(), alg_name, size_name).c_str(),
        [backend, alg, size](benchmark::State& state) {
          Raw raw(alg);
          if (!raw.ok()) return state.SkipWithError("raw baseline unavailable");
          const Bytes input = filled_bytes(size, 1);
          std::array<std::uint8_t, kMaxDigestSize> out{};
          const HashBackend& ours = *backend;
          bool failed = false;
          run_paired(
              state, block_for_bytes(size),
              [&] {
                const auto r = ours.digest(alg, {ByteView(input)}, out);
                failed |= !r.has_value();
                benchmark::DoNotOptimize(out.data());
                benchmark::ClobberMemory();
              },
              [&] {
                raw.digest(out.data(), ByteView(input));
                benchmark::DoNotOptimize(out.data());
                benchmark::ClobberMemory();
              });
          if (failed) return state.SkipWithError("HashBackend::digest failed");
          state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
        });
  }
}

}  // namespace

void register_hash_benchmarks() {
  for (const std::string& name : bench_backends()) {
    auto backend = make_backend(name);
    if (!backend) continue;
    with_raw_baseline(name, [&](auto tag) {
      using Raw = typename decltype(tag)::type;
      for (const auto& info : kAlgorithms) {
        if ((*backend)->supports(info.id)) register_hash<Raw>(*backend, info.id);
      }
    });
  }
}

}  // namespace multichap::bench
