// SPDX-License-Identifier: BSD-2-Clause
// `multichap serve --config examples/target/target.toml` against real initiators: open-iscsi's
// iscsiadm (SendTargets discovery in user space, in a private mount namespace: see
// tests/interop/iscsiadm_ns.sh) with discovery CHAP over each algorithm, one-way and mutual;
// libiscsi's iscsi-ls; our own initiator for a Normal login outside a target's ACL (0x0202); and
// a configuration reload (SIGHUP, atomic rename) while a session stays established.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "tests/interop/harness.h"

namespace interop {
namespace {

const std::string kHostA = "iqn.2026-11.org.multichap:host-a";
const std::string kHostB = "iqn.2026-11.org.multichap:host-b";
const std::string kDisk1 = "iqn.2026-11.org.multichap:disk1";
const std::string kSecure = "iqn.2026-11.org.multichap:secure";
const std::string kPublic = "iqn.2026-11.org.multichap:public";
const std::string kDiscoSecret = "disco-secret-0003";
const std::string kAliceSecret = "alice-secret-0001";
const std::string kTargetSecret = "target-secret-004";
const Env kSecrets = {{"ALICE_SECRET", kAliceSecret},
                      {"BOB_SECRET", "bob-secret-00002"},
                      {"DISCO_SECRET", kDiscoSecret},
                      {"TARGET_SECRET", kTargetSecret}};

std::string script() {
  return std::string(MULTICHAP_SOURCE_DIR) + "/tests/interop/iscsiadm_ns.sh";
}

// The example configuration with listen = 127.0.0.1:0, written into dir.
std::string example_config(const TempDir& dir, const std::string& replace_from = "",
                           const std::string& replace_to = "",
                           const std::string& name = "target.toml") {
  std::string text = read_file(std::string(MULTICHAP_SOURCE_DIR) + "/examples/target/target.toml");
  text = std::regex_replace(text, std::regex("listen = \"127.0.0.1:3260\""),
                            "listen = \"127.0.0.1:0\"");
  if (!replace_from.empty()) text = std::regex_replace(text, std::regex(replace_from), replace_to);
  const std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

// iscsiadm with private state: one iface record (the InitiatorName), one discovery record.
class Iscsiadm {
 public:
  Iscsiadm(const TempDir& dir, const std::string& name)
      : m_state(dir.file("iscsi-" + std::to_string(++s_count))), m_initiator(name) {}

  RunResult adm(std::vector<std::string> args) const {
    std::vector<std::string> argv = {"bash", script(), m_state};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {}, Millis(30000));
  }
  // Makes the records; auth: "" (none), or CHAP with user/secret and, when in_user is set, mutual.
  bool setup(const std::string& portal, const std::string& algs, const std::string& user,
             const std::string& secret, const std::string& in_user, const std::string& in_secret,
             std::string& why) {
    m_portal = portal;
    std::vector<std::vector<std::string>> steps = {
        {"-m", "iface", "-I", "mc0", "-o", "new"},
        {"-m", "iface", "-I", "mc0", "-o", "update", "-n", "iface.initiatorname", "-v",
         m_initiator},
        {"-m", "iface", "-I", "mc0", "-o", "update", "-n", "iface.transport_name", "-v", "tcp"},
        {"-m", "discoverydb", "-t", "st", "-p", portal, "-I", "mc0", "-o", "new"}};
    const auto set = [&](const std::string& key, const std::string& value) {
      steps.push_back({"-m", "discoverydb", "-t", "st", "-p", portal, "-I", "mc0", "-o", "update",
                       "-n", key, "-v", value});
    };
    set("discovery.sendtargets.reopen_max", "0");  // one login per attempt (peers.md)
    if (!user.empty()) {
      set("discovery.sendtargets.auth.authmethod", "CHAP");
      set("discovery.sendtargets.auth.username", user);
      set("discovery.sendtargets.auth.password", secret);
      set("node.session.auth.chap_algs", algs);  // on the discovery record (peers.md)
      if (!in_user.empty()) {
        set("discovery.sendtargets.auth.username_in", in_user);
        set("discovery.sendtargets.auth.password_in", in_secret);
      }
    }
    for (const auto& s : steps) {
      const RunResult r = adm(s);
      if (r.exit_code != 0) {
        why = r.describe();
        return false;
      }
    }
    return true;
  }
  bool update(const std::string& key, const std::string& value, std::string& why) const {
    const RunResult r = adm({"-m", "discoverydb", "-t", "st", "-p", m_portal, "-I", "mc0", "-o",
                             "update", "-n", key, "-v", value});
    if (r.exit_code != 0) why = r.describe();
    return r.exit_code == 0;
  }
  RunResult discover() const {
    return adm({"-m", "discoverydb", "-t", "st", "-p", m_portal, "-I", "mc0", "--discover"});
  }

 private:
  static inline int s_count = 0;
  std::string m_state;
  std::string m_initiator;
  std::string m_portal;
};

// The targets of iscsiadm's output lines "127.0.0.1:PORT,1 IQN", sorted.
std::vector<std::string> listed(const std::string& out, const std::string& portal) {
  std::vector<std::string> names;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    const std::string prefix = portal + ",1 ";
    if (line.rfind(prefix, 0) == 0) names.push_back(line.substr(prefix.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

class TargetAccounts : public ::testing::Test {
 protected:
  void SetUp() override { start(example_config(m_dir)); }
  void start(const std::string& config) {
    std::string why;
    ASSERT_TRUE(m_serve.start({"--config", config}, kSecrets, why)) << why;
  }
  void TearDown() override {
    if (m_serve.port() == 0) return;
    EXPECT_TRUE(m_serve.running()) << m_serve.log();
    const Serve::StopReport report = m_serve.stop();
    EXPECT_TRUE(report.clean) << report.detail << "\n" << m_serve.log();
  }

  // iscsiadm discovery as `initiator` with discovery CHAP over algs, mutual when asked.
  RunResult discover(const std::string& initiator, const std::string& algs, bool mutual,
                     const std::string& secret = kDiscoSecret) {
    Iscsiadm adm(m_dir, initiator);
    std::string why;
    EXPECT_TRUE(adm.setup(m_serve.portal(), algs, "disco", secret, mutual ? "target-id" : "",
                          mutual ? kTargetSecret : "", why))
        << why;
    return adm.discover();
  }

  void expect_discovery(const std::string& algs, const std::string& alg_logged) {
    for (const bool mutual : {false, true}) {
      SCOPED_TRACE(algs + (mutual ? " mutual" : " one-way"));
      const RunResult a = discover(kHostA, algs, mutual);
      ASSERT_EQ(a.exit_code, 0) << a.describe() << "\n" << m_serve.log();
      EXPECT_EQ(listed(a.out, m_serve.portal()),
                (std::vector<std::string>{kDisk1, kPublic, kSecure}))
          << a.describe();
      // host-b is not in the ACL of :secure: it does not see it.
      const RunResult b = discover(kHostB, algs, mutual);
      ASSERT_EQ(b.exit_code, 0) << b.describe() << "\n" << m_serve.log();
      EXPECT_EQ(listed(b.out, m_serve.portal()), (std::vector<std::string>{kDisk1, kPublic}))
          << b.describe();
      EXPECT_TRUE(m_serve.wait_for_log(
          "succeeded: algorithm=" + alg_logged + " mutual=" + (mutual ? "yes" : "no"),
          Millis(3000)))
          << m_serve.log();
    }
  }

  TempDir m_dir;
  Serve m_serve{m_dir};
};

TEST_F(TargetAccounts, IscsiadmDiscoveryChapSha3_256ListsExactlyTheAllowedTargets) {
  expect_discovery("SHA3-256", "sha3-256");
}
TEST_F(TargetAccounts, IscsiadmDiscoveryChapSha256ListsExactlyTheAllowedTargets) {
  expect_discovery("SHA256", "sha256");
}
TEST_F(TargetAccounts, IscsiadmDiscoveryChapSha1ListsExactlyTheAllowedTargets) {
  expect_discovery("SHA1", "sha1");
}
TEST_F(TargetAccounts, IscsiadmDiscoveryChapMd5ListsExactlyTheAllowedTargets) {
  expect_discovery("MD5", "md5");
}

TEST_F(TargetAccounts, IscsiadmDiscoveryWithAWrongSecretIsRefused) {
  const RunResult r = discover(kHostA, "SHA3-256,MD5", false, "not-the-disco-secret");
  EXPECT_EQ(r.exit_code, 24) << r.describe();  // iscsiadm: authentication failure
  EXPECT_TRUE(listed(r.out, m_serve.portal()).empty()) << r.describe();
  EXPECT_TRUE(m_serve.wait_for_log("failed: 0x0201 authentication failure", Millis(3000)))
      << m_serve.log();
}

TEST_F(TargetAccounts, IscsiLsWithChapListsTheSameTargets) {
  const RunResult a =
      run({"iscsi-ls", "-i", kHostA, "iscsi://disco%" + kDiscoSecret + "@" + m_serve.portal()}, {},
          Millis(20000));
  ASSERT_EQ(a.exit_code, 0) << a.describe() << "\n" << m_serve.log();
  for (const auto& t : {kDisk1, kSecure, kPublic}) {
    EXPECT_TRUE(contains(a.out, "Target:" + t + " Portal:" + m_serve.portal() + ",1"))
        << a.describe();
  }
  const RunResult b =
      run({"iscsi-ls", "-i", kHostB, "iscsi://disco%" + kDiscoSecret + "@" + m_serve.portal()}, {},
          Millis(20000));
  ASSERT_EQ(b.exit_code, 0) << b.describe();
  EXPECT_EQ(count_of(b.out, "Target:"), 2u) << b.describe();
  EXPECT_FALSE(contains(b.out, kSecure)) << b.describe();
  const RunResult wrong =
      run({"iscsi-ls", "-i", kHostA, "iscsi://disco%wrong-secret-00@" + m_serve.portal()}, {},
          Millis(20000));
  EXPECT_NE(wrong.exit_code, 0) << wrong.describe();
  EXPECT_FALSE(contains(wrong.out, "Target:")) << wrong.describe();
}

// A SendTargets answer longer than iscsiadm's MaxRecvDataSegmentLength (set to the minimum, 512,
// on the discovery record): 8 more targets with long names, sent in C=1 parts that iscsiadm
// continues. (iscsiadm spends about a second per target found retrying the absent iscsid, so the
// list stays short.)
TEST(TargetAccountsMany, IscsiadmReadsAContinuedSendTargetsAnswer) {
  TempDir dir;
  std::string extra;
  for (int i = 0; i < 8; ++i) {
    extra += "\n[[targets]]\nname = \"iqn.2026-11.org.multichap:" + std::string(150, 'x') + "-" +
             std::to_string(i) + "\"\ninitiators = \"all\"\naccounts = [\"bob\"]\n";
  }
  const std::string config = example_config(dir);
  std::ofstream(config, std::ios::app) << extra;
  Serve serve(dir);
  std::string why;
  ASSERT_TRUE(serve.start({"--config", config}, kSecrets, why)) << why;
  Iscsiadm adm(dir, kHostB);
  ASSERT_TRUE(adm.setup(serve.portal(), "SHA256", "disco", kDiscoSecret, "", "", why)) << why;
  ASSERT_TRUE(adm.update("discovery.sendtargets.iscsi.MaxRecvDataSegmentLength", "512", why))
      << why;
  const RunResult r = adm.discover();
  ASSERT_EQ(r.exit_code, 0) << r.describe() << "\n" << serve.log();
  const auto names = listed(r.out, serve.portal());
  EXPECT_EQ(names.size(), 10u) << r.describe();  // disk1, public and the 8
  const std::string log = serve.log();
  std::smatch pdus;
  ASSERT_TRUE(std::regex_search(log, pdus, std::regex("bytes in ([0-9]+) PDU"))) << log;
  EXPECT_GE(std::stoi(pdus[1]), 4) << log;  // continued: C=1 parts of <= 512 bytes
  EXPECT_EQ(std::count(names.begin(), names.end(), kSecure), 0);
  EXPECT_TRUE(serve.stop().clean) << serve.log();
}

// Two portals (listen = [...]): every target is listed at both, from either.
TEST(TargetAccountsPortals, IscsiadmSeesEveryTargetAtBothPortals) {
  TempDir dir;
  const std::string config = example_config(dir, "listen = \"127.0.0.1:0\"",
                                            "listen = [\"127.0.0.1:0\", \"127.0.0.2:0\"]");
  Serve serve(dir);
  std::string why;
  ASSERT_TRUE(serve.start({"--config", config}, kSecrets, why)) << why;
  ASSERT_TRUE(serve.wait_for_log("also listening on 127.0.0.2:", Millis(3000))) << serve.log();
  const std::string log = serve.log();
  const auto at = log.find("also listening on ") + std::string("also listening on ").size();
  const std::string second = log.substr(at, log.find('\n', at) - at);
  Iscsiadm adm(dir, kHostB);
  ASSERT_TRUE(adm.setup(second, "SHA3-256", "disco", kDiscoSecret, "", "", why)) << why;
  const RunResult r = adm.discover();
  ASSERT_EQ(r.exit_code, 0) << r.describe() << "\n" << serve.log();
  EXPECT_EQ(listed(r.out, second), (std::vector<std::string>{kDisk1, kPublic})) << r.describe();
  EXPECT_EQ(listed(r.out, serve.portal()), (std::vector<std::string>{kDisk1, kPublic}))
      << r.describe();
  EXPECT_TRUE(serve.stop().clean) << serve.log();
}

// The one-target command line answers discovery too: with its own account by default, without
// authentication under --discovery-auth none.
TEST(TargetAccountsCommandLine, DiscoveryUsesTheTargetsAccountUnlessToldOtherwise) {
  TempDir dir;
  const std::string iqn = "iqn.2026-11.org.multichap:one";
  for (const bool none : {false, true}) {
    SCOPED_TRACE(none ? "--discovery-auth none" : "default");
    Serve serve(dir);
    std::string why;
    std::vector<std::string> args = {"--target", iqn, "--user", "u1", "--target-user", "t1"};
    if (none) args.insert(args.end(), {"--discovery-auth", "none"});
    ASSERT_TRUE(serve.start(
        args,
        {{"MULTICHAP_SECRET", "u1-secret-00001"}, {"MULTICHAP_TARGET_SECRET", "t1-secret-00001"}},
        why))
        << why;
    Iscsiadm with_chap(dir, kHostA);
    ASSERT_TRUE(with_chap.setup(serve.portal(), "SHA3-256", "u1", "u1-secret-00001", "t1",
                                "t1-secret-00001", why))
        << why;
    Iscsiadm without(dir, kHostA);
    ASSERT_TRUE(without.setup(serve.portal(), "", "", "", "", "", why)) << why;
    const RunResult a = with_chap.discover();
    const RunResult b = without.discover();
    if (none) {
      // Offered CHAP, the target answers AuthMethod=None: iscsiadm refuses to go on without it.
      EXPECT_EQ(b.exit_code, 0) << b.describe() << serve.log();
      EXPECT_EQ(listed(b.out, serve.portal()), std::vector<std::string>{iqn});
    } else {
      EXPECT_EQ(a.exit_code, 0) << a.describe() << serve.log();
      EXPECT_EQ(listed(a.out, serve.portal()), std::vector<std::string>{iqn});
      EXPECT_NE(b.exit_code, 0) << b.describe();  // CHAP required for discovery
      EXPECT_TRUE(serve.wait_for_log("algorithm=sha3-256 mutual=yes", Millis(3000))) << serve.log();
    }
    EXPECT_TRUE(serve.stop().clean) << serve.log();
  }
}

// Normal logins through our own initiator library: outside the ACL 0x0202, inside it succeeds.
multichap::Result<void> normal_login(std::uint16_t port, const std::string& initiator,
                                     const std::string& target, const std::string& user,
                                     const std::string& secret,
                                     std::unique_ptr<multichap::InitiatorSession>* keep = nullptr) {
  using namespace multichap;
  ChapInitiatorConfig config;
  config.local = ChapCredentials{user, Secret::from_text(secret)};
  MULTICHAP_ASSIGN_OR_RETURN(auto backend, make_default_backend());
  MULTICHAP_ASSIGN_OR_RETURN(auto auth, InitiatorAuthenticator::create(std::move(config), backend));
  InitiatorOptions options;
  options.portal = Endpoint{"127.0.0.1", port};
  options.target_name = target;
  options.initiator_name = initiator;
  options.max_attempts = 1;
  MULTICHAP_ASSIGN_OR_RETURN(auto session, InitiatorSession::create(options, std::move(auth)));
  MULTICHAP_GUARD(session->login());
  if (keep != nullptr) {
    *keep = std::move(session);
    return {};
  }
  return session->logout();
}

TEST_F(TargetAccounts, AnInitiatorOutsideTheAclGets0x0202) {
  const auto open = normal_login(m_serve.port(), kHostB, kPublic, "bob", "bob-secret-00002");
  EXPECT_TRUE(open.has_value()) << open.error().message;  // :public allows all
  // host-b authenticates as alice (a valid account of :disk1 and :secure) but is not in
  // :secure's ACL. (:secure requires mutual CHAP; one-way fails first with 0x0201, so use :disk1
  // with an initiator name in no ACL.)
  const auto outsider = normal_login(m_serve.port(), "iqn.2026-11.org.multichap:stranger", kDisk1,
                                     "alice", kAliceSecret);
  ASSERT_FALSE(outsider.has_value());
  EXPECT_TRUE(m_serve.wait_for_log("failed: 0x0202", Millis(3000))) << m_serve.log();
  EXPECT_TRUE(contains(m_serve.log(), "not in the ACL of " + kDisk1)) << m_serve.log();
  const auto inside = normal_login(m_serve.port(), kHostB, kDisk1, "alice", kAliceSecret);
  EXPECT_TRUE(inside.has_value()) << inside.error().message << "\n" << m_serve.log();
}

// Reloads: a secret in a file, changed in place + SIGHUP, then replaced by an atomic rename.
TEST(TargetReload, SighupAndRenameSwitchTheSecretAndKeepEstablishedSessions) {
  TempDir dir;
  const std::string secret_file = dir.file("alice.secret");
  const auto write_secret = [&](const std::string& path, const std::string& value) {
    std::ofstream(path) << value << "\n";
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  };
  write_secret(secret_file, "alice-old-secret-1");
  const std::string config =
      example_config(dir, "\\[accounts.alice\\]\nsecret_env = \"ALICE_SECRET\"",
                     "[accounts.alice]\nsecret_file = \"alice.secret\"");
  Serve serve(dir);
  std::string why;
  ASSERT_TRUE(serve.start({"--config", config}, kSecrets, why)) << why;
  std::unique_ptr<multichap::InitiatorSession> held;
  auto first = normal_login(serve.port(), kHostA, kDisk1, "alice", "alice-old-secret-1", &held);
  ASSERT_TRUE(first.has_value()) << first.error().message << serve.log();

  write_secret(secret_file, "alice-new-secret-2");
  ASSERT_TRUE(serve.signal(SIGHUP));
  ASSERT_TRUE(serve.wait_for_log("reloaded", Millis(5000))) << serve.log();
  EXPECT_FALSE(
      normal_login(serve.port(), kHostA, kDisk1, "alice", "alice-old-secret-1").has_value());
  EXPECT_TRUE(normal_login(serve.port(), kHostA, kDisk1, "alice", "alice-new-secret-2").has_value())
      << serve.log();

  // An atomic rename of a new configuration (alice's secret now from a second file).
  write_secret(dir.file("alice2.secret"), "alice-third-secret");
  const std::string staged =
      example_config(dir, "\\[accounts.alice\\]\nsecret_env = \"ALICE_SECRET\"",
                     "[accounts.alice]\nsecret_file = \"alice2.secret\"", "target.toml.new");
  ASSERT_EQ(::rename(staged.c_str(), config.c_str()), 0);
  ASSERT_TRUE(serve.wait_for_log("reloaded", Millis(5000), 2)) << serve.log();
  EXPECT_TRUE(normal_login(serve.port(), kHostA, kDisk1, "alice", "alice-third-secret").has_value())
      << serve.log();
  // The session established before both reloads still works.
  ASSERT_TRUE(held->ping().has_value()) << serve.log();
  EXPECT_TRUE(held->logout().has_value()) << serve.log();
  EXPECT_TRUE(serve.stop().clean) << serve.log();
}

}  // namespace
}  // namespace interop
