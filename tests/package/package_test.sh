#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Installs the build into a temporary prefix and checks what a packager and a user get:
#   - the layout: lib/libmultichap.so.0, lib/multichap/backends-1/*.so (one per plugin built),
#     the headers multichap/multichap.h and multichap/backend.h, multichap.pc and
#     multichap-backend.pc;
#   - libmultichap.so.0 and bin/multichap need no crypto library (readelf -d: the plugins do);
#   - multichap.pc lists no crypto library unless backends were linked in;
#   - the installed CLI finds the installed plugins by itself (relative to its own place);
#   - tests/package/consumer builds with find_package(multichap), runs, and its CHAP-SHA-256
#     response with every backend matches sha256sum.
# usage: package_test.sh BUILD_DIR SOURCE_DIR [PLUGINS] [STATIC_BACKENDS]
#   PLUGINS, STATIC_BACKENDS: comma lists of the backends built as plugins / linked in
set -euo pipefail
build=$1 src=$2 plugins=${3:-} static=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
prefix=$work/prefix
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
libdir=$prefix/${libdir:-lib}
crypto='libcrypto|libssl|libbotan|libgcrypt|libnettle|libhogweed'

for f in "$libdir/libmultichap.so.0" "$prefix/include/multichap/multichap.h" \
         "$prefix/include/multichap/backend.h" "$libdir/pkgconfig/multichap.pc" \
         "$libdir/pkgconfig/multichap-backend.pc" "$prefix/bin/multichap"; do
  [ -e "$f" ] && pass || fail "not installed: ${f#"$prefix"/}"
done
for p in ${plugins//,/ }; do
  so=$libdir/multichap/backends-1/$p.so
  if [ -f "$so" ]; then
    pass
    exports=$(nm -D --defined-only "$so" | awk '{print $3}')
    [ "$exports" = multichap_backend_entry_v1 ] && pass \
      || fail "$p.so exports more than its entry: $(echo $exports)"
  else
    fail "plugin not installed: ${so#"$prefix"/}"
  fi
done
for s in ${static//,/ }; do
  [ ! -e "$libdir/multichap/backends-1/$s.so" ] && pass || fail "$s is linked in but has a plugin too"
done

if [ -z "$static" ]; then
  for bin in "$libdir/libmultichap.so.0" "$prefix/bin/multichap"; do
    needed=$(readelf -d "$bin" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    if grep -qE "$crypto" <<<"$needed"; then fail "${bin#"$prefix"/} needs a crypto library: $needed"
    else pass; fi
  done
  if grep -qE '^Requires' "$libdir/pkgconfig/multichap.pc" &&
     grep -E '^Requires' "$libdir/pkgconfig/multichap.pc" | grep -qE 'crypto|botan|gcrypt|nettle'; then
    fail "multichap.pc requires a crypto library: $(grep -E '^Requires' "$libdir/pkgconfig/multichap.pc")"
  else
    pass
  fi
fi
# The header alone compiles a plugin's entry point with the .pc file's flags.
cflags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags multichap-backend)
printf '#include <multichap/backend.h>\nint main(void) { return MULTICHAP_BACKEND_ABI_MAJOR - 1; }\n' \
  >"$work/abi.c"
# shellcheck disable=SC2086
if cc -std=c99 -Wall -Wextra -Werror -pedantic $cflags "$work/abi.c" -o "$work/abi" && "$work/abi"
then pass; else fail "multichap-backend.pc (cflags '$cflags') does not compile <multichap/backend.h>"; fi

# The installed CLI, with no environment, finds the installed plugins (and not the build tree's).
expect_list=$(tr ',' '\n' <<<"$plugins,$static" | sed '/^$/d' | sort | tr '\n' ' ')
listed=$(env -u MULTICHAP_BACKEND_PATH "$prefix/bin/multichap" algorithms |
  sed -n 's/^  \([a-z0-9_-]*\) (.*/\1/p' | sort | tr '\n' ' ')
[ "$listed" = "$expect_list" ] && pass || fail "installed CLI lists '$listed', expected '$expect_list'"
if env -u MULTICHAP_BACKEND_PATH "$prefix/bin/multichap" algorithms | grep -q "$build"; then
  fail "the installed CLI loaded plugins from the build tree"
else
  pass
fi

cmake -S "$src/tests/package/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
expected="0x$( { printf '\x09'; printf 'consumer-secret-1'; printf '\xde\xad\xbe\xef'; } | sha256sum | cut -d' ' -f1)"
lines=0
# The consumer is a program of its own (not in the prefix): it finds the plugins through
# MULTICHAP_BACKEND_PATH, as a user's program that links the static C++ library would.
while read -r line; do
  lines=$((lines + 1))
  [ "$line" = "$expected" ] && pass || fail "consumer printed $line, sha256sum says $expected"
done < <(MULTICHAP_BACKEND_PATH=$libdir/multichap/backends-1 "$work/consumer/consumer")
want=$(wc -w <<<"$expect_list")
[ "$lines" -eq "$want" ] && pass || fail "consumer printed $lines responses, expected $want"
echo "package_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
