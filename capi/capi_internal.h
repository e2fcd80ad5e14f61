// SPDX-License-Identifier: BSD-2-Clause
// What the C ABI's files share (capi/library.cpp, capi/initiator.cpp, capi/target.cpp): the
// handles behind the opaque C types, and the helpers every entry point uses to check arguments,
// record failures and keep exceptions from crossing the ABI. Private to capi/.
#ifndef MULTICHAP_CAPI_CAPI_INTERNAL_H
#define MULTICHAP_CAPI_CAPI_INTERNAL_H

#include "multichap/multichap.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/chap.h"
#include "auth/secret_provider.h"
#include "backends/hash_backend.h"
#include "backends/key_store.h"
#include "session/offer_fallback.h"

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

namespace multichap::capi {
// A step whose output did not fit: the advanced machine and its output wait for the same input
// with a larger buffer, so the retry sends exactly what was measured (a redrawn challenge could
// have a different CHAP_I length) while the visible state stays as before the first call.
// The input and output texts carry CHAP_C and CHAP_R values: they live in the secret arena.
template <typename Machine>
struct PendingStep {
  std::unique_ptr<Machine> machine;
  multichap::SecureBytes input;
  multichap::SecureBytes output;
  multichap_status status = MULTICHAP_OK;
  std::string error;
};
}  // namespace multichap::capi

struct multichap_initiator {
  std::shared_ptr<const HashBackend> backend;
  ChapInitiatorConfig config;
  bool has_credentials = false;
  std::unique_ptr<ChapInitiator> machine;  // built once credentials are set
  multichap::capi::PendingStep<ChapInitiator> pending;
  bool broken = false;  // received text that could not be parsed
  std::string error;
  // What the offer fallback needs to know about the attempt in progress: whether the last output
  // offered CHAP_A (and no CHAP_R yet), whether it carried our CHAP_R, and whether the target
  // answered CHAP_A=Reject (a well-formed "none of these": no narrower offer helps).
  bool sent_offer = false;
  bool sent_response = false;
  bool saw_reject = false;
  // The fallback plan, from the first refusal on; kept (and its offer reapplied) when the
  // credentials change, dropped by set_algorithms.
  std::optional<multichap::OfferFallback> plan;
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
  multichap_secret_lookup lookup = nullptr;  // the callback behind config->provider, if any
};

struct multichap_target_login {
  std::unique_ptr<ChapTarget> machine;
  multichap::capi::PendingStep<ChapTarget> pending;
  bool broken = false;
  bool stepped = false;
  std::string error;
  // multichap_target_login_set_lookup_context(): the configuration's callback with this ctx.
  multichap_secret_lookup lookup = nullptr;
  void* lookup_ctx = nullptr;
  bool own_lookup_ctx = false;
};

namespace multichap::capi {

inline constexpr std::size_t kMaxNameBytes = 255;  // CHAP_N is a simple value (RFC 7143 §6.1)
inline constexpr std::size_t kLookupBufferBytes = 256;
inline constexpr std::size_t kMaxLookupBytes = 65536;

inline thread_local std::string t_last_error;

inline multichap_status status_of(ErrorKind kind) {
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
inline multichap_status fail(std::string& slot, multichap_status status, std::string message) {
  slot = std::move(message);
  return status;
}
inline multichap_status fail(std::string& slot, const Error& error) {
  return fail(slot, status_of(error.kind), error.message);
}

// Runs body, turning any exception into MULTICHAP_ERR_INTERNAL recorded in slot.
template <typename Body>
inline multichap_status guarded(std::string& slot, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(slot, MULTICHAP_ERR_INTERNAL, "out of memory");
  } catch (...) {
    return fail(slot, MULTICHAP_ERR_INTERNAL, "internal error");
  }
}

// A secret held by reference from a C caller's URI (backends/key_store.h).
inline Result<Secret> secret_from_uri(const char* uri) {
  if (uri == nullptr) {
    return make_error(ErrorKind::usage, ErrorCode::key_reference_invalid,
                      "the secret's URI must not be NULL");
  }
  return secret_from_reference(uri);
}

inline Secret copy_secret(const Secret& s) {
  return s.clone();
}
inline std::optional<ChapCredentials> copy_credentials(const std::optional<ChapCredentials>& c) {
  if (!c) return std::nullopt;
  return ChapCredentials{c->name, copy_secret(c->secret)};
}
inline ChapInitiatorConfig copy_config(const ChapInitiatorConfig& c) {
  return ChapInitiatorConfig{ChapCredentials{c.local.name, copy_secret(c.local.secret)},
                             copy_credentials(c.target), c.policy};
}
inline ChapTargetConfig copy_config(const ChapTargetConfig& c) {
  ChapTargetConfig out;
  for (const auto& a : c.accounts) out.accounts.push_back({a.name, copy_secret(a.secret)});
  out.provider = c.provider;
  out.local = copy_credentials(c.local);
  out.policy = c.policy;
  return out;
}

// Checks a C name argument (CHAP_N): present, non-empty, at most 255 bytes.
inline bool valid_name(const char* name, std::string& slot, const char* what) {
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

inline bool valid_secret(const unsigned char* secret, std::size_t len, std::string& slot) {
  if (secret == nullptr || len == 0) {
    fail(slot, MULTICHAP_ERR_USAGE, "secret must be a non-NULL buffer of at least one byte");
    return false;
  }
  return true;
}

// A C list of CHAP_A numbers: 5..8, at least one, no duplicates.
inline multichap_status parse_algorithms(const int* chap_a, std::size_t count, std::string& slot,
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
inline multichap::Result<KeyList> auth_keys(const char* in, std::size_t in_len) {
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
inline multichap_status deliver(const multichap::SecureBytes& text, char* out, std::size_t out_cap,
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
inline multichap_status run_step(std::unique_ptr<Machine>& machine, PendingStep<Machine>& pending,
                                 bool& broken, std::string& error, const char* in,
                                 std::size_t in_len, char* out, std::size_t out_cap,
                                 std::size_t* out_len, FailureKeys keys_on_failure) {
  const std::string_view input(in == nullptr ? "" : in, in_len);
  const std::string_view pending_input(reinterpret_cast<const char*>(pending.input.data()),
                                       pending.input.size());
  if (pending.machine && pending_input == input) {
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
  multichap::SecureBytes text;
  {
    std::string built = multichap::build_text(sent ? *sent : keys_on_failure(*next));
    text.assign(built.begin(), built.end());
    multichap::secure_wipe(built.data(), built.size());
  }
  const multichap_status status = sent ? MULTICHAP_OK : status_of(sent.error().kind);
  if (deliver(text, out, out_cap, out_len) != MULTICHAP_OK) {
    pending =
        PendingStep<Machine>{std::move(next), multichap::SecureBytes(input.begin(), input.end()),
                             std::move(text), status, sent ? std::string() : sent.error().message};
    return fail(error, MULTICHAP_ERR_BUFFER_TOO_SMALL,
                "the keys to send need " + std::to_string(text.size()) + " bytes of output");
  }
  machine = std::move(next);
  if (!sent) return fail(error, sent.error());
  return MULTICHAP_OK;
}

inline multichap_status check_step_args(const char* in, std::size_t in_len, const char* out,
                                        std::size_t out_cap, const std::size_t* out_len,
                                        std::string& slot) {
  if (out_len == nullptr) return fail(slot, MULTICHAP_ERR_USAGE, "out_len must not be NULL");
  if (in == nullptr && in_len != 0) return fail(slot, MULTICHAP_ERR_USAGE, "in is NULL");
  if (out == nullptr && out_cap != 0) return fail(slot, MULTICHAP_ERR_USAGE, "out is NULL");
  return MULTICHAP_OK;
}

inline int chap_a_of(const std::optional<Algorithm>& alg) {
  return alg ? static_cast<int>(multichap::algorithm_info(*alg).chap_a) : 0;
}

}  // namespace multichap::capi

#endif  // MULTICHAP_CAPI_CAPI_INTERNAL_H
