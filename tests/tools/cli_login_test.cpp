// SPDX-License-Identifier: BSD-2-Clause
// `multichap serve` and `multichap login` as a user runs them: real child processes of the
// built CLI, talking over 127.0.0.1. Exit status 0 on success for every algorithm, 1 on a wrong
// secret, 2 on usage errors, 3 on an unreachable portal; the embedded-target demo; and no secret
// or CHAP response in anything either process prints (checked against the responses actually sent,
// recovered from the wire by a recording relay and recomputed with chap_response()).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "auth/chap.h"
#include "auth/encoding.h"
#include "backends/hash_backend.h"
#include "tests/session/pdu_relay.h"
#include "tests/session/quirk_target.h"
#include "tests/support/backend_params.h"
#include "tests/support/result_matchers.h"
#include "tests/support/session_support.h"

extern char** environ;

namespace multichap {
namespace {

constexpr const char* kCli = MULTICHAP_CLI_PATH;
constexpr const char* kIqn = "iqn.2026-11.org.multichap.test:cli";
constexpr const char* kUser = "cli-initiator";
constexpr const char* kSecret = "cli-initiator-secret-31415";
constexpr const char* kTargetUser = "cli-target";
constexpr const char* kTargetSecret = "cli-target-secret-27182818";

// A child process with captured stdout and stderr. The destructor kills (SIGKILL) and reaps it
// if it is still running, and joins the reader threads, so no test leaves a process behind.
class Child {
 public:
  // env: NAME=VALUE entries added to the environment.
  static std::unique_ptr<Child> spawn(const std::vector<std::string>& args,
                                      const std::vector<std::string>& env = {}) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return nullptr;
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]);
      ::close(out[1]);
      return nullptr;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    std::vector<std::string> argv_storage = args;
    argv_storage.insert(argv_storage.begin(), kCli);
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The environment minus any MULTICHAP_* secret a developer may have exported, plus env.
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).rfind("MULTICHAP_", 0) != 0) envp.push_back(*e);
    }
    std::vector<std::string> env_storage = env;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, kCli, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
      ::close(out[0]);
      ::close(err[0]);
      return nullptr;
    }
    return std::unique_ptr<Child>(new Child(pid, out[0], err[0]));
  }

  ~Child() {
    if (!m_reaped) {
      ::kill(m_pid, SIGKILL);
      int status = 0;
      ::waitpid(m_pid, &status, 0);
    }
    m_out_reader.join();
    m_err_reader.join();
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void signal(int sig) {
    if (!m_reaped) ::kill(m_pid, sig);
  }

  // The exit status once the process has exited (within timeout), or nothing. A process killed
  // by a signal reports 128 + signal, like a shell.
  std::optional<int> wait(Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!m_reaped) {
      int status = 0;
      const pid_t r = ::waitpid(m_pid, &status, WNOHANG);
      if (r == m_pid) {
        m_reaped = true;
        m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(Millis(5));
    }
    // The pipes close when the process exits; let the readers drain them.
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait_for(lock, Millis(2000), [&] { return m_open_pipes == 0; });
    return m_status;
  }

  // Waits until stdout matches pattern; returns the match's first group.
  std::optional<std::string> wait_for_stdout(const std::regex& pattern, Millis timeout) {
    std::unique_lock<std::mutex> lock(m_mutex);
    std::smatch match;
    const bool found = m_cv.wait_for(lock, timeout, [&] {
      return std::regex_search(m_out, match, pattern) || m_open_pipes == 0;
    });
    if (!found || match.empty()) return std::nullopt;
    return match.size() > 1 ? match[1].str() : match[0].str();
  }

  std::string out() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_out;
  }
  std::string err() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_err;
  }

 private:
  Child(pid_t pid, int out_fd, int err_fd) : m_pid(pid) {
    m_out_reader = std::thread([this, out_fd] { drain(out_fd, m_out); });
    m_err_reader = std::thread([this, err_fd] { drain(err_fd, m_err); });
  }

  void drain(int fd, std::string& into) {
    char buf[4096];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard<std::mutex> lock(m_mutex);
      into.append(buf, static_cast<std::size_t>(n));
      m_cv.notify_all();
    }
    ::close(fd);
    std::lock_guard<std::mutex> lock(m_mutex);
    --m_open_pipes;
    m_cv.notify_all();
  }

  pid_t m_pid;
  bool m_reaped = false;
  int m_status = -1;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::string m_out;
  std::string m_err;
  int m_open_pipes = 2;
  std::thread m_out_reader;
  std::thread m_err_reader;
};

struct CliRun {
  int status = -1;
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// Runs the CLI to completion (killed after 20 s, which fails the test), with env (NAME=VALUE
// entries) added to its environment.
CliRun run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  CliRun run;
  auto child = Child::spawn(args, env);
  if (!child) {
    ADD_FAILURE() << "cannot start " << kCli;
    return run;
  }
  const auto status = child->wait(Millis(20000));
  EXPECT_TRUE(status.has_value()) << "multichap did not finish in time";
  run.status = status.value_or(-1);
  run.out = child->out();
  run.err = child->err();
  return run;
}

// `multichap serve` on 127.0.0.1 with a free port; stopped by the test (SIGTERM) or, if the test
// ends early, killed by Child's destructor.
class Server {
 public:
  explicit Server(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "serve",       "--listen", "127.0.0.1:0", "--target",      kIqn,        "--user",
        kUser,         "--secret", kSecret,       "--target-user", kTargetUser, "--target-secret",
        kTargetSecret, "--verbose"};
    args.insert(args.end(), extra.begin(), extra.end());
    m_child = Child::spawn(args);
    if (!m_child) return;
    const auto port = m_child->wait_for_stdout(std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)"),
                                               Millis(10000));
    if (port) m_port = static_cast<std::uint16_t>(std::stoi(*port));
  }
  bool ready() const { return m_port != 0; }
  // What serve printed, for failure messages.
  std::string output() const { return m_child ? m_child->out() + m_child->err() : "(not started)"; }
  std::uint16_t port() const { return m_port; }
  std::string portal() const { return "127.0.0.1:" + std::to_string(m_port); }
  // SIGTERM, then the exit status.
  std::optional<int> stop() {
    m_child->signal(SIGTERM);
    return m_child->wait(Millis(10000));
  }
  Child& child() { return *m_child; }

 private:
  std::unique_ptr<Child> m_child;
  std::uint16_t m_port = 0;
};

std::vector<std::string> login_args(const std::string& portal, const std::string& alg, bool mutual,
                                    const std::string& secret = kSecret) {
  std::vector<std::string> args = {"login",  "--portal",  portal,     "--target", kIqn,
                                   "--user", kUser,       "--secret", secret,     "--algs",
                                   alg,      "--timeout", "5"};
  if (mutual) {
    args.insert(args.end(), {"--target-user", kTargetUser, "--target-secret", kTargetSecret});
  }
  return args;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// ---------------------------------------------------------------------------------------------

TEST(CliLogin, SucceedsForEveryAlgorithmOneWayAndMutual) {
  Server server;
  ASSERT_TRUE(server.ready()) << server.output();
  const auto backends = test::backend_names();
  int logins = 0;
  for (const auto& info : kAlgorithms) {
    for (const bool mutual : {false, true}) {
      const std::string alg(info.name);
      auto args = login_args(server.portal(), alg, mutual);
      // Spread the runs over the built backends.
      args.insert(args.end(), {"--backend", backends[logins % backends.size()]});
      const CliRun run = run_cli(args);
      EXPECT_EQ(run.status, 0) << alg << (mutual ? " mutual" : " one-way") << "\n" << run.all();
      const std::string expected =
          "login succeeded: algorithm=" + alg + " mutual=" + (mutual ? "yes" : "no");
      EXPECT_TRUE(contains(run.out, expected)) << run.all();
      ++logins;
    }
  }
  const auto status = server.stop();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(contains(server.child().out(),
                       "stopped: " + std::to_string(logins) + " logins succeeded, 0 failed"))
      << server.child().out();
}

TEST(CliLogin, WrongSecretExitsOne) {
  Server server;
  ASSERT_TRUE(server.ready()) << server.output();
  const CliRun run =
      run_cli(login_args(server.portal(), "sha256", false, "wrong-secret-for-cli-42"));
  EXPECT_EQ(run.status, 1) << run.all();
  EXPECT_TRUE(contains(run.err, "0x0201")) << run.all();
  EXPECT_FALSE(contains(run.out, "login succeeded")) << run.all();
  // A wrong target secret (mutual) is an authentication failure too.
  auto args = login_args(server.portal(), "sha256", false);
  args.insert(args.end(),
              {"--target-user", kTargetUser, "--target-secret", "not-the-target-secret-99"});
  const CliRun mutual = run_cli(args);
  EXPECT_EQ(mutual.status, 1) << mutual.all();
  EXPECT_EQ(server.stop(), 0);
}

TEST(CliLogin, UsageErrorsExitTwo) {
  const CliRun unknown = run_cli({"login", "--portal", "127.0.0.1:3260", "--target", kIqn, "--user",
                                  kUser, "--secret", kSecret, "--no-such-option"});
  EXPECT_EQ(unknown.status, 2) << unknown.all();
  EXPECT_TRUE(contains(unknown.err, "unknown option --no-such-option")) << unknown.all();

  const CliRun no_target =
      run_cli({"login", "--portal", "127.0.0.1:3260", "--user", kUser, "--secret", kSecret});
  EXPECT_EQ(no_target.status, 2) << no_target.all();
  EXPECT_TRUE(contains(no_target.err, "--target")) << no_target.all();

  const CliRun bad_algs = run_cli({"login", "--algs", "sha512"});
  EXPECT_EQ(bad_algs.status, 2) << bad_algs.all();

  const CliRun serve_no_target =
      run_cli({"serve", "--listen", "127.0.0.1:0", "--user", kUser, "--secret", kSecret});
  EXPECT_EQ(serve_no_target.status, 2) << serve_no_target.all();

  const CliRun no_command = run_cli({"frobnicate"});
  EXPECT_EQ(no_command.status, 2) << no_command.all();
}

// serve --quiet and the limit flags: no line per successful login, a silent connection closed
// at the whole-login deadline (logged once), the flags' usage errors.
TEST(CliServe, QuietAndLimitFlags) {
  auto child = Child::spawn({"serve",
                             "--listen",
                             "127.0.0.1:0",
                             "--target",
                             kIqn,
                             "--user",
                             kUser,
                             "--secret",
                             kSecret,
                             "--quiet",
                             "--login-timeout",
                             "1",
                             "--max-unauthenticated",
                             "100",
                             "--max-unauthenticated-per-source",
                             "10",
                             "--max-connections",
                             "1000",
                             "--threads",
                             "1"});
  ASSERT_TRUE(child);
  const auto port =
      child->wait_for_stdout(std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)"), Millis(10000));
  ASSERT_TRUE(port) << child->out() << child->err();
  const std::string portal = "127.0.0.1:" + *port;
  const CliRun run = run_cli(login_args(portal, "sha256", false));
  EXPECT_EQ(run.status, 0) << run.all();
  // A connection that never sends a byte is closed at the 1 s deadline.
  auto silent = Connection::connect(
      Endpoint{"127.0.0.1", static_cast<std::uint16_t>(std::stoi(*port))}, Millis(2000));
  ASSERT_TRUE(silent);
  std::uint8_t byte = 0;
  const auto start = Clock::now();
  auto read = silent->read_exact(MutableByteView(&byte, 1), Clock::now() + Millis(5000));
  ASSERT_FALSE(read);
  EXPECT_THAT(read, test::ResultIs(ErrorKind::io, ErrorCode::connection_closed))
      << read.error().message;  // closed, not timed out
  EXPECT_GE(Clock::now() - start, Millis(500));
  child->signal(SIGTERM);
  EXPECT_EQ(child->wait(Millis(10000)), 0);
  EXPECT_FALSE(contains(child->out(), "succeeded: algorithm")) << child->out();
  EXPECT_TRUE(contains(child->out(), "login deadline of 1000 ms")) << child->out();
  EXPECT_TRUE(contains(child->out(), "stopped: 1 logins succeeded")) << child->out();

  for (const auto& bad :
       std::vector<std::vector<std::string>>{{"--threads", "0"},
                                             {"--login-timeout", "soon"},
                                             {"--max-connections", "0"},
                                             {"--max-unauthenticated-per-source", "-3"},
                                             {"--quiet", "--verbose"}}) {
    std::vector<std::string> args = {"serve",  "--listen", "127.0.0.1:0", "--target", kIqn,
                                     "--user", kUser,      "--secret",    kSecret};
    args.insert(args.end(), bad.begin(), bad.end());
    const CliRun usage = run_cli(args);
    EXPECT_EQ(usage.status, 2) << bad.front() << "\n" << usage.all();
  }
}

TEST(CliLogin, UnreachablePortalExitsThree) {
  // A port that was free a moment ago and has no listener now.
  std::uint16_t port = 0;
  {
    auto listener = Listener::listen(Endpoint{"127.0.0.1", 0});
    ASSERT_TRUE(listener);
    port = listener->port();
  }
  const auto start = Clock::now();
  const CliRun run =
      run_cli({"login", "--portal", "127.0.0.1:" + std::to_string(port), "--target", kIqn, "--user",
               kUser, "--secret", kSecret, "--retries", "0", "--timeout", "1"});
  EXPECT_EQ(run.status, 3) << run.all();
  EXPECT_TRUE(contains(run.err, "after 1 attempt")) << run.all();
  EXPECT_LT(Clock::now() - start, Millis(10000));
}

TEST(CliLogin, WithoutAPortalLogsIntoTheEmbeddedTargetWithMutualChap) {
  const CliRun run = run_cli({"login"});
  EXPECT_EQ(run.status, 0) << run.all();
  EXPECT_TRUE(contains(run.out, "login succeeded: algorithm=sha3-256 mutual=yes")) << run.all();
}

TEST(CliLogin, AddsConnectionsToTheSession) {
  Server server;
  ASSERT_TRUE(server.ready()) << server.output();
  auto args = login_args(server.portal(), "sha256", true);
  args.insert(args.end(), {"--connections", "3"});
  const CliRun run = run_cli(args);
  EXPECT_EQ(run.status, 0) << run.all();
  EXPECT_TRUE(contains(run.out, "connection 1 added")) << run.all();
  EXPECT_TRUE(contains(run.out, "connection 2 added")) << run.all();
  EXPECT_EQ(server.stop(), 0);
  EXPECT_TRUE(contains(server.child().out(), "stopped: 3 logins succeeded, 0 failed"))
      << server.output();
}

TEST(CliLogin, NothingPrintedContainsASecretOrAResponse) {
  Server server;
  ASSERT_TRUE(server.ready()) << server.output();
  // The relay records the wire so the test knows the responses actually sent.
  auto relay = test::PduRelay::start(Endpoint{"127.0.0.1", server.port()});
  ASSERT_TRUE(relay);
  const CliRun run =
      run_cli(login_args("127.0.0.1:" + std::to_string(relay->port()), "sha3-256,sha256", true));
  ASSERT_EQ(run.status, 0) << run.all();
  ASSERT_EQ(server.stop(), 0);
  const std::string printed = run.all() + server.child().out() + server.child().err();
  ASSERT_TRUE(contains(run.out, "CHAP_R=<masked")) << run.out;  // the transcript shows the keys

  // Recompute both responses from the challenges on the wire and check them against the wire.
  const auto backend = make_default_backend();
  ASSERT_TRUE(backend);
  auto number = parse_number(relay->find_key(0, false, "CHAP_A"), 255);
  ASSERT_TRUE(number);
  const auto alg = algorithm_from_chap_a(*number);
  ASSERT_TRUE(alg);
  struct Direction {
    bool challenge_to_target;  // where the challenge went
    const char* secret;
  };
  for (const Direction d : {Direction{false, kSecret}, Direction{true, kTargetSecret}}) {
    const auto id = parse_number(relay->find_key(0, d.challenge_to_target, "CHAP_I"), 255);
    const auto challenge =
        decode_binary(relay->find_key(0, d.challenge_to_target, "CHAP_C"), kMaxBinaryValueBytes);
    const auto wire_response =
        decode_binary(relay->find_key(0, !d.challenge_to_target, "CHAP_R"), kMaxBinaryValueBytes);
    ASSERT_TRUE(id && challenge && wire_response);
    std::array<std::uint8_t, kMaxDigestSize> expected{};
    const auto n =
        chap_response(**backend, *alg, static_cast<std::uint8_t>(*id), Secret::from_text(d.secret),
                      ByteView(challenge->data(), challenge->size()), expected);
    ASSERT_TRUE(n);
    const ByteView response(expected.data(), *n);
    ASSERT_EQ(Bytes(wire_response->begin(), wire_response->end()),
              Bytes(response.begin(), response.end()))
        << "the recomputed response is not the one sent";
    const std::string hex = encode_hex(response).substr(2);
    EXPECT_FALSE(contains(printed, hex)) << "a CHAP_R leaked";
    EXPECT_FALSE(contains(printed, upper(hex))) << "a CHAP_R leaked";
    EXPECT_FALSE(contains(printed, hex.substr(0, 16))) << "part of a CHAP_R leaked";
    EXPECT_FALSE(contains(printed, encode_base64(response).substr(2))) << "a CHAP_R leaked";
  }
  EXPECT_FALSE(contains(printed, kSecret)) << "the initiator secret leaked";
  EXPECT_FALSE(contains(printed, kTargetSecret)) << "the target secret leaked";
  EXPECT_FALSE(contains(printed, encode_hex(ByteView(std::string_view(kSecret))).substr(2)));
}

// Secrets exported in the environment (as README recommends) are read only when the command asks
// for CHAP in their direction: --user for MULTICHAP_SECRET, --target-user for
// MULTICHAP_TARGET_SECRET. Merely present, they change nothing.
const std::vector<std::string> kAmbientSecrets = {
    std::string("MULTICHAP_SECRET=") + kSecret,
    std::string("MULTICHAP_TARGET_SECRET=") + kTargetSecret};

TEST(CliAmbientSecrets, DiscoveryWithoutChapIgnoresThem) {
  Server server({"--discovery-auth", "none"});
  ASSERT_TRUE(server.ready()) << server.output();
  const std::string listed = server.portal() + ",1 " + kIqn + "\n";
  for (const auto& env : {std::vector<std::string>{kAmbientSecrets.front()}, kAmbientSecrets}) {
    const CliRun run = run_cli({"discover", "--portal", server.portal(), "--timeout", "5"}, env);
    EXPECT_EQ(run.status, 0) << env.size() << " variable(s)\n" << run.all();
    EXPECT_TRUE(contains(run.out, "AuthMethod=None\n")) << run.all();
    EXPECT_FALSE(contains(run.out, "CHAP_A")) << run.all();
    EXPECT_TRUE(contains(run.out, "\n" + listed)) << run.all();
    EXPECT_TRUE(contains(run.out, "discovered 1 target(s) at " + server.portal())) << run.all();
  }
  // login --all with --user: MULTICHAP_SECRET for the discovery (which settles on None here)
  // and the login, MULTICHAP_TARGET_SECRET ignored without --target-user.
  const CliRun all =
      run_cli({"login", "--portal", server.portal(), "--all", "--user", kUser, "--timeout", "5"},
              kAmbientSecrets);
  EXPECT_EQ(all.status, 0) << all.all();
  EXPECT_TRUE(contains(all.out,
                       std::string("login succeeded: algorithm=sha3-256 mutual=no target=") + kIqn))
      << all.all();
  EXPECT_EQ(server.stop(), 0);
}

TEST(CliAmbientSecrets, AreReadWhenTheCommandAsksForChap) {
  Server server;  // CHAP on discovery too, with the target's account
  ASSERT_TRUE(server.ready()) << server.output();
  const CliRun discover = run_cli({"discover", "--portal", server.portal(), "--user", kUser,
                                   "--target-user", kTargetUser, "--timeout", "5"},
                                  kAmbientSecrets);
  EXPECT_EQ(discover.status, 0) << discover.all();
  EXPECT_TRUE(contains(discover.out, "discovered 1 target(s)")) << discover.all();
  const CliRun login = run_cli({"login", "--portal", server.portal(), "--target", kIqn, "--user",
                                kUser, "--target-user", kTargetUser, "--timeout", "5"},
                               kAmbientSecrets);
  EXPECT_EQ(login.status, 0) << login.all();
  EXPECT_TRUE(contains(login.out, "login succeeded: algorithm=sha3-256 mutual=yes")) << login.all();
  // Without --user, discovery offers no CHAP, and this target wants it: an authentication
  // failure (1), not a usage error (2).
  const CliRun plain =
      run_cli({"discover", "--portal", server.portal(), "--timeout", "5"}, kAmbientSecrets);
  EXPECT_EQ(plain.status, 1) << plain.all();
  EXPECT_EQ(server.stop(), 0);
}

TEST(CliAmbientSecrets, OneWayLoginIgnoresTheTargetSecret) {
  Server server;
  ASSERT_TRUE(server.ready()) << server.output();
  const CliRun run = run_cli(login_args(server.portal(), "sha256", false), kAmbientSecrets);
  EXPECT_EQ(run.status, 0) << run.all();
  EXPECT_TRUE(contains(run.out, "login succeeded: algorithm=sha256 mutual=no")) << run.all();
  EXPECT_EQ(server.stop(), 0);
}

TEST(CliAmbientSecrets, TheEmbeddedTargetStillUsesMutualChap) {
  // No --user: random secrets for both accounts, the exported ones ignored.
  const CliRun run = run_cli({"login"}, kAmbientSecrets);
  EXPECT_EQ(run.status, 0) << run.all();
  EXPECT_TRUE(contains(run.out, "login succeeded: algorithm=sha3-256 mutual=yes")) << run.all();
  // With --user and --target-user the exported secrets are the accounts' (a short one is
  // refused, which shows it was read).
  const CliRun named =
      run_cli({"login", "--user", kUser, "--target-user", kTargetUser}, kAmbientSecrets);
  EXPECT_EQ(named.status, 0) << named.all();
  EXPECT_TRUE(contains(named.out, "mutual=yes")) << named.all();
  const CliRun short_secret = run_cli({"login", "--user", kUser}, {"MULTICHAP_SECRET=short-one"});
  EXPECT_EQ(short_secret.status, 3) << short_secret.all();
  EXPECT_TRUE(contains(short_secret.err, "12 bytes")) << short_secret.all();
  const CliRun ignored = run_cli({"login"}, {"MULTICHAP_SECRET=short-one"});
  EXPECT_EQ(ignored.status, 0) << ignored.all();
}

// ---------------------------------------------------------------------------------------------
// discover, login --all, --offer-fallback, --iscsid-conf / --node-record against the scripted
// quirk target of tests/session/quirk_target.h (in this process; the CLI is the child).

std::shared_ptr<const HashBackend> first_backend() {
  return test::backend_or_fail(test::backend_names().front());
}

// A file in the test's temporary directory, removed on destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/multichap-cli-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) return;
    m_path = name;
    const ssize_t n = ::write(fd, content.data(), content.size());
    (void)n;
    ::close(fd);
  }
  ~TempFile() {
    if (!m_path.empty()) ::unlink(m_path.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

// The accounts a QuirkTarget knows by default (tests/support/identities.h).
const std::string kQuirkUser{test::kInitiatorUser};
const std::string kQuirkSecret{test::kInitiatorSecret};
const std::string kQuirkTargetUser{test::kTargetUser};
const std::string kQuirkTargetSecret{test::kTargetSecret};
constexpr const char* kDisk1 = "iqn.2026-11.org.multichap.test:disk1";
constexpr const char* kDisk2 = "iqn.2026-11.org.multichap.test:disk2";

test::Quirks listing_quirks() {
  test::Quirks q;
  q.knows = test::all_algorithms();
  q.targets = {{kDisk1, {"SELF"}}, {kDisk2, {"SELF"}}};
  return q;
}

TEST(CliDiscover, ListsTargetsWithoutChapWithChapAndMutual) {
  {
    test::Quirks q = listing_quirks();
    q.require_chap = false;
    test::QuirkTarget target(first_backend(), q);
    ASSERT_TRUE(target.listening());
    const CliRun run = run_cli({"discover", "--portal", target.portal(), "--timeout", "5"});
    EXPECT_EQ(run.status, 0) << run.all();
    EXPECT_TRUE(contains(run.out, "-> [security T=0] InitiatorName=")) << run.all();
    EXPECT_TRUE(contains(run.out, "AuthMethod=None")) << run.all();
    EXPECT_TRUE(contains(run.out, "\n" + target.portal() + ",1 " + kDisk1 + "\n")) << run.all();
    EXPECT_TRUE(contains(run.out, "\n" + target.portal() + ",1 " + kDisk2 + "\n")) << run.all();
    EXPECT_TRUE(contains(run.out, "discovered 2 target(s) at " + target.portal())) << run.all();
  }
  for (const bool mutual : {false, true}) {
    test::QuirkTarget target(first_backend(), listing_quirks());
    ASSERT_TRUE(target.listening());
    TempFile secret(kQuirkSecret);
    TempFile target_secret(kQuirkTargetSecret);
    std::vector<std::string> args = {"discover", "--portal",      target.portal(), "--user",
                                     kQuirkUser, "--secret-file", secret.path(),   "--quiet"};
    if (mutual) {
      args.insert(args.end(), {"--target-user", kQuirkTargetUser, "--target-secret-file",
                               target_secret.path()});
    }
    const CliRun run = run_cli(args);
    EXPECT_EQ(run.status, 0) << run.all();
    EXPECT_EQ(run.out, target.portal() + ",1 " + kDisk1 + "\n" + target.portal() + ",1 " + kDisk2 +
                           "\ndiscovered 2 target(s) at " + target.portal() + "\n")
        << run.all();
    ASSERT_TRUE(target.wait_for(1));
    EXPECT_TRUE(target.records()[0].verified);
    EXPECT_EQ(target.records()[0].initiator_chap_c.empty(), !mutual);
    EXPECT_FALSE(contains(run.all(), kQuirkSecret));
  }
}

TEST(CliDiscover, WrongSecretExitsOne) {
  test::QuirkTarget target(first_backend(), listing_quirks());
  ASSERT_TRUE(target.listening());
  const CliRun run = run_cli({"discover", "--portal", target.portal(), "--user", kQuirkUser,
                              "--secret", "not-the-secret-at-all-77"});
  EXPECT_EQ(run.status, 1) << run.all();
  const CliRun usage = run_cli({"discover"});
  EXPECT_EQ(usage.status, 2) << usage.all();
}

// --all: discovery, then a login into each target found, each through the offer fallback of a
// pre-3.15 LIO (only a lone "5" accepted).
TEST(CliLoginAll, LogsIntoEveryTargetFoundThroughTheFallback) {
  test::Quirks q = listing_quirks();
  q.knows = {Algorithm::md5};
  q.md5_literal_only = true;
  test::QuirkTarget target(first_backend(), q, 30);
  ASSERT_TRUE(target.listening());
  TempFile secret(kQuirkSecret);
  const CliRun run = run_cli({"login", "--portal", target.portal(), "--all", "--user", kQuirkUser,
                              "--secret-file", secret.path(), "--timeout", "5"});
  EXPECT_EQ(run.status, 0) << run.all();
  EXPECT_TRUE(contains(run.out, "fallback: target refused CHAP_A=8,7,6,5, offering 8\n"))
      << run.all();
  EXPECT_TRUE(contains(
      run.out, std::string("login succeeded: algorithm=md5 mutual=no target=") + kDisk1 + "\n"))
      << run.all();
  EXPECT_TRUE(contains(
      run.out, std::string("login succeeded: algorithm=md5 mutual=no target=") + kDisk2 + "\n"))
      << run.all();
  // The offer that worked is remembered per portal and target: the discovery session, disk1 and
  // disk2 are three keys, so each goes through the dance once (3 x 5 connections).
  ASSERT_TRUE(target.wait_for(15));
  std::vector<std::string> sessions;
  for (const auto& r : target.records()) sessions.push_back(r.session_type + ":" + r.chap_a_offer);
  const std::vector<std::string> dance = {"8,7,6,5", "8", "7", "6", "5"};
  std::vector<std::string> want;
  for (const char* type : {"Discovery", "Normal", "Normal"})
    for (const auto& o : dance) want.push_back(std::string(type) + ":" + o);
  EXPECT_EQ(sessions, want);

  // A plain login with the default offer and no flag (a new process: nothing remembered).
  const CliRun plain = run_cli({"login", "--portal", target.portal(), "--target", kDisk1, "--user",
                                kQuirkUser, "--secret-file", secret.path()});
  EXPECT_EQ(plain.status, 0) << plain.all();
  EXPECT_TRUE(contains(plain.out, "fallback: target refused CHAP_A=6, offering 5\n"))
      << plain.all();
  EXPECT_TRUE(contains(plain.out, "login succeeded: algorithm=md5 mutual=no\n")) << plain.all();
  ASSERT_TRUE(target.wait_for(20));

  // --offer-fallback=off gives up after the first refusal: one connection, exit 1.
  const CliRun off = run_cli({"login", "--portal", target.portal(), "--target", kDisk2, "--user",
                              kQuirkUser, "--secret-file", secret.path(), "--offer-fallback=off"});
  EXPECT_EQ(off.status, 1) << off.all();
  EXPECT_TRUE(contains(off.out, "-> [security T=0] CHAP_A=8,7,6,5\n")) << off.all();
  EXPECT_FALSE(contains(off.out, "fallback:")) << off.all();
  EXPECT_FALSE(contains(off.all(), "login succeeded")) << off.all();
  ASSERT_TRUE(target.wait_for(21));
}

TEST(CliLoginAll, NoTargetMatchingExitsThree) {
  test::QuirkTarget target(first_backend(), listing_quirks());
  ASSERT_TRUE(target.listening());
  TempFile secret(kQuirkSecret);
  const CliRun run =
      run_cli({"login", "--portal", target.portal(), "--all", "--target", "iqn.nothing:*", "--user",
               kQuirkUser, "--secret-file", secret.path(), "--quiet"});
  EXPECT_EQ(run.status, 3) << run.all();
  EXPECT_TRUE(contains(run.err, "found 2 target(s), none named iqn.nothing:*")) << run.all();
}

TEST(CliIscsidConf, AnOpenIscsiConfigurationDrivesTheLogin) {
  test::QuirkTarget target(first_backend(), listing_quirks());
  ASSERT_TRUE(target.listening());
  const std::string conf = std::string("# iscsid.conf\n") +
                           "iscsid.startup = /bin/true\n"
                           "node.startup = manual\n"
                           "node.session.auth.authmethod = CHAP\n"
                           "node.session.auth.chap_algs = SHA256, MD5\n"
                           "node.session.auth.username = " +
                           kQuirkUser + "\nnode.session.auth.password = " + kQuirkSecret +
                           "\nnode.session.auth.username_in = " + kQuirkTargetUser +
                           "\nnode.session.auth.password_in = " + kQuirkTargetSecret +
                           "\nnode.session.auth.frobnicate = yes\n"
                           "this line is malformed\n"
                           "discovery.sendtargets.auth.authmethod = None\n";
  TempFile file(conf);
  const CliRun run = run_cli({"login", "--iscsid-conf", file.path(), "--portal", target.portal(),
                              "--target", kDisk1, "--timeout", "5"});
  EXPECT_EQ(run.status, 0) << run.all();
  EXPECT_TRUE(contains(run.out, "-> [security T=0] CHAP_A=7,5\n")) << run.all();
  EXPECT_TRUE(contains(run.out, "login succeeded: algorithm=sha256 mutual=yes")) << run.all();
  EXPECT_TRUE(contains(run.err, file.path() + ":10: unknown key node.session.auth.frobnicate"))
      << run.all();
  EXPECT_TRUE(contains(run.err, file.path() + ":11: malformed line")) << run.all();
  EXPECT_FALSE(contains(run.all(), kQuirkSecret)) << run.all();
  EXPECT_FALSE(contains(run.all(), kQuirkTargetSecret)) << run.all();

  // A node record names the target and the portal itself.
  const std::string record =
      "# BEGIN RECORD 2.1.8\nnode.name = " + std::string(kDisk2) +
      "\nnode.tpgt = 1\nnode.session.auth.authmethod = CHAP\n"
      "node.session.auth.username = " +
      kQuirkUser + "\nnode.session.auth.password = " + kQuirkSecret +
      "\nnode.conn[0].address = 127.0.0.1\nnode.conn[0].port = " + std::to_string(target.port()) +
      "\n# END RECORD\n";
  TempFile node(record);
  const CliRun by_record = run_cli({"login", "--node-record", node.path(), "--quiet"});
  EXPECT_EQ(by_record.status, 0) << by_record.all();
  EXPECT_EQ(by_record.out, "login succeeded: algorithm=sha3-256 mutual=no\n") << by_record.all();
  EXPECT_TRUE(by_record.err.empty()) << by_record.all();

  // A value we cannot use is a usage error naming its line (and never its neighbour's secret).
  TempFile bad("node.session.auth.password = " + std::string(kQuirkSecret) +
               "\nnode.session.auth.chap_algs = SHA512\n");
  const CliRun refused = run_cli(
      {"login", "--iscsid-conf", bad.path(), "--portal", target.portal(), "--target", kDisk1});
  EXPECT_EQ(refused.status, 2) << refused.all();
  EXPECT_TRUE(contains(refused.err, bad.path() + ":2: node.session.auth.chap_algs"))
      << refused.all();
  EXPECT_FALSE(contains(refused.all(), kQuirkSecret)) << refused.all();
}

}  // namespace
}  // namespace multichap
