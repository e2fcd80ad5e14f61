// SPDX-License-Identifier: BSD-2-Clause
// The C ABI over the C++ core: opaque handles around ChapInitiator / ChapTarget and the backend
// registry. No exception and no C++ type crosses this file's functions; every entry point catches
// at its edge and answers MULTICHAP_ERR_INTERNAL.
#include "multichap/multichap.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/chap.h"
#include "auth/secret_provider.h"
#include "backends/hash_backend.h"

#ifndef MULTICHAP_VERSION_STRING
#error "MULTICHAP_VERSION_STRING must come from the build"
#endif

using multichap::Algorithm;
using multichap::ByteView;
using multichap::ChapCredentials;
using multichap::ChapInitiator;
using multichap::ChapInitiatorConfig;
using multichap::ChapTarget;
using multichap::ChapTargetConfig;
using multichap::Error;
using multichap::ErrorCode;
using multichap::ErrorKind;
using multichap::HashBackend;
using multichap::KeyList;
using multichap::MutableByteView;
using multichap::Secret;
using multichap::ValidChapTargetConfig;

struct multichap_backend {
  std::shared_ptr<const HashBackend> impl;
};

namespace {
// A step whose output did not fit: the advanced machine and its output wait for the same input
// with a larger buffer, so the retry sends exactly what was measured (a redrawn challenge could
// have a different CHAP_I length) while the visible state stays as before the first call.
template <typename Machine>
struct PendingStep {
  std::unique_ptr<Machine> machine;
  std::string input;
  std::string output;
  multichap_status status = MULTICHAP_OK;
  std::string error;
};
}  // namespace

struct multichap_initiator {
  std::shared_ptr<const HashBackend> backend;
  ChapInitiatorConfig config;
  bool has_credentials = false;
  std::unique_ptr<ChapInitiator> machine;  // built once credentials are set
  PendingStep<ChapInitiator> pending;
  bool broken = false;  // received text that could not be parsed
  std::string error;
};

struct multichap_target_config {
  std::shared_ptr<const HashBackend> backend;
  // Copy-on-write: a setter builds a new configuration, so logins created earlier keep theirs.
  std::shared_ptr<const ChapTargetConfig> config;
  // The configuration checked once, by the setter that made it (logins are built from it without
  // checking anything again), or why it is not usable yet (no account so far, say).
  std::shared_ptr<const ValidChapTargetConfig> valid;
  Error invalid;
  std::string error;  // setters only: multichap_target_login_new() may run on many threads
};

struct multichap_target_login {
  std::unique_ptr<ChapTarget> machine;
  PendingStep<ChapTarget> pending;
  bool broken = false;
  std::string error;
};

namespace {

constexpr std::size_t kMaxNameBytes = 255;  // CHAP_N is a simple value (RFC 7143 §6.1)
constexpr std::size_t kLookupBufferBytes = 256;
constexpr std::size_t kMaxLookupBytes = 65536;

thread_local std::string t_last_error;

multichap_status status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::protocol:
      return MULTICHAP_ERR_PROTOCOL;
    case ErrorKind::authentication:
      return MULTICHAP_ERR_AUTHENTICATION;
    case ErrorKind::policy:
      return MULTICHAP_ERR_POLICY;
    case ErrorKind::backend:
      return MULTICHAP_ERR_BACKEND;
    case ErrorKind::usage:
      return MULTICHAP_ERR_USAGE;
    case ErrorKind::io:
    case ErrorKind::timeout:
    case ErrorKind::rejected:
    case ErrorKind::internal:
      break;
  }
  return MULTICHAP_ERR_INTERNAL;
}

// Records message in slot (an object's error, or the thread's) and returns status.
multichap_status fail(std::string& slot, multichap_status status, std::string message) {
  slot = std::move(message);
  return status;
}
multichap_status fail(std::string& slot, const Error& error) {
  return fail(slot, status_of(error.kind), error.message);
}

// Runs body, turning any exception into MULTICHAP_ERR_INTERNAL recorded in slot.
template <typename Body>
multichap_status guarded(std::string& slot, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(slot, MULTICHAP_ERR_INTERNAL, "out of memory");
  } catch (...) {
    return fail(slot, MULTICHAP_ERR_INTERNAL, "internal error");
  }
}

const std::vector<multichap_backend>& backend_table() {
  static const std::vector<multichap_backend> table = [] {
    std::vector<multichap_backend> out;
    for (const std::string_view name : multichap::built_backends()) {
      auto backend = multichap::make_backend(name);
      if (backend) out.push_back(multichap_backend{std::move(backend).value()});
    }
    return out;
  }();
  return table;
}

Secret copy_secret(const Secret& s) {
  return Secret::from_bytes(s.bytes());
}
std::optional<ChapCredentials> copy_credentials(const std::optional<ChapCredentials>& c) {
  if (!c) return std::nullopt;
  return ChapCredentials{c->name, copy_secret(c->secret)};
}
ChapInitiatorConfig copy_config(const ChapInitiatorConfig& c) {
  return ChapInitiatorConfig{ChapCredentials{c.local.name, copy_secret(c.local.secret)},
                             copy_credentials(c.target), c.policy};
}
ChapTargetConfig copy_config(const ChapTargetConfig& c) {
  ChapTargetConfig out;
  for (const auto& a : c.accounts) out.accounts.push_back({a.name, copy_secret(a.secret)});
  out.provider = c.provider;
  out.local = copy_credentials(c.local);
  out.policy = c.policy;
  return out;
}

// Checks a C name argument (CHAP_N): present, non-empty, at most 255 bytes.
bool valid_name(const char* name, std::string& slot, const char* what) {
  if (name == nullptr || *name == '\0') {
    fail(slot, MULTICHAP_ERR_USAGE, std::string(what) + " must be a non-empty string");
    return false;
  }
  if (std::strlen(name) > kMaxNameBytes) {
    fail(slot, MULTICHAP_ERR_USAGE, std::string(what) + " is longer than 255 bytes");
    return false;
  }
  return true;
}

bool valid_secret(const unsigned char* secret, std::size_t len, std::string& slot) {
  if (secret == nullptr || len == 0) {
    fail(slot, MULTICHAP_ERR_USAGE, "secret must be a non-NULL buffer of at least one byte");
    return false;
  }
  return true;
}

// A C list of CHAP_A numbers: 5..8, at least one, no duplicates.
multichap_status parse_algorithms(const int* chap_a, std::size_t count, std::string& slot,
                                  std::vector<Algorithm>& out) {
  if (chap_a == nullptr || count == 0) {
    return fail(slot, MULTICHAP_ERR_USAGE, "the algorithm list must name at least one CHAP_A");
  }
  out.clear();
  for (std::size_t i = 0; i < count; ++i) {
    const auto alg =
        chap_a[i] < 0 ? std::nullopt : multichap::algorithm_from_chap_a(std::uint32_t(chap_a[i]));
    if (!alg) {
      return fail(slot, MULTICHAP_ERR_USAGE,
                  "CHAP_A " + std::to_string(chap_a[i]) + " is not one of 5, 6, 7, 8");
    }
    if (std::find(out.begin(), out.end(), *alg) != out.end()) {
      return fail(slot, MULTICHAP_ERR_USAGE,
                  "CHAP_A " + std::to_string(chap_a[i]) + " is listed twice");
    }
    out.push_back(*alg);
  }
  return MULTICHAP_OK;
}

// The authentication keys of a received data segment (in_len bytes; empty for in_len 0).
multichap::Result<KeyList> auth_keys(const char* in, std::size_t in_len) {
  if (in_len == 0) return KeyList{};
  MULTICHAP_ASSIGN_OR_RETURN(KeyList all, multichap::parse_text(ByteView(
                                              reinterpret_cast<const std::uint8_t*>(in), in_len)));
  KeyList out;
  for (const auto& kv : all) {
    if (multichap::is_auth_key(kv.key)) out.set(kv.key, kv.value);
  }
  return out;
}

// Copies a computed output to the caller, or reports the size needed.
multichap_status deliver(const std::string& text, char* out, std::size_t out_cap,
                         std::size_t* out_len) {
  *out_len = text.size();
  if (text.size() > out_cap) return MULTICHAP_ERR_BUFFER_TOO_SMALL;
  std::copy(text.begin(), text.end(), out);  // pairs end in NUL already; no extra terminator
  return MULTICHAP_OK;
}

// One step of machine on the received segment, with the too-small-buffer contract: the step
// runs on a copy of the machine, which replaces it only once its output has been delivered.
// keys_on_failure gives what a failed step sends (the target's reject keys).
template <typename Machine, typename FailureKeys>
multichap_status run_step(std::unique_ptr<Machine>& machine, PendingStep<Machine>& pending,
                          bool& broken, std::string& error, const char* in, std::size_t in_len,
                          char* out, std::size_t out_cap, std::size_t* out_len,
                          FailureKeys keys_on_failure) {
  const std::string_view input(in == nullptr ? "" : in, in_len);
  if (pending.machine && pending.input == input) {
    if (deliver(pending.output, out, out_cap, out_len) != MULTICHAP_OK) {
      return MULTICHAP_ERR_BUFFER_TOO_SMALL;
    }
    machine = std::move(pending.machine);
    const multichap_status status = pending.status;
    if (status != MULTICHAP_OK) error = std::move(pending.error);
    pending = PendingStep<Machine>{};
    return status;
  }
  pending = PendingStep<Machine>{};
  auto keys = auth_keys(in, in_len);
  if (!keys) {
    broken = true;
    return fail(error, MULTICHAP_ERR_PROTOCOL, "received login text: " + keys.error().message);
  }
  auto next = std::make_unique<Machine>(*machine);
  auto sent = next->step(*keys);
  const std::string text = multichap::build_text(sent ? *sent : keys_on_failure(*next));
  const multichap_status status = sent ? MULTICHAP_OK : status_of(sent.error().kind);
  if (deliver(text, out, out_cap, out_len) != MULTICHAP_OK) {
    pending = PendingStep<Machine>{std::move(next), std::string(input), text, status,
                                   sent ? std::string() : sent.error().message};
    return fail(error, MULTICHAP_ERR_BUFFER_TOO_SMALL,
                "the keys to send need " + std::to_string(text.size()) + " bytes of output");
  }
  machine = std::move(next);
  if (!sent) return fail(error, sent.error());
  return MULTICHAP_OK;
}

multichap_status check_step_args(const char* in, std::size_t in_len, const char* out,
                                 std::size_t out_cap, const std::size_t* out_len,
                                 std::string& slot) {
  if (out_len == nullptr) return fail(slot, MULTICHAP_ERR_USAGE, "out_len must not be NULL");
  if (in == nullptr && in_len != 0) return fail(slot, MULTICHAP_ERR_USAGE, "in is NULL");
  if (out == nullptr && out_cap != 0) return fail(slot, MULTICHAP_ERR_USAGE, "out is NULL");
  return MULTICHAP_OK;
}

int chap_a_of(const std::optional<Algorithm>& alg) {
  return alg ? static_cast<int>(multichap::algorithm_info(*alg).chap_a) : 0;
}

// The embedder's lookup callback as a SecretProvider.
class CallbackProvider final : public multichap::SecretProvider {
 public:
  CallbackProvider(multichap_secret_lookup fn, void* ctx) : m_fn(fn), m_ctx(ctx) {}

  multichap::Result<std::optional<Secret>> find_secret(
      const multichap::AccountQuery& query) const override {
    const std::string chap_n(query.chap_n);
    const std::string initiator(query.initiator_name);
    multichap::SecureBytes buffer(kLookupBufferBytes);
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::size_t len = 0;
      const multichap_status s =
          m_fn(m_ctx, chap_n.c_str(), initiator.c_str(), buffer.data(), buffer.size(), &len);
      if (s == MULTICHAP_OK) {
        if (len == 0 || len > buffer.size()) {
          return multichap::make_error(ErrorKind::internal, ErrorCode::callback_secret_length,
                                       "lookup callback returned a secret length of " +
                                           std::to_string(len) + " for a buffer of " +
                                           std::to_string(buffer.size()));
        }
        return std::optional<Secret>(Secret::from_bytes(ByteView(buffer.data(), len)));
      }
      if (s == MULTICHAP_ERR_AUTHENTICATION) return std::optional<Secret>();
      if (s == MULTICHAP_ERR_BUFFER_TOO_SMALL && attempt == 0 && len > buffer.size() &&
          len <= kMaxLookupBytes) {
        multichap::wipe(buffer);
        buffer.resize(len);
        continue;
      }
      return multichap::make_error(
          ErrorKind::internal, ErrorCode::callback_failed,
          std::string("lookup callback returned ") + multichap_status_name(s));
    }
    return multichap::make_error(ErrorKind::internal, ErrorCode::callback_buffer_twice,
                                 "lookup callback asked for a larger buffer "
                                 "twice");
  }

 private:
  multichap_secret_lookup m_fn;
  void* m_ctx;
};

// Rebuilds ini's exchange for a candidate configuration; commits it only when valid.
multichap_status apply(multichap_initiator* ini, ChapInitiatorConfig candidate,
                       bool has_credentials) {
  if (!has_credentials) {
    // Nothing to build yet: check what can be checked on its own.
    if (candidate.target) {
      auto checked =
          multichap::check_secret(candidate.target->secret, "target secret", candidate.policy);
      if (!checked) return fail(ini->error, checked.error());
    }
    ini->config = std::move(candidate);
    return MULTICHAP_OK;
  }
  auto shared = std::make_shared<const ChapInitiatorConfig>(copy_config(candidate));
  auto machine = ChapInitiator::create(shared, ini->backend);
  if (!machine) return fail(ini->error, machine.error());
  ini->config = std::move(candidate);
  ini->has_credentials = true;
  ini->machine = std::move(machine).value();
  ini->pending = PendingStep<ChapInitiator>{};
  ini->broken = false;
  return MULTICHAP_OK;
}

// Replaces cfg's configuration with candidate after the checks a setter can make on its own.
multichap_status commit(multichap_target_config* cfg, ChapTargetConfig candidate) {
  cfg->config = std::make_shared<const ChapTargetConfig>(std::move(candidate));
  // An incomplete configuration is no setter's error: it fails the logins made from it.
  auto valid = ValidChapTargetConfig::create(cfg->config, cfg->backend);
  if (valid) {
    cfg->valid = std::move(valid).value();
  } else {
    cfg->valid.reset();
    cfg->invalid = valid.error();
  }
  return MULTICHAP_OK;
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
    const auto& table = backend_table();
    return i < table.size() ? table[i].impl->name().data() : nullptr;
  } catch (...) {
    return nullptr;
  }
}

multichap_status multichap_backend_open(const char* name, const multichap_backend** out) {
  return guarded(t_last_error, [&] {
    if (out == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "out must not be NULL");
    *out = nullptr;
    const auto& table = backend_table();
    if (table.empty()) return fail(t_last_error, MULTICHAP_ERR_BACKEND, "no backend available");
    if (name == nullptr) {
      *out = &table.front();
      return MULTICHAP_OK;
    }
    for (const auto& b : table) {
      if (b.impl->name() == name) {
        *out = &b;
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

// ---- Initiator ---------------------------------------------------------------------------------

multichap_status multichap_initiator_new(const multichap_backend* b, multichap_initiator** out) {
  return guarded(t_last_error, [&] {
    if (out == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "out must not be NULL");
    *out = nullptr;
    if (b == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "backend must not be NULL");
    auto ini = std::make_unique<multichap_initiator>();
    ini->backend = b->impl;
    *out = ini.release();
    return MULTICHAP_OK;
  });
}

multichap_status multichap_initiator_set_credentials(multichap_initiator* ini, const char* chap_n,
                                                     const unsigned char* secret, size_t len) {
  if (ini == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "initiator is NULL");
  return guarded(ini->error, [&] {
    if (!valid_name(chap_n, ini->error, "CHAP_N") || !valid_secret(secret, len, ini->error)) {
      return MULTICHAP_ERR_USAGE;
    }
    ChapInitiatorConfig candidate = copy_config(ini->config);
    candidate.local = ChapCredentials{chap_n, Secret::from_bytes(ByteView(secret, len))};
    return apply(ini, std::move(candidate), true);
  });
}

multichap_status multichap_initiator_set_target_credentials(multichap_initiator* ini,
                                                            const char* expected_chap_n,
                                                            const unsigned char* secret,
                                                            size_t len) {
  if (ini == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "initiator is NULL");
  return guarded(ini->error, [&] {
    if (!valid_name(expected_chap_n, ini->error, "expected CHAP_N") ||
        !valid_secret(secret, len, ini->error)) {
      return MULTICHAP_ERR_USAGE;
    }
    ChapInitiatorConfig candidate = copy_config(ini->config);
    candidate.target = ChapCredentials{expected_chap_n, Secret::from_bytes(ByteView(secret, len))};
    return apply(ini, std::move(candidate), ini->has_credentials);
  });
}

multichap_status multichap_initiator_set_algorithms(multichap_initiator* ini, const int* chap_a,
                                                    size_t count) {
  if (ini == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "initiator is NULL");
  return guarded(ini->error, [&] {
    std::vector<Algorithm> algs;
    const multichap_status s = parse_algorithms(chap_a, count, ini->error, algs);
    if (s != MULTICHAP_OK) return s;
    ChapInitiatorConfig candidate = copy_config(ini->config);
    candidate.policy.algorithms = std::move(algs);
    auto valid = multichap::validate_policy(candidate.policy);
    if (!valid) return fail(ini->error, valid.error());
    return apply(ini, std::move(candidate), ini->has_credentials);
  });
}

multichap_status multichap_initiator_set_link_protected(multichap_initiator* ini, int on) {
  if (ini == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "initiator is NULL");
  return guarded(ini->error, [&] {
    ChapInitiatorConfig candidate = copy_config(ini->config);
    candidate.policy.link_protected = on != 0;
    return apply(ini, std::move(candidate), ini->has_credentials);
  });
}

void multichap_initiator_rewind(multichap_initiator* ini) {
  if (ini == nullptr) return;
  ini->pending = PendingStep<ChapInitiator>{};
  if (ini->machine) ini->machine->reset();
  ini->broken = false;
}

multichap_status multichap_initiator_step(multichap_initiator* ini, const char* in, size_t in_len,
                                          char* out, size_t out_cap, size_t* out_len) {
  if (ini == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "initiator is NULL");
  return guarded(ini->error, [&] {
    const multichap_status args = check_step_args(in, in_len, out, out_cap, out_len, ini->error);
    if (args != MULTICHAP_OK) return args;
    *out_len = 0;
    if (!ini->machine) {
      return fail(ini->error, MULTICHAP_ERR_USAGE,
                  "set the initiator's credentials before the first step");
    }
    if (ini->broken) {
      return fail(ini->error, MULTICHAP_ERR_USAGE,
                  "CHAP exchange already failed; rewind before reuse");
    }
    return run_step(ini->machine, ini->pending, ini->broken, ini->error, in, in_len, out, out_cap,
                    out_len, [](const ChapInitiator&) { return KeyList{}; });
  });
}

multichap_state multichap_initiator_state(const multichap_initiator* ini) {
  if (ini == nullptr || ini->broken) return MULTICHAP_FAILED;
  if (!ini->machine) return MULTICHAP_IN_PROGRESS;
  switch (ini->machine->status()) {
    case multichap::AuthStatus::succeeded:
      return MULTICHAP_SUCCEEDED;
    case multichap::AuthStatus::failed:
      return MULTICHAP_FAILED;
    case multichap::AuthStatus::in_progress:
      break;
  }
  return MULTICHAP_IN_PROGRESS;
}

int multichap_initiator_may_transit(const multichap_initiator* ini) {
  if (ini == nullptr || ini->broken || !ini->machine) return 0;
  const auto state = ini->machine->state();
  return state == ChapInitiator::State::responded || state == ChapInitiator::State::succeeded ? 1
                                                                                              : 0;
}

int multichap_initiator_algorithm(const multichap_initiator* ini) {
  return ini == nullptr || !ini->machine ? 0 : chap_a_of(ini->machine->algorithm());
}

int multichap_initiator_mutual(const multichap_initiator* ini) {
  return multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED && ini->machine->mutual() &&
                 !ini->machine->authenticated_none()
             ? 1
             : 0;
}

const char* multichap_initiator_error(const multichap_initiator* ini) {
  return ini == nullptr ? "initiator is NULL" : ini->error.c_str();
}

void multichap_initiator_free(multichap_initiator* ini) {
  delete ini;  // Secrets and challenges wipe themselves
}

// ---- Target ------------------------------------------------------------------------------------

multichap_status multichap_target_config_new(const multichap_backend* b,
                                             multichap_target_config** out) {
  return guarded(t_last_error, [&] {
    if (out == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "out must not be NULL");
    *out = nullptr;
    if (b == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "backend must not be NULL");
    auto cfg = std::make_unique<multichap_target_config>();
    cfg->backend = b->impl;
    commit(cfg.get(), ChapTargetConfig{});
    *out = cfg.release();
    return MULTICHAP_OK;
  });
}

multichap_status multichap_target_config_add_account(multichap_target_config* cfg,
                                                     const char* chap_n,
                                                     const unsigned char* secret, size_t len) {
  if (cfg == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "configuration is NULL");
  return guarded(cfg->error, [&] {
    if (!valid_name(chap_n, cfg->error, "CHAP_N") || !valid_secret(secret, len, cfg->error)) {
      return MULTICHAP_ERR_USAGE;
    }
    const ChapTargetConfig& now = *cfg->config;
    for (const auto& a : now.accounts) {
      if (a.name == chap_n) {
        return fail(cfg->error, MULTICHAP_ERR_USAGE,
                    "an account named '" + a.name + "' already exists");
      }
    }
    Secret s = Secret::from_bytes(ByteView(secret, len));
    auto checked = multichap::check_secret(s, "initiator secret for '" + std::string(chap_n) + "'",
                                           now.policy);
    if (!checked) return fail(cfg->error, checked.error());
    if (now.local && now.local->secret.equals(s)) {
      return fail(cfg->error, MULTICHAP_ERR_POLICY,
                  "the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
    }
    ChapTargetConfig candidate = copy_config(now);
    candidate.accounts.push_back(ChapCredentials{chap_n, std::move(s)});
    return commit(cfg, std::move(candidate));
  });
}

multichap_status multichap_target_config_set_lookup(multichap_target_config* cfg,
                                                    multichap_secret_lookup fn, void* ctx) {
  if (cfg == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "configuration is NULL");
  return guarded(cfg->error, [&] {
    ChapTargetConfig candidate = copy_config(*cfg->config);
    candidate.provider = fn == nullptr ? nullptr : std::make_shared<CallbackProvider>(fn, ctx);
    return commit(cfg, std::move(candidate));
  });
}

multichap_status multichap_target_config_set_credentials(multichap_target_config* cfg,
                                                         const char* chap_n,
                                                         const unsigned char* secret, size_t len) {
  if (cfg == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "configuration is NULL");
  return guarded(cfg->error, [&] {
    if (!valid_name(chap_n, cfg->error, "CHAP_N") || !valid_secret(secret, len, cfg->error)) {
      return MULTICHAP_ERR_USAGE;
    }
    const ChapTargetConfig& now = *cfg->config;
    Secret s = Secret::from_bytes(ByteView(secret, len));
    auto checked = multichap::check_secret(s, "target secret", now.policy);
    if (!checked) return fail(cfg->error, checked.error());
    for (const auto& a : now.accounts) {
      if (a.secret.equals(s)) {
        return fail(cfg->error, MULTICHAP_ERR_POLICY,
                    "the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
      }
    }
    ChapTargetConfig candidate = copy_config(now);
    candidate.local = ChapCredentials{chap_n, std::move(s)};
    return commit(cfg, std::move(candidate));
  });
}

multichap_status multichap_target_config_set_algorithms(multichap_target_config* cfg,
                                                        const int* chap_a, size_t count) {
  if (cfg == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "configuration is NULL");
  return guarded(cfg->error, [&] {
    std::vector<Algorithm> algs;
    const multichap_status s = parse_algorithms(chap_a, count, cfg->error, algs);
    if (s != MULTICHAP_OK) return s;
    ChapTargetConfig candidate = copy_config(*cfg->config);
    candidate.policy.algorithms = std::move(algs);
    auto valid = multichap::validate_policy(candidate.policy);
    if (!valid) return fail(cfg->error, valid.error());
    if (multichap::usable_algorithms(candidate.policy, *cfg->backend).empty()) {
      return fail(cfg->error, MULTICHAP_ERR_POLICY,
                  "backend " + std::string(cfg->backend->name()) +
                      " supports none of the listed algorithms");
    }
    return commit(cfg, std::move(candidate));
  });
}

multichap_status multichap_target_config_set_link_protected(multichap_target_config* cfg, int on) {
  if (cfg == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "configuration is NULL");
  return guarded(cfg->error, [&] {
    ChapTargetConfig candidate = copy_config(*cfg->config);
    candidate.policy.link_protected = on != 0;
    return commit(cfg, std::move(candidate));
  });
}

multichap_status multichap_target_config_require_mutual(multichap_target_config* cfg, int on) {
  if (cfg == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "configuration is NULL");
  return guarded(cfg->error, [&] {
    ChapTargetConfig candidate = copy_config(*cfg->config);
    candidate.policy.require_mutual = on != 0;
    return commit(cfg, std::move(candidate));
  });
}

const char* multichap_target_config_error(const multichap_target_config* cfg) {
  return cfg == nullptr ? "configuration is NULL" : cfg->error.c_str();
}

void multichap_target_config_free(multichap_target_config* cfg) {
  delete cfg;
}

multichap_status multichap_target_login_new(const multichap_target_config* cfg,
                                            const char* initiator_name,
                                            multichap_target_login** out) {
  return guarded(t_last_error, [&] {
    if (out == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "out must not be NULL");
    *out = nullptr;
    if (cfg == nullptr || initiator_name == nullptr) {
      return fail(t_last_error, MULTICHAP_ERR_USAGE,
                  "configuration and initiator_name must not be NULL");
    }
    if (!cfg->valid) return fail(t_last_error, cfg->invalid);
    auto login = std::make_unique<multichap_target_login>();
    login->machine = std::make_unique<ChapTarget>(cfg->valid);
    login->machine->set_login_context(initiator_name, std::string(), false);
    *out = login.release();
    return MULTICHAP_OK;
  });
}

multichap_status multichap_target_login_step(multichap_target_login* login, const char* in,
                                             size_t in_len, char* out, size_t out_cap,
                                             size_t* out_len) {
  if (login == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "login is NULL");
  return guarded(login->error, [&] {
    const multichap_status args = check_step_args(in, in_len, out, out_cap, out_len, login->error);
    if (args != MULTICHAP_OK) return args;
    *out_len = 0;
    if (login->broken) {
      return fail(login->error, MULTICHAP_ERR_USAGE, "CHAP exchange already failed");
    }
    return run_step(login->machine, login->pending, login->broken, login->error, in, in_len, out,
                    out_cap, out_len,
                    [](const ChapTarget& machine) { return machine.reject_keys(); });
  });
}

multichap_state multichap_target_login_state(const multichap_target_login* login) {
  if (login == nullptr || login->broken) return MULTICHAP_FAILED;
  switch (login->machine->status()) {
    case multichap::AuthStatus::succeeded:
      return MULTICHAP_SUCCEEDED;
    case multichap::AuthStatus::failed:
      return MULTICHAP_FAILED;
    case multichap::AuthStatus::in_progress:
      break;
  }
  return MULTICHAP_IN_PROGRESS;
}

int multichap_target_login_algorithm(const multichap_target_login* login) {
  return login == nullptr ? 0 : chap_a_of(login->machine->algorithm());
}

int multichap_target_login_mutual(const multichap_target_login* login) {
  return multichap_target_login_state(login) == MULTICHAP_SUCCEEDED && login->machine->mutual() ? 1
                                                                                                : 0;
}

const char* multichap_target_login_peer(const multichap_target_login* login) {
  if (multichap_target_login_state(login) != MULTICHAP_SUCCEEDED) return "";
  return login->machine->peer_name().c_str();
}

const char* multichap_target_login_error(const multichap_target_login* login) {
  return login == nullptr ? "login is NULL" : login->error.c_str();
}

void multichap_target_login_free(multichap_target_login* login) {
  delete login;
}

}  // extern "C"
