#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The CLI's side of secret keeping:
#   1. One rule for secret files (tools/secret_file.h): a file that group or others may read
#      (mode 0644, 0640) is refused with exit 2 and a message naming the file, its mode and
#      `chmod 600` by every reader: --secret-file and --target-secret-file of response, login,
#      discover and serve, serve --config's secret_file (and --check-config), and open-iscsi's
#      files (login --iscsid-conf, --node-record); at 0600 the same file is taken.
#   2. serve is non-dumpable by default and says so; --allow-core-dumps keeps it dumpable. The
#      observable (as root): serve runs as user nobody; the kernel makes the files under
#      /proc/PID of a non-dumpable process root-owned, so the same user (nobody) can no longer
#      read /proc/PID/environ; with --allow-core-dumps they are nobody's and nobody reads them.
#   3. serve's secret arena in /proc/PID/smaps: a mapping flagged dd (MADV_DONTDUMP) and wf
#      (MADV_WIPEONFORK) with Locked: > 0 kB; serve prints the arena's status at start-up.
#   4. serve --config with ten accounts and --allow-core-dumps, 100 logins (`multichap login` in
#      a loop, ten per account), then gcore: no account secret is in its core, while every
#      account name (CHAP_N, ordinary heap: the control) is.
#   5. Locking refused (no CAP_IPC_LOCK, RLIMIT_MEMLOCK 0): `algorithms` says NOT LOCKED, the
#      warning comes once, and a login still works.
# Parts 2, 4 and 5 need root, setpriv/capsh and gdb; they are skipped (and said so) without.
# Parts 3-5 are skipped in an AddressSanitizer build, where the arena is off.
set -u
cli=${1:?usage: cli_secret_arena_test.sh /path/to/multichap}
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
unset MULTICHAP_SECRET MULTICHAP_TARGET_SECRET
checks=0
failures=0
pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }
IQN='iqn.2026-11.org.multichap.test:arena'
S='arena-initiator-secret-7c1e'
TS='arena-target-secret-2f9a'

# ---- 1. secret files -------------------------------------------------------------------------
printf '%s\n' "$S" >"$work/secret"
printf '%s\n' "$TS" >"$work/target-secret"
cat >"$work/iscsid.conf" <<CONF
node.session.auth.authmethod = CHAP
node.session.auth.username = alice
node.session.auth.password = $S
CONF
cat >"$work/node" <<CONF
node.name = $IQN
node.conn[0].address = 127.0.0.1
node.conn[0].port = 1
node.session.auth.authmethod = CHAP
node.session.auth.username = alice
node.session.auth.password = $S
CONF
cat >"$work/target.toml" <<CONF
listen = "127.0.0.1:0"
[accounts.alice]
secret_file = "secret"
[[targets]]
name = "$IQN"
initiators = "all"
accounts = ["alice"]
CONF
chmod 600 "$work/target.toml"

# expect_refused NAME FILE ARGS...: with FILE at 0644 (and 0640), exit 2 naming FILE, its mode
# and chmod 600; at 0600 not refused for its mode.
expect_refused() {
  local name=$1 file=$2; shift 2
  local mode st
  for mode in 644 640 604; do
    chmod "$mode" "$file"
    timeout 20 "$cli" "$@" >"$work/out" 2>"$work/err" </dev/null
    st=$?
    if [ "$st" -ne 2 ]; then
      fail "$name at $mode: exit $st, want 2 ($(head -c 300 "$work/err"))"
    elif ! grep -qF "$file" "$work/err" || ! grep -qF "mode 0$mode" "$work/err" ||
        ! grep -qF "chmod 600" "$work/err"; then
      fail "$name at $mode: message does not name the file, mode 0$mode and chmod 600: $(cat "$work/err")"
    elif grep -qF "$S" "$work/err" "$work/out"; then
      fail "$name at $mode: the secret was printed"
    else
      pass
    fi
  done
  chmod 600 "$file"
  # (serve would run: 3 s are enough to see whether it refused the file)
  timeout 3 "$cli" "$@" >"$work/out" 2>"$work/err" </dev/null
  if grep -qF "chmod 600" "$work/err"; then
    fail "$name at 600: still refused: $(cat "$work/err")"
  else
    pass
  fi
}

expect_refused "response --secret-file" "$work/secret" \
  response --alg md5 --id 1 --challenge 0x0011 --secret-file "$work/secret"
expect_refused "login --secret-file" "$work/secret" \
  login --portal 127.0.0.1:1 --target "$IQN" --user alice --secret-file "$work/secret" --timeout 1 --retries 0
expect_refused "login --target-secret-file" "$work/target-secret" \
  login --portal 127.0.0.1:1 --target "$IQN" --user alice --secret-file "$work/secret" \
  --target-user tgt --target-secret-file "$work/target-secret" --timeout 1 --retries 0
expect_refused "discover --secret-file" "$work/secret" \
  discover --portal 127.0.0.1:1 --user alice --secret-file "$work/secret" --timeout 1
expect_refused "serve --secret-file" "$work/secret" \
  serve --listen 127.0.0.1:0 --target "$IQN" --user alice --secret-file "$work/secret" \
  --target-user tgt --target-secret-file "$work/target-secret" --threads 1
expect_refused "serve --target-secret-file" "$work/target-secret" \
  serve --listen 127.0.0.1:0 --target "$IQN" --user alice --secret-file "$work/secret" \
  --target-user tgt --target-secret-file "$work/target-secret" --threads 1
expect_refused "serve --check-config secret_file" "$work/secret" serve --check-config "$work/target.toml"
expect_refused "serve --config secret_file" "$work/secret" serve --config "$work/target.toml"
expect_refused "login --iscsid-conf" "$work/iscsid.conf" \
  login --iscsid-conf "$work/iscsid.conf" --portal 127.0.0.1:1 --target "$IQN" --timeout 1 --retries 0
expect_refused "login --node-record" "$work/node" login --node-record "$work/node" --timeout 1 --retries 0
# At 0600 the secret file gives the response computed from the secret.
want=0x$({ printf '\x01'; printf '%s' "$S"; printf '\x00\x11'; } | md5sum | cut -c1-32)
got=$("$cli" response --alg md5 --id 1 --challenge 0x0011 --secret-file "$work/secret" 2>/dev/null)
[ "$got" = "$want" ] && pass || fail "response from a 0600 file: '$got', want '$want'"

# ---- helpers for running serve --------------------------------------------------------------
# start_serve OUT ARGS...: runs serve in the background, waits for "listening on"; sets
# serve_pid and serve_portal.
start_serve() {
  local out=$1; shift
  "$@" >"$out" 2>"$out.err" &
  serve_pid=$!
  pids+=("$serve_pid")
  for _ in $(seq 1 200); do
    if grep -q '^listening on' "$out" 2>/dev/null; then
      serve_portal=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$out" | head -1)
      return 0
    fi
    sleep 0.05
  done
  fail "serve did not start: $(cat "$out" "$out.err")"
  return 1
}
stop_serve() {
  kill "$serve_pid" 2>/dev/null
  wait "$serve_pid" 2>/dev/null
}

as_root=no
[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && as_root=yes
# An AddressSanitizer build runs with the arena off (secrets on the ordinary heap, so ASan sees
# them): parts 3 to 5 have nothing to check there, and gcore of an ASan process would write its
# whole shadow memory (tens of GB).
arena=on
"$cli" algorithms | grep -q '^secret arena: off' && arena=off
[ "$arena" = off ] && echo "skip: parts 3-5, the secret arena is off in this build ($("$cli" algorithms | grep '^secret arena'))"

# ---- 2. non-dumpable by default --------------------------------------------------------------
if [ "$as_root" = yes ]; then
  nobody_uid=$(id -u nobody)
  nobody_gid=$(id -g nobody)
  cp "$work/secret" "$work/nobody.secret"
  cp "$work/target-secret" "$work/nobody.target-secret"
  chown nobody "$work/nobody.secret" "$work/nobody.target-secret"
  chmod 600 "$work/nobody.secret" "$work/nobody.target-secret"
  as_nobody=(setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups)
  serve_args=(serve --listen 127.0.0.1:0 --target "$IQN" --user alice --secret-file
    "$work/nobody.secret" --target-user tgt --target-secret-file "$work/nobody.target-secret"
    --threads 1)
  for mode in default allow; do
    extra=()
    [ "$mode" = allow ] && extra=(--allow-core-dumps)
    if start_serve "$work/serve-$mode.out" "${as_nobody[@]}" "$cli" "${serve_args[@]}" "${extra[@]}"; then
      owner=$(stat -c %u "/proc/$serve_pid/environ")
      real=$(awk '/^Uid:/ {print $2}' "/proc/$serve_pid/status")
      if "${as_nobody[@]}" cat "/proc/$serve_pid/environ" >/dev/null 2>&1; then readable=yes; else readable=no; fi
      if [ "$mode" = default ]; then
        grep -q '^core dumps: off' "$work/serve-$mode.out" && pass ||
          fail "serve does not say core dumps are off: $(cat "$work/serve-$mode.out")"
        [ "$real" = "$nobody_uid" ] && [ "$owner" = 0 ] && [ "$readable" = no ] && pass ||
          fail "serve (uid $real) is dumpable: /proc/PID owned by $owner, environ readable by nobody: $readable"
      else
        grep -q '^core dumps: allowed' "$work/serve-$mode.out" && pass ||
          fail "serve --allow-core-dumps does not say so: $(cat "$work/serve-$mode.out")"
        [ "$owner" = "$nobody_uid" ] && [ "$readable" = yes ] && pass ||
          fail "serve --allow-core-dumps is not dumpable: /proc/PID owned by $owner, environ readable: $readable"
      fi
      # ---- 3. the arena in smaps (as nobody: RLIMIT_MEMLOCK applies) ----
      if [ "$mode" = default ] && [ "$arena" = on ]; then
        grep -q '^secret arena: on' "$work/serve-$mode.out" && pass ||
          fail "serve does not report the secret arena: $(cat "$work/serve-$mode.out")"
        arena=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {locked = 0} /^Locked:/ {locked = $2}
                     /^VmFlags:/ {dd = 0; wf = 0; for (i = 2; i <= NF; i++) {if ($i == "dd") dd = 1; if ($i == "wf") wf = 1}
                                  if (dd && wf && locked > 0) n++} END {print n + 0}' "/proc/$serve_pid/smaps")
        [ "$arena" -gt 0 ] && pass || fail "no locked mapping flagged dd and wf in serve's smaps"
      fi
      stop_serve
    fi
  done
else
  echo "skip: parts 2 and 3 need root and setpriv"
fi

# ---- 4. serve --config, ten accounts, 100 logins, gcore --------------------------------------
if [ "$as_root" = yes ] && [ "$arena" = on ] && command -v gcore >/dev/null; then
  {
    echo 'listen = "127.0.0.1:0"'
    echo '[defence]'
    echo 'enabled = false'
    for i in $(seq 0 9); do
      printf 'arena-account-secret-%02d-%s\n' "$i" "$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
        >"$work/account$i.secret"
      chmod 600 "$work/account$i.secret"
      echo "[accounts.\"arena-user-$i\"]"
      echo "secret_file = \"account$i.secret\""
    done
    echo '[[targets]]'
    echo "name = \"$IQN\""
    echo 'initiators = "all"'
    printf 'accounts = ['
    for i in $(seq 0 9); do printf '"arena-user-%d"%s' "$i" "$([ "$i" -lt 9 ] && echo ,)"; done
    echo ']'
  } >"$work/ten.toml"
  chmod 600 "$work/ten.toml"
  if start_serve "$work/ten.out" "$cli" serve --config "$work/ten.toml" --allow-core-dumps; then
    ok=0
    for n in $(seq 0 99); do
      i=$((n % 10))
      "$cli" login --portal "$serve_portal" --target "$IQN" --user "arena-user-$i" \
        --secret-file "$work/account$i.secret" --quiet >/dev/null 2>&1 && ok=$((ok + 1))
    done
    [ "$ok" = 100 ] && pass || fail "$ok of 100 logins succeeded"
    if gcore -o "$work/core" "$serve_pid" >"$work/gcore.log" 2>&1; then
      core="$work/core.$serve_pid"
      found=0
      for i in $(seq 0 9); do
        secret=$(head -n1 "$work/account$i.secret")
        grep -qaF "$secret" "$core" && found=$((found + 1))
      done
      [ "$found" = 0 ] && pass || fail "$found of 10 account secrets are in serve's core"
      names=0
      for i in $(seq 0 9); do grep -qaF "arena-user-$i" "$core" && names=$((names + 1)); done
      [ "$names" = 10 ] && pass || fail "control: only $names of 10 account names found in the core"
      rm -f "$core"
    else
      fail "gcore failed: $(cat "$work/gcore.log")"
    fi
    stop_serve
  fi
else
  echo "skip: part 4 needs root and gcore"
fi

# ---- 5. locking refused ------------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && [ "$arena" = on ] && command -v capsh >/dev/null; then
  capsh --drop=cap_ipc_lock -- -c "ulimit -l 0; exec '$cli' algorithms" >"$work/alg.out" 2>"$work/alg.err"
  grep -q '^secret arena: on, NOT LOCKED' "$work/alg.out" && pass ||
    fail "algorithms without mlock: $(grep arena "$work/alg.out")"
  [ "$(grep -c 'cannot lock secret memory' "$work/alg.err")" = 1 ] && pass ||
    fail "the lock failure is not said exactly once: $(cat "$work/alg.err")"
  capsh --drop=cap_ipc_lock -- -c "ulimit -l 0; exec '$cli' login --quiet" >"$work/unlocked.out" 2>&1
  grep -q 'login succeeded' "$work/unlocked.out" && pass ||
    fail "a login without locked memory: $(cat "$work/unlocked.out")"
else
  echo "skip: part 5 needs root and capsh"
fi

echo "cli_secret_arena_test: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
