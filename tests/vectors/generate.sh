#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Generates tests/vectors/hash.txt and tests/vectors/chap.txt with independent tools only:
# coreutils md5sum, sha1sum and sha256sum, `rhash --sha3-256`, xxd and printf. Nothing here runs
# multichap code, so the files are known answers our backends are checked against.
#
#   tests/vectors/generate.sh           rewrite both files
#   tests/vectors/generate.sh --check   regenerate into a temporary directory and fail when the
#                                       committed files differ (run by ctest as vectors_reproducible)
#
# Every vector's '#' comment is the exact command whose output became its digest. The script
# evaluates that very string up to its last pipe, with the shell variables it names (Msg, Secret,
# Challenge) set to the vector's values, into a file; then each tool hashes all of its files in
# one process (one md5sum, one sha1sum, one sha256sum, one rhash), which is what the command's
# last stage computes on its standard input. That keeps the check to a few seconds: one process
# per vector made it take a minute or more on a busy machine. Inputs that look random come from a
# deterministic expander (sha256sum of a label and a counter), so the output is the same on
# every run.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-write}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $mode in
  write) out_dir=$here ;;
  --check) out_dir=$work ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

for tool in md5sum sha1sum sha256sum rhash xxd; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not installed" >&2; exit 3; }
done

sections=(MD5 SHA-1 SHA-256 SHA3-256)

# The hashing command of a section, reading stdin.
tool_for() {
  case $1 in
    MD5) echo "md5sum" ;;
    SHA-1) echo "sha1sum" ;;
    SHA-256) echo "sha256sum" ;;
    SHA3-256) echo "rhash --sha3-256 -" ;;
  esac
}

# The hashing is batched. run_digest CMD [PUBLISHED-KEY] takes a command line (a string, exactly
# as written in the vector's comment) that ends in "| TOOL", evaluates everything before that
# last pipe into the file $work/in/N, queues N for TOOL and sets DIGEST to the placeholder @@N@@.
# hash_queued then runs each tool once over its files and replaces the placeholders in the
# written files with the digests, checking the published ones. (No command substitution around
# run_digest: the counter must survive.)
mkdir -p "$work/in"
vector_count=0
declare -A queue=()      # tool -> space-separated file numbers
declare -A published_of=()  # file number -> published key
run_digest() {
  local cmd=$1 key=${2:-} tool
  tool=$(tool_for_cmd "$cmd")
  vector_count=$((vector_count + 1))
  eval "${cmd% | "$tool"}" >"$work/in/$vector_count"
  queue[$tool]+=" $vector_count"
  [ -z "$key" ] || published_of[$vector_count]=$key
  DIGEST="@@$vector_count@@"
}

# Which tool a command line ends with.
tool_for_cmd() {
  local s
  for s in "${sections[@]}"; do
    local t
    t=$(tool_for "$s")
    if [[ $1 == *" | $t" ]]; then
      echo "$t"
      return
    fi
  done
  echo "$0: no hashing tool at the end of: $1" >&2
  exit 3
}

# Hashes every queued file, one process per tool, and fills the placeholders in the given files.
hash_queued() {
  local tool f digest path n
  : >"$work/digests"
  for tool in "${!queue[@]}"; do
    local -a files=()
    for n in ${queue[$tool]}; do files+=("$work/in/$n"); done
    # "DIGEST  PATH" per file (coreutils and rhash alike), in argument order.
    ${tool% -} "${files[@]}" >"$work/out"
    while read -r digest path; do
      n=${path##*/}
      [[ $digest =~ ^[0-9a-f]+$ ]] || { echo "$0: no digest from $tool for vector $n" >&2; exit 3; }
      [ -z "${published_of[$n]:-}" ] || check_published "${published_of[$n]}" "$digest"
      echo "$n $digest" >>"$work/digests"
    done <"$work/out"
  done
  [ "$(wc -l <"$work/digests")" -eq "$vector_count" ] || {
    echo "$0: $vector_count vectors queued, $(wc -l <"$work/digests") digests" >&2
    exit 3
  }
  for f in "$@"; do
    awk 'NR == FNR { d["@@" $1 "@@"] = $2; next }
         /^(Digest|Response) = @@[0-9]+@@$/ { $3 = d[$3] } { print }' "$work/digests" "$f" >"$f.new"
    mv "$f.new" "$f"
  done
}

# Bytes of a string as bare lower-case hex.
to_hex() { printf '%s' "$1" | xxd -p | tr -d '\n'; }

# N deterministic pseudo-random bytes (as hex) for a label: sha256sum of "label:0", "label:1"...
expand_hex() {
  local label=$1 n=$2 hex="" i=0
  while [ ${#hex} -lt $((2 * n)) ]; do
    hex+=$(printf '%s:%d' "$label" "$i" | sha256sum | cut -c1-64)
    i=$((i + 1))
  done
  echo "${hex:0:$((2 * n))}"
}

# Bytes 00 01 02 ... (mod 256), n of them, as hex (printf -v: no process per byte).
counting_hex() {
  local n=$1 i hex="" b
  for ((i = 0; i < n; i++)); do
    printf -v b '%02x' $((i % 256))
    hex+=$b
  done
  echo "$hex"
}

# Published digests (the publication named beside each), checked against the tool's output so a
# tool or typing error cannot slip into the file. Key: "SECTION|text".
declare -A published=(
  ["MD5|"]=d41d8cd98f00b204e9800998ecf8427e
  ["MD5|a"]=0cc175b9c0f1b6a831c399e269772661
  ["MD5|abc"]=900150983cd24fb0d6963f7d28e17f72
  ["MD5|message digest"]=f96b697d7cb7938d525a2f31aaf161d0
  ["MD5|abcdefghijklmnopqrstuvwxyz"]=c3fcd3d76192e4007dfb496cca67e13b
  ["MD5|ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"]=d174ab98d277d9f5a5611c2c9f419d9f
  ["MD5|12345678901234567890123456789012345678901234567890123456789012345678901234567890"]=57edf4a22be3c955ac49da2e2107b67a
  ["SHA-1|abc"]=a9993e364706816aba3e25717850c26c9cd0d89d
  ["SHA-1|abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"]=84983e441c3bd26ebaae4aa1f95129e5e54670f1
  ["SHA-1|a*1000000"]=34aa973cd4c4daa4f61eeb2bdbad27316534016f
  ["SHA-256|abc"]=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
  ["SHA-256|abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"]=248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1
  ["SHA-256|a*1000000"]=cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0
  ["SHA3-256|"]=a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a
  ["SHA3-256|abc"]=3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532
  ["SHA3-256|a3*200"]=79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787
)

check_published() {  # key digest
  local want=${published[$1]:-}
  if [ -n "$want" ] && [ "$want" != "$2" ]; then
    echo "$0: $1: tool says $2, the publication says $want" >&2
    exit 3
  fi
}

# Where each ASCII message comes from, beyond the command that hashed it.
publication_of() {  # section text
  case "$1|$2" in
    "MD5|" | "MD5|a" | "MD5|abc" | "MD5|message digest" | "MD5|abcdefghijklmnopqrstuvwxyz" | \
      "MD5|ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" | \
      "MD5|1234567890"*)
      echo "RFC 1321 appendix A.5 (test suite); digest matches the RFC" ;;
    "SHA-1|abc") echo "FIPS 180-2 appendix A.1 (one-block message); digest matches the publication" ;;
    "SHA-1|abcdbcdecdef"*) echo "FIPS 180-2 appendix A.2 (448-bit multi-block message); digest matches the publication" ;;
    "SHA-256|abc") echo "FIPS 180-2 appendix B.1 (one-block message); digest matches the publication" ;;
    "SHA-256|abcdbcdecdef"*) echo "FIPS 180-2 appendix B.2 (448-bit multi-block message); digest matches the publication" ;;
    "SHA3-256|") echo "NIST FIPS 202 example SHA3-256_Msg0; digest matches the example" ;;
    "SHA3-256|abc") echo "NIST FIPS 202 example values for SHA3-256 (\"abc\"); digest matches the example" ;;
    *"|abcdbcdecdef"*) echo "the 448-bit message of FIPS 180-2 appendix A.2/B.2" ;;
    *"|abcdefghbcdefghi"*) echo "the 896-bit message of FIPS 180-2 appendix C.2 (SHA-512 two-block example)" ;;
    *) echo "" ;;
  esac
}

write_pattern() {  # published-key pattern-hex repeat command note
  local digest
  run_digest "$4" "$1"
  digest=$DIGEST
  echo
  echo "# $4"
  echo "# message: $5"
  echo "Pattern = $2"
  echo "Repeat = $3"
  echo "Digest = $digest"
}

nist_long=abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno

write_hash() {
  local file=$1 section tool text cmd digest Msg n note
  local -a texts=(
    ""
    "a"
    "abc"
    "message digest"
    "abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890"
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
  )
  # Lengths around the block boundaries: 64-byte blocks (MD5, SHA-1, SHA-256; 55/56 is where the
  # length field stops fitting) and the 136-byte rate of SHA3-256.
  local -a lengths=(1 55 56 57 63 64 65 119 120 127 128 135 136 137 271 272 273 1000)
  {
    echo "# Plain-hash known answers, generated by tests/vectors/generate.sh with coreutils"
    echo "# md5sum/sha1sum/sha256sum and rhash --sha3-256 (never with multichap)."
    echo "#"
    echo "# Msg = the message as bare hex (empty for the empty message), Digest = its hash."
    echo "# Pattern = bare hex, Repeat = N: the message is Pattern repeated N times."
    echo "# Each vector's comment is the exact command whose output is its Digest; \$Msg in it"
    echo "# stands for the vector's Msg value."
    for section in "${sections[@]}"; do
      tool=$(tool_for "$section")
      echo
      echo "[$section]"
      for text in "${texts[@]}"; do
        cmd="printf '$text' | $tool"
        run_digest "$cmd" "$section|$text"
        digest=$DIGEST
        note=$(publication_of "$section" "$text")
        echo
        echo "# $cmd"
        [ -n "$note" ] && echo "# message: $note"
        Msg=$(to_hex "$text")
        echo "Msg =${Msg:+ $Msg}"
        echo "Digest = $digest"
      done
      for n in "${lengths[@]}"; do
        Msg=$(counting_hex "$n")
        cmd="printf '%s' \"\$Msg\" | xxd -r -p | $tool"
        run_digest "$cmd"
        digest=$DIGEST
        echo
        echo "# $cmd"
        echo "# message: $n byte$([ "$n" -eq 1 ] || echo s) 00 01 02 ... (mod 256)"
        echo "Msg = $Msg"
        echo "Digest = $digest"
      done
      # Long messages as a repeated pattern.
      write_pattern "$section|a*1000000" 61 1000000 \
        "head -c 1000000 /dev/zero | tr '\\0' 'a' | $tool" \
        "one million 'a' (FIPS 180-2 appendices A.3/B.3)"
      write_pattern "$section|a3*200" a3 200 \
        "printf 'a3%.0s' \$(seq 200) | xxd -r -p | $tool" \
        "200 bytes 0xa3 (NIST FIPS 202 example SHA3-256_Msg1600)"
      write_pattern "$section|abcdefgh*16384" "$(to_hex "$nist_long")" 16384 \
        "printf '$nist_long%.0s' \$(seq 16384) | $tool" \
        "1 MiB: the 64-byte pattern of the NIST \"extremely long message\" test, 16384 times"
      write_pattern "$section|counting*4096" "$(counting_hex 256)" 4096 \
        "printf '$(counting_hex 256)%.0s' \$(seq 4096) | xxd -r -p | $tool" \
        "1 MiB: bytes 00..ff, 4096 times"
    done
  } >"$file"
}

# CHAP cases shared by every algorithm: label|id|secret hex|challenge hex|note
chap_cases() {
  echo "id0-min|0|$(to_hex 'chapsecret12')|5a|id 0, 12-byte text secret (the RFC 7143 minimum), 1-byte challenge"
  echo "id1-utf8|1|$(to_hex 'pässwörd-κλειδί')|$(expand_hex chap-c16 16)|id 1, 23-byte UTF-8 secret 'pässwörd-κλειδί', 16-byte challenge"
  echo "id255-bin|255|00ff80$(expand_hex chap-s32 29)|$(expand_hex chap-c32 32)|id 255, 32-byte binary secret starting 00 ff 80, 32-byte challenge"
  echo "id7-hex|7|$(to_hex '0123456789abcdef')|$(expand_hex chap-c50 50)|id 7, 16-byte text secret, 50-byte challenge"
  echo "id163-1k|163|$(expand_hex chap-s13 13)|$(expand_hex chap-c1024 1024)|id 0xa3, 13-byte binary secret, 1024-byte challenge (the maximum)"
  echo "id128-ff|128|$(expand_hex chap-s20 20)|$(printf 'ff%.0s' $(seq 1024))|id 0x80, 20-byte binary secret, 1024 bytes 0xff"
  echo "id0-zero|0|$(printf '00%.0s' $(seq 12))|$(printf '00%.0s' $(seq 16))|id 0, 12 zero bytes of secret, 16 zero bytes of challenge"
}

write_chap() {
  local file=$1 section tool label id Secret Challenge note cmd digest seed slen clen shared_cases
  shared_cases=$(chap_cases)
  {
    echo "# CHAP responses R = H(identifier byte || secret || challenge) (RFC 1994 §4.1), generated"
    echo "# by tests/vectors/generate.sh with coreutils md5sum/sha1sum/sha256sum and"
    echo "# rhash --sha3-256 (never with multichap)."
    echo "#"
    echo "# Id = the identifier (decimal), Secret and Challenge = bare hex, Response = bare hex."
    echo "# Each vector's comment is the exact command whose output is its Response; \$Secret and"
    echo "# \$Challenge in it stand for the vector's values."
    for section in "${sections[@]}"; do
      tool=$(tool_for "$section")
      echo
      echo "[$section]"
      {
        echo "$shared_cases"
        # One case per algorithm with pseudo-random id, lengths and bytes.
        seed=$(expand_hex "chap-random-$section" 4)
        id=$((16#${seed:0:2}))
        slen=$((12 + 16#${seed:2:2} % 21))
        clen=$((1 + 16#${seed:4:4} % 1024))
        echo "random|$id|$(expand_hex "chap-random-$section-secret" "$slen")|$(expand_hex "chap-random-$section-challenge" "$clen")|pseudo-random: id $id, $slen-byte secret, $clen-byte challenge"
      } >"$work/cases"
      while IFS='|' read -r label id Secret Challenge note; do
        cmd="{ printf '\\x$(printf '%02x' "$id")'; printf '%s' \"\$Secret\" | xxd -r -p; printf '%s' \"\$Challenge\" | xxd -r -p; } | $tool"
        run_digest "$cmd"
        digest=$DIGEST
        echo
        echo "# $note"
        echo "# $cmd"
        echo "Id = $id"
        echo "Secret = $Secret"
        echo "Challenge = $Challenge"
        echo "Response = $digest"
      done <"$work/cases"
    done
  } >"$file"
}

write_hash "$out_dir/hash.txt"
write_chap "$out_dir/chap.txt"
hash_queued "$out_dir/hash.txt" "$out_dir/chap.txt"

if [ "$mode" = --check ]; then
  status=0
  for f in hash.txt chap.txt; do
    if ! diff -q "$here/$f" "$out_dir/$f" >/dev/null; then
      echo "$0: tests/vectors/$f differs from what the independent tools compute:" >&2
      diff "$here/$f" "$out_dir/$f" | head -20 >&2
      status=1
    fi
  done
  [ $status -eq 0 ] && echo "tests/vectors/hash.txt and chap.txt reproduce from independent tools"
  exit $status
fi
