// SPDX-License-Identifier: BSD-2-Clause
// The seed recorder of the session fuzz targets (tests/fuzz/fuzz_{pdu,target_login,
// initiator_login}.cpp), as tests.
//
// Each scenario runs a real login between our InitiatorSession and our Target (login, NOP ping,
// logout) through a byte relay over two socketpairs, with the configurations and predictable
// backends the fuzz targets use, and records both directions. The tests check that every
// recorded stream replays through the fuzz bodies to the same outcome (the target fed the
// initiator's bytes, the initiator fed the target's), and that the hand-made malformed variants
// derived from them end the way they must.
//
// To (re)write the seed corpora after the engines change:
//   MULTICHAP_WRITE_FUZZ_SEEDS=$PWD/tests/fuzz/corpus build-hard/bin/session_fuzz_test
//       --gtest_filter='FuzzSeeds.*'
// which writes corpus/{target_login,initiator_login,pdu}/<scenario>... (names containing
// "success" must log in; names containing "fails" must not: tests/session/fuzz_replay_test.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "session/target.h"
#include "session/transport.h"
#include "tests/fuzz/session_fuzz_targets.h"
#include "tests/support/result_matchers.h"

namespace multichap {
namespace {

using fuzz::LoginOutcome;

struct Recording {
  Bytes to_target;     // what the initiator sent
  Bytes to_initiator;  // what the target sent
  bool login_succeeded = false;
  std::string error;             // the login's error message, for failure output
  std::optional<Error> failure;  // the login's error
};

struct Scenario {
  std::string name;
  std::uint8_t target_flags;
  std::uint8_t initiator_flags;
  // Optional deviations from the fuzz configurations, to record failures.
  std::string target_account_secret;  // what the target believes the initiator's secret is
  std::string target_own_secret;      // the secret the target proves itself with
  bool expect_success = true;
};

// Relays bytes from one fd to another until end of stream, keeping a copy; then half-closes the
// destination so the far side sees the end too.
void relay(int from, int to, Bytes& copy) {
  std::uint8_t buf[4096];
  while (true) {
    const ssize_t n = ::recv(from, buf, sizeof(buf), 0);
    if (n > 0) {
      copy.insert(copy.end(), buf, buf + n);
      if (!fuzz::write_fully(to, buf, static_cast<std::size_t>(n))) break;
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) break;
    pollfd pfd{from, POLLIN, 0};
    ::poll(&pfd, 1, 100);
  }
  ::shutdown(to, SHUT_WR);
}

Recording record(const Scenario& s) {
  Recording rec;
  // The target, configured exactly as fuzz_target_login configures it for these flags (unless
  // the scenario deliberately deviates).
  std::shared_ptr<const ChapTargetConfig> chap = fuzz::target_login_config(s.target_flags);
  if (chap && (!s.target_account_secret.empty() || !s.target_own_secret.empty())) {
    auto changed = std::make_shared<ChapTargetConfig>();
    changed->policy = chap->policy;
    changed->accounts.push_back(ChapCredentials{
        std::string(test::kInitiatorUser),
        Secret::from_text(s.target_account_secret.empty() ? test::kInitiatorSecret
                                                          : s.target_account_secret)});
    if (chap->local) {
      changed->local =
          ChapCredentials{std::string(test::kTargetUser),
                          Secret::from_text(s.target_own_secret.empty() ? test::kTargetSecret
                                                                        : s.target_own_secret)};
    }
    chap = changed;
  }
  TargetOptions target_options;
  target_options.target_name = std::string(test::kTargetIqn);
  target_options.chap = chap;
  target_options.backend = std::make_shared<fuzz::PredictableBackend>(
      fuzz::real_backend(s.target_flags & 0x01), fuzz::kTargetRandomOffset);
  target_options.login_timeout = Millis(2000);
  auto target = Target::create(std::move(target_options));
  EXPECT_TRUE(target.has_value()) << (target ? "" : target.error().message);
  if (!target) return rec;

  fuzz::SocketPair initiator_side;  // initiator <-> relay
  fuzz::SocketPair target_side;     // relay <-> target
  std::thread serve(
      [&target, fd = target_side.release_theirs()] { (*target)->serve(Connection(fd)); });
  std::thread up([&] { relay(initiator_side.ours, target_side.ours, rec.to_target); });
  std::thread down([&] { relay(target_side.ours, initiator_side.ours, rec.to_initiator); });

  {
    auto auth = InitiatorAuthenticator::create(
        fuzz::initiator_login_config(s.initiator_flags),
        std::make_shared<fuzz::PredictableBackend>(fuzz::real_backend(s.initiator_flags & 0x01),
                                                   fuzz::kInitiatorRandomOffset));
    EXPECT_TRUE(auth.has_value());
    const bool normal = (s.initiator_flags & 0x08) == 0;
    InitiatorOptions options;
    options.session_type = normal ? "Normal" : "Discovery";
    options.target_name = normal ? std::string(test::kTargetIqn) : std::string();
    options.initiator_name = std::string(test::kInitiatorIqn);
    options.login_timeout = Millis(2000);
    options.max_attempts = 1;
    options.offer_fallback = false;  // one connection: the input is one target's stream
    int fd = initiator_side.release_theirs();
    options.connector = [&fd]() -> Result<Connection> {
      Connection conn(fd);
      fd = -1;
      return conn;
    };
    if (auth) {
      auto session = InitiatorSession::create(std::move(options), std::move(auth).value());
      EXPECT_TRUE(session.has_value());
      if (session) {
        auto login = (*session)->login();
        rec.login_succeeded = login.has_value();
        if (!login) {
          rec.error = login.error().message;
          rec.failure = login.error();
        }
        if (login) {
          // A Discovery session carries only Text and Logout (RFC 7143 §4.3): no NOP there.
          if (normal) {
            EXPECT_TRUE((*session)->ping().has_value());
          }
          EXPECT_TRUE((*session)->logout().has_value());
        }
      }
    }
    if (fd >= 0) ::close(fd);
  }
  up.join();
  down.join();
  serve.join();
  return rec;
}

Bytes with_flags(std::uint8_t flags, const Bytes& stream) {
  Bytes out(1 + stream.size());
  out[0] = flags;
  std::copy(stream.begin(), stream.end(), out.begin() + 1);
  return out;
}

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> list = {
      {"oneway_md5_success", 0x20, 0x00, "", "", true},
      {"oneway_sha256_backend2_success", 0x31, 0x01, "", "", true},
      {"mutual_sha3_success", 0x02, 0x02, "", "", true},
      {"hardened_mutual_required_success", 0x16, 0x12, "", "", true},
      {"legacy_sha1_success", 0x70, 0x70, "", "", true},
      {"mutual_short_challenge_sha256_success", 0x32, 0xB2, "", "", true},
      {"auth_none_success", 0x80, 0x04, "", "", true},
      {"discovery_success", 0x00, 0x08, "", "", true},
      {"wrong_initiator_secret_fails", 0x00, 0x00, "a-different-initiator-secret", "", false},
      {"target_proves_wrong_secret_fails", 0x02, 0x02, "", "a-different-target-secret", false},
  };
  return list;
}

// Hand-made variants of a login request stream or a response stream.
Pdu login_request(std::uint8_t flags_byte, const std::string& text, std::uint8_t version_min = 0) {
  LoginRequest r;
  r.transit = (flags_byte & 0x80) != 0;
  r.csg = (flags_byte >> 2) & 3;
  r.nsg = flags_byte & 3;
  r.version_min = version_min;
  r.isid = {0x80, 1, 2, 3, 0, 0};
  r.itt = 1;
  r.data.assign(text.begin(), text.end());
  Pdu pdu = encode(r);
  pdu.bhs[1] = flags_byte;  // exactly as given, legal or not
  return pdu;
}

std::string first_keys() {
  return build_text(KeyList{{"InitiatorName", std::string(test::kInitiatorIqn)},
                            {"SessionType", "Normal"},
                            {"TargetName", std::string(test::kTargetIqn)},
                            {"AuthMethod", "CHAP"}});
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<Pdu> split(const Bytes& stream) {
  return fuzz::split_own_stream(stream, 0xffffff);
}

// A copy of stream with the first occurrence of needle's following byte flipped (0 <-> 1).
Bytes corrupt_after(Bytes stream, std::string_view needle) {
  const std::string_view text(reinterpret_cast<const char*>(stream.data()), stream.size());
  const auto at = text.find(needle);
  if (at != std::string_view::npos) {
    auto& b = stream[at + needle.size()];
    b = b == '0' ? '1' : '0';
  }
  return stream;
}

struct Seed {
  std::string corpus;  // target_login, initiator_login, pdu
  std::string name;
  Bytes bytes;
};

std::vector<Seed> all_seeds() {
  std::vector<Seed> seeds;
  std::map<std::string, Recording> recorded;
  for (const auto& s : scenarios()) {
    Recording rec = record(s);
    EXPECT_EQ(rec.login_succeeded, s.expect_success) << s.name << ": " << rec.error;
    seeds.push_back({"target_login", s.name, with_flags(s.target_flags, rec.to_target)});
    seeds.push_back({"initiator_login", s.name, with_flags(s.initiator_flags, rec.to_initiator)});
    recorded[s.name] = rec;
  }

  // Target-side malformed inputs (byte 0: all algorithms, one-way CHAP).
  const Recording& md5 = recorded["oneway_md5_success"];
  const auto requests = split(md5.to_target);
  const std::string keys = first_keys();
  auto target_seed = [&](const std::string& name, std::uint8_t flags, const Bytes& stream) {
    seeds.push_back({"target_login", name, with_flags(flags, stream)});
  };
  {
    Pdu big = login_request(0x01, std::string(8193, 'x'));
    target_seed("malformed_dsl_over_8192_fails", 0x20, big.serialize());
    target_seed("malformed_t_and_c_fails", 0x20, login_request(0xC1, keys).serialize());
    target_seed("malformed_csg2_fails", 0x20, login_request(0x09, keys).serialize());
    target_seed("malformed_version_min_fails", 0x20, login_request(0x01, keys, 1).serialize());
    target_seed("malformed_nop_before_login_fails", 0x20, encode(NopOut{}).serialize());
    Bytes cut = md5.to_target;
    cut.resize(cut.size() / 2);
    target_seed("truncated_mid_login_fails", 0x20, cut);
    target_seed("wrong_response_fails", 0x20, corrupt_after(md5.to_target, "CHAP_R=0x"));
    // The first request's text continued over two PDUs (C=1), the rest as recorded.
    const Bytes first_text(requests[0].data.begin(), requests[0].data.end());
    Pdu part1 = requests[0];
    Pdu part2 = requests[0];
    const std::size_t half = first_text.size() / 2;
    part1.data.assign(first_text.begin(), first_text.begin() + static_cast<long>(half));
    part1.bhs[1] = 0x40;  // C=1, T=0, CSG 0
    part2.data.assign(first_text.begin() + static_cast<long>(half), first_text.end());
    Bytes continued = cat({part1.serialize(), part2.serialize()});
    for (std::size_t i = 1; i < requests.size(); ++i) {
      const Bytes b = requests[i].serialize();
      continued.insert(continued.end(), b.begin(), b.end());
    }
    target_seed("continued_first_request_success", 0x20, continued);
    // After the login: an unknown opcode (SCSI command) answered with Reject, then bytes after
    // the logout, which the target must ignore.
    Bytes ffp;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (requests[i].opcode() == static_cast<std::uint8_t>(Opcode::logout_request)) {
        Pdu scsi;
        scsi.bhs[0] = static_cast<std::uint8_t>(Opcode::scsi_command);
        scsi.bhs[1] = 0x80;
        const Bytes b = scsi.serialize();
        ffp.insert(ffp.end(), b.begin(), b.end());
      }
      const Bytes b = requests[i].serialize();
      ffp.insert(ffp.end(), b.begin(), b.end());
    }
    const Bytes after = encode(NopOut{}).serialize();
    ffp.insert(ffp.end(), after.begin(), after.end());
    target_seed("scsi_command_and_data_after_logout_success", 0x20, ffp);
  }

  // Initiator-side malformed inputs, built on the responses of the MD5 login.
  const auto responses = split(md5.to_initiator);
  auto initiator_seed = [&](const std::string& name, const Bytes& stream,
                            std::uint8_t flags = 0x00) {
    seeds.push_back({"initiator_login", name, with_flags(flags, stream)});
  };
  {
    auto first = decode_login_response(responses[0]);
    EXPECT_TRUE(first.has_value());
    if (first) {
      LoginResponse r = *first;
      r.transit = false;
      r.nsg = 0;
      r.status = status::kAuthenticationFailure;
      r.data.clear();
      initiator_seed("status_0201_fails", encode(r).serialize());
      r.status = status::kRedirectTemporary;
      const std::string redirect = build_text(KeyList{{"TargetAddress", "127.0.0.1:3261,1"}});
      r.data.assign(redirect.begin(), redirect.end());
      initiator_seed("redirect_fails", encode(r).serialize());
      r = *first;
      r.itt ^= 1;
      initiator_seed("wrong_itt_fails", encode(r).serialize());
      r = *first;
      r.data.assign(8193, 'x');
      initiator_seed("dsl_over_8192_fails", encode(r).serialize());
      RejectPdu reject;
      reject.rejected_header.assign(responses[0].bhs.begin(), responses[0].bhs.end());
      initiator_seed("reject_during_login_fails", encode(reject).serialize());
      initiator_seed("wrong_target_response_fails",
                     corrupt_after(recorded["mutual_sha3_success"].to_initiator, "CHAP_R=0x"),
                     0x02);
    }
  }

  // PDU codec: single PDUs of every kind seen, a whole stream, and malformed framings.
  int n = 0;
  for (const Bytes* stream : {&md5.to_target, &md5.to_initiator}) {
    for (const Pdu& pdu : split(*stream)) {
      seeds.push_back({"pdu", "recorded_" + std::to_string(n++) + "_" + opcode_name(pdu.opcode()),
                       pdu.serialize()});
    }
  }
  for (auto& seed : seeds) {
    for (auto& c : seed.name) {
      if (c == ' ' || c == '-') c = '_';
    }
  }
  seeds.push_back({"pdu", "stream_whole_login", md5.to_target});
  {
    Bytes ahs = requests[0].serialize();
    ahs[4] = 1;  // one AHS word, inserted after the header
    ahs.insert(ahs.begin() + kBhsSize, {0, 0, 0, 0});
    seeds.push_back({"pdu", "malformed_ahs", ahs});
    Bytes lying = requests[0].serialize();
    lying[7] = static_cast<std::uint8_t>(lying[7] + 8);  // DataSegmentLength says more than sent
    seeds.push_back({"pdu", "malformed_lying_length", lying});
    Bytes trailing = requests[0].serialize();
    trailing.push_back(0x43);
    seeds.push_back({"pdu", "malformed_trailing_byte", trailing});
    Bytes huge = requests[0].serialize();
    huge[5] = 0xff;
    huge[6] = 0xff;
    huge[7] = 0xff;
    seeds.push_back({"pdu", "malformed_dsl_16m", huge});
    seeds.push_back({"pdu", "malformed_t_and_c", login_request(0xC1, keys).serialize()});
    RejectPdu reject;
    reject.rejected_header.assign(requests[0].bhs.begin(), requests[0].bhs.end());
    seeds.push_back({"pdu", "reject", encode(reject).serialize()});
  }
  return seeds;
}

TEST(FuzzSeeds, RecordedLoginsReplayThroughTheFuzzTargets) {
  const auto seeds = all_seeds();
  std::size_t checked = 0;
  for (const auto& seed : seeds) {
    SCOPED_TRACE(seed.corpus + "/" + seed.name);
    const bool success = seed.name.find("success") != std::string::npos;
    const bool fails = seed.name.find("fails") != std::string::npos;
    try {
      if (seed.corpus == "pdu") {
        fuzz::fuzz_pdu(seed.bytes.data(), seed.bytes.size());
        continue;
      }
      const LoginOutcome outcome =
          seed.corpus == "target_login"
              ? fuzz::fuzz_target_login(seed.bytes.data(), seed.bytes.size())
              : fuzz::fuzz_initiator_login(seed.bytes.data(), seed.bytes.size());
      if (success) {
        EXPECT_TRUE(outcome.succeeded) << outcome.error;
      }
      if (fails) {
        EXPECT_FALSE(outcome.succeeded);
      }
      ++checked;
    } catch (const fuzz::InvariantFailure& e) {
      ADD_FAILURE() << "fuzz invariant broken: " << e.what();
    }
  }
  EXPECT_GE(checked, 30u);

  if (const char* dir = std::getenv("MULTICHAP_WRITE_FUZZ_SEEDS")) {
    namespace fs = std::filesystem;
    for (const auto& seed : seeds) {
      const fs::path folder = fs::path(dir) / seed.corpus;
      fs::create_directories(folder);
      std::ofstream out(folder / seed.name, std::ios::binary);
      out.write(reinterpret_cast<const char*>(seed.bytes.data()),
                static_cast<std::streamsize>(seed.bytes.size()));
    }
    std::printf("wrote %zu seeds under %s\n", seeds.size(), dir);
  }
}

// The recording itself can fail: a target that does not know the initiator's secret refuses it.
TEST(FuzzSeeds, RecorderSeesFailures) {
  const Recording rec = record({"x", 0x00, 0x00, "a-different-initiator-secret", "", false});
  EXPECT_FALSE(rec.login_succeeded);
  EXPECT_THAT(rec.failure,
              test::ResultIs(ErrorKind::authentication, ErrorCode::target_auth_failed));
  const auto responses = split(rec.to_initiator);
  ASSERT_FALSE(responses.empty());
  auto last = decode_login_response(responses.back());
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, status::kAuthenticationFailure);
}

}  // namespace
}  // namespace multichap
