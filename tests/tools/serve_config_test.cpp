// SPDX-License-Identifier: BSD-2-Clause
// The `multichap serve --config` reader (tools/serve_config.cpp) and `serve --check-config`:
// the example file, strict keys, errors with their line numbers (exit 2), masked secrets, secret
// files that group or other may read refused, inline secrets warned about.
#include "tools/serve_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/support/result_matchers.h"

namespace multichap::cli {
namespace {

class ConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/multichap-config-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
    ::setenv("ALICE_SECRET", "alice-secret-0001", 1);
    ::setenv("BOB_SECRET", "bob-secret-00002", 1);
    ::setenv("DISCO_SECRET", "disco-secret-0003", 1);
    ::setenv("TARGET_SECRET", "target-secret-004", 1);
  }
  void TearDown() override { (void)std::system(("rm -rf " + m_dir).c_str()); }
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const std::string path = m_dir + "/" + name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  // multichap serve --check-config path: exit status and both outputs.
  static std::pair<int, std::string> check(const std::string& path) {
    const std::string cmd =
        std::string(MULTICHAP_CLI_PATH) + " serve --check-config " + path + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }
  std::string m_dir;
};

const char* const kMinimal = R"(listen = "127.0.0.1:0"
[accounts.alice]
secret_file = "alice.secret"
[[targets]]
name = "iqn.2026-11.org.multichap:t"
initiators = "all"
accounts = ["alice"]
)";

TEST_F(ConfigFiles, TheExampleConfigurationLoads) {
  auto config =
      load_serve_config(std::string(MULTICHAP_SOURCE_DIR) + "/examples/target/target.toml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  ASSERT_EQ(config->access->targets.size(), 3u);
  const TargetEntry* secure = config->access->find("iqn.2026-11.org.multichap:secure");
  ASSERT_NE(secure, nullptr);
  EXPECT_FALSE(secure->allow_all);
  EXPECT_TRUE(secure->chap->policy.require_mutual);
  EXPECT_EQ(secure->chap->policy.algorithms.size(), 2u);
  ASSERT_NE(config->access->discovery_chap, nullptr);
  EXPECT_EQ(config->access->discovery_chap->accounts.size(), 2u);
  EXPECT_EQ(config->engine.guard.lockout_failures, 10u);
  EXPECT_TRUE(config->warnings.empty());
}

TEST_F(ConfigFiles, CheckConfigPrintsTheNormalizedFileWithSecretsMasked) {
  write("alice.secret", "the-alice-secret-9\n");
  const std::string path = write("t.toml", std::string(kMinimal) + R"([accounts.bob]
secret = "inline-bob-secret"
)");
  const auto [code, out] = check(path);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("valid"), std::string::npos) << out;
  EXPECT_NE(out.find("secret_file = \"alice.secret\""), std::string::npos) << out;
  EXPECT_NE(out.find("secret = \"********\""), std::string::npos) << out;
  EXPECT_NE(out.find("warning"), std::string::npos) << out;                // the inline secret
  EXPECT_NE(out.find("lockout_failures = 10"), std::string::npos) << out;  // defaults shown
  EXPECT_EQ(out.find("the-alice-secret-9"), std::string::npos) << out;
  EXPECT_EQ(out.find("inline-bob-secret"), std::string::npos) << out;
}

TEST_F(ConfigFiles, ErrorsExitWith2AndNameTheLine) {
  write("alice.secret", "the-alice-secret-9\n");
  struct Case {
    const char* what;
    std::string text;
    const char* line;
    const char* message;
  };
  const std::string m = kMinimal;
  const Case cases[] = {
      {"syntax", m + "\n\n[[targets]\nname = 1\n", ":10:", ""},
      {"unknown key", m + "colour = \"blue\"\n", ":8:", "unknown key 'colour'"},
      {"wrong type", std::string("listen = 5\n") + m.substr(m.find('\n') + 1),
       ":1:", "listen must be \"HOST:PORT\" or a list"},
      {"unbound account",
       m + "[[targets]]\nname = \"iqn.x:y\"\ninitiators = \"all\"\naccounts = [\"carol\"]\n",
       ":8:", "no [accounts.carol]"},
      {"unset variable", m + "[accounts.dave]\nsecret_env = \"MULTICHAP_TEST_UNSET_VAR\"\n",
       ":9:", "is not set"},
      {"bad auth", m + "[discovery]\nauth = \"kerberos\"\n", ":9:", "none, chap or mutual"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const auto [code, out] = check(write("bad.toml", c.text));
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find(std::string("bad.toml") + c.line), std::string::npos) << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << out;
  }
}

TEST_F(ConfigFiles, SecretFilesThatOthersCanReadAreRefused) {
  write("alice.secret", "the-alice-secret-9\n", 0640);
  const std::string path = write("t.toml", kMinimal);
  auto config = load_serve_config(path);
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config, test::ResultIs(ErrorKind::usage, ErrorCode::secret_file_permissions));
  // Where: the file and line of the account.
  EXPECT_NE(config.error().message.find("t.toml:3:"), std::string::npos) << config.error().message;
  EXPECT_EQ(check(path).first, 2);
  ::chmod((m_dir + "/alice.secret").c_str(), 0600);
  auto ok = load_serve_config(path);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->access->targets[0].chap->accounts[0].secret.size(), 18u);  // newline dropped
}

TEST_F(ConfigFiles, OneSecretPerDirectionIsCheckedByCheckConfig) {
  write("alice.secret", "the-alice-secret-9\n");
  const std::string path = write("t.toml", std::string(kMinimal) + R"(identity = "me"
[identities.me]
secret_file = "alice.secret"
)");
  const auto [code, out] = check(path);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("t.toml:4: iqn.2026-11.org.multichap:t:"), std::string::npos) << out;
  EXPECT_NE(out.find("both directions"), std::string::npos) << out;
}

}  // namespace
}  // namespace multichap::cli
