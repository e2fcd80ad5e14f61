// The OpenSSL 3 backend: EVP digests with EVP_MD objects fetched once at construction and one
// reused EVP_MD_CTX per thread; RAND_bytes for challenges.
#ifndef MULTICHAP_BACKENDS_OPENSSL_BACKEND_H
#define MULTICHAP_BACKENDS_OPENSSL_BACKEND_H

#include <memory>

#include "backends/hash_backend.h"

namespace multichap {

// Never fails: algorithms OpenSSL refuses (FIPS provider, missing legacy) report unsupported.
std::shared_ptr<const HashBackend> make_openssl_backend();

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_OPENSSL_BACKEND_H
