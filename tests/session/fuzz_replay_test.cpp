// SPDX-License-Identifier: BSD-2-Clause
// Replays every file of tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/ for the
// session fuzz targets (pdu, target_login, initiator_login) through their bodies, built here with
// MULTICHAP_FUZZ_REPLAY so a broken invariant fails a test instead of aborting (the pattern of
// tests/auth/fuzz_replay_test.cpp). An input that once crashed a fuzzer stays fixed in every
// unit run, ASan build included. Seeds whose name contains "success" must complete their login
// and seeds whose name contains "fails" must not, which keeps the corpus reaching both ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/session_fuzz_targets.h"

namespace multichap {
namespace {

namespace fs = std::filesystem;

const char* const kTargets[] = {"pdu", "target_login", "initiator_login"};

std::vector<fs::path> files_under(const std::string& folder, const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(MULTICHAP_SOURCE_DIR) / "tests" / "fuzz" / folder / target;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename().string().rfind('.', 0) != 0) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in),
                                   std::istreambuf_iterator<char>());
}

// Runs one file through its target; returns whether a login completed (false for pdu).
bool replay(const std::string& target, const fs::path& path) {
  const auto data = read_all(path);
  SCOPED_TRACE(path.string());
  const std::string name = path.filename().string();
  try {
    if (target == "pdu") {
      fuzz::fuzz_pdu(data.data(), data.size());
      return false;
    }
    const fuzz::LoginOutcome outcome = target == "target_login"
                                           ? fuzz::fuzz_target_login(data.data(), data.size())
                                           : fuzz::fuzz_initiator_login(data.data(), data.size());
    if (name.find("success") != std::string::npos) {
      EXPECT_TRUE(outcome.succeeded)
          << outcome.error
          << " (if the engines changed on purpose, regenerate the seeds: see "
             "tests/session/fuzz_seeds_test.cpp)";
    }
    if (name.find("fails") != std::string::npos) {
      EXPECT_FALSE(outcome.succeeded);
    }
    return outcome.succeeded;
  } catch (const fuzz::InvariantFailure& e) {
    ADD_FAILURE() << "fuzz invariant broken: " << e.what();
    return false;
  }
}

TEST(SessionFuzzReplay, SeedCorpusPassesEveryInvariant) {
  for (const char* target : kTargets) {
    const auto files = files_under("corpus", target);
    EXPECT_GE(files.size(), 8u) << "seed corpus of " << target << " is missing or tiny";
    std::size_t successes = 0;
    for (const auto& f : files) successes += replay(target, f) ? 1 : 0;
    if (std::string(target) != "pdu") {
      EXPECT_GE(successes, 5u) << "too few seeds of " << target << " reach a complete login";
    }
  }
}

TEST(SessionFuzzReplay, RegressionInputsPassEveryInvariant) {
  std::size_t count = 0;
  for (const char* target : kTargets) {
    for (const auto& f : files_under("regressions", target)) {
      replay(target, f);
      ++count;
    }
  }
  RecordProperty("regression_inputs", static_cast<int>(count));
}

// The replay can fail: a success seed with one byte of its CHAP_R changed no longer logs in.
TEST(SessionFuzzReplay, CorruptedSuccessSeedDoesNotLogIn) {
  const auto path =
      fs::path(MULTICHAP_SOURCE_DIR) / "tests/fuzz/corpus/target_login" / "oneway_md5_success";
  auto data = read_all(path);
  ASSERT_FALSE(data.empty());
  EXPECT_TRUE(fuzz::fuzz_target_login(data.data(), data.size()).succeeded);
  const std::string text(data.begin(), data.end());
  const auto at = text.find("CHAP_R=0x");
  ASSERT_NE(at, std::string::npos);
  data[at + 9] = data[at + 9] == '0' ? '1' : '0';
  const auto outcome = fuzz::fuzz_target_login(data.data(), data.size());
  EXPECT_FALSE(outcome.succeeded);
  ASSERT_TRUE(outcome.status.has_value());
  EXPECT_EQ(*outcome.status, status::kAuthenticationFailure);
}

}  // namespace
}  // namespace multichap
