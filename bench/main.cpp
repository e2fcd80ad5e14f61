// SPDX-License-Identifier: BSD-2-Clause
// multichap_bench: every suite in one binary, so our backends and the raw-library baselines are
// measured in the same process and the same run. bench/run.sh drives it and bench/report.py
// turns its JSON into the performance table.
#include <benchmark/benchmark.h>

#include <string>

#include "backends/hash_backend.h"
#include "bench/suites.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  multichap::bench::register_linked_in_backends();
  for (const std::string& name : multichap::bench::bench_backends()) {
    const auto backend = multichap::make_backend(name);
    if (backend) {
      benchmark::AddCustomContext("multichap_backend_" + std::string(name), (*backend)->version());
    }
  }

  multichap::bench::register_hash_benchmarks();
  multichap::bench::register_chap_benchmarks();
  multichap::bench::register_exchange_benchmarks();
  // serve_storm first: it needs 10,000 descriptors of its own, and the login suite's idle rows
  // keep 10,000 connections open until the process ends.
  multichap::bench::register_serve_storm_benchmarks();
  multichap::bench::register_login_benchmarks();

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
