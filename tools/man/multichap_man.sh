#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Generates the man page multichap.1 from the built CLI's own texts with help2man: NAME,
# SYNOPSIS and DESCRIPTION from `multichap --help`, the version from `multichap --version`, a
# COMMANDS section with every command's `multichap COMMAND --help` verbatim (the commands are
# those `multichap --help` lists), and the hand-written sections of multichap.h2m.
#   multichap_man.sh MULTICHAP_BINARY HELP2MAN STATIC_INCLUDE OUTPUT
set -euo pipefail
export LC_ALL=C
bin=${1:?usage: $0 MULTICHAP_BINARY HELP2MAN STATIC_INCLUDE OUTPUT}
help2man=${2:?} static=${3:?} output=${4:?}

version=$("$bin" --version | head -n 1)
if ! [[ "$version" =~ ^multichap\ [0-9] ]]; then
  echo "multichap_man.sh: '$bin --version' printed '$version', not 'multichap VERSION'" >&2
  exit 1
fi
commands=$("$bin" --help | sed -n '/^commands:$/,/^$/s/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
if [ -z "$commands" ]; then
  echo "multichap_man.sh: '$bin --help' lists no commands" >&2
  exit 1
fi

# Text as roff, kept as it is: backslashes and hyphens escaped, a leading . or ' made literal,
# the section sign (the one non-ASCII character of the help texts) as roff's \(sc.
roff_verbatim() {
  sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/\xc2\xa7/\\(sc/g'
}

generated="$output.h2m"
{
  echo "[SYNOPSIS]"
  echo ".B multichap"
  echo "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]"
  echo ".br"
  echo ".B multichap"
  echo "\\fICOMMAND\\fR \\fB\\-\\-help\\fR"
  echo ".br"
  echo ".B multichap"
  echo "\\fB\\-\\-version\\fR"
  echo "[COMMANDS]"
  echo "Each command's options, as"
  echo ".B multichap"
  echo "\\fICOMMAND\\fR \\fB\\-\\-help\\fR"
  echo "prints them."
  for cmd in $commands; do
    echo ".SS \"multichap $cmd\""
    echo ".nf"
    "$bin" "$cmd" --help | roff_verbatim
    echo ".fi"
  done
} >"$generated"

# help2man reads and writes UTF-8 only in a UTF-8 locale (in C, non-ASCII text becomes "??").
LC_ALL=C.UTF-8 "$help2man" --no-info --section 1 --version-string "$version" \
  --name "iSCSI CHAP authentication over MD5, SHA-1, SHA-256 and SHA3-256" \
  --include "$generated" --include "$static" --output "$output" "$bin"
rm -f "$generated"
