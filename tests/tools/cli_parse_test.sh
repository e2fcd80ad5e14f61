#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CLI test of the command line itself (CLI11, tools/cli_options.h), with no network: help on
# stdout with exit 0 for every command; every option a command's help names is one the command
# takes, and each is refused when given twice; "--name value" and "--name=value" mean the same,
# even for a value that starts with '-'; a flag takes no value; unknown options and commands are
# named (without a value that may be a secret), a stray argument after a secret is not repeated;
# validation and exclusion errors exit 2 before the command runs; usage errors print
# "multichap: ..." on stderr and nothing on stdout; login's and discover's help say when they
# read secrets exported in the environment.
#
#   cli_parse_test.sh MULTICHAP_BINARY
set -uo pipefail
export LC_ALL=C

bin=${1:?usage: $0 MULTICHAP_BINARY}
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
unset MULTICHAP_SECRET MULTICHAP_TARGET_SECRET

. "$(dirname "$0")/check_lib.sh"

# Runs the binary (at most 20 s); sets rc, out, err.
run() {
  timeout 20 "$bin" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}
# usage_error DESCRIPTION MESSAGE ARGS...: exit 2, nothing on stdout, "multichap: MESSAGE" on
# stderr (MESSAGE: a fixed string, empty to check only the prefix).
usage_error() {
  local what=$1 message=$2
  shift 2
  run "$@"
  if [ "$rc" -eq 2 ] && [ -z "$out" ] && grep -qF -- "multichap: $message" <<<"$err"; then pass; else
    fail "$what: exit $rc (want 2), stdout '$out', stderr '$err' (want 'multichap: $message')"
  fi
}
not_in_stderr() {  # description, text
  if grep -qF -- "$2" <<<"$err"; then fail "$1: stderr repeats '$2': $err"; else pass; fi
}

commands=(algorithms version response serve login discover bench)
secret='parse-test-secret-7c1e'

# --- help -------------------------------------------------------------------------------------
for cmd in "${commands[@]}"; do
  for flag in --help -h; do
    run "$cmd" "$flag"
    if [ "$rc" -eq 0 ] && [ -z "$err" ] && [ "$(head -1 <<<"$out" | cut -d' ' -f1-3)" = "usage: multichap $cmd" ]; then
      pass
    else
      fail "$cmd $flag: exit $rc, stdout starts '$(head -1 <<<"$out")', stderr '$err'"
    fi
  done
done
for args in --help -h help; do
  run $args
  if [ "$rc" -eq 0 ] && grep -q '^usage: multichap COMMAND' <<<"$out" && [ -z "$err" ]; then pass; else
    fail "multichap $args: exit $rc, stdout '$(head -1 <<<"$out")'"
  fi
  for cmd in "${commands[@]}"; do
    grep -qE "^  $cmd " <<<"$out" && pass || fail "multichap $args does not list $cmd"
  done
done
for cmd in "${commands[@]}"; do
  run help "$cmd"
  [ "$rc" -eq 0 ] && [ "$(head -1 <<<"$out" | cut -d' ' -f1-3)" = "usage: multichap $cmd" ] && pass \
    || fail "multichap help $cmd: exit $rc, stdout starts '$(head -1 <<<"$out")'"
done
run
if [ "$rc" -eq 2 ] && grep -q '^usage: multichap COMMAND' <<<"$out"; then pass; else
  fail "multichap without a command: exit $rc (want 2), stdout '$(head -1 <<<"$out")'"
fi
# --help after other options still helps (CLI11 acts on it wherever it is).
run serve --listen 127.0.0.1:0 --help
[ "$rc" -eq 0 ] && grep -q '^usage: multichap serve' <<<"$out" && pass || fail "serve ... --help: exit $rc"

# --- secrets in the environment: login's and discover's help state when they are read ---------
for cmd in login discover; do
  help=$("$bin" "$cmd" --help | tr -s ' \n' '  ')
  for rule in "MULTICHAP_SECRET with --user" "MULTICHAP_TARGET_SECRET with --target-user" \
    "Otherwise they are ignored"; do
    grep -qF -- "$rule" <<<"$help" && pass || fail "$cmd --help does not say '$rule'"
  done
done

# --- every option in the help is taken, and refused twice ----------------------------------------
# (bench's help quotes botan speed's --buf-size, not an option of ours; version's names
# `multichap --version`, the top level's spelling of the command.)
for cmd in "${commands[@]}"; do
  "$bin" "$cmd" --help >"$work/help"
  mapfile -t opts < <(grep -oE -- '--[a-z0-9][a-z0-9-]*' "$work/help" | sort -u | grep -vx -- '--help\|--buf-size\|--version')
  for opt in "${opts[@]}"; do
    usage_error "$cmd $opt twice" "option $opt given twice" "$cmd" "$opt" x "$opt" x
  done
done
usage_error "--name=value twice" "option --id given twice" response --id=1 --alg md5 --id=1
usage_error "both forms" "option --secret given twice" login --secret="$secret" --secret "$secret"
not_in_stderr "both forms" "$secret"

# --- --name value and --name=value -------------------------------------------------------------
good_hex=0x00112233445566778899aabbccdd
run response --alg sha256 --id 7 --secret-hex "$good_hex" --challenge 0x0102
want=$out
if [ "$rc" -eq 0 ] && [[ "$want" == 0x* ]]; then pass; else fail "response (spaces): exit $rc, '$out' $err"; fi
run response --alg=sha256 --id=7 --secret-hex="$good_hex" --challenge=0x0102
[ "$rc" -eq 0 ] && [ "$out" = "$want" ] && pass || fail "response (--name=value): exit $rc, '$out', want '$want'"
run response --alg sha256 --id=0x07 --secret-hex="$good_hex" --challenge 0x0102
[ "$rc" -eq 0 ] && [ "$out" = "$want" ] && pass || fail "response (mixed forms): exit $rc, '$out'"
# A value that starts with '-' (or looks like an option) is the value, in both forms.
dash_secret='--dash-secret-looks-like-an-option'
run response --alg md5 --id 1 --secret "$dash_secret" --challenge 0x00
dash_want=$out
if [ "$rc" -eq 0 ] && [[ "$dash_want" == 0x* ]]; then pass; else fail "--secret '$dash_secret': exit $rc, $err"; fi
not_in_stderr "--secret '$dash_secret'" "$dash_secret"
run response --alg md5 --id 1 --secret="$dash_secret" --challenge 0x00
[ "$rc" -eq 0 ] && [ "$out" = "$dash_want" ] && pass || fail "--secret='$dash_secret': exit $rc, '$out'"
MULTICHAP_SECRET=$dash_secret run response --alg md5 --id 1 --challenge 0x00
[ "$rc" -eq 0 ] && [ "$out" = "$dash_want" ] && pass || fail "MULTICHAP_SECRET='$dash_secret': exit $rc, '$out'"

# --- usage errors ------------------------------------------------------------------------------
usage_error "unknown option" "unknown option --frobnicate" response --alg md5 --id 1 --frobnicate
usage_error "unknown option=value" "unknown option --frobnicate" response --frobnicate="$secret"
not_in_stderr "unknown option=value" "$secret"
usage_error "unknown short option" "unknown option -x" serve -x
usage_error "unknown command" "unknown command 'frobnicate'" frobnicate
usage_error "flag with a value" "option --quiet takes no value" serve --quiet=yes
usage_error "flag with false" "option --verbose takes no value" serve --verbose=false
usage_error "missing value" "option --alg needs a value" response --alg
usage_error "empty value" "option --svg needs a value" bench --svg=
usage_error "missing required" "--challenge is required" response --alg md5 --id 1 --secret "$secret"
usage_error "stray argument" "unexpected argument 'extra'" bench extra
usage_error "stray argument to algorithms" "unexpected argument 'extra'" algorithms extra
# An unquoted secret with a space: the rest is not repeated.
usage_error "stray after a secret" "unexpected argument (not shown" \
  response --alg md5 --id 1 --challenge 0x00 --secret two words-of-the-secret
not_in_stderr "stray after a secret" "words-of-the-secret"
usage_error "dash after a secret" "unknown option (not shown" \
  login --secret two -dashed-words-of-the-secret
not_in_stderr "dash after a secret" "dashed-words-of-the-secret"
# Validation while parsing: the rule, not the value.
usage_error "--id 256" "--id: must be 0-255" response --alg md5 --id 256 --secret "$secret" --challenge 0x00
usage_error "--timeout" "--timeout: must be 1-3600 seconds" login --timeout 987654
not_in_stderr "--timeout" "987654"
usage_error "--discovery-auth" "--discovery-auth: must be none, chap or mutual" serve --discovery-auth sometimes
usage_error "--offer-fallback" "--offer-fallback: must be on or off" discover --offer-fallback maybe
usage_error "--connections" "--connections: must be a number from 1 to 8" login --connections 9
usage_error "--challenge-size" "--challenge-size: must be a number from 16 to 1024" serve --challenge-size 8
# ... and before the command runs: serve never listens.
usage_error "serve --threads 0" "--threads: must be a number from 1 to 256" \
  serve --listen 127.0.0.1:0 --target iqn.2026-11.org.multichap.test:parse --no-auth --threads 0
# Options that exclude each other.
usage_error "--quiet --verbose" "--verbose excludes --quiet" serve --quiet --verbose
usage_error "--verbose=... --quiet" "" serve --verbose=1 --quiet
usage_error "--json --csv" "--json excludes --csv" bench --json --csv
usage_error "two secret sources" "--secret excludes --secret-file" response --alg md5 --id 1 --challenge 0x00 \
  --secret "$secret" --secret-file /dev/null
not_in_stderr "two secret sources" "$secret"
usage_error "two target secret sources" "--target-secret excludes --target-secret-hex" login --target-secret-hex 0x0011 \
  --target-secret "$secret"
not_in_stderr "two target secret sources" "$secret"
usage_error "--config with --user" "--user excludes --config" serve --config /dev/null --user someone
usage_error "--no-auth with --user" "--user excludes --no-auth" serve --no-auth --user someone
# A usage error points at the command's help.
run login --frobnicate
grep -qF "run 'multichap login --help' for the options" <<<"$err" && pass || fail "no hint: $err"

finish cli_parse_test
