// SPDX-License-Identifier: BSD-2-Clause
// HashBackend: a crypto library adapter (OpenSSL 3, Botan 2) behind one interface, and the
// registry of the backends compiled into this build.
#ifndef MULTICHAP_BACKENDS_HASH_BACKEND_H
#define MULTICHAP_BACKENDS_HASH_BACKEND_H

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/crypto.h"
#include "auth/result.h"

namespace multichap {

// A crypto library adapter. Implementations fetch or construct their hash objects once and reuse
// them per thread; nothing on the digest path looks an algorithm up by name. Instances are
// immutable after construction and may be shared between threads.
class HashBackend : public ChapCrypto {
 public:
  // "openssl" or "botan".
  virtual std::string_view name() const = 0;
  // Library name and version, for `multichap algorithms`.
  virtual std::string version() const = 0;
};

// Names of the backends compiled in, in default order (the first is the default).
const std::vector<std::string_view>& built_backends();
std::string_view default_backend_name();

// The backend called name (one of built_backends()), or a usage error naming the built ones.
// Backends are process-wide singletons: every call with the same name returns the same object.
Result<std::shared_ptr<const HashBackend>> make_backend(std::string_view name);
// The default backend.
Result<std::shared_ptr<const HashBackend>> make_default_backend();

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_HASH_BACKEND_H
