#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# An unmodified QEMU reading a disk through libiscsi and tgt, both patched to run their CHAP on
# libmultichap: Debian's qemu-img (its iscsi:// driver loads libiscsi.so.7, here the patched
# build through LD_LIBRARY_PATH) copies a LUN of the patched tgtd with mutual CHAP, once per
# algorithm (SHA3-256, SHA-256, SHA-1, MD5, each forced by the target's allowed list); the copy
# must equal the backing file byte for byte, and tshark must see the CHAP_A the target chose. A
# wrong secret in either direction must fail with libiscsi's authentication error.
#
# usage: qemu_test.sh MULTICHAP_CLI LIBISCSI_DEST TGT_DEST   (root; loopback only)
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 MULTICHAP_CLI LIBISCSI_DEST TGT_DEST" >&2
  exit 2
fi
libiscsi=$(realpath -m "$2")
tgt=$(realpath -m "$3")
for f in "$libiscsi/lib/libiscsi.so.7" "$tgt/sbin/tgtd" "$tgt/sbin/tgtadm"; do
  if [[ ! -e "$f" ]]; then
    echo "SKIP: $f is missing: the integration build did not run (it needs" \
      "MULTICHAP_LIBISCSI_SOURCE and MULTICHAP_TGT_SOURCE, or ../shared/vendor/)" >&2
    exit 77
  fi
done

tmp=$(mktemp -d /tmp/multichap-qemu.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
# A private control socket: tgtd and tgtadm put it at $TGT_IPC_SOCKET.N, here in our own
# directory, so no other tgtd on the machine can clash.
export TGT_IPC_SOCKET="$tmp/ipc"
ctl=1
iqn=iqn.2026-12.org.multichap:qemu-disk
user=qemu-initiator
secret=initiator-secret-6f1c2b
tuser=tgt-target
tsecret=target-secret-90d7a3e4

tgtadm() { "$tgt/sbin/tgtadm" -C "$ctl" --lld iscsi "$@"; }

"$tgt/sbin/tgtd" -f -C "$ctl" --iscsi "portal=127.0.0.1:$port" >"$tmp/tgtd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  tgtadm --op show --mode sys >/dev/null 2>&1 && break
  sleep 0.05
done
tgtadm --op show --mode sys >/dev/null

# A 4 MiB disk of random bytes.
head -c $((4 * 1024 * 1024)) /dev/urandom >"$tmp/disk.img"
tgtadm --op new --mode target --tid 1 -T "$iqn"
tgtadm --op new --mode logicalunit --tid 1 --lun 1 -b "$tmp/disk.img"
tgtadm --op bind --mode target --tid 1 -I ALL
tgtadm --op new --mode account --user "$user" --password "$secret"
tgtadm --op new --mode account --user "$tuser" --password "$tsecret"
tgtadm --op bind --mode account --tid 1 --user "$user"
tgtadm --op bind --mode account --tid 1 --user "$tuser" --outgoing

allow() {  # the target's allowed CHAP_A list
  tgtadm --op update --mode target --tid 1 --name chap_algorithms --value "$1"
}

# QEMU parses the URL itself and keeps only user%password of it: the target's credentials (mutual
# CHAP) reach libiscsi through its environment, as QEMU users set them.
qemu_copy() {  # SECRET TARGET_SECRET OUT -> qemu-img's status; its output in OUT.log
  LD_LIBRARY_PATH="$libiscsi/lib" LIBISCSI_CHAP_TARGET_USERNAME="$tuser" \
    LIBISCSI_CHAP_TARGET_PASSWORD="$2" timeout 60 \
    qemu-img convert -f raw -O raw "iscsi://$user%$1@127.0.0.1:$port/$iqn/1" "$3" >"$3.log" 2>&1
}

capture_start() {  # FILE
  # "Capturing on" is printed before dumpcap really captures, so a login right after it can be
  # missed. The capture also takes UDP datagrams to a sentinel port, printed as they arrive
  # (-P -l): once one of ours shows up, the capture is running.
  local sentinel
  sentinel=$(free_port)
  tshark -n -l -P -i lo -f "tcp port $port or udp port $sentinel" -w "$1" >"$1.log" 2>&1 &
  cap_pid=$!
  pids+=("$cap_pid")
  for _ in $(seq 1 200); do
    python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"", ("127.0.0.1", int(sys.argv[1])))' "$sentinel"
    grep -q "UDP" "$1.log" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "tshark did not start:" >&2
  cat "$1.log" >&2
  return 1
}
capture_stop() {
  sleep 0.3
  kill -INT "$cap_pid" 2>/dev/null || true
  wait "$cap_pid" 2>/dev/null || true
}

failures=0
check() {  # DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    failures=$((failures + 1))
  fi
}

for alg in sha3-256:8 sha256:7 sha1:6 md5:5; do
  name=${alg%%:*}
  number=${alg##*:}
  allow "$name"
  out="$tmp/copy-$name.img"
  capture_start "$tmp/$name.pcap"
  status=0
  qemu_copy "$secret" "$tsecret" "$out" || status=$?
  capture_stop
  check "qemu-img convert with $name mutual CHAP exits 0" test "$status" -eq 0
  if [[ $status -ne 0 ]]; then
    sed 's/^/    qemu-img: /' "$out.log"
    continue
  fi
  check "the copy over $name equals the backing file" cmp -s "$tmp/disk.img" "$out"
  # The key=value pairs of the login, as tshark decodes them (one per line: the occurrences of
  # a PDU joined by ';', since values hold commas): our offer is the list, the target's answer
  # the single number; the target's own CHAP_N shows the mutual step.
  tshark -r "$tmp/$name.pcap" -d "tcp.port==$port,iscsi" -Y iscsi -T fields \
    -E aggregator=';' -e iscsi.keyvalue 2>/dev/null | tr ';' '\n' >"$tmp/$name.keys"
  check "tshark sees the offer CHAP_A=8,7,6,5" grep -qx "CHAP_A=8,7,6,5" "$tmp/$name.keys"
  check "tshark sees CHAP_A=$number chosen for $name" grep -qx "CHAP_A=$number" "$tmp/$name.keys"
  check "tshark sees the target's CHAP_N (mutual) for $name" grep -qx "CHAP_N=$tuser" \
    "$tmp/$name.keys"
  rm -f "$out"
done

# Wrong secrets: ours (the target refuses us), the target's (libiscsi refuses the target).
allow sha3-256
status=0
qemu_copy "wrong-initiator-secret" "$tsecret" "$tmp/wrong1.img" || status=$?
check "a wrong initiator secret fails" test "$status" -ne 0
check "... with libiscsi's authentication error" grep -qi "authentication" "$tmp/wrong1.img.log"
status=0
qemu_copy "$secret" "wrong-target-secret-0000" "$tmp/wrong2.img" || status=$?
check "a wrong target secret fails" test "$status" -ne 0
check "... with libiscsi's authentication error" grep -qi "authentication" "$tmp/wrong2.img.log"
if [[ $failures -ne 0 ]]; then
  for f in "$tmp"/wrong*.log; do sed "s|^|    $(basename "$f"): |" "$f"; done
  echo "--- tgtd log" && tail -n 40 "$tmp/tgtd.log"
fi

# A real SHA-256 initiator that is not ours: open-iscsi's SendTargets discovery (user space, in a
# private mount namespace: tests/interop/iscsiadm_ns.sh) with SHA-256 mutual CHAP. Stock tgt
# numbers SHA-1 as 7 and fails it with 0x0200; the patched one must answer it. Discovery CHAP
# uses the accounts bound without a target.
tgtadm --op bind --mode account --user "$user"
tgtadm --op bind --mode account --user "$tuser" --outgoing
iscsiadm_ns=$(cd "$(dirname "$0")/../interop" && pwd)/iscsiadm_ns.sh
iadm() { bash "$iscsiadm_ns" "$tmp/iscsi" "$@"; }
disc=(-m discoverydb -t st -p "127.0.0.1:$port" -I mc0)
{
  iadm -m iface -I mc0 -o new
  iadm -m iface -I mc0 -o update -n iface.initiatorname -v iqn.2026-12.org.multichap:open-iscsi
  iadm -m iface -I mc0 -o update -n iface.transport_name -v tcp
  iadm "${disc[@]}" -o new
  for kv in discovery.sendtargets.auth.authmethod=CHAP \
    "discovery.sendtargets.auth.username=$user" "discovery.sendtargets.auth.password=$secret" \
    "discovery.sendtargets.auth.username_in=$tuser" \
    "discovery.sendtargets.auth.password_in=$tsecret" \
    node.session.auth.chap_algs=SHA256 discovery.sendtargets.reopen_max=0; do
    iadm "${disc[@]}" -o update -n "${kv%%=*}" -v "${kv#*=}"
  done
} >"$tmp/iscsiadm-setup.log" 2>&1
capture_start "$tmp/iscsiadm.pcap"
status=0
timeout 60 bash "$iscsiadm_ns" "$tmp/iscsi" "${disc[@]}" --discover >"$tmp/iscsiadm.log" 2>&1 ||
  status=$?
capture_stop
check "open-iscsi discovers the target with SHA-256 mutual CHAP" test "$status" -eq 0
check "... and lists it" grep -q "127.0.0.1:$port,1 $iqn" "$tmp/iscsiadm.log"
tshark -r "$tmp/iscsiadm.pcap" -d "tcp.port==$port,iscsi" -Y iscsi -T fields \
  -E aggregator=';' -e iscsi.keyvalue 2>/dev/null | tr ';' '\n' >"$tmp/iscsiadm.keys"
check "tshark sees open-iscsi offer CHAP_A=7 and the target choose it" \
  test "$(grep -cx 'CHAP_A=7' "$tmp/iscsiadm.keys")" -ge 2
if [[ $status -ne 0 ]]; then
  sed 's/^/    iscsiadm: /' "$tmp/iscsiadm-setup.log" "$tmp/iscsiadm.log"
fi

tgtadm --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
tgtadm --op delete --mode system >/dev/null 2>&1 || true
echo "$failures failed"
[[ $failures -eq 0 ]]
