// SPDX-License-Identifier: BSD-2-Clause
// A HashBackend with real digests and predictable "random" bytes, for the fuzz targets (and their
// replays in the test suite).
#ifndef MULTICHAP_TESTS_FUZZ_PREDICTABLE_BACKEND_H
#define MULTICHAP_TESTS_FUZZ_PREDICTABLE_BACKEND_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "backends/hash_backend.h"

namespace multichap::fuzz {

// Real digests from a built backend, "random" bytes from a fixed stream: byte k of the stream is
// (151 * k + offset) mod 256, k counting from 0 for each new instance. Lets a recorded exchange
// carry CHAP responses that stay correct when replayed. Not thread-safe; one per login.
class PredictableBackend final : public HashBackend {
 public:
  PredictableBackend(std::shared_ptr<const HashBackend> real, std::uint8_t offset)
      : m_real(std::move(real)), m_offset(offset) {}
  std::string_view name() const override { return m_real->name(); }
  std::string version() const override { return m_real->version() + " (predictable random)"; }
  bool supports(Algorithm alg) const override { return m_real->supports(alg); }
  Result<std::size_t> digest(Algorithm alg, std::initializer_list<ByteView> parts,
                             MutableByteView out) const override {
    return m_real->digest(alg, parts, out);
  }
  Result<void> random(MutableByteView out) const override {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out.data()[i] = static_cast<std::uint8_t>(151 * m_counter++ + m_offset);
    }
    return {};
  }

 private:
  std::shared_ptr<const HashBackend> m_real;
  std::uint8_t m_offset;
  mutable std::uint32_t m_counter = 0;
};

}  // namespace multichap::fuzz

#endif  // MULTICHAP_TESTS_FUZZ_PREDICTABLE_BACKEND_H
