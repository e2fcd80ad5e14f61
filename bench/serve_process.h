// SPDX-License-Identifier: BSD-2-Clause
// `multichap serve` (the CLI binary) as a child process on a free loopback port: the target the
// loopback benchmarks measure, in its own process as tgtd is. Killed on destruction.
#ifndef MULTICHAP_BENCH_SERVE_PROCESS_H
#define MULTICHAP_BENCH_SERVE_PROCESS_H

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <thread>
#include <vector>

#include "session/transport.h"

namespace multichap::bench {

class ServeProcess {
 public:
  // args: serve's options after --listen (target, accounts, limits); env: "NAME=value" entries
  // (the secrets).
  ServeProcess(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    {
      auto probe = Listener::listen(Endpoint{"127.0.0.1", 0});
      m_port = probe ? probe->port() : 0;
    }
    std::vector<std::string> argv_strings = {MULTICHAP_CLI_PATH, "serve", "--listen",
                                             "127.0.0.1:" + std::to_string(m_port)};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = env;
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&m_pid, MULTICHAP_CLI_PATH, &actions, nullptr, argv.data(), envp.data()) != 0)
      m_pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 200 && m_pid > 0; ++i) {  // until it listens (bounded: 2 s)
      if (Connection::connect(Endpoint{"127.0.0.1", m_port}, Millis(100))) {
        m_ready = true;
        break;
      }
      std::this_thread::sleep_for(Millis(10));
    }
  }
  ~ServeProcess() {
    if (m_pid <= 0) return;
    kill(m_pid, SIGTERM);
    for (int i = 0; i < 100 && waitpid(m_pid, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(Millis(20));
    }
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  bool ready() const { return m_ready; }
  std::uint16_t port() const { return m_port; }
  pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
  std::uint16_t m_port = 0;
  bool m_ready = false;
};

}  // namespace multichap::bench

#endif  // MULTICHAP_BENCH_SERVE_PROCESS_H
