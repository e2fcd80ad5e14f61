#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The API reference builds without a single Doxygen warning and installs where it should:
#   - doxygen with the project's configuration (docs/Doxyfile.in, as configured in the build),
#     into a fresh directory: exit 0 and nothing on stderr (WARN_AS_ERROR=FAIL_ON_WARNINGS makes
#     any warning a failure; this also shows the warnings themselves);
#   - the HTML index, the man pages of both headers and of the backend ABI's group and table,
#     and a man page (a link to its header's page) for every function multichap.h declares;
#   - `cmake --install --component docs` puts the HTML under DOCDIR/api and the man pages under
#     MANDIR/man3, only those named multichap* or MULTICHAP* (never compute.3 and the like), and
#     `man -M` shows a function's page.
# usage: api_docs_test.sh DOXYGEN DOXYFILE SOURCE_DIR BUILD_DIR DOCDIR MANDIR
set -euo pipefail
doxygen=$1 doxyfile=$2 src=$3 build=$4 docdir=$5 mandir=$6
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

if (cat "$doxyfile"; echo "OUTPUT_DIRECTORY = $work/out") | "$doxygen" - >"$work/out.log" 2>"$work/err.log" &&
   [ ! -s "$work/err.log" ]; then
  pass
else
  fail "doxygen $doxyfile: $(cat "$work/err.log")"
fi
out=$work/out
for f in html/index.html man/man3/multichap.h.3 man/man3/multichap_backend_abi.3 \
         man/man3/multichap_backend_v1.3 man/man3/multichap_backend_host.3; do
  [ -s "$out/$f" ] && pass || fail "not generated: $f"
done
# Every function of the C API (declared as "MULTICHAP_API ... name(", as tests/capi/abi_test.sh
# reads them) has its page, and the HTML names it.
functions=$(tr '\n' ' ' <"$src/capi/include/multichap/multichap.h" | grep -oE 'MULTICHAP_API [^;(]*\(' |
  grep -oE 'multichap_[a-z0-9_]+\($' | tr -d '(' | sort -u)
[ "$(wc -l <<<"$functions")" -ge 40 ] && pass || fail "found only $(wc -l <<<"$functions") functions in multichap.h"
for fn in $functions; do
  [ -s "$out/man/man3/$fn.3" ] || { fail "no man page for $fn"; continue; }
  grep -q "$fn" "$out/html/multichap_8h.html" && pass || fail "$fn is not in the HTML of multichap.h"
done

prefix=$work/prefix
if cmake --install "$build" --prefix "$prefix" --component docs >"$work/install.log" 2>&1; then pass
else fail "cmake --install --component docs: $(cat "$work/install.log")"; fi
[ -s "$prefix/$docdir/api/index.html" ] && pass || fail "not installed: $docdir/api/index.html"
for f in multichap.h.3 multichap_initiator_step.3 multichap_backend_abi.3 MULTICHAP_OK.3; do
  [ -s "$prefix/$mandir/man3/$f" ] && pass || fail "not installed: $mandir/man3/$f"
done
others=$(find "$prefix/$mandir/man3" -type f ! -name 'multichap*' ! -name 'MULTICHAP*' -printf '%f ')
[ -z "$others" ] && pass || fail "man pages with generic names installed: $(echo $others)"
page=$(MANWIDTH=200 man -E ascii -M "$prefix/$mandir" 3 multichap_initiator_step 2>&1 || true)
grep -q "One step of the exchange" <<<"$page" && pass \
  || fail "man -M $prefix/$mandir 3 multichap_initiator_step: $(head -5 <<<"$page")"

echo "api_docs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
