// SPDX-License-Identifier: BSD-2-Clause
#include "tools/bench_timing.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace multichap::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double warmup_seconds(const BenchMethod& method) {
  return std::max(0.005, std::min(0.1, method.seconds / 4));
}

// The shared schedule: absolute deadlines, so N threads run the same phase at the same time.
struct Plan {
  std::vector<Clock::time_point> warmup_end;  // per worker, warm-ups one after the other
  std::vector<Clock::time_point> slot_end;    // per timed slot; slot j belongs to worker j % W
};

struct SlotResult {
  std::uint64_t ops = 0;
  std::int64_t cpu_ns = 0;
  double wall_s = 0;
};

// One thread's share: warm up each worker (doubling its batch until a batch takes half a
// millisecond), then run the slots. False when an operation failed.
bool run_thread(std::vector<std::unique_ptr<BenchWorker>>& workers, const Plan& plan,
                std::vector<SlotResult>& slots) {
  const std::size_t count = workers.size();
  std::vector<std::uint64_t> batch(count, 1);
  for (std::size_t w = 0; w < count; ++w) {
    do {
      const auto t0 = Clock::now();
      if (!workers[w]->run(batch[w])) return false;
      if (Clock::now() - t0 < std::chrono::microseconds(500) && batch[w] < (1u << 30)) {
        batch[w] *= 2;
      }
    } while (Clock::now() < plan.warmup_end[w]);
  }
  slots.assign(plan.slot_end.size(), SlotResult{});
  for (std::size_t j = 0; j < plan.slot_end.size(); ++j) {
    const std::size_t w = j % count;
    const auto start = Clock::now();
    const std::int64_t cpu_start = thread_cpu_ns();
    std::uint64_t ops = 0;
    do {
      if (!workers[w]->run(batch[w])) return false;
      ops += batch[w];
    } while (Clock::now() < plan.slot_end[j]);
    slots[j].cpu_ns = thread_cpu_ns() - cpu_start;
    slots[j].wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    slots[j].ops = ops;
  }
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

Result<std::vector<BenchStats>> bench_measure(const BenchMethod& method,
                                              const std::vector<BenchWorkerFactory>& factories) {
  const std::size_t count = factories.size();
  const auto threads = static_cast<std::size_t>(std::max(1, method.threads));
  const auto reps = static_cast<std::size_t>(std::max(1, method.repetitions));
  // workers[t][w]: thread t's worker of factory w.
  std::vector<std::vector<std::unique_ptr<BenchWorker>>> workers(threads);
  for (auto& mine : workers) {
    for (const auto& factory : factories) {
      auto worker = factory();
      if (!worker) return worker.error();
      if (!*worker) return make_error(ErrorKind::internal, "bench: no worker");
      mine.push_back(std::move(*worker));
    }
  }

  Plan plan;
  auto t = Clock::now() + std::chrono::milliseconds(1);
  const auto warmup = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(warmup_seconds(method)));
  const auto slot = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(method.seconds / static_cast<double>(reps)));
  const auto start = t;
  for (std::size_t w = 0; w < count; ++w) plan.warmup_end.push_back(t += warmup);
  for (std::size_t j = 0; j < reps * count; ++j) plan.slot_end.push_back(t += slot);

  std::vector<std::vector<SlotResult>> results(threads);
  std::vector<char> ok(threads, 0);
  if (threads == 1) {
    std::this_thread::sleep_until(start);
    ok[0] = run_thread(workers[0], plan, results[0]) ? 1 : 0;
  } else {
    std::vector<std::thread> pool;
    for (std::size_t i = 0; i < threads; ++i) {
      pool.emplace_back([&, i] {
        std::this_thread::sleep_until(start);
        ok[i] = run_thread(workers[i], plan, results[i]) ? 1 : 0;
      });
    }
    for (auto& th : pool) th.join();
  }
  if (std::find(ok.begin(), ok.end(), 0) != ok.end()) {
    for (const auto& mine : workers) {
      for (const auto& worker : mine) {
        if (std::string why = worker->failure(); !why.empty()) {
          return make_error(ErrorKind::backend, std::move(why));
        }
      }
    }
    return make_error(ErrorKind::backend, "an operation failed while it was measured");
  }

  std::vector<BenchStats> out(count);
  for (std::size_t w = 0; w < count; ++w) {
    std::vector<double> cpu_per_op;
    std::vector<double> rate;
    std::uint64_t total_ops = 0;
    for (std::size_t j = w; j < reps * count; j += count) {
      std::uint64_t ops = 0;
      std::int64_t cpu = 0;
      double wall = 0;
      for (const auto& per_thread : results) {
        ops += per_thread[j].ops;
        cpu += per_thread[j].cpu_ns;
        wall = std::max(wall, per_thread[j].wall_s);
      }
      total_ops += ops;
      cpu_per_op.push_back(static_cast<double>(cpu) /
                           static_cast<double>(std::max<std::uint64_t>(ops, 1)));
      rate.push_back(wall > 0 ? static_cast<double>(ops) / wall : 0.0);
    }
    BenchStats& s = out[w];
    s.cpu_ns = median(cpu_per_op);
    s.cpu_ns_min = *std::min_element(cpu_per_op.begin(), cpu_per_op.end());
    s.cpu_ns_max = *std::max_element(cpu_per_op.begin(), cpu_per_op.end());
    s.spread_pct = s.cpu_ns > 0 ? (s.cpu_ns_max - s.cpu_ns_min) / s.cpu_ns * 100 : 0;
    s.ops_per_s = median(rate);
    s.ops = total_ops;
    s.repetitions = static_cast<int>(reps);
  }
  return out;
}

std::string describe_method(const BenchMethod& method) {
  char text[320];
  (void)std::snprintf(text, sizeof text,
                      "%d thread%s; per case a warm-up of %.3g s, then %d repetitions of %.3g s "
                      "(ours and raw alternating); median CPU time per operation, spread = "
                      "(slowest - fastest) / median",
                      method.threads, method.threads == 1 ? "" : "s", warmup_seconds(method),
                      method.repetitions, method.seconds / method.repetitions);
  return text;
}

}  // namespace multichap::cli
