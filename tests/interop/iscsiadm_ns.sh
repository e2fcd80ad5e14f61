#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs open-iscsi's iscsiadm with its state in PRIVATE_DIR, in a private mount namespace with a
# fake /sys/class/iscsi_transport/tcp whose caps lack text-negotiation offload, so SendTargets
# discovery runs entirely in user space (no kernel module, no iscsid). See
# ../shared/spec/peers.md. Usage: iscsiadm_ns.sh PRIVATE_DIR ISCSIADM-ARGS...
set -euo pipefail
dir=$1; shift
if [ ! -f "$dir/iscsid.conf" ]; then
  mkdir -p "$dir"
  sed 's/^iscsid.startup = .*/iscsid.startup = \/bin\/true/' /etc/iscsi/iscsid.conf >"$dir/iscsid.conf"
  grep -q '^iscsid.startup' "$dir/iscsid.conf" || echo 'iscsid.startup = /bin/true' >>"$dir/iscsid.conf"
  echo 'InitiatorName=iqn.2026-11.org.multichap:default' >"$dir/initiatorname.iscsi"
fi
exec unshare -m --propagation private bash -c '
  set -e
  dir=$1; shift
  mount --bind "$dir" /etc/iscsi
  mount -t tmpfs none /run/lock
  mount -t tmpfs none /sys/class
  mkdir -p /sys/class/iscsi_transport/tcp
  echo 1 > /sys/class/iscsi_transport/tcp/handle
  echo 0x39 > /sys/class/iscsi_transport/tcp/caps
  exec iscsiadm "$@"' iscsiadm_ns "$dir" "$@"
