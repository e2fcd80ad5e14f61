#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tgt 1.0.85 patched to run its CHAP on libmultichap (integrations/tgt), against real initiators
# on loopback: stock Debian libiscsi (iscsi-inq, iscsi-ls: MD5 only) and `multichap login` with
# every algorithm, mutual CHAP through tgt's outgoing account, wrong secrets both ways, the
# per-target chap_algorithms list, discovery CHAP through tgt's global accounts, and the patched
# tgtd under valgrind over 100 logins (some failing, some connections dropped mid-exchange).
#
# usage: tgt_test.sh MULTICHAP_CLI TGT_DEST
#   MULTICHAP_CLI  the multichap command-line tool
#   TGT_DEST       the DEST of integrations/tgt/build.sh (DEST/sbin/tgtd, DEST/sbin/tgtadm)
# Exit 0 pass, 1 fail, 77 skip (not root, tools missing). Needs root for tgtd; uses only
# 127.0.0.1, free ports, and private tgtd control sockets (TGT_IPC_SOCKET in a temporary
# directory, -C N), all removed on exit.
set -euo pipefail

usage() {
  sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'
}
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  usage
  exit 0
fi
if [[ $# -ne 2 ]]; then
  usage >&2
  exit 2
fi

skip() {
  echo "SKIP: $*"
  exit 77
}

[[ $EUID -eq 0 ]] || skip "tgtd needs root"
[[ -x "$1" ]] || skip "no multichap CLI at $1"
[[ -x "$2/sbin/tgtd" && -x "$2/sbin/tgtadm" ]] ||
  skip "no patched tgt in $2 (build it with integrations/tgt/build.sh SOURCE $2)"
for tool in iscsi-inq iscsi-ls valgrind timeout ss; do
  command -v "$tool" >/dev/null || skip "'$tool' is missing (apt-get install libiscsi-bin valgrind coreutils iproute2)"
done

cli=$(realpath "$1")
tgtd=$(realpath "$2/sbin/tgtd")
tgtadm_bin=$(realpath "$2/sbin/tgtadm")
# The build gives tgtd a RUNPATH to libmultichap: it must run without help.
unset LD_LIBRARY_PATH

tmp=$(mktemp -d /tmp/tgt_test.XXXXXX)
export TGT_IPC_SOCKET="$tmp/ipc"  # tgtd and tgtadm: the control socket is $TGT_IPC_SOCKET.N
pids=()

cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -9 "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

IQN=iqn.2026-12.org.multichap.test:tgt1
USER_IN=alice
SECRET_IN=alice-secret-0001
USER_OUT=tgt-target
SECRET_OUT=target-secret-0002
started=$SECONDS
current_log=

fail() {
  echo "FAIL: $*" >&2
  if [[ -n "$current_log" && -f "$current_log" ]]; then
    echo "--- last lines of $current_log:" >&2
    tail -n 30 "$current_log" >&2
  fi
  exit 1
}

ok() {
  echo "ok - $* ($((SECONDS - started)) s)"
}

free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if [[ -z "$(ss -Htan "sport = :$p")" ]]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

free_control() {  # an -C number with no socket in $tmp (private anyway)
  local n
  while :; do
    n=$((1000 + RANDOM % 30000))
    [[ -e "$TGT_IPC_SOCKET.$n" || -e "$TGT_IPC_SOCKET.$n.lock" ]] || break
  done
  echo "$n"
}

# start_tgtd NAME WAIT_SECONDS [WRAPPER...]: a private tgtd on 127.0.0.1; sets tgt_pid, tgt_port,
# tgt_ctl, current_log. Retries with another port when the chosen one was taken meanwhile.
start_tgtd() {
  local name=$1 wait_s=$2 attempt deadline
  shift 2
  for attempt in 1 2 3; do
    tgt_port=$(free_port) || fail "no free port"
    tgt_ctl=$(free_control)
    current_log="$tmp/$name.log"
    "$@" "$tgtd" -f -C "$tgt_ctl" --iscsi "portal=127.0.0.1:$tgt_port" >"$current_log" 2>&1 &
    tgt_pid=$!
    pids+=("$tgt_pid")
    deadline=$((SECONDS + wait_s))
    while ((SECONDS < deadline)); do
      if ! kill -0 "$tgt_pid" 2>/dev/null; then
        break
      fi
      if "$tgtadm_bin" -C "$tgt_ctl" --op show --mode sys >/dev/null 2>&1 &&
        [[ -n "$(ss -Htln "sport = :$tgt_port")" ]]; then
        return 0
      fi
      sleep 0.05
    done
    kill -9 "$tgt_pid" 2>/dev/null || true
    wait "$tgt_pid" 2>/dev/null || true
    echo "note: tgtd ($name) did not come up on port $tgt_port (attempt $attempt)" >&2
  done
  fail "tgtd ($name) did not start"
}

adm() {
  timeout 20 "$tgtadm_bin" -C "$tgt_ctl" "$@" || fail "tgtadm $* failed"
}

# One target with a LUN, open to every initiator, an incoming and an outgoing account.
configure_target() {
  truncate -s 4M "$tmp/lun1.img"
  adm --lld iscsi --op new --mode target --tid 1 -T "$IQN"
  adm --op new --mode logicalunit --tid 1 --lun 1 -b "$tmp/lun1.img"
  adm --op bind --mode target --tid 1 -I ALL
  adm --op new --mode account --user "$USER_IN" --password "$SECRET_IN"
  adm --op new --mode account --user "$USER_OUT" --password "$SECRET_OUT"
  adm --op bind --mode account --tid 1 --user "$USER_IN"
  adm --op bind --mode account --tid 1 --user "$USER_OUT" --outgoing
}

set_algs() {
  adm --op update --mode target --tid 1 --name chap_algorithms --value "$1"
}

# stop_tgtd: the way tgt stops itself (tgtd ignores SIGTERM); waits for the process (bounded).
stop_tgtd() {
  local wait_s=$1 deadline
  timeout 20 "$tgtadm_bin" -C "$tgt_ctl" --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
  timeout 20 "$tgtadm_bin" -C "$tgt_ctl" --op delete --mode system >/dev/null 2>&1 || true
  deadline=$((SECONDS + wait_s))
  while kill -0 "$tgt_pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if kill -0 "$tgt_pid" 2>/dev/null; then
    kill -9 "$tgt_pid" 2>/dev/null || true
    wait "$tgt_pid" 2>/dev/null || true
    return 1
  fi
  tgt_status=0
  wait "$tgt_pid" || tgt_status=$?
  return 0
}

# mc_login ARGS...: multichap login into the target, output in $out, status in $rc.
mc_login() {
  rc=0
  out=$(MULTICHAP_SECRET=${SECRET:-$SECRET_IN} MULTICHAP_TARGET_SECRET=${TSECRET:-$SECRET_OUT} \
    timeout 60 "$cli" login --portal "127.0.0.1:$tgt_port" --target "$IQN" --retries 0 \
    --timeout 10 --quiet "$@" 2>&1) || rc=$?
}

expect_login() {  # ALG ARGS...
  local alg=$1
  shift
  mc_login "$@"
  [[ $rc -eq 0 && "$out" == *"login succeeded: algorithm=$alg mutual=yes"* ]] ||
    fail "multichap login $* (expected $alg, mutual) exit $rc: $out"
}

expect_refused() {  # WHAT ARGS...
  local what=$1
  shift
  mc_login "$@"
  [[ $rc -ne 0 && "$out" != *"login succeeded"* ]] ||
    fail "$what: multichap login $* succeeded: $out"
}

# drop_mid_exchange STAGE: a raw initiator opens a login, goes as far as STAGE (1: AuthMethod
# answered; 2: CHAP_A answered, a challenge outstanding) and closes the connection, so that tgtd
# frees a login that never ended.
byte() {  # N: one byte of value N on stdout
  printf '%b' "\\x$(printf %02x "$1")"
}

login_pdu() {  # ITT KEY=VALUE...: a Login Request (security stage, T=0) on stdout
  local itt=$1 len=0 kv pad
  shift
  for kv in "$@"; do len=$((len + ${#kv} + 1)); done
  # opcode 0x43 (Login, immediate), flags CSG=0 NSG=0, versions 0, TotalAHSLength 0
  printf '\x43\x00\x00\x00\x00'
  byte $(((len >> 16) & 255)); byte $(((len >> 8) & 255)); byte $((len & 255))  # DataSegmentLength
  printf '\x40\x00\x00\x01\x00\x01\x00\x00'          # ISID (random-qualifier type), TSIH 0
  printf '\x00\x00\x00'; byte "$itt"                 # ITT
  printf '\x00\x00\x00\x00'                          # CID, reserved
  printf '\x00\x00\x00\x01\x00\x00\x00\x00'          # CmdSN, ExpStatSN
  printf '\x00%.0s' $(seq 1 16)                       # reserved
  for kv in "$@"; do printf '%s\x00' "$kv"; done
  pad=$(((4 - len % 4) % 4))
  ((pad == 0)) || printf '\x00%.0s' $(seq 1 "$pad")
}

drop_mid_exchange() {
  local stage=$1
  {
    login_pdu 1 "InitiatorName=iqn.2026-12.org.multichap.test:raw" "SessionType=Normal" \
      "TargetName=$IQN" "AuthMethod=CHAP"
    if ((stage >= 2)); then
      sleep 0.2
      login_pdu 2 "CHAP_A=7,5"
    fi
    sleep 0.3
  } | timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$tgt_port; cat >&3; sleep 0.2; exec 3>&-" ||
    fail "raw initiator could not talk to tgtd"
}

# ---- 1. functional cases on a plain tgtd ---------------------------------------------------
start_tgtd tgtd 10
configure_target
grep -q "CHAP: libmultichap .*backend" "$current_log" || fail "tgtd did not log its libmultichap backend"
ok "patched tgtd up on 127.0.0.1:$tgt_port (control -C $tgt_ctl)"

inq=$(timeout 30 iscsi-inq "iscsi://$USER_IN%$SECRET_IN@127.0.0.1:$tgt_port/$IQN/1" 2>&1) ||
  fail "iscsi-inq (libiscsi, MD5 CHAP) failed: $inq"
[[ "$inq" == *"Peripheral Device Type:DIRECT_ACCESS"* && "$inq" == *"Vendor:IET"* ]] ||
  fail "iscsi-inq printed no inquiry data: $inq"
grep -q "authenticated as $USER_IN to target 1 with MD5, mutual no" "$current_log" ||
  fail "tgtd did not log libiscsi's MD5 login"
ok "stock libiscsi iscsi-inq logs in with CHAP (MD5) and reads the inquiry data"

inq=$(timeout 30 iscsi-inq \
  "iscsi://$USER_IN%$SECRET_IN@127.0.0.1:$tgt_port/$IQN/1?target_user=$USER_OUT&target_password=$SECRET_OUT" 2>&1) ||
  fail "iscsi-inq with mutual CHAP failed: $inq"
[[ "$inq" == *"Vendor:IET"* ]] || fail "iscsi-inq (mutual) printed no inquiry data: $inq"
grep -q "authenticated as $USER_IN to target 1 with MD5, mutual yes" "$current_log" ||
  fail "tgtd did not log libiscsi's mutual MD5 login"
ok "stock libiscsi, mutual CHAP (MD5) through tgt's outgoing account"

inq=$(timeout 30 iscsi-inq "iscsi://$USER_IN%wrong-secret-9999@127.0.0.1:$tgt_port/$IQN/1" 2>&1) &&
  fail "iscsi-inq with a wrong secret succeeded: $inq"
[[ "$inq" == *"Authentication failure"* ]] || fail "iscsi-inq, wrong secret: unexpected failure: $inq"
ok "stock libiscsi with a wrong secret: 0x0201 authentication failure"

for alg in md5 sha1 sha256 sha3-256; do
  set_algs "$alg"
  expect_login "$alg" --user "$USER_IN" --target-user "$USER_OUT" --offer-fallback off \
    --algs sha3-256,sha256,sha1,md5
  expect_login "$alg" --user "$USER_IN" --target-user "$USER_OUT" --offer-fallback off --algs "$alg"
done
ok "multichap login, mutual CHAP, with each of md5 sha1 sha256 sha3-256 (forced by chap_algorithms and by --algs)"

set_algs 8,7,6,5
adm --op show --mode target --tid 1 >"$tmp/show.txt"
grep -qx "chap_algorithms=sha3-256,sha256,sha1,md5" "$tmp/show.txt" ||
  fail "tgtadm --op show does not show chap_algorithms: $(cat "$tmp/show.txt")"
expect_login sha256 --user "$USER_IN" --target-user "$USER_OUT" --offer-fallback off --algs sha256
grep -q "with SHA-256, mutual yes" "$current_log" || fail "tgtd did not log the SHA-256 login"
expect_login sha3-256 --user "$USER_IN" --target-user "$USER_OUT"
ok "a real SHA-256 initiator (CHAP_A=7) logs in (tgt's SHA-1-as-7 bug gone); the default prefers SHA3-256"

SECRET=wrong-secret-9999 expect_refused "wrong initiator secret" --user "$USER_IN" \
  --target-user "$USER_OUT" --offer-fallback off
[[ "$out" == *0x0201* ]] || fail "wrong initiator secret: no 0x0201: $out"
grep -q "authentication of initiator .* failed (authentication)" "$current_log" ||
  fail "tgtd did not log the failed authentication"
TSECRET=wrong-target-9999 expect_refused "wrong target secret" --user "$USER_IN" \
  --target-user "$USER_OUT" --offer-fallback off
expect_refused "unknown user" --user mallory --offer-fallback off
[[ "$out" == *0x0201* ]] || fail "unknown user: no 0x0201: $out"
ok "wrong secrets fail in both directions (initiator: 0x0201; target: the initiator refuses), unknown CHAP_N: 0x0201"

set_algs sha256
expect_refused "md5 offered, sha256 allowed" --user "$USER_IN" --offer-fallback off --algs md5
[[ "$out" == *0x0201* ]] || fail "disallowed algorithm: no 0x0201: $out"
grep -q "none of the offered algorithms (CHAP_A=5) is allowed here (allowed: sha256)" "$current_log" ||
  fail "tgtd did not log the refused algorithm"
inq=$(timeout 30 iscsi-inq "iscsi://$USER_IN%$SECRET_IN@127.0.0.1:$tgt_port/$IQN/1" 2>&1) &&
  fail "iscsi-inq (MD5) succeeded against chap_algorithms=sha256: $inq"
expect_login sha256 --user "$USER_IN" --target-user "$USER_OUT" --offer-fallback off
for bad in foo "md5,md5" "" "sha256,,md5" "9"; do
  if timeout 20 "$tgtadm_bin" -C "$tgt_ctl" --op update --mode target --tid 1 \
    --name chap_algorithms --value "$bad" >/dev/null 2>&1; then
    fail "tgtadm accepted chap_algorithms='$bad'"
  fi
done
adm --op show --mode target --tid 1 >"$tmp/show.txt"
grep -qx "chap_algorithms=sha256" "$tmp/show.txt" || fail "a refused update changed chap_algorithms"
set_algs 8,7,6,5
ok "chap_algorithms restricts what is accepted (md5 refused under sha256, libiscsi too); bad lists refused by tgtadm"

# Discovery: tgt's global accounts (bound without --tid), as tgt-admin sets them.
disc=$(timeout 30 iscsi-ls "iscsi://127.0.0.1:$tgt_port" 2>&1) ||
  fail "discovery without global accounts (AuthMethod=None) failed: $disc"
[[ "$disc" == *"$IQN"* ]] || fail "iscsi-ls found no target: $disc"
adm --op bind --mode account --user "$USER_IN"
adm --op bind --mode account --user "$USER_OUT" --outgoing
disc=$(timeout 30 iscsi-ls "iscsi://127.0.0.1:$tgt_port" 2>&1) &&
  fail "discovery without CHAP succeeded although a global account is bound: $disc"
disc=$(timeout 30 iscsi-ls "iscsi://$USER_IN%$SECRET_IN@127.0.0.1:$tgt_port" 2>&1) ||
  fail "iscsi-ls with discovery CHAP failed: $disc"
[[ "$disc" == *"$IQN"* ]] || fail "iscsi-ls with CHAP found no target: $disc"
rc=0
out=$(MULTICHAP_SECRET=$SECRET_IN MULTICHAP_TARGET_SECRET=$SECRET_OUT timeout 60 "$cli" login \
  --portal "127.0.0.1:$tgt_port" --all --user "$USER_IN" --target-user "$USER_OUT" --retries 0 \
  --timeout 10 --quiet 2>&1) || rc=$?
[[ $rc -eq 0 && "$out" == *"login succeeded: algorithm=sha3-256 mutual=yes target=$IQN"* ]] ||
  fail "multichap login --all (discovery with mutual CHAP, then the target) exit $rc: $out"
grep -q "authenticated as $USER_IN to discovery with SHA3-256, mutual yes" "$current_log" ||
  fail "tgtd did not log the discovery session's CHAP"
adm --op unbind --mode account --user "$USER_IN"
adm --op unbind --mode account --user "$USER_OUT" --outgoing
ok "discovery sessions: None without global accounts, CHAP (libiscsi MD5, multichap SHA3-256 mutual) with them"

for secret in "$SECRET_IN" "$SECRET_OUT"; do
  ! grep -qF -- "$secret" "$current_log" || fail "a secret appears in tgtd's log"
done
stop_tgtd 20 || fail "tgtd did not stop"
ok "no secret in tgtd's log; tgtd stopped"

# ---- 2. valgrind: 100 logins, some failing, some dropped mid-exchange ----------------------
vg_log="$tmp/valgrind.log"
# Upstream tgt 1.0.85 leaks the address string of each --iscsi portal= argument once at start-up
# (iscsi_param_parse_portals: zalloc'ed, handed to iscsi_add_portal, which copies it, never
# freed). Not CHAP's and not per login: suppressed by its exact allocation site only.
cat >"$tmp/tgt-upstream.supp" <<'EOF'
{
   tgt-1.0.85-portal-argument-copy
   Memcheck:Leak
   match-leak-kinds: definite
   fun:calloc
   fun:iscsi_param_parse_portals
   fun:iscsi_tcp_init
}
EOF
start_tgtd tgtd-valgrind 120 valgrind --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite --error-exitcode=99 --suppressions="$tmp/tgt-upstream.supp" \
  --log-file="$vg_log"
configure_target
set_algs sha3-256,sha256,sha1
vg_started=$SECONDS
succeeded=0
refused=0
algs=(sha3-256 sha256 sha1)
for i in $(seq 0 99); do
  case $((i % 10)) in
    7) SECRET=wrong-secret-9999 expect_refused "valgrind run, wrong secret" --user "$USER_IN" \
         --offer-fallback off
       refused=$((refused + 1)) ;;
    8) expect_refused "valgrind run, md5 not allowed" --user "$USER_IN" --offer-fallback off \
         --algs md5
       refused=$((refused + 1)) ;;
    9) TSECRET=wrong-target-9999 expect_refused "valgrind run, wrong target secret" \
         --user "$USER_IN" --target-user "$USER_OUT" --offer-fallback off
       refused=$((refused + 1)) ;;
    *) alg=${algs[$((i % 3))]}
       if ((i % 2)); then
         expect_login "$alg" --user "$USER_IN" --target-user "$USER_OUT" --offer-fallback off \
           --algs "$alg"
       else
         mc_login --user "$USER_IN" --offer-fallback off --algs "$alg"
         [[ $rc -eq 0 && "$out" == *"login succeeded: algorithm=$alg mutual=no"* ]] ||
           fail "valgrind run, one-way $alg: exit $rc: $out"
       fi
       succeeded=$((succeeded + 1)) ;;
  esac
  if ((i % 25 == 0)); then
    drop_mid_exchange 1
    drop_mid_exchange 2
  fi
done
inq=$(timeout 60 iscsi-inq "iscsi://$USER_IN%$SECRET_IN@127.0.0.1:$tgt_port/$IQN/1" 2>&1) &&
  fail "iscsi-inq (MD5) succeeded against chap_algorithms without md5"
vg_logins=$((SECONDS - vg_started))
ok "100 multichap logins under valgrind ($succeeded succeeded, $refused refused as expected) and 8 connections dropped mid-exchange in $vg_logins s"

current_log="$vg_log"
stop_tgtd 120 || fail "tgtd under valgrind did not stop"
summary=$(grep -E "ERROR SUMMARY|definitely lost|All heap blocks were freed" "$vg_log" || true)
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$vg_log" | tail -n 1 | tr -d ,)
[[ -n "$errors" ]] || fail "no valgrind summary in $vg_log"
definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$vg_log" | tail -n 1 | tr -d ,)
[[ "$errors" == 0 && "${definite:-0}" == 0 && $tgt_status -ne 99 ]] ||
  fail "valgrind found errors or definite leaks (exit $tgt_status): $summary"
grep -q "authenticated as $USER_IN to target 1 with SHA-1, mutual yes" "$tmp/tgtd-valgrind.log" ||
  fail "tgtd under valgrind did not log the SHA-1 logins"
echo "valgrind: $(echo "$summary" | sed 's/^==[0-9]*== *//' | tr '\n' ';')"
ok "valgrind: no error, no definite leak (tgtd exit $tgt_status)"

echo "PASS: tgt with libmultichap ($((SECONDS - started)) s)"
