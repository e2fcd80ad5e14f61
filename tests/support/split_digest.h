// SPDX-License-Identifier: BSD-2-Clause
// H(message) over a message cut into parts: tests that a backend's multi-part digest does not
// depend on where the parts split.
#ifndef MULTICHAP_TESTS_SUPPORT_SPLIT_DIGEST_H
#define MULTICHAP_TESTS_SUPPORT_SPLIT_DIGEST_H

#include <algorithm>
#include <cstddef>
#include <vector>

#include "backends/hash_backend.h"

namespace multichap::test {

// H(message) with the message cut at the given offsets (clamped, sorted) into up to four parts.
inline Result<std::size_t> digest_in_parts(const HashBackend& backend, Algorithm alg,
                                           ByteView message, std::vector<std::size_t> cuts,
                                           MutableByteView out) {
  for (auto& c : cuts) c = std::min(c, message.size());
  std::sort(cuts.begin(), cuts.end());
  std::vector<ByteView> parts;
  std::size_t from = 0;
  for (const std::size_t c : cuts) {
    parts.emplace_back(message.data() + from, c - from);
    from = c;
  }
  parts.emplace_back(message.data() + from, message.size() - from);
  switch (parts.size()) {
    case 1:
      return backend.digest(alg, {parts[0]}, out);
    case 2:
      return backend.digest(alg, {parts[0], parts[1]}, out);
    case 3:
      return backend.digest(alg, {parts[0], parts[1], parts[2]}, out);
    case 4:
      return backend.digest(alg, {parts[0], parts[1], parts[2], parts[3]}, out);
    default:
      return make_error(ErrorKind::internal, "test: more than four parts");
  }
}

}  // namespace multichap::test

#endif  // MULTICHAP_TESTS_SUPPORT_SPLIT_DIGEST_H
