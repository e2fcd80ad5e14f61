// SPDX-License-Identifier: BSD-2-Clause
// The C ABI: target configurations and the target side of each login.
#include "capi/capi_internal.h"

using namespace multichap::capi;  // NOLINT(google-build-using-namespace): this file's helpers

namespace {

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
    if (now.local) {
      auto same = multichap::same_secret(*cfg->backend, now.local->secret, s);
      if (!same) return fail(cfg->error, same.error());
      if (*same) {
        return fail(cfg->error, MULTICHAP_ERR_POLICY,
                    "the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
      }
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
    const multichap_status s = commit(cfg, std::move(candidate));
    cfg->lookup = fn;
    return s;
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
      auto same = multichap::same_secret(*cfg->backend, a.secret, s);
      if (!same) return fail(cfg->error, same.error());
      if (*same) {
        return fail(cfg->error, MULTICHAP_ERR_POLICY,
                    "the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
      }
    }
    ChapTargetConfig candidate = copy_config(now);
    candidate.local = ChapCredentials{chap_n, std::move(s)};
    return commit(cfg, std::move(candidate));
  });
}

multichap_status multichap_target_config_add_account_uri(multichap_target_config* cfg,
                                                         const char* chap_n, const char* uri) {
  if (cfg == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "configuration is NULL");
  return guarded(cfg->error, [&] {
    if (!valid_name(chap_n, cfg->error, "CHAP_N")) return MULTICHAP_ERR_USAGE;
    const ChapTargetConfig& now = *cfg->config;
    for (const auto& a : now.accounts) {
      if (a.name == chap_n) {
        return fail(cfg->error, MULTICHAP_ERR_USAGE,
                    "an account named '" + a.name + "' already exists");
      }
    }
    auto s = secret_from_uri(uri);
    if (!s) return fail(cfg->error, s.error());
    auto checked = multichap::check_secret(*s, "initiator secret for '" + std::string(chap_n) + "'",
                                           now.policy);
    if (!checked) return fail(cfg->error, checked.error());
    if (now.local) {
      auto same = multichap::same_secret(*cfg->backend, now.local->secret, *s);
      if (!same) return fail(cfg->error, same.error());
      if (*same) {
        return fail(cfg->error, MULTICHAP_ERR_POLICY,
                    "the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
      }
    }
    ChapTargetConfig candidate = copy_config(now);
    candidate.accounts.push_back(ChapCredentials{chap_n, std::move(s).value()});
    return commit(cfg, std::move(candidate));
  });
}

multichap_status multichap_target_config_set_credentials_uri(multichap_target_config* cfg,
                                                             const char* chap_n, const char* uri) {
  if (cfg == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "configuration is NULL");
  return guarded(cfg->error, [&] {
    if (!valid_name(chap_n, cfg->error, "CHAP_N")) return MULTICHAP_ERR_USAGE;
    const ChapTargetConfig& now = *cfg->config;
    auto s = secret_from_uri(uri);
    if (!s) return fail(cfg->error, s.error());
    auto checked = multichap::check_secret(*s, "target secret", now.policy);
    if (!checked) return fail(cfg->error, checked.error());
    for (const auto& a : now.accounts) {
      auto same = multichap::same_secret(*cfg->backend, a.secret, *s);
      if (!same) return fail(cfg->error, same.error());
      if (*same) {
        return fail(cfg->error, MULTICHAP_ERR_POLICY,
                    "the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
      }
    }
    ChapTargetConfig candidate = copy_config(now);
    candidate.local = ChapCredentials{chap_n, std::move(s).value()};
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
    login->lookup = cfg->lookup;
    login->machine = std::make_unique<ChapTarget>(cfg->valid);
    login->machine->set_login_context(initiator_name, std::string(), false);
    *out = login.release();
    return MULTICHAP_OK;
  });
}

multichap_status multichap_target_login_set_lookup_context(multichap_target_login* login,
                                                           void* ctx) {
  if (login == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "login is NULL");
  if (login->stepped) {
    return fail(login->error, MULTICHAP_ERR_USAGE,
                "the lookup context must be set before the first step");
  }
  login->lookup_ctx = ctx;
  login->own_lookup_ctx = true;
  return MULTICHAP_OK;
}

multichap_status multichap_target_login_pending_lookup(const multichap_target_login* login,
                                                       const char* in, size_t in_len, char* chap_n,
                                                       size_t cap, size_t* len) {
  if (login == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "login is NULL");
  return guarded(t_last_error, [&] {
    if (len == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "len must not be NULL");
    *len = 0;
    if ((in == nullptr && in_len != 0) || (chap_n == nullptr && cap != 0)) {
      return fail(t_last_error, MULTICHAP_ERR_USAGE, "in or chap_n is NULL");
    }
    if (login->broken) return MULTICHAP_OK;
    auto keys = auth_keys(in, in_len);
    if (!keys) return MULTICHAP_OK;  // step() reports the malformed text
    const auto name = login->machine->needs_lookup(*keys);
    if (!name) return MULTICHAP_OK;
    if (cap < name->size() + 1) {
      *len = name->size() + 1;
      return fail(t_last_error, MULTICHAP_ERR_BUFFER_TOO_SMALL,
                  "the CHAP_N needs " + std::to_string(name->size() + 1) + " bytes");
    }
    std::memcpy(chap_n, name->c_str(), name->size() + 1);
    *len = name->size();
    return MULTICHAP_OK;
  });
}

multichap_status multichap_target_login_supply_secret(multichap_target_login* login,
                                                      const char* chap_n,
                                                      const unsigned char* secret, size_t len) {
  if (login == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "login is NULL");
  return guarded(login->error, [&] {
    if (!valid_name(chap_n, login->error, "CHAP_N")) return MULTICHAP_ERR_USAGE;
    if ((secret == nullptr) != (len == 0)) {
      return fail(login->error, MULTICHAP_ERR_USAGE,
                  "a secret is a non-NULL buffer of at least one byte, or NULL with length 0 for "
                  "no such account");
    }
    std::optional<Secret> found;
    if (secret != nullptr) found = Secret::from_bytes(ByteView(secret, len));
    login->machine->supply_secret(chap_n,
                                  multichap::Result<std::optional<Secret>>(std::move(found)));
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
    login->stepped = true;
    const std::string_view pending_input(reinterpret_cast<const char*>(login->pending.input.data()),
                                         login->pending.input.size());
    const bool retry = login->pending.machine &&
                       pending_input == std::string_view(in == nullptr ? "" : in, in_len);
    if (login->own_lookup_ctx && login->lookup != nullptr && !retry) {
      // This login's context instead of the configuration's: the lookup runs here, and the
      // machine takes its answer instead of asking the configured provider.
      if (auto keys = auth_keys(in, in_len); keys) {
        if (auto chap_n = login->machine->needs_lookup(*keys)) {
          const CallbackProvider provider(login->lookup, login->lookup_ctx);
          auto found = provider.find_secret(login->machine->account_query(*chap_n));
          login->machine->supply_secret(*chap_n, std::move(found));
        }
      }
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
