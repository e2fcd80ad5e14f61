#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the seed corpora of the fuzz targets under tests/fuzz/corpus/<name>/.

Run from anywhere: python3 tests/fuzz/make_seeds.py. The chap_target seeds that end in success
carry CHAP_R values computed here with Python's hashlib (independently of multichap) over the
predictable challenge stream of fuzz_chap_target.cpp: stream byte k = (151 * k + 7) mod 256. The
target (auth/chap.cpp make_challenge) draws max(challenge size, digest size) + 1 bytes at once:
the challenge, then its identifier as the last byte. If that order changes, the *success* seeds
stop authenticating and tests/auth/fuzz_replay_test.cpp says so: rerun this script.
tests/auth/fuzz_replay_test.cpp checks that every seed named *success* ends in success.
"""
import base64
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT_NAME = b"alice"
ACCOUNT_SECRET = b"alice-secret-0001"

DIGESTS = {"md5": (hashlib.md5, 16), "sha1": (hashlib.sha1, 20),
           "sha256": (hashlib.sha256, 32), "sha3-256": (hashlib.sha3_256, 32)}


def stream(start, n):
    return bytes((151 * k + 7) % 256 for k in range(start, start + n))


def target_challenge(alg, challenge_size):
    """(identifier, challenge): one draw of size + 1 bytes, the identifier is its last byte."""
    size = max(challenge_size, DIGESTS[alg][1])
    return stream(size, 1)[0], stream(0, size)


def chap_r(alg, ident, secret, challenge, encoding="hex"):
    digest = DIGESTS[alg][0](bytes([ident]) + secret + challenge).digest()
    if encoding == "hex":
        return b"0x" + digest.hex().encode()
    return b"0b" + base64.b64encode(digest)


def seg(*pairs):
    return b"".join(p + b"\0" for p in pairs)


def chap_target_seed(flags, segments):
    return bytes([flags]) + b"\n".join(segments)


def success(flags, offer, alg, challenge_size=32, encoding="hex", mutual_challenge=None):
    ident, challenge = target_challenge(alg, challenge_size)
    response = [b"CHAP_N=" + ACCOUNT_NAME,
                b"CHAP_R=" + chap_r(alg, ident, ACCOUNT_SECRET, challenge, encoding)]
    if mutual_challenge is not None:
        response += [b"CHAP_I=200", b"CHAP_C=" + mutual_challenge]
    return chap_target_seed(flags, [seg(b"AuthMethod=CHAP"), seg(b"CHAP_A=" + offer),
                                    seg(*response)])


def write(corpus, name, data):
    folder = os.path.join(HERE, "corpus", corpus)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    values = {
        "hex_lower": b"0x0123abcdef", "hex_upper": b"0XABCDEF01", "hex_odd": b"0x123",
        "b64_foobar": b"0bZm9vYmFy", "b64_one_pad": b"0BZm8=", "b64_two_pad": b"0bZg==",
        "b64_symbols": b"0b+/+/", "num_decimal": b"255", "num_zero": b"0",
        "num_hex": b"0xff", "num_u32_max": b"4294967295", "num_leading_zero": b"007",
        "b64_noncanonical": b"0bZh==",
    }
    for name, data in values.items():
        write("value_codec", name, data)

    texts = {
        "login_first": seg(b"InitiatorName=iqn.2024-01.org.example:i", b"SessionType=Normal",
                           b"TargetName=iqn.2024-01.org.example:t", b"AuthMethod=CHAP,None"),
        "chap_offer": seg(b"CHAP_A=8,7,6,5"),
        "chap_challenge": seg(b"CHAP_A=7", b"CHAP_I=17", b"CHAP_C=0x" + b"ab" * 32),
        "chap_response_b64": seg(b"CHAP_N=alice", b"CHAP_R=0b" + base64.b64encode(bytes(32))),
        "padded": seg(b"AuthMethod=CHAP") + b"\0\0\0",
        "value_with_equals": seg(b"X-Opaque=a=b", b"Key.with-all_chars+@=v"),
    }
    for name, data in texts.items():
        write("text", name, data)

    mutual_c = b"0x" + bytes(range(100, 132)).hex().encode()
    seeds = {
        "oneway_md5_success": success(0x00, b"5", "md5"),
        "oneway_sha256_backend2_success": success(0x01, b"9,7", "sha256"),
        "oneway_sha3_base64_success": success(0x00, b"8", "sha3-256", encoding="b64"),
        "mutual_sha256_success": success(0x06, b"7,8", "sha256", mutual_challenge=mutual_c),
        "legacy_sha1_success": success(0x70, b"7,5", "sha1"),
        "hardened_mutual_short_challenge_success":
            success(0x96, b"6,8", "sha3-256", challenge_size=16,
                    mutual_challenge=b"0b" + base64.b64encode(bytes(range(16)))),
        "md5_only_short_challenge_success": success(0xA0, b"8,5", "md5", challenge_size=16),
        "auth_none_success": chap_target_seed(0x08, [seg(b"AuthMethod=None")]),
        "reject_algorithms": chap_target_seed(0x10, [seg(b"AuthMethod=CHAP"), seg(b"CHAP_A=5,6")]),
        "wrong_response": chap_target_seed(0x00, [seg(b"AuthMethod=CHAP"), seg(b"CHAP_A=7"),
                                                  seg(b"CHAP_N=alice", b"CHAP_R=0x" + b"00" * 32)]),
        "reflected_challenge": chap_target_seed(0x02, [
            seg(b"AuthMethod=CHAP"), seg(b"CHAP_A=7"),
            seg(b"CHAP_N=alice",
                b"CHAP_R=" + chap_r("sha256", target_challenge("sha256", 32)[0], ACCOUNT_SECRET,
                                    target_challenge("sha256", 32)[1]),
                b"CHAP_I=1", b"CHAP_C=0x" + target_challenge("sha256", 32)[1].hex().encode())]),
    }
    for name, data in seeds.items():
        write("chap_target", name, data)


if __name__ == "__main__":
    main()
