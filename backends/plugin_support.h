// SPDX-License-Identifier: BSD-2-Clause
// Helpers the backends of this project share inside their plugins (never part of the ABI).
#ifndef MULTICHAP_BACKENDS_PLUGIN_SUPPORT_H
#define MULTICHAP_BACKENDS_PLUGIN_SUPPORT_H

#include <array>
#include <cstdint>
#include <cstring>

#include "auth/algorithm.h"
#include "auth/secure.h"
#include "multichap/backend.h"

namespace multichap {

// The algorithm of a CHAP_A number (5..8), or nullptr.
inline const AlgorithmInfo* algorithm_of_chap_a(int chap_a) {
  if (chap_a < static_cast<int>(Algorithm::md5) || chap_a > static_cast<int>(Algorithm::sha3_256))
    return nullptr;
  return &algorithm_info(static_cast<Algorithm>(chap_a));
}

// Calls feed(data, len) once over the parts gathered into a stack buffer when they are several
// and small (a CHAP response: id, secret, challenge), else once per part: each update call of a
// hash library has a fixed cost larger than copying 50 bytes. The buffer holds the secret, so it
// is wiped after. Returns false as soon as feed does.
template <typename Feed>
bool feed_parts(const multichap_backend_part* parts, std::size_t nparts, Feed&& feed) {
  constexpr std::size_t kGather = 256;
  std::size_t total = 0;
  for (std::size_t i = 0; i < nparts; ++i) total += parts[i].len;
  if (nparts > 1 && total <= kGather) {
    std::array<std::uint8_t, kGather> buffer;  // NOLINT: only the gathered bytes are read
    const ScopedWipe wipe_buffer(buffer.data(), total);
    std::size_t at = 0;
    for (std::size_t i = 0; i < nparts; ++i) {
      if (parts[i].len > 0) std::memcpy(buffer.data() + at, parts[i].data, parts[i].len);
      at += parts[i].len;
    }
    return feed(static_cast<const std::uint8_t*>(buffer.data()), total);
  }
  for (std::size_t i = 0; i < nparts; ++i) {
    if (parts[i].len > 0 && !feed(parts[i].data, parts[i].len)) return false;
  }
  return true;
}

// The thread-local pointers a plugin reads on every digest use the initial-exec TLS model: a
// %fs-relative load instead of a __tls_get_addr call per access, which is 1-3 % of a 33-byte
// response (Botan's plugin against the same code linked in: 1.03x -> 1.02x, multichap_bench
// plugin_vs_static). A dlopen'ed object gets such variables from the static TLS surplus glibc
// keeps for this (rtld.optional_static_tls, 512 bytes by default); each plugin takes at most
// 33 bytes. Were the surplus used up by other objects, dlopen fails and the loader lists the
// plugin as refused with glibc's reason ("cannot allocate memory in static TLS block").
#if defined(__GNUC__)
#define MULTICHAP_HOT_TLS __attribute__((tls_model("initial-exec")))
#else
#define MULTICHAP_HOT_TLS
#endif

// A host log line from a backend (the host may give no callback).
inline void backend_log(const multichap_backend_host* host, int level, const char* message) {
  if (host != nullptr && host->log != nullptr) host->log(host->log_ctx, level, message);
}

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_PLUGIN_SUPPORT_H
