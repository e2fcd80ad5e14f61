// SPDX-License-Identifier: BSD-2-Clause
// The CHAP response arithmetic (RFC 1994 §4.1) and what both roles of the exchange use: the
// challenges we issue, the decoding of the peer's values, our answers and the checks of theirs,
// and the validation of a configuration (ValidChapConfig).
#include <algorithm>
#include <array>
#include <iterator>

#include "auth/chap.h"
#include "auth/chap_internal.h"

namespace multichap {

using chap_internal::auth_error;
using chap_internal::policy_error;

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

Error unexpected_event(ChapEvent event, std::string_view peer, std::string_view state) {
  return protocol_error(ErrorCode::unexpected_key, "unexpected " + std::string(event_name(event)) +
                                                       " from the " + std::string(peer) +
                                                       " in CHAP state " + std::string(state));
}

// ---- Configurations ----------------------------------------------------------------------------

namespace {

// The rules both roles' configurations share: one secret per direction (RFC 7143 §9.2.1), and at
// least one allowed algorithm that the backend and every secret held by reference compute.
Result<void> check_distinct(const ChapCrypto& crypto, const Secret& one_way,
                            const Secret& other_way) {
  MULTICHAP_ASSIGN_OR_RETURN(const bool same, same_secret(crypto, one_way, other_way));
  if (!same) return {};
  return policy_error(ErrorCode::same_secret_both_directions,
                      "the same secret may not authenticate both directions (RFC 7143 §9.2.1)");
}

// The secrets of a configuration that are held by reference (what they compute restricts the
// algorithms).
std::vector<const Secret*> referenced_secrets(const ChapInitiatorConfig& config) {
  std::vector<const Secret*> out;
  if (config.local.secret.reference() != nullptr) out.push_back(&config.local.secret);
  if (config.target && config.target->secret.reference() != nullptr)
    out.push_back(&config.target->secret);
  return out;
}
std::vector<const Secret*> referenced_secrets(const ChapTargetConfig& config) {
  std::vector<const Secret*> out;
  for (const auto& account : config.accounts) {
    if (account.secret.reference() != nullptr) out.push_back(&account.secret);
  }
  if (config.local && config.local->secret.reference() != nullptr)
    out.push_back(&config.local->secret);
  return out;
}

// What the policy allows, the backend computes and every secret held by reference computes where
// it lives, in preference order; why each other allowed algorithm is left out, in notes.
template <typename Config>
std::vector<Algorithm> usable_for(const Config& config, const ChapCrypto& crypto,
                                  std::vector<std::string>* notes) {
  const std::vector<const Secret*> referenced = referenced_secrets(config);
  std::vector<Algorithm> out;
  for (const Algorithm alg : usable_algorithms(config.policy, crypto)) {
    const Secret* refusing = nullptr;
    for (const Secret* secret : referenced) {
      if (!secret->reference()->supports(alg)) {
        refusing = secret;
        break;
      }
    }
    if (refusing == nullptr) {
      out.push_back(alg);
    } else if (notes != nullptr) {
      notes->push_back(std::string(algorithm_name(alg)) + " not usable with the secret " +
                       refusing->reference()->describe() + ": " +
                       refusing->reference()->why_unsupported(alg));
    }
  }
  return out;
}

template <typename Config>
Result<void> check_usable(const Config& config, const ChapCrypto& crypto) {
  std::vector<std::string> notes;
  if (!usable_for(config, crypto, &notes).empty()) return {};
  std::string why;
  for (const std::string& note : notes) why += "; " + note;
  return policy_error(ErrorCode::no_usable_algorithm,
                      "none of the allowed algorithms (" +
                          format_algorithm_list(config.policy.algorithms) +
                          ") is available from this backend" +
                          (notes.empty() ? std::string() : " and the secrets' token" + why));
}

}  // namespace

Result<bool> same_secret(const ChapCrypto& crypto, const Secret& a, const Secret& b) {
  if (a.reference() == nullptr && b.reference() == nullptr) return a.equals(b);
  if (a.reference() == b.reference()) return true;
  // RFC 7143 §9.2.1 with a secret out of reach: compare H(0 || a || nonce) with
  // H(0 || b || nonce) for a fresh random nonce, each computed where its secret lives. Equal
  // digests mean equal secrets (short of a collision); the nonce keeps the two digests from being
  // precomputed or replayed.
  static constexpr Algorithm kOrder[] = {Algorithm::sha256, Algorithm::sha3_256, Algorithm::sha1,
                                         Algorithm::md5};
  const Algorithm* alg = std::find_if(std::begin(kOrder), std::end(kOrder), [&](Algorithm x) {
    return crypto.supports_with_secret(x, a) && crypto.supports_with_secret(x, b);
  });
  if (alg == std::end(kOrder)) {
    return policy_error(ErrorCode::same_secret_both_directions,
                        "cannot check that the two directions use different secrets (RFC 7143 "
                        "§9.2.1): no algorithm computes with both");
  }
  std::array<std::uint8_t, 32> nonce{};
  const ScopedWipe wipe_nonce(nonce);
  MULTICHAP_GUARD(crypto.random(nonce));
  std::array<std::uint8_t, kMaxDigestSize> da{};
  std::array<std::uint8_t, kMaxDigestSize> db{};
  const ScopedWipe wipe_a(da);
  const ScopedWipe wipe_b(db);
  static constexpr std::uint8_t kZero[1] = {0};
  MULTICHAP_ASSIGN_OR_RETURN(const std::size_t na,
                             crypto.digest_with_secret(*alg, ByteView(kZero, 1), a,
                                                       ByteView(nonce.data(), nonce.size()), da));
  MULTICHAP_ASSIGN_OR_RETURN(const std::size_t nb,
                             crypto.digest_with_secret(*alg, ByteView(kZero, 1), b,
                                                       ByteView(nonce.data(), nonce.size()), db));
  return constant_time_equal(ByteView(da.data(), na), ByteView(db.data(), nb));
}

Result<void> validate_config(const ChapInitiatorConfig& config, const ChapCrypto& crypto) {
  MULTICHAP_GUARD(validate_policy(config.policy));
  if (!config.none_only())
    MULTICHAP_GUARD(check_secret(config.local.secret, "initiator secret", config.policy));
  if (config.target) {
    MULTICHAP_GUARD(check_secret(config.target->secret, "target secret", config.policy));
    MULTICHAP_GUARD(check_distinct(crypto, config.target->secret, config.local.secret));
  }
  MULTICHAP_GUARD(check_usable(config, crypto));
  return {};
}

Result<void> validate_config(const ChapTargetConfig& config, const ChapCrypto& crypto) {
  MULTICHAP_GUARD(validate_policy(config.policy));
  if (config.accounts.empty() && !config.provider && !config.policy.allow_none) {
    return make_error(ErrorKind::usage, ErrorCode::target_no_accounts,
                      "target has no initiator account (nor a secret provider) and does not allow "
                      "AuthMethod=None");
  }
  for (const auto& account : config.accounts) {
    MULTICHAP_GUARD(
        check_secret(account.secret, "initiator secret for '" + account.name + "'", config.policy));
    if (config.local) MULTICHAP_GUARD(check_distinct(crypto, account.secret, config.local->secret));
  }
  if (config.local)
    MULTICHAP_GUARD(check_secret(config.local->secret, "target secret", config.policy));
  if (config.policy.require_mutual && !config.local) {
    return make_error(ErrorKind::usage, ErrorCode::mutual_without_secret,
                      "policy requires mutual CHAP but the target has no secret of its own");
  }
  MULTICHAP_GUARD(check_usable(config, crypto));
  return {};
}

namespace {
constexpr std::string_view role_of(const ChapInitiatorConfig*) {
  return "initiator";
}
constexpr std::string_view role_of(const ChapTargetConfig*) {
  return "target";
}
}  // namespace

template <typename Config>
Result<std::shared_ptr<const ValidChapConfig<Config>>> ValidChapConfig<Config>::create(
    std::shared_ptr<const Config> config, std::shared_ptr<const ChapCrypto> crypto) {
  if (!config || !crypto) {
    return make_error(ErrorKind::usage, ErrorCode::config_missing,
                      std::string(role_of(static_cast<const Config*>(nullptr))) +
                          " needs a configuration and a backend");
  }
  MULTICHAP_GUARD(validate_config(*config, *crypto));
  std::vector<std::string> notes;
  auto usable = usable_for(*config, *crypto, &notes);
  return std::shared_ptr<const ValidChapConfig>(new ValidChapConfig(
      std::move(config), std::move(crypto), std::move(usable), std::move(notes)));
}

template class ValidChapConfig<ChapInitiatorConfig>;
template class ValidChapConfig<ChapTargetConfig>;

// ---- What both roles use -----------------------------------------------------------------------

namespace chap_internal {

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
    return make_error(ErrorKind::backend, ErrorCode::random_repeated_challenge,
                      "random generator repeated the peer's challenge");
  }
  return {};
}

Result<void> decode_response(const std::string& value, Algorithm alg, DecodedValue& out) {
  if (auto decoded = out.decode(value); !decoded) {
    return protocol_error(ErrorCode::chap_r_encoding, "CHAP_R: " + decoded.error().message);
  }
  if (out.size() != digest_size(alg)) {
    return protocol_error(ErrorCode::chap_r_length,
                          "CHAP_R is " + std::to_string(out.size()) + " bytes; " +
                              std::string(algorithm_info(alg).display) + " responses are " +
                              std::to_string(digest_size(alg)));
  }
  return {};
}

Result<std::uint8_t> decode_identifier(const std::string& value) {
  auto n = parse_number(value, 255);
  if (!n) return protocol_error(ErrorCode::chap_i_encoding, "CHAP_I: " + n.error().message);
  return static_cast<std::uint8_t>(*n);
}

Result<void> decode_challenge(const std::string& value, const ChapPolicy& policy,
                              DecodedValue& out) {
  if (auto decoded = out.decode(value); !decoded) {
    return protocol_error(ErrorCode::chap_c_encoding, "CHAP_C: " + decoded.error().message);
  }
  if (out.size() < policy.min_peer_challenge_size) {
    return policy_error(ErrorCode::chap_c_too_short,
                        "CHAP_C is " + std::to_string(out.size()) +
                            " bytes, shorter than the minimum of " +
                            std::to_string(policy.min_peer_challenge_size));
  }
  return {};
}

Result<std::string> answer(const ChapCrypto& crypto, Algorithm alg, std::uint8_t id,
                           const Secret& secret, ByteView challenge, BinaryEncoding encoding) {
  std::array<std::uint8_t, kMaxDigestSize> out{};
  const ScopedWipe wipe_out(out);
  MULTICHAP_ASSIGN_OR_RETURN(const std::size_t n,
                             chap_response(crypto, alg, id, secret, challenge, out));
  return encode_binary(ByteView(out.data(), n), encoding);
}

// The response with our own secret is only computed when the expected one does not match:
// validate_config() guarantees the two secrets differ, so a response equal to the expected one
// can equal ours only through a collision of the hash on two secret inputs. A correct login
// costs one digest here instead of two; a wrong one still learns which of the two it was
// (RFC 7143 §9.2.1: a response computed with our own secret means the peer reflected our
// challenge or shares our secret).
Result<void> verify(const ChapCrypto& crypto, Algorithm alg, std::uint8_t id, ByteView challenge,
                    ByteView received, const Secret& expected_secret, const Secret* own_secret,
                    std::string_view who) {
  std::array<std::uint8_t, kMaxDigestSize> expected{};
  const ScopedWipe wipe_expected(expected);
  MULTICHAP_ASSIGN_OR_RETURN(const std::size_t n,
                             chap_response(crypto, alg, id, expected_secret, challenge, expected));
  if (constant_time_equal(ByteView(expected.data(), n), received)) return {};
  if (own_secret != nullptr) {
    std::array<std::uint8_t, kMaxDigestSize> own{};
    const ScopedWipe wipe_own(own);
    const auto r = chap_response(crypto, alg, id, *own_secret, challenge, own);
    if (r.has_value() && constant_time_equal(ByteView(own.data(), n), received)) {
      return auth_error(
          ErrorCode::response_with_own_secret,
          std::string(who) + "'s CHAP_R was computed with our own secret (RFC 7143 §9.2.1)");
    }
  }
  return auth_error(ErrorCode::bad_response,
                    std::string(who) + "'s CHAP_R does not match (wrong secret?)");
}

}  // namespace chap_internal

}  // namespace multichap
