#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The shared library's contract with its users:
#   - SONAME libmultichap.so.0 and a real file behind the libmultichap.so.0 link;
#   - it exports exactly the functions the public header declares (nm -D --defined-only), all
#     named multichap_*, under the version node MULTICHAP_0 (nothing of the C++ layers leaks);
#   - its ABI is compatible with the committed baseline capi/abi/libmultichap.abi: abidiff fails
#     on a removed function, a changed signature or a changed enum value; added functions pass;
#   - the backend ABI (multichap/backend.h) seen through a plugin, PLUGIN: it exports only
#     multichap_backend_entry_v1, and the table and host types it reaches are compatible with
#     backends/abi/backend.abi (a changed or removed field fails; the header's rules allow only
#     appending fields, in a new minor version).
# usage: abi_test.sh LIBRARY SOURCE_DIR PLUGIN [--update]
# To accept an intended change (new functions, or a new SONAME), regenerate the baselines:
#   tests/capi/abi_test.sh LIBRARY SOURCE_DIR PLUGIN --update
set -euo pipefail
lib=$1 src=$2 plugin=$3 mode=${4:-check}
header=$src/capi/include/multichap/multichap.h
baseline=$src/capi/abi/libmultichap.abi
plugin_baseline=$src/backends/abi/backend.abi
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
  abidw --headers-dir "$src/capi/include/multichap" --headers-dir "$src/backends/include/multichap" \
    --exported-interfaces-only --drop-private-types \
    --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed --out-file "$1" "$lib"
}
dump_plugin() {
  abidw --headers-dir "$src/backends/include/multichap" --exported-interfaces-only \
    --drop-private-types --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed \
    --no-architecture --out-file "$1" "$plugin"
}
if [ "$plugin" != none ]; then
  plugin_exports=$(nm -D --defined-only "$plugin" | awk '$2 != "A" {print $3}' | sed 's/@.*//')
  if [ "$plugin_exports" = multichap_backend_entry_v1 ]; then ok "the plugin exports its entry only"
  else bad "the plugin exports: $(echo $plugin_exports)"; fi
fi
if ! command -v abidiff >/dev/null; then
  bad "abidiff not found (Debian package abigail-tools; ./dev installs it)"
elif [ "$mode" = --update ]; then
  dump "$baseline"; echo "baseline written: $baseline"
  mkdir -p "$(dirname "$plugin_baseline")"
  [ "$plugin" = none ] || { dump_plugin "$plugin_baseline"; echo "baseline written: $plugin_baseline"; }
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  dump "$work/current.abi"
  # --no-added-syms: a new function is a compatible change; anything else reported fails.
  if abidiff --no-added-syms "$baseline" "$work/current.abi" >"$work/report" 2>&1; then
    ok "ABI compatible with capi/abi/libmultichap.abi (abidiff)"
  else
    bad "abidiff against capi/abi/libmultichap.abi:"; cat "$work/report"
  fi
  if [ "$plugin" = none ]; then
    echo "no plugin in this build (backends linked in): backend ABI not checked here"
  elif dump_plugin "$work/plugin.abi" && abidiff --no-added-syms "$plugin_baseline" "$work/plugin.abi" >"$work/plugin-report" 2>&1; then
    ok "backend ABI compatible with backends/abi/backend.abi (abidiff)"
  else
    bad "abidiff against backends/abi/backend.abi:"; cat "$work/plugin-report"
  fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
