// SPDX-License-Identifier: BSD-2-Clause
// Computes one CHAP response through the installed library, with every backend it was built
// with, and prints them; the test compares the output with coreutils.
#include <array>
#include <cstdio>

#include "auth/chap.h"
#include "auth/encoding.h"
#include "backends/hash_backend.h"

int main() {
  using namespace multichap;
  const Secret secret = Secret::from_text("consumer-secret-1");
  const std::array<std::uint8_t, 4> challenge = {0xde, 0xad, 0xbe, 0xef};
  for (const auto& name : built_backends()) {
    auto backend = make_backend(name);
    if (!backend) return 1;
    std::array<std::uint8_t, kMaxDigestSize> out{};
    auto n = chap_response(**backend, Algorithm::sha256, 9, secret, challenge, out);
    if (!n) return 1;
    std::printf("%s\n", encode_hex(ByteView(out.data(), *n)).c_str());
  }
  return 0;
}
