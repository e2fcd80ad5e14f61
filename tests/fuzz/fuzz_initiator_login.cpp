// SPDX-License-Identifier: BSD-2-Clause
// libFuzzer target: a whole initiator-side login. An InitiatorSession (configuration chosen by
// byte 0, see InitiatorFlags in session_fuzz_targets.h; max_attempts 1, no offer fallback, 50 ms
// timeouts) gets, from its connector, one end of a socketpair whose other end already holds the
// rest of the input followed by shutdown(SHUT_WR): the input is everything "the target" says.
// After a successful login the session also pings and logs out, so full feature phase answers are
// fuzzed too.
//
// The initiator's "random" bytes (ISID, mutual challenge) come from PredictableBackend, so a
// recorded target stream (tests/session/fuzz_seeds_test.cpp) echoes the right ISID and carries a
// target CHAP_R that is still right when replayed.
//
// Invariants:
//   - login() returns; a failure has a non-empty message, a code of its own (not the generic
//     one of its kind) and one of the kinds a peer can cause
//     (protocol, authentication, policy, rejected, io, timeout); a status the target sent is
//     reported as authentication (0x0201) or rejected;
//   - a success has a TSIH, went through CHAP unless AuthMethod=None was allowed, and is mutual
//     whenever mutual CHAP was configured; exactly one attempt and one rewind;
//   - what the initiator wrote is a well-formed stream: Login Requests (immediate, version 0,
//     one ISID/ITT/CID/CmdSN, TSIH 0, at most 8192 data bytes, text that parses, InitiatorName
//     first), then only NOP-Out and Logout; a CHAP_R is exactly the digest size;
//   - no secret appears on the wire, in the transcript or in the error, and no CHAP_R we sent
//     appears in the transcript or the error.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "session/transport.h"
#include "tests/fuzz/session_fuzz_targets.h"

namespace multichap::fuzz {

namespace {

bool peer_caused(ErrorKind kind) {
  return kind == ErrorKind::protocol || kind == ErrorKind::authentication ||
         kind == ErrorKind::policy || kind == ErrorKind::rejected || kind == ErrorKind::io ||
         kind == ErrorKind::timeout;
}

// Checks the initiator's side of the wire; returns the CHAP_R values it sent.
std::vector<std::string> check_initiator_stream(const Bytes& wire, bool normal,
                                                std::string_view input_text) {
  std::vector<std::string> responses;
  const std::vector<Pdu> pdus = split_own_stream(wire, kDefaultMaxRecvDataSegment);
  std::optional<LoginRequest> first;
  Bytes text;  // reassembled across C=1 requests
  bool in_login = true;
  for (const Pdu& pdu : pdus) {
    if (in_login && pdu.opcode() != static_cast<std::uint8_t>(Opcode::login_request)) {
      in_login = false;
    }
    if (!in_login) {
      const auto op = static_cast<Opcode>(pdu.opcode());
      MULTICHAP_FUZZ_CHECK(op == Opcode::nop_out || op == Opcode::logout_request);
      MULTICHAP_FUZZ_CHECK(first.has_value());
      continue;
    }
    auto request = decode_login_request(pdu);
    MULTICHAP_FUZZ_CHECK(request.has_value());
    MULTICHAP_FUZZ_CHECK(pdu.immediate());
    MULTICHAP_FUZZ_CHECK(request->version_max == 0 && request->version_min == 0);
    MULTICHAP_FUZZ_CHECK(request->tsih == 0 && request->cid == 0);
    // (Key names the target proposes are echoed in NotUnderstood answers.)
    for (const std::string_view secret : {test::kInitiatorSecret, test::kTargetSecret}) {
      if (input_text.find(secret) == std::string_view::npos) {
        MULTICHAP_FUZZ_CHECK(!contains_text(request->data, secret));
      }
    }
    if (!first) {
      first = *request;
      auto keys = parse_text(ByteView(request->data));
      MULTICHAP_FUZZ_CHECK(keys.has_value());
      MULTICHAP_FUZZ_CHECK(keys->size() > 0 && (*keys)[0].key == "InitiatorName");
      MULTICHAP_FUZZ_CHECK(keys->contains("SessionType"));
      MULTICHAP_FUZZ_CHECK(keys->contains("TargetName") == normal);
    }
    MULTICHAP_FUZZ_CHECK(request->isid == first->isid && request->itt == first->itt &&
                         request->cmd_sn == first->cmd_sn);
    text.insert(text.end(), request->data.begin(), request->data.end());
    if (request->cont) continue;  // C=1: the text goes on in the next request
    auto keys = parse_text(ByteView(text));
    text.clear();
    MULTICHAP_FUZZ_CHECK(keys.has_value());
    if (const std::string* r = keys->find("CHAP_R")) {
      auto decoded = decode_binary(*r, kMaxBinaryValueBytes);
      MULTICHAP_FUZZ_CHECK(decoded.has_value());
      MULTICHAP_FUZZ_CHECK(decoded->size() == 16 || decoded->size() == 20 || decoded->size() == 32);
      responses.push_back(r->substr(2));
    }
  }
  return responses;
}

}  // namespace

LoginOutcome fuzz_initiator_login(const std::uint8_t* data, std::size_t size) {
  LoginOutcome outcome;
  if (size == 0) return outcome;
  const std::uint8_t flags = data[0];
  const Bytes input(data + 1, data + 1 + std::min(size - 1, kMaxSessionFuzzInput));
  const std::string_view input_text(reinterpret_cast<const char*>(input.data()), input.size());
  const bool mutual = (flags & 0x02) != 0;
  const bool allow_none = (flags & 0x04) != 0;
  const bool normal = (flags & 0x08) == 0;

  auto backend =
      std::make_shared<PredictableBackend>(real_backend(flags & 0x01), kInitiatorRandomOffset);
  auto auth = InitiatorAuthenticator::create(initiator_login_config(flags), backend);
  MULTICHAP_FUZZ_CHECK(auth.has_value());

  SocketPair pair;
  MULTICHAP_FUZZ_CHECK(write_fully(pair.ours, input.data(), input.size()));
  ::shutdown(pair.ours, SHUT_WR);
  Drain drain(pair.ours);

  std::vector<std::string> transcript;
  int far_end = pair.release_theirs();
  InitiatorOptions options;
  options.portal = Endpoint{"fuzz.invalid", 3260};
  options.session_type = normal ? "Normal" : "Discovery";
  options.target_name = normal ? std::string(test::kTargetIqn) : std::string();
  options.initiator_name = std::string(test::kInitiatorIqn);
  options.connect_timeout = Millis(50);
  options.login_timeout = Millis(50);
  options.max_attempts = 1;
  options.offer_fallback = false;  // one connection: the input is one target's stream
  options.retry_delay = Millis(0);
  options.transcript = [&transcript](const std::string& line) { transcript.push_back(line); };
  options.connector = [&far_end]() -> Result<Connection> {
    if (far_end < 0) return make_error(ErrorKind::io, "fuzz connector used twice");
    Connection conn(far_end);
    far_end = -1;
    return conn;
  };
  auto created = InitiatorSession::create(std::move(options), std::move(auth).value());
  MULTICHAP_FUZZ_CHECK(created.has_value());
  InitiatorSession& session = **created;

  const Result<void> login = session.login();
  MULTICHAP_FUZZ_CHECK(session.attempts() == 1);
  MULTICHAP_FUZZ_CHECK(session.authenticator().rewinds() == 1);
  std::string error_text;
  if (login) {
    MULTICHAP_FUZZ_CHECK(session.tsih() != 0);
    MULTICHAP_FUZZ_CHECK(session.connection_count() == 1);
    if (!allow_none) MULTICHAP_FUZZ_CHECK(session.algorithm().has_value());
    if (mutual) {
      MULTICHAP_FUZZ_CHECK(session.mutual());
      MULTICHAP_FUZZ_CHECK(input_text.find("CHAP_R=") != std::string_view::npos);
    }
    outcome.succeeded = true;
    if (auto ping = session.ping(); !ping) error_text += ping.error().message;
    if (auto out = session.logout(); !out) error_text += out.error().message;
    MULTICHAP_FUZZ_CHECK(session.connection_count() == 0);
  } else {
    const Error& e = login.error();
    MULTICHAP_FUZZ_CHECK(peer_caused(e.kind));
    MULTICHAP_FUZZ_CHECK(!e.message.empty());
    MULTICHAP_FUZZ_CHECK(e.code != generic_error_code(e.kind));  // a reason of its own
    MULTICHAP_FUZZ_CHECK(session.connection_count() == 0);
    if (session.last_status()) {
      MULTICHAP_FUZZ_CHECK(*session.last_status() != status::kSuccess);
      MULTICHAP_FUZZ_CHECK(e.kind == ErrorKind::authentication || e.kind == ErrorKind::rejected ||
                           e.kind == ErrorKind::protocol);
      if (*session.last_status() == status::kAuthenticationFailure) {
        MULTICHAP_FUZZ_CHECK(e.kind == ErrorKind::authentication);
      }
    }
    error_text = e.message;
    outcome.status = session.last_status();
    outcome.error = e.message;
  }
  created->reset();  // closes every connection, so the drain sees the end of the stream
  if (far_end >= 0) ::close(far_end);
  const Bytes& wire = drain.join();

  const std::vector<std::string> responses = check_initiator_stream(wire, normal, input_text);
  std::string said;
  for (const auto& line : transcript) said += line + "\n";
  said += error_text;
  // MULTICHAP_FUZZ_VERBOSE=1 shows the transcript and the error when triaging an input.
  if (std::getenv("MULTICHAP_FUZZ_VERBOSE") != nullptr) std::fprintf(stderr, "%s\n", said.c_str());
  for (const std::string_view secret : {test::kInitiatorSecret, test::kTargetSecret}) {
    if (input_text.find(secret) == std::string_view::npos) {
      MULTICHAP_FUZZ_CHECK(said.find(secret) == std::string::npos);
    }
  }
  for (const auto& r : responses) {
    if (r.size() >= 16 && input_text.find(r) == std::string_view::npos) {
      MULTICHAP_FUZZ_CHECK(said.find(r) == std::string::npos);
    }
  }
  return outcome;
}

}  // namespace multichap::fuzz

#if !defined(MULTICHAP_FUZZ_REPLAY)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  multichap::fuzz::fuzz_initiator_login(data, size);
  return 0;
}
#endif
