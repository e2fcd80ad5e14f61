// SPDX-License-Identifier: BSD-2-Clause
// tshark as an independent decoder of what we put on the wire: full logins captured on loopback,
// once with us as the initiator (against tgtd) and once with us as the target (libiscsi against
// `multichap serve`). Every PDU must decode as iSCSI, in the expected order, with the expected
// opcodes, stages, status and keys, and without any malformed-packet or warning expert info.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/interop/harness.h"

namespace interop {
namespace {

const std::string kIqn = "iqn.2026-11.org.multichap.interop:captured";
const std::string kUser = "captured-initiator";
const std::string kSecret = "initiator-secret-1";
const std::string kTargetUser = "captured-target";
const std::string kTargetSecret = "target-secret-22";

// tshark's iscsi.opcode values (the immediate bit is a field of its own).
const std::string kLoginRequest = "0x03";
const std::string kLoginResponse = "0x23";
const std::string kLogoutRequest = "0x06";
const std::string kLogoutResponse = "0x26";

std::string dump(const std::vector<DecodedPdu>& pdus) {
  std::ostringstream s;
  for (const auto& p : pdus) s << "  " << p.describe() << "\n";
  return s.str();
}

bool has_any_chap_key(const DecodedPdu& p) {
  for (const char* k : {"CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R", "AuthMethod"}) {
    if (p.has_key(k)) return true;
  }
  return false;
}

// "0x" followed by exactly bytes*2 hex digits.
bool is_hex_of(const std::string& v, std::size_t bytes) {
  if (v.size() != 2 + bytes * 2 || (v.compare(0, 2, "0x") != 0 && v.compare(0, 2, "0X") != 0))
    return false;
  return v.find_first_not_of("0123456789abcdefABCDEF", 2) == std::string::npos;
}

struct Expectation {
  std::uint16_t target_port = 0;
  std::string chap_a;  // the algorithm number the target picks
  std::size_t digest = 16;
  bool mutual = false;
  std::string target_chap_n;  // mutual: the name the target answers with
  bool complete = true;       // false: the login stops after the security stage (our check failed)
};

// The security stage (6 PDUs), then the operational stage and a logout (4 more) when complete.
void check_login_on_the_wire(const std::vector<DecodedPdu>& pdus, const Expectation& e) {
  const std::size_t want = e.complete ? 10 : 6;
  ASSERT_EQ(pdus.size(), want) << "decoded:\n" << dump(pdus);
  for (std::size_t i = 0; i < pdus.size(); ++i) {
    const DecodedPdu& p = pdus[i];
    SCOPED_TRACE("PDU " + std::to_string(i) + ": " + p.describe());
    const bool request = i % 2 == 0;
    EXPECT_EQ(request ? p.dst_port : p.src_port, e.target_port)
        << "requests and responses alternate";
    EXPECT_EQ(p.opcodes.find('|'), std::string::npos) << "one PDU per frame";
    if (i < 8) {
      EXPECT_EQ(p.opcode, request ? kLoginRequest : kLoginResponse);
      if (!request) {
        EXPECT_EQ(p.status, "0x0000");
      }
    }
  }
  // Security stage (CSG 0).
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(pdus[i].csg, "0x00") << pdus[i].describe();
  EXPECT_TRUE(pdus[0].has_key("InitiatorName")) << pdus[0].describe();
  EXPECT_EQ(pdus[0].value("TargetName"), kIqn) << pdus[0].describe();
  EXPECT_EQ(pdus[0].value("SessionType"), "Normal") << pdus[0].describe();
  EXPECT_EQ(pdus[0].value("AuthMethod").rfind("CHAP", 0), 0u) << pdus[0].describe();
  EXPECT_EQ(pdus[1].value("AuthMethod"), "CHAP") << pdus[1].describe();
  EXPECT_EQ(pdus[1].transit, "0") << pdus[1].describe();
  EXPECT_TRUE(pdus[2].has_key("CHAP_A")) << pdus[2].describe();
  EXPECT_EQ(pdus[2].keys.size(), 1u) << pdus[2].describe();
  EXPECT_EQ(pdus[3].value("CHAP_A"), e.chap_a) << pdus[3].describe();
  EXPECT_TRUE(pdus[3].has_key("CHAP_I")) << pdus[3].describe();
  EXPECT_EQ(pdus[3].value("CHAP_C").rfind("0x", 0), 0u) << pdus[3].describe();
  EXPECT_EQ(pdus[3].transit, "0") << pdus[3].describe();
  // The initiator's response: T=1 towards the operational stage.
  EXPECT_EQ(pdus[4].transit, "1") << pdus[4].describe();
  EXPECT_EQ(pdus[4].nsg, "0x01") << pdus[4].describe();
  EXPECT_TRUE(pdus[4].has_key("CHAP_N")) << pdus[4].describe();
  EXPECT_TRUE(is_hex_of(pdus[4].value("CHAP_R"), e.digest)) << pdus[4].describe();
  EXPECT_EQ(pdus[4].has_key("CHAP_I"), e.mutual) << pdus[4].describe();
  EXPECT_EQ(pdus[4].has_key("CHAP_C"), e.mutual) << pdus[4].describe();
  EXPECT_EQ(pdus[5].transit, "1") << pdus[5].describe();
  EXPECT_EQ(pdus[5].nsg, "0x01") << pdus[5].describe();
  if (e.mutual) {
    EXPECT_EQ(pdus[5].value("CHAP_N"), e.target_chap_n) << pdus[5].describe();
    EXPECT_TRUE(is_hex_of(pdus[5].value("CHAP_R"), e.digest)) << pdus[5].describe();
  } else {
    EXPECT_FALSE(has_any_chap_key(pdus[5])) << pdus[5].describe();
  }
  if (!e.complete) return;
  // Operational stage (CSG 1 -> NSG 3), no authentication keys.
  for (std::size_t i = 6; i < 8; ++i) {
    EXPECT_EQ(pdus[i].csg, "0x01") << pdus[i].describe();
    EXPECT_EQ(pdus[i].transit, "1") << pdus[i].describe();
    EXPECT_EQ(pdus[i].nsg, "0x03") << pdus[i].describe();
    EXPECT_FALSE(has_any_chap_key(pdus[i])) << pdus[i].describe();
  }
  EXPECT_EQ(pdus[8].opcode, kLogoutRequest) << pdus[8].describe();
  EXPECT_EQ(pdus[9].opcode, kLogoutResponse) << pdus[9].describe();
}

class TsharkCapture : public ::testing::Test {
 protected:
  std::string capture_file() const { return m_dir.file("login.pcapng"); }

  void start_capture(std::uint16_t port) {
    std::string why;
    ASSERT_TRUE(m_capture.start(port, capture_file(), m_dir.file("tshark.log"), why)) << why;
  }

  // Stops the capture and decodes it; checks that nothing is malformed.
  std::vector<DecodedPdu> finish_capture(std::uint16_t port) {
    EXPECT_TRUE(m_capture.stop()) << "tshark had to be killed:\n" << m_capture.log();
    std::string why;
    auto pdus = decode_iscsi(capture_file(), port, why);
    EXPECT_TRUE(why.empty()) << why;
    EXPECT_FALSE(pdus.empty()) << "no iSCSI PDU in the capture; tshark log:\n"
                               << m_capture.log() << "\nframes:\n"
                               << run({"tshark", "-r", capture_file(), "-n"}).all();
    EXPECT_EQ(expert_problems(capture_file(), port), "") << "tshark expert summary:\n"
                                                         << expert_summary(capture_file(), port);
    return pdus;
  }

  TempDir m_dir;
  Capture m_capture;
};

class TsharkTgt : public TsharkCapture {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(m_tgtd.start(why)) << why;
    ASSERT_TRUE(m_tgtd.add_target(1, kIqn, why)) << why;
    ASSERT_TRUE(m_tgtd.add_account(1, kUser, kSecret, false, why)) << why;
    ASSERT_TRUE(m_tgtd.add_account(1, kTargetUser, kTargetSecret, true, why)) << why;
    ASSERT_NO_FATAL_FAILURE(start_capture(m_tgtd.port()));
  }
  void TearDown() override {
    const Tgtd::StopReport report = m_tgtd.stop();
    EXPECT_TRUE(report.graceful) << report.detail;
    EXPECT_TRUE(report.files_removed) << report.detail;
  }
  RunResult login(const std::vector<std::string>& extra, const std::string& target_secret) {
    std::vector<std::string> argv = {multichap_cli(), "login",     "--portal",  m_tgtd.portal(),
                                     "--target",      kIqn,        "--user",    kUser,
                                     "--target-user", kTargetUser, "--timeout", "5"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, {{"MULTICHAP_SECRET", kSecret}, {"MULTICHAP_TARGET_SECRET", target_secret}},
               Millis(30000));
  }

  Tgtd m_tgtd{m_dir};
};

TEST_F(TsharkTgt, OurInitiatorMd5MutualLoginAndLogout) {
  const RunResult r = login({"--algs", "md5"}, kTargetSecret);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto pdus = finish_capture(m_tgtd.port());
  Expectation e;
  e.target_port = m_tgtd.port();
  e.chap_a = "5";
  e.digest = 16;
  e.mutual = true;
  e.target_chap_n = kTargetUser;
  check_login_on_the_wire(pdus, e);
  if (pdus.size() > 2) {
    EXPECT_EQ(pdus[0].value("AuthMethod"), "CHAP") << pdus[0].describe();
    EXPECT_EQ(pdus[0].transit, "0") << pdus[0].describe();
    EXPECT_EQ(pdus[2].value("CHAP_A"), "5") << pdus[2].describe();
    // Our challenge: 32 random bytes, as lower-case hex.
    EXPECT_TRUE(is_hex_of(pdus[4].value("CHAP_C"), 32)) << pdus[4].describe();
  }
}

TEST_F(TsharkTgt, OurInitiatorSha1WithTgtNumbering) {
  const RunResult r = login({"--algs", "sha1,md5", "--legacy-tgt-sha1"}, kTargetSecret);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto pdus = finish_capture(m_tgtd.port());
  Expectation e;
  e.target_port = m_tgtd.port();
  e.chap_a = "7";  // tgt's SHA-1
  e.digest = 20;
  e.mutual = true;
  e.target_chap_n = kTargetUser;
  check_login_on_the_wire(pdus, e);
  if (pdus.size() > 2) {
    EXPECT_EQ(pdus[2].value("CHAP_A"), "7,5") << pdus[2].describe();
  }
}

// A wrong target response: we stop right after the target's CHAP_R, send no further PDU, and
// we are the side that closes the TCP connection (the first FIN comes from our port).
TEST_F(TsharkTgt, OurInitiatorClosesTheConnectionOnAWrongTargetResponse) {
  const RunResult r = login({"--algs", "md5"}, "not-the-target-secret");
  ASSERT_EQ(r.exit_code, 1) << r.describe();
  const auto pdus = finish_capture(m_tgtd.port());
  Expectation e;
  e.target_port = m_tgtd.port();
  e.chap_a = "5";
  e.digest = 16;
  e.mutual = true;
  e.target_chap_n = kTargetUser;
  e.complete = false;
  check_login_on_the_wire(pdus, e);
  const auto fins = fin_sources(capture_file(), m_tgtd.port());
  ASSERT_FALSE(fins.empty()) << "no FIN captured";
  EXPECT_EQ(count_fins_in_pcapng(capture_file()), fins.size());  // the harness's own reader
  EXPECT_NE(fins.front(), m_tgtd.port()) << "tgtd closed first; we should have";
}

class TsharkServe : public TsharkCapture {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(m_serve.start(
        {"--target", kIqn, "--user", kUser, "--target-user", kTargetUser},
        {{"MULTICHAP_SECRET", kSecret}, {"MULTICHAP_TARGET_SECRET", kTargetSecret}}, why))
        << why;
    ASSERT_NO_FATAL_FAILURE(start_capture(m_serve.port()));
  }
  void TearDown() override {
    const Serve::StopReport report = m_serve.stop();
    EXPECT_TRUE(report.clean) << report.detail << "\n" << m_serve.log();
  }
  Serve m_serve{m_dir};
};

TEST_F(TsharkServe, LibiscsiMd5MutualLoginAndLogoutAgainstOurTarget) {
  const RunResult r =
      run({libiscsi_client(), "--portal", m_serve.portal(), "--target", kIqn, "--user", kUser,
           "--target-user", kTargetUser, "--timeout", "5"},
          {{"ISCSI_SECRET", kSecret}, {"ISCSI_TARGET_SECRET", kTargetSecret}}, Millis(30000));
  ASSERT_EQ(r.exit_code, 0) << r.describe() << "\nserve log:\n" << m_serve.log();
  const auto pdus = finish_capture(m_serve.port());
  Expectation e;
  e.target_port = m_serve.port();
  e.chap_a = "5";
  e.digest = 16;
  e.mutual = true;
  e.target_chap_n = kTargetUser;
  check_login_on_the_wire(pdus, e);
  if (pdus.size() > 3) {
    // Our challenge: 32 bytes (--challenge-size default), lower-case hex.
    const std::string c = pdus[3].value("CHAP_C");
    EXPECT_TRUE(is_hex_of(c, 32)) << pdus[3].describe();
    EXPECT_EQ(c.find_first_of("ABCDEF"), std::string::npos) << pdus[3].describe();
    // The first response of a Normal session carries TargetPortalGroupTag.
    EXPECT_EQ(pdus[1].value("TargetPortalGroupTag"), "1") << pdus[1].describe();
  }
}

}  // namespace
}  // namespace interop
