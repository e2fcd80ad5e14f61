// SPDX-License-Identifier: BSD-2-Clause
// No secret and no outstanding challenge in a core file (the secret arena, auth/secure.h).
//
// This process runs the target in-process (our Target on 127.0.0.1, ten accounts, mutual CHAP),
// logs into it 100 times with our InitiatorSession (ten logins per account), then opens one more
// login with raw PDUs and stops right after the target's CHAP_C: that challenge is outstanding.
// Then `gcore` (GDB, which honours MADV_DONTDUMP: it skips mappings flagged "dd" in smaps) writes
// this process's core, and the core is searched:
//   - none of the eleven secrets (ten accounts and the target's own) is in it;
//   - the outstanding challenge, as raw bytes, is not in it (its hex text went over the wire and
//     is not searched for: it is public, and the PDU buffers that carried it are ordinary memory);
//   - two controls ARE in it, so the search can fail: random bytes in a std::vector on the
//     ordinary heap, and a Secret made while the arena was switched off (the same type, on the
//     ordinary heap: what every Secret was before the arena).
// The needles themselves are kept in SecureBytes, i.e. in the arena, out of the core.
//
// Why in-process and not `multichap serve`: serve makes itself non-dumpable; the CLI's own test
// (tests/tools/cli_secret_arena_test.sh) runs serve with --allow-core-dumps and checks its core
// for the account secrets, and checks its smaps and that it is non-dumpable by default.
//
// Skipped when gcore is not installed, and in an AddressSanitizer build, where the arena falls
// back to the ordinary heap (ASan has to see every allocation) and secrets would be found.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "auth/encoding.h"
#include "auth/secure.h"
#include "session/initiator.h"
#include "session/pdu.h"
#include "session/session_authenticator.h"
#include "session/target.h"
#include "session/transport.h"
#include "tests/support/backend_params.h"
#include "tests/support/session_support.h"

namespace multichap {
namespace {

constexpr int kAccounts = 10;
constexpr int kLoginsPerAccount = 10;
const std::string kTargetUser = "iqn.2026-11.org.multichap:core-target";

std::string account_name(int i) {
  return "iqn.2026-11.org.multichap:core-initiator-" + std::to_string(i);
}

// A secret of 32 random hex digits, built in the arena without a copy on the ordinary heap.
Secret random_secret(const HashBackend& backend) {
  SecureBytes raw(16);
  EXPECT_TRUE(backend.random(MutableByteView(raw.data(), raw.size())));
  SecureBytes text(32);
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < raw.size(); ++i) {
    text[2 * i] = static_cast<std::uint8_t>(kHex[raw[i] >> 4]);
    text[2 * i + 1] = static_cast<std::uint8_t>(kHex[raw[i] & 0x0f]);
  }
  return Secret::from_bytes(ByteView(text.data(), text.size()));
}

SecureBytes copy_of(const Secret& s) {
  return SecureBytes(s.bytes().begin(), s.bytes().end());
}

bool found_in(const std::vector<char>& core, ByteView needle) {
  return ::memmem(core.data(), core.size(), needle.data(), needle.size()) != nullptr;
}

bool gcore_installed() {
  return std::system("command -v gcore >/dev/null 2>&1") == 0;
}

// One login up to the target's challenge, with raw PDUs; the connection stays open (the target
// keeps the challenge until the login deadline). Returns the challenge, decoded, in the arena.
SecureBytes outstanding_challenge(std::uint16_t port, Connection& conn) {
  const int fd = test::connect_from("127.0.0.1", port);
  EXPECT_GE(fd, 0);
  conn = Connection(fd);
  const auto deadline = Clock::now() + Millis(10000);
  LoginRequest req;
  req.csg = kSecurityStage;
  req.isid = {0x80, 9, 8, 7, 6, 5};
  req.itt = 1;
  const auto exchange = [&](const KeyList& keys) -> std::optional<LoginResponse> {
    const std::string text = build_text(keys);
    req.data.assign(text.begin(), text.end());
    if (!write_pdu(conn, encode(req), deadline)) return std::nullopt;
    auto pdu = read_pdu(conn, 65536, deadline);
    if (!pdu) return std::nullopt;
    auto r = decode_login_response(*pdu);
    if (!r) return std::nullopt;
    return *r;
  };
  auto first = exchange(KeyList{{"InitiatorName", account_name(0)},
                                {"SessionType", "Normal"},
                                {"TargetName", std::string(test::kTargetIqn)},
                                {"AuthMethod", "CHAP"}});
  EXPECT_TRUE(first && first->status == 0);
  auto second = exchange(KeyList{{"CHAP_A", "7"}});
  EXPECT_TRUE(second && second->status == 0);
  if (!second) return {};
  auto keys = parse_text(ByteView(second->data));
  EXPECT_TRUE(keys && keys->find("CHAP_C") != nullptr);
  if (!keys || keys->find("CHAP_C") == nullptr) return {};
  auto challenge = decode_binary(*keys->find("CHAP_C"), 1024);
  EXPECT_TRUE(challenge);
  return challenge ? std::move(challenge).value() : SecureBytes();
}

// Once per backend: each plugin keeps its own hash state per thread (backends/*/).
class SecretArenaCore : public ::testing::TestWithParam<std::string> {};

TEST_P(SecretArenaCore, NoSecretAndNoOutstandingChallengeInACoreFile) {
  if (!secret_arena_stats().enabled) {
    GTEST_SKIP() << "the arena falls back to the ordinary heap here (" << secret_arena_status()
                 << "): secrets would be in the core";
  }
  if (!gcore_installed()) GTEST_SKIP() << "gcore (gdb) is not installed";
  auto made = make_backend(GetParam());
  ASSERT_TRUE(made);
  const std::shared_ptr<const HashBackend>* backend = &*made;

  // Ten accounts and the target's own secret; needles kept in the arena.
  std::vector<SecureBytes> needles;
  auto chap = std::make_shared<ChapTargetConfig>();
  for (int i = 0; i < kAccounts; ++i) {
    Secret s = random_secret(**backend);
    needles.push_back(copy_of(s));
    chap->accounts.push_back(ChapCredentials{account_name(i), std::move(s)});
  }
  Secret target_secret = random_secret(**backend);
  needles.push_back(copy_of(target_secret));
  chap->local = ChapCredentials{kTargetUser, std::move(target_secret)};
  TargetOptions options;
  options.chap = chap;
  options.backend = *backend;
  options.threads = 2;
  options.login_timeout = Millis(60000);  // the outstanding challenge outlives the gcore
  auto target = test::start_target(std::move(options));
  ASSERT_TRUE(target);

  // 100 mutual logins, ten per account, each algorithm the backend has in turn (a library may
  // keep the input of one algorithm's digest in its context and not another's: OpenSSL's SHA-3).
  std::vector<Algorithm> algorithms;
  for (const AlgorithmInfo& info : kAlgorithms) {
    if ((*backend)->supports(info.id)) algorithms.push_back(info.id);
  }
  ASSERT_FALSE(algorithms.empty());
  int succeeded = 0;
  for (int i = 0; i < kAccounts; ++i) {
    for (int n = 0; n < kLoginsPerAccount; ++n) {
      ChapInitiatorConfig config;
      config.local = ChapCredentials{account_name(i), Secret::from_bytes(needles[i])};
      config.target = ChapCredentials{kTargetUser, Secret::from_bytes(needles[kAccounts])};
      config.policy.algorithms = {
          algorithms[static_cast<std::size_t>(i * kLoginsPerAccount + n) % algorithms.size()]};
      auto auth = InitiatorAuthenticator::create(std::move(config), *backend);
      ASSERT_TRUE(auth);
      InitiatorOptions io = test::initiator_options(target->port());
      io.initiator_name = account_name(i);
      io.max_attempts = 1;
      auto session = InitiatorSession::create(io, std::move(auth).value());
      ASSERT_TRUE(session);
      if ((*session)->login() && (*session)->logout()) ++succeeded;
    }
  }
  ASSERT_EQ(succeeded, kAccounts * kLoginsPerAccount);
  EXPECT_EQ(target->stats().logins_succeeded, 100u);
  EXPECT_GT(target->stats().secret_bytes_in_use, 0u);

  Connection pending;
  const SecureBytes challenge = outstanding_challenge(target->port(), pending);
  ASSERT_GE(challenge.size(), 32u);

  // The controls, on the ordinary heap.
  std::vector<std::uint8_t> control(32);
  ASSERT_TRUE((*backend)->random(MutableByteView(control.data(), control.size())));
  ASSERT_TRUE(set_secret_arena_enabled(false));
  const Secret heap_secret = random_secret(**backend);
  set_secret_arena_enabled(true);
  ASSERT_FALSE(secret_arena_contains(heap_secret.bytes().data()));
  const SecureBytes heap_needle = copy_of(heap_secret);

  // The core of this very process. GDB attaches to its parent's parent: allow it under Yama.
  (void)::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
  char dir_template[] = "/tmp/multichap-core-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string prefix = dir + "/core";
  const std::string command =
      "gcore -o " + prefix + " " + std::to_string(::getpid()) + " >" + dir + "/gcore.log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "gcore failed, see " << dir << "/gcore.log";
  const std::string core_path = prefix + "." + std::to_string(::getpid());
  std::ifstream in(core_path, std::ios::binary);
  ASSERT_TRUE(in) << core_path;
  const std::vector<char> core((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
  in.close();
  (void)std::system(("rm -rf " + dir).c_str());
  ASSERT_GT(core.size(), 1u << 20);

  // The controls prove the search finds what is on the ordinary heap...
  EXPECT_TRUE(found_in(core, ByteView(control.data(), control.size())))
      << "control buffer not found: the search cannot be trusted";
  EXPECT_TRUE(found_in(core, ByteView(heap_needle.data(), heap_needle.size())))
      << "control Secret (arena off) not found: the search cannot be trusted";
  // ...and nothing of the arena is there.
  for (std::size_t i = 0; i < needles.size(); ++i) {
    EXPECT_FALSE(found_in(core, ByteView(needles[i].data(), needles[i].size())))
        << (i < static_cast<std::size_t>(kAccounts) ? "account " + std::to_string(i)
                                                    : std::string("target"))
        << " secret found in the core";
  }
  EXPECT_FALSE(found_in(core, ByteView(challenge.data(), challenge.size())))
      << "the outstanding challenge found in the core";
  // Half a challenge would be a leak too (the search is not fooled by a split copy).
  EXPECT_FALSE(found_in(core, ByteView(challenge.data(), 16)));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, SecretArenaCore, ::testing::ValuesIn(test::backend_names()),
                         test::BackendParamName());

}  // namespace
}  // namespace multichap
