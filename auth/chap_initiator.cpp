// SPDX-License-Identifier: BSD-2-Clause
// The initiator role of the CHAP exchange: its transition table and actions (auth/chap.h).
#include <algorithm>

#include "auth/chap.h"
#include "auth/chap_internal.h"

namespace multichap {

using namespace chap_internal;  // NOLINT(google-build-using-namespace): this file's toolbox

const std::vector<ChapInitiator::Transition>& ChapInitiator::transitions() {
  using S = State;
  using E = ChapEvent;
  static const std::vector<Transition> table = {
      {S::start, E::none, S::await_auth_method, &ChapInitiator::send_auth_method},
      {S::await_auth_method, E::auth_method, S::await_challenge, &ChapInitiator::on_auth_method},
      {S::await_auth_method, E::auth_method_none, S::succeeded, &ChapInitiator::on_auth_none},
      {S::await_challenge, E::challenge, S::responded, &ChapInitiator::on_challenge},
      {S::responded, E::response, S::succeeded, &ChapInitiator::on_target_response},
      {S::responded, E::none, S::succeeded, &ChapInitiator::on_target_silent},
      {S::succeeded, E::none, S::succeeded, &ChapInitiator::nothing},
  };
  return table;
}

std::string_view ChapInitiator::state_name(State state) {
  switch (state) {
    case State::start:
      return "start";
    case State::await_auth_method:
      return "await-auth-method";
    case State::await_challenge:
      return "await-challenge";
    case State::responded:
      return "responded";
    case State::succeeded:
      return "succeeded";
    case State::failed:
      return "failed";
  }
  return "?";
}

ChapInitiator::ChapInitiator(std::shared_ptr<const ValidChapInitiatorConfig> valid)
    : m_valid(std::move(valid)), m_offer(m_valid->usable()) {
  update_offer_text();
}

std::unique_ptr<ChapInitiator> ChapInitiator::fresh() const {
  auto out = std::make_unique<ChapInitiator>(m_valid);
  // The offer was checked by set_offer() against the same usable set: copied, not re-checked.
  out->m_offer = m_offer;
  out->m_offer_text = m_offer_text;
  return out;
}

// m_offer as the CHAP_A value, built once per offer rather than at every login.
void ChapInitiator::update_offer_text() {
  m_offer_text.clear();
  for (const Algorithm alg : m_offer) {
    if (!m_offer_text.empty()) m_offer_text += ',';
    m_offer_text += std::to_string(*chap_a_number(alg, config().policy.numbering));
  }
}

Result<void> ChapInitiator::set_offer(std::vector<Algorithm> offer) {
  if (m_state != State::start)
    return make_error(ErrorKind::usage, ErrorCode::offer_after_start,
                      "the CHAP_A offer can only change before an exchange");
  if (offer.empty()) return policy_error(ErrorCode::offer_empty, "an empty CHAP_A offer");
  const std::vector<Algorithm>& allowed = usable();
  for (std::size_t i = 0; i < offer.size(); ++i) {
    if (std::find(allowed.begin(), allowed.end(), offer[i]) == allowed.end()) {
      return policy_error(ErrorCode::offer_not_allowed,
                          "CHAP_A offer " + format_algorithm_list(offer) +
                              " goes beyond the allowed " + format_algorithm_list(allowed));
    }
    if (std::find(offer.begin(), offer.begin() + static_cast<long>(i), offer[i]) !=
        offer.begin() + static_cast<long>(i)) {
      return policy_error(ErrorCode::offer_repeats,
                          "CHAP_A offer " + format_algorithm_list(offer) + " repeats a value");
    }
  }
  m_offer = std::move(offer);
  update_offer_text();
  return {};
}

ChapEvent ChapInitiator::classify(const KeyList& received) const {
  const unsigned keys = auth_keys_of(received);
  const bool chap = (keys & kAnyChap) != 0;
  if ((keys & kAuthMethodKey) != 0) {
    if (chap) return ChapEvent::invalid;
    return *received.find("AuthMethod") == "None" ? ChapEvent::auth_method_none
                                                  : ChapEvent::auth_method;
  }
  if ((keys & (kChapN | kChapR)) != 0) {
    return (keys & kChapA) != 0 ? ChapEvent::invalid : ChapEvent::response;
  }
  if ((keys & (kChapA | kChapI | kChapC)) != 0) return ChapEvent::challenge;
  return chap ? ChapEvent::invalid : ChapEvent::none;
}

// With mutual CHAP configured the target must prove itself, so None (which proves nothing) is
// neither offered nor accepted, whatever allow_none says: no downgrade to an unauthenticated
// target.
bool ChapInitiator::none_acceptable() const {
  return config().policy.allow_none && !config().target;
}

Result<KeyList> ChapInitiator::send_auth_method(const KeyList&) {
  if (config().none_only()) return one_key("AuthMethod", "None");
  return one_key("AuthMethod", none_acceptable() ? "CHAP,None" : "CHAP");
}

Result<KeyList> ChapInitiator::on_auth_method(const KeyList& received) {
  const std::string& value = *received.find("AuthMethod");
  if (config().none_only()) {
    return policy_error(ErrorCode::auth_required_by_target,
                        "target answered AuthMethod=" + value.substr(0, 64) +
                            " to our offer of None (it requires authentication: give CHAP "
                            "credentials)");
  }
  if (value != "CHAP") {
    return policy_error(
        ErrorCode::auth_method_unexpected,
        "target answered AuthMethod=" + value.substr(0, 64) + " to our offer of CHAP");
  }
  return one_key("CHAP_A", m_offer_text);
}

Result<KeyList> ChapInitiator::on_auth_none(const KeyList&) {
  if (!none_acceptable()) {
    return policy_error(ErrorCode::auth_none_not_allowed,
                        config().target
                            ? "target chose AuthMethod=None, but we require mutual CHAP"
                            : "target chose AuthMethod=None, but our policy requires CHAP");
  }
  m_none = true;
  return KeyList{};
}
Result<KeyList> ChapInitiator::on_challenge(const KeyList& received) {
  const std::string* a = received.find("CHAP_A");
  const std::string* i = received.find("CHAP_I");
  const std::string* c = received.find("CHAP_C");
  if (a != nullptr && *a == "Reject") {
    return policy_error(
        ErrorCode::chap_a_unsupported,
        "target accepts none of the offered algorithms (" + format_algorithm_list(m_offer) + ")");
  }
  if (a == nullptr || i == nullptr || c == nullptr) {
    return protocol_error(ErrorCode::missing_key,
                          "target's challenge lacks CHAP_A, CHAP_I or CHAP_C");
  }
  auto number = parse_number(*a, 255);
  if (!number)
    return protocol_error(ErrorCode::chap_a_encoding, "CHAP_A: " + number.error().message);
  const auto alg = algorithm_from_chap_a(*number, config().policy.numbering);
  if (!alg || std::find(m_offer.begin(), m_offer.end(), *alg) == m_offer.end()) {
    return protocol_error(
        ErrorCode::chap_a_not_offered,
        "target selected CHAP_A=" + std::to_string(*number) + ", which we did not offer");
  }
  m_algorithm = alg;
  MULTICHAP_ASSIGN_OR_RETURN(const std::uint8_t id, decode_identifier(*i));
  DecodedValue challenge;
  MULTICHAP_GUARD(decode_challenge(*c, config().policy, challenge));
  MULTICHAP_ASSIGN_OR_RETURN(const BinaryEncoding encoding, binary_encoding_of(*c));
  m_encoding = encoding;
  MULTICHAP_ASSIGN_OR_RETURN(
      std::string response, answer(crypto(), *alg, id, config().local.secret, challenge, encoding));
  // Built in place: the values are moved in, not copied out of an initializer_list.
  KeyList out;
  out.reserve(4);
  out.set("CHAP_N", config().local.name);
  out.set("CHAP_R", std::move(response));
  if (config().target) {
    MULTICHAP_GUARD(
        make_challenge(crypto(), config().policy, *alg, m_identifier, m_challenge, challenge));
    out.set("CHAP_I", std::to_string(m_identifier));
    out.set("CHAP_C", encode_binary(ByteView(m_challenge.data(), m_challenge.size()), encoding));
  }
  return out;
}

Result<KeyList> ChapInitiator::on_target_response(const KeyList& received) {
  if (!config().target) {
    return protocol_error(ErrorCode::unexpected_key,
                          "target sent CHAP_N/CHAP_R although we did not ask it to authenticate");
  }
  const std::string* n = received.find("CHAP_N");
  const std::string* r = received.find("CHAP_R");
  if (n == nullptr || r == nullptr)
    return protocol_error(ErrorCode::missing_key, "target's response lacks CHAP_N or CHAP_R");
  if (received.contains("CHAP_I") || received.contains("CHAP_C")) {
    return protocol_error(ErrorCode::unexpected_key,
                          "target sent a challenge in its final response");
  }
  if (*n != config().target->name) {  // CHAP_N is opaque: compared exactly
    return auth_error(ErrorCode::chap_n_mismatch,
                      "target's CHAP_N is not the expected target name");
  }
  DecodedValue response;
  MULTICHAP_GUARD(decode_response(*r, *m_algorithm, response));
  MULTICHAP_GUARD(verify(crypto(), *m_algorithm, m_identifier,
                         ByteView(m_challenge.data(), m_challenge.size()),
                         ByteView(response.data(), response.size()), config().target->secret,
                         &config().local.secret, "target"));
  return KeyList{};
}

Result<KeyList> ChapInitiator::on_target_silent(const KeyList&) {
  if (config().target)
    return auth_error(ErrorCode::mutual_not_answered,
                      "target did not answer our challenge (mutual CHAP)");
  return KeyList{};
}

Result<KeyList> ChapInitiator::nothing(const KeyList&) {
  return KeyList{};
}
}  // namespace multichap
