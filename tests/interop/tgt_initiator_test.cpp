// SPDX-License-Identifier: BSD-2-Clause
// Our initiator (`multichap login`) against a real target: tgt's tgtd, a private instance per
// test on 127.0.0.1 with its own control socket.
//
// tgt knows MD5 (CHAP_A=5) and SHA-1 under the old IET number 7 (IANA: 7 = SHA-256); it answers
// 0x0200 to an offer it has nothing in common with, 0x0201 to a wrong response, 0x0203 to an
// unknown TargetName, and negotiates MaxConnections=1.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/interop/harness.h"
#include "tests/support/backend_params.h"

namespace interop {
namespace {

const std::string kIqn = "iqn.2026-11.org.multichap.interop:tgt-disk";
const std::string kUser = "interop-initiator";
const std::string kSecret = "initiator-secret-1";  // >= 12 bytes (RFC 7143 §9.2.1)
const std::string kTargetUser = "interop-target";
const std::string kTargetSecret = "target-secret-22";

class TgtInitiator : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(m_tgtd.start(why)) << why;
    ASSERT_TRUE(m_tgtd.add_target(1, kIqn, why)) << why;
    ASSERT_TRUE(m_tgtd.add_account(1, kUser, kSecret, false, why)) << why;
    ASSERT_TRUE(m_tgtd.add_account(1, kTargetUser, kTargetSecret, true, why)) << why;
  }

  void TearDown() override {
    const Tgtd::StopReport report = m_tgtd.stop();
    EXPECT_TRUE(report.graceful) << report.detail << "\ntgtd log:\n" << m_tgtd.log();
    EXPECT_TRUE(report.files_removed) << report.detail;
  }

  // multichap login --portal <tgtd> --target kIqn --user kUser EXTRA..., secrets from env.
  RunResult login(const std::vector<std::string>& extra, Env env = {}) {
    std::vector<std::string> argv = {multichap_cli(), "login", "--portal", m_tgtd.portal(),
                                     "--target",      kIqn,    "--user",   kUser,
                                     "--timeout",     "5"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    bool has_secret = false;
    for (const auto& [k, v] : env) has_secret = has_secret || k == "MULTICHAP_SECRET";
    if (!has_secret) env.emplace_back("MULTICHAP_SECRET", kSecret);
    return run(argv, env, Millis(30000));
  }

  RunResult login_mutual(const std::vector<std::string>& extra,
                         const std::string& target_secret = kTargetSecret) {
    std::vector<std::string> args = {"--target-user", kTargetUser};
    args.insert(args.end(), extra.begin(), extra.end());
    return login(args, {{"MULTICHAP_TARGET_SECRET", target_secret}});
  }

  // After a logout (or a failed login) tgtd must hold no session: no "I_T nexus: N" entry.
  void expect_no_session_left() {
    std::string shown;
    const bool gone = wait_until(
        [&] {
          shown = m_tgtd.show_targets();
          return !contains(shown, "I_T nexus: ");
        },
        Millis(3000));
    EXPECT_TRUE(gone) << "tgtd still lists a session:\n" << shown;
  }

  TempDir m_dir;
  Tgtd m_tgtd{m_dir};
};

// --- successful logins, on every backend built in --------------------------------------------

class TgtLogin : public TgtInitiator, public ::testing::WithParamInterface<std::string> {
 protected:
  std::vector<std::string> with_backend(std::vector<std::string> args) const {
    args.push_back("--backend");
    args.push_back(GetParam());
    return args;
  }
};

TEST_P(TgtLogin, Md5OneWay) {
  const RunResult r = login(with_backend({"--algs", "md5"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "-> [security T=0] CHAP_A=5\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "<- [security T=0] CHAP_A=5 CHAP_I=")) << r.describe();
  EXPECT_TRUE(contains(r.out, "CHAP_N=" + kUser + " CHAP_R=<masked, 16 bytes>\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=md5 mutual=no")) << r.describe();
  EXPECT_TRUE(contains(r.out, "logout cid=0: ok")) << r.describe();
  expect_no_session_left();
}

TEST_P(TgtLogin, Md5Mutual) {
  const RunResult r = login_mutual(with_backend({"--algs", "md5"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  // We challenge tgt (CHAP_I, CHAP_C) along with our response; it proves itself as kTargetUser.
  EXPECT_TRUE(contains(r.out, "CHAP_N=" + kUser + " CHAP_R=<masked, 16 bytes> CHAP_I="))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "<- [security T=1 -> operational] CHAP_N=" + kTargetUser +
                                  " CHAP_R=<masked, 16 bytes>"))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=md5 mutual=yes")) << r.describe();
  EXPECT_TRUE(contains(r.out, "logout cid=0: ok")) << r.describe();
  expect_no_session_left();
}

// tgt calls SHA-1 "7": with --legacy-tgt-sha1 we offer SHA-1 under that number.
TEST_P(TgtLogin, Sha1LegacyNumberingOneWay) {
  const RunResult r = login(with_backend({"--algs", "sha1,md5", "--legacy-tgt-sha1"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "-> [security T=0] CHAP_A=7,5\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "<- [security T=0] CHAP_A=7 CHAP_I=")) << r.describe();
  EXPECT_TRUE(contains(r.out, "CHAP_R=<masked, 20 bytes>")) << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=sha1 mutual=no")) << r.describe();
  expect_no_session_left();
}

TEST_P(TgtLogin, Sha1LegacyNumberingMutual) {
  const RunResult r = login_mutual(with_backend({"--algs", "sha1,md5", "--legacy-tgt-sha1"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "<- [security T=1 -> operational] CHAP_N=" + kTargetUser +
                                  " CHAP_R=<masked, 20 bytes>"))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=sha1 mutual=yes")) << r.describe();
  expect_no_session_left();
}

INSTANTIATE_TEST_SUITE_P(Backends, TgtLogin, ::testing::ValuesIn(multichap::test::backend_names()),
                         multichap::test::BackendParamName{});

// --- failures ---------------------------------------------------------------------------------

TEST_F(TgtInitiator, WrongInitiatorSecretIsAuthenticationFailure) {
  const RunResult r = login({"--algs", "md5"}, {{"MULTICHAP_SECRET", "not-the-right-one"}});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(contains(r.err, "authentication failed: the target answered 0x0201")) << r.describe();
  // Class 2: the same request would fail the same way, so no retry.
  EXPECT_FALSE(contains(r.out, "attempt 2/")) << r.describe();
  EXPECT_FALSE(contains(r.out, "login succeeded")) << r.describe();
  expect_no_session_left();
}

// tgt answers our challenge with the secret it has; we were told another one: we must detect it,
// fail with status 1, and close the connection without going on to the operational stage.
TEST_F(TgtInitiator, WrongTargetSecretInMutualIsDetectedByUs) {
  const RunResult r = login_mutual({"--algs", "md5"}, "not-the-target-secret");
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(contains(r.err, "target's CHAP_R does not match")) << r.describe();
  // tgt did send its CHAP_N/CHAP_R and transit to the operational stage...
  EXPECT_TRUE(contains(r.out, "<- [security T=1 -> operational] CHAP_N=" + kTargetUser))
      << r.describe();
  // ...but we sent nothing after it: no operational request, no retry.
  EXPECT_FALSE(contains(r.out, "-> [operational")) << r.describe();
  EXPECT_FALSE(contains(r.out, "attempt 2/")) << r.describe();
  EXPECT_FALSE(contains(r.out, "login succeeded")) << r.describe();
  expect_no_session_left();
}

TEST_F(TgtInitiator, UnknownTargetIsTargetNotFound) {
  const RunResult r = run({multichap_cli(), "login", "--portal", m_tgtd.portal(), "--target",
                           "iqn.2026-11.org.multichap.interop:no-such-target", "--user", kUser,
                           "--algs", "md5", "--timeout", "5"},
                          {{"MULTICHAP_SECRET", kSecret}}, Millis(30000));
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_TRUE(contains(r.err, "the target refused the login: 0x0203 target not found"))
      << r.describe();
  EXPECT_TRUE(contains(r.err, "login failed after 1 attempt(s)")) << r.describe();
}

// SHA3-256 (8) and SHA-1 under its IANA number (6): tgt knows neither and ends the login with
// 0x0200 right after our CHAP_A (no CHAP_A=Reject key). The offer fallback then tries each alone
// and gives up inside --algs: MD5, which tgt would take, is never offered.
TEST_F(TgtInitiator, OfferingOnlyAlgorithmsTgtLacksIsInitiatorError) {
  const RunResult r = login({"--algs", "sha3-256,sha1"});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_TRUE(contains(r.out, "-> [security T=0] CHAP_A=8,6\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "fallback: target refused CHAP_A=8,6, offering 8\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "fallback: target refused CHAP_A=8, offering 6\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "fallback: no narrower offer left within the allowed sha3-256,sha1"))
      << r.describe();
  EXPECT_FALSE(contains(r.out, "CHAP_A=5")) << r.describe();
  EXPECT_TRUE(contains(r.err, "the target refused the login: 0x0200 initiator error"))
      << r.describe();
  EXPECT_FALSE(contains(r.err, "--legacy-tgt-sha1")) << r.describe();  // 7 was not offered
  EXPECT_TRUE(contains(r.err, "login failed after 3 attempt(s)")) << r.describe();
}

// With the fallback off, the default offer 8,7,6,5 fails as it always did: tgt picks 7 (its
// SHA-1), we answer with SHA-256 (IANA 7), tgt refuses the 32-byte response with 0x0200, and our
// message points at --legacy-tgt-sha1.
TEST_F(TgtInitiator, DefaultOfferHitsTheSha1NumberingQuirkAndSaysSo) {
  const RunResult r = login({"--offer-fallback=off"});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_TRUE(contains(r.out, "-> [security T=0] CHAP_A=8,7,6,5\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "<- [security T=0] CHAP_A=7 CHAP_I=")) << r.describe();
  EXPECT_TRUE(contains(r.out, "CHAP_R=<masked, 32 bytes>")) << r.describe();
  EXPECT_FALSE(contains(r.out, "fallback:")) << r.describe();
  EXPECT_TRUE(contains(r.err, "0x0200 initiator error")) << r.describe();
  EXPECT_TRUE(contains(r.err, "use --legacy-tgt-sha1")) << r.describe();
}

// MC/S: tgt answers MaxConnections=1, so a second connection is not allowed in the session. Our
// initiator must refuse to add it (RFC 7143 §13.2), log the session out and fail with status 3.
TEST_F(TgtInitiator, SecondConnectionBeyondNegotiatedMaxConnectionsFailsCleanly) {
  const RunResult r = login({"--algs", "md5", "--connections", "2"});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_TRUE(contains(r.out, "MaxConnections=1")) << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=md5 mutual=no")) << r.describe();
  EXPECT_TRUE(contains(r.err, "MaxConnections=1")) << r.describe();
  EXPECT_FALSE(contains(r.out, "added to session")) << r.describe();
  EXPECT_TRUE(contains(r.out, "logout cid=0: ok")) << r.describe();
  expect_no_session_left();
}

}  // namespace
}  // namespace interop
