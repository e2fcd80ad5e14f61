// SPDX-License-Identifier: BSD-2-Clause
// Our initiator against the targets in the field (issue 14): istgt 0.4 (MD5 only, 1,024-byte
// challenges, ~1 s per login), tgtd with the default offer (SHA-1 numbered 7: reached through the
// offer fallback), and tgtd's discovery CHAP (accounts bound without --tid, as tgt-admin does)
// with `multichap discover` and `multichap login --all`.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tests/interop/harness.h"

namespace interop {
namespace {

const std::string kUser = "interop-initiator";
const std::string kSecret = "initiator-secret-1";  // >= 12 bytes (RFC 7143 §9.2.1)
const std::string kTargetUser = "interop-target";
const std::string kTargetSecret = "target-secret-22";

RunResult cli(std::vector<std::string> args, const std::string& secret = kSecret,
              const std::string& target_secret = "") {
  args.insert(args.begin(), multichap_cli());
  Env env = {{"MULTICHAP_SECRET", secret}};
  if (!target_secret.empty()) env.emplace_back("MULTICHAP_TARGET_SECRET", target_secret);
  return run(args, env, Millis(30000));
}

// ---- istgt ------------------------------------------------------------------------------------

class IstgtInitiator : public ::testing::Test {
 protected:
  void start(bool mutual) {
    std::string why;
    Istgt::Account account{kUser, kSecret, kTargetUser, kTargetSecret};
    ASSERT_TRUE(m_istgt.start(account, mutual, why)) << why;
  }
  void TearDown() override {
    EXPECT_TRUE(m_istgt.stop()) << "istgt log:\n" << m_istgt.log();
    if (HasFailure()) std::cout << "istgt log:\n" << m_istgt.log();
  }

  RunResult login(const std::vector<std::string>& extra, const std::string& secret = kSecret,
                  const std::string& target_secret = "") {
    std::vector<std::string> args = {"login",    "--portal",           m_istgt.portal(),
                                     "--target", Istgt::target_name(), "--user",
                                     kUser,      "--timeout",          "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli(args, secret, target_secret);
  }

  TempDir m_dir;
  Istgt m_istgt{m_dir};
};

// istgt knows only MD5 and picks 5 from our default list: no fallback needed.
TEST_F(IstgtInitiator, OneWayMd5AndTheDefaultOfferReachesMd5ThroughItsAnswer) {
  start(false);
  const RunResult r = login({});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "-> [security T=0] CHAP_A=8,7,6,5\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "<- [security T=0] CHAP_A=5 CHAP_I=")) << r.describe();
  EXPECT_TRUE(contains(r.out, "...(1024 bytes)")) << r.describe();  // istgt's challenge size
  EXPECT_TRUE(contains(r.out, "CHAP_N=" + kUser + " CHAP_R=<masked, 16 bytes>\n")) << r.describe();
  EXPECT_FALSE(contains(r.out, "fallback:")) << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=md5 mutual=no")) << r.describe();
  EXPECT_TRUE(contains(r.out, "logout cid=0: ok")) << r.describe();

  const RunResult md5 = login({"--algs", "md5", "--quiet"});
  ASSERT_EQ(md5.exit_code, 0) << md5.describe();
  EXPECT_EQ(md5.out, "login succeeded: algorithm=md5 mutual=no\n") << md5.describe();
}

TEST_F(IstgtInitiator, MutualMd5WithTheDefaultOffer) {
  start(true);
  const RunResult r = login({"--target-user", kTargetUser}, kSecret, kTargetSecret);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "<- [security T=0] CHAP_A=5 CHAP_I=")) << r.describe();
  EXPECT_TRUE(contains(r.out, "<- [security T=1 -> operational] CHAP_N=" + kTargetUser +
                                  " CHAP_R=<masked, 16 bytes>"))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=md5 mutual=yes")) << r.describe();
}

TEST_F(IstgtInitiator, WrongSecretsExitOne) {
  start(true);
  const RunResult wrong = login({"--target-user", kTargetUser}, "not-the-secret-1", kTargetSecret);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.describe();
  EXPECT_TRUE(contains(wrong.err, "authentication failed: the target answered 0x0201"))
      << wrong.describe();
  EXPECT_FALSE(contains(wrong.out, "fallback:")) << wrong.describe();  // after CHAP_R: our fault
  const RunResult impostor =
      login({"--target-user", kTargetUser}, kSecret, "not-the-target-secret");
  EXPECT_EQ(impostor.exit_code, 1) << impostor.describe();
  EXPECT_TRUE(contains(impostor.err, "target's CHAP_R does not match")) << impostor.describe();
  // istgt's quirk: a lone unknown CHAP_A gets 0x0201, not CHAP_A=Reject; nothing narrower is
  // left inside --algs, so that is the end.
  const RunResult lone =
      login({"--algs", "sha256", "--target-user", kTargetUser}, kSecret, kTargetSecret);
  EXPECT_EQ(lone.exit_code, 1) << lone.describe();
  EXPECT_TRUE(contains(lone.out, "-> [security T=0] CHAP_A=7\n<- status 0x0201"))
      << lone.describe();
  EXPECT_TRUE(contains(lone.out, "fallback: no narrower offer left within the allowed sha256"))
      << lone.describe();
}

// ---- tgtd -------------------------------------------------------------------------------------

const std::string kDisk1 = "iqn.2026-11.org.multichap.interop:field-disk1";
const std::string kDisk2 = "iqn.2026-11.org.multichap.interop:field-disk2";
const std::string kDiscoveryUser = "discovery-initiator";
const std::string kDiscoverySecret = "discovery-secret-3";
const std::string kDiscoveryTargetUser = "discovery-target";
const std::string kDiscoveryTargetSecret = "discovery-target-secret-4";

class TgtField : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(m_tgtd.start(why)) << why;
    ASSERT_TRUE(m_tgtd.add_target(1, kDisk1, why)) << why;
    ASSERT_TRUE(m_tgtd.add_target(2, kDisk2, why)) << why;
    ASSERT_TRUE(m_tgtd.add_account(1, kUser, kSecret, false, why)) << why;
    ASSERT_TRUE(
        m_tgtd.tgtadm({"--op", "bind", "--mode", "account", "--tid", "2", "--user", kUser}, why))
        << why;
  }
  void TearDown() override {
    const Tgtd::StopReport report = m_tgtd.stop();
    EXPECT_TRUE(report.graceful) << report.detail << "\ntgtd log:\n" << m_tgtd.log();
  }
  void require_discovery_chap(bool mutual) {
    std::string why;
    ASSERT_TRUE(m_tgtd.add_discovery_account(kDiscoveryUser, kDiscoverySecret, false, why)) << why;
    if (mutual) {
      ASSERT_TRUE(
          m_tgtd.add_discovery_account(kDiscoveryTargetUser, kDiscoveryTargetSecret, true, why))
          << why;
    }
  }
  std::string listing() const {
    return m_tgtd.portal() + ",1 " + kDisk1 + "\n" + m_tgtd.portal() + ",1 " + kDisk2 + "\n" +
           "discovered 2 target(s) at " + m_tgtd.portal() + "\n";
  }

  TempDir m_dir;
  Tgtd m_tgtd{m_dir};
};

// The done-when of issue 14: no flag needed. tgt picks 7 (its SHA-1) from 8,7,6,5, refuses our
// SHA-256 answer with 0x0200; the fallback offers the list without 7 and tgt picks MD5.
TEST_F(TgtField, DefaultOfferLogsInThroughTheFallback) {
  const RunResult r = cli({"login", "--portal", m_tgtd.portal(), "--target", kDisk1, "--user",
                           kUser, "--timeout", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "-> [security T=0] CHAP_A=8,7,6,5\n<- [security T=0] CHAP_A=7 "))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "<- status 0x0200 initiator error\n")) << r.describe();
  EXPECT_TRUE(contains(r.out,
                       "fallback: target refused our SHA-256 answer to CHAP_A=7 (it may number "
                       "SHA-1 as 7), offering 8,6,5\nattempt 2/4: connecting to "))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "-> [security T=0] CHAP_A=8,6,5\n<- [security T=0] CHAP_A=5 "))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=md5 mutual=no")) << r.describe();
  EXPECT_TRUE(contains(r.out, "logout cid=0: ok")) << r.describe();
}

// Never outside --algs: without MD5, tgt has nothing left for us and the login fails.
TEST_F(TgtField, TheFallbackNeverGoesBelowTheAllowedSet) {
  const RunResult r = cli({"login", "--portal", m_tgtd.portal(), "--target", kDisk1, "--user",
                           kUser, "--algs", "sha3-256,sha256,sha1", "--timeout", "5"});
  EXPECT_EQ(r.exit_code, 3) << r.describe();
  EXPECT_TRUE(contains(r.out, "offering 8,6\n")) << r.describe();
  EXPECT_TRUE(contains(r.out, "fallback: no narrower offer left")) << r.describe();
  EXPECT_FALSE(contains(r.out, "CHAP_A=5")) << r.describe();
  EXPECT_FALSE(contains(r.out, "login succeeded")) << r.describe();
}

TEST_F(TgtField, DiscoverWithoutChap) {
  const RunResult r = cli({"discover", "--portal", m_tgtd.portal(), "--quiet"}, "");
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, listing()) << r.describe();
}

TEST_F(TgtField, DiscoverWithDiscoveryChapOneWayAndMutual) {
  require_discovery_chap(true);
  // Offering no CHAP is refused now that discovery needs it.
  const RunResult none = cli({"discover", "--portal", m_tgtd.portal(), "--quiet"}, "");
  EXPECT_EQ(none.exit_code, 1) << none.describe();

  const RunResult one_way =
      cli({"discover", "--portal", m_tgtd.portal(), "--user", kDiscoveryUser}, kDiscoverySecret);
  ASSERT_EQ(one_way.exit_code, 0) << one_way.describe();
  EXPECT_TRUE(contains(one_way.out, "-> [text] SendTargets=All\n")) << one_way.describe();
  EXPECT_TRUE(contains(one_way.out, "CHAP_N=" + kDiscoveryUser)) << one_way.describe();
  EXPECT_TRUE(contains(one_way.out, listing())) << one_way.describe();

  const RunResult mutual = cli({"discover", "--portal", m_tgtd.portal(), "--user", kDiscoveryUser,
                                "--target-user", kDiscoveryTargetUser},
                               kDiscoverySecret, kDiscoveryTargetSecret);
  ASSERT_EQ(mutual.exit_code, 0) << mutual.describe();
  EXPECT_TRUE(
      contains(mutual.out, "<- [security T=1 -> operational] CHAP_N=" + kDiscoveryTargetUser))
      << mutual.describe();
  EXPECT_TRUE(contains(mutual.out, listing())) << mutual.describe();

  const RunResult wrong =
      cli({"discover", "--portal", m_tgtd.portal(), "--user", kDiscoveryUser, "--quiet"},
          "not-the-discovery-secret");
  EXPECT_EQ(wrong.exit_code, 1) << wrong.describe();
  const RunResult impostor = cli({"discover", "--portal", m_tgtd.portal(), "--user", kDiscoveryUser,
                                  "--target-user", kDiscoveryTargetUser, "--quiet"},
                                 kDiscoverySecret, "not-the-target-secret-5");
  EXPECT_EQ(impostor.exit_code, 1) << impostor.describe();
  EXPECT_TRUE(contains(impostor.err, "target's CHAP_R does not match")) << impostor.describe();
}

// --all: discovery CHAP from the open-iscsi settings, then every target with the node
// credentials and the default offer (each through the fallback).
TEST_F(TgtField, LoginAllWithAnIscsidConf) {
  require_discovery_chap(false);
  const std::string conf = m_dir.file("iscsid.conf");
  {
    std::ofstream out(conf);
    out << "iscsid.startup = /bin/true\n"
        << "node.session.auth.authmethod = CHAP\n"
        << "node.session.auth.username = " << kUser << "\n"
        << "node.session.auth.password = " << kSecret << "\n"
        << "discovery.sendtargets.auth.authmethod = CHAP\n"
        << "discovery.sendtargets.auth.username = " << kDiscoveryUser << "\n"
        << "discovery.sendtargets.auth.password = " << kDiscoverySecret << "\n";
  }
  ASSERT_EQ(::chmod(conf.c_str(), 0600), 0);  // it holds passwords: private, or refused
  const RunResult r = run({multichap_cli(), "login", "--iscsid-conf", conf, "--portal",
                           m_tgtd.portal(), "--all", "--timeout", "5"},
                          {}, Millis(30000));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=md5 mutual=no target=" + kDisk1 + "\n"))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "login succeeded: algorithm=md5 mutual=no target=" + kDisk2 + "\n"))
      << r.describe();
  EXPECT_TRUE(contains(r.out, "CHAP_N=" + kDiscoveryUser)) << r.describe();
  EXPECT_FALSE(contains(r.all(), kSecret)) << r.describe();
  EXPECT_FALSE(contains(r.all(), kDiscoverySecret)) << r.describe();
}

}  // namespace
}  // namespace interop
