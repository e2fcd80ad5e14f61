// SPDX-License-Identifier: BSD-2-Clause
// The C ABI: the initiator, one per session, rewound at every leading login.
#include "capi/capi_internal.h"

using namespace multichap::capi;  // NOLINT(google-build-using-namespace): this file's helpers

namespace {

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
  // A narrowed offer outlives new credentials (the target did not change); not new algorithms.
  if (ini->plan && !(*machine)->set_offer(ini->plan->current())) ini->plan.reset();
  ini->config = std::move(candidate);
  ini->has_credentials = true;
  ini->machine = std::move(machine).value();
  ini->pending = PendingStep<ChapInitiator>{};
  ini->broken = false;
  return MULTICHAP_OK;
}

}  // namespace

extern "C" {

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

multichap_status multichap_initiator_set_credentials_uri(multichap_initiator* ini,
                                                         const char* chap_n, const char* uri) {
  if (ini == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "initiator is NULL");
  return guarded(ini->error, [&] {
    if (!valid_name(chap_n, ini->error, "CHAP_N")) return MULTICHAP_ERR_USAGE;
    auto secret = secret_from_uri(uri);
    if (!secret) return fail(ini->error, secret.error());
    ChapInitiatorConfig candidate = copy_config(ini->config);
    candidate.local = ChapCredentials{chap_n, std::move(secret).value()};
    return apply(ini, std::move(candidate), true);
  });
}

multichap_status multichap_initiator_set_target_credentials_uri(multichap_initiator* ini,
                                                                const char* expected_chap_n,
                                                                const char* uri) {
  if (ini == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "initiator is NULL");
  return guarded(ini->error, [&] {
    if (!valid_name(expected_chap_n, ini->error, "expected CHAP_N")) return MULTICHAP_ERR_USAGE;
    auto secret = secret_from_uri(uri);
    if (!secret) return fail(ini->error, secret.error());
    ChapInitiatorConfig candidate = copy_config(ini->config);
    candidate.target = ChapCredentials{expected_chap_n, std::move(secret).value()};
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
    auto plan = std::move(ini->plan);
    ini->plan.reset();
    const multichap_status s2 = apply(ini, std::move(candidate), ini->has_credentials);
    if (s2 != MULTICHAP_OK) ini->plan = std::move(plan);  // nothing changed
    return s2;
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

multichap_status multichap_initiator_set_allow_none(multichap_initiator* ini, int allow) {
  if (ini == nullptr) return fail(t_last_error, MULTICHAP_ERR_USAGE, "initiator is NULL");
  return guarded(ini->error, [&] {
    ChapInitiatorConfig candidate = copy_config(ini->config);
    candidate.policy.allow_none = allow != 0;
    return apply(ini, std::move(candidate), ini->has_credentials);
  });
}

void multichap_initiator_rewind(multichap_initiator* ini) {
  if (ini == nullptr) return;
  ini->pending = PendingStep<ChapInitiator>{};
  if (ini->machine) ini->machine->reset();
  ini->broken = false;
  ini->sent_offer = false;
  ini->sent_response = false;
  ini->saw_reject = false;
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
    if (auto keys = auth_keys(in, in_len); keys) {
      const std::string* a = keys->find("CHAP_A");
      if (a != nullptr && *a == "Reject") ini->saw_reject = true;
    }
    const multichap_status s =
        run_step(ini->machine, ini->pending, ini->broken, ini->error, in, in_len, out, out_cap,
                 out_len, [](const ChapInitiator&) { return KeyList{}; });
    if (s == MULTICHAP_OK) {
      // What this output says, for the offer fallback: it carries CHAP_A exactly when the machine
      // now waits for the challenge, CHAP_R exactly when it has responded.
      const auto state = ini->machine->state();
      ini->sent_offer = state == ChapInitiator::State::await_challenge;
      if (state == ChapInitiator::State::responded) ini->sent_response = true;
    }
    return s;
  });
}

size_t multichap_initiator_offer(const multichap_initiator* ini, int* chap_a, size_t cap) {
  if (ini == nullptr || !ini->machine) return 0;
  const auto& offer = ini->machine->offer();
  for (std::size_t i = 0; i < offer.size() && i < cap && chap_a != nullptr; ++i) {
    chap_a[i] = chap_a_of(offer[i]);
  }
  return offer.size();
}

int multichap_initiator_login_failed(multichap_initiator* ini, int login_status) {
  if (ini == nullptr || !ini->machine) return 0;
  try {
    using multichap::OfferRefusal;
    OfferRefusal refusal = OfferRefusal::none;
    const bool redirect = login_status >= 0 && (login_status >> 8) == 1;
    if (redirect || ini->saw_reject) {
      refusal = OfferRefusal::none;
    } else if (ini->sent_offer) {
      refusal = OfferRefusal::after_offer;  // any failure, or silence, right after CHAP_A
    } else if (ini->sent_response && login_status == 0x0200 &&
               ini->machine->algorithm() == Algorithm::sha256) {
      refusal = OfferRefusal::sha256_as_7;
    }
    if (refusal == OfferRefusal::none) return 0;
    if (!ini->plan) {
      ini->plan.emplace(ini->machine->usable());
      (void)ini->plan->start_from(ini->machine->offer());
    }
    const auto narrower = ini->plan->next(refusal);
    if (!narrower) {
      fail(ini->error, MULTICHAP_ERR_POLICY,
           "the target refused every offer within the allowed algorithms");
      return 0;
    }
    multichap_initiator_rewind(ini);
    if (!ini->machine->set_offer(*narrower)) return 0;  // cannot happen: a subset of usable()
    return 1;
  } catch (...) {
    fail(ini->error, MULTICHAP_ERR_INTERNAL, "out of memory");
    return 0;
  }
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

}  // extern "C"
