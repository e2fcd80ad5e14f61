// The Botan 2 backend: one HashFunction per algorithm and thread, reused; the System_RNG for
// challenges. Botan exceptions are caught here and become ErrorKind::backend errors.
#ifndef MULTICHAP_BACKENDS_BOTAN_BACKEND_H
#define MULTICHAP_BACKENDS_BOTAN_BACKEND_H

#include <memory>

#include "backends/hash_backend.h"

namespace multichap {

std::shared_ptr<const HashBackend> make_botan_backend();

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_BOTAN_BACKEND_H
