// SPDX-License-Identifier: BSD-2-Clause
// A fleet on a real etcd: a 3-member cluster on loopback (free ports, data on tmpfs, started and
// stopped here) and 3 `multichap serve --config` processes sharing it, written to with
// `multichap store` and logged into with our initiator. Label `fleet` (docs/fleet.md):
// propagation of accounts, rotations and ACLs; one fleet-wide lockout for guesses spread
// over the targets; the leader killed during 200 logins; the majority lost past max_stale and
// back; compaction past a watch's revision; TLS with client certificates and etcd auth with a
// role that cannot write accounts.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "backends/hash_backend.h"
#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "tests/interop/harness.h"

namespace {

using interop::contains;
using interop::Env;
using interop::Millis;
using interop::Process;
using interop::run;
using interop::RunResult;
using interop::Serve;
using interop::TempDir;

const std::string kDisk = "iqn.2026-11.org.multichap.fleet:disk1";
const std::string kHostA = "iqn.2026-11.org.multichap.fleet:host-a";
const std::string kHostB = "iqn.2026-11.org.multichap.fleet:host-b";

std::string etcd_binary() {
  for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "etcd";
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

// A private etcd cluster of n members on 127.0.0.1, data in a tmpfs directory.
class EtcdCluster {
 public:
  struct Tls {
    std::string ca, cert, key;  // the members' server certificate; clients must present one
  };
  explicit EtcdCluster(const TempDir& logs) : m_logs(logs) {
    std::string base = "/dev/shm";
    if (::access(base.c_str(), W_OK) != 0) base = "/tmp";
    std::string tmpl = base + "/multichap-fleet-etcd.XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) m_data = tmpl;
  }
  ~EtcdCluster() {
    m_members.clear();
    std::error_code ec;
    if (!m_data.empty()) std::filesystem::remove_all(m_data, ec);
  }

  bool start(std::size_t n, std::string& why, const std::optional<Tls>& tls = std::nullopt) {
    m_tls = tls;
    std::string cluster;
    for (std::size_t i = 0; i < n; ++i) {
      m_client_ports.push_back(interop::free_port());
      m_peer_ports.push_back(interop::free_port());
      cluster += (i ? "," : "") + name(i) + "=http://127.0.0.1:" + std::to_string(m_peer_ports[i]);
    }
    m_cluster = cluster;
    m_members.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (!launch(i, why)) return false;
    }
    return wait_healthy(n, Millis(20000), why);
  }

  bool launch(std::size_t i, std::string& why) {
    std::vector<std::string> argv = {etcd_binary(),
                                     "--name",
                                     name(i),
                                     "--data-dir",
                                     m_data + "/" + name(i),
                                     "--listen-client-urls",
                                     url(i),
                                     "--advertise-client-urls",
                                     url(i),
                                     "--listen-peer-urls",
                                     "http://127.0.0.1:" + std::to_string(m_peer_ports[i]),
                                     "--initial-advertise-peer-urls",
                                     "http://127.0.0.1:" + std::to_string(m_peer_ports[i]),
                                     "--initial-cluster",
                                     m_cluster,
                                     "--initial-cluster-token",
                                     "multichap-fleet-test",
                                     "--initial-cluster-state",
                                     "new",
                                     "--heartbeat-interval",
                                     "100",
                                     "--election-timeout",
                                     "1000",
                                     "--auth-token-ttl",
                                     "3"};
    if (m_tls) {
      for (const std::string& a :
           {std::string("--cert-file"), m_tls->cert, std::string("--key-file"), m_tls->key,
            std::string("--trusted-ca-file"), m_tls->ca, std::string("--client-cert-auth")}) {
        argv.push_back(a);
      }
    }
    m_members[i] = Process::spawn(argv, {}, m_logs.file(name(i) + ".log"), why);
    return m_members[i] != nullptr;
  }

  bool wait_healthy(std::size_t n, Millis timeout, std::string& why) {
    const bool ok = interop::wait_until(
        [&] {
          std::size_t healthy = 0;
          for (std::size_t i = 0; i < n; ++i) {
            if (m_members[i] &&
                etcdctl({"--endpoints", url(i), "endpoint", "health"}).exit_code == 0)
              ++healthy;
          }
          return healthy == n;
        },
        timeout);
    if (!ok) why = "etcd not healthy:\n" + logs();
    return ok;
  }

  RunResult etcdctl(std::vector<std::string> args, const Env& env = {}) const {
    std::vector<std::string> argv = {"etcdctl", "--command-timeout=2s", "--dial-timeout=1s"};
    if (m_tls) {
      argv.push_back("--cacert=" + m_tls->ca);
      argv.push_back("--cert=" + m_tls->cert);
      argv.push_back("--key=" + m_tls->key);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    Env e = env;
    e.emplace_back("ETCDCTL_API", "3");
    return run(argv, e, Millis(10000));
  }

  // The index of the leader, or n when none is known.
  std::size_t leader() const {
    for (std::size_t i = 0; i < m_members.size(); ++i) {
      if (!m_members[i]) continue;
      const RunResult r = etcdctl({"--endpoints", url(i), "endpoint", "status", "-w", "simple"});
      // "URL, ID, VERSION, DB SIZE, IS LEADER, IS LEARNER, ..."
      std::vector<std::string> fields;
      std::stringstream in(r.out);
      std::string f;
      while (std::getline(in, f, ',')) fields.push_back(f);
      if (r.exit_code == 0 && fields.size() > 4 && fields[4].find("true") != std::string::npos)
        return i;
    }
    return m_members.size();
  }

  void kill(std::size_t i) {
    if (m_members[i]) m_members[i]->stop(SIGKILL, Millis(0));
    m_members[i].reset();
  }

  std::string url(std::size_t i) const {
    return std::string(m_tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(m_client_ports[i]);
  }
  std::string endpoints() const {
    std::string out;
    for (std::size_t i = 0; i < m_client_ports.size(); ++i) out += (i ? "," : "") + url(i);
    return out;
  }
  std::string logs() const {
    std::string out;
    for (std::size_t i = 0; i < m_members.size(); ++i) {
      if (m_members[i]) out += name(i) + ":\n" + m_members[i]->log().substr(0, 4000) + "\n";
    }
    return out;
  }

 private:
  static std::string name(std::size_t i) { return "m" + std::to_string(i); }
  const TempDir& m_logs;
  std::string m_data;
  std::string m_cluster;
  std::optional<Tls> m_tls;
  std::vector<std::uint16_t> m_client_ports;
  std::vector<std::uint16_t> m_peer_ports;
  std::vector<std::unique_ptr<Process>> m_members;
};

// One login (and logout) with our initiator; 0 on success, else the target's status (or -1).
int login(std::uint16_t port, const std::string& user, const std::string& secret,
          const std::string& initiator = kHostA, const std::string& target = kDisk,
          unsigned attempts = 1) {
  static const auto backend = multichap::make_default_backend();
  multichap::ChapInitiatorConfig chap;
  chap.local = {user, multichap::Secret::from_text(secret)};
  auto auth = multichap::InitiatorAuthenticator::create(std::move(chap), *backend);
  if (!auth) return -1;
  multichap::InitiatorOptions options;
  options.portal = multichap::Endpoint{"127.0.0.1", port};
  options.target_name = target;
  options.initiator_name = initiator;
  options.max_attempts = attempts;
  options.retry_delay = Millis(200);
  options.offer_fallback = false;
  auto session = multichap::InitiatorSession::create(options, std::move(auth).value());
  if (!session) return -1;
  if (auto ok = (*session)->login(); !ok) {
    return (*session)->last_status() ? static_cast<int>(*(*session)->last_status()) : -1;
  }
  (void)(*session)->logout();
  return 0;
}

class Fleet : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& s : m_serves) s->stop();
    if (HasFailure()) {
      for (auto& s : m_serves) std::cerr << "serve log:\n" << s->log() << "\n";
      std::cerr << m_etcd.logs();
    }
  }

  // Starts the cluster and n targets with extra lines in their [store] and [defence] tables.
  void start(std::size_t members, const std::string& store_extra = "",
             const std::string& defence = "", const std::optional<EtcdCluster::Tls>& tls = {},
             std::size_t targets = 3, const std::vector<std::string>& serve_args = {}) {
    std::string why;
    ASSERT_TRUE(m_etcd.start(members, why, tls)) << why;
    std::string eps;
    for (std::size_t i = 0; i < members; ++i) eps += (i ? ", \"" : "\"") + m_etcd.url(i) + "\"";
    const std::string config = m_dir.file("fleet.toml");
    write_file(config, "listen = \"127.0.0.1:0\"\n[limits]\nthreads = 1\n[defence]\n" + defence +
                           "\n[store]\nendpoints = [" + eps + "]\nprefix = \"/fleet/\"\n" +
                           store_extra + "\n");
    m_config = config;
    for (std::size_t i = 0; i < targets; ++i) {
      m_serves.push_back(std::make_unique<Serve>(m_dir));
      std::vector<std::string> args = {"--config", config};
      args.insert(args.end(), serve_args.begin(), serve_args.end());
      ASSERT_TRUE(m_serves.back()->start(args, {}, why)) << why;
    }
  }

  RunResult store(std::vector<std::string> args, const Env& env = {},
                  const std::vector<std::string>& auth = {}) {
    std::vector<std::string> argv = {interop::multichap_cli(), "store"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--endpoints");
    argv.push_back(m_etcd.endpoints());
    argv.push_back("--prefix");
    argv.push_back("/fleet/");
    argv.insert(argv.end(), auth.begin(), auth.end());
    return run(argv, env, Millis(20000));
  }

  void put_account(const std::string& name, const std::string& secret,
                   const std::vector<std::string>& auth = {}) {
    const RunResult r = store({"put-account", name}, {{"MULTICHAP_SECRET", secret}}, auth);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_FALSE(contains(r.all(), secret)) << r.describe();  // never echoed
  }

  // Whether pred holds for a login at every target within timeout.
  bool everywhere_within(Millis timeout, const std::function<bool(std::uint16_t)>& pred) {
    return interop::wait_until(
        [&] {
          for (auto& s : m_serves) {
            if (!pred(s->port())) return false;
          }
          return true;
        },
        timeout);
  }

  TempDir m_dir;
  EtcdCluster m_etcd{m_dir};
  std::vector<std::unique_ptr<Serve>> m_serves;
  std::string m_config;
};

TEST_F(Fleet, AccountsRotationsAndAclsReachEveryTargetWithinASecond) {
  start(3);
  put_account("alice", "alice-secret-0001");
  const RunResult t =
      store({"put-target", kDisk, "--accounts", "alice", "--initiators", kHostA + "," + kHostB});
  ASSERT_EQ(t.exit_code, 0) << t.describe();
  EXPECT_TRUE(everywhere_within(Millis(1000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0001") == 0;
  }));

  // A rotated secret: the old one is refused everywhere within 1 s, the new one works.
  put_account("alice", "alice-secret-0002");
  EXPECT_TRUE(everywhere_within(Millis(1000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0001") == 0x0201;
  }));
  for (auto& s : m_serves) EXPECT_EQ(login(s->port(), "alice", "alice-secret-0002"), 0);

  // An ACL change: host-b is out (0x0202 after authenticating), host-a still in.
  const RunResult acl = store({"put-target", kDisk, "--accounts", "alice", "--initiators", kHostA});
  ASSERT_EQ(acl.exit_code, 0) << acl.describe();
  EXPECT_TRUE(everywhere_within(Millis(1000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0002", kHostB) == 0x0202;
  }));
  for (auto& s : m_serves) EXPECT_EQ(login(s->port(), "alice", "alice-secret-0002", kHostA), 0);

  // list names objects, never secrets.
  const RunResult list = store({"list"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  EXPECT_TRUE(contains(list.out, "account alice")) << list.out;
  EXPECT_TRUE(contains(list.out, "target " + kDisk)) << list.out;
  EXPECT_FALSE(contains(list.out, "alice-secret")) << list.out;
  // A deleted account is refused everywhere.
  ASSERT_EQ(store({"delete-account", "alice"}).exit_code, 0);
  EXPECT_TRUE(everywhere_within(Millis(1000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0002") == 0x0201;
  }));
  // A malformed value is logged with its key and skipped; nothing crashes, nobody gets in.
  ASSERT_EQ(m_etcd
                .etcdctl({"--endpoints", m_etcd.endpoints(), "put", "/fleet/accounts/alice",
                          "{\"secret_b64\": 42}"})
                .exit_code,
            0);
  for (auto& s : m_serves) {
    EXPECT_TRUE(s->wait_for_log("/fleet/accounts/alice: secret_b64 must be a string", Millis(2000)))
        << s->log();
    EXPECT_EQ(login(s->port(), "alice", "alice-secret-0002"), 0x0201);
    EXPECT_TRUE(s->running());
  }
}

TEST_F(Fleet, GuessesSpreadOverTheTargetsHitOneFleetWideLockout) {
  // Delays of 100, 200, 400, 800 ms leave the store time to carry each count to every target.
  start(3, "", "lockout_failures = 5\nbase_delay_ms = 100\nmax_delay_ms = 300\nlockout = 60");
  put_account("alice", "alice-secret-0001");
  put_account("bob", "bob-secret-00001");
  ASSERT_EQ(store({"put-target", kDisk, "--accounts", "alice,bob"}).exit_code, 0);
  ASSERT_TRUE(everywhere_within(Millis(2000), [](std::uint16_t port) {
    return login(port, "bob", "bob-secret-00001") == 0;
  }));
  // Five wrong guesses, round-robin over the three targets: each target saw at most two, under
  // its local threshold of five; the fleet saw five.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login(m_serves[static_cast<std::size_t>(i) % 3]->port(), "alice", "wrong-guess-0001"),
              0x0201);
  }
  // Locked out everywhere, even with the right secret; another account is not.
  for (auto& s : m_serves) {
    EXPECT_TRUE(interop::wait_until(
        [&] { return login(s->port(), "alice", "alice-secret-0001") == 0x0201; }, Millis(2000)));
    EXPECT_EQ(login(s->port(), "bob", "bob-secret-00001"), 0) << s->log();
  }
  const RunResult list = store({"list"});
  EXPECT_TRUE(contains(list.out, "lockout source 127.0.0.1 CHAP_N alice")) << list.out;
  std::size_t lockout_lines = 0;
  for (auto& s : m_serves) lockout_lines += interop::count_of(s->log(), "lockout: fleet-wide");
  EXPECT_GE(lockout_lines, 1u);
}

TEST_F(Fleet, KillingTheLeaderDuring200LoginsLosesNone) {
  start(3);
  put_account("alice", "alice-secret-0001");
  ASSERT_EQ(store({"put-target", kDisk, "--accounts", "alice"}).exit_code, 0);
  ASSERT_TRUE(everywhere_within(Millis(2000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0001") == 0;
  }));
  const std::size_t leader = m_etcd.leader();
  ASSERT_LT(leader, 3u);
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const auto port = m_serves[static_cast<std::size_t>(t + i) % 3]->port();
        // An initiator's normal retry: a second attempt on a fresh connection.
        if (login(port, "alice", "alice-secret-0001", kHostA, kDisk, 2) != 0) ++failed;
        ++done;
      }
    });
  }
  ASSERT_TRUE(interop::wait_until([&] { return done.load() >= 40; }, Millis(30000)));
  m_etcd.kill(leader);
  for (auto& th : threads) th.join();
  EXPECT_EQ(done.load(), 200);
  EXPECT_EQ(failed.load(), 0);
  // The cluster has a new leader and the targets still follow it.
  put_account("alice", "alice-secret-0002");
  EXPECT_TRUE(everywhere_within(Millis(5000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0002") == 0;
  }));
}

TEST_F(Fleet, MajorityLostRefusesAfterMaxStaleAndRecoversWithoutARestart) {
  start(3, "max_stale = 4\ntimeout_ms = 500");
  put_account("alice", "alice-secret-0001");
  ASSERT_EQ(store({"put-target", kDisk, "--accounts", "alice"}).exit_code, 0);
  ASSERT_TRUE(everywhere_within(Millis(2000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0001") == 0;
  }));
  m_etcd.kill(0);
  m_etcd.kill(1);
  const auto lost = std::chrono::steady_clock::now();
  // Logins go on from the snapshot...
  for (auto& s : m_serves) EXPECT_EQ(login(s->port(), "alice", "alice-secret-0001"), 0);
  // ...until max_stale after the last contact, then are refused with a clear log line.
  EXPECT_TRUE(everywhere_within(Millis(15000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0001") == 0x0201;
  }));
  EXPECT_GE(std::chrono::steady_clock::now() - lost, Millis(3000));
  for (auto& s : m_serves) {
    EXPECT_TRUE(contains(s->log(), "every login is refused until it answers again")) << s->log();
  }
  // The members come back: logins work again, the targets were not restarted.
  std::string why;
  ASSERT_TRUE(m_etcd.launch(0, why)) << why;
  ASSERT_TRUE(m_etcd.launch(1, why)) << why;
  EXPECT_TRUE(everywhere_within(Millis(20000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0001") == 0;
  }));
  put_account("alice", "alice-secret-0002");  // and the watch follows again
  EXPECT_TRUE(everywhere_within(Millis(5000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0002") == 0;
  }));
  for (auto& s : m_serves) EXPECT_TRUE(s->running());
}

TEST_F(Fleet, CompactionPastTheWatchTriggersAFullReloadAndLosesNothing) {
  start(3);
  put_account("alice", "alice-secret-0001");
  ASSERT_EQ(store({"put-target", kDisk, "--accounts", "alice"}).exit_code, 0);
  ASSERT_TRUE(everywhere_within(Millis(2000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0001") == 0;
  }));
  // Freeze one target, restart every member (its watch connection dies), change and compact.
  Serve& frozen = *m_serves[0];
  ASSERT_TRUE(frozen.signal(SIGSTOP));
  for (std::size_t i = 0; i < 3; ++i) m_etcd.kill(i);
  std::string why;
  for (std::size_t i = 0; i < 3; ++i) ASSERT_TRUE(m_etcd.launch(i, why)) << why;
  ASSERT_TRUE(m_etcd.wait_healthy(3, Millis(20000), why)) << why;
  put_account("bob", "bob-secret-00001");
  ASSERT_EQ(store({"put-target", kDisk, "--accounts", "alice,bob"}).exit_code, 0);
  put_account("alice", "alice-secret-0002");
  const RunResult status = m_etcd.etcdctl(
      {"--endpoints", m_etcd.endpoints(), "get", "/fleet/accounts/alice", "-w", "fields"});
  const auto pos = status.out.find("\"Revision\" : ");
  ASSERT_NE(pos, std::string::npos) << status.describe();
  const std::string revision = std::to_string(std::atoll(status.out.c_str() + pos + 13));
  ASSERT_EQ(m_etcd.etcdctl({"--endpoints", m_etcd.endpoints(), "compact", revision}).exit_code, 0);
  ASSERT_TRUE(frozen.signal(SIGCONT));
  EXPECT_TRUE(frozen.wait_for_log("was compacted", Millis(10000))) << frozen.log();
  EXPECT_TRUE(interop::wait_until(
      [&] { return login(frozen.port(), "bob", "bob-secret-00001") == 0; }, Millis(5000)));
  EXPECT_EQ(login(frozen.port(), "alice", "alice-secret-0002"), 0);
  EXPECT_EQ(login(frozen.port(), "alice", "alice-secret-0001"), 0x0201);
}

TEST_F(Fleet, TlsClientCertificatesAndEtcdAuthWithAReadOnlyRoleForTargets) {
  // A CA, a server certificate for 127.0.0.1, a client certificate (openssl(1)).
  const std::string d = m_dir.path();
  const auto sh = [](const std::string& cmd) {
    return run({"bash", "-c", cmd}, {}, Millis(30000));
  };
  const RunResult certs =
      sh("set -e; cd " + d +
         "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=fleet-ca -keyout ca.key "
         "-out ca.pem 2>/dev/null"
         "; printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext"
         // etcd 3.4's JSON gateway refuses a client certificate with a CN under
         // --client-cert-auth ("CommonName of client sending a request against gateway will be
         // ignored"): the targets' certificate has none, users come from etcd auth.
         "; for n in server:/CN=server client:/O=multichap-fleet; do openssl req -newkey rsa:2048 "
         "-nodes -subj ${n#*:} -keyout ${n%%:*}.key -out ${n%%:*}.csr 2>/dev/null; openssl x509 "
         "-req -in ${n%%:*}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out "
         "${n%%:*}.pem 2>/dev/null; done; chmod 600 *.key");
  ASSERT_EQ(certs.exit_code, 0) << certs.describe();
  EtcdCluster::Tls tls{d + "/ca.pem", d + "/server.pem", d + "/server.key"};
  ASSERT_NO_FATAL_FAILURE(start(3, "", "", tls, 0));
  // Users and roles: root, an admin that writes the prefix, a target role that reads it and
  // writes only the guard's keys.
  const std::vector<std::string> ep = {"--endpoints", m_etcd.endpoints()};
  const auto ctl = [&](std::vector<std::string> args) {
    std::vector<std::string> all = ep;
    all.insert(all.end(), args.begin(), args.end());
    return m_etcd.etcdctl(all);
  };
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"user", "add", "root:root-password-1"},
           {"user", "grant-role", "root", "root"},
           {"user", "add", "admin:admin-password-1"},
           {"user", "add", "target:target-password"},
           {"role", "add", "fleet-admin"},
           {"role", "add", "fleet-target"},
           {"role", "grant-permission", "fleet-admin", "--prefix=true", "readwrite", "/fleet/"},
           {"role", "grant-permission", "fleet-target", "--prefix=true", "read", "/fleet/"},
           {"role", "grant-permission", "fleet-target", "--prefix=true", "readwrite",
            "/fleet/guard/"},
           {"user", "grant-role", "admin", "fleet-admin"},
           {"user", "grant-role", "target", "fleet-target"},
           {"auth", "enable"}}) {
    const RunResult r = ctl(args);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }
  write_file(d + "/admin.password", "admin-password-1");
  write_file(d + "/target.password", "target-password");
  const std::vector<std::string> admin = {
      "--ca-file",       d + "/ca.pem", "--cert-file", d + "/client.pem", "--key-file",
      d + "/client.key", "--user",      "admin",       "--password-file", d + "/admin.password"};
  std::vector<std::string> target_creds = admin;
  target_creds[7] = "target";
  target_creds[9] = d + "/target.password";
  put_account("alice", "alice-secret-0001", admin);
  ASSERT_EQ(store({"put-target", kDisk, "--accounts", "alice"}, {}, admin).exit_code, 0);
  // The targets' role cannot write accounts.
  const RunResult denied =
      store({"put-account", "mallory"}, {{"MULTICHAP_SECRET", "mallory-secret-1"}}, target_creds);
  EXPECT_EQ(denied.exit_code, 3) << denied.describe();
  EXPECT_TRUE(contains(denied.err, "permission denied")) << denied.describe();
  // Without a client certificate the members refuse the connection.
  const RunResult no_cert = store({"list"}, {}, {"--ca-file", d + "/ca.pem"});
  EXPECT_NE(no_cert.exit_code, 0) << no_cert.describe();

  std::string why;
  std::string eps;
  for (std::size_t i = 0; i < 3; ++i) eps += (i ? ", \"" : "\"") + m_etcd.url(i) + "\"";
  write_file(m_config,
             "listen = \"127.0.0.1:0\"\n[defence]\nlockout_failures = 3\n"
             "[store]\nendpoints = [" +
                 eps + "]\nprefix = \"/fleet/\"\nca_file = \"" + d + "/ca.pem\"\ncert_file = \"" +
                 d + "/client.pem\"\nkey_file = \"" + d +
                 "/client.key\"\nuser = \"target\"\npassword_file = \"" + d +
                 "/target.password\"\n");
  for (int i = 0; i < 2; ++i) {
    m_serves.push_back(std::make_unique<Serve>(m_dir));
    ASSERT_TRUE(m_serves.back()->start({"--config", m_config}, {}, why)) << why;
  }
  for (auto& s : m_serves) EXPECT_EQ(login(s->port(), "alice", "alice-secret-0001"), 0) << s->log();
  // The token expires (--auth-token-ttl 3): the targets authenticate again and keep counting
  // failures in the guard's keys, which their role may write.
  std::this_thread::sleep_for(Millis(4500));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(login(m_serves[static_cast<std::size_t>(i) % 2]->port(), "alice", "wrong-guess-001"),
              0x0201);
  }
  EXPECT_TRUE(interop::wait_until(
      [&] { return contains(store({"list"}, {}, admin).out, "lockout source 127.0.0.1"); },
      Millis(5000)));
}

}  // namespace

// The benchmark of docs/fleet.md (skipped unless MULTICHAP_FLEET_BENCH=1): one run
// measures logins/s and p99 against a target on the store and one on a TOML file, alternating
// in rounds on the same machine, then the latency of a failed login while the store counts.
namespace {

struct Rate {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

Rate measure(std::uint16_t port, const std::string& user, const std::string& secret, int logins,
             int threads, int expect) {
  std::vector<double> ms;
  std::mutex mutex;
  std::atomic<int> bad{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      std::vector<double> mine;
      for (int i = 0; i < logins / threads; ++i) {
        const auto a = std::chrono::steady_clock::now();
        if (login(port, user, secret) != expect) ++bad;
        mine.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a)
                .count());
      }
      std::lock_guard<std::mutex> lock(mutex);
      ms.insert(ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& th : pool) th.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(bad.load(), 0);
  std::sort(ms.begin(), ms.end());
  Rate r;
  r.per_second = static_cast<double>(ms.size()) / seconds;
  r.p50_ms = ms[ms.size() / 2];
  r.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  return r;
}

}  // namespace

TEST_F(Fleet, BenchEtcdStoreAgainstTomlStore) {
  if (std::getenv("MULTICHAP_FLEET_BENCH") == nullptr) GTEST_SKIP() << "MULTICHAP_FLEET_BENCH=1";
  // No delay for failures (base_delay_ms = 0) so the failed rows show the cost of counting.
  start(3, "", "base_delay_ms = 0\nlockout_failures = 1000000\nsource_lockout_failures = 1000000",
        {}, 1, {"--quiet"});  // both targets --quiet: no line per login
  put_account("alice", "alice-secret-0001");
  ASSERT_EQ(store({"put-target", kDisk, "--accounts", "alice"}).exit_code, 0);
  ASSERT_TRUE(everywhere_within(Millis(2000), [](std::uint16_t port) {
    return login(port, "alice", "alice-secret-0001") == 0;
  }));
  write_file(m_dir.file("alice.secret"), "alice-secret-0001");
  const std::string toml = m_dir.file("toml.toml");
  write_file(toml,
             "listen = \"127.0.0.1:0\"\n[limits]\nthreads = 1\n[defence]\nbase_delay_ms = "
             "0\nlockout_failures = 1000000\nsource_lockout_failures = 1000000\n"
             "[accounts.alice]\nsecret_file = \"alice.secret\"\n[[targets]]\nname = \"" +
                 kDisk + "\"\ninitiators = \"all\"\naccounts = [\"alice\"]\n");
  Serve local(m_dir);
  std::string why;
  ASSERT_TRUE(local.start({"--config", toml, "--quiet"}, {}, why)) << why;
  const int n = std::getenv("MULTICHAP_FLEET_BENCH_LOGINS") != nullptr
                    ? std::atoi(std::getenv("MULTICHAP_FLEET_BENCH_LOGINS"))
                    : 2000;
  for (const int threads : {1, 4}) {
    Rate etcd_ok, toml_ok;
    // Alternating rounds, medians of three: both see the same machine state.
    std::vector<Rate> e, t;
    for (int round = 0; round < 3; ++round) {
      e.push_back(measure(m_serves[0]->port(), "alice", "alice-secret-0001", n / 3, threads, 0));
      t.push_back(measure(local.port(), "alice", "alice-secret-0001", n / 3, threads, 0));
    }
    const auto median = [](std::vector<Rate> v) {
      std::sort(v.begin(), v.end(),
                [](const Rate& a, const Rate& b) { return a.per_second < b.per_second; });
      return v[1];
    };
    etcd_ok = median(e);
    toml_ok = median(t);
    std::printf(
        "success, %d thread(s): etcd %.0f logins/s p50 %.2f ms p99 %.2f ms | toml %.0f "
        "logins/s p50 %.2f ms p99 %.2f ms | etcd/toml %.3f\n",
        threads, etcd_ok.per_second, etcd_ok.p50_ms, etcd_ok.p99_ms, toml_ok.per_second,
        toml_ok.p50_ms, toml_ok.p99_ms, etcd_ok.per_second / toml_ok.per_second);
  }
  const Rate etcd_bad = measure(m_serves[0]->port(), "alice", "wrong-secret-001", 300, 1, 0x0201);
  const Rate toml_bad = measure(local.port(), "alice", "wrong-secret-001", 300, 1, 0x0201);
  std::printf(
      "failed login, 1 thread: etcd (counted in the store) p50 %.2f ms p99 %.2f ms | toml "
      "(local counters) p50 %.2f ms p99 %.2f ms\n",
      etcd_bad.p50_ms, etcd_bad.p99_ms, toml_bad.p50_ms, toml_bad.p99_ms);
  (void)local.stop();
}
