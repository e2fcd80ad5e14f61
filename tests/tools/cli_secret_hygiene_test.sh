#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Secret hygiene of the CLI: `multichap login` (embedded target and against `multichap serve`)
# and `multichap serve --verbose`, on success and failure paths.
#   - a secret given on the command line (--secret, --secret-hex, --target-secret) triggers the
#     warning that names --secret-file / MULTICHAP_SECRET (--target-secret-file /
#     MULTICHAP_TARGET_SECRET), and the warning does not echo the secret;
#   - secrets from the environment or a file trigger no warning; exported secrets that the
#     command does not ask for (no --user / --target-user) are ignored, not a usage error;
#   - no secret (as text, hex or base64) appears in any stdout or stderr, nor a raw CHAP_R value:
#     the transcripts show CHAP_R only masked;
#   - usage and policy errors about secrets (too short, same in both directions) name the rule,
#     not the secret.
# usage: cli_secret_hygiene_test.sh /path/to/multichap
set -u
cli=${1:?usage: cli_secret_hygiene_test.sh /path/to/multichap}
work=$(mktemp -d)
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then
    kill "$serve_pid" 2>/dev/null
    wait "$serve_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
unset MULTICHAP_SECRET MULTICHAP_TARGET_SECRET

S='cli-hygiene-initiator-secret-4b1d'
TS='cli-hygiene-target-secret-9e27'
WRONG='cli-hygiene-wrong-secret-0c55'
SHORT='short-4b1d'
IQN='iqn.2026-11.org.multichap.test:hygiene'
checks=0
failures=0

pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }

hex_of() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
b64_of() { printf '%s' "$1" | base64 -w0; }

# no_secrets NAME FILE...: none of the secrets, in any encoding, in the files.
no_secrets() {
  local name=$1; shift
  local s form
  for s in "$S" "$TS" "$WRONG" "$SHORT"; do
    for form in "$s" "$(hex_of "$s")" "$(b64_of "$s")"; do
      if grep -qiF -- "$form" "$@"; then
        fail "$name: a secret leaked ('$form')"
        return
      fi
    done
  done
  # A CHAP_R is only ever shown masked.
  if grep -qE 'CHAP_R=0[xXbB]' "$@"; then
    fail "$name: an unmasked CHAP_R was printed"
    return
  fi
  pass
}

# expect_status NAME WANT GOT
expect_status() {
  if [ "$3" -eq "$2" ]; then pass; else fail "$1: exit status $3, expected $2"; fi
}

# expect_grep NAME PATTERN FILE / expect_no_grep NAME PATTERN FILE
expect_grep() {
  if grep -qF -- "$2" "$3"; then pass; else fail "$1: '$2' missing from $(basename "$3")"; fi
}
expect_no_grep() {
  if grep -qF -- "$2" "$3"; then fail "$1: unexpected '$2' in $(basename "$3")"; else pass; fi
}

# run NAME [env...] -- args...: runs the CLI with stdout/stderr captured in $work/NAME.{out,err}.
run() {
  local name=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$cli" "$@" >"$work/$name.out" 2>"$work/$name.err"
  echo $?
}

# 1. Secrets on the command line: warned about by name, never echoed.
st=$(run cmdline -- login --user alice --secret "$S" --target-user tgt --target-secret "$TS")
expect_status cmdline 0 "$st"
expect_grep cmdline "login succeeded" "$work/cmdline.out"
expect_grep cmdline "CHAP_R=<masked" "$work/cmdline.out"
expect_grep cmdline "warning: --secret puts the secret on the command line" "$work/cmdline.err"
expect_grep cmdline "prefer --secret-file or MULTICHAP_SECRET" "$work/cmdline.err"
expect_grep cmdline "prefer --target-secret-file or MULTICHAP_TARGET_SECRET" "$work/cmdline.err"
no_secrets cmdline "$work/cmdline.out" "$work/cmdline.err"

st=$(run hex -- login --user alice --secret-hex "$(hex_of "$S")" --target-user tgt \
  --target-secret-hex "0x$(hex_of "$TS")")
expect_status hex 0 "$st"
expect_grep hex "warning: --secret-hex puts the secret on the command line" "$work/hex.err"
expect_grep hex "prefer --secret-file or MULTICHAP_SECRET" "$work/hex.err"
no_secrets hex "$work/hex.out" "$work/hex.err"

# 2. From the environment or a file: no warning at all.
st=$(run env "MULTICHAP_SECRET=$S" "MULTICHAP_TARGET_SECRET=$TS" -- login --user alice \
  --target-user tgt)
expect_status env 0 "$st"
expect_no_grep env "warning" "$work/env.err"
no_secrets env "$work/env.out" "$work/env.err"

# Exported but not asked for (no --user, no --target-user): ignored, so the embedded target's
# demo still logs in with mutual CHAP (random secrets), without a usage error or a warning.
st=$(run ambient "MULTICHAP_SECRET=$S" "MULTICHAP_TARGET_SECRET=$TS" -- login)
expect_status ambient 0 "$st"
expect_grep ambient "mutual=yes" "$work/ambient.out"
expect_no_grep ambient "warning" "$work/ambient.err"
no_secrets ambient "$work/ambient.out" "$work/ambient.err"

printf '%s\n' "$S" >"$work/secret"
printf '%s\n' "$TS" >"$work/target-secret"
chmod 600 "$work/secret" "$work/target-secret"  # private, or refused (tools/secret_file.h)
st=$(run file -- login --user alice --secret-file "$work/secret" --target-user tgt \
  --target-secret-file "$work/target-secret")
expect_status file 0 "$st"
expect_no_grep file "warning" "$work/file.err"
no_secrets file "$work/file.out" "$work/file.err"

# 3. Errors about secrets name the rule, not the secret.
st=$(run short -- login --user alice --secret "$SHORT")
expect_status short 3 "$st"
expect_grep short "12 bytes" "$work/short.err"
no_secrets short "$work/short.out" "$work/short.err"

st=$(run same -- login --user alice --secret "$S" --target-user tgt --target-secret "$S")
expect_status same 3 "$st"
expect_grep same "the same secret may not authenticate both directions" "$work/same.err"
no_secrets same "$work/same.out" "$work/same.err"

st=$(run badhex -- login --user alice --secret-hex "zz$(hex_of "$S")")
expect_status badhex 2 "$st"
no_secrets badhex "$work/badhex.out" "$work/badhex.err"

# 4. `multichap serve --verbose` (every key logged, masked) against logins that succeed and fail.
"$cli" serve --listen 127.0.0.1:0 --target "$IQN" --user alice --secret "$S" \
  --target-user tgt --target-secret "$TS" --verbose >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/serve.out")
  [ -n "$port" ] && break
  sleep 0.05
done
if [ -z "$port" ]; then
  fail "serve did not start: $(cat "$work/serve.out" "$work/serve.err")"
else
  pass
  portal="127.0.0.1:$port"
  st=$(run ok "MULTICHAP_SECRET=$S" "MULTICHAP_TARGET_SECRET=$TS" -- login --portal "$portal" \
    --target "$IQN" --user alice --target-user tgt)
  expect_status ok 0 "$st"
  st=$(run oneway -- login --portal "$portal" --target "$IQN" --user alice --secret "$S")
  expect_status oneway 0 "$st"
  st=$(run wrong -- login --portal "$portal" --target "$IQN" --user alice --secret "$WRONG")
  expect_status wrong 1 "$st"
  expect_grep wrong "0x0201" "$work/wrong.err"
  st=$(run badtarget "MULTICHAP_SECRET=$S" -- login --portal "$portal" --target "$IQN" \
    --user alice --target-user tgt --target-secret "$WRONG")
  expect_status badtarget 1 "$st"
  for name in ok oneway wrong badtarget; do
    no_secrets "$name" "$work/$name.out" "$work/$name.err"
  done
  kill -TERM "$serve_pid"
  wait "$serve_pid"
  expect_status serve 0 $?
  serve_pid=""
  expect_grep serve "stopped: 2 logins succeeded, 2 failed" "$work/serve.out"
  expect_grep serve "CHAP_R=<masked" "$work/serve.out"
  expect_grep serve "prefer --secret-file or MULTICHAP_SECRET" "$work/serve.err"
  no_secrets serve "$work/serve.out" "$work/serve.err"
fi

echo "cli secret hygiene: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
