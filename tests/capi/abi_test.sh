#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The shared library's contract with its users:
#   - SONAME libmultichap.so.0 and a real file behind the libmultichap.so.0 link;
#   - it exports exactly the functions the public header declares (nm -D --defined-only), all
#     named multichap_*, under the version node MULTICHAP_0 (nothing of the C++ layers leaks);
#   - its ABI is compatible with the committed baseline capi/abi/libmultichap.abi: abidiff fails
#     on a removed function, a changed signature or a changed enum value; added functions pass.
# usage: abi_test.sh LIBRARY SOURCE_DIR
# To accept an intended change (new functions, or a new SONAME), regenerate the baseline:
#   tests/capi/abi_test.sh LIBRARY SOURCE_DIR --update
set -euo pipefail
lib=$1 src=$2 mode=${3:-check}
header=$src/capi/include/multichap/multichap.h
baseline=$src/capi/abi/libmultichap.abi
passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = libmultichap.so.0 ]; then ok "SONAME $soname"; else bad "SONAME is '$soname'"; fi

exported=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort)
# Declarations may span lines: read the header as one line, take "MULTICHAP_API ... name(".
declared=$(tr '\n' ' ' <"$header" | grep -oE 'MULTICHAP_API [^;(]*\(' |
  grep -oE 'multichap_[a-z0-9_]+ *\($' | tr -d '( ' | sort)
stray=$(grep -v '^multichap_' <<<"$exported" || true)
if [ -z "$stray" ]; then ok "every exported symbol is multichap_* ($(wc -l <<<"$exported") symbols)"
else bad "symbols outside multichap_*: $(echo $stray)"; fi
if [ "$exported" = "$declared" ]; then ok "exports match the header's $(wc -l <<<"$declared") functions"
else bad "exports differ from the header: $(diff <(echo "$declared") <(echo "$exported") | grep '^[<>]' | tr '\n' ' ')"; fi
unversioned=$(nm -D --defined-only "$lib" | awk '$2 != "A" && $3 !~ /@@MULTICHAP_0$/ {print $3}')
if [ -z "$unversioned" ]; then ok "every symbol is versioned MULTICHAP_0"
else bad "symbols without the MULTICHAP_0 version: $(echo $unversioned)"; fi

dump() {
  abidw --headers-dir "$src/capi/include/multichap" --exported-interfaces-only --drop-private-types \
    --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed --out-file "$1" "$lib"
}
if ! command -v abidiff >/dev/null; then
  bad "abidiff not found (Debian package abigail-tools; ./dev installs it)"
elif [ "$mode" = --update ]; then
  dump "$baseline"; echo "baseline written: $baseline"
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  dump "$work/current.abi"
  # --no-added-syms: a new function is a compatible change; anything else reported fails.
  if abidiff --no-added-syms "$baseline" "$work/current.abi" >"$work/report" 2>&1; then
    ok "ABI compatible with capi/abi/libmultichap.abi (abidiff)"
  else
    bad "abidiff against capi/abi/libmultichap.abi:"; cat "$work/report"
  fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
