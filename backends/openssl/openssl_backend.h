// SPDX-License-Identifier: BSD-2-Clause
// The OpenSSL 3 backend: EVP digests with EVP_MD objects fetched once at construction and one
// reused EVP_MD_CTX per thread; RAND_bytes for challenges, drawn through a per-thread random pool.
#ifndef MULTICHAP_BACKENDS_OPENSSL_BACKEND_H
#define MULTICHAP_BACKENDS_OPENSSL_BACKEND_H

#include <memory>

#include "backends/hash_backend.h"
#include "backends/raw_digest.h"

namespace multichap {

// Never fails: algorithms OpenSSL refuses (FIPS provider, missing legacy) report unsupported.
std::shared_ptr<const HashBackend> make_openssl_backend();

// The library called directly (backends/raw_digest.h); nullptr when OpenSSL refuses alg.
std::unique_ptr<RawDigest> make_openssl_raw_digest(Algorithm alg);

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_OPENSSL_BACKEND_H
