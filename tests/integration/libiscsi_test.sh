#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# libiscsi 1.19.0 patched to authenticate with libmultichap (integrations/libiscsi), against real
# targets on loopback:
#   - `multichap serve` (login phase and SendTargets only, no SCSI): for each algorithm forced
#     with --algs, iscsi-ls (discovery session) and iscsi-inq (normal session: the login succeeds,
#     serve then rejects the SCSI command) log in with mutual CHAP, and the algorithm serve reports
#     is the one libiscsi reports; a wrong initiator secret ends in libiscsi's usual
#     "Authentication failure(513)", a wrong target secret in "Authentication failure (mutual
#     CHAP: ...)";
#   - the offer: 8,7,6,5 by default; LIBISCSI_CHAP_ALGORITHMS=sha256 and the URL argument
#     chap_algorithms=sha256 offer CHAP_A=7 only (serve --verbose logs the offer received); a bad
#     list fails with a clear error;
#   - a fake target that closes the connection at every CHAP_A offer (as Linux LIO before 3.15 did
#     with lists): libiscsi narrows its offer and reconnects, once per remaining offer, then fails
#     with a clear error (the offer fallback on a closed connection is bounded);
#   - a stock Debian tgtd (which numbers SHA-1 as 7 and refuses our SHA-256 response with 0x0200):
#     iscsi-inq prints the inquiry data with one-way and with mutual CHAP and no flag (the offer
#     fallback ends on MD5), a wrong secret fails with 513, and a program that reconnects
#     (iscsi_reconnect_sync) does not offer again what tgt refused (built with cc if present).
#
#   libiscsi_test.sh MULTICHAP_CLI LIBISCSI_DEST
# MULTICHAP_CLI: the multichap binary; LIBISCSI_DEST: what integrations/libiscsi/build.sh
# installed. Runs as root (tgtd). Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
export LC_ALL=C
unset LIBISCSI_DEBUG LIBISCSI_CHAP_USERNAME LIBISCSI_CHAP_PASSWORD LIBISCSI_CHAP_TARGET_USERNAME \
  LIBISCSI_CHAP_TARGET_PASSWORD LIBISCSI_CHAP_ALGORITHMS MULTICHAP_BACKEND_PATH

usage="usage: $0 MULTICHAP_CLI LIBISCSI_DEST"
mc=$(readlink -f "${1:?$usage}")
dest=$(readlink -f "${2:?$usage}")

skip() {
  echo "SKIP: $*"
  exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (tgtd)"
[ -x "$mc" ] || { echo "FAIL: $mc is not an executable"; exit 1; }
for tool in iscsi-ls iscsi-inq; do
  [ -x "$dest/bin/$tool" ] || { echo "FAIL: $dest/bin/$tool missing (run build.sh first)"; exit 1; }
done
for tool in /usr/sbin/tgtd /usr/sbin/tgtadm python3 timeout; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libiscsi_test.XXXXXX")
pids=()
tgt_n=""
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$tgt_n" ] && rm -f "/run/tgtd/socket.$tgt_n" "/run/tgtd/socket.$tgt_n.lock"
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
pass() { echo "ok: $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for FILE PATTERN [TENTHS]: until grep finds PATTERN in FILE, at most TENTHS/10 s (default 5 s).
wait_for() {
  local i
  for ((i = 0; i < ${3:-50}; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# libiscsi TOOL URL [ENV=VALUE...]: runs DEST/bin/TOOL with debug logs; output in $tmp/out, exit
# status in $rc.
libiscsi() {
  local tool=$1 url=$2
  shift 2
  env LD_LIBRARY_PATH="$dest/lib" LIBISCSI_DEBUG=2 "$@" timeout 20 "$dest/bin/$tool" "$url" \
    >"$tmp/out" 2>&1
  rc=$?
}
show() { sed 's/^/    | /' "$tmp/out"; }

iqn=iqn.2026-12.org.multichap:libiscsi-test
user=libiscsi-user
secret=initiator-secret-0123
tuser=target-user
tsecret=target-secret-4567

# ---- multichap serve -----------------------------------------------------------------------------
serve_log=""
serve_port=""
# start_serve NAME ARGS...: a serve with mutual CHAP credentials; sets serve_log and serve_port.
start_serve() {
  local name=$1
  shift
  serve_log="$tmp/serve-$name.log"
  MULTICHAP_SECRET=$secret MULTICHAP_TARGET_SECRET=$tsecret \
    "$mc" serve --listen 127.0.0.1:0 --target "$iqn" --user "$user" --target-user "$tuser" \
    --verbose "$@" >"$serve_log" 2>&1 &
  pids+=($!)
  wait_for "$serve_log" "listening on" || { echo "FAIL: serve did not start"; cat "$serve_log"; exit 1; }
  serve_port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$serve_log")
}

declare -A long_name=([md5]=MD5 [sha1]=SHA-1 [sha256]=SHA-256 [sha3-256]=SHA3-256)
mutual="?target_user=$tuser&target_password=$tsecret"
for alg in md5 sha1 sha256 sha3-256; do
  start_serve "$alg" --algs "$alg"
  base="iscsi://$user%$secret@127.0.0.1:$serve_port"

  libiscsi iscsi-ls "$base$mutual"
  if [ "$rc" = 0 ] && grep -q "^Target:$iqn Portal:127.0.0.1:$serve_port" "$tmp/out" &&
    grep -q "CHAP succeeded with ${long_name[$alg]}, target authenticated (mutual CHAP)" "$tmp/out" &&
    wait_for "$serve_log" "succeeded: algorithm=$alg mutual=yes" &&
    [ "$(grep -c "succeeded: algorithm=$alg mutual=yes" "$serve_log")" = 1 ]; then
    pass "$alg: iscsi-ls discovery with mutual CHAP, serve and libiscsi agree on ${long_name[$alg]}"
  else
    fail "$alg: iscsi-ls discovery with mutual CHAP (exit $rc)"
    show
    cat "$serve_log"
  fi

  # A normal session: the login succeeds, then serve (no SCSI) rejects the INQUIRY.
  libiscsi iscsi-inq "$base/$iqn/0$mutual"
  if grep -q "CHAP succeeded with ${long_name[$alg]}, target authenticated" "$tmp/out" &&
    grep -q "login successful" "$tmp/out" &&
    wait_for "$serve_log" "iscsi-inq) succeeded: algorithm=$alg mutual=yes"; then
    pass "$alg: iscsi-inq normal-session login with mutual CHAP"
  else
    fail "$alg: iscsi-inq normal-session login with mutual CHAP"
    show
    cat "$serve_log"
  fi
done

start_serve all
base="iscsi://$user%$secret@127.0.0.1:$serve_port"

# offers_since LINE: the CHAP_A offers serve received after line LINE of its log.
offers_since() { tail -n "+$(($1 + 1))" "$serve_log" | sed -n 's/^ *<- .*\(CHAP_A=[0-9,]*\).*/\1/p' | tr '\n' ' '; }

mark=$(wc -l <"$serve_log")
libiscsi iscsi-ls "$base"
wait_for "$serve_log" "logout from" || true
offers=$(offers_since "$mark")
if [ "$rc" = 0 ] && [ "$offers" = "CHAP_A=8,7,6,5 " ] && grep -q "CHAP succeeded with SHA3-256$" "$tmp/out"; then
  pass "default offer 8,7,6,5, one-way CHAP with SHA3-256"
else
  fail "default offer (exit $rc, offers: $offers)"
  show
fi

mark=$(wc -l <"$serve_log")
libiscsi iscsi-ls "$base" LIBISCSI_CHAP_ALGORITHMS=sha256
sleep 0.2
offers=$(offers_since "$mark")
if [ "$rc" = 0 ] && [ "$offers" = "CHAP_A=7 " ] && grep -q "CHAP succeeded with SHA-256" "$tmp/out"; then
  pass "LIBISCSI_CHAP_ALGORITHMS=sha256 offers CHAP_A=7 only"
else
  fail "LIBISCSI_CHAP_ALGORITHMS=sha256 (exit $rc, offers: $offers)"
  show
fi

mark=$(wc -l <"$serve_log")
libiscsi iscsi-ls "$base?chap_algorithms=sha256"
sleep 0.2
offers=$(offers_since "$mark")
if [ "$rc" = 0 ] && [ "$offers" = "CHAP_A=7 " ]; then
  pass "URL chap_algorithms=sha256 offers CHAP_A=7 only"
else
  fail "URL chap_algorithms=sha256 (exit $rc, offers: $offers)"
  show
fi

mark=$(wc -l <"$serve_log")
libiscsi iscsi-ls "$base?chap_algorithms=5,sha3-256" LIBISCSI_CHAP_ALGORITHMS=sha1
sleep 0.2
offers=$(offers_since "$mark")
if [ "$rc" = 0 ] && [ "$offers" = "CHAP_A=5,8 " ] && grep -q "CHAP succeeded with MD5" "$tmp/out"; then
  pass "the URL argument overrides the environment, in its order (CHAP_A=5,8)"
else
  fail "URL chap_algorithms=5,sha3-256 over LIBISCSI_CHAP_ALGORITHMS=sha1 (exit $rc, offers: $offers)"
  show
fi

libiscsi iscsi-ls "$base" LIBISCSI_CHAP_ALGORITHMS=sha256,whirlpool
if [ "$rc" != 0 ] && grep -q 'Invalid CHAP algorithm "whirlpool" in "sha256,whirlpool"' "$tmp/out"; then
  pass "a bad LIBISCSI_CHAP_ALGORITHMS fails the login with a clear error"
else
  fail "bad LIBISCSI_CHAP_ALGORITHMS (exit $rc)"
  show
fi
libiscsi iscsi-ls "$base?chap_algorithms=md5,5"
if [ "$rc" != 0 ] && grep -q 'CHAP algorithm "5" repeated in "md5,5"' "$tmp/out"; then
  pass "a repeated algorithm in the URL is refused"
else
  fail "repeated algorithm in the URL (exit $rc)"
  show
fi

libiscsi iscsi-ls "iscsi://$user%wrong-secret-0123@127.0.0.1:$serve_port"
if [ "$rc" != 0 ] && grep -q "Authentication failure(513)" "$tmp/out" &&
  wait_for "$serve_log" "failed: 0x0201"; then
  pass "wrong initiator secret: Authentication failure(513)"
else
  fail "wrong initiator secret (exit $rc)"
  show
fi

libiscsi iscsi-ls "$base?target_user=$tuser&target_password=wrong-target-secret"
if [ "$rc" != 0 ] && grep -q "Authentication failure (mutual CHAP: " "$tmp/out" &&
  ! grep -q "login successful" "$tmp/out"; then
  pass "wrong target secret (mutual): Authentication failure (mutual CHAP: ...)"
else
  fail "wrong target secret (exit $rc)"
  show
fi

libiscsi iscsi-ls "$base?target_user=someone-else&target_password=$tsecret"
if [ "$rc" != 0 ] && grep -q "Authentication failure (mutual CHAP: " "$tmp/out"; then
  pass "wrong target CHAP_N (mutual): authentication failure"
else
  fail "wrong target CHAP_N (exit $rc)"
  show
fi

for p in "${secret}" "${tsecret}"; do
  if grep -q -- "$p" "$serve_log" "$tmp/out"; then fail "a secret appears in a log"; fi
done

# ---- a target that closes the connection at our offer ---------------------------------------
cat >"$tmp/closer.py" <<'PY'
# Answers the leading login request with AuthMethod=CHAP, then closes the connection when a
# CHAP_A offer arrives; appends each offer to argv[1]. Prints its port.
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
print(srv.getsockname()[1], flush=True)
def read(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b
while True:
    c, _ = srv.accept()
    try:
        while True:
            h = read(c, 48)
            n = int.from_bytes(h[5:8], "big")
            data = read(c, (n + 3) & ~3)[:n].decode()
            keys = dict(kv.split("=", 1) for kv in data.split("\0") if "=" in kv)
            if "CHAP_A" in keys:
                with open(sys.argv[1], "a") as log:
                    log.write("CHAP_A=%s\n" % keys["CHAP_A"])
                break
            body = b"AuthMethod=CHAP\0"
            r = bytearray(48)
            r[0] = 0x23                     # Login Response, CSG=NSG=security, T=0
            r[5:8] = len(body).to_bytes(3, "big")
            r[8:20] = h[8:20]               # ISID, TSIH, ITT
            r[24:28] = (1).to_bytes(4, "big")
            r[28:36] = h[24:28] * 2         # ExpCmdSN, MaxCmdSN = CmdSN
            c.sendall(bytes(r) + body + b"\0" * (-len(body) % 4))
    except EOFError:
        pass
    c.close()
PY
python3 "$tmp/closer.py" "$tmp/closer.log" >"$tmp/closer.port" 2>&1 &
pids+=($!)
wait_for "$tmp/closer.port" "^[0-9]" || { echo "FAIL: closer.py did not start"; exit 1; }
closer_port=$(cat "$tmp/closer.port")
libiscsi iscsi-ls "iscsi://$user%$secret@127.0.0.1:$closer_port"
offers=$(tr '\n' ' ' <"$tmp/closer.log" 2>/dev/null)
if [ "$rc" != 0 ] && [ "$offers" = "CHAP_A=8,7,6,5 CHAP_A=8 CHAP_A=7 CHAP_A=6 CHAP_A=5 " ] &&
  grep -q "The target closed the connection during CHAP authentication" "$tmp/out"; then
  pass "a target closing at every offer: the fallback tries each single value once, then fails"
else
  fail "target closing at the offer (exit $rc, offers: $offers)"
  show
fi

# ---- stock tgtd ------------------------------------------------------------------------------
tgt_port=$(free_port)
for tgt_n in $(seq $((tgt_port % 5000 + 1000)) $((tgt_port % 5000 + 1100))); do
  [ -e "/run/tgtd/socket.$tgt_n" ] || break
done
mkdir -p /run/tgtd
/usr/sbin/tgtd -f -C "$tgt_n" --iscsi "portal=127.0.0.1:$tgt_port" >"$tmp/tgtd.log" 2>&1 &
pids+=($!)
tgtadm() { /usr/sbin/tgtadm -C "$tgt_n" "$@" >>"$tmp/tgtadm.log" 2>&1; }
for ((i = 0; i < 50; i++)); do
  tgtadm --op show --mode sys && break
  sleep 0.1
done
tgt_iqn=iqn.2026-12.org.multichap:tgt-lun
truncate -s 8M "$tmp/lun.img"
if ! { tgtadm --lld iscsi --op new --mode target --tid 1 -T "$tgt_iqn" &&
  tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$tmp/lun.img" &&
  tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL &&
  tgtadm --lld iscsi --op new --mode account --user "$user" --password "$secret" &&
  tgtadm --lld iscsi --op new --mode account --user "$tuser" --password "$tsecret" &&
  tgtadm --lld iscsi --op bind --mode account --tid 1 --user "$user"; }; then
  echo "FAIL: configuring tgtd"
  cat "$tmp/tgtadm.log" "$tmp/tgtd.log"
  exit 1
fi

tgt_url="iscsi://$user%$secret@127.0.0.1:$tgt_port/$tgt_iqn/1"
libiscsi iscsi-inq "$tgt_url"
if [ "$rc" = 0 ] && grep -q "Peripheral Device Type:DIRECT_ACCESS" "$tmp/out" &&
  grep -q "Vendor:IET" "$tmp/out" &&
  grep -q "refused our offer (login status 0x0200); logging in again offering CHAP_A=8,6,5" "$tmp/out" &&
  grep -q "CHAP succeeded with MD5\( \[.*\]\)\?$" "$tmp/out"; then
  pass "tgtd: iscsi-inq with CHAP, no flag (0x0200 to SHA-256, then MD5)"
else
  fail "tgtd: iscsi-inq with CHAP (exit $rc)"
  show
fi

tgtadm --lld iscsi --op bind --mode account --tid 1 --user "$tuser" --outgoing ||
  { echo "FAIL: binding the outgoing account"; cat "$tmp/tgtadm.log"; exit 1; }
libiscsi iscsi-inq "$tgt_url" LIBISCSI_CHAP_TARGET_USERNAME="$tuser" LIBISCSI_CHAP_TARGET_PASSWORD="$tsecret"
if [ "$rc" = 0 ] && grep -q "Vendor:IET" "$tmp/out" &&
  grep -q "CHAP succeeded with MD5, target authenticated (mutual CHAP)" "$tmp/out"; then
  pass "tgtd: iscsi-inq with mutual CHAP (target credentials from the environment)"
else
  fail "tgtd: iscsi-inq with mutual CHAP (exit $rc)"
  show
fi

libiscsi iscsi-inq "$tgt_url?target_user=$tuser&target_password=wrong-target-secret"
if [ "$rc" != 0 ] && grep -q "Authentication failure (mutual CHAP: " "$tmp/out"; then
  pass "tgtd: a wrong target secret fails mutual CHAP"
else
  fail "tgtd: wrong target secret (exit $rc)"
  show
fi

libiscsi iscsi-inq "iscsi://$user%wrong-secret-0123@127.0.0.1:$tgt_port/$tgt_iqn/1"
if [ "$rc" != 0 ] && grep -q "Authentication failure(513)" "$tmp/out"; then
  pass "tgtd: a wrong secret fails with Authentication failure(513)"
else
  fail "tgtd: wrong secret (exit $rc)"
  show
fi

# A target that asks for no authentication (no account bound): one-way credentials still log in
# (AuthMethod=CHAP,None, as libiscsi always offered); mutual credentials do not (the target
# could not prove itself).
open_iqn=iqn.2026-12.org.multichap:tgt-open
truncate -s 8M "$tmp/open.img"
if ! { tgtadm --lld iscsi --op new --mode target --tid 2 -T "$open_iqn" &&
  tgtadm --lld iscsi --op new --mode logicalunit --tid 2 --lun 1 -b "$tmp/open.img" &&
  tgtadm --lld iscsi --op bind --mode target --tid 2 -I ALL; }; then
  echo "FAIL: configuring tgtd's open target"
  cat "$tmp/tgtadm.log"
  exit 1
fi
libiscsi iscsi-inq "iscsi://$user%$secret@127.0.0.1:$tgt_port/$open_iqn/1"
if [ "$rc" = 0 ] && grep -q "Vendor:IET" "$tmp/out" &&
  grep -q "the target asked for no authentication (AuthMethod=None)" "$tmp/out"; then
  pass "tgtd, a target without CHAP: one-way credentials log in (AuthMethod=None chosen)"
else
  fail "tgtd, target without CHAP, one-way credentials (exit $rc)"
  show
fi
libiscsi iscsi-inq "iscsi://$user%$secret@127.0.0.1:$tgt_port/$open_iqn/1" \
  LIBISCSI_CHAP_TARGET_USERNAME="$tuser" LIBISCSI_CHAP_TARGET_PASSWORD="$tsecret"
if [ "$rc" != 0 ] && ! grep -q "Vendor:IET" "$tmp/out"; then
  pass "tgtd, a target without CHAP: mutual credentials are not downgraded to None"
else
  fail "tgtd, target without CHAP, mutual credentials logged in (exit $rc)"
  show
fi

if command -v cc >/dev/null; then
  cat >"$tmp/reconnect.c" <<'C'
/* Logs in, reconnects (iscsi_reconnect_sync), and reads the inquiry data on both connections. */
#include <stdio.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

static int inquiry(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *task = iscsi_inquiry_sync(iscsi, lun, 0, 0, 64);
	int ok = task != NULL && task->status == SCSI_STATUS_GOOD;

	if (task != NULL)
		scsi_free_scsi_task(task);
	return ok;
}

int main(int argc, char **argv)
{
	struct iscsi_context *iscsi = iscsi_create_context("iqn.2026-12.org.multichap:reconnect");
	struct iscsi_url *url;

	if (argc != 2 || iscsi == NULL)
		return 2;
	url = iscsi_parse_full_url(iscsi, argv[1]);
	if (url == NULL || iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL) != 0
	    || iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0
	    || !inquiry(iscsi, url->lun)) {
		fprintf(stderr, "login: %s\n", iscsi_get_error(iscsi));
		return 1;
	}
	if (iscsi_reconnect_sync(iscsi) != 0 || !inquiry(iscsi, url->lun)) {
		fprintf(stderr, "after the reconnect: %s\n", iscsi_get_error(iscsi));
		return 1;
	}
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	printf("reconnect ok\n");
	return 0;
}
C
  if cc -o "$tmp/reconnect" "$tmp/reconnect.c" -I"$dest/include" -L"$dest/lib" -liscsi \
    -Wl,-rpath,"$dest/lib" 2>"$tmp/out"; then
    env LIBISCSI_DEBUG=2 timeout 20 "$tmp/reconnect" "$tgt_url?target_user=$tuser&target_password=$tsecret" \
      >"$tmp/out" 2>&1
    rc=$?
    if [ "$rc" = 0 ] && grep -q "reconnect was successful" "$tmp/out" &&
      [ "$(grep -c "CHAP succeeded with MD5, target authenticated" "$tmp/out")" = 2 ] &&
      [ "$(grep -c "refused our offer" "$tmp/out")" = 1 ]; then
      pass "tgtd: iscsi_reconnect keeps the narrowed offer (one refusal for two logins)"
    else
      fail "tgtd: reconnect (exit $rc)"
      show
    fi
  else
    fail "compiling the reconnect program against $dest/include"
    show
  fi
else
  echo "note: no cc, the reconnect case did not run"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures case(s) failed"
  exit 1
fi
echo "all libiscsi cases passed"
