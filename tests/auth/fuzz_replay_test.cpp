// SPDX-License-Identifier: BSD-2-Clause
// Replays every file of tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/ through the
// fuzz target bodies (tests/fuzz/fuzz_*.cpp, built here with MULTICHAP_FUZZ_REPLAY so a broken
// invariant throws instead of aborting). Inputs that once crashed stay fixed in every unit run,
// not only in fuzz builds.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"

namespace multichap {
namespace {

namespace fs = std::filesystem;

struct InputFile {
  std::string target;  // value_codec, text, chap_target
  fs::path path;
};

std::vector<InputFile> files_under(const std::string& folder, const std::string& target) {
  std::vector<InputFile> out;
  const fs::path dir = fs::path(MULTICHAP_SOURCE_DIR) / "tests" / "fuzz" / folder / target;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename().string().rfind('.', 0) != 0) {
      out.push_back({target, entry.path()});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const InputFile& a, const InputFile& b) { return a.path < b.path; });
  return out;
}

std::vector<std::uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in),
                                   std::istreambuf_iterator<char>());
}

void replay(const InputFile& file) {
  const auto data = read_all(file.path);
  SCOPED_TRACE(file.path.string());
  try {
    if (file.target == "value_codec") {
      fuzz::fuzz_value_codec(data.data(), data.size());
    } else if (file.target == "text") {
      fuzz::fuzz_text(data.data(), data.size());
    } else if (file.target == "chap_target") {
      const AuthStatus status = fuzz::fuzz_chap_target(data.data(), data.size());
      // Seeds named *success* carry responses computed outside multichap (make_seeds.py): they
      // must authenticate, which also keeps the corpus reaching the success paths.
      if (file.path.filename().string().find("success") != std::string::npos) {
        EXPECT_EQ(status, AuthStatus::succeeded);
      }
    } else {
      FAIL() << "unknown fuzz target " << file.target;
    }
  } catch (const fuzz::InvariantFailure& e) {
    FAIL() << "fuzz invariant broken: " << e.what();
  }
}

const char* const kTargets[] = {"value_codec", "text", "chap_target"};

TEST(FuzzReplay, SeedCorpusPassesEveryInvariant) {
  for (const char* target : kTargets) {
    const auto files = files_under("corpus", target);
    EXPECT_GE(files.size(), 3u) << "seed corpus of " << target << " is missing or tiny";
    for (const auto& f : files) replay(f);
  }
}

TEST(FuzzReplay, RegressionInputsPassEveryInvariant) {
  std::size_t count = 0;
  for (const char* target : kTargets) {
    for (const auto& f : files_under("regressions", target)) {
      replay(f);
      ++count;
    }
  }
  RecordProperty("regression_inputs", static_cast<int>(count));
}

TEST(FuzzReplay, SuccessSeedsExistForTheChapTarget) {
  std::size_t successes = 0;
  for (const auto& f : files_under("corpus", "chap_target")) {
    if (f.path.filename().string().find("success") != std::string::npos) ++successes;
  }
  EXPECT_GE(successes, 4u);
}

// The checks themselves can fail: a target fed a correct response but the wrong account secret
// in its configuration is not what the seeds do, so instead flip one byte of CHAP_R in a success
// seed and expect the exchange to fail.
TEST(FuzzReplay, CorruptedSuccessSeedFails) {
  const auto files = files_under("corpus", "chap_target");
  const auto it = std::find_if(files.begin(), files.end(), [](const InputFile& f) {
    return f.path.filename() == "oneway_md5_success";
  });
  ASSERT_NE(it, files.end());
  auto data = read_all(it->path);
  const std::string text(data.begin(), data.end());
  const std::size_t r = text.find("CHAP_R=0x");
  ASSERT_NE(r, std::string::npos);
  data[r + 9] = data[r + 9] == '0' ? '1' : '0';
  EXPECT_EQ(fuzz::fuzz_chap_target(data.data(), data.size()), AuthStatus::failed);
  const auto original = read_all(it->path);
  EXPECT_EQ(fuzz::fuzz_chap_target(original.data(), original.size()), AuthStatus::succeeded);
}

}  // namespace
}  // namespace multichap
