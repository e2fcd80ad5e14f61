#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# `multichap --version` and `multichap version`: exit 0, nothing on stderr, the first line
# "multichap VERSION" with the project's version (from CMake), then every backend built in, each
# once, on the line `multichap algorithms` prints for it ("  NAME (LIBRARY VERSION)"), and no
# other line; both spellings print the same; the top-level help mentions --version; extra
# arguments are usage errors.
#   cli_version_test.sh MULTICHAP_BINARY PROJECT_VERSION BACKEND...
set -uo pipefail
export LC_ALL=C

bin=${1:?usage: $0 MULTICHAP_BINARY PROJECT_VERSION BACKEND...}
want_version=${2:?usage: $0 MULTICHAP_BINARY PROJECT_VERSION BACKEND...}
shift 2
backends=("$@")
[ "${#backends[@]}" -gt 0 ] || { echo "FAIL: no backends given"; exit 1; }
. "$(dirname "$0")/check_lib.sh"

run() {  # sets rc, out, err
  timeout 20 "$bin" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

"$bin" algorithms >"$work/algorithms" || fail "multichap algorithms failed"
for args in --version version; do
  run $args
  if [ "$rc" -eq 0 ] && [ -z "$err" ]; then pass; else fail "multichap $args: exit $rc, stderr '$err'"; fi
  first=$(head -n 1 <<<"$out")
  [ "$first" = "multichap $want_version" ] && pass || fail "multichap $args: first line '$first', want 'multichap $want_version'"
  [ "$(sed -n 2p <<<"$out")" = "backends (default first):" ] && pass \
    || fail "multichap $args: second line '$(sed -n 2p <<<"$out")'"
  lines=$(tail -n +3 <<<"$out")
  for b in "${backends[@]}"; do
    line=$(grep -E "^  $b \(.+\)\$" <<<"$lines")
    if [ "$(grep -c . <<<"$line")" -eq 1 ]; then pass; else
      fail "multichap $args: want one line '  $b (VERSION)', got '$line'"
    fi
    if [ -n "$line" ] && grep -qxF -- "$line" "$work/algorithms"; then pass; else
      fail "multichap $args: '$line' is not what multichap algorithms prints for $b"
    fi
  done
  count=$(grep -c . <<<"$lines")
  [ "$count" -eq "${#backends[@]}" ] && pass || fail "multichap $args: $count backend lines for ${#backends[@]} backends: $lines"
  printf '%s\n' "$out" >"$work/$args"
done
cmp -s "$work/--version" "$work/version" && pass || fail "--version and version print different things"

run --help
grep -qF -- "--version" <<<"$out" && pass || fail "multichap --help does not mention --version"
run version --help
[ "$rc" -eq 0 ] && grep -q '^usage: multichap version' <<<"$out" && pass || fail "version --help: exit $rc, '$out'"
for args in "--version extra" "version extra" "version --frobnicate"; do
  run $args
  [ "$rc" -eq 2 ] && [ -z "$out" ] && grep -q '^multichap: ' <<<"$err" && pass \
    || fail "multichap $args: exit $rc (want 2), stdout '$out', stderr '$err'"
done

finish cli_version_test
