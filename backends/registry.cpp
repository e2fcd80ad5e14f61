// SPDX-License-Identifier: BSD-2-Clause
// The registry: every backend of the process, whether linked in (MULTICHAP_STATIC_BACKENDS, from
// the generated static_backends.inc), loaded from a plugin file on the search path or by an
// explicit path, or registered by an embedder. Each is a TableBackend over a checked table.
// Loaded on first use, under one mutex; backends are never unloaded.
#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <list>
#include <mutex>

#include "backends/hash_backend.h"
#include "backends/raw_digest.h"
#include "backends/table_backend.h"

// The backends linked into this build, one MULTICHAP_STATIC_BACKEND(name) line each.
#define MULTICHAP_STATIC_BACKEND(name)                                     \
  extern "C" const multichap_backend_v1* multichap_backend_##name##_entry( \
      const multichap_backend_host* host);
#include "static_backends.inc"
#undef MULTICHAP_STATIC_BACKEND

namespace multichap {

namespace {

struct StaticEntry {
  const char* name;
  multichap_backend_entry_v1_fn entry;
};
constexpr StaticEntry kStaticBackends[] = {
#define MULTICHAP_STATIC_BACKEND(name) {#name, &multichap_backend_##name##_entry},
#include "static_backends.inc"
#undef MULTICHAP_STATIC_BACKEND
    {nullptr, nullptr},
};

// The default order: the first of these that loaded is the default backend.
constexpr std::array<std::string_view, 4> kPreferred = {"openssl", "gcrypt", "nettle", "botan"};
// Names this project ships (for "not built" rather than "unknown").
constexpr std::array<std::string_view, 5> kShipped = {"openssl", "gcrypt", "nettle", "botan",
                                                      "pkcs11"};

std::string canonical_path(const std::string& path);

// What a backend is told about its host; one per backend so that its log lines carry its name.
struct HostBlock {
  multichap_backend_host host{};
  std::string label;
};

class Registry {
 public:
  static Registry& instance() {
    static Registry* registry = new Registry();  // never destroyed: backends outlive exit
    return *registry;
  }

  void set_log(std::function<void(int, const std::string&)> sink) {
    const std::lock_guard<std::mutex> lock(m_log_mutex);
    m_log = std::move(sink);
  }

  void log(int level, const std::string& line) {
    const std::lock_guard<std::mutex> lock(m_log_mutex);
    if (m_log) m_log(level, line);
  }

  std::vector<std::shared_ptr<TableBackend>> ordered() {
    const std::lock_guard<std::mutex> lock(m_mutex);
    scan();
    std::vector<std::shared_ptr<TableBackend>> out;
    for (const std::string_view name : kPreferred) {
      for (const auto& b : m_backends) {
        if (b->name() == name) out.push_back(b);
      }
    }
    for (const auto& b : m_backends) {
      if (std::find(kPreferred.begin(), kPreferred.end(), b->name()) == kPreferred.end() &&
          !b->keys_only()) {
        out.push_back(b);
      }
    }
    return out;
  }

  // The backends with the key_* functions (secrets by reference), in load order.
  std::vector<std::shared_ptr<TableBackend>> with_keys() {
    const std::lock_guard<std::mutex> lock(m_mutex);
    scan();
    std::vector<std::shared_ptr<TableBackend>> out;
    for (const auto& b : m_backends) {
      if (b->has_keys()) out.push_back(b);
    }
    return out;
  }

  std::shared_ptr<TableBackend> find(std::string_view name) {
    const std::lock_guard<std::mutex> lock(m_mutex);
    scan();
    return find_locked(name);
  }

  std::shared_ptr<TableBackend> find_origin(const std::string& origin) {
    const std::lock_guard<std::mutex> lock(m_mutex);
    scan();
    for (const auto& b : m_backends) {
      if (b->origin() == origin) return b;
    }
    return nullptr;
  }

  Result<std::shared_ptr<const HashBackend>> load(const std::string& path) {
    const std::lock_guard<std::mutex> lock(m_mutex);
    scan();
    return load_file(path);
  }

  Result<std::shared_ptr<const HashBackend>> add_table(const multichap_backend_v1* table,
                                                       void* ctx) {
    const std::lock_guard<std::mutex> lock(m_mutex);
    scan();
    if (std::string why = check_table(table); !why.empty()) {
      return make_error(ErrorKind::usage, ErrorCode::backend_refused,
                        "backend table refused: " + why);
    }
    if (auto existing = find_locked(table->name)) {
      return make_error(ErrorKind::usage, ErrorCode::backend_duplicate,
                        "a backend named '" + std::string(table->name) + "' is already loaded (" +
                            existing->origin() + ")");
    }
    auto backend = std::make_shared<TableBackend>(table, ctx, "registered");
    if (std::string why = check_known_answers(*backend); !why.empty()) {
      return make_error(ErrorKind::usage, ErrorCode::backend_refused,
                        "backend '" + std::string(table->name) + "' refused: " + why);
    }
    m_backends.push_back(backend);
    return std::shared_ptr<const HashBackend>(backend);
  }

  std::vector<RefusedBackend> refused() {
    const std::lock_guard<std::mutex> lock(m_mutex);
    scan();
    return m_refused;
  }

 private:
  Registry() = default;

  std::shared_ptr<TableBackend> find_locked(std::string_view name) const {
    for (const auto& b : m_backends) {
      if (b->name() == name) return b;
    }
    return nullptr;
  }

  static void host_log(void* ctx, int level, const char* message) {
    const auto* block = static_cast<const HostBlock*>(ctx);
    instance().log(level, "backend " + block->label + ": " + (message != nullptr ? message : ""));
  }

  HostBlock& new_host(std::string label) {
    m_hosts.emplace_back();
    HostBlock& block = m_hosts.back();
    block.label = std::move(label);
    block.host.abi_major = MULTICHAP_BACKEND_ABI_MAJOR;
    block.host.abi_minor = MULTICHAP_BACKEND_ABI_MINOR;
    block.host.size = sizeof(multichap_backend_host);
    block.host.log = &Registry::host_log;
    block.host.log_ctx = &block;
    return block;
  }

  // Runs a table's init and its known answers; the backend, or the reason it was refused.
  Result<std::shared_ptr<TableBackend>> start(const multichap_backend_v1* table,
                                              const multichap_backend_host* host,
                                              std::string origin) {
    if (std::string why = check_table(table); !why.empty()) {
      return make_error(ErrorKind::usage, ErrorCode::backend_refused, why);
    }
    if (auto existing = find_locked(table->name)) {
      return make_error(ErrorKind::usage, ErrorCode::backend_duplicate,
                        "a backend named '" + std::string(table->name) + "' is already loaded (" +
                            existing->origin() + ")");
    }
    void* ctx = nullptr;
    if (table->init != nullptr) {
      const int rc = table->init(host, &ctx);
      if (rc != MULTICHAP_BACKEND_OK) {
        return make_error(ErrorKind::usage, ErrorCode::backend_refused,
                          "its init failed (status " + std::to_string(rc) + ")");
      }
    }
    auto backend = std::make_shared<TableBackend>(table, ctx, std::move(origin));
    if (std::string why = check_known_answers(*backend); !why.empty()) {
      if (table->shutdown != nullptr) table->shutdown(ctx);
      return make_error(ErrorKind::usage, ErrorCode::backend_refused, why);
    }
    return backend;
  }

  void refuse(const std::string& file, const std::string& reason) {
    for (const RefusedBackend& r : m_refused) {
      if (r.file == file && r.reason == reason) return;  // tried again: said once
    }
    m_refused.push_back(RefusedBackend{file, reason});
    log(MULTICHAP_BACKEND_LOG_WARNING, "backend plugin " + file + " refused: " + reason);
  }

  Result<std::shared_ptr<const HashBackend>> load_file(const std::string& path) {
    if (path.find('/') == std::string::npos) {
      return make_error(ErrorKind::usage, ErrorCode::backend_unknown,
                        "'" + path + "' is not a path to a plugin (a path contains a '/')");
    }
    for (const auto& b : m_backends) {
      if (b->origin() == path) return std::shared_ptr<const HashBackend>(b);
    }
    auto failed = [&](ErrorCode code,
                      const std::string& reason) -> Result<std::shared_ptr<const HashBackend>> {
      refuse(path, reason);
      return make_error(ErrorKind::usage, code, "backend plugin " + path + " refused: " + reason);
    };
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* err = ::dlerror();
      return failed(ErrorCode::backend_refused,
                    std::string("cannot load it: ") + (err != nullptr ? err : "dlopen failed"));
    }
    auto entry = reinterpret_cast<multichap_backend_entry_v1_fn>(
        ::dlsym(handle, MULTICHAP_BACKEND_ENTRY_SYMBOL));
    if (entry == nullptr) {
      ::dlclose(handle);
      return failed(ErrorCode::backend_refused, "it has no " MULTICHAP_BACKEND_ENTRY_SYMBOL
                                                " symbol (not a multichap backend)");
    }
    HostBlock& block = new_host(path);
    const multichap_backend_v1* table = entry(&block.host);
    if (table != nullptr && check_table(table).empty()) block.label = table->name;
    auto started = start(table, &block.host, path);
    if (!started) {
      ::dlclose(handle);
      return failed(started.error().code, started.error().message);
    }
    m_handles.push_back(handle);
    m_backends.push_back(*started);
    return std::shared_ptr<const HashBackend>(*started);
  }

  void scan_directory(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> files;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) files.push_back(name);
    }
    ::closedir(d);
    std::sort(files.begin(), files.end());
    for (const std::string& name : files) {
      std::string path = dir;
      path += '/';
      path += name;
      path = canonical_path(path);
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      (void)load_file(path);
    }
  }

  void scan() {
    if (m_scanned) return;
    m_scanned = true;
    for (const StaticEntry* s = kStaticBackends; s->name != nullptr; ++s) {
      HostBlock& block = new_host(s->name);
      auto started = start(s->entry(&block.host), &block.host, "built in");
      if (!started) {
        refuse(std::string("(built in) ") + s->name, started.error().message);
        continue;
      }
      m_backends.push_back(*started);
    }
    for (const std::string& dir : backend_search_path()) scan_directory(dir);
  }

  std::mutex m_mutex;
  bool m_scanned = false;
  std::vector<std::shared_ptr<TableBackend>> m_backends;  // in load order
  std::vector<RefusedBackend> m_refused;
  std::vector<void*> m_handles;
  std::list<HostBlock> m_hosts;  // stable addresses: backends keep pointers into it
  std::mutex m_log_mutex;
  std::function<void(int, const std::string&)> m_log;
};

// The directory of the file holding this code: the program, or the shared library it is in.
std::string own_directory(bool* in_program) {
  Dl_info info{};
  *in_program = true;
  if (::dladdr(reinterpret_cast<void*>(&own_directory), &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  char resolved[PATH_MAX];
  if (::realpath(info.dli_fname, resolved) == nullptr) return {};
  std::string self = resolved;
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    *in_program = self == exe;
  }
  const auto slash = self.rfind('/');
  return slash == std::string::npos ? std::string() : self.substr(0, slash);
}

// The file's path with symbolic links, "." and ".." resolved, so that one file has one name;
// as given when it cannot be resolved (it does not exist: the load says so).
std::string canonical_path(const std::string& path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::vector<std::string> backend_search_path() {
  std::vector<std::string> dirs;
  // secure_getenv: nothing from the environment in a setuid or setgid program.
  if (const char* env = ::secure_getenv("MULTICHAP_BACKEND_PATH")) {
    std::string list = env;
    std::size_t at = 0;
    while (at <= list.size()) {
      const std::size_t colon = std::min(list.find(':', at), list.size());
      const std::string dir = list.substr(at, colon - at);
      at = colon + 1;
      if (dir.empty()) continue;  // never the current directory
      if (dir.front() != '/') {
        Registry::instance().log(
            MULTICHAP_BACKEND_LOG_WARNING,
            "MULTICHAP_BACKEND_PATH: ignoring '" + dir + "' (not an absolute directory)");
        continue;
      }
      dirs.push_back(canonical_path(dir));
    }
  }
  // The default directory, where the package puts it: relative to this program or library, so
  // that a relocated install (or the build tree, laid out the same way) finds its own plugins.
  bool in_program = true;
  const std::string own = own_directory(&in_program);
  std::string relative;
  if (!own.empty()) {
    relative = own + "/" +
               (in_program ? MULTICHAP_BACKEND_DIR_FROM_BINDIR : MULTICHAP_BACKEND_DIR_FROM_LIBDIR);
    char resolved[PATH_MAX];
    if (::realpath(relative.c_str(), resolved) != nullptr) relative = resolved;
  }
  if (!relative.empty() && is_directory(relative)) {
    dirs.push_back(relative);
  } else {
    dirs.push_back(canonical_path(MULTICHAP_BACKEND_DIR));
  }
  // A directory named twice (or under two spellings) is searched once, at its first place.
  std::vector<std::string> unique;
  for (const std::string& dir : dirs) {
    if (std::find(unique.begin(), unique.end(), dir) == unique.end()) unique.push_back(dir);
  }
  return unique;
}

std::vector<std::string> built_backends() {
  std::vector<std::string> names;
  for (const auto& b : Registry::instance().ordered()) names.emplace_back(b->name());
  return names;
}

std::vector<std::string> key_backends() {
  std::vector<std::string> names;
  for (const auto& b : Registry::instance().with_keys()) names.emplace_back(b->name());
  return names;
}

std::string default_backend_name() {
  const auto all = Registry::instance().ordered();
  return all.empty() ? std::string() : std::string(all.front()->name());
}

Result<std::shared_ptr<const HashBackend>> make_backend(std::string_view name) {
  if (auto b = Registry::instance().find(name)) return std::shared_ptr<const HashBackend>(b);
  std::string available;
  for (const auto& n : built_backends()) available += (available.empty() ? "" : ", ") + n;
  if (available.empty()) available = "none: no plugin found in " + backend_search_path().back();
  const bool shipped = std::find(kShipped.begin(), kShipped.end(), name) != kShipped.end();
  return make_error(ErrorKind::usage,
                    shipped ? ErrorCode::backend_not_built : ErrorCode::backend_unknown,
                    "backend '" + std::string(name) + "' " +
                        (shipped ? "was not built or its plugin is not installed" : "is unknown") +
                        " (available: " + available + ")");
}

Result<std::shared_ptr<const HashBackend>> make_default_backend() {
  const auto all = Registry::instance().ordered();
  if (all.empty()) return make_backend("openssl");  // the error names the search path
  return std::shared_ptr<const HashBackend>(all.front());
}

Result<std::shared_ptr<const HashBackend>> make_backend_by_name_or_path(std::string_view spec) {
  if (spec.find('/') != std::string_view::npos) return load_backend(std::string(spec));
  return make_backend(spec);
}

Result<std::shared_ptr<const HashBackend>> load_backend(const std::string& path) {
  if (path.find('/') == std::string::npos) {
    return make_error(ErrorKind::usage, ErrorCode::backend_unknown,
                      "'" + path + "' is not a path to a plugin (a path contains a '/')");
  }
  // The same file under another spelling is the same plugin.
  const std::string canonical = canonical_path(path);
  if (auto b = Registry::instance().find_origin(canonical)) {
    return std::shared_ptr<const HashBackend>(b);
  }
  return Registry::instance().load(canonical);
}

Result<std::shared_ptr<const HashBackend>> register_backend(const multichap_backend_v1* table,
                                                            void* ctx) {
  return Registry::instance().add_table(table, ctx);
}

std::vector<RefusedBackend> refused_backends() {
  return Registry::instance().refused();
}

void set_backend_log(std::function<void(int level, const std::string& line)> sink) {
  Registry::instance().set_log(std::move(sink));
}

std::unique_ptr<RawDigest> make_raw_digest(std::string_view backend, Algorithm alg) {
  auto b = Registry::instance().find(backend);
  return b ? b->raw_digest(alg) : nullptr;
}

}  // namespace multichap
