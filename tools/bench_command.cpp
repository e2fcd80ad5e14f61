// SPDX-License-Identifier: BSD-2-Clause
// `multichap bench`: hash throughput and CHAP operation rates per built backend and algorithm,
// measured by the timing core in tools/bench_timing.h, optionally beside the crypto library
// called directly (--compare-raw) and beside `openssl speed` / `botan speed` (--vs-openssl,
// --vs-botan). Output: a table, --json or --csv on stdout, --svg FILE for the chart; progress on
// stderr unless --quiet.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "auth/algorithm.h"
#include "auth/chap.h"
#include "auth/encoding.h"
#include "auth/secure.h"
#include "backends/hash_backend.h"
#include "backends/raw_digest.h"
#include "tools/bench_timing.h"
#include "tools/commands.h"

namespace multichap::cli {

namespace {

constexpr const char* kBenchUsage =
    R"(usage: multichap bench [--backend LIST] [--alg LIST] [--sizes LIST] [--suites LIST]
                       [--seconds S] [--threads N] [--compare-raw] [--vs-openssl] [--vs-botan]
                       [--json | --csv] [--svg FILE] [--quiet]

Measures, for every built backend (or --backend) and algorithm (or --alg):
  hash       digest throughput for each message size (--sizes)
  response   CHAP responses H(id || 16-byte secret || challenge), 16/32/1024-byte challenges
  verify     response + constant-time comparison, 16/32/1024-byte challenges
  challenge  challenge generation: 32 random bytes from the backend
  login      a whole mutual CHAP login in memory (ChapInitiator <-> ChapTarget, no sockets)

  --backend LIST   backends, comma-separated (see 'multichap algorithms'); default: all built
  --alg LIST       md5, sha1, sha256, sha3-256 (or 5-8), comma-separated; default: all four
  --sizes LIST     hash message sizes in bytes; default: 16,33,64,256,1024,8192,16384,65536
  --suites LIST    any of hash,response,verify,challenge,login; default: all
  --seconds S      timed seconds per case (split into 5 repetitions); default 0.2
  --threads N      run the same work on N threads at once (does it scale?); default 1
  --compare-raw    also time each digest with the crypto library called directly and show
                   ours/raw (the same run, repetitions alternating)
  --vs-openssl     also run 'openssl speed -evp ALG -bytes N -seconds 1' for the hash sizes
                   and show its MB/s on the openssl rows (needs the openssl binary)
  --vs-botan       also run 'botan speed --buf-size=N' (Debian package botan) for the botan rows
  --json, --csv    machine-readable output instead of the table (fields below)
  --svg FILE       also write the chart of hash throughput against message size
  --quiet          no progress on stderr

Method: for each case a warm-up (max(5 ms, min(100 ms, S/4)); batches calibrated to about
0.5 ms), then 5 timed repetitions of S/5 each; per repetition the CPU time of the threads
(CLOCK_THREAD_CPUTIME_ID) divided by the operations, and all threads' operations per wall-clock
second. Reported: the median repetition, and the spread (slowest - fastest) / median.

Columns and fields (--json: {"format":"multichap-bench-1","method":{...},"backends":[...],
"results":[...]}; --csv: one header line, the same field names; absent values are null / empty):
  suite, backend, algorithm, bytes   what was measured (bytes: message or challenge size)
  status          ok, unsupported (the backend cannot compute the algorithm here) or failed
  cpu_ns          median CPU nanoseconds per operation; cpu_ns_min, cpu_ns_max: the extremes
  spread_pct      (cpu_ns_max - cpu_ns_min) / cpu_ns, in percent
  ops_per_cpu_s   1e9 / cpu_ns: operations per CPU-second of one thread
  ops_per_s       operations per wall-clock second, all threads together (shows scaling, and
                  also what other processes on the machine took away)
  mb_per_s        hash: bytes * 1000 / cpu_ns = 10^6 bytes per CPU-second on one core
  raw_cpu_ns, raw_mb_per_s, ratio_to_raw   --compare-raw: the library direct, ours / raw
  tool, tool_mb_per_s, ratio_to_tool       --vs-openssl/--vs-botan: the tool's MB/s, and the
                                           raw row's (else our row's) MB/s / the tool's
  ops             operations timed; detail: why a row is unsupported or failed
Exit status: 0 measured, 2 usage error, 3 a measurement failed or nothing could be measured.
)";

constexpr std::size_t kDefaultSizes[] = {16, 33, 64, 256, 1024, 8192, 16384, 65536};
constexpr std::size_t kChallengeSizes[] = {16, 32, 1024};
constexpr std::size_t kSecretBytes = 16;
constexpr std::size_t kMaxMessageBytes = 16u << 20;
constexpr std::uint8_t kIdentifier = 0x2a;
constexpr const char* kSuites[] = {"hash", "response", "verify", "challenge", "login"};

// The pieces joined into one string (one allocation, for messages built in loops).
std::string concat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (const std::string_view p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (const std::string_view p : parts) out += p;
  return out;
}

// Deterministic input bytes (xorshift), so every run hashes the same data.
Bytes pattern_bytes(std::size_t n, std::uint32_t seed) {
  Bytes out(n);
  std::uint32_t x = seed | 1u;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

// ------------------------------------------------------------------------------------ workers

// Workers keep the first error's message for the report.
class FailingWorker : public BenchWorker {
 public:
  std::string failure() const override { return m_failure; }

 protected:
  bool fail(const Error& error) {
    if (m_failure.empty()) m_failure = error.message;
    return false;
  }
  bool fail(std::string message) {
    if (m_failure.empty()) m_failure = std::move(message);
    return false;
  }

 private:
  std::string m_failure;
};

class HashWorker final : public FailingWorker {
 public:
  HashWorker(std::shared_ptr<const HashBackend> backend, Algorithm alg, std::size_t size)
      : m_backend(std::move(backend)), m_alg(alg), m_input(pattern_bytes(size, 1)) {}
  bool run(std::uint64_t n) override {
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto r = m_backend->digest(m_alg, {ByteView(m_input)}, m_out);
      if (!r) return fail(r.error());
    }
    return true;
  }

 private:
  std::shared_ptr<const HashBackend> m_backend;
  Algorithm m_alg;
  Bytes m_input;
  std::array<std::uint8_t, kMaxDigestSize> m_out{};
};

class RawHashWorker final : public BenchWorker {
 public:
  RawHashWorker(std::unique_ptr<RawDigest> raw, std::size_t size)
      : m_raw(std::move(raw)), m_input(pattern_bytes(size, 1)) {}
  bool run(std::uint64_t n) override {
    bool ok = true;
    for (std::uint64_t i = 0; i < n; ++i) ok &= m_raw->digest(m_input, m_out.data());
    return ok;
  }

 private:
  std::unique_ptr<RawDigest> m_raw;
  Bytes m_input;
  std::array<std::uint8_t, 64> m_out{};
};

// chap_response(), or with verify also the constant-time comparison with the expected answer.
class ResponseWorker final : public FailingWorker {
 public:
  ResponseWorker(std::shared_ptr<const HashBackend> backend, Algorithm alg, std::size_t challenge,
                 bool verify)
      : m_backend(std::move(backend)),
        m_alg(alg),
        m_secret(Secret::from_bytes(pattern_bytes(kSecretBytes, 2))),
        m_challenge(pattern_bytes(challenge, 3)),
        m_verify(verify) {
    const auto n = chap_response(*m_backend, m_alg, kIdentifier, m_secret, m_challenge, m_expected);
    m_size = n ? *n : 0;
  }
  ~ResponseWorker() override {
    secure_wipe(m_out.data(), m_out.size());
    secure_wipe(m_expected.data(), m_expected.size());
  }
  ResponseWorker(const ResponseWorker&) = delete;
  ResponseWorker& operator=(const ResponseWorker&) = delete;

  bool run(std::uint64_t n) override {
    if (m_size == 0) return fail("the response could not be computed");
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto r = chap_response(*m_backend, m_alg, kIdentifier, m_secret, m_challenge, m_out);
      if (!r) return fail(r.error());
      if (m_verify && !constant_time_equal(ByteView(m_out.data(), m_size),
                                           ByteView(m_expected.data(), m_size))) {
        return fail("verification failed");
      }
    }
    return true;
  }

 private:
  std::shared_ptr<const HashBackend> m_backend;
  Algorithm m_alg;
  Secret m_secret;
  Bytes m_challenge;
  bool m_verify;
  std::size_t m_size = 0;
  std::array<std::uint8_t, kMaxDigestSize> m_out{};
  std::array<std::uint8_t, kMaxDigestSize> m_expected{};
};

class ChallengeWorker final : public FailingWorker {
 public:
  ChallengeWorker(std::shared_ptr<const HashBackend> backend, std::size_t size)
      : m_backend(std::move(backend)), m_out(size) {}
  ~ChallengeWorker() override { secure_wipe(m_out.data(), m_out.size()); }
  ChallengeWorker(const ChallengeWorker&) = delete;
  ChallengeWorker& operator=(const ChallengeWorker&) = delete;
  bool run(std::uint64_t n) override {
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto r = m_backend->random(m_out);
      if (!r) return fail(r.error());
    }
    return true;
  }

 private:
  std::shared_ptr<const HashBackend> m_backend;
  Bytes m_out;
};

// A whole mutual CHAP login between a ChapInitiator and a ChapTarget passing KeyLists.
class LoginWorker final : public FailingWorker {
 public:
  LoginWorker(std::unique_ptr<ChapInitiator> initiator, std::unique_ptr<ChapTarget> target)
      : m_initiator(std::move(initiator)), m_target(std::move(target)) {}
  bool run(std::uint64_t n) override {
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!login_once()) {
        const auto& why = m_initiator->failure() ? m_initiator->failure() : m_target->failure();
        return fail(why ? why->message : std::string("the login did not succeed"));
      }
    }
    return true;
  }

  static Result<std::unique_ptr<BenchWorker>> create(
      const std::shared_ptr<const HashBackend>& backend, Algorithm alg) {
    ChapPolicy policy;
    policy.algorithms = {alg};
    policy.require_mutual = true;
    auto initiator_config = std::make_shared<ChapInitiatorConfig>();
    initiator_config->local = {"iqn.2026-01.org.example:bench-initiator",
                               Secret::from_bytes(pattern_bytes(kSecretBytes, 11))};
    initiator_config->target = ChapCredentials{"iqn.2026-01.org.example:bench-target",
                                               Secret::from_bytes(pattern_bytes(kSecretBytes, 12))};
    initiator_config->policy = policy;
    auto target_config = std::make_shared<ChapTargetConfig>();
    target_config->accounts.push_back({"iqn.2026-01.org.example:bench-initiator",
                                       Secret::from_bytes(pattern_bytes(kSecretBytes, 11))});
    target_config->local = ChapCredentials{"iqn.2026-01.org.example:bench-target",
                                           Secret::from_bytes(pattern_bytes(kSecretBytes, 12))};
    target_config->policy = policy;
    MULTICHAP_ASSIGN_OR_RETURN(auto initiator,
                               ChapInitiator::create(std::move(initiator_config), backend));
    MULTICHAP_ASSIGN_OR_RETURN(auto target, ChapTarget::create(std::move(target_config), backend));
    return std::unique_ptr<BenchWorker>(
        std::make_unique<LoginWorker>(std::move(initiator), std::move(target)));
  }

 private:
  bool login_once() {
    m_initiator->reset();
    m_target->reset();
    auto to_target = m_initiator->step(KeyList{});
    for (int round = 0; round < 4 && to_target; ++round) {
      auto to_initiator = m_target->step(*to_target);
      if (!to_initiator) return false;
      to_target = m_initiator->step(*to_initiator);
      if (m_initiator->status() == AuthStatus::succeeded) break;
    }
    return to_target.has_value() && m_initiator->status() == AuthStatus::succeeded &&
           m_target->status() == AuthStatus::succeeded && m_target->mutual();
  }

  std::unique_ptr<ChapInitiator> m_initiator;
  std::unique_ptr<ChapTarget> m_target;
};

// --------------------------------------------------------------------------------- the rows

struct Row {
  std::string suite;
  std::string backend;
  std::string algorithm;  // empty for challenge
  std::size_t bytes = 0;
  std::string status = "ok";
  std::string detail;
  BenchStats ours;
  std::optional<BenchStats> raw;
  std::string tool;  // "openssl speed" / "botan speed" when one was run for this row
  std::optional<double> tool_mb_per_s;

  bool is_hash() const { return suite == "hash"; }
  bool ok() const { return status == "ok"; }
  std::optional<double> mb_per_s() const {
    if (!is_hash() || !ok() || ours.cpu_ns <= 0) return std::nullopt;
    return static_cast<double>(bytes) * 1e3 / ours.cpu_ns;
  }
  std::optional<double> raw_mb_per_s() const {
    if (!is_hash() || !raw || raw->cpu_ns <= 0) return std::nullopt;
    return static_cast<double>(bytes) * 1e3 / raw->cpu_ns;
  }
  std::optional<double> ratio_to_raw() const {
    if (!ok() || !raw || raw->cpu_ns <= 0) return std::nullopt;
    return ours.cpu_ns / raw->cpu_ns;
  }
  std::optional<double> ratio_to_tool() const {
    const auto mine = raw_mb_per_s() ? raw_mb_per_s() : mb_per_s();
    if (!mine || !tool_mb_per_s || *tool_mb_per_s <= 0) return std::nullopt;
    return *mine / *tool_mb_per_s;
  }
};

Row make_row(std::string suite, std::string backend, std::string algorithm, std::size_t bytes) {
  Row row;
  row.suite = std::move(suite);
  row.backend = std::move(backend);
  row.algorithm = std::move(algorithm);
  row.bytes = bytes;
  return row;
}

struct BenchOptions {
  std::vector<std::string> backends;
  std::vector<Algorithm> algorithms;
  std::vector<std::size_t> sizes;
  std::vector<std::string> suites;
  BenchMethod method;
  bool compare_raw = false;
  bool vs_openssl = false;
  bool vs_botan = false;
  bool json = false;
  bool csv = false;
  bool quiet = false;
  std::string svg;

  bool wants(std::string_view suite) const {
    return std::find(suites.begin(), suites.end(), suite) != suites.end();
  }
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  if (!text.empty() && text.back() == ',') out.emplace_back();
  return out;
}

Error usage(std::string message) {
  return make_error(ErrorKind::usage, std::move(message));
}

Result<double> parse_seconds(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v <= 0 || v > 600) {
    return usage("--seconds must be a number of seconds above 0 and at most 600");
  }
  return v;
}

Result<std::size_t> parse_count(const std::string& text, std::size_t max, const char* what) {
  std::size_t v = 0;
  if (text.empty() || text.size() > 9) return usage(std::string(what) + " '" + text + "'");
  for (const char c : text) {
    if (c < '0' || c > '9') return usage(std::string(what) + " '" + text + "'");
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  if (v == 0 || v > max) {
    return usage(std::string(what) + " '" + text + "' (1 to " + std::to_string(max) + ")");
  }
  return v;
}

Result<BenchOptions> parse_bench_options(const Options& options) {
  BenchOptions out;
  if (const std::string* list = options.get("backend")) {
    for (const std::string& name : split_commas(*list)) {
      MULTICHAP_GUARD(make_backend(name));  // a usage error naming the built backends
      if (std::find(out.backends.begin(), out.backends.end(), name) == out.backends.end()) {
        out.backends.push_back(name);
      }
    }
  } else {
    for (const std::string_view name : built_backends()) out.backends.emplace_back(name);
  }
  if (const std::string* list = options.get("alg")) {
    auto algs = parse_algorithm_list(*list);
    if (!algs) return usage("--alg: " + algs.error().message);
    out.algorithms = *algs;
  } else {
    for (const auto& info : kAlgorithms) out.algorithms.push_back(info.id);
  }
  if (const std::string* list = options.get("sizes")) {
    for (const std::string& item : split_commas(*list)) {
      MULTICHAP_ASSIGN_OR_RETURN(const std::size_t size,
                                 parse_count(item, kMaxMessageBytes, "--sizes: bad size"));
      out.sizes.push_back(size);
    }
  } else {
    out.sizes.assign(std::begin(kDefaultSizes), std::end(kDefaultSizes));
  }
  if (const std::string* list = options.get("suites")) {
    for (const std::string& item : split_commas(*list)) {
      if (std::find(std::begin(kSuites), std::end(kSuites), item) == std::end(kSuites)) {
        return usage("--suites: unknown suite '" + item +
                     "' (known: hash, response, verify, challenge, login)");
      }
      out.suites.push_back(item);
    }
  } else {
    out.suites.assign(std::begin(kSuites), std::end(kSuites));
  }
  if (const std::string* s = options.get("seconds")) {
    MULTICHAP_ASSIGN_OR_RETURN(out.method.seconds, parse_seconds(*s));
  }
  if (const std::string* n = options.get("threads")) {
    MULTICHAP_ASSIGN_OR_RETURN(const std::size_t threads,
                               parse_count(*n, 256, "--threads: bad thread count"));
    out.method.threads = static_cast<int>(threads);
  }
  if (const std::string* path = options.get("svg")) {
    if (path->empty()) return usage("--svg needs a file name");
    out.svg = *path;
  }
  out.compare_raw = options.has("compare-raw");
  out.vs_openssl = options.has("vs-openssl");
  out.vs_botan = options.has("vs-botan");
  out.json = options.has("json");
  out.csv = options.has("csv");
  out.quiet = options.has("quiet");
  return out;
}

// --------------------------------------------------------------------- openssl / botan speed

// The binary called name on PATH, or empty.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::stringstream in(path);
  for (std::string dir; std::getline(in, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = concat({dir, "/", name});
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// Runs command (built from fixed names and numbers only) and returns its stdout.
std::optional<std::string> run_capture(const std::string& command) {
  // The command is built from fixed program and algorithm names and numbers only.
  FILE* pipe = popen(command.c_str(), "r");  // NOLINT(cert-env33-c): see above
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;)
    out.append(buf.data(), n);
  const int status = pclose(pipe);
  if (status != 0) return std::nullopt;
  return out;
}

// openssl speed's name for alg (its -evp argument and its -mr output name).
const char* openssl_speed_name(Algorithm alg) {
  switch (alg) {
    case Algorithm::md5:
      return "md5";
    case Algorithm::sha1:
      return "sha1";
    case Algorithm::sha256:
      return "sha256";
    case Algorithm::sha3_256:
      return "sha3-256";
  }
  return "";
}

const char* botan_speed_name(Algorithm alg) {
  switch (alg) {
    case Algorithm::md5:
      return "MD5";
    case Algorithm::sha1:
      return "SHA-160";
    case Algorithm::sha256:
      return "SHA-256";
    case Algorithm::sha3_256:
      return "SHA-3(256)";
  }
  return "";
}

// `openssl speed -mr -evp ALG -bytes N -seconds 1`: the "+F:i:name:bytes-per-second" line.
std::optional<double> openssl_speed(const std::string& binary, Algorithm alg, std::size_t size) {
  const auto out = run_capture(binary + " speed -mr -evp " + openssl_speed_name(alg) + " -bytes " +
                               std::to_string(size) + " -seconds 1 2>/dev/null");
  if (!out) return std::nullopt;
  std::stringstream in(*out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("+F:", 0) != 0) continue;
    const std::size_t colon = line.rfind(':');
    const double bytes_per_s = std::strtod(line.c_str() + colon + 1, nullptr);
    if (bytes_per_s > 0) return bytes_per_s / 1e6;
  }
  return std::nullopt;
}

// `botan speed --msec=1000 --buf-size=N ALG`: "ALG hash buffer size N bytes: X MiB/sec ...".
std::optional<double> botan_speed(const std::string& binary, Algorithm alg, std::size_t size) {
  const auto out = run_capture(binary + " speed --msec=1000 --buf-size=" + std::to_string(size) +
                               " '" + botan_speed_name(alg) + "' 2>/dev/null");
  if (!out) return std::nullopt;
  const std::string marker = "buffer size " + std::to_string(size) + " bytes: ";
  const std::size_t at = out->find(marker);
  if (at == std::string::npos) return std::nullopt;
  const double mib_per_s = std::strtod(out->c_str() + at + marker.size(), nullptr);
  if (mib_per_s <= 0) return std::nullopt;
  return mib_per_s * 1048576.0 / 1e6;
}

// ------------------------------------------------------------------------------- formatting

std::string fixed(double v, int decimals) {
  char text[64];
  (void)std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

// 1234567 -> "1,234,567".
std::string grouped(double v) {
  std::string digits = fixed(v, 0);
  std::string out;
  const std::size_t lead = digits.size() % 3;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && i >= lead && (i - lead) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string ns_text(double ns) {
  return ns >= 100 ? grouped(ns) : fixed(ns, 1);
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      (void)std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(std::optional<double> v, int decimals = 3) {
  return v ? fixed(*v, decimals) : "null";
}

// Field name, then the value as JSON text ("null" when absent) -- the order of --csv too.
std::vector<std::pair<std::string, std::string>> row_fields(const Row& r) {
  const bool ok = r.ok();
  auto stat = [&](double BenchStats::*field) -> std::optional<double> {
    if (!ok) return std::nullopt;
    return r.ours.*field;
  };
  auto raw_stat = [&](double BenchStats::*field) -> std::optional<double> {
    if (!ok || !r.raw) return std::nullopt;
    return (*r.raw).*field;
  };
  return {
      {"suite", json_string(r.suite)},
      {"backend", json_string(r.backend)},
      {"algorithm", r.algorithm.empty() ? "null" : json_string(r.algorithm)},
      {"bytes", std::to_string(r.bytes)},
      {"status", json_string(r.status)},
      {"cpu_ns", json_number(stat(&BenchStats::cpu_ns))},
      {"cpu_ns_min", json_number(stat(&BenchStats::cpu_ns_min))},
      {"cpu_ns_max", json_number(stat(&BenchStats::cpu_ns_max))},
      {"spread_pct", json_number(stat(&BenchStats::spread_pct), 2)},
      {"ops_per_cpu_s",
       json_number(
           ok && r.ours.cpu_ns > 0 ? std::optional<double>(1e9 / r.ours.cpu_ns) : std::nullopt, 1)},
      {"ops_per_s", json_number(stat(&BenchStats::ops_per_s), 1)},
      {"mb_per_s", json_number(r.mb_per_s(), 2)},
      {"raw_cpu_ns", json_number(raw_stat(&BenchStats::cpu_ns))},
      {"raw_mb_per_s", json_number(r.raw_mb_per_s(), 2)},
      {"ratio_to_raw", json_number(r.ratio_to_raw(), 4)},
      {"tool", r.tool.empty() ? "null" : json_string(r.tool)},
      {"tool_mb_per_s", json_number(r.tool_mb_per_s, 2)},
      {"ratio_to_tool", json_number(r.ratio_to_tool(), 4)},
      {"ops", ok ? std::to_string(r.ours.ops) : "null"},
      {"detail", json_string(r.detail)},
  };
}

void print_json(std::ostream& out, const BenchOptions& opts, const std::vector<Row>& rows) {
  out << "{\n  \"format\": \"multichap-bench-1\",\n  \"method\": {\"threads\": "
      << opts.method.threads << ", \"seconds\": " << fixed(opts.method.seconds, 3)
      << ", \"repetitions\": " << opts.method.repetitions
      << ", \"description\": " << json_string(describe_method(opts.method)) << "},\n";
  out << "  \"backends\": [";
  for (std::size_t i = 0; i < opts.backends.size(); ++i) {
    auto backend = make_backend(opts.backends[i]);
    out << (i ? ", " : "") << "{\"name\": " << json_string(opts.backends[i])
        << ", \"version\": " << json_string(backend ? (*backend)->version() : "") << "}";
  }
  out << "],\n  \"results\": [\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out << "    {";
    const auto fields = row_fields(rows[i]);
    for (std::size_t f = 0; f < fields.size(); ++f) {
      out << (f ? ", " : "") << json_string(fields[f].first) << ": " << fields[f].second;
    }
    out << (i + 1 < rows.size() ? "},\n" : "}\n");
  }
  out << "  ]\n}\n";
}

std::string csv_cell(const std::string& json_value) {
  if (json_value == "null") return "";
  if (!json_value.empty() && json_value.front() == '"') {
    // A JSON string: re-quote for CSV when it holds a comma or a quote.
    std::string text = json_value.substr(1, json_value.size() - 2);
    if (text.find_first_of(",\"") == std::string::npos) return text;
    std::string quoted = "\"";
    for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
  }
  return json_value;
}

void print_csv(std::ostream& out, const std::vector<Row>& rows) {
  const auto header = row_fields(Row{});
  for (std::size_t f = 0; f < header.size(); ++f) out << (f ? "," : "") << header[f].first;
  out << "\n";
  for (const Row& r : rows) {
    const auto fields = row_fields(r);
    for (std::size_t f = 0; f < fields.size(); ++f) {
      out << (f ? "," : "") << csv_cell(fields[f].second);
    }
    out << "\n";
  }
}

void print_table(std::ostream& out, const BenchOptions& opts, const std::vector<Row>& rows) {
  const bool raw = opts.compare_raw;
  const bool tool = opts.vs_openssl || opts.vs_botan;
  std::vector<std::string> header = {"backend", "suite",     "algorithm", "bytes", "ns/op",
                                     "spread",  "ops/CPU-s", "ops/s",     "MB/s"};
  if (raw) header.insert(header.end(), {"raw ns/op", "raw MB/s", "ours/raw"});
  if (tool) header.insert(header.end(), {"tool", "tool MB/s", "vs tool"});
  std::vector<std::vector<std::string>> body;
  for (const Row& r : rows) {
    std::vector<std::string> cells = {r.backend, r.suite, r.algorithm.empty() ? "-" : r.algorithm,
                                      r.bytes == 0 ? "-" : std::to_string(r.bytes)};
    if (!r.ok()) {
      cells.push_back(r.status + (r.detail.empty() ? "" : ": " + r.detail));
      body.push_back(cells);
      continue;
    }
    cells.push_back(ns_text(r.ours.cpu_ns));
    cells.push_back(fixed(r.ours.spread_pct, 1) + "%");
    cells.push_back(grouped(1e9 / r.ours.cpu_ns));
    cells.push_back(grouped(r.ours.ops_per_s));
    cells.push_back(r.mb_per_s() ? fixed(*r.mb_per_s(), 1) : "-");
    if (raw) {
      cells.push_back(r.raw ? ns_text(r.raw->cpu_ns) : "-");
      cells.push_back(r.raw_mb_per_s() ? fixed(*r.raw_mb_per_s(), 1) : "-");
      cells.push_back(r.ratio_to_raw() ? fixed(*r.ratio_to_raw(), 3) : "-");
    }
    if (tool) {
      cells.push_back(r.tool.empty() ? "-" : r.tool);
      cells.push_back(r.tool_mb_per_s ? fixed(*r.tool_mb_per_s, 1) : "-");
      cells.push_back(r.ratio_to_tool() ? fixed((*r.ratio_to_tool() - 1) * 100, 1) + "%" : "-");
    }
    body.push_back(cells);
  }
  std::vector<std::size_t> widths(header.size(), 0);
  for (std::size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& cells : body) {
    // A status message spans the measured columns: it does not widen them.
    for (std::size_t c = 0; c < cells.size() && c < widths.size(); ++c) {
      if (cells.size() == 5 && c == 4) continue;
      widths[c] = std::max(widths[c], cells[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::size_t w = c < widths.size() ? widths[c] : 0;
      const std::string& cell = cells[c];
      const std::string pad(cell.size() < w ? w - cell.size() : 0, ' ');
      const bool left = c < 3 || (cells.size() == 5 && c == 4);
      text += (c ? "  " : "") + (left ? cell + pad : pad + cell);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << "\n";
  };
  out << "multichap bench: " << describe_method(opts.method) << "\n";
  for (const std::string& name : opts.backends) {
    auto backend = make_backend(name);
    if (backend) out << "  " << name << ": " << (*backend)->version() << "\n";
  }
  out << "ns/op: median CPU ns per operation; spread: (slowest - fastest) / median; ops/CPU-s: "
         "1e9 / ns/op (one thread); ops/s: all threads, wall clock; MB/s: 10^6 bytes per "
         "CPU-second";
  if (raw) out << "; raw: the library called directly, ours/raw: CPU time ratio";
  if (tool) out << "; vs tool: (raw, else ours) MB/s against the tool's";
  out << "\n\n";
  line(header);
  std::vector<std::string> rule;
  rule.reserve(widths.size());
  for (const std::size_t w : widths) rule.emplace_back(w, '-');
  line(rule);
  for (const auto& cells : body) line(cells);
}

// The chart: one panel per backend, MB/s against message size (log scale); ours solid, raw
// dashed, the speed tool dotted.
std::string svg_chart(const BenchOptions& opts, const std::vector<Row>& rows) {
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
  std::vector<std::size_t> sizes;
  double ymax = 0;
  for (const Row& r : rows) {
    if (!r.is_hash() || !r.ok()) continue;
    if (std::find(sizes.begin(), sizes.end(), r.bytes) == sizes.end()) sizes.push_back(r.bytes);
    for (const auto v : {r.mb_per_s(), r.raw_mb_per_s(), r.tool_mb_per_s}) {
      if (v) ymax = std::max(ymax, *v);
    }
  }
  std::sort(sizes.begin(), sizes.end());
  if (ymax <= 0) ymax = 1;
  const double exp10 = std::pow(10.0, std::floor(std::log10(ymax)));
  double top = exp10;
  for (const double m : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0}) {
    if (m * exp10 >= ymax) {
      top = m * exp10;
      break;
    }
  }
  const double pw = 360, ph = 260, ml = 70, mr = 60, mt = 60, mb = 60;
  const double width = ml + static_cast<double>(opts.backends.size()) * (pw + mr) + 120;
  const double height = mt + ph + mb;
  const double lo = std::log2(static_cast<double>(sizes.empty() ? 1 : sizes.front()));
  const double hi = std::log2(static_cast<double>(sizes.empty() ? 2 : sizes.back()));
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"" << width << "\" height=\"" << height << "\" fill=\"white\"/>\n"
      << "<text x=\"" << width / 2
      << "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">multichap bench: hash throughput "
         "vs message size (ours solid, raw dashed, speed tool dotted; MB/s = 10^6 bytes per "
         "CPU-second)</text>\n";
  for (std::size_t b = 0; b < opts.backends.size(); ++b) {
    const std::string& backend = opts.backends[b];
    const double x0 = ml + static_cast<double>(b) * (pw + mr);
    auto sx = [&](std::size_t s) {
      const double span = hi > lo ? hi - lo : 1;
      return x0 + 20 + (std::log2(static_cast<double>(s)) - lo) / span * (pw - 40);
    };
    auto sy = [&](double v) { return mt + ph - v / top * ph; };
    out << "<text x=\"" << x0 + pw / 2 << "\" y=\"" << mt - 10
        << "\" text-anchor=\"middle\" font-weight=\"bold\">" << backend << "</text>\n"
        << "<text x=\"" << x0 - 6 << "\" y=\"" << mt - 10 << "\" text-anchor=\"end\">MB/s</text>\n"
        << "<rect x=\"" << x0 << "\" y=\"" << mt << "\" width=\"" << pw << "\" height=\"" << ph
        << "\" fill=\"none\" stroke=\"#333\"/>\n";
    for (int k = 0; k <= 5; ++k) {
      const double v = top * k / 5;
      out << "<line x1=\"" << x0 << "\" y1=\"" << fixed(sy(v), 1) << "\" x2=\"" << x0 + pw
          << "\" y2=\"" << fixed(sy(v), 1) << "\" stroke=\"#ddd\"/>"
          << "<text x=\"" << x0 - 6 << "\" y=\"" << fixed(sy(v) + 4, 1) << "\" text-anchor=\"end\">"
          << fixed(v, 0) << "</text>\n";
    }
    for (const std::size_t s : sizes) {
      out << "<text x=\"" << fixed(sx(s), 1) << "\" y=\"" << mt + ph + 16
          << "\" text-anchor=\"middle\">" << s << "</text>\n";
    }
    out << "<text x=\"" << x0 + pw / 2 << "\" y=\"" << mt + ph + 36
        << "\" text-anchor=\"middle\">message bytes (log scale)</text>\n";
    for (std::size_t a = 0; a < std::size(kAlgorithms); ++a) {
      const std::string alg(kAlgorithms[a].name);
      for (int series = 0; series < 3; ++series) {
        std::string points;
        for (const Row& r : rows) {
          if (!r.is_hash() || !r.ok() || r.backend != backend || r.algorithm != alg) continue;
          const auto v = series == 0   ? r.mb_per_s()
                         : series == 1 ? r.raw_mb_per_s()
                                       : r.tool_mb_per_s;
          if (v) points += fixed(sx(r.bytes), 1) + "," + fixed(sy(*v), 1) + " ";
        }
        if (points.empty()) continue;
        const char* dash = series == 0   ? ""
                           : series == 1 ? " stroke-dasharray=\"6,4\""
                                         : " stroke-dasharray=\"2,3\"";
        out << "<polyline points=\"" << points << "\" fill=\"none\" stroke=\"" << kColors[a]
            << "\" stroke-width=\"2\"" << dash << "/>\n";
      }
    }
  }
  const double lx = ml + static_cast<double>(opts.backends.size()) * (pw + mr) - mr + 20;
  for (std::size_t a = 0; a < std::size(kAlgorithms); ++a) {
    const double y = mt + 10 + static_cast<double>(a) * 20;
    out << "<line x1=\"" << lx << "\" y1=\"" << y << "\" x2=\"" << lx + 24 << "\" y2=\"" << y
        << "\" stroke=\"" << kColors[a] << "\" stroke-width=\"2\"/><text x=\"" << lx + 30
        << "\" y=\"" << y + 4 << "\">" << kAlgorithms[a].name << "</text>\n";
  }
  out << "</svg>\n";
  return out.str();
}

// ----------------------------------------------------------------------------- the command

class Progress {
 public:
  Progress(bool quiet, std::size_t total) : m_quiet(quiet), m_total(total) {}
  void step(const std::string& what) {
    ++m_done;
    if (!m_quiet)
      std::cerr << "multichap bench: [" << m_done << "/" << m_total << "] " << what << "\n";
  }
  void note(const std::string& what) const {
    if (!m_quiet) std::cerr << "multichap bench: " << what << "\n";
  }

 private:
  bool m_quiet;
  std::size_t m_total;
  std::size_t m_done = 0;
};

// Measures one row; ours (and raw when given) interleaved.
void measure_row(Row& row, const BenchMethod& method, const BenchWorkerFactory& ours,
                 const BenchWorkerFactory* raw) {
  std::vector<BenchWorkerFactory> factories = {ours};
  if (raw != nullptr) factories.push_back(*raw);
  auto stats = bench_measure(method, factories);
  if (!stats) {
    row.status = "failed";
    row.detail = stats.error().message;
    return;
  }
  row.ours = (*stats)[0];
  if (raw != nullptr) row.raw = (*stats)[1];
}

std::vector<Row> run_cases(const BenchOptions& opts) {
  std::vector<Row> rows;
  const std::size_t per_alg = (opts.wants("hash") ? opts.sizes.size() : 0) +
                              (opts.wants("response") ? std::size(kChallengeSizes) : 0) +
                              (opts.wants("verify") ? std::size(kChallengeSizes) : 0) +
                              (opts.wants("login") ? 1 : 0);
  const std::size_t total =
      opts.backends.size() * (opts.algorithms.size() * per_alg + (opts.wants("challenge") ? 1 : 0));
  Progress progress(opts.quiet, total);

  for (const std::string& name : opts.backends) {
    auto made = make_backend(name);
    if (!made) continue;  // checked while parsing
    const std::shared_ptr<const HashBackend> backend = *made;
    for (const Algorithm alg : opts.algorithms) {
      const std::string alg_name(algorithm_name(alg));
      if (!backend->supports(alg)) {
        for (const char* suite : kSuites) {
          if (std::string_view(suite) == "challenge" || !opts.wants(suite)) continue;
          Row row;
          row.suite = suite;
          row.backend = name;
          row.algorithm = alg_name;
          row.status = "unsupported";
          row.detail = concat({name, " cannot compute ", alg_name, " in this configuration"});
          rows.push_back(row);
        }
        progress.note(concat({name, ": ", alg_name, " unsupported here, skipped"}));
        continue;
      }
      if (opts.wants("hash")) {
        for (const std::size_t size : opts.sizes) {
          progress.step(concat({name, " hash ", alg_name, " ", std::to_string(size), " B"}));
          Row row = make_row("hash", name, alg_name, size);
          const BenchWorkerFactory ours = [=]() -> Result<std::unique_ptr<BenchWorker>> {
            return std::unique_ptr<BenchWorker>(std::make_unique<HashWorker>(backend, alg, size));
          };
          const BenchWorkerFactory raw = [=]() -> Result<std::unique_ptr<BenchWorker>> {
            auto digest = make_raw_digest(name, alg);
            if (!digest) {
              return make_error(ErrorKind::backend,
                                concat({"no raw ", name, " baseline for ", alg_name}));
            }
            return std::unique_ptr<BenchWorker>(
                std::make_unique<RawHashWorker>(std::move(digest), size));
          };
          measure_row(row, opts.method, ours, opts.compare_raw ? &raw : nullptr);
          rows.push_back(row);
        }
      }
      for (const char* suite : {"response", "verify"}) {
        if (!opts.wants(suite)) continue;
        const bool verify = std::string_view(suite) == "verify";
        for (const std::size_t challenge : kChallengeSizes) {
          progress.step(concat({name, " ", suite, " ", alg_name, " ", std::to_string(challenge),
                                "-byte challenge"}));
          Row row = make_row(suite, name, alg_name, challenge);
          const BenchWorkerFactory ours = [=]() -> Result<std::unique_ptr<BenchWorker>> {
            return std::unique_ptr<BenchWorker>(
                std::make_unique<ResponseWorker>(backend, alg, challenge, verify));
          };
          measure_row(row, opts.method, ours, nullptr);
          rows.push_back(row);
        }
      }
      if (opts.wants("login")) {
        progress.step(concat({name, " login ", alg_name, " (mutual, in memory)"}));
        Row row = make_row("login", name, alg_name, 0);
        const BenchWorkerFactory ours = [=]() { return LoginWorker::create(backend, alg); };
        measure_row(row, opts.method, ours, nullptr);
        rows.push_back(row);
      }
    }
    if (opts.wants("challenge")) {
      progress.step(name + " challenge 32 random bytes");
      Row row = make_row("challenge", name, "", 32);
      const BenchWorkerFactory ours = [=]() -> Result<std::unique_ptr<BenchWorker>> {
        return std::unique_ptr<BenchWorker>(std::make_unique<ChallengeWorker>(backend, 32));
      };
      measure_row(row, opts.method, ours, nullptr);
      rows.push_back(row);
    }
  }
  return rows;
}

// Runs openssl speed / botan speed for the hash rows of their backend.
void run_tools(const BenchOptions& opts, std::vector<Row>& rows) {
  struct Tool {
    bool wanted;
    const char* backend;
    const char* binary;
    const char* label;
    std::optional<double> (*run)(const std::string&, Algorithm, std::size_t);
  };
  const Tool tools[] = {
      {opts.vs_openssl, "openssl", "openssl", "openssl speed", &openssl_speed},
      {opts.vs_botan, "botan", "botan", "botan speed", &botan_speed},
  };
  Progress progress(opts.quiet, 0);
  for (const Tool& tool : tools) {
    if (!tool.wanted) continue;
    const std::string binary = find_on_path(tool.binary);
    if (binary.empty()) {
      progress.note(std::string("no '") + tool.binary + "' binary on PATH: " + tool.label +
                    " not run");
      continue;
    }
    for (Row& row : rows) {
      if (!row.is_hash() || !row.ok() || row.backend != tool.backend) continue;
      auto alg = parse_algorithm(row.algorithm);
      if (!alg) continue;
      progress.note(std::string("running ") + tool.label + " for " + row.algorithm + " " +
                    std::to_string(row.bytes) + " B (1 s)");
      row.tool = tool.label;
      row.tool_mb_per_s = tool.run(binary, *alg, row.bytes);
      if (!row.tool_mb_per_s) progress.note(std::string(tool.label) + " gave no number");
    }
  }
}

}  // namespace

void define_bench(CLI::App& command) {
  set_usage(command, kBenchUsage);
  add_value(command, "backend");
  add_value(command, "alg");
  add_value(command, "sizes");
  add_value(command, "suites");
  add_value(command, "seconds")->check(checked_by([](const std::string& value) {
    return parse_seconds(value) ? std::string()
                                : "must be a number of seconds above 0 and at most 600";
  }));
  add_value(command, "threads")->check(checked_by([](const std::string& value) {
    return parse_count(value, 256, "") ? std::string() : "must be a whole number from 1 to 256";
  }));
  add_value(command, "svg");
  add_flag(command, "compare-raw");
  add_flag(command, "vs-openssl");
  add_flag(command, "vs-botan");
  add_flag(command, "json")->excludes(add_flag(command, "csv"));
  add_flag(command, "quiet");
}

int run_bench(const Options& options) {
  auto opts = parse_bench_options(options);
  if (!opts) {
    report_error(opts.error());
    std::cerr << "run 'multichap bench --help' for the options\n";
    return kExitUsage;
  }
  std::vector<Row> rows = run_cases(*opts);
  run_tools(*opts, rows);

  if (opts->json) {
    print_json(std::cout, *opts, rows);
  } else if (opts->csv) {
    print_csv(std::cout, rows);
  } else {
    print_table(std::cout, *opts, rows);
  }
  std::cout.flush();

  int status = kExitOk;
  if (!opts->svg.empty()) {
    std::ofstream file(opts->svg, std::ios::binary | std::ios::trunc);
    file << svg_chart(*opts, rows);
    if (!file) {
      std::cerr << "multichap: cannot write --svg '" << opts->svg << "'\n";
      status = kExitFailure;
    }
  }
  const bool measured = std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.ok(); });
  for (const Row& r : rows) {
    if (r.status == "failed") {
      std::cerr << "multichap: bench " << r.backend << " " << r.suite << " "
                << (r.algorithm.empty() ? "" : r.algorithm + " ") << "failed: " << r.detail << "\n";
      status = kExitFailure;
    }
  }
  if (!measured) {
    std::cerr << "multichap: bench measured nothing (every selected algorithm is unsupported)\n";
    status = kExitFailure;
  }
  return status;
}

}  // namespace multichap::cli
