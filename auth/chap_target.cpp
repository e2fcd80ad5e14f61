// SPDX-License-Identifier: BSD-2-Clause
// The target role of the CHAP exchange: its transition table and actions (auth/chap.h).
#include <algorithm>

#include "auth/chap.h"
#include "auth/chap_internal.h"

namespace multichap {

using namespace chap_internal;  // NOLINT(google-build-using-namespace): this file's toolbox

const std::vector<ChapTarget::Transition>& ChapTarget::transitions() {
  using S = State;
  using E = ChapEvent;
  static const std::vector<Transition> table = {
      {S::await_auth_method, E::auth_method, S::await_algorithms, &ChapTarget::on_auth_method},
      {S::await_auth_method, E::auth_method_none, S::succeeded, &ChapTarget::on_auth_none},
      {S::await_algorithms, E::algorithm_offer, S::await_response, &ChapTarget::on_algorithm_offer},
      {S::await_response, E::response, S::succeeded, &ChapTarget::on_response},
      {S::succeeded, E::none, S::succeeded, &ChapTarget::nothing},
  };
  return table;
}

std::string_view ChapTarget::state_name(State state) {
  switch (state) {
    case State::await_auth_method:
      return "await-auth-method";
    case State::await_algorithms:
      return "await-algorithms";
    case State::await_response:
      return "await-response";
    case State::succeeded:
      return "succeeded";
    case State::failed:
      return "failed";
  }
  return "?";
}

ChapTarget::ChapTarget(std::shared_ptr<const ValidChapTargetConfig> valid)
    : m_valid(std::move(valid)) {}

void ChapTarget::reset_role() {
  m_mutual = false;
  m_peer_name.clear();
  m_reject = KeyList{};
  m_supplied_name.reset();
  if (m_supplied_secret) wipe(*m_supplied_secret);
  m_supplied_secret.reset();
  m_supplied_reference.reset();
  m_supplied_error.reset();
}

ChapEvent ChapTarget::classify(const KeyList& received) const {
  const unsigned keys = auth_keys_of(received);
  const bool chap = (keys & kAnyChap) != 0;
  if ((keys & kAuthMethodKey) != 0) {
    if (chap) return ChapEvent::invalid;
    // The first offered method we accept decides the event (RFC 7143 §6.2: list negotiation).
    for (const std::string_view item : split_list(*received.find("AuthMethod"))) {
      if (item == "CHAP") return ChapEvent::auth_method;
      // A policy that requires mutual CHAP never settles for no authentication at all.
      if (item == "None" && config().policy.allow_none && !config().policy.require_mutual) {
        return ChapEvent::auth_method_none;
      }
    }
    return ChapEvent::auth_method;  // nothing acceptable: on_auth_method rejects
  }
  if ((keys & (kChapN | kChapR)) != 0) {
    return (keys & kChapA) != 0 ? ChapEvent::invalid : ChapEvent::response;
  }
  if ((keys & kChapA) != 0) {
    return (keys & (kChapI | kChapC)) != 0 ? ChapEvent::invalid : ChapEvent::algorithm_offer;
  }
  return chap ? ChapEvent::invalid : ChapEvent::none;
}

Result<KeyList> ChapTarget::on_auth_method(const KeyList& received) {
  for (const std::string_view item : split_list(*received.find("AuthMethod"))) {
    if (item.empty())
      return protocol_error(ErrorCode::auth_method_empty_item, "empty item in AuthMethod list");
    if (item == "CHAP") return one_key("AuthMethod", "CHAP");
  }
  m_reject = KeyList{{"AuthMethod", "Reject"}};
  return policy_error(ErrorCode::auth_method_unacceptable,
                      "initiator offered no acceptable AuthMethod (CHAP is required)");
}

Result<KeyList> ChapTarget::on_auth_none(const KeyList&) {
  m_none = true;
  return one_key("AuthMethod", "None");
}

Result<KeyList> ChapTarget::on_algorithm_offer(const KeyList& received) {
  const std::vector<Algorithm>& usable = m_valid->usable();
  std::optional<Algorithm> chosen;
  for (const std::string_view item : split_list(*received.find("CHAP_A"))) {
    auto number = parse_number(item, 0xffffffffu);
    if (!number)
      return protocol_error(ErrorCode::chap_a_encoding, "CHAP_A: " + number.error().message);
    if (chosen) continue;  // validate the whole list, keep the first acceptable
    const auto alg = algorithm_from_chap_a(*number, config().policy.numbering);
    if (alg && std::find(usable.begin(), usable.end(), *alg) != usable.end()) chosen = alg;
  }
  if (!chosen) {
    m_reject = KeyList{{"CHAP_A", "Reject"}};
    return policy_error(
        ErrorCode::chap_a_unsupported,
        "none of the offered algorithms (CHAP_A=" + received.find("CHAP_A")->substr(0, 64) +
            ") is allowed here (allowed: " + format_algorithm_list(usable) + ")");
  }
  m_algorithm = chosen;
  MULTICHAP_GUARD(
      make_challenge(crypto(), config().policy, *chosen, m_identifier, m_challenge, ByteView()));
  KeyList out;
  out.reserve(3);
  out.set("CHAP_A", std::to_string(*chap_a_number(*chosen, config().policy.numbering)));
  out.set("CHAP_I", std::to_string(m_identifier));
  out.set("CHAP_C", encode_hex(ByteView(m_challenge.data(), m_challenge.size())));
  return out;
}

Result<KeyList> ChapTarget::on_response(const KeyList& received) {
  const std::string* n = received.find("CHAP_N");
  const std::string* r = received.find("CHAP_R");
  const std::string* i = received.find("CHAP_I");
  const std::string* c = received.find("CHAP_C");
  if (n == nullptr || r == nullptr)
    return protocol_error(ErrorCode::missing_key, "initiator's response lacks CHAP_N or CHAP_R");
  if ((i == nullptr) != (c == nullptr))
    return protocol_error(ErrorCode::chap_i_c_unpaired, "CHAP_I and CHAP_C must come together");
  const Algorithm alg = *m_algorithm;
  DecodedValue response;
  MULTICHAP_GUARD(decode_response(*r, alg, response));

  std::optional<Secret> provided;
  MULTICHAP_ASSIGN_OR_RETURN(const Secret* expected, find_account_secret(*n, provided));
  MULTICHAP_GUARD(verify(crypto(), alg, m_identifier,
                         ByteView(m_challenge.data(), m_challenge.size()),
                         ByteView(response.data(), response.size()), *expected,
                         config().local ? &config().local->secret : nullptr, "initiator"));
  m_peer_name = *n;

  if (i == nullptr) {
    if (config().policy.require_mutual) {
      return policy_error(ErrorCode::mutual_required,
                          "policy requires mutual CHAP, but the initiator sent no CHAP_I/CHAP_C");
    }
    return KeyList{};
  }
  if (!config().local) {
    return policy_error(ErrorCode::mutual_unavailable,
                        "initiator asked the target to authenticate, but the target has no secret");
  }
  MULTICHAP_ASSIGN_OR_RETURN(const std::uint8_t id, decode_identifier(*i));
  DecodedValue challenge;
  MULTICHAP_GUARD(decode_challenge(*c, config().policy, challenge));
  if (constant_time_equal(ByteView(challenge.data(), challenge.size()),
                          ByteView(m_challenge.data(), m_challenge.size()))) {
    return auth_error(ErrorCode::reflection,
                      "initiator reflected our own challenge (RFC 7143 §9.2.1)");
  }
  MULTICHAP_ASSIGN_OR_RETURN(const BinaryEncoding encoding, binary_encoding_of(*c));
  MULTICHAP_ASSIGN_OR_RETURN(
      std::string ours, answer(crypto(), alg, id, config().local->secret, challenge, encoding));
  m_mutual = true;
  KeyList out;
  out.reserve(2);
  out.set("CHAP_N", config().local->name);
  out.set("CHAP_R", std::move(ours));
  return out;
}

Result<const Secret*> ChapTarget::find_account_secret(const std::string& chap_n,
                                                      std::optional<Secret>& holder) const {
  const auto account = std::find_if(config().accounts.begin(), config().accounts.end(),
                                    [&](const ChapCredentials& a) { return a.name == chap_n; });
  if (account != config().accounts.end()) return &account->secret;
  const std::string shown = "'" + chap_n.substr(0, 64) + "'";
  if (!config().provider) return auth_error(ErrorCode::unknown_user, "unknown CHAP_N " + shown);
  Result<std::optional<Secret>> found = std::optional<Secret>();
  if (m_supplied_name && *m_supplied_name == chap_n) {  // fetched ahead (supply_secret())
    if (m_supplied_error) {
      found = *m_supplied_error;
    } else if (m_supplied_reference) {
      found = std::optional<Secret>(Secret::from_reference(m_supplied_reference));
    } else if (m_supplied_secret) {
      found = std::optional<Secret>(
          Secret::from_bytes(ByteView(m_supplied_secret->data(), m_supplied_secret->size())));
    }
  } else {
    found = config().provider->find_secret(
        AccountQuery{chap_n, m_initiator_name, m_target_name, m_discovery});
  }
  if (!found) {
    return auth_error(ErrorCode::secret_lookup_failed,
                      "secret lookup for CHAP_N " + shown + " failed: " + found.error().message);
  }
  if (!found->has_value()) return auth_error(ErrorCode::unknown_user, "unknown CHAP_N " + shown);
  holder = std::move(*found);
  MULTICHAP_GUARD(check_secret(*holder, "provided initiator secret for " + shown, config().policy));
  bool same = false;
  if (config().local) {
    MULTICHAP_ASSIGN_OR_RETURN(same, same_secret(crypto(), *holder, config().local->secret));
  }
  if (same) {
    return policy_error(
        ErrorCode::same_secret_both_directions,
        "the provided secret for " + shown +
            " is the target's own secret (RFC 7143 §9.2.1: one secret per direction)");
  }
  return &*holder;
}

void ChapTarget::set_login_context(std::string initiator_name, std::string target_name,
                                   bool discovery) {
  m_initiator_name = std::move(initiator_name);
  m_target_name = std::move(target_name);
  m_discovery = discovery;
}

std::optional<std::string> ChapTarget::needs_lookup(const KeyList& received) const {
  if (state() != State::await_response || !config().provider) return std::nullopt;
  const std::string* n = received.find("CHAP_N");
  if (n == nullptr || (m_supplied_name && *m_supplied_name == *n)) return std::nullopt;
  const bool known = std::any_of(config().accounts.begin(), config().accounts.end(),
                                 [&](const ChapCredentials& a) { return a.name == *n; });
  if (known) return std::nullopt;
  return *n;
}

void ChapTarget::supply_secret(std::string chap_n, Result<std::optional<Secret>> found) {
  m_supplied_name = std::move(chap_n);
  if (m_supplied_secret) wipe(*m_supplied_secret);
  m_supplied_secret.reset();
  m_supplied_reference.reset();
  m_supplied_error.reset();
  if (!found) {
    m_supplied_error = found.error();
  } else if (found->has_value() && (*found)->reference() != nullptr) {
    m_supplied_reference = (*found)->shared_reference();
  } else if (found->has_value()) {
    const ByteView bytes = (*found)->bytes();
    m_supplied_secret = SecureBytes(bytes.data(), bytes.data() + bytes.size());
  }
}

Result<KeyList> ChapTarget::nothing(const KeyList&) {
  return KeyList{};
}

}  // namespace multichap
