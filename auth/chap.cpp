#include "auth/chap.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace multichap {

namespace {

Error protocol_error(std::string message) {
  return make_error(ErrorKind::protocol, std::move(message));
}
Error auth_error(std::string message) {
  return make_error(ErrorKind::authentication, std::move(message));
}
Error policy_error(std::string message) {
  return make_error(ErrorKind::policy, std::move(message));
}

// Which authentication keys a key set carries, found in one pass (classify() asks about six
// keys; six find() calls would compare every key six times).
enum KeyBit : unsigned {
  kAuthMethodKey = 1u << 0,
  kChapA = 1u << 1,
  kChapI = 1u << 2,
  kChapC = 1u << 3,
  kChapN = 1u << 4,
  kChapR = 1u << 5,
  kChapOther = 1u << 6,  // any other CHAP_* key
  kAnyChap = kChapA | kChapI | kChapC | kChapN | kChapR | kChapOther,
};

unsigned auth_keys_of(const KeyList& keys) {
  unsigned bits = 0;
  for (const KeyValue& kv : keys) {
    const std::string& k = kv.key;
    // memcmp with a constant length is inlined; std::string::compare is a library call.
    if (k.size() == 10 && std::memcmp(k.data(), "AuthMethod", 10) == 0) {
      bits |= kAuthMethodKey;
    } else if (k.size() >= 5 && std::memcmp(k.data(), "CHAP_", 5) == 0) {
      unsigned bit = kChapOther;
      if (k.size() == 6) {
        switch (k[5]) {
          case 'A':
            bit = kChapA;
            break;
          case 'I':
            bit = kChapI;
            break;
          case 'C':
            bit = kChapC;
            break;
          case 'N':
            bit = kChapN;
            break;
          case 'R':
            bit = kChapR;
            break;
          default:
            break;
        }
      }
      bits |= bit;
    }
  }
  return bits;
}

// Random identifier and a challenge of max(configured, digest size) bytes (RFC 7143 §9.2.1:
// unpredictable, fresh each time, at least as long as the digest).
Result<void> make_challenge(const ChapCrypto& crypto, const ChapPolicy& policy, Algorithm alg,
                            std::uint8_t& identifier, SecureBytes& challenge, ByteView avoid) {
  wipe(challenge);
  const std::size_t size = std::max(policy.challenge_size, digest_size(alg));
  // One draw for the challenge and the identifier (its last byte): each draw has a fixed cost.
  challenge.resize(size + 1);
  MULTICHAP_GUARD(crypto.random(MutableByteView(challenge.data(), challenge.size())));
  identifier = challenge[size];
  challenge[size] = 0;
  challenge.resize(size);  // capacity kept: wipe() clears the spare byte too
  // Never issue a challenge equal to the one the peer sent us (it would be reflectable).
  if (constant_time_equal(ByteView(challenge.data(), challenge.size()), avoid)) {
    return make_error(ErrorKind::backend, "random generator repeated the peer's challenge");
  }
  return {};
}

// A decoded CHAP_C or CHAP_R on the stack: no allocation per received value. Wiped when it goes
// out of scope (only the bytes written: the rest was never touched).
class DecodedValue {
 public:
  DecodedValue() = default;
  DecodedValue(const DecodedValue&) = delete;
  DecodedValue& operator=(const DecodedValue&) = delete;
  ~DecodedValue() { secure_wipe(m_bytes.data(), m_size); }

  Result<void> decode(const std::string& value) {
    MULTICHAP_ASSIGN_OR_RETURN(
        m_size, decode_binary_into(value, MutableByteView(m_bytes.data(), kMaxBinaryValueBytes)));
    return {};
  }
  const std::uint8_t* data() const { return m_bytes.data(); }
  std::size_t size() const { return m_size; }

 private:
  std::array<std::uint8_t, kMaxBinaryValueBytes> m_bytes;  // NOLINT: written before it is read
  std::size_t m_size = 0;
};

// Decodes and checks a CHAP_R value: binary, exactly the digest size of alg.
Result<void> decode_response(const std::string& value, Algorithm alg, DecodedValue& out) {
  if (auto decoded = out.decode(value); !decoded) {
    return protocol_error("CHAP_R: " + decoded.error().message);
  }
  if (out.size() != digest_size(alg)) {
    return protocol_error("CHAP_R is " + std::to_string(out.size()) + " bytes; " +
                          std::string(algorithm_info(alg).display) + " responses are " +
                          std::to_string(digest_size(alg)));
  }
  return {};
}

Result<std::uint8_t> decode_identifier(const std::string& value) {
  auto n = parse_number(value, 255);
  if (!n) return protocol_error("CHAP_I: " + n.error().message);
  return static_cast<std::uint8_t>(*n);
}

Result<void> decode_challenge(const std::string& value, const ChapPolicy& policy,
                              DecodedValue& out) {
  if (auto decoded = out.decode(value); !decoded) {
    return protocol_error("CHAP_C: " + decoded.error().message);
  }
  if (out.size() < policy.min_peer_challenge_size) {
    return policy_error("CHAP_C is " + std::to_string(out.size()) +
                        " bytes, shorter than the minimum of " +
                        std::to_string(policy.min_peer_challenge_size));
  }
  return {};
}

// Computes our answer to a peer's challenge, encoded like the challenge was (tgt and others
// answer base64 with base64, and some decoders only read the encoding they sent).
Result<std::string> answer(const ChapCrypto& crypto, Algorithm alg, std::uint8_t id,
                           const Secret& secret, ByteView challenge, BinaryEncoding encoding) {
  std::array<std::uint8_t, kMaxDigestSize> out{};
  MULTICHAP_ASSIGN_OR_RETURN(const std::size_t n,
                             chap_response(crypto, alg, id, secret, challenge, out));
  std::string encoded = encode_binary(ByteView(out.data(), n), encoding);
  secure_wipe(out.data(), out.size());
  return encoded;
}

// Verifies a peer's response: correct for expected_secret, and not computed with our own secret
// (RFC 7143 §9.2.1: such a response means the peer reflected our challenge or shares our secret).
// The response with our own secret is only computed when the expected one does not match:
// validate_config() guarantees the two secrets differ, so a response equal to the expected one
// can equal ours only through a collision of the hash on two secret inputs. A correct login
// costs one digest here instead of two; a wrong one still learns which of the two it was.
Result<void> verify(const ChapCrypto& crypto, Algorithm alg, std::uint8_t id, ByteView challenge,
                    ByteView received, const Secret& expected_secret, const Secret* own_secret,
                    std::string_view who) {
  std::array<std::uint8_t, kMaxDigestSize> expected{};
  MULTICHAP_ASSIGN_OR_RETURN(const std::size_t n,
                             chap_response(crypto, alg, id, expected_secret, challenge, expected));
  const bool match = constant_time_equal(ByteView(expected.data(), n), received);
  secure_wipe(expected.data(), expected.size());
  if (match) return {};
  if (own_secret != nullptr) {
    std::array<std::uint8_t, kMaxDigestSize> own{};
    const auto r = chap_response(crypto, alg, id, *own_secret, challenge, own);
    const bool reflected = r.has_value() && constant_time_equal(ByteView(own.data(), n), received);
    secure_wipe(own.data(), own.size());
    if (reflected) {
      return auth_error(std::string(who) +
                        "'s CHAP_R was computed with our own secret (RFC 7143 §9.2.1)");
    }
  }
  return auth_error(std::string(who) + "'s CHAP_R does not match (wrong secret?)");
}

// A list of one key, built in place (an initializer_list would construct the strings, then
// copy them).
KeyList one_key(std::string_view key, std::string value) {
  KeyList out;
  out.reserve(1);
  out.set(key, std::move(value));
  return out;
}

template <typename Machine>
const typename Machine::Transition* find_transition(typename Machine::State state,
                                                    ChapEvent event) {
  for (const auto& t : Machine::transitions()) {
    if (t.from == state && t.event == event) return &t;
  }
  return nullptr;
}

}  // namespace

bool is_auth_key(std::string_view key) {
  return key == "AuthMethod" || key.rfind("CHAP_", 0) == 0;
}

std::string_view event_name(ChapEvent event) {
  switch (event) {
    case ChapEvent::none:
      return "no authentication keys";
    case ChapEvent::auth_method:
      return "AuthMethod";
    case ChapEvent::auth_method_none:
      return "AuthMethod=None";
    case ChapEvent::algorithm_offer:
      return "CHAP_A offer";
    case ChapEvent::challenge:
      return "CHAP challenge";
    case ChapEvent::response:
      return "CHAP response";
    case ChapEvent::invalid:
      return "an invalid mix of authentication keys";
  }
  return "?";
}

Result<std::size_t> chap_response(const ChapCrypto& crypto, Algorithm alg, std::uint8_t identifier,
                                  const Secret& secret, ByteView challenge, MutableByteView out) {
  const std::uint8_t id[1] = {identifier};
  return crypto.digest(alg, {ByteView(id, 1), secret.bytes(), challenge}, out);
}

Result<void> validate_config(const ChapInitiatorConfig& config, const ChapCrypto& crypto) {
  MULTICHAP_GUARD(validate_policy(config.policy));
  if (!config.none_only())
    MULTICHAP_GUARD(check_secret(config.local.secret, "initiator secret", config.policy));
  if (config.target) {
    MULTICHAP_GUARD(check_secret(config.target->secret, "target secret", config.policy));
    if (config.target->secret.equals(config.local.secret)) {
      return policy_error("the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
    }
  }
  if (usable_algorithms(config.policy, crypto).empty()) {
    return policy_error("none of the allowed algorithms (" +
                        format_algorithm_list(config.policy.algorithms) +
                        ") is available from this backend");
  }
  return {};
}

Result<void> validate_config(const ChapTargetConfig& config, const ChapCrypto& crypto) {
  MULTICHAP_GUARD(validate_policy(config.policy));
  if (config.accounts.empty() && !config.provider && !config.policy.allow_none) {
    return make_error(ErrorKind::usage,
                      "target has no initiator account (nor a secret provider) and does not allow "
                      "AuthMethod=None");
  }
  for (const auto& account : config.accounts) {
    MULTICHAP_GUARD(
        check_secret(account.secret, "initiator secret for '" + account.name + "'", config.policy));
    if (config.local && account.secret.equals(config.local->secret)) {
      return policy_error("the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
    }
  }
  if (config.local)
    MULTICHAP_GUARD(check_secret(config.local->secret, "target secret", config.policy));
  if (config.policy.require_mutual && !config.local) {
    return make_error(ErrorKind::usage,
                      "policy requires mutual CHAP but the target has no secret of its own");
  }
  if (usable_algorithms(config.policy, crypto).empty()) {
    return policy_error("none of the allowed algorithms (" +
                        format_algorithm_list(config.policy.algorithms) +
                        ") is available from this backend");
  }
  return {};
}

// =============================================================================================
// Initiator

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

ChapInitiator::ChapInitiator(std::shared_ptr<const ChapInitiatorConfig> config,
                             std::shared_ptr<const ChapCrypto> crypto, std::vector<Algorithm> offer)
    : m_config(std::move(config)),
      m_crypto(std::move(crypto)),
      m_usable(offer),
      m_offer(std::move(offer)) {
  update_offer_text();
}

// m_offer as the CHAP_A value, built once per offer rather than at every login.
void ChapInitiator::update_offer_text() {
  m_offer_text.clear();
  for (const Algorithm alg : m_offer) {
    if (!m_offer_text.empty()) m_offer_text += ',';
    m_offer_text += std::to_string(*chap_a_number(alg, m_config->policy.numbering));
  }
}

Result<std::unique_ptr<ChapInitiator>> ChapInitiator::create(
    std::shared_ptr<const ChapInitiatorConfig> config, std::shared_ptr<const ChapCrypto> crypto) {
  if (!config || !crypto)
    return make_error(ErrorKind::usage, "initiator needs a configuration and a backend");
  MULTICHAP_GUARD(validate_config(*config, *crypto));
  auto offer = usable_algorithms(config->policy, *crypto);
  return std::unique_ptr<ChapInitiator>(
      new ChapInitiator(std::move(config), std::move(crypto), std::move(offer)));
}

AuthStatus ChapInitiator::status() const {
  if (m_state == State::succeeded) return AuthStatus::succeeded;
  if (m_state == State::failed) return AuthStatus::failed;
  return AuthStatus::in_progress;
}

Result<void> ChapInitiator::set_offer(std::vector<Algorithm> offer) {
  if (m_state != State::start)
    return make_error(ErrorKind::usage, "the CHAP_A offer can only change before an exchange");
  if (offer.empty()) return policy_error("an empty CHAP_A offer");
  for (std::size_t i = 0; i < offer.size(); ++i) {
    if (std::find(m_usable.begin(), m_usable.end(), offer[i]) == m_usable.end()) {
      return policy_error("CHAP_A offer " + format_algorithm_list(offer) +
                          " goes beyond the allowed " + format_algorithm_list(m_usable));
    }
    if (std::find(offer.begin(), offer.begin() + static_cast<long>(i), offer[i]) !=
        offer.begin() + static_cast<long>(i)) {
      return policy_error("CHAP_A offer " + format_algorithm_list(offer) + " repeats a value");
    }
  }
  m_offer = std::move(offer);
  update_offer_text();
  return {};
}

void ChapInitiator::reset() {
  m_state = State::start;
  m_algorithm.reset();
  m_identifier = 0;
  wipe(m_challenge);
  m_encoding = BinaryEncoding::hex;
  m_none = false;
  m_failure.reset();
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

Result<KeyList> ChapInitiator::step(const KeyList& received) {
  if (m_state == State::failed) {
    return make_error(ErrorKind::usage, "CHAP exchange already failed; rewind before reuse");
  }
  const ChapEvent event = classify(received);
  const Transition* t = find_transition<ChapInitiator>(m_state, event);
  Result<KeyList> out =
      t != nullptr ? (this->*(t->action))(received)
                   : Result<KeyList>(protocol_error("unexpected " + std::string(event_name(event)) +
                                                    " from the target in CHAP state " +
                                                    std::string(state_name(m_state))));
  if (!out) {
    m_state = State::failed;
    m_failure = out.error();
    wipe(m_challenge);
    return out;
  }
  m_state = t->to;
  return out;
}

// With mutual CHAP configured the target must prove itself, so None (which proves nothing) is
// neither offered nor accepted, whatever allow_none says: no downgrade to an unauthenticated
// target.
bool ChapInitiator::none_acceptable() const {
  return m_config->policy.allow_none && !m_config->target;
}

Result<KeyList> ChapInitiator::send_auth_method(const KeyList&) {
  if (m_config->none_only()) return one_key("AuthMethod", "None");
  return one_key("AuthMethod", none_acceptable() ? "CHAP,None" : "CHAP");
}

Result<KeyList> ChapInitiator::on_auth_method(const KeyList& received) {
  const std::string& value = *received.find("AuthMethod");
  if (m_config->none_only()) {
    return policy_error("target answered AuthMethod=" + value.substr(0, 64) +
                        " to our offer of None (it requires authentication: give CHAP "
                        "credentials)");
  }
  if (value != "CHAP") {
    return policy_error("target answered AuthMethod=" + value.substr(0, 64) +
                        " to our offer of CHAP");
  }
  return one_key("CHAP_A", m_offer_text);
}

Result<KeyList> ChapInitiator::on_auth_none(const KeyList&) {
  if (!none_acceptable()) {
    return policy_error(m_config->target
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
    return policy_error("target accepts none of the offered algorithms (" +
                        format_algorithm_list(m_offer) + ")");
  }
  if (a == nullptr || i == nullptr || c == nullptr) {
    return protocol_error("target's challenge lacks CHAP_A, CHAP_I or CHAP_C");
  }
  auto number = parse_number(*a, 255);
  if (!number) return protocol_error("CHAP_A: " + number.error().message);
  const auto alg = algorithm_from_chap_a(*number, m_config->policy.numbering);
  if (!alg || std::find(m_offer.begin(), m_offer.end(), *alg) == m_offer.end()) {
    return protocol_error("target selected CHAP_A=" + std::to_string(*number) +
                          ", which we did not offer");
  }
  m_algorithm = alg;
  MULTICHAP_ASSIGN_OR_RETURN(const std::uint8_t id, decode_identifier(*i));
  DecodedValue challenge;
  MULTICHAP_GUARD(decode_challenge(*c, m_config->policy, challenge));
  MULTICHAP_ASSIGN_OR_RETURN(const BinaryEncoding encoding, binary_encoding_of(*c));
  m_encoding = encoding;
  MULTICHAP_ASSIGN_OR_RETURN(
      std::string response,
      answer(*m_crypto, *alg, id, m_config->local.secret, challenge, encoding));
  // Built in place: the values are moved in, not copied out of an initializer_list.
  KeyList out;
  out.reserve(4);
  out.set("CHAP_N", m_config->local.name);
  out.set("CHAP_R", std::move(response));
  if (m_config->target) {
    MULTICHAP_GUARD(
        make_challenge(*m_crypto, m_config->policy, *alg, m_identifier, m_challenge, challenge));
    out.set("CHAP_I", std::to_string(m_identifier));
    out.set("CHAP_C", encode_binary(ByteView(m_challenge.data(), m_challenge.size()), encoding));
  }
  return out;
}

Result<KeyList> ChapInitiator::on_target_response(const KeyList& received) {
  if (!m_config->target) {
    return protocol_error("target sent CHAP_N/CHAP_R although we did not ask it to authenticate");
  }
  const std::string* n = received.find("CHAP_N");
  const std::string* r = received.find("CHAP_R");
  if (n == nullptr || r == nullptr)
    return protocol_error("target's response lacks CHAP_N or CHAP_R");
  if (received.contains("CHAP_I") || received.contains("CHAP_C")) {
    return protocol_error("target sent a challenge in its final response");
  }
  if (*n != m_config->target->name) {  // CHAP_N is opaque: compared exactly
    return auth_error("target's CHAP_N is not the expected target name");
  }
  DecodedValue response;
  MULTICHAP_GUARD(decode_response(*r, *m_algorithm, response));
  MULTICHAP_GUARD(verify(*m_crypto, *m_algorithm, m_identifier,
                         ByteView(m_challenge.data(), m_challenge.size()),
                         ByteView(response.data(), response.size()), m_config->target->secret,
                         &m_config->local.secret, "target"));
  return KeyList{};
}

Result<KeyList> ChapInitiator::on_target_silent(const KeyList&) {
  if (m_config->target) return auth_error("target did not answer our challenge (mutual CHAP)");
  return KeyList{};
}

Result<KeyList> ChapInitiator::nothing(const KeyList&) {
  return KeyList{};
}

// =============================================================================================
// Target

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

ChapTarget::ChapTarget(std::shared_ptr<const ChapTargetConfig> config,
                       std::shared_ptr<const ChapCrypto> crypto, std::vector<Algorithm> usable)
    : m_config(std::move(config)), m_crypto(std::move(crypto)), m_usable(std::move(usable)) {}

Result<std::unique_ptr<ChapTarget>> ChapTarget::create(
    std::shared_ptr<const ChapTargetConfig> config, std::shared_ptr<const ChapCrypto> crypto) {
  if (!config || !crypto)
    return make_error(ErrorKind::usage, "target needs a configuration and a backend");
  MULTICHAP_GUARD(validate_config(*config, *crypto));
  auto usable = usable_algorithms(config->policy, *crypto);
  return std::unique_ptr<ChapTarget>(
      new ChapTarget(std::move(config), std::move(crypto), std::move(usable)));
}

AuthStatus ChapTarget::status() const {
  if (m_state == State::succeeded) return AuthStatus::succeeded;
  if (m_state == State::failed) return AuthStatus::failed;
  return AuthStatus::in_progress;
}

void ChapTarget::reset() {
  m_state = State::await_auth_method;
  m_algorithm.reset();
  m_identifier = 0;
  wipe(m_challenge);
  m_mutual = false;
  m_none = false;
  m_peer_name.clear();
  m_reject = KeyList{};
  m_failure.reset();
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
      if (item == "None" && m_config->policy.allow_none && !m_config->policy.require_mutual) {
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

Result<KeyList> ChapTarget::step(const KeyList& received) {
  if (m_state == State::failed) {
    return make_error(ErrorKind::usage, "CHAP exchange already failed; rewind before reuse");
  }
  const ChapEvent event = classify(received);
  const Transition* t = find_transition<ChapTarget>(m_state, event);
  Result<KeyList> out =
      t != nullptr ? (this->*(t->action))(received)
                   : Result<KeyList>(protocol_error("unexpected " + std::string(event_name(event)) +
                                                    " from the initiator in CHAP state " +
                                                    std::string(state_name(m_state))));
  if (!out) {
    m_state = State::failed;
    m_failure = out.error();
    wipe(m_challenge);
    return out;
  }
  m_state = t->to;
  return out;
}

Result<KeyList> ChapTarget::on_auth_method(const KeyList& received) {
  for (const std::string_view item : split_list(*received.find("AuthMethod"))) {
    if (item.empty()) return protocol_error("empty item in AuthMethod list");
    if (item == "CHAP") return one_key("AuthMethod", "CHAP");
  }
  m_reject = KeyList{{"AuthMethod", "Reject"}};
  return policy_error("initiator offered no acceptable AuthMethod (CHAP is required)");
}

Result<KeyList> ChapTarget::on_auth_none(const KeyList&) {
  m_none = true;
  return one_key("AuthMethod", "None");
}

Result<KeyList> ChapTarget::on_algorithm_offer(const KeyList& received) {
  std::optional<Algorithm> chosen;
  for (const std::string_view item : split_list(*received.find("CHAP_A"))) {
    auto number = parse_number(item, 0xffffffffu);
    if (!number) return protocol_error("CHAP_A: " + number.error().message);
    if (chosen) continue;  // validate the whole list, keep the first acceptable
    const auto alg = algorithm_from_chap_a(*number, m_config->policy.numbering);
    if (alg && std::find(m_usable.begin(), m_usable.end(), *alg) != m_usable.end()) chosen = alg;
  }
  if (!chosen) {
    m_reject = KeyList{{"CHAP_A", "Reject"}};
    return policy_error(
        "none of the offered algorithms (CHAP_A=" + received.find("CHAP_A")->substr(0, 64) +
        ") is allowed here (allowed: " + format_algorithm_list(m_usable) + ")");
  }
  m_algorithm = chosen;
  MULTICHAP_GUARD(
      make_challenge(*m_crypto, m_config->policy, *chosen, m_identifier, m_challenge, ByteView()));
  KeyList out;
  out.reserve(3);
  out.set("CHAP_A", std::to_string(*chap_a_number(*chosen, m_config->policy.numbering)));
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
    return protocol_error("initiator's response lacks CHAP_N or CHAP_R");
  if ((i == nullptr) != (c == nullptr))
    return protocol_error("CHAP_I and CHAP_C must come together");
  const Algorithm alg = *m_algorithm;
  DecodedValue response;
  MULTICHAP_GUARD(decode_response(*r, alg, response));

  std::optional<Secret> provided;
  MULTICHAP_ASSIGN_OR_RETURN(const Secret* expected, find_account_secret(*n, provided));
  MULTICHAP_GUARD(verify(*m_crypto, alg, m_identifier,
                         ByteView(m_challenge.data(), m_challenge.size()),
                         ByteView(response.data(), response.size()), *expected,
                         m_config->local ? &m_config->local->secret : nullptr, "initiator"));
  m_peer_name = *n;

  if (i == nullptr) {
    if (m_config->policy.require_mutual) {
      return policy_error("policy requires mutual CHAP, but the initiator sent no CHAP_I/CHAP_C");
    }
    return KeyList{};
  }
  if (!m_config->local) {
    return policy_error("initiator asked the target to authenticate, but the target has no secret");
  }
  MULTICHAP_ASSIGN_OR_RETURN(const std::uint8_t id, decode_identifier(*i));
  DecodedValue challenge;
  MULTICHAP_GUARD(decode_challenge(*c, m_config->policy, challenge));
  if (constant_time_equal(ByteView(challenge.data(), challenge.size()),
                          ByteView(m_challenge.data(), m_challenge.size()))) {
    return auth_error("initiator reflected our own challenge (RFC 7143 §9.2.1)");
  }
  MULTICHAP_ASSIGN_OR_RETURN(const BinaryEncoding encoding, binary_encoding_of(*c));
  MULTICHAP_ASSIGN_OR_RETURN(
      std::string ours, answer(*m_crypto, alg, id, m_config->local->secret, challenge, encoding));
  m_mutual = true;
  KeyList out;
  out.reserve(2);
  out.set("CHAP_N", m_config->local->name);
  out.set("CHAP_R", std::move(ours));
  return out;
}

Result<const Secret*> ChapTarget::find_account_secret(const std::string& chap_n,
                                                      std::optional<Secret>& holder) const {
  const auto account = std::find_if(m_config->accounts.begin(), m_config->accounts.end(),
                                    [&](const ChapCredentials& a) { return a.name == chap_n; });
  if (account != m_config->accounts.end()) return &account->secret;
  const std::string shown = "'" + chap_n.substr(0, 64) + "'";
  if (!m_config->provider) return auth_error("unknown CHAP_N " + shown);
  auto found = m_config->provider->find_secret(
      AccountQuery{chap_n, m_initiator_name, m_target_name, m_discovery});
  if (!found) {
    return auth_error("secret lookup for CHAP_N " + shown + " failed: " + found.error().message);
  }
  if (!found->has_value()) return auth_error("unknown CHAP_N " + shown);
  holder = std::move(*found);
  MULTICHAP_GUARD(
      check_secret(*holder, "provided initiator secret for " + shown, m_config->policy));
  if (m_config->local && holder->equals(m_config->local->secret)) {
    return policy_error("the provided secret for " + shown +
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

Result<KeyList> ChapTarget::nothing(const KeyList&) {
  return KeyList{};
}

}  // namespace multichap
