#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Installs the build into a temporary prefix, builds tests/package/consumer against it with
# find_package(multichap), runs it, and checks its CHAP-SHA-256 response against sha256sum.
# usage: package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/package/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
expected="0x$( { printf '\x09'; printf 'consumer-secret-1'; printf '\xde\xad\xbe\xef'; } | sha256sum | cut -d' ' -f1)"
lines=0
while read -r line; do
  lines=$((lines + 1))
  if [ "$line" != "$expected" ]; then
    echo "FAIL: consumer printed $line, sha256sum says $expected"; exit 1
  fi
done < <("$work/consumer/consumer")
[ "$lines" -ge 1 ] || { echo "FAIL: consumer printed nothing"; exit 1; }
echo "ok: find_package(multichap) consumer built and computed $lines matching response(s)"
