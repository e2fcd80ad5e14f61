// SPDX-License-Identifier: BSD-2-Clause
// libFuzzer target: a ChapTarget fed the key lists an initiator might send.
//
// Input format: byte 0 selects the configuration (see make_config below); the rest is split on
// '\n' into text segments, each parsed with parse_text() and, when it parses, handed to step().
// Segments that do not parse are skipped, so the fuzzer keeps reaching the state machine.
//
// The target's "random" bytes come from a fixed, predictable stream (stream byte k is
// (151 * k + 7) mod 256, restarting for every input), so runs are deterministic and a seed can
// carry a correct CHAP_R (auth/chap.cpp draws the challenge and then the identifier in one call).
// tests/fuzz/make_seeds.py computes such seeds with Python's hashlib.
//
// Invariants: a failed step leaves the machine failed with the same error kind and code (a code
// of its own, not the generic one of the kind), a wiped
// challenge and no secret in the message; a failed machine refuses further steps (usage,
// exchange_failed); a
// successful step follows a transition of ChapTarget::transitions(); every key the target emits
// is an authentication key that survives the text codec, and its CHAP_A/CHAP_I/CHAP_C/CHAP_R are
// well formed for the negotiated algorithm; reset() returns to a clean start.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/predictable_backend.h"

namespace multichap::fuzz {

namespace {

constexpr std::string_view kAccountName = "alice";
constexpr std::string_view kAccountSecret = "alice-secret-0001";
constexpr std::string_view kTargetName = "target";
constexpr std::string_view kTargetSecret = "target-secret-0002";
constexpr std::size_t kMaxSegments = 16;

// Configuration byte:
//   bit 0     backend: first or second of built_backends() (wraps with one backend)
//   bit 1     the target has its own identity (can answer mutual CHAP)
//   bit 2     require mutual CHAP (only with bit 1)
//   bit 3     allow AuthMethod=None
//   bits 4-5  algorithms: default order / hardened (8,7) / MD5 only / SHA-256,SHA-1
//   bit 6     legacy tgt numbering (7 = SHA-1)
//   bit 7     challenge size 16 instead of 32 (raised to the digest size)
std::shared_ptr<ChapTargetConfig> make_config(std::uint8_t flags) {
  auto config = std::make_shared<ChapTargetConfig>();
  config->accounts.push_back(
      ChapCredentials{std::string(kAccountName), Secret::from_text(kAccountSecret)});
  if (flags & 0x02) {
    config->local = ChapCredentials{std::string(kTargetName), Secret::from_text(kTargetSecret)};
    config->policy.require_mutual = (flags & 0x04) != 0;
  }
  config->policy.allow_none = (flags & 0x08) != 0;
  switch ((flags >> 4) & 0x03) {
    case 0:
      break;
    case 1:
      config->policy.algorithms = {Algorithm::sha3_256, Algorithm::sha256};
      break;
    case 2:
      config->policy.algorithms = {Algorithm::md5};
      break;
    default:
      config->policy.algorithms = {Algorithm::sha256, Algorithm::sha1};
      break;
  }
  if (flags & 0x40) config->policy.numbering = ChapNumbering::legacy_tgt_sha1;
  config->policy.challenge_size = (flags & 0x80) ? 16 : 32;
  return config;
}

std::vector<std::string_view> split_segments(std::string_view rest) {
  std::vector<std::string_view> out;
  while (out.size() < kMaxSegments) {
    const std::size_t nl = rest.find('\n');
    out.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return out;
}

bool has_transition(ChapTarget::State from, ChapTarget::State to) {
  const auto& table = ChapTarget::transitions();
  return std::any_of(table.begin(), table.end(),
                     [&](const ChapTarget::Transition& t) { return t.from == from && t.to == to; });
}

void check_output(const ChapTarget& target, const ChapTargetConfig& config, const KeyList& out) {
  for (const auto& kv : out) MULTICHAP_FUZZ_CHECK(is_auth_key(kv.key));
  auto reparsed = parse_text(ByteView(build_text(out)));
  MULTICHAP_FUZZ_CHECK(reparsed.has_value() && reparsed->size() == out.size());

  if (const std::string* a = out.find("CHAP_A")) {
    MULTICHAP_FUZZ_CHECK(target.algorithm().has_value());
    const auto number = chap_a_number(*target.algorithm(), config.policy.numbering);
    MULTICHAP_FUZZ_CHECK(number.has_value() && *a == std::to_string(*number));
    MULTICHAP_FUZZ_CHECK(std::find(config.policy.algorithms.begin(), config.policy.algorithms.end(),
                                   *target.algorithm()) != config.policy.algorithms.end());
  }
  if (const std::string* i = out.find("CHAP_I")) {
    auto id = parse_number(*i, 255);
    MULTICHAP_FUZZ_CHECK(id.has_value() && *id == target.issued_identifier());
  }
  if (const std::string* c = out.find("CHAP_C")) {
    auto challenge = decode_binary(*c, kMaxBinaryValueBytes);
    MULTICHAP_FUZZ_CHECK(challenge.has_value());
    MULTICHAP_FUZZ_CHECK(challenge->size() >= digest_size(*target.algorithm()));
    MULTICHAP_FUZZ_CHECK(challenge->size() >= config.policy.challenge_size);
    MULTICHAP_FUZZ_CHECK(constant_time_equal(ByteView(challenge->data(), challenge->size()),
                                             target.issued_challenge()));
  }
  if (const std::string* r = out.find("CHAP_R")) {
    MULTICHAP_FUZZ_CHECK(config.local.has_value() && target.mutual());
    MULTICHAP_FUZZ_CHECK(out.find("CHAP_N") && *out.find("CHAP_N") == config.local->name);
    auto response = decode_binary(*r, kMaxBinaryValueBytes);
    MULTICHAP_FUZZ_CHECK(response.has_value());
    MULTICHAP_FUZZ_CHECK(response->size() == digest_size(*target.algorithm()));
  }
}

}  // namespace

AuthStatus fuzz_chap_target(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return AuthStatus::in_progress;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::uint8_t flags = data[0];
  const auto& names = built_backends();
  auto backend = make_backend(names[(flags & 0x01) % names.size()]);
  MULTICHAP_FUZZ_CHECK(backend.has_value());
  auto crypto = std::make_shared<PredictableBackend>(*backend, 7);  // the corpus's stream
  const auto config = make_config(flags);
  auto created = ChapTarget::create(config, crypto);
  MULTICHAP_FUZZ_CHECK(created.has_value());
  ChapTarget& target = **created;
  // A message may quote the peer's CHAP_N, so only inputs without the secrets can show a leak.
  const bool secrets_in_input = input.find(kAccountSecret) != std::string_view::npos ||
                                input.find(kTargetSecret) != std::string_view::npos;

  for (const std::string_view segment : split_segments(input.substr(1))) {
    auto keys = parse_text(ByteView(segment));
    if (!keys) continue;
    const ChapTarget::State before = target.state();
    auto out = target.step(*keys);
    if (before == ChapTarget::State::failed) {
      MULTICHAP_FUZZ_CHECK(!out.has_value() && out.error().kind == ErrorKind::usage &&
                           out.error().code == ErrorCode::exchange_failed);
      MULTICHAP_FUZZ_CHECK(target.state() == ChapTarget::State::failed);
      continue;
    }
    if (!out) {
      const Error& e = out.error();
      MULTICHAP_FUZZ_CHECK(target.state() == ChapTarget::State::failed);
      MULTICHAP_FUZZ_CHECK(target.status() == AuthStatus::failed);
      MULTICHAP_FUZZ_CHECK(target.failure().has_value() && target.failure()->kind == e.kind &&
                           target.failure()->code == e.code);
      // Every failure the library reports names its reason.
      MULTICHAP_FUZZ_CHECK(e.code != generic_error_code(e.kind));
      MULTICHAP_FUZZ_CHECK(e.kind == ErrorKind::protocol || e.kind == ErrorKind::authentication ||
                           e.kind == ErrorKind::policy);
      MULTICHAP_FUZZ_CHECK(!e.message.empty());
      MULTICHAP_FUZZ_CHECK(target.issued_challenge().empty());
      if (!secrets_in_input) {
        MULTICHAP_FUZZ_CHECK(e.message.find(kAccountSecret) == std::string::npos);
        MULTICHAP_FUZZ_CHECK(e.message.find(kTargetSecret) == std::string::npos);
      }
      for (const auto& kv : target.reject_keys()) {
        MULTICHAP_FUZZ_CHECK(kv.value == "Reject");
      }
      continue;
    }
    MULTICHAP_FUZZ_CHECK(target.state() != ChapTarget::State::failed);
    MULTICHAP_FUZZ_CHECK(has_transition(before, target.state()));
    check_output(target, *config, *out);
    if (target.state() == ChapTarget::State::succeeded) {
      MULTICHAP_FUZZ_CHECK(target.status() == AuthStatus::succeeded);
      if (target.authenticated_none()) {
        MULTICHAP_FUZZ_CHECK(config->policy.allow_none);
      } else {
        MULTICHAP_FUZZ_CHECK(target.peer_name() == kAccountName);
        MULTICHAP_FUZZ_CHECK(target.mutual() || !config->policy.require_mutual);
      }
    }
  }

  const AuthStatus final_status = target.status();
  target.reset();
  MULTICHAP_FUZZ_CHECK(target.state() == ChapTarget::State::await_auth_method);
  MULTICHAP_FUZZ_CHECK(target.issued_challenge().empty());
  MULTICHAP_FUZZ_CHECK(!target.failure().has_value());
  MULTICHAP_FUZZ_CHECK(!target.algorithm().has_value());
  MULTICHAP_FUZZ_CHECK(target.reject_keys().empty());
  MULTICHAP_FUZZ_CHECK(!target.mutual() && !target.authenticated_none());
  return final_status;
}

}  // namespace multichap::fuzz

#if !defined(MULTICHAP_FUZZ_REPLAY)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  multichap::fuzz::fuzz_chap_target(data, size);
  return 0;
}
#endif
