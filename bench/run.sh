#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs multichap_bench and reports. Called by `./dev bench [--quick] [benchmark flags...]` after
# the release preset was built into build/.
#   --quick   short runs (min_time 0.05 s, one repetition): about a minute in total
#   default   fuller runs (min_time 0.2 s, 3 repetitions, medians reported): a few minutes
# Anything else is passed to the benchmark binary (e.g. --benchmark_filter=hash/).
# Then `multichap bench` beside `openssl speed` / `botan speed` (hash sizes; --quick: 33 B, 16 KiB,
# 64 KiB) -> build/bench/tools.json, tools.svg.
# Outputs: build/bench/results.json (Google Benchmark JSON), build/bench/report.md,
# build/bench/throughput.svg, and the table with PASS/MISS per goal on stdout.
# MULTICHAP_BENCH_BUILD_DIR selects another build directory (default: build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MULTICHAP_BENCH_BUILD_DIR:-$ROOT/build}
BIN=$BUILD/bin/multichap_bench
OUT=$BUILD/bench

quick=0
passthrough=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) passthrough+=("$arg") ;;
  esac
done

if [ ! -x "$BIN" ]; then
  echo "run.sh: $BIN not found; configure with -DMULTICHAP_BUILD_BENCH=ON (the release preset does)" >&2
  exit 2
fi
mkdir -p "$OUT"

if [ "$quick" -eq 1 ]; then
  timing=(--benchmark_min_time=0.05)
else
  timing=(--benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
fi

echo "==> $BIN ${timing[*]} ${passthrough[*]:-}"
"$BIN" "${timing[@]}" --benchmark_out="$OUT/results.json" --benchmark_out_format=json \
  "${passthrough[@]+"${passthrough[@]}"}"

# The tools users know, in the same run: `multichap bench` times our backends and the libraries
# called directly and runs `openssl speed -evp ALG -bytes N -seconds 1` (and `botan speed`
# when Debian's botan package is installed) for the same algorithms and sizes.
if [ "$quick" -eq 1 ]; then
  tool_sizes=33,16384,65536
else
  tool_sizes=16,33,64,256,1024,8192,16384,65536
fi
CLI=$BUILD/bin/multichap
if [ -x "$CLI" ]; then
  echo
  echo "==> $CLI bench --suites hash --sizes $tool_sizes --compare-raw --vs-openssl --vs-botan"
  "$CLI" bench --suites hash --sizes "$tool_sizes" --seconds 0.5 --compare-raw --vs-openssl \
    --vs-botan --json --svg "$OUT/tools.svg" >"$OUT/tools.json"
  tools_args=(--tools "$OUT/tools.json")
else
  echo "run.sh: $CLI not built: no comparison with openssl speed / botan speed" >&2
  tools_args=()
fi

echo
python3 "$ROOT/bench/report.py" "$OUT/results.json" --markdown "$OUT/report.md" \
  --svg "$OUT/throughput.svg" "${tools_args[@]+"${tools_args[@]}"}"
