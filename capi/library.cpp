// SPDX-License-Identifier: BSD-2-Clause
// The C ABI: the library (version, status names, algorithms) and the backends.
#include "capi/capi_internal.h"

using namespace multichap::capi;  // NOLINT(google-build-using-namespace): this file's helpers

namespace {

// One handle per backend, made the first time the backend is handed out and never freed: a
// pointer given to a caller stays valid for the life of the process.
std::mutex g_handles_mutex;
std::deque<multichap_backend> g_handles;

const multichap_backend* handle_of(std::shared_ptr<const HashBackend> backend) {
  const std::lock_guard<std::mutex> lock(g_handles_mutex);
  for (const auto& h : g_handles) {
    if (h.impl == backend) return &h;
  }
  g_handles.push_back(multichap_backend{std::move(backend)});
  return &g_handles.back();
}

// The handles of every backend available, in default order.
std::vector<const multichap_backend*> backend_table() {
  std::vector<const multichap_backend*> out;
  for (const std::string& name : multichap::built_backends()) {
    auto backend = multichap::make_backend(name);
    if (backend) out.push_back(handle_of(std::move(backend).value()));
  }
  return out;
}

}  // namespace

extern "C" {

const char* multichap_version(void) {
  return MULTICHAP_VERSION_STRING;
}

const char* multichap_status_name(multichap_status s) {
  switch (s) {
    case MULTICHAP_OK:
      return "ok";
    case MULTICHAP_ERR_PROTOCOL:
      return "protocol";
    case MULTICHAP_ERR_AUTHENTICATION:
      return "authentication";
    case MULTICHAP_ERR_POLICY:
      return "policy";
    case MULTICHAP_ERR_BACKEND:
      return "backend";
    case MULTICHAP_ERR_USAGE:
      return "usage";
    case MULTICHAP_ERR_BUFFER_TOO_SMALL:
      return "buffer too small";
    case MULTICHAP_ERR_INTERNAL:
      return "internal";
  }
  return "unknown";
}

const char* multichap_last_error(void) {
  return t_last_error.c_str();
}

const char* multichap_algorithm_name(int chap_a) {
  if (chap_a < 0) return nullptr;
  const auto alg = multichap::algorithm_from_chap_a(static_cast<std::uint32_t>(chap_a));
  return alg ? multichap::algorithm_info(*alg).display.data() : nullptr;
}

const char* multichap_algorithm_short_name(int chap_a) {
  if (chap_a < 0) return nullptr;
  const auto alg = multichap::algorithm_from_chap_a(static_cast<std::uint32_t>(chap_a));
  return alg ? multichap::algorithm_info(*alg).name.data() : nullptr;
}

int multichap_algorithm_parse(const char* name) {
  if (name == nullptr) return 0;
  try {
    auto alg = multichap::parse_algorithm(name);
    return alg ? static_cast<int>(multichap::algorithm_info(*alg).chap_a) : 0;
  } catch (...) {
    return 0;
  }
}

size_t multichap_backend_count(void) {
  try {
    return backend_table().size();
  } catch (...) {
    return 0;
  }
}

const char* multichap_backend_at(size_t i) {
  try {
    const auto table = backend_table();
    return i < table.size() ? table[i]->impl->name().data() : nullptr;
  } catch (...) {
    return nullptr;
  }
}

multichap_status multichap_backend_open(const char* name, const multichap_backend** out) {
  return guarded(t_last_error, [&] {
    if (out == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "out must not be NULL");
    *out = nullptr;
    const auto table = backend_table();
    if (table.empty()) {
      return fail(
          t_last_error, MULTICHAP_ERR_BACKEND,
          "no backend available (no plugin in " + multichap::backend_search_path().back() + ")");
    }
    if (name == nullptr) {
      *out = table.front();
      return MULTICHAP_OK;
    }
    for (const multichap_backend* b : table) {
      if (b->impl->name() == name) {
        *out = b;
        return MULTICHAP_OK;
      }
    }
    // make_backend's message names what was built.
    auto missing = multichap::make_backend(name);
    return fail(
        t_last_error, MULTICHAP_ERR_USAGE,
        missing ? "backend '" + std::string(name) + "' is unavailable" : missing.error().message);
  });
}

const char* multichap_backend_name(const multichap_backend* b) {
  return b == nullptr ? nullptr : b->impl->name().data();
}

multichap_status multichap_backend_load(const char* path, const multichap_backend** out) {
  return guarded(t_last_error, [&] {
    if (out != nullptr) *out = nullptr;
    if (path == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "path must not be NULL");
    auto loaded = multichap::load_backend(path);
    if (!loaded) return fail(t_last_error, loaded.error());
    const multichap_backend* handle = handle_of(std::move(loaded).value());
    if (out != nullptr) *out = handle;
    return MULTICHAP_OK;
  });
}

multichap_status multichap_backend_register(const struct multichap_backend_v1* table, void* ctx,
                                            const multichap_backend** out) {
  return guarded(t_last_error, [&] {
    if (out != nullptr) *out = nullptr;
    if (table == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "table must not be NULL");
    auto registered = multichap::register_backend(table, ctx);
    if (!registered) return fail(t_last_error, registered.error());
    const multichap_backend* handle = handle_of(std::move(registered).value());
    if (out != nullptr) *out = handle;
    return MULTICHAP_OK;
  });
}

const char* multichap_backend_library_version(const multichap_backend* b) {
  if (b == nullptr) return nullptr;
  // The string lives in the backend's table (or, for a table without one, is empty).
  static const char kNone[] = "";
  try {
    thread_local std::string copy;
    copy = b->impl->version();
    return copy.c_str();
  } catch (...) {
    return kNone;
  }
}

const char* multichap_backend_origin(const multichap_backend* b) {
  if (b == nullptr) return nullptr;
  try {
    thread_local std::string copy;
    copy = b->impl->origin();
    return copy.c_str();
  } catch (...) {
    return nullptr;
  }
}

int multichap_backend_supports(const multichap_backend* b, int chap_a) {
  if (b == nullptr || chap_a < 0) return 0;
  const auto alg = multichap::algorithm_from_chap_a(static_cast<std::uint32_t>(chap_a));
  try {
    return alg && b->impl->supports(*alg) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

multichap_status multichap_response(const multichap_backend* b, int chap_a, unsigned identifier,
                                    const unsigned char* secret, size_t secret_len,
                                    const unsigned char* challenge, size_t challenge_len,
                                    unsigned char* out, size_t out_cap, size_t* out_len) {
  return guarded(t_last_error, [&] {
    if (b == nullptr || out_len == nullptr) {
      return fail(t_last_error, MULTICHAP_ERR_USAGE, "backend and out_len must not be NULL");
    }
    if ((secret == nullptr && secret_len != 0) || (challenge == nullptr && challenge_len != 0) ||
        (out == nullptr && out_cap != 0)) {
      return fail(t_last_error, MULTICHAP_ERR_USAGE, "NULL buffer with a non-zero length");
    }
    if (identifier > 255) {
      return fail(t_last_error, MULTICHAP_ERR_USAGE, "identifier must be 0..255");
    }
    const auto alg = chap_a < 0
                         ? std::nullopt
                         : multichap::algorithm_from_chap_a(static_cast<std::uint32_t>(chap_a));
    if (!alg) {
      return fail(t_last_error, MULTICHAP_ERR_USAGE,
                  "CHAP_A " + std::to_string(chap_a) + " is not one of 5, 6, 7, 8");
    }
    const std::size_t size = multichap::digest_size(*alg);
    *out_len = size;
    if (out_cap < size) {
      return fail(t_last_error, MULTICHAP_ERR_BUFFER_TOO_SMALL,
                  "a " + std::string(multichap::algorithm_info(*alg).display) + " response is " +
                      std::to_string(size) + " bytes");
    }
    if (!b->impl->supports(*alg)) {
      return fail(t_last_error, MULTICHAP_ERR_BACKEND,
                  std::string(b->impl->name()) + " cannot compute " +
                      std::string(multichap::algorithm_info(*alg).display) + " here");
    }
    const std::uint8_t id[1] = {static_cast<std::uint8_t>(identifier)};
    auto r = b->impl->digest(
        *alg, {ByteView(id, 1), ByteView(secret, secret_len), ByteView(challenge, challenge_len)},
        MutableByteView(out, size));
    if (!r) return fail(t_last_error, r.error());
    return MULTICHAP_OK;
  });
}

}  // extern "C"
