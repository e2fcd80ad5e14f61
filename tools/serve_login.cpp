// multichap serve / multichap login.
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <thread>

#include "auth/algorithm.h"
#include "auth/encoding.h"
#include "backends/hash_backend.h"
#include "session/initiator.h"
#include "session/target.h"
#include "tools/commands.h"
#include "tools/initiator_setup.h"

namespace multichap::cli {

namespace {

constexpr const char* kServeUsage =
    R"(usage: multichap serve --listen HOST:PORT --target IQN --user U (--secret S | --secret-file F)
                       [--target-user U (--target-secret S | --target-secret-file F)] [options]

Runs an iSCSI target (login phase, logout, NOP; no SCSI) that authenticates initiators with
CHAP, until interrupted (SIGINT/SIGTERM). Prints "listening on HOST:PORT" once ready
(PORT 0 picks a free port).

  --listen HOST:PORT       address to listen on (default 127.0.0.1:3260)
  --target IQN             the TargetName served
  --user U                 the initiator's CHAP_N to accept
  --secret S               its secret (visible in ps: prefer --secret-file or MULTICHAP_SECRET)
  --secret-hex HEX, --secret-file PATH
  --target-user U          our CHAP_N for mutual CHAP
  --target-secret S        our secret for mutual CHAP (or --target-secret-file, --target-secret-hex,
                           MULTICHAP_TARGET_SECRET); must differ from the initiator's
  --algs LIST              allowed algorithms, e.g. sha3-256,sha256 (default: all four)
  --require-mutual         refuse initiators that do not authenticate the target
  --no-auth                accept logins without CHAP (AuthMethod=None); no --user needed
  --legacy-tgt-sha1        number SHA-1 as CHAP_A 7 like tgt/IET (SHA-256 then unavailable)
  --link-protected         allow secrets under 12 bytes (the link is protected by IPsec)
  --challenge-size N       challenge bytes, 16-1024 (default 32; never below the digest size)
  --backend B              crypto backend (see 'multichap algorithms')
  --verbose                log every key exchanged (CHAP responses masked)
  --quiet                  no line per successful login and logout (failures, limits still shown)

Limits (each logs once when it first bites):
  --login-timeout S        seconds from accept to full feature phase (default 15)
  --max-unauthenticated N  connections not logged in yet, all sources (default 4096; when full,
                           the oldest of them is closed; established sessions never are)
  --max-unauthenticated-per-source N
                           such connections from one address (default 64; more are refused)
  --max-connections N      all connections, sessions included (default 65536)
  --threads N              event-loop threads (default: one per core)
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
  --target-user U          the target's expected CHAP_N: asks for mutual CHAP
  --target-secret S        the target's secret (or --target-secret-file, --target-secret-hex,
                           MULTICHAP_TARGET_SECRET); must differ from ours
  --algs LIST              algorithms to offer, in preference order (default sha3-256,sha256,sha1,md5)
  --offer-fallback on|off  after a target refused our CHAP_A offer (old LIO refusing lists, tgt's
                           SHA-1 numbered 7, istgt's 0x0201), retry with narrower offers, never
                           outside --algs (default on; see README "Offer fallback")
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
  --backend B              crypto backend (see 'multichap algorithms')
  --quiet                  print only the outcome
)";

Target* g_target = nullptr;

// A target holds a descriptor per connection: take the hard limit, not the soft default of 1024.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
  }
}
extern "C" void on_signal(int) {
  if (g_target != nullptr) g_target->request_stop();
}

Result<Secret> random_secret(const HashBackend& backend) {
  std::uint8_t bytes[16];
  MULTICHAP_GUARD(backend.random(MutableByteView(bytes, sizeof(bytes))));
  Secret s = Secret::from_text(encode_hex(ByteView(bytes, sizeof(bytes))));
  secure_wipe(bytes, sizeof(bytes));
  return s;
}

const std::set<std::string> kCommonValued = {"user",
                                             "secret",
                                             "secret-hex",
                                             "secret-file",
                                             "target-user",
                                             "target-secret",
                                             "target-secret-hex",
                                             "target-secret-file",
                                             "algs",
                                             "backend",
                                             "target",
                                             "challenge-size"};

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kServeUsage;
    return kExitOk;
  }
  auto valued = kCommonValued;
  for (const char* v : {"listen", "login-timeout", "max-unauthenticated",
                        "max-unauthenticated-per-source", "max-connections", "threads"}) {
    valued.insert(v);
  }
  auto parsed = Options::parse(
      args, valued,
      {"require-mutual", "no-auth", "legacy-tgt-sha1", "link-protected", "verbose", "quiet"});
  if (!parsed) {
    report_error(parsed.error());
    std::cerr << kServeUsage;
    return kExitUsage;
  }
  const Options& options = *parsed;
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
  if (options.has("quiet") && options.has("verbose")) {
    return report_error(make_error(ErrorKind::usage, "--quiet and --verbose exclude each other"));
  }
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
  raise_descriptor_limit();
  auto secret = read_secret(options, "", "MULTICHAP_SECRET");
  if (!secret) return report_error(secret.error());
  auto local = target_credentials(options);
  if (!local) return report_error(local.error());
  if (options.has("no-auth")) {
    if (options.has("user"))
      return report_error(make_error(ErrorKind::usage, "--no-auth and --user exclude each other"));
  } else {
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
  auto target = Target::create(std::move(target_options));
  if (!target) return report_error(target.error());
  auto port = (*target)->listen(*endpoint);
  if (!port) return report_error(port.error());
  endpoint->port = *port;
  g_target = target->get();
  (void)std::signal(SIGINT, on_signal);
  (void)std::signal(SIGTERM, on_signal);
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

int run_login(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kLoginUsage;
    return kExitOk;
  }
  auto valued = kCommonValued;
  for (const auto& v : initiator_valued_options()) valued.insert(v);
  valued.insert("connections");
  auto parsed = Options::parse(args, valued, {"legacy-tgt-sha1", "link-protected", "quiet", "all"});
  if (!parsed) {
    report_error(parsed.error());
    std::cerr << kLoginUsage;
    return kExitUsage;
  }
  const Options& options = *parsed;
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

  auto secret = read_secret(options, "", "MULTICHAP_SECRET");
  if (!secret) return report_error(secret.error());
  auto target_creds = target_credentials(options);
  if (!target_creds) return report_error(target_creds.error());
  std::string user = options.has("user") ? *options.get("user") : "";

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
    chap->accounts.push_back(ChapCredentials{user, Secret::from_bytes(secret->bytes())});
    chap->local =
        ChapCredentials{(*target_creds)->name, Secret::from_bytes((*target_creds)->secret.bytes())};
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

  ChapInitiatorConfig config;
  config.local = ChapCredentials{user, std::move(secret).value()};
  config.target = std::move(target_creds).value();
  config.policy = *policy;
  auto auth = InitiatorAuthenticator::create(std::move(config), *backend);
  if (!auth) return report_error(auth.error());
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
