#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Compares two builds' multichap_bench in one run: the old one (another build directory, e.g. a
# worktree of an older commit) and this one, alternating, ROUNDS times each, and prints the
# median CPU time per benchmark and the speed-up.
#   bench/compare.sh OLD_BUILD_DIR [FILTER] [ROUNDS]
# FILTER: a --benchmark_filter regex (default: login_inmemory and challenge_random);
# ROUNDS: default 3. Example, against the commit before issue 13:
#   git worktree add /tmp/base 645adc4 && (cd /tmp/base && cmake --preset release &&
#     cmake --build build --target multichap_bench)
#   bench/compare.sh /tmp/base/build
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
old=${1:?usage: $0 OLD_BUILD_DIR [FILTER] [ROUNDS]}/bin/multichap_bench
new=${MULTICHAP_BENCH_BUILD_DIR:-$ROOT/build}/bin/multichap_bench
filter=${2:-'login_inmemory|challenge_random'}
rounds=${3:-3}
for bin in "$old" "$new"; do [ -x "$bin" ] || { echo "compare.sh: $bin not found" >&2; exit 2; }; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq "$rounds"); do
  for side in old new; do
    bin=$old; [ "$side" = new ] && bin=$new
    "$bin" --benchmark_filter="$filter" --benchmark_min_time=0.5 --benchmark_format=json \
      2>/dev/null >"$work/$side.$r.json"
  done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
times = {"old": {}, "new": {}}
for side in times:
    for r in range(1, rounds + 1):
        for b in json.load(open(f"{work}/{side}.{r}.json"))["benchmarks"]:
            ns = b["cpu_time"] * unit.get(b.get("time_unit", "ns"), 1.0)
            times[side].setdefault(b["name"], []).append(ns)
names = [n for n in times["new"] if n in times["old"]]
w = max(len(n) for n in names)
print(f"{'benchmark':<{w}}  {'old ns':>10}  {'new ns':>10}  speed-up   (CPU time, median of {rounds} alternating runs)")
for n in names:
    o, m = statistics.median(times["old"][n]), statistics.median(times["new"][n])
    print(f"{n:<{w}}  {o:>10,.0f}  {m:>10,.1f}  {o / m:>7.2f}x")
PY
