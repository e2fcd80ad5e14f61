// SPDX-License-Identifier: BSD-2-Clause
// HashBackend: a crypto library behind one interface, and the registry of the backends this
// process has: plugins found on the search path (multichap/backend.h), backends linked in at
// build time (MULTICHAP_STATIC_BACKENDS), and tables an embedder registers from its own code.
#ifndef MULTICHAP_BACKENDS_HASH_BACKEND_H
#define MULTICHAP_BACKENDS_HASH_BACKEND_H

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/crypto.h"
#include "auth/result.h"

extern "C" {
struct multichap_backend_v1;
}

namespace multichap {

// A crypto backend. Every one is a C table behind the backend ABI, adapted once; nothing on the
// digest path looks an algorithm up by name. Instances are immutable after construction, shared
// between threads and never freed before the process ends.
class HashBackend : public ChapCrypto {
 public:
  // The table's name: "openssl", "botan", "gcrypt", "nettle", or a third party's.
  virtual std::string_view name() const = 0;
  // The library it computes with and its version, for `multichap algorithms`.
  virtual std::string version() const = 0;
  // The backend's own version ("" when it has none, as test doubles do).
  virtual std::string backend_version() const { return {}; }
  // Where it came from: the plugin's file, "built in" or "registered".
  virtual std::string origin() const { return "built in"; }
};

// A plugin file the registry did not take, and why (one line, naming no secret).
struct RefusedBackend {
  std::string file;
  std::string reason;
};

// Names of the backends available, in default order: openssl, gcrypt, nettle, botan (those of
// them that loaded), then any other in the order found, except those that compute only with keys
// held by reference (MULTICHAP_BACKEND_F_KEYS_ONLY: pkcs11). Loads the search path on first use.
std::vector<std::string> built_backends();
// Names of the backends that hold secrets by reference (the key_* functions of ABI 1.1,
// backends/key_store.h), in load order; make_backend() finds them by name too.
std::vector<std::string> key_backends();
// The first of built_backends(); "" when there is none.
std::string default_backend_name();

// The backend called name (one of built_backends()), or a usage error naming the available
// ones. Backends are process-wide singletons: every call with the same name returns the same
// object.
Result<std::shared_ptr<const HashBackend>> make_backend(std::string_view name);
// The default backend.
Result<std::shared_ptr<const HashBackend>> make_default_backend();
// A name, or a path to a plugin (anything with a '/'): the backend called so, or the one loaded
// from that file (loading it when it is not loaded yet).
Result<std::shared_ptr<const HashBackend>> make_backend_by_name_or_path(std::string_view spec);

// Loads the plugin at path (it must contain a '/': the current directory is never searched).
// The plugin is checked as the search path's plugins are; a refused one is also recorded in
// refused_backends(). A name already taken is ErrorCode::backend_duplicate.
Result<std::shared_ptr<const HashBackend>> load_backend(const std::string& path);
// Makes an embedder's own table a backend, with ctx passed to its functions (its init is not
// called: ctx is ready). Checked as a plugin is. The table and ctx must outlive the process's
// use of the backend (in practice: static storage).
Result<std::shared_ptr<const HashBackend>> register_backend(const multichap_backend_v1* table,
                                                            void* ctx);

// Every plugin file refused so far (search path and explicit loads), in the order tried.
std::vector<RefusedBackend> refused_backends();
// The directories searched, in order: MULTICHAP_BACKEND_PATH's absolute entries (unless the
// program runs setuid or setgid), then the default directory (${libdir}/multichap/backends-1,
// found relative to the library or program, else at its configured place).
std::vector<std::string> backend_search_path();
// Where log lines of backends and of the loader go (a backend's own words, refusals), with the
// level of multichap/backend.h (MULTICHAP_BACKEND_LOG_ERROR, _WARNING, _INFO). Default: nowhere.
// Set it before the first registry call to see the search path's refusals. The sink runs under
// the registry's lock: it must not call back into the registry.
void set_backend_log(std::function<void(int level, const std::string& line)> sink);

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_HASH_BACKEND_H
