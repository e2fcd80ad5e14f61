// SPDX-License-Identifier: BSD-2-Clause
#include "tests/support/session_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <utility>

namespace multichap::test {

LogSink Lines::sink() {
  return [this](const std::string& line) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_lines.push_back(line);
  };
}

std::vector<std::string> Lines::snapshot() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_lines;
}

std::string Lines::joined() const {
  std::string out;
  for (const auto& line : snapshot()) out += line + "\n";
  return out;
}

std::size_t Lines::count() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_lines.size();
}

bool Lines::contains(std::string_view needle) const {
  return joined().find(needle) != std::string::npos;
}

std::unique_ptr<Target> start_target(TargetOptions options) {
  if (options.target_name.empty()) options.target_name = std::string(kTargetIqn);
  auto created = Target::create(std::move(options));
  if (!created) return nullptr;
  auto target = std::move(created).value();
  if (!target->listen(Endpoint{"127.0.0.1", 0})) return nullptr;
  target->start();
  return target;
}

InitiatorOptions initiator_options(std::uint16_t port) {
  InitiatorOptions options;
  options.portal = Endpoint{"127.0.0.1", port};
  options.target_name = std::string(kTargetIqn);
  options.initiator_name = std::string(kInitiatorIqn);
  options.connect_timeout = Millis(2000);
  options.login_timeout = Millis(3000);
  options.retry_delay = Millis(10);
  return options;
}

std::unique_ptr<InitiatorAuthenticator> initiator_auth(std::shared_ptr<const HashBackend> backend,
                                                       bool mutual, ChapPolicy policy,
                                                       std::string_view own_secret,
                                                       std::string_view target_secret) {
  auto config = initiator_config(mutual, std::move(policy), own_secret, target_secret);
  auto created = InitiatorAuthenticator::create(std::move(*config), std::move(backend));
  if (!created) return nullptr;
  return std::move(created).value();
}

bool eventually(const std::function<bool()>& condition, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(Millis(2));
  }
  return true;
}

int connect_from(const std::string& source, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  if (::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
      ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace multichap::test
