// SPDX-License-Identifier: BSD-2-Clause
// The plugin loader against plugins that are wrong on purpose (tests/backends/plugins/): each
// is refused with ErrorCode::backend_refused (a name already taken: backend_duplicate), a
// message naming the file and the reason, and an entry in refused_backends(); the host goes on:
// the backends it had are still listed and still compute every vector of tests/vectors/chap.txt.
// The control plugin, built from the same source without a defect, loads and computes, so each
// refusal comes from its one defect. Plugin paths come from CMake (MULTICHAP_TEST_PLUGIN_*).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "auth/chap.h"
#include "auth/secure.h"
#include "backends/hash_backend.h"
#include "multichap/backend.h"
#include "tests/support/result_matchers.h"
#include "tests/support/vector_file.h"

namespace multichap {
namespace {

using test::ResultIs;
using ::testing::HasSubstr;

// A plugin that must be refused, and a piece of the reason it must be refused with.
struct BadPlugin {
  const char* label;  // the test's name
  const char* path;
  ErrorCode code;
  const char* reason;
};

void PrintTo(const BadPlugin& plugin, std::ostream* os) {
  *os << plugin.path;
}

const BadPlugin kBadPlugins[] = {
    {"WrongAbiMajor", MULTICHAP_TEST_PLUGIN_WRONG_MAJOR, ErrorCode::backend_refused,
     "ABI major version 2"},
    {"ShortTable", MULTICHAP_TEST_PLUGIN_SHORT_TABLE, ErrorCode::backend_refused, "needs at least"},
    {"NoEntrySymbol", MULTICHAP_TEST_PLUGIN_NO_ENTRY, ErrorCode::backend_refused,
     MULTICHAP_BACKEND_ENTRY_SYMBOL},
    {"EntryReturnsNull", MULTICHAP_TEST_PLUGIN_NULL_TABLE, ErrorCode::backend_refused, "no table"},
    {"DigestOfWrongLength", MULTICHAP_TEST_PLUGIN_SHORT_DIGEST, ErrorCode::backend_refused,
     "MD5 of \"abc\" is 15 bytes, not 16"},
    {"WrongDigest", MULTICHAP_TEST_PLUGIN_WRONG_DIGEST, ErrorCode::backend_refused,
     "MD5 of \"abc\" is wrong"},
    {"InitFails", MULTICHAP_TEST_PLUGIN_INIT_FAILS, ErrorCode::backend_refused, "init failed"},
    {"InvalidName", MULTICHAP_TEST_PLUGIN_BAD_NAME, ErrorCode::backend_refused, "name"},
    {"NoRandom", MULTICHAP_TEST_PLUGIN_NO_RANDOM, ErrorCode::backend_refused, "random"},
    {"SupportsWhatItCannotCompute", MULTICHAP_TEST_PLUGIN_LYING_SUPPORTS,
     ErrorCode::backend_refused, "supports SHA3-256 but fails"},
    {"NameOfAnotherBackend", MULTICHAP_TEST_PLUGIN_DUPLICATE, ErrorCode::backend_duplicate,
     "a backend named 'openssl' is already loaded"},
};

// The path as the loader records it (it resolves symbolic links and "." first).
std::string canonical(const char* path) {
  char resolved[PATH_MAX];
  return ::realpath(path, resolved) != nullptr ? std::string(resolved) : std::string(path);
}

bool openssl_loaded() {
  for (const std::string& name : built_backends()) {
    if (name == "openssl") return true;
  }
  return false;
}

std::string hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

Algorithm section_algorithm(const std::string& section) {
  if (section == "MD5") return Algorithm::md5;
  if (section == "SHA-1") return Algorithm::sha1;
  if (section == "SHA-256") return Algorithm::sha256;
  return Algorithm::sha3_256;  // the file has these four sections; a fifth fails below
}

// Every vector of tests/vectors/chap.txt through backend; returns how many it computed right.
int chap_vectors_right(const HashBackend& backend) {
  int right = 0;
  for (const auto& v : test::read_vectors("tests/vectors/chap.txt")) {
    const Algorithm alg = section_algorithm(v.section);
    const auto id = static_cast<std::uint8_t>(std::stoi(v.get("Id")));
    const Secret secret = Secret::from_bytes(v.hex("Secret"));
    const Bytes challenge = v.hex("Challenge");
    const std::string expected = hex(v.hex("Response"));
    EXPECT_TRUE(v.unused().empty()) << "chap.txt line " << v.line;
    std::array<std::uint8_t, kMaxDigestSize> out{};
    const auto n = chap_response(backend, alg, id, secret, challenge, out);
    if (n && hex(ByteView(out.data(), *n)) == expected) {
      ++right;
    } else {
      ADD_FAILURE() << backend.name() << ": chap.txt line " << v.line << " [" << v.section
                    << "]: " << (n ? "wrong response" : n.error().message);
    }
  }
  return right;
}

// The number of vectors in chap.txt (coreutils and rhash made them; 8 per algorithm or more).
int chap_vector_count() {
  return static_cast<int>(test::read_vectors("tests/vectors/chap.txt").size());
}

bool was_refused(const std::string& file, const std::string& reason_part) {
  for (const RefusedBackend& r : refused_backends()) {
    if (r.file == file && r.reason.find(reason_part) != std::string::npos) return true;
  }
  return false;
}

// The backends there were before a bad plugin came are all still there, and all compute.
void expect_host_intact(const std::vector<std::string>& before) {
  EXPECT_EQ(built_backends(), before);
  for (const std::string& name : before) {
    auto backend = make_backend(name);
    ASSERT_TRUE(backend) << name;
    EXPECT_EQ(chap_vectors_right(**backend), chap_vector_count()) << name;
  }
}

class RefusedPlugin : public ::testing::TestWithParam<BadPlugin> {};

TEST_P(RefusedPlugin, IsRefusedWithItsReasonAndTheHostLivesOn) {
  const BadPlugin& bad = GetParam();
  if (bad.code == ErrorCode::backend_duplicate && !openssl_loaded()) {
    GTEST_SKIP() << "no openssl backend in this build for the plugin to collide with";
  }
  const std::vector<std::string> before = built_backends();
  ASSERT_FALSE(before.empty());

  const std::string file = canonical(bad.path);
  const auto loaded = load_backend(bad.path);
  EXPECT_THAT(loaded, ResultIs(ErrorKind::usage, bad.code));
  if (!loaded) {
    EXPECT_THAT(loaded.error().message, HasSubstr(file)) << "the message names the file";
    EXPECT_THAT(loaded.error().message, HasSubstr(bad.reason));
  }
  EXPECT_TRUE(was_refused(file, bad.reason))
      << "refused_backends() lists " << file << " with '" << bad.reason << "'";

  // Refused is not half-loaded: a second attempt is refused the same way.
  EXPECT_THAT(load_backend(bad.path), ResultIs(ErrorKind::usage, bad.code));
  EXPECT_THAT(make_backend_by_name_or_path(bad.path), ResultIs(ErrorKind::usage, bad.code));
  expect_host_intact(before);
}

INSTANTIATE_TEST_SUITE_P(BadPlugins, RefusedPlugin, ::testing::ValuesIn(kBadPlugins),
                         [](const ::testing::TestParamInfo<BadPlugin>& info) {
                           return std::string(info.param.label);
                         });

TEST(PluginLoader, EveryBadPluginInARowLeavesTheHostIntact) {
  const std::vector<std::string> before = built_backends();
  for (const BadPlugin& bad : kBadPlugins) {
    if (bad.code == ErrorCode::backend_duplicate && !openssl_loaded()) continue;
    EXPECT_THAT(load_backend(bad.path), ResultIs(ErrorKind::usage, bad.code)) << bad.path;
  }
  expect_host_intact(before);
  // The packaged openssl backend, not the impostor of the same name.
  if (auto openssl = make_backend("openssl")) {
    EXPECT_NE((*openssl)->origin(), canonical(MULTICHAP_TEST_PLUGIN_DUPLICATE));
    EXPECT_EQ(chap_vectors_right(**openssl), chap_vector_count());
  }
}

// The control: the same source without a defect loads, computes, and is listed.
TEST(PluginLoader, ControlPluginLoadsAndComputes) {
  const std::vector<std::string> before = built_backends();
  const auto good = load_backend(MULTICHAP_TEST_PLUGIN_GOOD);
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ((*good)->name(), "good");
  EXPECT_EQ((*good)->origin(), canonical(MULTICHAP_TEST_PLUGIN_GOOD));
  EXPECT_EQ((*good)->backend_version(), "1.0");
  EXPECT_EQ((*good)->version(), "test plugin over libcrypto");
  EXPECT_EQ(chap_vectors_right(**good), chap_vector_count());
  std::array<std::uint8_t, 64> random{};
  EXPECT_TRUE((*good)->random(random));

  std::vector<std::string> after = before;
  after.emplace_back("good");
  EXPECT_EQ(built_backends(), after) << "listed after the preferred backends";
  auto by_name = make_backend("good");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->get(), good->get());
  // The same file again, under any spelling, is the same backend.
  auto again = load_backend(MULTICHAP_TEST_PLUGIN_GOOD);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->get(), good->get());
  const std::string other_spelling = std::string(MULTICHAP_TEST_PLUGIN_OTHER_DIR) + "/./good.so";
  auto spelled = make_backend_by_name_or_path(other_spelling);
  ASSERT_TRUE(spelled) << spelled.error().message;
  EXPECT_EQ(spelled->get(), good->get());
  EXPECT_FALSE(was_refused(canonical(MULTICHAP_TEST_PLUGIN_GOOD), ""));
}

// What the loader and the plugins say through set_backend_log().
class LogLines {
 public:
  LogLines() {
    set_backend_log([this](int level, const std::string& line) {
      const std::lock_guard<std::mutex> lock(m_mutex);
      m_lines.push_back(std::to_string(level) + " " + line);
    });
  }
  ~LogLines() { set_backend_log(nullptr); }
  LogLines(const LogLines&) = delete;
  LogLines& operator=(const LogLines&) = delete;

  bool has(const std::string& part) {
    const std::lock_guard<std::mutex> lock(m_mutex);
    for (const auto& l : m_lines) {
      if (l.find(part) != std::string::npos) return true;
    }
    return false;
  }
  std::string all() {
    const std::lock_guard<std::mutex> lock(m_mutex);
    std::string out;
    for (const auto& l : m_lines) out += l + "\n";
    return out;
  }

 private:
  std::mutex m_mutex;
  std::vector<std::string> m_lines;
};

TEST(PluginLoader, ARefusalIsLoggedAndAStartedPluginIsShutDown) {
  (void)built_backends();  // the search path first: only the explicit loads below are logged
  LogLines log;
  // Known answers are checked after init: a plugin refused for them is shut down again.
  EXPECT_FALSE(load_backend(MULTICHAP_TEST_PLUGIN_WRONG_DIGEST));
  EXPECT_TRUE(log.has("2 backend wrong_digest: init")) << log.all();
  EXPECT_TRUE(log.has("2 backend wrong_digest: shutdown")) << log.all();
  EXPECT_FALSE(log.has("shutdown with a wrong ctx")) << log.all();
  EXPECT_TRUE(log.has(std::to_string(MULTICHAP_BACKEND_LOG_WARNING) + " backend plugin " +
                      canonical(MULTICHAP_TEST_PLUGIN_WRONG_DIGEST) + " refused: "))
      << log.all();
  // A failed init is the plugin's own word, then the refusal; no shutdown without an init.
  EXPECT_FALSE(load_backend(MULTICHAP_TEST_PLUGIN_INIT_FAILS));
  EXPECT_TRUE(log.has(std::to_string(MULTICHAP_BACKEND_LOG_ERROR) +
                      " backend init_fails: init fails on purpose"))
      << log.all();
  EXPECT_FALSE(log.has("backend init_fails: shutdown")) << log.all();
  // A duplicate is refused before its init runs.
  if (openssl_loaded()) {
    EXPECT_FALSE(load_backend(MULTICHAP_TEST_PLUGIN_DUPLICATE));
    EXPECT_FALSE(log.has("backend openssl: init")) << log.all();
  }
}

// Files that are not multichap plugins at all.
TEST(PluginLoader, NotASharedObjectIsRefused) {
  const std::vector<std::string> before = built_backends();
  const std::string dir = ::testing::TempDir();
  const std::string junk = dir + (dir.back() == '/' ? "" : "/") + "junk.so";
  {
    std::ofstream out(junk);
    out << "this is not an ELF file\n";
  }
  auto loaded = load_backend(junk);
  EXPECT_THAT(loaded, ResultIs(ErrorKind::usage, ErrorCode::backend_refused));
  if (!loaded) {
    EXPECT_THAT(loaded.error().message, HasSubstr("junk.so"));
    EXPECT_THAT(loaded.error().message, HasSubstr("cannot load it"));
  }
  bool listed = false;
  for (const RefusedBackend& r : refused_backends()) {
    listed |= r.file.find("junk.so") != std::string::npos &&
              r.reason.find("cannot load it") != std::string::npos;
  }
  EXPECT_TRUE(listed) << "refused_backends() lists junk.so";
  std::remove(junk.c_str());

  EXPECT_THAT(load_backend(dir + "/no-such-plugin.so"),
              ResultIs(ErrorKind::usage, ErrorCode::backend_refused));
  // Without a '/', never a file of the current directory.
  EXPECT_THAT(load_backend("openssl.so"), ResultIs(ErrorKind::usage, ErrorCode::backend_unknown));
  expect_host_intact(before);
}

}  // namespace
}  // namespace multichap
