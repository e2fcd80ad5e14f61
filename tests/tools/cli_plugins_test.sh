#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The CLI over broken plugins (built by tests/backends/plugins, one defect each) and files that
# are no plugins at all:
#   - MULTICHAP_BACKEND_PATH=DIR with every broken plugin and a text file junk.so in DIR:
#     `multichap algorithms` exits 0, lists exactly the backends built (all four algorithms
#     supported), and one "plugins refused:" line per file of DIR, naming it, with a reason;
#   - `multichap algorithms --backend FILE` lists the refusal the same way; `multichap response
#     --backend FILE` exits 2 with the file and the reason on stderr and nothing on stdout;
#   - a plugin named like a loaded backend is refused when loaded after it; in
#     MULTICHAP_BACKEND_PATH it comes before the package's directory and the packaged plugin is
#     refused instead (a backend linked in with MULTICHAP_STATIC_BACKENDS still comes first);
#   - relative entries of MULTICHAP_BACKEND_PATH are ignored, and empty ones never mean the
#     current directory (plugins and junk placed there are neither loaded nor refused);
#   - every backend gives the response coreutils/rhash give for one vector, per algorithm;
#   - with LIBGCRYPT_FORCE_FIPS_MODE=1 (when gcrypt is built) gcrypt offers no MD5, computes
#     SHA-256, and a request for MD5 through it fails with exit 3 instead of aborting.
#
#   cli_plugins_test.sh MULTICHAP_BINARY BACKENDS BAD_PLUGIN_DIR OTHER_PLUGIN_DIR
# BACKENDS: the backends built, comma-separated, in default order ("openssl,gcrypt,nettle,botan").
# BAD_PLUGIN_DIR: the broken plugins (*.so); OTHER_PLUGIN_DIR: good.so and duplicate.so.
set -uo pipefail
export LC_ALL=C
unset MULTICHAP_BACKEND_PATH MULTICHAP_SECRET LIBGCRYPT_FORCE_FIPS_MODE

usage="usage: $0 MULTICHAP_BINARY BACKENDS BAD_PLUGIN_DIR OTHER_PLUGIN_DIR"
bin=$(readlink -f "${1:?$usage}")
IFS=',' read -ra backends <<<"${2:?$usage}"
bad_dir=$(readlink -f "${3:?$usage}")
other_dir=$(readlink -f "${4:?$usage}")
built=$(IFS=,; echo "${backends[*]}")

for tool in md5sum sha1sum sha256sum rhash xxd; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
shopt -s nullglob
bad_plugins=("$bad_dir"/*.so)
[ "${#bad_plugins[@]}" -ge 8 ] || { echo "FAIL: fewer than 8 plugins in $bad_dir"; exit 1; }
[ -f "$other_dir/good.so" ] && [ -f "$other_dir/duplicate.so" ] \
  || { echo "FAIL: $other_dir lacks good.so or duplicate.so"; exit 1; }

. "$(dirname "$0")/check_lib.sh"

# Runs the binary (with any VAR=value environment before it); sets rc, out, err. A signal
# (abort, segfault) shows as rc >= 128.
run() {
  env "$@" >"$work/out" 2>"$work/err" </dev/null
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# The names `multichap algorithms` lists, comma-separated, in order.
listed() { sed -n 's/^  \([a-z0-9_-]*\) (.*/\1/p' <<<"$out" | paste -sd, -; }
# The section of `algorithms` output for one backend: its line up to the next backend's.
section() { awk -v b="$1" '/^  [^ ]/ { on = ($1 == b) } /^[^ ]/ { on = 0 } on' <<<"$out"; }
# The "plugins refused:" lines ("  FILE: REASON").
refused_lines() { sed -n '/^plugins refused:$/,/^[^ ]/p' <<<"$out" | grep '^  '; }

# Each built backend is listed, from the build's plugins or built in, with four supported lines.
expect_backends_intact() {
  local what=$1 b s
  if [ "$rc" -eq 0 ] && [ "$(listed)" = "$built" ]; then pass; else
    fail "$what: exit $rc, lists '$(listed)', want '$built' (stderr: $err)"
  fi
  for b in "${backends[@]}"; do
    s=$(section "$b")
    if [ "$(grep -c 'CHAP_A=[5-8] .* supported$' <<<"$s")" -eq 4 ]; then pass; else
      fail "$what: $b does not list four supported algorithms: $s"
    fi
    if grep -q "^    from $work/" <<<"$s"; then fail "$what: $b was loaded from the test's files: $s"
    else pass; fi
  done
}

# --- the directory of broken plugins -----------------------------------------------------------
dir=$work/plugins
mkdir -p "$dir"
cp "${bad_plugins[@]}" "$dir"/
ln -s "$bad_dir/wrong_major.so" "$dir/symlinked_wrong_major.so"
printf 'this is not an ELF file\n' >"$dir/junk.so"
: >"$dir/empty.so"
mkdir "$dir/directory.so"  # not a regular file: skipped, not refused
printf 'ignored\n' >"$dir/not-a-plugin.txt"

run MULTICHAP_BACKEND_PATH="$dir" "$bin" algorithms
expect_backends_intact "MULTICHAP_BACKEND_PATH=DIR algorithms"
[ "$(sed -n '/^plugin directories searched:$/{n;p}' <<<"$out")" = "  $dir" ] && pass \
  || fail "the first directory searched is not $dir: $out"
refused=$(refused_lines)
for f in "$dir"/*.so; do
  [ -d "$f" ] && continue
  # A file has one name: a symbolic link is loaded, and refused, as the file it points to.
  [ -L "$f" ] && f=$(readlink -f "$f")
  line=$(grep -F "  $f: " <<<"$refused")
  if [ "$(grep -c . <<<"$line")" -eq 1 ] && [ -n "${line#"  $f: "}" ]; then pass; else
    fail "want one 'plugins refused:' line with a reason for $f, got '$line' in: $out"
  fi
done
[ "$(grep -c . <<<"$refused")" -eq "$(( ${#bad_plugins[@]} + 3 ))" ] && pass \
  || fail "want $(( ${#bad_plugins[@]} + 3 )) refused lines, got: $refused"
grep -q "directory.so\|not-a-plugin" <<<"$refused" && fail "a directory or a .txt was tried: $refused" || pass
# A few reasons, word for word where the reason is the whole point.
for want in "$dir/wrong_major.so: ABI major version 2" \
            "$bad_dir/wrong_major.so: ABI major version 2" \
            "$dir/no_entry.so: it has no multichap_backend_entry_v1 symbol" \
            "$dir/null_table.so: it returned no table" \
            "$dir/wrong_digest.so: its MD5 of \"abc\" is wrong" \
            "$dir/short_digest.so: its MD5 of \"abc\" is 15 bytes, not 16" \
            "$dir/init_fails.so: its init failed" \
            "$dir/junk.so: cannot load it" \
            "$dir/empty.so: cannot load it"; do
  grep -qF "  $want" <<<"$refused" && pass || fail "no refused line starting '$want' in: $refused"
done
# On stderr only what a plugin itself logged as an error (init_fails.so says why it fails).
others=$(grep -v '^multichap: backend [a-z0-9_-]*: ' <<<"$err")
[ -z "$others" ] && pass || fail "algorithms printed on stderr: $others"
grep -qx 'multichap: backend init_fails: init fails on purpose' <<<"$err" && pass \
  || fail "init_fails.so's own error line is not on stderr: '$err'"

# --- one broken plugin named on the command line ------------------------------------------------
run "$bin" algorithms --backend "$dir/wrong_major.so"
expect_backends_intact "algorithms --backend wrong_major.so"
grep -qF "  $dir/wrong_major.so: ABI major version 2" <<<"$(refused_lines)" && pass \
  || fail "algorithms --backend wrong_major.so: no refused line for it: $out"

printf 'plugin-test-secret' >"$work/secret"
chmod 600 "$work/secret"  # a secret file must be private (tools/secret_file.h)
respond() {  # BACKEND ALG [ENV...]: the response to the test's one vector
  local backend=$1 alg=$2
  shift 2
  run "$@" "$bin" response --backend "$backend" --alg "$alg" --id 0x2a \
    --secret-file "$work/secret" --challenge 0x00112233445566778899aabbccddeeff0f1e2d3c
}
for f in "$dir"/*.so; do
  [ -d "$f" ] && continue
  respond "$f" sha256
  # An explicit path is named resolved (the same file under any spelling is one plugin).
  if [ "$rc" -eq 2 ] && [ -z "$out" ] &&
     grep -qF "backend plugin $(readlink -f "$f") refused: " <<<"$err"; then
    pass
  else
    fail "response --backend $f: exit $rc (want 2), stdout '$out', stderr '$err'"
  fi
done

# --- a second backend called openssl ------------------------------------------------------------
if [[ ",$built," == *,openssl,* ]]; then
  run "$bin" algorithms --backend "$other_dir/duplicate.so"
  expect_backends_intact "algorithms --backend duplicate.so"
  grep -qF "  $other_dir/duplicate.so: a backend named 'openssl' is already loaded" \
    <<<"$(refused_lines)" && pass || fail "duplicate.so: no refused line: $out"
  respond "$other_dir/duplicate.so" sha256
  [ "$rc" -eq 2 ] && grep -qF "already loaded" <<<"$err" && pass \
    || fail "response --backend duplicate.so: exit $rc, stderr '$err'"
  # In MULTICHAP_BACKEND_PATH it is found before the package's directory: it is openssl, and
  # the packaged openssl.so is refused. A backend linked in (MULTICHAP_STATIC_BACKENDS) comes
  # before any directory: then duplicate.so is refused.
  run "$bin" algorithms
  linked_in=$(section openssl | grep -c '^    from built in,')
  run MULTICHAP_BACKEND_PATH="$other_dir" "$bin" algorithms
  [ "$(listed)" = "$built,good" ] && pass \
    || fail "MULTICHAP_BACKEND_PATH=$other_dir: lists '$(listed)', want '$built,good'"
  if [ "$linked_in" -eq 1 ]; then
    section openssl | grep -q "^    from built in," && pass \
      || fail "MULTICHAP_BACKEND_PATH=$other_dir: openssl is no longer the one linked in: $out"
    refused_lines | grep -qF "  $other_dir/duplicate.so: a backend named 'openssl' is already loaded (built in)" \
      && pass || fail "MULTICHAP_BACKEND_PATH=$other_dir: duplicate.so is not refused: $out"
  else
    section openssl | grep -qF "    from $other_dir/duplicate.so," && pass \
      || fail "MULTICHAP_BACKEND_PATH=$other_dir: openssl is not the one of duplicate.so: $out"
    refused_lines | grep -qF "/openssl.so: a backend named 'openssl' is already loaded ($other_dir/duplicate.so)" \
      && pass || fail "MULTICHAP_BACKEND_PATH=$other_dir: the packaged openssl.so is not refused: $out"
  fi
fi

# --- MULTICHAP_BACKEND_PATH entries that are not absolute directories --------------------------
# The current directory holds a good plugin, a broken one and junk, under ./relative/dir too:
# none may be loaded or refused.
cwd=$work/cwd
mkdir -p "$cwd/relative/dir"
for d in "$cwd" "$cwd/relative/dir"; do
  cp "$other_dir/good.so" "$bad_dir/wrong_major.so" "$d"/
  printf 'junk\n' >"$d/junk.so"
done
for value in relative/dir : :: "" "relative/dir:" ":relative/dir" "./:.:relative"; do
  cd "$cwd" || exit 1
  run MULTICHAP_BACKEND_PATH="$value" "$bin" algorithms
  cd - >/dev/null || exit 1
  expect_backends_intact "MULTICHAP_BACKEND_PATH='$value'"
  if grep -q "^plugins refused:" <<<"$out"; then
    fail "MULTICHAP_BACKEND_PATH='$value' tried files of the current directory: $(refused_lines)"
  else pass; fi
  if sed -n '/^plugin directories searched:$/,$p' <<<"$out" | grep -q "^  [^/]"; then
    fail "MULTICHAP_BACKEND_PATH='$value': a relative directory was searched: $out"
  else pass; fi
done

# --- every backend, the same response -----------------------------------------------------------
# id 0x2a || "plugin-test-secret" || challenge, hashed by coreutils / rhash.
independent() {
  {
    printf '\x2a'
    printf 'plugin-test-secret'
    printf '00112233445566778899aabbccddeeff0f1e2d3c' | xxd -r -p
  } | case $1 in
    md5) md5sum ;;
    sha1) sha1sum ;;
    sha256) sha256sum ;;
    sha3-256) rhash --sha3-256 - ;;
  esac | cut -d' ' -f1
}
for alg in md5 sha1 sha256 sha3-256; do
  want=0x$(independent "$alg")
  for b in "${backends[@]}" "$other_dir/good.so"; do
    respond "$b" "$alg"
    if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then pass; else
      fail "response --backend $b --alg $alg: exit $rc, '$out', want '$want' ($err)"
    fi
  done
done

# --- libgcrypt in FIPS mode ---------------------------------------------------------------------
if [[ ",$built," == *,gcrypt,* ]]; then
  run LIBGCRYPT_FORCE_FIPS_MODE=1 "$bin" algorithms
  s=$(section gcrypt)
  if [ "$rc" -eq 0 ] && grep -q 'CHAP_A=5  md5 .* unsupported$' <<<"$s" &&
     [ "$(grep -c 'CHAP_A=[678] .* supported$' <<<"$s")" -eq 3 ]; then pass; else
    fail "FIPS: gcrypt should offer sha1, sha256, sha3-256 and not md5 (exit $rc): $s"
  fi
  respond gcrypt sha256 LIBGCRYPT_FORCE_FIPS_MODE=1
  [ "$rc" -eq 0 ] && [ "$out" = "0x$(independent sha256)" ] && pass \
    || fail "FIPS: response --backend gcrypt --alg sha256: exit $rc, '$out' ($err)"
  respond gcrypt md5 LIBGCRYPT_FORCE_FIPS_MODE=1
  if [ "$rc" -eq 3 ] && [ -z "$out" ] && grep -q "gcrypt: md5 is not available" <<<"$err"; then
    pass
  else
    fail "FIPS: response --backend gcrypt --alg md5: exit $rc (want 3, not a signal), '$out', '$err'"
  fi
fi

# --- one directory under several spellings is one directory, one file is one plugin -------------
pkg_plugin=$("$bin" algorithms | sed -n 's/^    from \(\/.*\.so\), backend version.*/\1/p' | head -n 1)
if [ -n "$pkg_plugin" ]; then
  pkg_dir=$(dirname "$pkg_plugin")
  run MULTICHAP_BACKEND_PATH="$pkg_dir/:$pkg_dir:$pkg_dir/." "$bin" algorithms
  expect_backends_intact "MULTICHAP_BACKEND_PATH naming the package's directory three ways"
  [ -z "$(refused_lines)" ] && pass || fail "the package's own plugins were refused: $(refused_lines)"
  [ "$(sed -n '/^plugin directories searched:$/,/^[^ ]/p' <<<"$out" | grep -c '^  ')" -eq 1 ] &&
    pass || fail "one directory listed more than once: $out"
  run MULTICHAP_BACKEND_PATH="$pkg_dir/" "$bin" response --backend "$pkg_dir//$(basename "$pkg_plugin")" \
    --alg sha256 --id 1 --secret-file "$work/secret" --challenge 0x01
  [ "$rc" -eq 0 ] && pass || fail "--backend naming a loaded plugin another way: exit $rc, $err"
fi

finish cli_plugins
