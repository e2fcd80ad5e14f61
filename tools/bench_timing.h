// SPDX-License-Identifier: BSD-2-Clause
// The timing core of `multichap bench`: runs a unit of work on N threads in timed repetitions and
// reports the median CPU time per operation with its spread. A small engine of our own rather
// than Google Benchmark: that library is not a dependency of the installed package (Debian ships
// it as a development package, built as DEBUG), it owns main()'s flags and output formats, and
// its registration model does not fit one command that picks its cases at run time.
//
// Method, for every case:
//   1. warm-up: each worker runs (and calibrates its batch to about half a millisecond) for
//      max(5 ms, min(100 ms, seconds / 4)); nothing of it is recorded;
//   2. `repetitions` timed repetitions of seconds / repetitions each; with several workers
//      (ours and raw) their repetitions alternate a, b, a, b... so both see the same machine;
//   3. per repetition: CPU time of the threads (CLOCK_THREAD_CPUTIME_ID) / operations, and all
//      threads' operations / wall-clock time; with N threads every thread runs the same work at
//      the same time, against the same deadlines;
//   4. reported: the median of the repetitions, their min and max, and the spread
//      (max - min) / median.
#ifndef MULTICHAP_TOOLS_BENCH_TIMING_H
#define MULTICHAP_TOOLS_BENCH_TIMING_H

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/result.h"

namespace multichap::cli {

// One thread's unit of work: run(n) performs n operations; false when one failed.
class BenchWorker {
 public:
  virtual ~BenchWorker() = default;
  virtual bool run(std::uint64_t n) = 0;
  // After run() returned false: what failed, for the report (never secret material).
  virtual std::string failure() const { return {}; }
};

// Makes one worker per thread; null (or a failure) means the case cannot run.
using BenchWorkerFactory = std::function<Result<std::unique_ptr<BenchWorker>>()>;

struct BenchMethod {
  double seconds = 0.2;  // timed seconds per measured worker, split into the repetitions
  int repetitions = 5;
  int threads = 1;
};

struct BenchStats {
  double cpu_ns = 0;      // median CPU ns per operation
  double cpu_ns_min = 0;  // fastest repetition
  double cpu_ns_max = 0;  // slowest repetition
  double spread_pct = 0;  // (max - min) / median, in percent
  double ops_per_s = 0;   // median of all threads' operations per wall-clock second
  std::uint64_t ops = 0;  // operations timed (all repetitions and threads; no warm-up)
  int repetitions = 0;
};

// Measures every factory's workers with the method above; one BenchStats per factory, in order.
// Fails when a worker cannot be made or an operation fails.
Result<std::vector<BenchStats>> bench_measure(const BenchMethod& method,
                                              const std::vector<BenchWorkerFactory>& factories);

// The method in one sentence, for the table's heading and --help.
std::string describe_method(const BenchMethod& method);

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_BENCH_TIMING_H
