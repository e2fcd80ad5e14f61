// SPDX-License-Identifier: BSD-2-Clause
// libFuzzer target: a whole target-side login. The target's sans-I/O connection machine
// (session/target_connection.h) with a real ChapTargetConfig (chosen by byte 0, see TargetFlags in
// session_fuzz_targets.h) is fed the rest of the input directly, no socket in between, in chunks
// of 1, 3, 48, 200 and 4096 bytes in turn (so every framing split is met), then the login
// deadline passes and the stream ends. Nothing the input does may make it crash or loop.
//
// The target's "random" bytes come from PredictableBackend, so a recorded initiator stream
// (tests/session/fuzz_seeds_test.cpp) carries a CHAP_R that is still right when replayed and the
// fuzzer starts from complete logins, operational negotiation and full feature phase.
//
// Invariants on everything the target wrote back:
//   - a well-formed PDU stream; during login only Login Responses, each with at most 8192 data
//     bytes (the initiator's default MaxRecvDataSegmentLength, RFC 7143 §13.12), version 0,
//     text that parses, StatSN counting up from 1 across the connection;
//   - a non-zero status is the last PDU; it is one of the codes the target documents, and its
//     keys are at most AuthMethod=Reject / CHAP_A=Reject;
//   - no login completes (T=1, NSG=3, status 0) under CHAP unless the target issued a challenge
//     first; a completed login has a TSIH; a CHAP_R we send is exactly the digest size and only
//     comes from a target with an identity; after login only Logout Response, NOP-In or Reject,
//     and nothing after a Logout Response;
//   - Target::stats() match what went over the wire (one connection, at most one login counted,
//     a success exactly when the final response went out) and no session outlives the connection;
//   - no secret and no CHAP_R we computed appears in the target's log (log_keys on) or on the
//     wire, unless the input itself carried it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "session/session_registry.h"
#include "session/target_connection.h"
#include "tests/fuzz/session_fuzz_targets.h"

namespace multichap::fuzz {

namespace {

constexpr std::uint16_t kDocumentedStatuses[] = {
    status::kInitiatorError,          status::kAuthenticationFailure,
    status::kTargetNotFound,          status::kUnsupportedVersion,
    status::kTooManyConnections,      status::kMissingParameter,
    status::kSessionTypeNotSupported, status::kSessionDoesNotExist,
    status::kInvalidDuringLogin,      status::kTargetError,
    status::kOutOfResources};

std::uint32_t stat_sn_of(const Pdu& pdu) {
  return (std::uint32_t{pdu.bhs[24]} << 24) | (std::uint32_t{pdu.bhs[25]} << 16) |
         (std::uint32_t{pdu.bhs[26]} << 8) | std::uint32_t{pdu.bhs[27]};
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

LoginOutcome fuzz_target_login(const std::uint8_t* data, std::size_t size) {
  LoginOutcome outcome;
  if (size == 0) return outcome;
  const std::uint8_t flags = data[0];
  const Bytes input(data + 1, data + 1 + std::min(size - 1, kMaxSessionFuzzInput));
  const std::string_view input_text(reinterpret_cast<const char*>(input.data()), input.size());

  const auto config = target_login_config(flags);
  std::vector<std::string> log;
  TargetOptions options;
  options.target_name = std::string(test::kTargetIqn);
  options.chap = config;
  options.backend =
      std::make_shared<PredictableBackend>(real_backend(flags & 0x01), kTargetRandomOffset);
  options.log = [&log](const std::string& line) { log.push_back(line); };
  options.log_keys = true;
  if (config) MULTICHAP_FUZZ_CHECK(validate_config(*config, *options.backend).has_value());

  SessionRegistry registry(options.max_connections_per_session);
  registry.add(&TargetStats::connections);
  Bytes wire;
  {
    const auto start = Clock::now();
    TargetConnection machine(options, registry, "fuzz", start);
    static constexpr std::size_t kChunks[] = {1, 3, 48, 200, 4096};
    std::size_t at = 0;
    for (std::size_t i = 0; at < input.size() && !machine.finished(); ++i) {
      const std::size_t n = std::min(kChunks[i % 5], input.size() - at);
      machine.receive(ByteView(input.data() + at, n), start);
      at += n;
    }
    machine.tick(start + options.login_timeout);
    machine.peer_closed("end of input");
    MULTICHAP_FUZZ_CHECK(machine.finished());
    wire = machine.take_output();
  }

  const std::vector<Pdu> pdus = split_own_stream(wire, 0xffffff);
  bool in_login = true;
  bool challenged = false;
  bool final_sent = false;
  bool logged_out = false;
  std::vector<std::string> our_responses;
  for (std::size_t i = 0; i < pdus.size(); ++i) {
    const Pdu& pdu = pdus[i];
    const bool last = i + 1 == pdus.size();
    MULTICHAP_FUZZ_CHECK(stat_sn_of(pdu) == i + 1);
    MULTICHAP_FUZZ_CHECK(!logged_out);
    if (!in_login) {
      const auto op = static_cast<Opcode>(pdu.opcode());
      // Text Responses: SendTargets and other Text keys (RFC 7143 §11.10).
      MULTICHAP_FUZZ_CHECK(op == Opcode::logout_response || op == Opcode::nop_in ||
                           op == Opcode::reject || op == Opcode::text_response);
      if (op == Opcode::logout_response) logged_out = true;
      continue;
    }
    auto response = decode_login_response(pdu);
    MULTICHAP_FUZZ_CHECK(response.has_value());
    MULTICHAP_FUZZ_CHECK(pdu.data.size() <= kDefaultMaxRecvDataSegment);
    MULTICHAP_FUZZ_CHECK(response->version_max == 0 && response->version_active == 0);
    auto keys = parse_text(ByteView(response->data));
    MULTICHAP_FUZZ_CHECK(keys.has_value());
    // (Key names are echoed in NotUnderstood answers, so only an input without it can show it.)
    for (const std::string_view secret : {test::kInitiatorSecret, test::kTargetSecret}) {
      if (input_text.find(secret) == std::string_view::npos) {
        MULTICHAP_FUZZ_CHECK(!contains_text(response->data, secret));
      }
    }

    if (response->status != status::kSuccess) {
      MULTICHAP_FUZZ_CHECK(last);
      MULTICHAP_FUZZ_CHECK(std::find(std::begin(kDocumentedStatuses), std::end(kDocumentedStatuses),
                                     response->status) != std::end(kDocumentedStatuses));
      for (const auto& kv : *keys) {
        MULTICHAP_FUZZ_CHECK(kv.key == "AuthMethod" || kv.key == "CHAP_A");
        MULTICHAP_FUZZ_CHECK(kv.value == "Reject");
      }
      MULTICHAP_FUZZ_CHECK(!response->transit);
      outcome.status = response->status;
      continue;
    }
    if (keys->contains("CHAP_C")) {
      MULTICHAP_FUZZ_CHECK(config != nullptr);
      challenged = true;
    }
    if (const std::string* r = keys->find("CHAP_R")) {
      MULTICHAP_FUZZ_CHECK(config != nullptr && config->local.has_value());
      MULTICHAP_FUZZ_CHECK(keys->contains("CHAP_N") && *keys->find("CHAP_N") == test::kTargetUser);
      auto decoded = decode_binary(*r, kMaxBinaryValueBytes);
      MULTICHAP_FUZZ_CHECK(decoded.has_value());
      MULTICHAP_FUZZ_CHECK(decoded->size() == 16 || decoded->size() == 20 || decoded->size() == 32);
      our_responses.push_back(r->substr(2));
    }
    if (response->transit && response->nsg == kFullFeaturePhase) {
      MULTICHAP_FUZZ_CHECK(response->tsih != 0);
      if (config != nullptr && !config->policy.allow_none) MULTICHAP_FUZZ_CHECK(challenged);
      final_sent = true;
      in_login = false;
    }
  }

  const TargetStats stats = registry.stats();
  MULTICHAP_FUZZ_CHECK(stats.connections == 1);
  MULTICHAP_FUZZ_CHECK(stats.logins_succeeded == (final_sent ? 1u : 0u));
  MULTICHAP_FUZZ_CHECK(stats.logins_succeeded + stats.logins_failed <= 1);
  if (outcome.status) MULTICHAP_FUZZ_CHECK(stats.logins_failed == 1);
  MULTICHAP_FUZZ_CHECK(stats.logouts == (logged_out ? 1u : 0u));
  MULTICHAP_FUZZ_CHECK(registry.session_count() == 0);

  const std::string log_text = joined(log);
  // MULTICHAP_FUZZ_VERBOSE=1 shows the target's log when triaging an input.
  if (std::getenv("MULTICHAP_FUZZ_VERBOSE") != nullptr) std::fputs(log_text.c_str(), stderr);
  if (input_text.find(test::kInitiatorSecret) == std::string_view::npos) {
    MULTICHAP_FUZZ_CHECK(log_text.find(test::kInitiatorSecret) == std::string::npos);
  }
  if (input_text.find(test::kTargetSecret) == std::string_view::npos) {
    MULTICHAP_FUZZ_CHECK(log_text.find(test::kTargetSecret) == std::string::npos);
  }
  for (const auto& r : our_responses) {
    if (r.size() >= 16 && input_text.find(r) == std::string_view::npos) {
      MULTICHAP_FUZZ_CHECK(log_text.find(r) == std::string::npos);
    }
  }
  outcome.succeeded = final_sent;
  return outcome;
}

}  // namespace multichap::fuzz

#if !defined(MULTICHAP_FUZZ_REPLAY)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  multichap::fuzz::fuzz_target_login(data, size);
  return 0;
}
#endif
