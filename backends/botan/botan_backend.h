// SPDX-License-Identifier: BSD-2-Clause
// The Botan 2 backend: one HashFunction per algorithm and thread, reused; challenges from a
// per-thread ChaCha_RNG seeded from the System_RNG, through a per-thread random pool. Botan
// exceptions are caught here and become ErrorKind::backend errors.
#ifndef MULTICHAP_BACKENDS_BOTAN_BACKEND_H
#define MULTICHAP_BACKENDS_BOTAN_BACKEND_H

#include <memory>

#include "backends/hash_backend.h"
#include "backends/raw_digest.h"

namespace multichap {

std::shared_ptr<const HashBackend> make_botan_backend();

// The library called directly (backends/raw_digest.h); nullptr when Botan lacks alg.
std::unique_ptr<RawDigest> make_botan_raw_digest(Algorithm alg);

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_BOTAN_BACKEND_H
