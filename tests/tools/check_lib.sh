# SPDX-License-Identifier: BSD-2-Clause
# Sourced by the CLI's shell tests (tests/tools/*_test.sh): a scratch directory removed on exit
# ($work), check counters with pass/fail, and the summary that is the test's exit status.
#   . "$(dirname "$0")/check_lib.sh"
#   ... pass / fail "what went wrong" ...
#   finish NAME      # prints "NAME: N checks, M failed"; fails if any failed or none ran

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checks=0
failures=0
pass() { checks=$((checks + 1)); }
fail() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "FAIL: $*"
}
finish() {
  echo "$1: $checks checks, $failures failed"
  [ "$failures" -eq 0 ] && [ "$checks" -gt 0 ]
}
