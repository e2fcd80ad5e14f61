// SPDX-License-Identifier: BSD-2-Clause
#include "tests/interop/harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace interop {

namespace {

using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a.find(' ') == std::string::npos ? a : "'" + a + "'";
  }
  return s;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Forks and execs argv with stdin from /dev/null and stdout/stderr on the given descriptors.
// The child leads its own process group and dies with the test process. -1 and why on failure.
pid_t fork_exec(const std::vector<std::string>& argv, const Env& env, int out_fd, int err_fd,
                std::string& why) {
  if (argv.empty()) {
    why = "empty command";
    return -1;
  }
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : env) replaced = replaced || k == name;
    if (!replaced) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const auto& e : env_strings) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  int report[2];  // the child writes errno here if exec fails; CLOEXEC closes it on success
  if (::pipe2(report, O_CLOEXEC) != 0) {
    why = std::string("pipe2: ") + std::strerror(errno);
    return -1;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    why = std::string("fork: ") + std::strerror(errno);
    ::close(report[0]);
    ::close(report[1]);
    return -1;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(cargv[0], cargv.data(), cenv.data());
    const int err = errno;
    (void)!::write(report[1], &err, sizeof(err));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from here, so the group exists before we might signal it
  ::close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    why = "cannot run " + argv[0] + ": " + std::strerror(child_errno);
    return -1;
  }
  return pid;
}

// Whether pid has exited, without reaping it (so its process group id stays reserved and
// killing the group cannot hit an unrelated process).
bool exited_unreaped(pid_t pid) {
  siginfo_t info{};
  info.si_pid = 0;
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return true;
  return info.si_pid == pid;
}

// Kills what is left of pid's process group (pid itself has exited or gets killed too), then
// reaps pid. Returns its decoded exit status.
int finish(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return decode_status(status);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The pid holding a POSIX (lockf/fcntl) lock on the first byte of path, or 0.
pid_t lock_holder(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  const int rc = ::fcntl(fd, F_GETLK, &fl);
  ::close(fd);  // we held no lock on it, so closing releases nothing of anyone's
  if (rc != 0 || fl.l_type == F_UNLCK) return 0;
  return fl.l_pid;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

std::atomic<int> g_counter{0};

constexpr int kControlBase = 10000;
constexpr int kControlSpan = 10000;

// A test process killed outright (SIGKILL, a ctest timeout) takes its tgtd with it
// (PR_SET_PDEATHSIG) but cannot remove tgtd's control socket files. Remove such leftovers in
// our band: lock files nobody holds, untouched for 10 minutes.
void sweep_stale_control_files() {
  std::error_code ec;
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& entry : std::filesystem::directory_iterator("/run/tgtd", ec)) {
    const std::string name = entry.path().filename().string();
    const std::string prefix = "socket.";
    const std::string suffix = ".lock";
    if (name.size() <= prefix.size() + suffix.size() ||
        name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string number =
        name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (number.size() > 5 || number.find_first_not_of("0123456789") != std::string::npos) continue;
    const int control = std::atoi(number.c_str());
    if (control < kControlBase || control >= kControlBase + kControlSpan) continue;
    const auto mtime = std::filesystem::last_write_time(entry.path(), ec);
    if (ec || now - mtime < std::chrono::minutes(10)) continue;
    const std::string lock = entry.path().string();
    if (lock_holder(lock) != 0) continue;
    ::unlink(lock.substr(0, lock.size() - 5).c_str());  // socket.N
    ::unlink(lock.c_str());
  }
}

}  // namespace

std::string multichap_cli() {
  return env_or("MULTICHAP_CLI", MULTICHAP_CLI_PATH);
}
std::string libiscsi_client() {
  return env_or("INTEROP_LIBISCSI_CLIENT", INTEROP_LIBISCSI_CLIENT_PATH);
}

TempDir::TempDir() {
  const std::string parent = env_or("TMPDIR", "/tmp");
  // A test process killed outright cannot remove its directory: sweep ours older than an hour.
  std::error_code ec;
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
    if (entry.path().filename().string().rfind("multichap-interop.", 0) != 0) continue;
    std::error_code time_ec;
    const auto mtime = std::filesystem::last_write_time(entry.path(), time_ec);
    if (!time_ec && now - mtime > std::chrono::hours(1)) {
      std::filesystem::remove_all(entry.path(), time_ec);
    }
  }
  std::string tmpl = parent + "/multichap-interop.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  }
  m_path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::string RunResult::describe() const {
  std::ostringstream s;
  s << "command: " << command << "\n";
  if (timed_out) {
    s << "TIMED OUT after " << elapsed.count() << " ms (killed)\n";
  } else {
    s << "exit status: " << exit_code << " (after " << elapsed.count() << " ms)\n";
  }
  s << "--- stdout ---\n" << out << "--- stderr ---\n" << err << "--- end ---";
  return s.str();
}

RunResult run(const std::vector<std::string>& argv, const Env& env, Millis timeout) {
  RunResult r;
  r.command = join(argv);
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.err = std::string("pipe2: ") + std::strerror(errno);
    return r;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.err = std::string("pipe2: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return r;
  }
  const auto start = Clock::now();
  std::string why;
  const pid_t pid = fork_exec(argv, env, out_pipe[1], err_pipe[1], why);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    r.err = why;
    return r;
  }
  const auto deadline = start + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  bool killed = false;
  Clock::time_point drain_deadline{};
  while (open_fds > 0) {
    const auto now = Clock::now();
    if (!killed && now >= deadline) {
      ::kill(-pid, SIGKILL);
      killed = true;
      r.timed_out = true;
      drain_deadline = now + Millis(2000);
    }
    if (killed && now >= drain_deadline) break;  // something outside the group holds the pipe
    const auto limit = killed ? drain_deadline : deadline;
    const int wait_ms = static_cast<int>(
        std::max<long long>(1, std::chrono::duration_cast<Millis>(limit - now).count()));
    const int rc = ::poll(fds, 2, wait_ms);
    if (rc < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  // Output closed: the child has exited or is about to; give it until the deadline.
  while (!killed && !exited_unreaped(pid) && Clock::now() < deadline) {
    std::this_thread::sleep_for(Millis(2));
  }
  if (!killed && !exited_unreaped(pid)) r.timed_out = true;
  r.exit_code = finish(pid);
  r.elapsed = std::chrono::duration_cast<Millis>(Clock::now() - start);
  return r;
}

std::unique_ptr<Process> Process::spawn(const std::vector<std::string>& argv, const Env& env,
                                        const std::string& log_path, std::string& why) {
  const int log_fd =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    why = "open " + log_path + ": " + std::strerror(errno);
    return nullptr;
  }
  const pid_t pid = fork_exec(argv, env, log_fd, log_fd, why);
  ::close(log_fd);
  if (pid < 0) return nullptr;
  std::unique_ptr<Process> p(new Process());
  p->m_pid = pid;
  p->m_command = join(argv);
  p->m_log_path = log_path;
  return p;
}

Process::~Process() {
  (void)stop(SIGKILL, Millis(0));
}

bool Process::running() {
  if (m_exit_code) return false;
  return !exited_unreaped(m_pid);
}

bool Process::wait_exit(Millis timeout) {
  return wait_until([this] { return !running(); }, timeout);
}

bool Process::stop(int sig, Millis grace) {
  if (m_exit_code) return true;
  bool graceful = !running();
  if (!graceful) {
    ::kill(-m_pid, sig);
    graceful = wait_exit(grace);
  }
  m_exit_code = finish(m_pid);  // SIGKILLs the group if anything is left, then reaps
  return graceful;
}

std::string Process::log() const {
  return read_file(m_log_path);
}

bool wait_until(const std::function<bool()>& pred, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(10));
  }
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Tgtd

std::string Tgtd::socket_path() const {
  return "/run/tgtd/socket." + std::to_string(m_control);
}
std::string Tgtd::lock_path() const {
  return socket_path() + ".lock";
}

bool Tgtd::start(std::string& why) {
  if (::geteuid() != 0) {
    why = "the tgtd tests need root (tgtd creates /run/tgtd/socket.N)";
    return false;
  }
  sweep_stale_control_files();
  // Control numbers kControlBase..+kControlSpan (tgtd accepts 0-32767; bench/login_bench uses
  // 20000-29999), spread by PID so parallel test processes start far apart. A number whose lock
  // file exists belongs to someone else: skip it. tgtd's own lock settles a race between two
  // processes that pick the same number.
  const int spread =
      static_cast<int>((::getpid() * 7919L + g_counter.fetch_add(1) * 131L) % kControlSpan);
  std::string last;
  for (int attempt = 0; attempt < 40; ++attempt) {
    const int control = kControlBase + (spread + attempt * 397) % kControlSpan;
    if (file_exists("/run/tgtd/socket." + std::to_string(control) + ".lock")) continue;
    const std::uint16_t port = free_port();
    if (port == 0) {
      why = "no free TCP port on 127.0.0.1";
      return false;
    }
    bool retry = false;
    if (try_start(control, port, last, retry)) return true;
    if (!retry) {
      why = last;
      return false;
    }
  }
  why = "could not start tgtd after 40 attempts; last: " + last;
  return false;
}

bool Tgtd::try_start(int control, std::uint16_t port, std::string& why, bool& retry) {
  retry = false;
  m_control = control;
  m_port = port;
  m_owns_files = false;
  m_stopped = false;
  m_tids.clear();
  const std::string log_path = m_dir.file("tgtd-" + std::to_string(control) + ".log");
  m_process = Process::spawn({"tgtd", "-f", "-C", std::to_string(control), "--iscsi",
                              "portal=127.0.0.1:" + std::to_string(port)},
                             {}, log_path, why);
  if (!m_process) return false;
  const pid_t pid = m_process->pid();
  const bool locked = wait_until(
      [&] {
        return !m_process->running() ||
               (lock_holder(lock_path()) == pid && file_exists(socket_path()));
      },
      Millis(5000));
  if (!m_process->running()) {
    const std::string log = m_process->log();
    m_process->stop(SIGKILL, Millis(0));
    retry = contains(log, "another tgtd is using");
    why = "tgtd -C " + std::to_string(control) + " exited at start-up (status " +
          std::to_string(m_process->exit_code().value_or(-1)) + "):\n" + log;
    m_process.reset();
    return false;
  }
  if (!locked) {
    m_process->stop(SIGKILL, Millis(0));
    why = "tgtd -C " + std::to_string(control) + " did not take its control lock within 5 s:\n" +
          m_process->log();
    m_process.reset();
    return false;
  }
  m_owns_files = true;  // from here on the socket files are ours to remove
  const RunResult sys = run(
      {"tgtadm", "-C", std::to_string(control), "--op", "show", "--mode", "sys"}, {}, Millis(5000));
  if (sys.exit_code != 0 || !contains(sys.out, "State: ready")) {
    why = "tgtd is not ready:\n" + sys.describe() + "\ntgtd log:\n" + log();
    (void)stop();
    return false;
  }
  // tgtd keeps running without the portal when the port is taken (and then falls back to
  // 0.0.0.0:3260): make sure it listens where we asked.
  const RunResult portals = run({"tgtadm", "-C", std::to_string(control), "--lld", "iscsi", "--op",
                                 "show", "--mode", "portal"},
                                {}, Millis(5000));
  if (portals.exit_code != 0 || !contains(portals.out, "127.0.0.1:" + std::to_string(port) + ",")) {
    why = "tgtd did not bind 127.0.0.1:" + std::to_string(port) + ":\n" + portals.describe() +
          "\ntgtd log:\n" + log();
    (void)stop();
    retry = true;
    return false;
  }
  return true;
}

bool Tgtd::tgtadm(const std::vector<std::string>& args, std::string& why) {
  std::vector<std::string> argv = {"tgtadm", "-C", std::to_string(m_control), "--lld", "iscsi"};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = run(argv, {}, Millis(10000));
  if (r.exit_code == 0) return true;
  why = r.describe();
  return false;
}

bool Tgtd::add_target(int tid, const std::string& iqn, std::string& why) {
  const std::string t = std::to_string(tid);
  if (!tgtadm({"--op", "new", "--mode", "target", "--tid", t, "-T", iqn}, why)) return false;
  m_tids.push_back(tid);
  return tgtadm({"--op", "bind", "--mode", "target", "--tid", t, "-I", "ALL"}, why);
}

bool Tgtd::add_account(int tid, const std::string& user, const std::string& password, bool outgoing,
                       std::string& why) {
  if (!tgtadm({"--op", "new", "--mode", "account", "--user", user, "--password", password}, why))
    return false;
  std::vector<std::string> bind = {
      "--op", "bind", "--mode", "account", "--tid", std::to_string(tid), "--user", user};
  if (outgoing) bind.push_back("--outgoing");
  return tgtadm(bind, why);
}

bool Tgtd::add_discovery_account(const std::string& user, const std::string& password,
                                 bool outgoing, std::string& why) {
  if (!tgtadm({"--op", "new", "--mode", "account", "--user", user, "--password", password}, why))
    return false;
  std::vector<std::string> bind = {"--op", "bind", "--mode", "account", "--user", user};
  if (outgoing) bind.push_back("--outgoing");
  return tgtadm(bind, why);
}

std::string Tgtd::show_targets() {
  const RunResult r = run({"tgtadm", "-C", std::to_string(m_control), "--lld", "iscsi", "--op",
                           "show", "--mode", "target"},
                          {}, Millis(5000));
  return r.out + r.err;
}

Tgtd::StopReport Tgtd::stop() {
  StopReport report;
  if (m_stopped || !m_process) return report;
  m_stopped = true;
  const std::string n = std::to_string(m_control);
  if (m_process->running()) {
    for (const int tid : m_tids) {
      const RunResult r = run({"tgtadm", "-C", n, "--lld", "iscsi", "--op", "delete", "--mode",
                               "target", "--tid", std::to_string(tid), "--force"},
                              {}, Millis(5000));
      if (r.exit_code != 0)
        report.detail +=
            "deleting target " + std::to_string(tid) + " failed:\n" + r.describe() + "\n";
    }
    // tgtd ignores SIGTERM; this is its way out.
    const RunResult r =
        run({"tgtadm", "-C", n, "--op", "delete", "--mode", "system"}, {}, Millis(5000));
    if (r.exit_code != 0)
      report.detail += "tgtadm --op delete --mode system failed:\n" + r.describe() + "\n";
    report.graceful = m_process->wait_exit(Millis(3000));
    if (!report.graceful) report.detail += "tgtd did not exit within 3 s: SIGKILL\n";
  } else {
    report.graceful = false;
    report.detail += "tgtd had already exited (status " +
                     std::to_string(m_process->exit_code().value_or(-1)) + ")\n";
  }
  m_process->stop(SIGKILL, Millis(0));  // reaps it (and SIGKILLs it if it is still there)
  if (m_owns_files) {
    // tgtd never removes its control socket and lock file, even on a clean exit.
    ::unlink(socket_path().c_str());
    ::unlink(lock_path().c_str());
    report.files_removed = !file_exists(socket_path()) && !file_exists(lock_path());
    if (!report.files_removed) report.detail += "could not remove " + socket_path() + "\n";
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Serve

bool Serve::signal(int sig) {
  return m_process && m_process->running() && ::kill(m_process->pid(), sig) == 0;
}

bool Serve::start(const std::vector<std::string>& args, const Env& env, std::string& why) {
  // With --config FILE the file says where to listen (tests write 127.0.0.1:0 there).
  std::vector<std::string> argv = {multichap_cli(), "serve"};
  if (args.empty() || args[0] != "--config") {
    argv.push_back("--listen");
    argv.push_back("127.0.0.1:0");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log_path =
      m_dir.file("serve-" + std::to_string(g_counter.fetch_add(1)) + ".log");
  m_process = Process::spawn(argv, env, log_path, why);
  if (!m_process) return false;
  const std::string marker = "listening on 127.0.0.1:";
  const bool up = wait_until(
      [&] {
        const std::string log = m_process->log();
        const auto pos = log.find(marker);
        return !m_process->running() || (pos != std::string::npos &&
                                         log.find(' ', pos + marker.size()) != std::string::npos);
      },
      Millis(10000));
  const std::string log = m_process->log();
  const auto pos = log.find(marker);
  if (!up || pos == std::string::npos) {
    m_process->stop(SIGKILL, Millis(0));
    why = "multichap serve did not start (" + m_process->command() + "):\n" + log;
    return false;
  }
  m_port = static_cast<std::uint16_t>(std::atoi(log.c_str() + pos + marker.size()));
  if (m_port == 0) {
    why = "cannot parse the port from: " + log;
    return false;
  }
  return true;
}

bool Serve::wait_for_log(const std::string& needle, Millis timeout, std::size_t count) {
  return wait_until([&] { return count_of(log(), needle) >= count; }, timeout);
}

Serve::StopReport Serve::stop() {
  StopReport report;
  if (m_stopped || !m_process) return report;
  m_stopped = true;
  if (!m_process->running()) {
    report.clean = false;
    report.detail = "multichap serve had already exited (status " +
                    std::to_string(m_process->exit_code().value_or(-1)) + ")";
    m_process->stop(SIGKILL, Millis(0));
    return report;
  }
  const bool graceful = m_process->stop(SIGTERM, Millis(5000));
  const int code = m_process->exit_code().value_or(-1);
  report.clean = graceful && code == 0 && contains(m_process->log(), "stopped: ");
  if (!report.clean) {
    report.detail = graceful ? "serve exited with status " + std::to_string(code)
                             : "serve did not exit within 5 s of SIGTERM (killed)";
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Capture

bool Capture::start(std::uint16_t port, const std::string& file, const std::string& log_path,
                    std::string& why) {
  if (::geteuid() != 0) {
    why = "capturing on lo needs root";
    return false;
  }
  // "Capturing on" comes before dumpcap really captures: a login started right after it can
  // be missed (seen on a loaded machine). The capture also takes datagrams to a UDP port of our
  // own and prints a line per packet (-P): once one of our datagrams shows up, it is running.
  const int sentinel = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sentinel < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof addr;
  if (::bind(sentinel, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(sentinel, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) {
    why = std::string("bind: ") + std::strerror(errno);
    ::close(sentinel);
    return false;
  }
  const std::string filter =
      "tcp port " + std::to_string(port) + " or udp port " + std::to_string(ntohs(addr.sin_port));
  m_process = Process::spawn({"tshark", "-l", "-n", "-P", "-i", "lo", "-f", filter, "-w", file}, {},
                             log_path, why);
  if (!m_process) {
    ::close(sentinel);
    return false;
  }
  const bool up = wait_until(
      [&] {
        if (!m_process->running()) return true;
        (void)::sendto(sentinel, "", 0, 0, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        return contains(m_process->log(), "UDP");
      },
      Millis(15000));
  ::close(sentinel);
  if (!up || !m_process->running()) {
    why = "tshark did not start capturing:\n" + m_process->log();
    m_process->stop(SIGKILL, Millis(0));
    return false;
  }
  m_file = file;
  return true;
}

std::size_t count_fins_in_pcapng(const std::string& path) {
  const std::string data = read_file(path);
  const auto u32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    std::memcpy(&v, data.data() + at, 4);
    return v;
  };
  std::size_t fins = 0;
  std::vector<std::uint16_t> link_types;  // per interface, in this section
  std::size_t at = 0;
  while (at + 12 <= data.size()) {
    const std::uint32_t type = u32(at);
    const std::uint32_t length = u32(at + 4);
    if (length < 12 || length % 4 != 0 || at + length > data.size()) break;  // still being written
    if (type == 0x0A0D0D0A) {                                                // Section Header Block
      if (u32(at + 8) != 0x1A2B3C4D) return fins;  // other byte order: not written by this host
      link_types.clear();
    } else if (type == 1 && length >= 20) {  // Interface Description Block
      std::uint16_t link = 0;
      std::memcpy(&link, data.data() + at + 8, 2);
      link_types.push_back(link);
    } else if (type == 6 && length >= 32) {  // Enhanced Packet Block
      const std::uint32_t iface = u32(at + 8);
      const std::size_t captured = u32(at + 20);
      const std::size_t packet = at + 28;
      if (iface < link_types.size() && packet + captured <= at + length) {
        std::size_t ip = 0;
        switch (link_types[iface]) {
          case 1:  // Ethernet (what Linux's lo gives)
            ip = 14;
            break;
          case 113:  // Linux cooked capture
            ip = 16;
            break;
          case 276:  // Linux cooked capture v2
            ip = 20;
            break;
          case 101:  // raw IP
            ip = 0;
            break;
          default:
            ip = captured;  // unknown: skip
        }
        if (ip + 20 <= captured) {
          const auto* p = reinterpret_cast<const unsigned char*>(data.data() + packet);
          const std::size_t ihl = (p[ip] & 0x0f) * 4u;
          if ((p[ip] >> 4) == 4 && p[ip + 9] == 6 && ip + ihl + 14 <= captured &&
              (p[ip + ihl + 13] & 0x01) != 0) {
            ++fins;
          }
        }
      }
    }
    at += length;
  }
  return fins;
}

bool Capture::stop(std::size_t fins) {
  if (!m_process || m_process->exit_code()) return true;
  // dumpcap hands packets over in blocks (libpcap's TPACKET_V3 ring, 250 ms timeout), and a stop
  // discards what it has not written yet. Both sides' FINs end every exchange we capture, and
  // packets arrive in order: once the file holds them, it holds everything before them.
  (void)wait_until([&] { return count_fins_in_pcapng(m_file) >= fins; }, Millis(5000));
  return m_process->stop(SIGINT, Millis(10000));
}

bool DecodedPdu::has_key(const std::string& key) const {
  for (const auto& kv : keys) {
    if (kv.compare(0, key.size() + 1, key + "=") == 0) return true;
  }
  return false;
}

std::string DecodedPdu::value(const std::string& key) const {
  for (const auto& kv : keys) {
    if (kv.compare(0, key.size() + 1, key + "=") == 0) return kv.substr(key.size() + 1);
  }
  return "";
}

std::string DecodedPdu::describe() const {
  std::ostringstream s;
  s << "frame " << frame << " " << src_port << "->" << dst_port << " opcode=" << opcodes;
  if (!transit.empty())
    s << " T=" << transit << " CSG=" << csg << " NSG=" << nsg << " status=" << status;
  for (const auto& k : keys) s << " " << k;
  return s.str();
}

std::vector<DecodedPdu> decode_iscsi(const std::string& file, std::uint16_t port,
                                     std::string& why) {
  const std::string p = std::to_string(port);
  // clang-format off
  const std::vector<std::string> argv = {
      "tshark", "-r", file, "-n", "-d", "tcp.port==" + p + ",iscsi",
      // A TCP retransmission repeats a PDU already seen: not a PDU of its own.
      "-Y", "iscsi && !tcp.analysis.retransmission && !tcp.analysis.spurious_retransmission",
      "-T", "fields", "-E", "separator=/t", "-E", "aggregator=|", "-E", "occurrence=a",
      "-e", "frame.number", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "iscsi.opcode",
      "-e", "iscsi.login.T", "-e", "iscsi.login.csg", "-e", "iscsi.login.nsg",
      "-e", "iscsi.login.status", "-e", "iscsi.keyvalue"};
  // clang-format on
  const RunResult r = run(argv, {}, Millis(30000));
  std::vector<DecodedPdu> pdus;
  if (r.exit_code != 0) {
    why = r.describe();
    return pdus;
  }
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const auto f = split(line, '\t');
    if (f.size() < 9) {
      why = "unexpected tshark line: " + line;
      continue;
    }
    DecodedPdu d;
    d.frame = std::atoi(f[0].c_str());
    d.src_port = static_cast<std::uint16_t>(std::atoi(f[1].c_str()));
    d.dst_port = static_cast<std::uint16_t>(std::atoi(f[2].c_str()));
    d.opcodes = f[3];
    d.opcode = split(f[3], '|')[0];
    d.transit = f[4];
    d.csg = f[5];
    d.nsg = f[6];
    d.status = f[7];
    if (!f[8].empty()) d.keys = split(f[8], '|');
    pdus.push_back(std::move(d));
  }
  return pdus;
}

std::string expert_problems(const std::string& file, std::uint16_t port) {
  const std::string decode_as = "tcp.port==" + std::to_string(port) + ",iscsi";
  std::string problems;
  // Malformed frames, and TCP payload that is not (part of) an iSCSI PDU.
  const RunResult malformed =
      run({"tshark", "-r", file, "-n", "-d", decode_as, "-Y",
           "_ws.malformed || (tcp.len > 0 && !iscsi && !tcp.reassembled_in && "
           "!tcp.analysis.retransmission && !tcp.analysis.spurious_retransmission)",
           "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info"},
          {}, Millis(30000));
  if (malformed.exit_code != 0) return "tshark failed: " + malformed.describe();
  if (!malformed.out.empty()) problems += "malformed or undecoded frames:\n" + malformed.out;
  // Expert infos of severity warning and error, by group and protocol. TCP's sequence analysis
  // (retransmissions, D-SACK when parallel tests load the machine) judges the kernel's TCP, not
  // what we put in the segments: it is left out.
  const RunResult expert =
      run({"tshark", "-r", file, "-n", "-d", decode_as, "-q", "-z", "expert,warn,!udp"}, {},
          Millis(30000));
  if (expert.exit_code != 0) return problems + "tshark failed: " + expert.describe();
  std::istringstream lines(expert.out);
  std::string line;
  bool in_table = false;
  while (std::getline(lines, line)) {
    if (line.rfind("Errors (", 0) == 0 || line.rfind("Warns (", 0) == 0) {
      in_table = true;
      continue;
    }
    if (line.rfind("Notes (", 0) == 0 || line.rfind("Chats (", 0) == 0 ||
        line.rfind("Comments (", 0) == 0) {
      in_table = false;
      continue;
    }
    if (!in_table || line.empty() || line[0] == '=' || contains(line, "Frequency")) continue;
    std::istringstream row(line);
    std::string frequency, group, protocol;
    row >> frequency >> group >> protocol;
    if (group == "Sequence" && protocol == "TCP") continue;
    problems += "expert: " + line + "\n";
  }
  return problems;
}

std::string expert_summary(const std::string& file, std::uint16_t port) {
  const RunResult r =
      run({"tshark", "-r", file, "-n", "-d", "tcp.port==" + std::to_string(port) + ",iscsi", "-q",
           "-z", "expert,!udp"},
          {}, Millis(30000));
  return r.out;
}

std::vector<std::uint16_t> fin_sources(const std::string& file, std::uint16_t port) {
  const RunResult r = run({"tshark", "-r", file, "-n", "-Y",
                           "tcp.flags.fin == 1 && tcp.port == " + std::to_string(port), "-T",
                           "fields", "-e", "tcp.srcport"},
                          {}, Millis(30000));
  std::vector<std::uint16_t> out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) out.push_back(static_cast<std::uint16_t>(std::atoi(line.c_str())));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// istgt

bool listening_on(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  char want[16];
  std::snprintf(want, sizeof(want), "0100007F:%04X", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (local == want && state == "0A") return true;  // TCP_LISTEN
  }
  return false;
}

bool Istgt::start(const Account& account, bool mutual, std::string& why) {
  m_port = free_port();
  const std::uint16_t control_port = free_port();
  if (m_port == 0 || control_port == 0 || m_port == control_port) {
    why = "no free port for istgt";
    return false;
  }
  const std::string disk = m_dir.file("istgt-disk1.img");
  {
    std::ofstream img(disk, std::ios::binary);
    img.seekp(16 * 1024 * 1024 - 1);
    img.put('\0');
  }
  std::ofstream conf(m_dir.file("istgt.conf"));
  conf << "[Global]\n"
       << "  NodeBase \"" << node_base() << "\"\n"
       << "  PidFile " << m_dir.file("istgt.pid") << "\n"
       << "  AuthFile " << m_dir.file("istgt-auth.conf") << "\n"
       << "  MediaDirectory " << m_dir.path() << "\n"
       << "  LogFacility \"local7\"\n"
       << "  Timeout 30\n  NopInInterval 20\n  DiscoveryAuthMethod Auto\n"
       << "  MaxSessions 16\n  MaxConnections 4\n"
       // istgt refuses to start without its unit-control portal; a free port, never used.
       << "[UnitControl]\n  AuthMethod CHAP Mutual\n  AuthGroup AuthGroup10000\n"
       << "  Portal UC1 127.0.0.1:" << control_port << "\n  Netmask 127.0.0.1\n"
       << "[PortalGroup1]\n  Portal DA1 127.0.0.1:" << m_port << "\n"
       << "[InitiatorGroup1]\n  InitiatorName \"ALL\"\n  Netmask 127.0.0.1/32\n"
       << "[LogicalUnit1]\n  TargetName disk1\n  Mapping PortalGroup1 InitiatorGroup1\n"
       << "  AuthMethod " << (mutual ? "CHAP Mutual" : "CHAP") << "\n"
       << "  AuthGroup AuthGroup1\n  UnitType Disk\n"
       << "  LUN0 Storage " << disk << " 16MB\n";
  conf.close();
  std::ofstream auth(m_dir.file("istgt-auth.conf"));
  auth << "[AuthGroup1]\n  Auth \"" << account.user << "\" \"" << account.secret << "\"";
  if (!account.target_user.empty())
    auth << " \"" << account.target_user << "\" \"" << account.target_secret << "\"";
  auth << "\n[AuthGroup10000]\n  Auth \"uctl-user\" \"uctl-secret-1234\"\n";
  auth.close();
  m_process =
      Process::spawn({"istgt", "-D", "-c", m_dir.file("istgt.conf"), "-p", m_dir.file("istgt.pid")},
                     {}, m_dir.file("istgt.log"), why);
  if (!m_process) return false;
  const bool up =
      wait_until([&] { return !m_process->running() || listening_on(m_port); }, Millis(10000));
  if (!up || !m_process->running()) {
    why = "istgt did not start listening on " + portal() + ":\n" + m_process->log();
    m_process->stop(SIGKILL, Millis(0));
    return false;
  }
  return true;
}

bool Istgt::stop() {
  if (m_stopped || !m_process) return true;
  m_stopped = true;
  return m_process->stop(SIGTERM, Millis(5000));
}

}  // namespace interop
