#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CHAP responses per second with the secret in a SoftHSM2 token (the pkcs11 backend) against
# OpenSSL with the secret in memory, in one run of multichap_bench (its token_response rows):
# makes a token in a temporary directory (SOFTHSM2_CONF), imports a 16-byte secret with
# `multichap token import`, runs the rows.
# usage: bench/token_bench.sh [BUILD_DIR] [extra multichap_bench arguments]
set -euo pipefail
build=${1:-build}
shift || true
module=/usr/lib/softhsm/libsofthsm2.so
[ -f "$module" ] || { echo "token_bench: SoftHSM2 is not installed (apt-get install softhsm2)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export SOFTHSM2_CONF=$dir/softhsm2.conf
mkdir -p "$dir/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$dir/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label bench --pin 246810 --so-pin 13579111 >/dev/null
printf '246810\n' >"$dir/pin"
uri="pkcs11:token=bench;object=bench;type=secret-key?module-path=$module&pin-source=file:$dir/pin"
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/secret"
"$build/bin/multichap" token import "$uri" --secret-file "$dir/secret" >/dev/null
MULTICHAP_BENCH_PKCS11_URI=$uri "$build/bin/multichap_bench" \
  --benchmark_filter='^token_response' --benchmark_min_time=1 "$@"
