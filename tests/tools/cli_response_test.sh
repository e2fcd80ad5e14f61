#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CLI test of `multichap response`: its output must equal what coreutils and rhash compute over
# the same bytes (id || secret || challenge), for every algorithm and backend, with hex and base64
# challenges; usage errors exit 2 and print nothing on stdout; a secret given on the command line
# draws a warning that does not repeat it.
#
#   cli_response_test.sh MULTICHAP_BINARY BACKENDS
# BACKENDS: the backends this build has, comma-separated ("openssl,botan").
set -uo pipefail
export LC_ALL=C

bin=${1:?usage: $0 MULTICHAP_BINARY BACKENDS}
IFS=',' read -ra backends <<<"${2:?usage: $0 MULTICHAP_BINARY BACKENDS}"
unset MULTICHAP_SECRET

for tool in md5sum sha1sum sha256sum rhash xxd base64; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }

. "$(dirname "$0")/check_lib.sh"

# Independent digest of stdin for an algorithm name, as bare lower-case hex.
independent() {
  case $1 in
    md5) md5sum ;;
    sha1) sha1sum ;;
    sha256) sha256sum ;;
    sha3-256) rhash --sha3-256 - ;;
  esac | cut -d' ' -f1
}

# Expected response: id (decimal), secret hex, challenge hex.
expected_response() {
  local alg=$1 id=$2 secret=$3 challenge=$4
  {
    printf "\\x$(printf '%02x' "$id")"
    printf '%s' "$secret" | xxd -r -p
    printf '%s' "$challenge" | xxd -r -p
  } | independent "$alg"
}

random_hex() { head -c "$1" /dev/urandom | xxd -p | tr -d '\n'; }
hex_to_base64() { printf '%s' "$1" | xxd -r -p | base64 -w0; }

# Runs the binary with the given arguments; sets rc, out, err.
run() {
  "$bin" "$@" >"$work/out" 2>"$work/err"
  rc=$?
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# The binary lists exactly the backends CMake says it built.
run algorithms
listed=$(sed -n 's/^  \([a-z]*\) (.*/\1/p' <<<"$out" | paste -sd, -)
if [ "$rc" -eq 0 ] && [ "$listed" = "$(IFS=,; echo "${backends[*]}")" ]; then pass; else
  fail "algorithms lists '$listed' (exit $rc), the build has '${backends[*]}'"
fi

# --- correct responses ---------------------------------------------------------------------------
declare -A number=([md5]=5 [sha1]=6 [sha256]=7 [sha3-256]=8)
for alg in md5 sha1 sha256 sha3-256; do
  # id|secret length|challenge length
  for c in "7|16|16" "0|12|1" "1|13|32" "255|32|50" "$((RANDOM % 256))|$((12 + RANDOM % 21))|1024"; do
    IFS='|' read -r id slen clen <<<"$c"
    secret=$(random_hex "$slen")
    challenge=$(random_hex "$clen")
    want=0x$(expected_response "$alg" "$id" "$secret" "$challenge")
    for backend in "${backends[@]}"; do
      what="$alg/$backend id=$id secret=${slen}B challenge=${clen}B"
      run response --alg "$alg" --id "$id" --secret-hex "0x$secret" --challenge "0x$challenge" \
        --backend "$backend"
      if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then pass; else
        fail "$what hex: exit $rc, got '$out', want '$want' (secret $secret, challenge $challenge: $err)"
      fi
      # Base64 challenge (0b), the CHAP_A number for the algorithm, the id in hex, and the secret
      # hex without its 0x prefix: the same bytes, the same response.
      run response --alg "${number[$alg]}" --id "$(printf '0x%02x' "$id")" --secret-hex "$secret" \
        --challenge "0b$(hex_to_base64 "$challenge")" --backend "$backend"
      if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then pass; else
        fail "$what base64: exit $rc, got '$out', want '$want' ($err)"
      fi
      # Upper-case hex challenge with the 0X prefix.
      run response --alg "$alg" --id "$id" --secret-hex "0x$secret" \
        --challenge "0X$(tr a-f A-F <<<"$challenge")" --backend "$backend"
      if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then pass; else
        fail "$what upper-case hex: exit $rc, got '$out', want '$want' ($err)"
      fi
    done
    # Without --backend: the default backend.
    run response --alg "$alg" --id "$id" --secret-hex "0x$secret" --challenge "0x$challenge"
    if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then pass; else
      fail "$alg default backend: exit $rc, got '$out', want '$want'"
    fi
  done
done

# --- secrets given as text ----------------------------------------------------------------------
text_secret='Hush-Hush-qu4ck-Secret'  # 22 bytes
text_hex=$(printf '%s' "$text_secret" | xxd -p | tr -d '\n')
challenge=$(random_hex 16)
for alg in md5 sha1 sha256 sha3-256; do
  want=0x$(expected_response "$alg" 42 "$text_hex" "$challenge")
  for backend in "${backends[@]}"; do
    run response --alg "$alg" --id 42 --secret "$text_secret" --challenge "0x$challenge" \
      --backend "$backend"
    if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then pass; else
      fail "$alg/$backend --secret: exit $rc, got '$out', want '$want'"
    fi
    if grep -qi warning <<<"$err"; then pass; else fail "--secret printed no warning: '$err'"; fi
    if grep -qF -- "$text_secret" <<<"$err" || grep -qiF -- "$text_hex" <<<"$err"; then
      fail "the --secret warning repeats the secret: '$err'"
    else pass; fi
  done
  # From the environment and from a file: the same response, no warning.
  MULTICHAP_SECRET=$text_secret run response --alg "$alg" --id 42 --challenge "0x$challenge"
  if [ "$rc" -eq 0 ] && [ "$out" = "$want" ] && ! grep -qi warning <<<"$err"; then pass; else
    fail "$alg MULTICHAP_SECRET: exit $rc, got '$out', want '$want' ($err)"
  fi
  printf '%s\n' "$text_secret" >"$work/secret"
  chmod 600 "$work/secret"  # a secret file must be private (tools/secret_file.h)
  run response --alg "$alg" --id 42 --secret-file "$work/secret" --challenge "0x$challenge"
  if [ "$rc" -eq 0 ] && [ "$out" = "$want" ] && ! grep -qi warning <<<"$err"; then pass; else
    fail "$alg --secret-file: exit $rc, got '$out', want '$want' ($err)"
  fi
done
# --secret-hex is on the command line too: warned about, never echoed.
run response --alg sha256 --id 1 --secret-hex "0x$text_hex" --challenge 0x00
if [ "$rc" -eq 0 ] && grep -qi warning <<<"$err" && ! grep -qiF -- "$text_hex" <<<"$err"; then
  pass
else fail "--secret-hex: exit $rc, stderr '$err'"; fi

# --- usage errors: exit 2, nothing on stdout, the secret never in stderr ---------------------------
good=(--alg sha256 --id 7 --secret "$text_secret" --challenge 0x0011223344556677)
usage_error() {  # description, then the arguments
  local what=$1
  shift
  run "$@"
  if [ "$rc" -eq 2 ] && [ -z "$out" ] && [ -n "$err" ] && ! grep -qF -- "$text_secret" <<<"$err"
  then pass; else
    fail "$what: exit $rc (want 2), stdout '$out', stderr '$err'"
  fi
}
usage_error "bad --alg" response --alg sha512 --id 7 --secret "$text_secret" --challenge 0x00
usage_error "--alg 9" response --alg 9 --id 7 --secret "$text_secret" --challenge 0x00
usage_error "--alg 4" response --alg 4 --id 7 --secret "$text_secret" --challenge 0x00
usage_error "--id 256" response --alg md5 --id 256 --secret "$text_secret" --challenge 0x00
usage_error "--id -1" response --alg md5 --id -1 --secret "$text_secret" --challenge 0x00
usage_error "--id 0x100" response --alg md5 --id 0x100 --secret "$text_secret" --challenge 0x00
usage_error "--id seven" response --alg md5 --id seven --secret "$text_secret" --challenge 0x00
usage_error "challenge without prefix" response --alg md5 --id 7 --secret "$text_secret" \
  --challenge 00112233
usage_error "challenge bad hex" response --alg md5 --id 7 --secret "$text_secret" --challenge 0xzz
usage_error "challenge empty hex" response --alg md5 --id 7 --secret "$text_secret" --challenge 0x
usage_error "challenge bad base64" response --alg md5 --id 7 --secret "$text_secret" \
  --challenge '0b!!!!'
usage_error "challenge base64 missing padding" response --alg md5 --id 7 --secret "$text_secret" \
  --challenge 0bAA
usage_error "challenge over 1024 bytes" response --alg md5 --id 7 --secret "$text_secret" \
  --challenge "0x$(random_hex 1025)"
usage_error "missing secret" response --alg md5 --id 7 --challenge 0x00
usage_error "two secrets" response "${good[@]}" --secret-hex 0x00112233445566778899aabb
usage_error "missing --challenge" response --alg md5 --id 7 --secret "$text_secret"
usage_error "missing --alg" response --id 7 --secret "$text_secret" --challenge 0x00
usage_error "missing --id" response --alg md5 --secret "$text_secret" --challenge 0x00
usage_error "unknown option" response "${good[@]}" --verbose
usage_error "unknown backend" response "${good[@]}" --backend gnutls
for b in openssl botan; do
  [[ ",$2," == *",$b,"* ]] && continue
  usage_error "backend $b not built" response "${good[@]}" --backend "$b"
done

finish cli_response_test
