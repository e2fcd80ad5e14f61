#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CLI test of `multichap bench` with tiny timings (no timing is asserted): the table, the JSON
# fields, the CSV, the SVG file, progress on stderr and none with --quiet, usage errors (exit 2),
# and a FIPS-style OpenSSL configuration (default properties fips=yes, no FIPS provider) in
# which OpenSSL computes nothing: bench and algorithms say so instead of failing obscurely.
#
#   cli_bench_test.sh MULTICHAP_BINARY BACKENDS
# BACKENDS: the backends this build has, comma-separated ("openssl,botan").
set -uo pipefail
export LC_ALL=C

bin=${1:?usage: $0 MULTICHAP_BINARY BACKENDS}
IFS=',' read -ra backends <<<"${2:?usage: $0 MULTICHAP_BINARY BACKENDS}"
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }

. "$(dirname "$0")/check_lib.sh"
has() { [ "${#backends[@]}" -gt 0 ] && [[ " ${backends[*]} " == *" $1 "* ]]; }

# Runs the binary; sets rc, out, err.
run() {
  "$bin" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}
expect_rc() {  # want description
  if [ "$rc" -eq "$1" ]; then pass; else fail "$2: exit $rc, want $1 (stderr: $(head -3 "$work/err"))"; fi
}

fast=(--seconds 0.005)

# --help: the method and every option.
run bench --help
expect_rc 0 "bench --help"
for word in --backend --alg --sizes --seconds --threads --compare-raw --json --csv --svg --quiet \
            --vs-openssl warm-up repetitions median spread "CPU time"; do
  grep -q -- "$word" "$work/out" && pass || fail "bench --help does not mention '$word'"
done
run --help
grep -q "bench" "$work/out" && pass || fail "multichap --help does not list bench"

# The default table, every suite, all backends and algorithms: progress on stderr.
run bench "${fast[@]}" --sizes 16,33 --compare-raw
expect_rc 0 "bench (table)"
for col in backend suite algorithm bytes ns/op spread ops/CPU-s ops/s MB/s "raw ns/op" ours/raw; do
  head -8 "$work/out" | grep -q -- "$col" && pass || fail "table lacks column '$col'"
done
for b in "${backends[@]}"; do
  for alg in md5 sha1 sha256 sha3-256; do
    for suite in hash response verify login; do
      grep -qE "^$b +$suite +$alg " "$work/out" && pass || fail "table lacks $b $suite $alg"
    done
  done
  grep -qE "^$b +challenge +- +32 " "$work/out" && pass || fail "table lacks $b challenge"
done
grep -q '^multichap bench: \[1/' "$work/err" && pass || fail "no progress on stderr"
grep -q 'hash sha256 16 B' "$work/err" && pass || fail "progress does not name the case"

# --quiet: nothing on stderr.
run bench "${fast[@]}" --sizes 64 --suites hash,challenge --quiet
expect_rc 0 "bench --quiet"
[ -z "$err" ] && pass || fail "--quiet wrote to stderr: $err"

# --json: the documented fields, one result per case.
run bench "${fast[@]}" --sizes 16,1024 --alg sha256,md5 --compare-raw --json --quiet
expect_rc 0 "bench --json"
if python3 - "$work/out" "${#backends[@]}" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
nb = int(sys.argv[2])
assert doc["format"] == "multichap-bench-1", doc["format"]
for key in ("threads", "seconds", "repetitions", "description"):
    assert key in doc["method"], key
assert len(doc["backends"]) == nb and all(b["version"] for b in doc["backends"])
fields = ["suite", "backend", "algorithm", "bytes", "status", "cpu_ns", "cpu_ns_min",
          "cpu_ns_max", "spread_pct", "ops_per_cpu_s", "ops_per_s", "mb_per_s", "raw_cpu_ns",
          "raw_mb_per_s", "ratio_to_raw", "tool", "tool_mb_per_s", "ratio_to_tool", "ops",
          "detail"]
rows = doc["results"]
# per backend: 2 algs x (2 hash sizes + 3 response + 3 verify + login) + challenge
assert len(rows) == nb * (2 * 9 + 1), len(rows)
for r in rows:
    assert list(r.keys()) == fields, list(r.keys())
    assert r["status"] == "ok", r
    assert r["cpu_ns_min"] <= r["cpu_ns"] <= r["cpu_ns_max"], r
    assert r["ops"] > 0 and r["ops_per_s"] > 0 and r["spread_pct"] >= 0
    if r["suite"] == "hash":
        assert r["mb_per_s"] > 0 and r["raw_cpu_ns"] > 0 and r["ratio_to_raw"] > 0, r
    else:
        assert r["mb_per_s"] is None and r["raw_cpu_ns"] is None, r
PY
then pass; else fail "--json output does not have the documented shape"; fi

# --csv: the same fields as a header, one line per case.
run bench "${fast[@]}" --sizes 16 --alg sha1 --suites hash,login --csv --quiet
expect_rc 0 "bench --csv"
header=$(head -1 "$work/out")
[ "$header" = "suite,backend,algorithm,bytes,status,cpu_ns,cpu_ns_min,cpu_ns_max,spread_pct,ops_per_cpu_s,ops_per_s,mb_per_s,raw_cpu_ns,raw_mb_per_s,ratio_to_raw,tool,tool_mb_per_s,ratio_to_tool,ops,detail" ] \
  && pass || fail "CSV header: $header"
[ "$(($(wc -l <"$work/out") - 1))" -eq $((2 * ${#backends[@]})) ] && pass || fail "CSV rows: $(wc -l <"$work/out")"
grep -qE '^hash,[a-z]+,sha1,16,ok,[0-9.]+,' "$work/out" && pass || fail "CSV hash row: $(sed -n 2p "$work/out")"

# --svg FILE: a chart with one polyline per measured series.
run bench "${fast[@]}" --sizes 16,256,4096 --alg sha256 --suites hash --compare-raw --svg "$work/chart.svg" --quiet
expect_rc 0 "bench --svg"
if [ -s "$work/chart.svg" ] && head -1 "$work/chart.svg" | grep -q '^<svg ' && tail -1 "$work/chart.svg" | grep -q '</svg>'; then
  pass
else
  fail "--svg did not write an SVG file"
fi
[ "$(grep -c '<polyline' "$work/chart.svg")" -eq $((2 * ${#backends[@]})) ] && pass || fail "SVG series: $(grep -c '<polyline' "$work/chart.svg")"
python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$work/chart.svg" && pass || fail "SVG is not well-formed XML"

# --threads: the same work on several threads.
run bench "${fast[@]}" --sizes 64 --alg sha256 --suites hash,login --threads 3 --json --quiet
expect_rc 0 "bench --threads 3"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["method"]["threads"]==3' "$work/out" && pass || fail "--threads not in JSON"

# --vs-openssl: openssl speed beside the openssl rows (when both exist; about 1 s).
if has openssl && command -v openssl >/dev/null; then
  run bench "${fast[@]}" --backend openssl --alg md5 --sizes 16384 --suites hash --compare-raw --vs-openssl --json --quiet
  expect_rc 0 "bench --vs-openssl"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; assert r["tool"]=="openssl speed" and r["tool_mb_per_s"]>0 and r["ratio_to_tool"]>0, r' "$work/out" \
    && pass || fail "--vs-openssl gave no openssl speed number: $out"
fi

# Usage errors: exit 2, nothing on stdout, a message on stderr.
for args in "--threads 0" "--threads x" "--seconds 0" "--seconds abc" "--sizes 0" "--sizes 16,,64" \
            "--suites foo" "--alg md4" "--backend nope" "--json --csv" "--frobnicate" "extra" \
            "--svg"; do
  # shellcheck disable=SC2086
  run bench $args
  expect_rc 2 "bench $args"
  [ -z "$out" ] && pass || fail "bench $args wrote to stdout"
  [ -n "$err" ] && pass || fail "bench $args gave no message"
done

# A FIPS-style OpenSSL configuration without a FIPS provider: OpenSSL fetches no digest and no
# DRBG. algorithms reports every algorithm unsupported, bench marks the rows unsupported,
# names the failing generator, and still measures the other backend.
if has openssl; then
  cat >"$work/fips.cnf" <<'CNF'
openssl_conf = openssl_init
[openssl_init]
alg_section = evp_properties
[evp_properties]
default_properties = fips=yes
CNF
  OPENSSL_CONF="$work/fips.cnf" run algorithms
  expect_rc 0 "algorithms under fips=yes"
  [ "$(sed -n '/^  openssl/,/^  [a-z]/p' "$work/out" | grep -c 'unsupported')" -eq 4 ] && pass \
    || fail "algorithms under fips=yes: $out"
  OPENSSL_CONF="$work/fips.cnf" run bench "${fast[@]}" --backend openssl --alg sha256 --sizes 16
  expect_rc 3 "bench --backend openssl under fips=yes"
  grep -qE '^openssl +hash +sha256 +- +unsupported' "$work/out" && pass || fail "no unsupported row: $out"
  grep -q 'RAND_bytes failed' "$work/err" && pass || fail "the generator failure is not named: $err"
  if has botan; then
    OPENSSL_CONF="$work/fips.cnf" run bench "${fast[@]}" --alg sha256 --sizes 16 --suites hash --json --quiet
    expect_rc 0 "bench (both backends) under fips=yes"
    python3 - "$work/out" <<'PY' && pass || fail "fips=yes: botan not measured or openssl not unsupported"
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
by = {r["backend"]: r for r in rows}
assert by["openssl"]["status"] == "unsupported" and by["openssl"]["cpu_ns"] is None
assert by["botan"]["status"] == "ok" and by["botan"]["cpu_ns"] > 0
PY
  fi
fi

finish cli_bench_test
