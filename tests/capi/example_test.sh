#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Builds examples/c_initiator against the *installed* package (cmake --install into a temporary
# prefix, pkg-config), then logs in with it:
#   - into `multichap serve` on 127.0.0.1: every algorithm with mutual CHAP, one-way, a wrong
#     initiator secret (exit 1), a wrong target secret (exit 1), plus usage and connection errors;
#   - into a private tgtd (MD5 one-way and mutual, wrong secret), when root and tgtd are present.
# One line per case, "N passed, M failed" at the end; non-zero exit on any failure.
# usage: example_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
src=$(cd "$2" && pwd) || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/multichap-example.XXXXXX") || exit 3

serve_pid='' tgtd_pid='' tgtd_control=''
stop_serve() {
  [ -n "$serve_pid" ] || return 0
  kill -TERM "$serve_pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$serve_pid" 2>/dev/null
  wait "$serve_pid" 2>/dev/null
  serve_pid=''
}
stop_tgtd() {  # tgtd ignores SIGTERM; it never removes its control socket files itself
  if [ -n "$tgtd_pid" ]; then
    kill -KILL "$tgtd_pid" 2>/dev/null
    wait "$tgtd_pid" 2>/dev/null
    tgtd_pid=''
  fi
  if [ -n "$tgtd_control" ]; then
    rm -f "/run/tgtd/socket.$tgtd_control" "/run/tgtd/socket.$tgtd_control.lock"
  fi
}
ini_pid='' fake_pid=''
cleanup() {
  # timeout(1) passes SIGTERM on to the example; the peers go next, then the files.
  [ -n "$ini_pid" ] && kill -TERM "$ini_pid" 2>/dev/null && wait "$ini_pid" 2>/dev/null
  [ -n "$fake_pid" ] && kill -KILL "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  stop_serve
  stop_tgtd
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() {
  failed=$((failed + 1)); echo "FAIL $1: $2"
  [ -s "$work/err" ] && sed 's/^/    stderr: /' "$work/err"
  return 0
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- 1. install, build the example against the installed package -----------------------------
if ! cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1; then
  cat "$work/install.log"; echo "FAIL install: cmake --install failed"; echo "0 passed, 1 failed"; exit 1
fi
pc=$(find "$work/prefix" -path '*/pkgconfig/multichap.pc' | head -n 1)
if [ -z "$pc" ]; then echo "FAIL install: no multichap.pc under the prefix"; echo "0 passed, 1 failed"; exit 1; fi
libdir=$(dirname "$(dirname "$pc")")
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs multichap) || {
  echo "FAIL pkg-config --cflags --libs multichap"; echo "0 passed, 1 failed"; exit 1; }
ini=$work/c_initiator
# shellcheck disable=SC2086  # $flags is a list of compiler options
if cc -std=c99 -Wall -Wextra -Werror -pedantic "$src/examples/c_initiator/c_initiator.c" \
     -o "$ini" $flags >"$work/cc.log" 2>&1; then
  pass "build: cc -std=c99 -Wall -Wextra -Werror -pedantic against the installed package"
else
  sed 's/^/    /' "$work/cc.log"; echo "FAIL build"; echo "$passed passed, 1 failed"; exit 1
fi
# The C test suite and docs/c-api.md's complete program, built the same way against the installed package:
# every function, the coreutils/rhash vectors, C initiator <-> C target for every algorithm x
# backend x one-way/mutual (tests/capi/capi_test.c prints "N passed, M failed").
version=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --modversion multichap)
# The backends of plain secrets as built (pkcs11 holds secrets by reference only and is not
# among multichap_backend_count()'s).
backends=$(sed -n 's/^MULTICHAP_BACKENDS:[A-Z]*=//p' "$build/CMakeCache.txt" | tr ';' '\n' |
  grep -vx pkcs11 | paste -sd, -)
# shellcheck disable=SC2086
if cc -std=c99 -Wall -Wextra -Werror -pedantic "$src/tests/capi/capi_test.c" -o "$work/capi_test" \
     $flags -lpthread >"$work/cc.log" 2>&1 &&
   LD_LIBRARY_PATH=$libdir "$work/capi_test" "$src/tests/vectors/chap.txt" "$version" \
     "${backends:-openssl,botan}" >"$work/capi.log" 2>"$work/err"; then
  pass "capi_test.c built with pkg-config against the installed package: $(tail -n 1 "$work/capi.log")"
else
  fail "capi_test.c against the installed package" "$(cat "$work/cc.log"; tail -n 3 "$work/capi.log")"
fi
python3 - "$src/docs/c-api.md" "$work/readme_example.c" <<'PY'
import sys
text = open(sys.argv[1]).read()
start = text.index("```c\n#include <multichap/multichap.h>") + len("```c\n")
open(sys.argv[2], "w").write(text[start:text.index("```", start)])
PY
# shellcheck disable=SC2086
if cc -std=c99 -Wall -Wextra -Werror -pedantic "$work/readme_example.c" -o "$work/readme_example" \
     $flags >"$work/cc.log" 2>&1 &&
   out=$(LD_LIBRARY_PATH=$libdir "$work/readme_example") && [ "$out" = "SHA-256 as host1, mutual=1" ]; then
  pass "docs/c-api.md's C example builds and prints: $out"
else
  fail "docs/c-api.md's C example" "$(cat "$work/cc.log") output: ${out:-}"
fi
resolved=$(LD_LIBRARY_PATH=$libdir ldd "$ini" | awk '/libmultichap\.so/ {print $3}')
if [ "$resolved" = "$libdir/libmultichap.so.0" ]; then
  pass "runtime: libmultichap.so.0 loads from the installed prefix"
else
  fail "runtime" "libmultichap resolves to '$resolved', not $libdir/libmultichap.so.0"
fi

# --- helpers ----------------------------------------------------------------------------------
# run_ini SECRET TARGET_SECRET ARGS...: runs the example (bounded); sets rc, out; stderr in $work/err.
# An empty TARGET_SECRET leaves MULTICHAP_TARGET_SECRET unset. Every output goes to all.log too.
run_ini() {
  local secret=$1 tsecret=$2; shift 2
  local -a envs=(-u MULTICHAP_SECRET -u MULTICHAP_TARGET_SECRET LD_LIBRARY_PATH="$libdir")
  [ -n "$secret" ] && envs+=(MULTICHAP_SECRET="$secret")
  [ -n "$tsecret" ] && envs+=(MULTICHAP_TARGET_SECRET="$tsecret")
  rc=0
  # In the background so that a signal to this script is handled at once (see cleanup).
  env "${envs[@]}" timeout 60 "${wrap[@]}" "$ini" "$@" >"$work/out" 2>"$work/err" &
  ini_pid=$!
  wait "$ini_pid" || rc=$?
  ini_pid=''
  out=$(cat "$work/out")
  cat "$work/out" "$work/err" >>"$work/all.log"
}
wrap=()
# expect_login NAME ALG MUTUAL SECRET TARGET_SECRET ARGS...
expect_login() {
  local name=$1 alg=$2 mutual=$3; shift 3
  run_ini "$@"
  local want="login succeeded: algorithm=$alg mutual=$mutual"$'\n'"logout: ok"
  if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then pass "$name"
  else fail "$name" "exit $rc, stdout: $(printf %q "$out")"; fi
}
# expect_exit NAME CODE STDERR_PATTERN SECRET TARGET_SECRET ARGS...
expect_exit() {
  local name=$1 code=$2 pattern=$3; shift 3
  run_ini "$@"
  if [ "$rc" -eq "$code" ] && [ -z "$out" ] && grep -Eq "$pattern" "$work/err"; then pass "$name"
  else fail "$name" "exit $rc (want $code), stdout $(printf %q "$out"), stderr must match /$pattern/"; fi
}

# start_serve ALGS: multichap serve on a free port, secrets from the environment (not argv).
start_serve() {
  local attempt
  for attempt in 1 2 3; do
    port=$(free_port)
    MULTICHAP_SECRET=$secret MULTICHAP_TARGET_SECRET=$tsecret "$build/bin/multichap" serve \
      --listen "127.0.0.1:$port" --target "$iqn" --user "$user" --target-user "$tuser" \
      --algs "$1" >"$work/serve.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 100); do  # 10 s at most
      grep -q "listening on 127.0.0.1:$port " "$work/serve.log" && return 0
      kill -0 "$serve_pid" 2>/dev/null || break
      sleep 0.1
    done
    stop_serve
  done
  sed 's/^/    serve: /' "$work/serve.log"
  return 1
}

# --- 2. against multichap serve ---------------------------------------------------------------
iqn=iqn.2026-11.org.example:c-example user=c-example-initiator tuser=c-example-target
secret='c-example-initiator-secret-1' tsecret='c-example-target-secret-22'
for alg in md5:5 sha1:6 sha256:7 sha3-256:8; do
  name=${alg%:*}
  if ! start_serve "$name"; then fail "serve --algs $name" "multichap serve did not start"; continue; fi
  # The initiator offers all four; the target allows only one, so each is negotiated in turn.
  expect_login "serve $name mutual" "$name" yes "$secret" "$tsecret" \
    -u "$user" -U "$tuser" -a 8,7,6,5 "127.0.0.1:$port" "$iqn"
  stop_serve
done
if start_serve md5,sha1,sha256,sha3-256; then
  expect_login "serve sha3-256 one-way (default offer)" sha3-256 no "$secret" "" \
    -u "$user" "127.0.0.1:$port" "$iqn"
  if "$build/bin/multichap" algorithms 2>/dev/null | grep -q botan; then
    expect_login "serve sha256 mutual, algorithms by name, -b botan" sha256 yes "$secret" \
      "$tsecret" -u "$user" -U "$tuser" -a sha256,md5 -b botan "127.0.0.1:$port" "$iqn"
  fi
  expect_exit "serve wrong secret -> 1" 1 '0x0201' "wrong-initiator-secret-9" "" \
    -u "$user" -a 8 "127.0.0.1:$port" "$iqn"
  expect_exit "serve wrong target secret (mutual) -> 1" 1 "target's CHAP_R" "$secret" \
    "another-target-secret-8" -u "$user" -U "$tuser" -a 7 "127.0.0.1:$port" "$iqn"
  expect_exit "serve unknown target -> 3" 3 '0x0203' "$secret" "" \
    -u "$user" "127.0.0.1:$port" iqn.2026-11.org.example:nobody
  if [ -x "$(command -v valgrind)" ]; then
    wrap=(valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite)
    expect_login "serve sha3-256 mutual under valgrind" sha3-256 yes "$secret" "$tsecret" \
      -u "$user" -U "$tuser" "127.0.0.1:$port" "$iqn"
    wrap=()
  else
    echo "SKIP valgrind: not installed"
  fi
  stop_serve
else
  fail "serve (all algorithms)" "multichap serve did not start"
fi
expect_exit "no secret in the environment -> 2" 2 'MULTICHAP_SECRET' "" "" "127.0.0.1:1" "$iqn"
expect_exit "secret under 12 bytes -> 2" 2 '12 bytes' "short-sec" "" "127.0.0.1:1" "$iqn"
expect_exit "bad algorithm list -> 2" 2 'algorithm' "$secret" "" -a 8,9 "127.0.0.1:1" "$iqn"
expect_exit "connection refused -> 3" 3 'cannot connect' "$secret" "" "127.0.0.1:$(free_port)" "$iqn"

# --- 3. against a scripted misbehaving target (what neither serve nor tgtd does) -------------
# MD5 CHAP in Python; MODE: cont (every response cut into 7-byte C=1 pieces), skipmutual
# (transits without answering our challenge), big (DataSegmentLength 70000), stall (never answers).
cat >"$work/fake_target.py" <<'PY'
import hashlib, os, socket, struct, sys
mode, port, secret, tsecret = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4].encode()
srv = socket.socket(); srv.bind(('127.0.0.1', port)); srv.listen(1); print('ready', flush=True)
srv.settimeout(30); c, _ = srv.accept(); c.settimeout(30)
def rd(n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: sys.exit(0)
        b += x
    return b
def recv():
    h = rd(48); n = int.from_bytes(h[5:8], 'big'); return h, rd((n + 3) & ~3)[:n]
def keys(d): return dict(p.split('=', 1) for p in d.decode().split('\0') if p)
def kv(**k): return b''.join(f'{a}={b}'.encode() + b'\0' for a, b in k.items())
statsn = [5]
def send(req, flags, text=b'', dsl=None):
    h = bytearray(48); h[0] = 0x23; h[1] = flags
    h[5:8] = (len(text) if dsl is None else dsl).to_bytes(3, 'big'); h[8:14] = req[8:14]
    if flags & 0x83 == 0x83: h[14:16] = b'\0\x07'  # TSIH in the final response
    h[16:20] = req[16:20]; h[24:28] = struct.pack('>I', statsn[0]); statsn[0] += 1
    h[28:32] = h[32:36] = req[24:28]
    c.sendall(bytes(h) + text + b'\0' * (-len(text) % 4))
def respond(req, flags, text):
    while mode == 'cont' and len(text) > 7:  # C=1 pieces, each acknowledged by an empty request
        send(req, (flags & 0x0c) | 0x40, text[:7]); text = text[7:]
        req, d = recv(); assert d == b'' and not req[1] & 0x40, 'bad acknowledgement'
    send(req, flags, text)
r, d = recv()
if mode == 'stall': rd(1)
if mode == 'big': send(r, 0x01, dsl=70000); rd(1)
respond(r, 0x01, kv(AuthMethod='CHAP', TargetPortalGroupTag=1))
r, d = recv(); ch = os.urandom(16)
respond(r, 0x01, kv(CHAP_A=5, CHAP_I=9, CHAP_C='0x' + ch.hex()))
r, d = recv(); k = keys(d)
assert bytes.fromhex(k['CHAP_R'][2:]) == hashlib.md5(bytes([9]) + secret + ch).digest(), 'bad CHAP_R'
t = 0x81 if r[1] & 0x80 else 0x01
if mode == 'skipmutual': send(r, 0x81); rd(1)
elif 'CHAP_C' in k:
    tr = hashlib.md5(bytes([int(k['CHAP_I'], 0)]) + tsecret + bytes.fromhex(k['CHAP_C'][2:])).hexdigest()
    respond(r, t, kv(CHAP_N='fake-target', CHAP_R='0x' + tr))
else: respond(r, t, b'')
while not r[1] & 0x80: r, d = recv(); send(r, 0x81)
r, d = recv(); assert r[1] == 0x87, 'operational request %x' % r[1]
respond(r, 0x87, kv(HeaderDigest='None', DataDigest='None', MaxRecvDataSegmentLength=8192))
r, d = recv(); assert r[0] == 0x46, 'logout %x' % r[0]
h = bytearray(48); h[0] = 0x26; h[1] = 0x80; h[16:20] = r[16:20]; c.sendall(bytes(h)); rd(1)
PY
start_fake() {  # start_fake MODE: sets port
  port=$(free_port)
  : >"$work/fake.log"  # emptied here: the background job's own redirection may come too late
  python3 "$work/fake_target.py" "$1" "$port" "$secret" "$tsecret" >"$work/fake.log" 2>&1 &
  fake_pid=$!
  for _ in $(seq 50); do grep -q ready "$work/fake.log" && return 0; sleep 0.1; done
  return 1
}
stop_fake() {
  kill -KILL "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; fake_pid=''
  if grep -q Error "$work/fake.log"; then sed 's/^/    fake target: /' "$work/fake.log"; return 1; fi
}
fake_case() {  # fake_case MODE expect_login|expect_exit NAME ...: "@PORT@" becomes the port
  local mode=$1 arg; shift
  local -a argv=()
  if ! start_fake "$mode"; then fail "$2" "fake target did not start"; stop_fake; return; fi
  for arg in "$@"; do argv+=("${arg//@PORT@/$port}"); done
  "${argv[@]}"
  stop_fake || fail "$2 (target side)" "the fake target saw a protocol error"
}
fake_case cont expect_login "fake target: C=1 continuations, one-way" md5 no "$secret" "" \
  -u "$user" -a 5 127.0.0.1:@PORT@ "$iqn"
fake_case cont expect_login "fake target: C=1 continuations, mutual" md5 yes "$secret" "$tsecret" \
  -u "$user" -U fake-target -a 5 127.0.0.1:@PORT@ "$iqn"
fake_case skipmutual expect_exit "fake target: transit without mutual proof -> 1" 1 \
  'did not answer our challenge' "$secret" "$tsecret" -u "$user" -U fake-target -a 5 \
  127.0.0.1:@PORT@ "$iqn"
fake_case big expect_exit "fake target: 70000-byte data segment -> 3" 3 '70000-byte' "$secret" "" \
  -u "$user" -a 5 127.0.0.1:@PORT@ "$iqn"
started=$(date +%s)
fake_case stall expect_exit "fake target: silent target -> 3 (10 s read timeout)" 3 'timed out' \
  "$secret" "" -u "$user" -a 5 127.0.0.1:@PORT@ "$iqn"
elapsed=$(( $(date +%s) - started ))
if [ "$elapsed" -le 20 ]; then pass "silent target gave up within ${elapsed} s"
else fail "read timeout" "took ${elapsed} s"; fi

# --- 4. against a private tgtd ----------------------------------------------------------------
tgtadm_() { timeout 10 tgtadm -C "$tgtd_control" "$@"; }
start_tgtd() {
  local attempt n
  for attempt in 1 2 3 4 5; do
    n=$(( 30000 + ($$ * 7 + attempt * 397) % 2700 ))  # 10000-29999 belong to the C++ tests
    [ -e "/run/tgtd/socket.$n.lock" ] && continue
    tgtd_control=$n tgt_port=$(free_port)
    tgtd -f -C "$n" --iscsi "portal=127.0.0.1:$tgt_port" >"$work/tgtd.log" 2>&1 &
    tgtd_pid=$!
    for _ in $(seq 50); do  # 5 s at most
      kill -0 "$tgtd_pid" 2>/dev/null || break
      tgtadm_ --op show --mode sys 2>/dev/null | grep -q 'State: ready' && break
      sleep 0.1
    done
    # tgtd keeps running without its portal when the port is taken: check it listens there.
    kill -0 "$tgtd_pid" 2>/dev/null &&
      tgtadm_ --lld iscsi --op show --mode portal 2>/dev/null | grep -q "127.0.0.1:$tgt_port," &&
      return 0
    # Another tgtd won this control number: its socket files are not ours to remove.
    grep -q 'another tgtd is using' "$work/tgtd.log" && tgtd_control=''
    stop_tgtd
    tgtd_control=''
  done
  return 1
}
if [ "$(id -u)" -ne 0 ] || ! command -v tgtd >/dev/null || ! command -v tgtadm >/dev/null; then
  echo "SKIP tgtd: needs root and tgtd/tgtadm (tgt package)"
elif ! start_tgtd; then
  fail "tgtd start" "$(tr '\n' ' ' <"$work/tgtd.log")"
else
  tiqn=iqn.2026-11.org.example:c-example-tgt tu=c-example-tgt-initiator tt=c-example-tgt-target
  ts='tgt-initiator-secret-1' tts='tgt-target-secret-22'
  truncate -s 1M "$work/lun.img"
  if tgtadm_ --lld iscsi --op new --mode target --tid 1 -T "$tiqn" &&
     tgtadm_ --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$work/lun.img" &&
     tgtadm_ --lld iscsi --op bind --mode target --tid 1 -I ALL &&
     tgtadm_ --lld iscsi --op new --mode account --user "$tu" --password "$ts" &&
     tgtadm_ --lld iscsi --op bind --mode account --tid 1 --user "$tu" &&
     tgtadm_ --lld iscsi --op new --mode account --user "$tt" --password "$tts" &&
     tgtadm_ --lld iscsi --op bind --mode account --tid 1 --user "$tt" --outgoing \
       >"$work/tgtadm.log" 2>&1; then
    # tgt knows MD5 and SHA-1 under the non-IANA number 7, so MD5 only (-a 5).
    expect_login "tgtd md5 one-way" md5 no "$ts" "" -u "$tu" -a 5 "127.0.0.1:$tgt_port" "$tiqn"
    expect_login "tgtd md5 mutual" md5 yes "$ts" "$tts" -u "$tu" -U "$tt" -a 5 "127.0.0.1:$tgt_port" "$tiqn"
    expect_exit "tgtd wrong secret -> 1" 1 '0x0201' "wrong-tgt-secret-3" "" -u "$tu" -a 5 \
      "127.0.0.1:$tgt_port" "$tiqn"
  else
    fail "tgtd configuration" "tgtadm failed: $(tr '\n' ' ' <"$work/tgtadm.log")"
  fi
  n=$tgtd_control pid=$tgtd_pid
  stop_tgtd
  if ! kill -0 "$pid" 2>/dev/null && [ ! -e "/run/tgtd/socket.$n" ] && [ ! -e "/run/tgtd/socket.$n.lock" ]; then
    pass "tgtd stopped (SIGKILL), control socket files removed"
  else
    fail "tgtd stop" "tgtd $pid still running or /run/tgtd/socket.$n* left"
  fi
  tgtd_control=''
fi

# --- 5. secrets never shown -------------------------------------------------------------------
leaked=0
for s in "$secret" "$tsecret" wrong-initiator-secret-9 another-target-secret-8 short-sec \
         tgt-initiator-secret-1 tgt-target-secret-22 wrong-tgt-secret-3; do
  grep -qF -- "$s" "$work/all.log" && leaked=1
done
if [ "$leaked" = 0 ]; then pass "no secret in any stdout/stderr of the example"
else fail "secret hygiene" "a secret appears in the example's output"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
