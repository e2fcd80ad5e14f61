#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Builds tgt 1.0.85 with its CHAP handed to libmultichap (the patch series in patches/) and
# installs tgtd and tgtadm into DEST/sbin. See README.md beside this script.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: build.sh SOURCE DEST

Builds tgt 1.0.85 patched to authenticate with libmultichap, and installs DEST/sbin/tgtd and
DEST/sbin/tgtadm.

  SOURCE  a tgt-1.0.85 release tarball (.tar.gz, .tar.xz...) or an extracted source directory;
          it is copied, never modified
  DEST    the installation directory (created); the build log is DEST/build.log

libmultichap is found with pkg-config (set PKG_CONFIG_PATH for a private installation, e.g.
PKG_CONFIG_PATH=/opt/multichap/lib/pkgconfig). tgtd gets a RUNPATH to multichap's libdir, so it
runs without LD_LIBRARY_PATH. MAKE_JOBS sets make's -j (default 2).
EOF
}

die() {
  echo "build.sh: error: $*" >&2
  exit 1
}

if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then
  usage
  exit 0
fi
if [[ $# -ne 2 ]]; then
  usage >&2
  exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_arg=$1
dest_arg=$2
jobs=${MAKE_JOBS:-2}

[[ -e "$source_arg" ]] || die "SOURCE $source_arg does not exist"
for tool in make cc patch pkg-config tar readelf; do
  command -v "$tool" >/dev/null || die "'$tool' is needed (apt-get install build-essential patch pkg-config binutils)"
done

shopt -s nullglob
patches=("$here"/patches/*.patch)
shopt -u nullglob
((${#patches[@]} > 0)) || die "no patches in $here/patches"

if ! pkg-config --exists multichap; then
  die "libmultichap not found by pkg-config (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-<unset>}):" \
    "install multichap and point PKG_CONFIG_PATH at the directory holding multichap.pc"
fi
mc_libdir=$(realpath "$(pkg-config --variable=libdir multichap)")
mc_version=$(pkg-config --modversion multichap)

mkdir -p "$dest_arg"
dest=$(realpath "$dest_arg")
log="$dest/build.log"
: >"$log"

work=$(mktemp -d "${TMPDIR:-/tmp}/tgt-multichap.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# Runs a step with its output in the log; on failure shows the log's end and stops.
step() {  # DESCRIPTION COMMAND...
  local what=$1
  shift
  echo "==> $what"
  echo "==> $what: $*" >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    echo "build.sh: error: $what failed; the last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

echo "==> multichap $mc_version from $mc_libdir"
tree="$work/tgt"
mkdir -p "$tree"
if [[ -d "$source_arg" ]]; then
  step "copying $source_arg" cp -a "$(realpath "$source_arg")/." "$tree/"
else
  step "unpacking $source_arg" tar -xf "$source_arg" -C "$tree" --strip-components=1
fi
[[ -f "$tree/usr/iscsi/chap.c" && -f "$tree/Makefile" ]] || die "$source_arg is not a tgt source tree"
version=$(sed -n 's/^VERSION ?= *//p' "$tree/Makefile")
[[ "$version" == "1.0.85" ]] || echo "build.sh: warning: the patches are for tgt 1.0.85, SOURCE is $version" >&2
# A build left in the source directory would be reused (and linked without libmultichap).
step "cleaning the copy" make -C "$tree" clean-programs

for p in "${patches[@]}"; do
  name=$(basename "$p")
  if ! patch -d "$tree" -p1 --batch --forward --dry-run <"$p" >>"$log" 2>&1; then
    echo "build.sh: error: $name does not apply to $source_arg (already patched, or not tgt 1.0.85);" \
      "patch said:" >&2
    patch -d "$tree" -p1 --batch --forward --dry-run <"$p" 2>&1 | tail -n 20 >&2 || true
    exit 1
  fi
  step "applying $name" patch -d "$tree" -p1 --batch --forward <"$p"
done

# usr/Makefile sets LDFLAGS to "-Wl,-E,-rpath=$(libdir)" (for backing-store modules, none of which
# this build makes); ours keeps -E and adds the RUNPATH to libmultichap.
step "building (make -j$jobs programs)" make -C "$tree" -j"$jobs" programs \
  "LDFLAGS=-Wl,-E -Wl,-rpath,$mc_libdir -Wl,--enable-new-dtags"

mkdir -p "$dest/sbin"
step "installing into $dest/sbin" install -m 755 "$tree/usr/tgtd" "$tree/usr/tgtadm" "$dest/sbin/"

# The result must find libmultichap on its own.
readelf -d "$dest/sbin/tgtd" | grep -q "RUNPATH.*\[$mc_libdir\]" ||
  die "$dest/sbin/tgtd has no RUNPATH to $mc_libdir"
if LD_LIBRARY_PATH='' ldd "$dest/sbin/tgtd" | grep -q 'libmultichap.*not found'; then
  die "$dest/sbin/tgtd does not find libmultichap"
fi
echo "==> done: $dest/sbin/tgtd and $dest/sbin/tgtadm (log: $log)"
