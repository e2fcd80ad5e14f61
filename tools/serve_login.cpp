// SPDX-License-Identifier: BSD-2-Clause
// multichap serve / multichap login.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>

#include "auth/algorithm.h"
#include "auth/encoding.h"
#include "backends/hash_backend.h"
#include "session/initiator.h"
#include "session/target.h"
#include "store/fleet_store.h"
#include "tools/commands.h"
#include "tools/initiator_setup.h"
#include "tools/serve_config.h"

namespace multichap::cli {

namespace {

constexpr const char* kServeUsage =
    R"(usage: multichap serve --listen HOST:PORT --target IQN --user U (--secret S | --secret-file F)
                       [--target-user U (--target-secret S | --target-secret-file F)] [options]
       multichap serve --config FILE      (several targets, ACLs, accounts: docs/target.md)
       multichap serve --check-config FILE   (prints the configuration, secrets masked; exit 2 on an error)

Runs an iSCSI target (login phase, logout, NOP; no SCSI) that authenticates initiators with
CHAP, until interrupted (SIGINT/SIGTERM). Prints "listening on HOST:PORT" once ready
(PORT 0 picks a free port).

  --listen HOST:PORT       address to listen on (default 127.0.0.1:3260)
  --target IQN             the TargetName served
  --user U                 the initiator's CHAP_N to accept
  --secret S               its secret (visible in ps: prefer --secret-file or MULTICHAP_SECRET)
  --secret-hex HEX, --secret-file PATH
  --secret-pkcs11 URI      the secret as a key in a PKCS#11 token (docs/backends.md):
                           computed there, never read; also --target-secret-pkcs11 URI
  --pkcs11-allow-md5       let token keys compute MD5 if the token can (only readable keys)
  --target-user U          our CHAP_N for mutual CHAP
  --target-secret S        our secret for mutual CHAP (or --target-secret-file, --target-secret-hex,
                           MULTICHAP_TARGET_SECRET, which is read only with --target-user); must
                           differ from the initiator's
  --algs LIST              allowed algorithms, e.g. sha3-256,sha256 (default: all four)
  --require-mutual         refuse initiators that do not authenticate the target
  --no-auth                accept logins without CHAP (AuthMethod=None); no --user needed
  --legacy-tgt-sha1        number SHA-1 as CHAP_A 7 like tgt/IET (SHA-256 then unavailable)
  --link-protected         allow secrets under 12 bytes (the link is protected by IPsec)
  --challenge-size N       challenge bytes, 16-1024 (default 32; never below the digest size)
  --backend B              crypto backend: a name or a plugin's path (see 'multichap algorithms')
  --verbose                log every key exchanged (CHAP responses masked)
  --quiet                  no line per successful login and logout (failures, limits still shown)
  --discovery-auth none|chap|mutual
                           how Discovery sessions (SendTargets) authenticate (default: like the
                           target: chap, or mutual with --require-mutual; none with --no-auth)
  --no-guard               turn the password-guessing defence off (docs/target.md)
  --allow-core-dumps       keep the process dumpable (for debugging): by default serve makes
                           itself non-dumpable (prctl PR_SET_DUMPABLE 0), so a crash writes no
                           core file and other processes of the user cannot attach to it

With --config FILE, SIGHUP (or replacing FILE, e.g. by an atomic rename) reloads it: new logins
use the new accounts and ACLs; established sessions stay.

Limits (each logs once when it first bites):
  --login-timeout S        seconds from accept to full feature phase (default 15)
  --max-unauthenticated N  connections not logged in yet, all sources (default 4096; when full,
                           the oldest of them is closed; established sessions never are)
  --max-unauthenticated-per-source N
                           such connections from one address (default 64; more are refused)
  --max-connections N      all connections, sessions included (default 65536)
  --threads N              event-loop threads (default: one per core)
  --busy-poll US           after each burst of work a loop thread polls this many microseconds
                           before it sleeps (default 50; 0: sleep at once); picks up the next PDU
                           of a login without a wake-up, at the cost of that CPU time
)";

constexpr const char* kLoginUsage =
    R"(usage: multichap login [--portal HOST:PORT --target IQN] --user U (--secret S | --secret-file F)
                       [--target-user U (--target-secret S | --target-secret-file F)] [options]
       multichap login --portal HOST:PORT --all [--target IQN] ...
       multichap login --iscsid-conf FILE [--node-record FILE] [--portal HOST:PORT] ...

Logs into an iSCSI target with CHAP, shows the keys exchanged (CHAP responses masked), logs out.
With no --portal (and no open-iscsi files), starts an embedded target on 127.0.0.1 and logs into
it with mutual CHAP (credentials from the options, or random ones when none are given).
Prints "login succeeded: algorithm=NAME mutual=yes|no" (with " target=IQN" under --all).

Secrets in the environment are read only when the command asks for CHAP in their direction:
MULTICHAP_SECRET with --user (or a username in the open-iscsi files), MULTICHAP_TARGET_SECRET
with --target-user. Otherwise they are ignored: merely exported, they never make a login (or the
discovery of --all) a usage error.

  --portal HOST:PORT       the target's address (default port 3260)
  --target IQN             the TargetName to log into (with --all: only the targets found with
                           this name; a trailing * matches any suffix)
  --all                    run a SendTargets discovery at --portal and log into every target found
                           (at its first TargetAddress); the discovery session uses the same
                           credentials, or discovery.sendtargets.auth.* from the files
  --initiator-name IQN     our InitiatorName (default iqn.2026-11.org.multichap:initiator)
  --user U                 our CHAP_N
  --secret S               our secret (visible in ps: prefer --secret-file or MULTICHAP_SECRET)
  --secret-hex HEX, --secret-file PATH
  --secret-pkcs11 URI      our secret as a key in a PKCS#11 token (docs/backends.md):
                           computed there, never read; also --target-secret-pkcs11 URI
  --pkcs11-allow-md5       let token keys compute MD5 if the token can (only readable keys)
  --target-user U          the target's expected CHAP_N: asks for mutual CHAP
  --target-secret S        the target's secret (or --target-secret-file, --target-secret-hex,
                           MULTICHAP_TARGET_SECRET); must differ from ours
  --algs LIST              algorithms to offer, in preference order (default sha3-256,sha256,sha1,md5)
  --offer-fallback on|off  after a target refused our CHAP_A offer (old LIO refusing lists, tgt's
                           SHA-1 numbered 7, istgt's 0x0201), retry with narrower offers, never
                           outside --algs (default on; see docs/cli.md)
  --legacy-tgt-sha1        number SHA-1 as CHAP_A 7 like tgt/IET (needed for SHA-1 with tgt)
  --link-protected         allow secrets under 12 bytes (the link is protected by IPsec)
  --iscsid-conf FILE       read open-iscsi settings: node.session.auth.{authmethod,username,
                           password,username_in,password_in,chap_algs} and
                           discovery.sendtargets.auth.*; command-line options win
  --node-record FILE       an iscsiadm node record (/etc/iscsi/nodes/IQN/PORTAL/default): the same
                           keys, plus node.name and node.conn[0].address/port for --target/--portal
  --retries N              further attempts after a timeout, lost connection or class-3 status (default 2)
  --timeout S              seconds for connecting and for each login response (default 10)
  --connections N          connections in the session (MC/S), default 1
  --backend B              crypto backend: a name or a plugin's path (see 'multichap algorithms')
  --quiet                  print only the outcome
)";

Target* g_target = nullptr;
volatile std::sig_atomic_t g_reload = 0;
volatile std::sig_atomic_t g_stop = 0;

// A target holds a descriptor per connection: take the hard limit, not the soft default of 1024.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}
extern "C" void on_signal(int) {
  g_stop = 1;
  if (g_target != nullptr) g_target->request_stop();
}
extern "C" void on_hangup(int) {
  g_reload = 1;
}

// The identity of a file: a rename over it changes the inode, an edit the mtime or size.
std::string file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

// Reads and validates a configuration file for --check-config and --config into config and
// backend; an exit status when it cannot be used (warnings and errors go to stderr).
std::optional<int> load_checked(const std::string& path, std::optional<ServeConfig>& config,
                                std::shared_ptr<const HashBackend>& backend) {
  auto loaded = load_serve_config(path);
  if (!loaded) {
    std::cerr << "multichap: " << loaded.error().message << "\n";
    return kExitUsage;
  }
  for (const auto& w : loaded->warnings) std::cerr << "multichap: warning: " << w << "\n";
  auto made = loaded->backend.empty() ? make_default_backend()
                                      : make_backend_by_name_or_path(loaded->backend);
  if (!made) return report_error(made.error());
  if (auto ok = validate_serve_config(*loaded, path, **made); !ok) {
    std::cerr << "multichap: " << ok.error().message << "\n";
    return kExitUsage;
  }
  config = std::move(loaded).value();
  backend = std::move(made).value();
  return std::nullopt;
}

int check_config(const std::string& path) {
  std::optional<ServeConfig> config;
  std::shared_ptr<const HashBackend> backend;
  if (const auto status = load_checked(path, config, backend)) return *status;
  std::cout << "# " << path << ": valid\n" << config->normalized;
  return kExitOk;
}

// serve --config FILE with [store]: the targets, ACLs and accounts come from etcd and follow its
// changes (store/fleet_store.h); failures are counted fleet-wide unless fleet_guard = false.
int serve_fleet(const std::string& path, ServeConfig& config,
                const std::shared_ptr<const HashBackend>& backend, bool verbose, bool quiet) {
  const StoreSettings& settings = *config.store;
  // Where installs go: held until the target exists, then Target::reload() with the portals.
  std::mutex mutex;
  Target* live = nullptr;
  std::shared_ptr<const TargetAccess> first;
  std::vector<std::string> addresses;
  store::FleetOptions fleet;
  fleet.etcd = settings.etcd;
  fleet.prefix = settings.prefix;
  fleet.max_stale = settings.max_stale;
  fleet.crypto = backend;
  fleet.log = [](const std::string& line) { print_line(line); };
  if (!settings.secrets_key_file.empty()) {
    auto ring = store::KeyRing::load(settings.secrets_key_file);
    if (!ring) return report_error(ring.error());
    fleet.keys = std::make_shared<const store::KeyRing>(std::move(ring).value());
  }
  if (settings.fleet_guard && config.engine.guard.enabled) {
    auto guard =
        store::FleetGuard::create(settings.etcd, settings.prefix, config.engine.guard, fleet.log);
    if (!guard) return report_error(guard.error());
    fleet.guard = *guard;
  }
  fleet.install = [&](std::shared_ptr<const TargetAccess> access) {
    std::lock_guard<std::mutex> lock(mutex);
    if (live == nullptr) {
      first = std::move(access);
      return;
    }
    auto copy = std::make_shared<TargetAccess>(*access);
    copy->addresses = addresses;
    if (auto ok = live->reload(copy); !ok) {
      print_line("store: the new configuration was refused, keeping the previous one: " +
                 ok.error().message);
    }
  };
  auto started = store::FleetStore::start(fleet);
  if (!started) return report_error(started.error());
  std::unique_ptr<store::FleetStore> fleet_store = std::move(started).value();

  TargetOptions options = config.engine;
  {
    std::lock_guard<std::mutex> lock(mutex);
    options.access = first;
  }
  options.backend = backend;
  options.shared_guard = fleet.guard;
  options.log = print_line;
  options.log_keys = verbose;
  options.log_logins = !quiet;
  raise_descriptor_limit();
  auto target = Target::create(std::move(options));
  if (!target) return report_error(target.error());
  std::vector<Endpoint> endpoints;
  for (Endpoint endpoint : config.listen) {
    auto port = (*target)->listen(endpoint);
    if (!port) return report_error(port.error());
    endpoint.port = *port;
    endpoints.push_back(endpoint);
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const Endpoint& e : endpoints) addresses.push_back(e.to_string() + ",1");
    live = target->get();
    auto copy = std::make_shared<TargetAccess>(*first);
    copy->addresses = addresses;
    if (auto ok = live->reload(copy); !ok) return report_error(ok.error());
  }
  g_target = target->get();
  (void)std::signal(SIGINT, on_signal);
  (void)std::signal(SIGTERM, on_signal);
  (void)std::signal(SIGHUP, on_hangup);
  print_line("listening on " + endpoints.front().to_string() +
             " targets=" + std::to_string(fleet_store->stats().targets) + " config=" + path +
             " store=" + settings.prefix + " backend=" + std::string(backend->name()));
  for (std::size_t i = 1; i < endpoints.size(); ++i) {
    print_line("also listening on " + endpoints[i].to_string());
  }
  (*target)->start();
  while (g_stop == 0) {
    std::this_thread::sleep_for(Millis(100));
    if (g_reload != 0) {
      g_reload = 0;
      print_line("SIGHUP: the store is watched continuously; a change of [store] needs a restart");
    }
  }
  fleet_store.reset();  // no install after this point
  {
    std::lock_guard<std::mutex> lock(mutex);
    live = nullptr;
  }
  (*target)->stop();
  g_target = nullptr;
  const auto stats = (*target)->stats();
  print_line("stopped: " + std::to_string(stats.logins_succeeded) + " logins succeeded, " +
             std::to_string(stats.logins_failed) + " failed, " + std::to_string(stats.lockouts) +
             " lockouts");
  return kExitOk;
}

// Like sshd and gpg-agent, serve makes itself non-dumpable (prctl(PR_SET_DUMPABLE, 0)) before it
// reads a secret: a crash writes no core file, and processes of the same user (not root) can
// neither ptrace it nor read its /proc/PID/mem. --allow-core-dumps keeps it dumpable for
// debugging; the secret arena (auth/secure.h) still keeps the secrets out of a core file.
void set_dumpable(bool allow_core_dumps) {
  if (allow_core_dumps) {
    print_line("core dumps: allowed (--allow-core-dumps); secrets stay out of them (secret arena)");
    return;
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0) {
    print_line("core dumps: off (process not dumpable; --allow-core-dumps to debug)");
  } else {
    print_line(std::string("core dumps: could not be turned off (prctl: ") + std::strerror(errno) +
               ")");
  }
}

// serve --config FILE: runs until SIGINT/SIGTERM, reloading on SIGHUP or when FILE is replaced.
int serve_config_file(const std::string& path, bool verbose, bool quiet) {
  std::optional<ServeConfig> config;
  std::shared_ptr<const HashBackend> loaded_backend;
  if (const auto status = load_checked(path, config, loaded_backend)) return *status;
  if (config->store) return serve_fleet(path, *config, loaded_backend, verbose, quiet);
  const auto* backend = &loaded_backend;
  TargetOptions options = config->engine;
  options.access = config->access;
  options.backend = *backend;
  options.log = print_line;
  options.log_keys = verbose;
  options.log_logins = !quiet;
  raise_descriptor_limit();
  auto target = Target::create(std::move(options));
  if (!target) return report_error(target.error());
  // Every portal; port 0 picks a free port, and SendTargets must name the real ones.
  std::vector<std::string> addresses;
  std::vector<Endpoint> endpoints;
  for (Endpoint endpoint : config->listen) {
    auto port = (*target)->listen(endpoint);
    if (!port) return report_error(port.error());
    endpoint.port = *port;
    endpoints.push_back(endpoint);
    addresses.push_back(endpoint.to_string() + ",1");
  }
  {
    auto access = std::make_shared<TargetAccess>(*config->access);
    access->addresses = addresses;
    if (auto ok = (*target)->reload(access); !ok) return report_error(ok.error());
  }
  const Endpoint& endpoint = endpoints.front();
  g_target = target->get();
  (void)std::signal(SIGINT, on_signal);
  (void)std::signal(SIGTERM, on_signal);
  (void)std::signal(SIGHUP, on_hangup);
  print_line(secret_arena_status());
  print_line("listening on " + endpoint.to_string() +
             " targets=" + std::to_string(config->access->targets.size()) + " config=" + path +
             " backend=" + std::string((*backend)->name()));
  for (std::size_t i = 1; i < endpoints.size(); ++i) {
    print_line("also listening on " + endpoints[i].to_string());
  }
  (*target)->start();
  std::string identity = file_identity(path);
  unsigned ticks = 0;
  while (g_stop == 0) {
    std::this_thread::sleep_for(Millis(100));
    const bool hup = g_reload != 0;
    // The file is also watched (every 500 ms): an atomic rename over it reloads too.
    std::string now_identity = identity;
    if (++ticks % 5 == 0) now_identity = file_identity(path);
    if (!hup && (now_identity == identity || now_identity.empty())) continue;
    g_reload = 0;
    identity = file_identity(path);
    auto fresh = load_serve_config(path);
    if (fresh) {
      if (auto ok = validate_serve_config(*fresh, path, **backend); !ok) fresh = ok.error();
    }
    if (!fresh) {
      print_line("reload failed, keeping the previous configuration: " + fresh.error().message);
      continue;
    }
    for (const auto& w : fresh->warnings) print_line("warning: " + w);
    auto access = std::make_shared<TargetAccess>(*fresh->access);
    access->addresses = addresses;  // the portals of the start (rebinding needs a restart)
    if (auto ok = (*target)->reload(access); !ok) {
      print_line("reload failed, keeping the previous configuration: " + ok.error().message);
      continue;
    }
    print_line(std::string("reloaded ") + path + (hup ? " (SIGHUP)" : " (file replaced)") + ": " +
               std::to_string(access->targets.size()) + " targets; " +
               std::to_string((*target)->session_count()) + " sessions kept");
  }
  (*target)->stop();
  g_target = nullptr;
  const auto stats = (*target)->stats();
  print_line("stopped: " + std::to_string(stats.logins_succeeded) + " logins succeeded, " +
             std::to_string(stats.logins_failed) + " failed, " + std::to_string(stats.lockouts) +
             " lockouts");
  return kExitOk;
}

Result<Secret> random_secret(const HashBackend& backend) {
  std::uint8_t bytes[16];
  MULTICHAP_GUARD(backend.random(MutableByteView(bytes, sizeof(bytes))));
  Secret s = Secret::from_text(encode_hex(ByteView(bytes, sizeof(bytes))));
  secure_wipe(bytes, sizeof(bytes));
  return s;
}

}  // namespace

void define_serve(CLI::App& command) {
  set_usage(command, kServeUsage);
  define_chap_options(command);
  add_value(command, "target");
  add_value(command, "listen");
  add_value(command, "login-timeout")->check(number_in(1, 3600));
  add_value(command, "max-unauthenticated")->check(number_in(1, 1u << 20));
  add_value(command, "max-unauthenticated-per-source")->check(number_in(1, 1u << 20));
  add_value(command, "max-connections")->check(number_in(1, 1u << 20));
  add_value(command, "threads")->check(number_in(1, 256));
  add_value(command, "busy-poll")->check(number_in(0, 1000));
  CLI::Option* config = add_value(command, "config");
  add_value(command, "check-config");
  add_value(command, "discovery-auth")->check(one_of({"none", "chap", "mutual"}));
  add_flag(command, "require-mutual");
  add_flag(command, "no-auth")->excludes("--user");
  add_flag(command, "verbose")->excludes(add_flag(command, "quiet"));
  add_flag(command, "no-guard");
  add_flag(command, "allow-core-dumps");
  // With --config the file says which targets, accounts and portals.
  config->excludes("--target")->excludes("--user")->excludes("--listen");
}

int run_serve(const Options& options) {
  if (const std::string* file = options.get("check-config")) return check_config(*file);
  set_dumpable(options.has("allow-core-dumps"));
  if (const std::string* file = options.get("config")) {
    return serve_config_file(*file, options.has("verbose"), options.has("quiet"));
  }
  if (!options.has("target"))
    return report_error(make_error(ErrorKind::usage, "serve needs --target IQN"));
  auto endpoint = parse_endpoint(options.has("listen") ? *options.get("listen") : "127.0.0.1:3260");
  if (!endpoint) return report_error(endpoint.error());
  auto backend = backend_from(options);
  if (!backend) return report_error(backend.error());
  auto policy = policy_from(options);
  if (!policy) return report_error(policy.error());
  policy->require_mutual = options.has("require-mutual");

  TargetOptions target_options;
  target_options.target_name = *options.get("target");
  target_options.backend = *backend;
  target_options.log = print_line;
  target_options.log_keys = options.has("verbose");
  target_options.log_logins = !options.has("quiet");
  target_options.guard.enabled = !options.has("no-guard");
  // A number option within [1, max], or its default when absent.
  const auto limit = [&](const char* name, std::uint32_t max,
                         std::uint32_t fallback) -> Result<std::uint32_t> {
    const std::string* text = options.get(name);
    if (text == nullptr) return fallback;
    auto n = parse_number(*text, max);
    if (!n || *n == 0) {
      return make_error(ErrorKind::usage, "--" + std::string(name) +
                                              " must be a number from 1 to " + std::to_string(max));
    }
    return *n;
  };
  {
    auto timeout = limit("login-timeout", 3600, 15);
    auto unauthenticated = limit("max-unauthenticated", 1u << 20, 4096);
    auto per_source = limit("max-unauthenticated-per-source", 1u << 20, 64);
    auto connections = limit("max-connections", 1u << 20, 65536);
    auto threads = limit("threads", 256, std::max(1u, std::thread::hardware_concurrency()));
    for (const auto* r : {&timeout, &unauthenticated, &per_source, &connections, &threads}) {
      if (!*r) return report_error(r->error());
    }
    target_options.login_timeout = Millis(std::uint64_t{*timeout} * 1000);
    target_options.max_unauthenticated = *unauthenticated;
    target_options.max_unauthenticated_per_source = *per_source;
    target_options.max_connections = *connections;
    target_options.threads = *threads;
  }
  if (const std::string* text = options.get("busy-poll")) {
    auto us = parse_number(*text, 1000);
    if (!us) return report_error(with_context("--busy-poll", us.error()));
    target_options.busy_poll = std::chrono::microseconds(*us);
  }
  raise_descriptor_limit();
  auto secret = read_secret(options, "", "MULTICHAP_SECRET");
  if (!secret) return report_error(secret.error());
  auto local = target_credentials(options);
  if (!local) return report_error(local.error());
  if (!options.has("no-auth")) {  // (--no-auth excludes --user: define_serve)
    if (!options.has("user") || secret->empty()) {
      return report_error(make_error(
          ErrorKind::usage,
          "serve needs --user and a secret (--secret, --secret-file or MULTICHAP_SECRET), "
          "or --no-auth"));
    }
    auto chap = std::make_shared<ChapTargetConfig>();
    chap->accounts.push_back(ChapCredentials{*options.get("user"), std::move(secret).value()});
    chap->local = std::move(local).value();
    chap->policy = *policy;
    target_options.chap = chap;
  }
  // Discovery sessions: the target's own account and identity unless --discovery-auth says
  // otherwise.
  std::shared_ptr<const ChapTargetConfig> discovery = target_options.chap;
  if (const std::string* how = options.get("discovery-auth")) {
    if (*how == "none") {
      discovery = nullptr;
    } else if (*how == "chap" || *how == "mutual") {
      if (!target_options.chap) {
        return report_error(make_error(ErrorKind::usage,
                                       "--discovery-auth " + *how + " needs --user and a secret"));
      }
      auto d = std::make_shared<ChapTargetConfig>();
      for (const auto& a : target_options.chap->accounts) {
        d->accounts.push_back(ChapCredentials{a.name, a.secret.clone()});
      }
      if (target_options.chap->local) {
        d->local = ChapCredentials{target_options.chap->local->name,
                                   target_options.chap->local->secret.clone()};
      }
      d->policy = target_options.chap->policy;
      d->policy.require_mutual = *how == "mutual";
      if (*how == "mutual" && !d->local) {
        return report_error(make_error(ErrorKind::usage,
                                       "--discovery-auth mutual needs --target-user and a secret"));
      }
      discovery = d;
    } else {
      return report_error(
          make_error(ErrorKind::usage, "--discovery-auth must be none, chap or mutual"));
    }
  }
  auto one = std::make_shared<TargetAccess>(
      *single_target_access(*options.get("target"), target_options.chap));
  one->discovery_chap = discovery;
  target_options.access = one;
  auto target = Target::create(std::move(target_options));
  if (!target) return report_error(target.error());
  auto port = (*target)->listen(*endpoint);
  if (!port) return report_error(port.error());
  endpoint->port = *port;
  one = std::make_shared<TargetAccess>(*one);
  one->addresses = {endpoint->to_string() + ",1"};
  if (auto ok = (*target)->reload(one); !ok) return report_error(ok.error());
  g_target = target->get();
  (void)std::signal(SIGINT, on_signal);
  (void)std::signal(SIGTERM, on_signal);
  print_line(secret_arena_status());
  print_line("listening on " + endpoint->to_string() + " target=" + *options.get("target") +
             " backend=" + std::string((*backend)->name()));
  (*target)->run();
  (*target)->stop();
  g_target = nullptr;
  const auto stats = (*target)->stats();
  print_line("stopped: " + std::to_string(stats.logins_succeeded) + " logins succeeded, " +
             std::to_string(stats.logins_failed) + " failed");
  return kExitOk;
}

void define_login(CLI::App& command) {
  set_usage(command, kLoginUsage);
  define_initiator_options(command);
  add_value(command, "target");
  add_value(command, "connections")->check(number_in(1, 8));
  add_flag(command, "all");
}

int run_login(const Options& options) {
  const bool files = options.has("iscsid-conf") || options.has("node-record");
  const bool embedded = !options.has("portal") && !files;
  auto backend = backend_from(options);
  if (!backend) return report_error(backend.error());
  auto policy = policy_from(options);
  if (!policy) return report_error(policy.error());

  InitiatorOptions init;
  unsigned connections = 1;
  if (const std::string* n = options.get("connections")) {
    auto v = parse_number(*n, 8);
    if (!v || *v == 0)
      return report_error(make_error(ErrorKind::usage, "--connections must be 1-8"));
    connections = *v;
  }
  if (auto ok = initiator_options_from(options, init); !ok) return report_error(ok.error());
  if (!embedded) return login_at_portal(options, *backend, init, connections);
  if (options.has("all")) return report_error(make_error(ErrorKind::usage, "--all needs --portal"));

  // MULTICHAP_SECRET only with --user (target_credentials: MULTICHAP_TARGET_SECRET only with
  // --target-user); without, the embedded target's accounts get random secrets.
  std::string user = options.has("user") ? *options.get("user") : "";
  auto secret = read_secret(options, "", "MULTICHAP_SECRET",
                            user.empty() ? SecretFromEnv::no : SecretFromEnv::yes);
  if (!secret) return report_error(secret.error());
  auto target_creds = target_credentials(options);
  if (!target_creds) return report_error(target_creds.error());

  std::unique_ptr<Target> embedded_target;
  if (embedded) {
    // The main job's demo: an embedded target on loopback, mutual CHAP.
    if (user.empty()) user = "demo-initiator";
    if (secret->empty()) secret = random_secret(**backend);
    if (!*target_creds) {
      auto s = random_secret(**backend);
      if (!s) return report_error(s.error());
      *target_creds = ChapCredentials{"demo-target", std::move(s).value()};
    }
    if (!secret) return report_error(secret.error());
    init.target_name =
        options.has("target") ? *options.get("target") : "iqn.2026-11.org.multichap:embedded";
    auto chap = std::make_shared<ChapTargetConfig>();
    chap->accounts.push_back(ChapCredentials{user, secret->clone()});
    chap->local = ChapCredentials{(*target_creds)->name, (*target_creds)->secret.clone()};
    chap->policy = *policy;
    TargetOptions target_options;
    target_options.target_name = init.target_name;
    target_options.chap = chap;
    target_options.backend = *backend;
    auto target = Target::create(std::move(target_options));
    if (!target) return report_error(target.error());
    auto port = (*target)->listen(Endpoint{"127.0.0.1", 0});
    if (!port) return report_error(port.error());
    (*target)->start();
    init.portal = Endpoint{"127.0.0.1", *port};
    embedded_target = std::move(target).value();
    if (!options.has("quiet")) {
      print_line("embedded target " + init.target_name + " listening on " +
                 init.portal.to_string() + " (mutual CHAP, backend " +
                 std::string((*backend)->name()) + ")");
    }
  }

  auto config = std::make_shared<ChapInitiatorConfig>();
  config->local = ChapCredentials{user, std::move(secret).value()};
  config->target = std::move(target_creds).value();
  config->policy = *policy;
  std::shared_ptr<const ChapInitiatorConfig> shared = std::move(config);
  auto auth = InitiatorAuthenticator::create(shared, *backend);
  if (!auth) return report_error(auth.error());
  print_secret_notes(shared, *backend, init);
  auto session = InitiatorSession::create(init, std::move(auth).value());
  if (!session) return report_error(session.error());
  if (auto ok = (*session)->login(); !ok) {
    const int code = report_error(ok.error());
    if (code != kExitAuthFailed)
      std::cerr << "multichap: login failed after " << (*session)->attempts() << " attempt(s)\n";
    return code;
  }
  const auto alg = (*session)->algorithm();
  print_line(std::string("login succeeded: algorithm=") +
             std::string(alg ? algorithm_name(*alg) : "none") +
             " mutual=" + ((*session)->mutual() ? "yes" : "no"));
  for (unsigned i = 1; i < connections; ++i) {
    auto cid = (*session)->add_connection();
    if (!cid) {
      (void)(*session)->logout();  // leave the target no half-used session
      if (embedded_target) embedded_target->stop();
      return report_error(cid.error());
    }
    print_line("connection " + std::to_string(*cid) +
               " added to session tsih=" + std::to_string((*session)->tsih()));
  }
  if (auto out = (*session)->logout(); !out) return report_error(out.error());
  if (embedded_target) embedded_target->stop();
  return kExitOk;
}

}  // namespace multichap::cli
