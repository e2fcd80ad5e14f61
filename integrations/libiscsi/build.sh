#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Builds libiscsi 1.19.0 with its CHAP handed to libmultichap (the patch series in patches/) and
# installs the library, its headers and its tools into DEST. See README.md beside this script.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: build.sh SOURCE DEST

Builds libiscsi 1.19.0 patched to authenticate with libmultichap's C initiator (patches/*.patch)
and installs it into DEST:
  DEST/lib/libiscsi.so.9 (+ libiscsi.so, and libiscsi.so.7 -> libiscsi.so.9, the name Debian's
  QEMU loads), DEST/bin/iscsi-inq, iscsi-ls and the other tools that build, DEST/include/iscsi/.

  SOURCE  a libiscsi-1.19.0 tarball or an extracted source directory (copied, never modified)
  DEST    the installation prefix (created); the build log is DEST/build.log

libmultichap is found with pkg-config: set PKG_CONFIG_PATH for a private installation, e.g.
PKG_CONFIG_PATH=/opt/multichap/lib/pkgconfig. The library and the tools get a RUNPATH to
multichap's libdir (and the tools to DEST/lib), so LD_LIBRARY_PATH=DEST/lib is only needed for
programs that load libiscsi by name, such as QEMU. MAKE_JOBS sets make's -j (default 2).
Needs autoconf, automake, libtool, make, a C compiler, patch and pkg-config.
USAGE
}

die() {
  echo "build.sh: error: $*" >&2
  exit 1
}

if [[ $# -ge 1 && ("$1" == "-h" || "$1" == "--help") ]]; then
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
for tool in autoreconf automake libtoolize make cc patch pkg-config tar readelf; do
  command -v "$tool" >/dev/null ||
    die "'$tool' is missing (apt-get install autoconf automake libtool build-essential patch pkg-config)"
done

shopt -s nullglob
patches=("$here"/patches/*.patch)
shopt -u nullglob
((${#patches[@]} > 0)) || die "no patches in $here/patches"

if ! pkg-config --exists multichap; then
  die "pkg-config does not find multichap (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-<unset>}):" \
    "install multichap and add the directory holding multichap.pc to PKG_CONFIG_PATH"
fi
mc_libdir=$(realpath "$(pkg-config --variable=libdir multichap)")
echo "==> multichap $(pkg-config --modversion multichap) in $mc_libdir"

mkdir -p "$dest_arg"
dest=$(realpath "$dest_arg")
log="$dest/build.log"
: >"$log"
work=$(mktemp -d "${TMPDIR:-/tmp}/libiscsi-multichap.XXXXXX")
trap 'rm -rf "$work"' EXIT

# step DESCRIPTION COMMAND...: runs COMMAND with its output in the log; on failure shows the end
# of the log and stops.
step() {
  local what=$1
  shift
  echo "==> $what"
  echo "==> $what: $*" >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    echo "build.sh: error: $what failed; the last lines of $log:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
}

tree="$work/libiscsi"
mkdir -p "$tree"
if [[ -d "$source_arg" ]]; then
  step "copying $source_arg" cp -a "$(realpath "$source_arg")/." "$tree/"
else
  step "unpacking $source_arg" tar -xf "$source_arg" -C "$tree" --strip-components=1
fi
[[ -f "$tree/lib/login.c" && -f "$tree/configure.ac" && -f "$tree/autogen.sh" ]] ||
  die "$source_arg is not a libiscsi source tree"
version=$(sed -n 's/^Version:[[:space:]]*//p' "$tree/packaging/RPM/libiscsi.spec.in" | head -n 1)
[[ "$version" == "1.19.0" ]] ||
  echo "build.sh: warning: the patches are for libiscsi 1.19.0, SOURCE is ${version:-unknown}" >&2

for p in "${patches[@]}"; do
  name=$(basename "$p")
  if ! patch -d "$tree" -p1 --batch --forward --dry-run <"$p" >>"$log" 2>&1; then
    echo "build.sh: error: $name does not apply to $source_arg (not libiscsi 1.19.0, or already" \
      "patched); patch said:" >&2
    patch -d "$tree" -p1 --batch --forward --dry-run <"$p" 2>&1 | tail -n 20 >&2 || true
    exit 1
  fi
  step "applying $name" patch -d "$tree" -p1 --batch --forward <"$p"
done

cd "$tree"
step "autogen.sh" ./autogen.sh
# RUNPATH (not RPATH, so LD_LIBRARY_PATH still wins) to libmultichap for the library and tools.
step "configure --prefix=$dest" ./configure --prefix="$dest" --disable-werror --disable-manpages \
  --disable-test-tool --disable-tests \
  LDFLAGS="-Wl,-rpath,$mc_libdir -Wl,--enable-new-dtags ${LDFLAGS:-}"
step "make -j$jobs" make -j"$jobs"
step "make install" make install

ln -sfn libiscsi.so.9 "$dest/lib/libiscsi.so.7"
echo "==> $dest/lib/libiscsi.so.7 -> libiscsi.so.9"

# The result must find libmultichap by itself and must be the patched library.
readelf -d "$dest/lib/libiscsi.so.9" | grep -q "R.*PATH.*$mc_libdir" ||
  die "$dest/lib/libiscsi.so.9 has no RUNPATH to $mc_libdir"
if LD_LIBRARY_PATH="$dest/lib" ldd "$dest/bin/iscsi-inq" | grep -q 'not found'; then
  die "$dest/bin/iscsi-inq does not find its libraries"
fi
readelf -W --dyn-syms "$dest/lib/libiscsi.so.9" | grep -q ' iscsi_set_chap_algorithms$' ||
  die "$dest/lib/libiscsi.so.9 does not export iscsi_set_chap_algorithms"

tools=("$dest"/bin/iscsi-*)
echo "==> installed: $dest/lib/libiscsi.so.9 (libiscsi.so.7), $dest/include/iscsi," \
  "tools: ${tools[*]##*/}"
