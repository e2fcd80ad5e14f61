#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The integration tests' set-up (a ctest fixture, run once per ctest run): installs this build of
# multichap into BUILD/integration/prefix, then builds libiscsi and tgt with the patch series of
# integrations/ against it (integrations/*/build.sh), into BUILD/integration/{libiscsi,tgt}.
#
# usage: build_integrations.sh BUILD_DIR SOURCE_DIR
#
# Sources: MULTICHAP_LIBISCSI_SOURCE / MULTICHAP_TGT_SOURCE (a release tarball or directory),
# else the snapshots in ../shared/vendor/ beside the repository. A missing source is a skip
# (exit 77) naming those two variables. The slow builds are cached: each is redone only when its
# patches, its build script, its source or multichap's public header changed (a stamp beside it).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build=$(realpath "$1")
src=$(realpath "$2")
work="$build/integration"
prefix="$work/prefix"
mkdir -p "$work"

find_source() {  # NAME VARIABLE FILE
  local name=$1 var=$2 file=$3 candidate
  if [[ -n "${!var:-}" ]]; then
    if [[ -e "${!var}" ]]; then
      realpath "${!var}"
      return 0
    fi
    echo "$var=${!var} does not exist" >&2
    return 1
  fi
  for candidate in "$src/../shared/vendor/$file" "/work/shared/vendor/$file"; do
    if [[ -e "$candidate" ]]; then
      realpath "$candidate"
      return 0
    fi
  done
  echo "no $name source: set $var to a $file (or an extracted copy)," \
    "or put it in ../shared/vendor/" >&2
  return 1
}

libiscsi_src=$(find_source libiscsi MULTICHAP_LIBISCSI_SOURCE libiscsi-1.19.0.tar.gz) || {
  echo "SKIP: integration tests need MULTICHAP_LIBISCSI_SOURCE and MULTICHAP_TGT_SOURCE" >&2
  exit 77
}
tgt_src=$(find_source tgt MULTICHAP_TGT_SOURCE tgt-1.0.85.tar.gz) || {
  echo "SKIP: integration tests need MULTICHAP_LIBISCSI_SOURCE and MULTICHAP_TGT_SOURCE" >&2
  exit 77
}

echo "installing this build of multichap into $prefix"
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --exists multichap

# What a build depends on, as one hash: its folder in integrations/ (patches, build script), its
# source (a tarball's bytes, or a directory's file list and contents) and the public header.
stamp_of() {  # NAME SOURCE
  local name=$1 source=$2
  {
    (cd "$src/integrations/$name" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    if [[ -d "$source" ]]; then
      (cd "$source" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    else
      sha256sum <"$source"
    fi
    sha256sum <"$src/capi/include/multichap/multichap.h"
  } | sha256sum | cut -d' ' -f1
}

build_one() {  # NAME SOURCE CHECK_FILE
  local name=$1 source=$2 check=$3 dest="$work/$1" stamp
  stamp=$(stamp_of "$name" "$source")
  if [[ -f "$dest/.stamp" && "$(cat "$dest/.stamp")" == "$stamp" && -e "$dest/$check" ]]; then
    echo "$name: up to date in $dest (cached)"
    return 0
  fi
  rm -rf "$dest"
  echo "$name: building from $source into $dest"
  local started=$SECONDS
  bash "$src/integrations/$name/build.sh" "$source" "$dest"
  echo "$stamp" >"$dest/.stamp"
  echo "$name: built in $((SECONDS - started)) s"
}

build_one libiscsi "$libiscsi_src" lib/libiscsi.so.9
build_one tgt "$tgt_src" sbin/tgtd
