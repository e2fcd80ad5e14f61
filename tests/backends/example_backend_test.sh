#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# examples/backend as a third party uses it: its Makefile and source copied to a scratch
# directory and built with the C compiler against <multichap/backend.h> alone, then installed
# into a directory and loaded by the multichap CLI:
#   - the compile sees no multichap header but backend.h; example.so links no multichap library
#     and exports multichap_backend_entry_v1 only;
#   - MULTICHAP_BACKEND_PATH=DIR `multichap algorithms` lists "example" from DIR/example.so with
#     all four algorithms supported and refuses nothing;
#   - `multichap response --backend DIR/example.so` (and `--backend example` found on the path)
#     equals coreutils' md5sum/sha1sum/sha256sum and rhash --sha3-256 over id || secret ||
#     challenge;
#   - `multichap bench --suites challenge,login` on it: its random and a whole mutual login work.
#
#   example_backend_test.sh MULTICHAP_BINARY CC EXAMPLE_DIR FALLBACK_INCLUDE_DIR [PREFIX]
# With PREFIX (an installed multichap, e.g. from tests/package/package_test.sh), the header comes
# from `pkg-config --cflags multichap-backend` with PKG_CONFIG_PATH at PREFIX's pkgconfig
# directory (the .pc file must be there). Without it, from FALLBACK_INCLUDE_DIR (the source
# tree's backends/include, which holds backend.h only).
set -uo pipefail
export LC_ALL=C
unset MULTICHAP_BACKEND_PATH MULTICHAP_SECRET

usage="usage: $0 MULTICHAP_BINARY CC EXAMPLE_DIR FALLBACK_INCLUDE_DIR [PREFIX]"
bin=$(readlink -f "${1:?$usage}")
cc=${2:?$usage}
example=$(readlink -f "${3:?$usage}")
fallback=$(readlink -f "${4:?$usage}")
prefix=${5:-}

for tool in make nm readelf md5sum sha1sum sha256sum xxd; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
pkg-config --exists nettle || { echo "FAIL: Nettle's pkg-config file is not found"; exit 1; }

. "$(dirname "$0")/../tools/check_lib.sh"

run() {  # sets rc, out, err
  env "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# --- build it as its README says ----------------------------------------------------------------
src=$work/src
mkdir -p "$src"
cp "$example/Makefile" "$example/example_backend.c" "$src"/
strict="-O2 -std=c99 -Wall -Wextra -Werror -Wpedantic"
make_args=(-C "$src" CC="$cc" CFLAGS="$strict")
if [ -n "$prefix" ]; then
  pc=$(find "$prefix" -path '*/pkgconfig/multichap-backend.pc' | head -n 1)
  [ -n "$pc" ] || { echo "FAIL: no multichap-backend.pc under $prefix"; exit 1; }
  PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export PKG_CONFIG_PATH
  cflags=$(pkg-config --cflags multichap-backend)
  installed_dir=$(pkg-config --variable=backendsdir multichap-backend)
  [ -n "$installed_dir" ] && pass || fail "multichap-backend.pc has no backendsdir"
else
  cflags=-I$fallback
  make_args+=(BACKEND_CFLAGS="$cflags")
fi
echo "building with header flags: $cflags"
if make "${make_args[@]}" >"$work/make.log" 2>&1; then pass; else
  fail "make failed: $(cat "$work/make.log")"
  finish example_backend
  exit 1
fi
so=$src/example.so

# Only backend.h of multichap's headers reaches the compiler.
# shellcheck disable=SC2046,SC2086  # compiler flags: split into words on purpose
headers=$("$cc" -MM $cflags $(pkg-config --cflags nettle) "$src/example_backend.c" | tr ' \\' '\n\n' \
  | grep '/multichap/')
[ "$(echo "$headers" | sed 's|.*/||' | sort -u)" = backend.h ] && pass \
  || fail "the example sees multichap headers other than backend.h: $headers"
exports=$(nm -D --defined-only "$so" | awk '{print $3}')
[ "$exports" = multichap_backend_entry_v1 ] && pass || fail "example.so exports: $(echo $exports)"
needed=$(readelf -d "$so" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')
grep -q multichap <<<"$needed" && fail "example.so links a multichap library: $needed" || pass
grep -q libnettle <<<"$needed" && pass || fail "example.so does not link Nettle: $needed"

plugins=$work/plugins
if make -C "$src" install BACKENDS_DIR="$plugins" >"$work/make.log" 2>&1 && [ -f "$plugins/example.so" ]
then pass; else fail "make install failed: $(cat "$work/make.log")"; fi

# --- the CLI loads it ---------------------------------------------------------------------------
run MULTICHAP_BACKEND_PATH="$plugins" "$bin" algorithms
section=$(awk '/^  [^ ]/ { on = ($1 == "example") } /^[^ ]/ { on = 0 } on' <<<"$out")
if [ "$rc" -eq 0 ] && grep -qx '  example (Nettle [0-9.]*)' <<<"$section" &&
   grep -qx "    from $plugins/example.so, backend version 1.0" <<<"$section" &&
   [ "$(grep -c 'CHAP_A=[5-8] .* supported$' <<<"$section")" -eq 4 ]; then
  pass
else
  fail "algorithms: exit $rc, want example from $plugins/example.so with four algorithms: $out $err"
fi
grep -q '^plugins refused:' <<<"$out" && fail "algorithms refused plugins: $out" || pass

independent() {
  case $1 in
    md5) md5sum ;;
    sha1) sha1sum ;;
    sha256) sha256sum ;;
    sha3-256) rhash --sha3-256 - ;;
  esac | cut -d' ' -f1
}
printf 'example-secret-42' >"$work/secret"
chmod 600 "$work/secret"  # a secret file must be private (tools/secret_file.h)
challenge=8a3c0f99e1d2b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5
for alg in md5 sha1 sha256 sha3-256; do
  if [ "$alg" = sha3-256 ] && ! command -v rhash >/dev/null; then continue; fi
  want=0x$({ printf '\xc8'; printf 'example-secret-42'; printf '%s' "$challenge" | xxd -r -p; } \
    | independent "$alg")
  run "$bin" response --backend "$plugins/example.so" --alg "$alg" --id 200 \
    --secret-file "$work/secret" --challenge "0x$challenge"
  [ "$rc" -eq 0 ] && [ "$out" = "$want" ] && pass \
    || fail "response --backend $plugins/example.so --alg $alg: exit $rc, '$out', want '$want' ($err)"
  run MULTICHAP_BACKEND_PATH="$plugins" "$bin" response --backend example --alg "$alg" --id 200 \
    --secret-file "$work/secret" --challenge "0x$challenge"
  [ "$rc" -eq 0 ] && [ "$out" = "$want" ] && pass \
    || fail "response --backend example --alg $alg: exit $rc, '$out', want '$want' ($err)"
done

# Its random (challenges) and a whole mutual login on it, through the benchmark's suites.
run MULTICHAP_BACKEND_PATH="$plugins" "$bin" bench --backend example --suites challenge,login \
  --alg sha256 --seconds 0.02 --quiet --csv
if [ "$rc" -eq 0 ] && [ "$(grep -c '^challenge,example,.*,ok,' <<<"$out")" -eq 1 ] &&
   [ "$(grep -c '^login,example,sha256,.*,ok,' <<<"$out")" -eq 1 ]; then
  pass
else
  fail "bench on example: exit $rc: $out $err"
fi

finish example_backend
