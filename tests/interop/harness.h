// SPDX-License-Identifier: BSD-2-Clause
// The interop tests' harness: child processes with deadlines, a private tgtd, our `multichap
// serve`, and tshark captures, each owned by an RAII object that stops it and removes what it
// created (processes, tgtd control socket files, temporary files) even when an assertion fails
// half-way through a test.
//
// Every child runs in its own process group (so a stop reaches tshark's dumpcap too) and gets
// SIGKILL if the test process itself dies (PR_SET_PDEATHSIG), so a crashed test leaves no
// daemon behind.
#ifndef MULTICHAP_TESTS_INTEROP_HARNESS_H
#define MULTICHAP_TESTS_INTEROP_HARNESS_H

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace interop {

using Millis = std::chrono::milliseconds;
using Env = std::vector<std::pair<std::string, std::string>>;  // added to (or replacing) ours

// Paths of the binaries under test: compiled in by CMake, overridable from the environment
// (MULTICHAP_CLI, INTEROP_LIBISCSI_CLIENT).
std::string multichap_cli();
std::string libiscsi_client();

// A private directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return m_path; }
  std::string file(const std::string& name) const { return m_path + "/" + name; }

 private:
  std::string m_path;
};

// The outcome of a child run to completion.
struct RunResult {
  std::string command;
  int exit_code = -1;  // the exit status, or 128 + the signal that ended it
  bool timed_out = false;
  Millis elapsed{0};
  std::string out;  // stdout
  std::string err;  // stderr
  std::string all() const { return out + err; }
  // The command, how it ended, and both outputs: for assertion messages.
  std::string describe() const;
};

// Runs argv (PATH searched) to completion; kills its process group after timeout.
RunResult run(const std::vector<std::string>& argv, const Env& env = {},
              Millis timeout = Millis(30000));

// A background child whose stdout and stderr go to one log file.
class Process {
 public:
  // Starts argv; nullptr and why on failure (e.g. fork failed).
  static std::unique_ptr<Process> spawn(const std::vector<std::string>& argv, const Env& env,
                                        const std::string& log_path, std::string& why);
  ~Process();  // kills the process group and reaps the child if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return m_pid; }
  const std::string& command() const { return m_command; }
  // Reaps the child if it has exited; true while it runs.
  bool running();
  // Waits up to timeout for the child to exit on its own.
  bool wait_exit(Millis timeout);
  // Sends sig to the process group, waits up to grace, then SIGKILLs the group. Returns true if
  // it exited within grace (i.e. without SIGKILL).
  bool stop(int sig, Millis grace);
  // Exit status once reaped (128 + signal when killed).
  std::optional<int> exit_code() const { return m_exit_code; }
  std::string log() const;
  const std::string& log_path() const { return m_log_path; }

 private:
  Process() = default;
  pid_t m_pid = -1;
  std::string m_command;
  std::string m_log_path;
  std::optional<int> m_exit_code;
};

// Polls pred every 10 ms until it holds or timeout passes.
bool wait_until(const std::function<bool()>& pred, Millis timeout);

// A TCP port on 127.0.0.1 free at the time of the call (bind to port 0, read it, close).
std::uint16_t free_port();

std::string read_file(const std::string& path);
bool contains(const std::string& haystack, const std::string& needle);
std::size_t count_of(const std::string& haystack, const std::string& needle);

// ---------------------------------------------------------------------------------------------
// tgtd: a private instance on 127.0.0.1:<free port> with its own control socket
// (tgtd -f -C N: /run/tgtd/socket.N and socket.N.lock).
class Tgtd {
 public:
  explicit Tgtd(const TempDir& dir) : m_dir(dir) {}
  ~Tgtd() { (void)stop(); }
  Tgtd(const Tgtd&) = delete;
  Tgtd& operator=(const Tgtd&) = delete;

  // Picks a control number nobody uses and a free port, starts tgtd, waits until it holds its
  // control lock and listens on the portal. On failure why says what went wrong.
  bool start(std::string& why);
  // tgtadm -C N --lld iscsi ARGS...; false (and why) on a non-zero exit.
  bool tgtadm(const std::vector<std::string>& args, std::string& why);
  bool add_target(int tid, const std::string& iqn, std::string& why);  // bound to ALL initiators
  bool add_account(int tid, const std::string& user, const std::string& password, bool outgoing,
                   std::string& why);
  // An account bound without --tid, as tgt-admin does for discovery users: discovery sessions
  // then require CHAP (outgoing: the target's identity for mutual discovery CHAP).
  bool add_discovery_account(const std::string& user, const std::string& password, bool outgoing,
                             std::string& why);
  // tgtadm --op show --mode target output (sessions, accounts) for diagnostics.
  std::string show_targets();

  struct StopReport {
    bool graceful = true;       // left on `tgtadm --op delete --mode system` (no SIGKILL)
    bool files_removed = true;  // its control socket and lock file are gone
    std::string detail;
  };
  // Deletes the targets, asks tgtd to exit, SIGKILLs it if it does not, removes the control
  // socket files it created. Idempotent.
  StopReport stop();

  std::uint16_t port() const { return m_port; }
  int control() const { return m_control; }
  std::string portal() const { return "127.0.0.1:" + std::to_string(m_port); }
  std::string log() const { return m_process ? m_process->log() : std::string(); }
  std::string socket_path() const;
  std::string lock_path() const;

 private:
  bool try_start(int control, std::uint16_t port, std::string& why, bool& retry);

  const TempDir& m_dir;
  std::unique_ptr<Process> m_process;
  int m_control = -1;
  std::uint16_t m_port = 0;
  bool m_owns_files = false;
  std::vector<int> m_tids;
  bool m_stopped = false;
};

// ---------------------------------------------------------------------------------------------
// istgt 0.4: a private instance (its own config, auth file, pid file, a 16 MiB LUN file, free
// ports for the portal and its unit-control portal) in the foreground (-D), one LogicalUnit
// "disk1" (TargetName NodeBase:disk1) with AuthMethod CHAP (or CHAP Mutual).
class Istgt {
 public:
  explicit Istgt(const TempDir& dir) : m_dir(dir) {}
  ~Istgt() { (void)stop(); }
  Istgt(const Istgt&) = delete;
  Istgt& operator=(const Istgt&) = delete;

  struct Account {
    std::string user, secret;
    std::string target_user, target_secret;  // Mauth: the target's identity for mutual CHAP
  };
  // Writes the files, starts istgt and waits (up to 10 s) until it listens on the portal.
  bool start(const Account& account, bool mutual, std::string& why);
  // SIGTERM, SIGKILL after 5 s; true when it exited on SIGTERM. Idempotent.
  bool stop();

  std::uint16_t port() const { return m_port; }
  std::string portal() const { return "127.0.0.1:" + std::to_string(m_port); }
  static std::string node_base() { return "iqn.2026-11.org.multichap.interop"; }
  static std::string target_name() { return node_base() + ":disk1"; }
  std::string log() const { return m_process ? m_process->log() : std::string(); }

 private:
  const TempDir& m_dir;
  std::unique_ptr<Process> m_process;
  std::uint16_t m_port = 0;
  bool m_stopped = false;
};

// Whether something listens on 127.0.0.1:port (read from /proc/net/tcp: no connection made).
bool listening_on(std::uint16_t port);

// ---------------------------------------------------------------------------------------------
// `multichap serve --listen 127.0.0.1:0 ...` in the background.
class Serve {
 public:
  explicit Serve(const TempDir& dir) : m_dir(dir) {}
  ~Serve() { (void)stop(); }
  Serve(const Serve&) = delete;
  Serve& operator=(const Serve&) = delete;

  // Starts serve with args (after `serve --listen 127.0.0.1:0`, or after `serve` alone when args
  // start with --config) and env (secrets); waits for
  // "listening on 127.0.0.1:PORT".
  bool start(const std::vector<std::string>& args, const Env& env, std::string& why);
  std::uint16_t port() const { return m_port; }
  std::string portal() const { return "127.0.0.1:" + std::to_string(m_port); }
  std::string log() const { return m_process ? m_process->log() : std::string(); }
  bool running() { return m_process && m_process->running(); }
  // Sends sig to the serve process (e.g. SIGHUP: reload its --config file).
  bool signal(int sig);
  // Waits until the log contains needle count times.
  bool wait_for_log(const std::string& needle, Millis timeout, std::size_t count = 1);

  struct StopReport {
    bool clean = true;  // exited 0 on SIGTERM and printed its "stopped:" summary
    std::string detail;
  };
  StopReport stop();

 private:
  const TempDir& m_dir;
  std::unique_ptr<Process> m_process;
  std::uint16_t m_port = 0;
  bool m_stopped = false;
};

// ---------------------------------------------------------------------------------------------
// tshark capturing one TCP port on loopback into a file.
class Capture {
 public:
  Capture() = default;
  ~Capture() {
    if (m_process) (void)m_process->stop(SIGINT, Millis(10000));
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Starts `tshark -l -P -i lo -f "tcp port PORT or udp port S" -w FILE` and waits until a
  // datagram of ours to port S shows in its output (then it captures).
  bool start(std::uint16_t port, const std::string& file, const std::string& log_path,
             std::string& why);
  // Waits (up to 5 s) until the file holds `fins` TCP segments with FIN set (both sides of the
  // one connection closed), then SIGINT (tshark flushes and closes the file). False if tshark
  // had to be killed.
  bool stop(std::size_t fins = 2);
  std::string log() const { return m_process ? m_process->log() : std::string(); }

 private:
  std::unique_ptr<Process> m_process;
  std::string m_file;
};

// One iSCSI PDU as tshark decodes it.
struct DecodedPdu {
  int frame = 0;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::string opcode;   // tshark's iscsi.opcode, first value, e.g. "0x03"
  std::string opcodes;  // all values (a Reject also shows the rejected header's opcode)
  std::string transit;  // iscsi.login.T: "1", "0" or "" (not a login PDU)
  std::string csg;      // "0x00", ...
  std::string nsg;
  std::string status;             // iscsi.login.status, e.g. "0x0000"
  std::vector<std::string> keys;  // iscsi.keyvalue, "Key=Value" each
  bool has_key(const std::string& key) const;
  std::string value(const std::string& key) const;  // "" when absent
  std::string describe() const;
};

// Decodes FILE with port as iSCSI; every frame that carries iSCSI, in order (TCP
// retransmissions left out).
std::vector<DecodedPdu> decode_iscsi(const std::string& file, std::uint16_t port, std::string& why);
// Malformed packets and expert infos of severity warning or error (TCP sequence analysis left
// out), one line each ("" if none).
std::string expert_problems(const std::string& file, std::uint16_t port);
// `tshark -z expert` summary, for failure messages.
std::string expert_summary(const std::string& file, std::uint16_t port);
// TCP segments over IPv4 with FIN set in a pcapng file (complete blocks only).
std::size_t count_fins_in_pcapng(const std::string& path);
// Source ports of the TCP segments with FIN set, in order.
std::vector<std::uint16_t> fin_sources(const std::string& file, std::uint16_t port);

}  // namespace interop

#endif  // MULTICHAP_TESTS_INTEROP_HARNESS_H
