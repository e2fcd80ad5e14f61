#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The documentation checks can fail, each for the reason it exists:
#   - Doxygen with the project's configuration fails on a copy of multichap.h with one @param
#     removed, on one with a function's comment removed, and on a copy of backend.h with a
#     macro's comment removed, each warning naming what is missing (the unmodified copies pass);
#   - check_docs.py links fails on a broken link and on missing anchors (fixtures/), and passes
#     a file of links that resolve, anchors by GitHub's rules included;
#   - check_docs.py commands (with CLI) fails on an unknown option, an unknown command, a stray
#     argument, an option on a continuation line, an option without its value, an unknown store
#     action and an unknown option followed by --help, and passes good command lines.
# usage: docs_checks_fail_test.sh DOXYGEN DOXYFILE SOURCE_DIR [CLI]
set -euo pipefail
doxygen=$1 doxyfile=$2 src=$3 cli=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# doxygen_on HEADER...: runs doxygen with the project's configuration on these inputs only;
# its exit status, warnings in $work/err.log.
doxygen_on() {
  rm -rf "$work/dx"
  (cat "$doxyfile"; echo "INPUT = $*"; echo "OUTPUT_DIRECTORY = $work/dx"; echo "GENERATE_MAN = NO") |
    "$doxygen" - >/dev/null 2>"$work/err.log"
}
# expect_doxygen_failure NAME WARNING HEADER: doxygen fails on HEADER and says WARNING.
expect_doxygen_failure() {
  local name=$1 warning=$2 header=$3
  if doxygen_on "$header"; then fail "$name: doxygen passed"
  elif grep -qF -- "$warning" "$work/err.log"; then pass
  else fail "$name: doxygen failed without '$warning': $(cat "$work/err.log")"; fi
}
api=$src/capi/include/multichap/multichap.h
abi=$src/backends/include/multichap/backend.h
mkdir -p "$work/ok" "$work/param" "$work/function" "$work/macro"
cp "$api" "$abi" "$work/ok/"
if doxygen_on "$work/ok/multichap.h" "$work/ok/backend.h"; then pass
else fail "the unmodified headers: $(cat "$work/err.log")"; fi

grep -vF ' * @param in_len its length: 0 for the first call.' "$api" >"$work/param/multichap.h"
[ "$(wc -l <"$work/param/multichap.h")" -eq $(($(wc -l <"$api") - 1)) ] && pass \
  || fail "the @param in_len line of multichap_initiator_step() was not found in $api"
expect_doxygen_failure "a missing @param" "parameter 'in_len'" "$work/param/multichap.h"

# The comment right before multichap_version() removed.
python3 - "$api" "$work/function/multichap.h" <<'PY'
import sys
text = open(sys.argv[1]).read()
end = text.index("MULTICHAP_API const char* multichap_version(void);")
start = text.rindex("/**", 0, end)
open(sys.argv[2], "w").write(text[:start] + text[end:])
PY
expect_doxygen_failure "an undocumented function" "multichap_version" "$work/function/multichap.h"
grep -q "not documented" "$work/err.log" && pass || fail "no 'not documented' warning: $(cat "$work/err.log")"

grep -vF '/** The ABI major version this header describes' "$abi" >"$work/macro/backend.h"
expect_doxygen_failure "an undocumented macro of backend.h" "MULTICHAP_BACKEND_ABI_MAJOR" "$work/macro/backend.h"

# expect_check NAME STATUS MESSAGE ARGS...: check_docs.py ARGS exits STATUS and prints MESSAGE.
expect_check() {
  local name=$1 status=$2 message=$3 rc=0
  shift 3
  python3 "$here/check_docs.py" "$@" >"$work/check.log" 2>&1 || rc=$?
  if [ "$rc" -ne "$status" ]; then fail "$name: exit $rc, not $status: $(cat "$work/check.log")"
  elif [ -n "$message" ] && ! grep -qF -- "$message" "$work/check.log"; then
    fail "$name: no '$message' in: $(cat "$work/check.log")"
  else pass; fi
}
fx=$here/fixtures
expect_check "links that resolve" 0 "0 problem(s)" links --root "$fx" "$fx/good_links.md" "$fx/sub/target.md"
expect_check "a missing file" 1 "broken_links.md:5: link 'sub/missing.md': sub/missing.md does not exist" \
  links --root "$fx" "$fx/broken_links.md"
expect_check "a missing anchor" 1 "broken_links.md:6: link 'sub/target.md#no-such-heading': no heading" \
  links --root "$fx" "$fx/broken_links.md"
expect_check "a missing anchor in the same file" 1 "broken_links.md:7: link '#nowhere'" \
  links --root "$fx" "$fx/broken_links.md"

if [ -n "$cli" ]; then
  expect_check "command lines that parse" 0 "0 problem(s)" commands --cli "$cli" --root "$fx" "$fx/good_commands.md"
  bad=(commands --cli "$cli" --root "$fx" "$fx/bad_commands.md")
  expect_check "an unknown option" 1 "bad_commands.md:6: multichap login --portal 127.0.0.1:3260 --no-such-option: the CLI refuses it: multichap: unknown option --no-such-option" "${bad[@]}"
  expect_check "an unknown command" 1 "bad_commands.md:7: multichap frobnicate --portal 127.0.0.1:3260: unknown command 'frobnicate'" "${bad[@]}"
  expect_check "a stray argument" 1 "unexpected argument 'stray-argument'" "${bad[@]}"
  expect_check "an option on a continuation line" 1 "bad_commands.md:9: multichap login --portal 127.0.0.1:3260 --user host1 --second-line-option: the CLI refuses it: multichap: unknown option --second-line-option" "${bad[@]}"
  expect_check "an option without its value" 1 "bad_commands.md:11: multichap serve --config: its last option takes a value that is not shown" "${bad[@]}"
  expect_check "an unknown store action" 1 "'put-acount' is not an action of multichap store" "${bad[@]}"
  expect_check "an unknown option before --help" 1 "unknown option --hidden-by-help" "${bad[@]}"
  expect_check "every bad command line counted" 1 "7 multichap command lines in 1 files: 7 problem(s)" "${bad[@]}"
else
  echo "no CLI given: the command-line checks are not exercised"
fi

echo "docs_checks_fail: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
