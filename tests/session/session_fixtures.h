// Shared helpers of the session tests: CHAP identities with distinct, long-enough secrets,
// configurations for both roles, a started Target on 127.0.0.1 (port 0) that is stopped when it
// goes out of scope, a thread-safe line collector for logs and transcripts, and a polling wait.
#ifndef MULTICHAP_TESTS_SESSION_SESSION_FIXTURES_H
#define MULTICHAP_TESTS_SESSION_SESSION_FIXTURES_H

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "session/target.h"

namespace multichap::test {

inline constexpr std::string_view kTargetIqn = "iqn.2026-11.org.multichap.test:target";
inline constexpr std::string_view kInitiatorIqn = "iqn.2026-11.org.multichap.test:initiator";
inline constexpr std::string_view kInitiatorUser = "initiator-user";
inline constexpr std::string_view kInitiatorSecret = "initiator-secret-0123456789";
inline constexpr std::string_view kTargetUser = "target-user";
inline constexpr std::string_view kTargetSecret = "target-secret-9876543210";
inline constexpr std::string_view kWrongSecret = "not-the-right-secret-42";

inline ChapCredentials credentials(std::string_view name, std::string_view secret) {
  return ChapCredentials{std::string(name), Secret::from_text(secret)};
}

inline ChapPolicy policy_with(std::vector<Algorithm> algorithms) {
  ChapPolicy policy;
  policy.algorithms = std::move(algorithms);
  return policy;
}

// The target knows one initiator (kInitiatorUser/initiator_secret); with_identity gives it its own
// CHAP identity (kTargetUser/own_secret) so it can answer a mutual challenge.
inline std::shared_ptr<ChapTargetConfig> target_chap(
    bool with_identity, ChapPolicy policy = {},
    std::string_view initiator_secret = kInitiatorSecret,
    std::string_view own_secret = kTargetSecret) {
  auto config = std::make_shared<ChapTargetConfig>();
  config->accounts.push_back(credentials(kInitiatorUser, initiator_secret));
  if (with_identity) config->local = credentials(kTargetUser, own_secret);
  config->policy = std::move(policy);
  return config;
}

// An initiator authenticator for kInitiatorUser; mutual expects the target to prove
// kTargetUser/target_secret. Returns null (and the test fails at its ASSERT) when creation fails.
inline std::unique_ptr<InitiatorAuthenticator> initiator_auth(
    std::shared_ptr<const HashBackend> backend, bool mutual, ChapPolicy policy = {},
    std::string_view own_secret = kInitiatorSecret,
    std::string_view target_secret = kTargetSecret) {
  ChapInitiatorConfig config;
  config.local = credentials(kInitiatorUser, own_secret);
  if (mutual) config.target = credentials(kTargetUser, target_secret);
  config.policy = std::move(policy);
  auto created = InitiatorAuthenticator::create(std::move(config), std::move(backend));
  if (!created) return nullptr;
  return std::move(created).value();
}

// Collects log or transcript lines from any thread.
class Lines {
 public:
  LogSink sink() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_lines.push_back(line);
    };
  }
  std::vector<std::string> snapshot() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_lines;
  }
  std::string joined() const {
    std::string out;
    for (const auto& line : snapshot()) out += line + "\n";
    return out;
  }
  bool contains(std::string_view needle) const {
    return joined().find(needle) != std::string::npos;
  }

 private:
  mutable std::mutex m_mutex;
  std::vector<std::string> m_lines;
};

// Our Target on 127.0.0.1 with a free port, accepting on a background thread. Null when it could
// not be created or bound. The unique_ptr's destructor stops it (Target::~Target joins everything).
inline std::unique_ptr<Target> start_target(TargetOptions options) {
  if (options.target_name.empty()) options.target_name = std::string(kTargetIqn);
  auto created = Target::create(std::move(options));
  if (!created) return nullptr;
  auto target = std::move(created).value();
  if (!target->listen(Endpoint{"127.0.0.1", 0})) return nullptr;
  target->start();
  return target;
}

inline InitiatorOptions initiator_options(std::uint16_t port) {
  InitiatorOptions options;
  options.portal = Endpoint{"127.0.0.1", port};
  options.target_name = std::string(kTargetIqn);
  options.initiator_name = std::string(kInitiatorIqn);
  options.connect_timeout = Millis(2000);
  options.login_timeout = Millis(3000);
  options.retry_delay = Millis(10);
  return options;
}

// Polls condition every 5 ms until it holds or timeout passes; returns its last value. For
// effects the peer applies after answering (the target counts a logout after sending its reply).
inline bool eventually(const std::function<bool()>& condition, Millis timeout = Millis(3000)) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(Millis(5));
  }
  return true;
}

// Every algorithm, strongest first (the default preference: CHAP_A=8,7,6,5).
inline std::vector<Algorithm> all_algorithms() {
  return std::vector<Algorithm>(kDefaultPreference.begin(), kDefaultPreference.end());
}

}  // namespace multichap::test

#endif  // MULTICHAP_TESTS_SESSION_SESSION_FIXTURES_H
