// SPDX-License-Identifier: BSD-2-Clause
// An independent initiator (libiscsi 1.19) against our target (`multichap serve`).
//
// libiscsi offers only CHAP_A=5 (MD5), sends its mutual challenge as 32 bytes of upper-case hex,
// and its tools (iscsi-inq, iscsi-readcapacity16) go on to SCSI commands after the login, which
// our target (no SCSI layer) answers with a Reject PDU, reason 0x05 "command not supported" (the
// tools then exit with status 10); iscsi-ls's SendTargets is answered. The login itself
// is checked through a small client on libiscsi's C API (interop_libiscsi_client: connect, login,
// logout).
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/interop/harness.h"
#include "tests/support/backend_params.h"

namespace interop {
namespace {

const std::string kIqn = "iqn.2026-11.org.multichap.interop:our-target";
const std::string kUser = "libiscsi-initiator";
const std::string kSecret = "initiator-secret-1";
const std::string kTargetUser = "multichap-target";
const std::string kTargetSecret = "target-secret-22";
// What libiscsi's tools print when our target rejects their first command after the login.
const std::string kRejected = "Request was rejected with reason: 0x05 (Command Not Supported)";
// libiscsi's tools exit with 10 on any failure.
constexpr int kToolFailure = 10;

class LibiscsiTarget : public ::testing::Test {
 protected:
  void TearDown() override {
    if (m_serve.port() == 0) return;  // never started: the failure is reported already
    // Whatever the peer did, our target must still be running and stop cleanly on SIGTERM.
    EXPECT_TRUE(m_serve.running()) << "multichap serve died:\n" << m_serve.log();
    const Serve::StopReport report = m_serve.stop();
    EXPECT_TRUE(report.clean) << report.detail << "\nserve log:\n" << m_serve.log();
  }

  // multichap serve with one account, our own credentials for mutual CHAP, keys logged.
  void start_serve(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--target",      kIqn,        "--user",   kUser,
                                     "--target-user", kTargetUser, "--verbose"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string why;
    ASSERT_TRUE(m_serve.start(
        args, {{"MULTICHAP_SECRET", kSecret}, {"MULTICHAP_TARGET_SECRET", kTargetSecret}}, why))
        << why;
  }

  RunResult client(const std::vector<std::string>& extra, const std::string& secret = kSecret,
                   const std::string& target_secret = kTargetSecret) {
    std::vector<std::string> argv = {
        libiscsi_client(), "--portal", m_serve.portal(), "--user", kUser, "--timeout", "5"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, {{"ISCSI_SECRET", secret}, {"ISCSI_TARGET_SECRET", target_secret}},
               Millis(30000));
  }

  std::string url(const std::string& secret = kSecret) const {
    return "iscsi://" + kUser + "%" + secret + "@" + m_serve.portal() + "/" + kIqn + "/0";
  }

  // After a libiscsi tool: it ended by itself (no hang), without a crash, reporting failure, and
  // our target still accepts a fresh login and logout.
  void expect_tool_failed_cleanly(const RunResult& r) {
    EXPECT_FALSE(r.timed_out) << r.describe();
    EXPECT_EQ(r.exit_code, kToolFailure) << r.describe();
    const RunResult again = client({"--target", kIqn});
    EXPECT_EQ(again.exit_code, 0) << "target unhealthy after the tool:\n"
                                  << again.describe() << "\nserve log:\n"
                                  << m_serve.log();
  }

  TempDir m_dir;
  Serve m_serve{m_dir};
};

// --- login and logout through libiscsi's API, on every backend built in ----------------------

class LibiscsiLogin : public LibiscsiTarget, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { start_serve({"--backend", GetParam()}); }
};

TEST_P(LibiscsiLogin, Md5OneWay) {
  const RunResult r = client({"--target", kIqn});
  ASSERT_EQ(r.exit_code, 0) << r.describe() << "\nserve log:\n" << m_serve.log();
  EXPECT_TRUE(contains(r.out, "login ok: normal session, mutual=no")) << r.describe();
  EXPECT_TRUE(contains(r.out, "logout ok")) << r.describe();
  ASSERT_TRUE(m_serve.wait_for_log("logout from ", Millis(3000))) << m_serve.log();
  const std::string log = m_serve.log();
  EXPECT_TRUE(contains(log, "  <- CHAP_A=5\n")) << log;  // libiscsi offers MD5 only
  EXPECT_TRUE(contains(log, "  -> CHAP_A=5 CHAP_I=")) << log;
  EXPECT_TRUE(contains(log, "succeeded: algorithm=md5 mutual=no")) << log;
}

// libiscsi's mutual challenge comes as upper-case hex ("0x7E76..."): we must accept it.
TEST_P(LibiscsiLogin, Md5MutualWithUpperCaseHexChallenge) {
  const RunResult r = client({"--target", kIqn, "--target-user", kTargetUser});
  ASSERT_EQ(r.exit_code, 0) << r.describe() << "\nserve log:\n" << m_serve.log();
  EXPECT_TRUE(contains(r.out, "login ok: normal session, mutual=yes")) << r.describe();
  EXPECT_TRUE(contains(r.out, "logout ok")) << r.describe();
  ASSERT_TRUE(m_serve.wait_for_log("logout from ", Millis(3000))) << m_serve.log();
  const std::string log = m_serve.log();
  EXPECT_TRUE(std::regex_search(log, std::regex("<- CHAP_N=" + kUser +
                                                " CHAP_R=<masked, 16 bytes> CHAP_I=[0-9]+ "
                                                "CHAP_C=0x[0-9A-F]{8}\\.\\.\\.\\(32 bytes\\)")))
      << log;
  EXPECT_TRUE(contains(log, "-> CHAP_N=" + kTargetUser + " CHAP_R=<masked, 16 bytes>")) << log;
  EXPECT_TRUE(contains(log, "succeeded: algorithm=md5 mutual=yes")) << log;
}

INSTANTIATE_TEST_SUITE_P(Backends, LibiscsiLogin,
                         ::testing::ValuesIn(multichap::test::backend_names()),
                         multichap::test::BackendParamName{});

// --- more logins (default backend) -------------------------------------------------------------

class LibiscsiServe : public LibiscsiTarget {
 protected:
  void SetUp() override { start_serve(); }
};

TEST_F(LibiscsiServe, DiscoverySessionLoginLogout) {
  const RunResult r = client({"--discovery"});
  ASSERT_EQ(r.exit_code, 0) << r.describe() << "\nserve log:\n" << m_serve.log();
  EXPECT_TRUE(contains(r.out, "login ok: discovery session")) << r.describe();
  ASSERT_TRUE(m_serve.wait_for_log("logout from ", Millis(3000))) << m_serve.log();
  EXPECT_TRUE(contains(m_serve.log(), "succeeded: algorithm=md5 mutual=no")) << m_serve.log();
}

TEST_F(LibiscsiServe, WrongSecretIsRefusedWith0x0201) {
  const RunResult r = client({"--target", kIqn}, "not-the-right-one");
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(contains(r.out, "login failed:")) << r.describe();
  EXPECT_TRUE(contains(r.out, "Authentication failure")) << r.describe();
  ASSERT_TRUE(m_serve.wait_for_log("failed: 0x0201 authentication failure", Millis(3000)))
      << m_serve.log();
  EXPECT_FALSE(contains(m_serve.log(), "succeeded")) << m_serve.log();
}

// libiscsi expects another secret from us: it must refuse our CHAP_R and drop the connection;
// our target must not count a successful login.
TEST_F(LibiscsiServe, LibiscsiRejectsOurResponseWithWrongTargetSecret) {
  const RunResult r =
      client({"--target", kIqn, "--target-user", kTargetUser}, kSecret, "not-the-target-secret");
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(contains(r.out, "login failed: Authentication failed. Invalid CHAP_R response"))
      << r.describe();
  ASSERT_TRUE(m_serve.wait_for_log("abandoned: connection closed by peer", Millis(3000)))
      << m_serve.log();
  EXPECT_FALSE(contains(m_serve.log(), "succeeded")) << m_serve.log();
}

// A target that forbids MD5 has nothing in common with libiscsi: CHAP_A=Reject, then 0x0201.
TEST_F(LibiscsiTarget, Md5ForbiddenByOurPolicyEndsWithReject) {
  ASSERT_NO_FATAL_FAILURE(start_serve({"--algs", "sha256,sha3-256"}));
  const RunResult r = client({"--target", kIqn});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_TRUE(contains(r.out, "Authentication failure")) << r.describe();
  ASSERT_TRUE(m_serve.wait_for_log("failed: 0x0201", Millis(3000))) << m_serve.log();
  EXPECT_TRUE(contains(m_serve.log(), "  -> CHAP_A=Reject\n")) << m_serve.log();
}

// --- libiscsi's tools --------------------------------------------------------------------------
// They log in (checked in our log), then send a SCSI command (TEST UNIT READY, INQUIRY, READ
// CAPACITY) or a SendTargets Text request; our target answers with a Reject PDU (reason 0x05,
// command not supported) and the tool gives up at once with "Login Failed. Request was rejected
// with reason: 0x05 (Command Not Supported)" (iscsi-ls: "Failed to do discovery on target. :
// ...") and exit status 10, without a logout: our target just sees the connection close.

TEST_F(LibiscsiServe, IscsiInqLogsInThenFailsCleanlyOnTheReject) {
  const RunResult r = run({"iscsi-inq", url()}, {}, Millis(20000));
  ASSERT_TRUE(m_serve.wait_for_log("succeeded: algorithm=md5 mutual=no", Millis(3000)))
      << m_serve.log() << "\n"
      << r.describe();
  EXPECT_TRUE(contains(m_serve.log(), "(iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-inq)"));
  EXPECT_TRUE(contains(r.err, kRejected)) << r.describe();
  expect_tool_failed_cleanly(r);
}

TEST_F(LibiscsiServe, IscsiInqMutualViaUrlLogsIn) {
  const RunResult r = run(
      {"iscsi-inq", url() + "?target_user=" + kTargetUser + "&target_password=" + kTargetSecret},
      {}, Millis(20000));
  ASSERT_TRUE(m_serve.wait_for_log("succeeded: algorithm=md5 mutual=yes", Millis(3000)))
      << m_serve.log() << "\n"
      << r.describe();
  EXPECT_TRUE(contains(r.err, kRejected)) << r.describe();
  expect_tool_failed_cleanly(r);
}

TEST_F(LibiscsiServe, IscsiReadcapacity16LogsInThenFailsCleanlyOnTheReject) {
  const RunResult r = run({"iscsi-readcapacity16", url()}, {}, Millis(20000));
  ASSERT_TRUE(m_serve.wait_for_log("succeeded: algorithm=md5 mutual=no", Millis(3000)))
      << m_serve.log() << "\n"
      << r.describe();
  EXPECT_TRUE(contains(r.err, kRejected)) << r.describe();
  expect_tool_failed_cleanly(r);
}

// iscsi-ls opens a Discovery session (CHAP too, with the target's own account: serve's
// one-target form answers discovery with it) and sends SendTargets=All: it lists our target.
TEST_F(LibiscsiServe, IscsiLsLogsIntoDiscoveryAndListsTheTarget) {
  const RunResult r = run({"iscsi-ls", "iscsi://" + kUser + "%" + kSecret + "@" + m_serve.portal()},
                          {}, Millis(20000));
  ASSERT_TRUE(m_serve.wait_for_log("succeeded: algorithm=md5 mutual=no", Millis(3000)))
      << m_serve.log() << "\n"
      << r.describe();
  EXPECT_TRUE(contains(m_serve.log(), "SessionType=Discovery")) << m_serve.log();
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "Target:" + kIqn + " Portal:" + m_serve.portal() + ",1"))
      << r.describe();
}

TEST_F(LibiscsiServe, IscsiInqWithWrongSecretReportsAuthenticationFailure) {
  const RunResult r = run({"iscsi-inq", url("not-the-right-one")}, {}, Millis(20000));
  EXPECT_TRUE(contains(r.err, "Status: Authentication failure(513)")) << r.describe();
  ASSERT_TRUE(m_serve.wait_for_log("failed: 0x0201 authentication failure", Millis(3000)))
      << m_serve.log();
  expect_tool_failed_cleanly(r);
}

}  // namespace
}  // namespace interop
