// SPDX-License-Identifier: BSD-2-Clause
// multichap discover: a SendTargets discovery session (RFC 7143 §12.3).
#include <iostream>

#include "session/discovery.h"
#include "tools/commands.h"
#include "tools/initiator_setup.h"

namespace multichap::cli {

namespace {

constexpr const char* kDiscoverUsage =
    R"(usage: multichap discover --portal HOST:PORT [--user U (--secret S | --secret-file F)]
                          [--target-user U (--target-secret S | --target-secret-file F)] [options]

Runs a discovery session (SessionType=Discovery, SendTargets=All) at the portal and prints every
target found, one line per address as iscsiadm does ("ADDRESS,TPGT IQN"; a target without a
TargetAddress is reachable at the portal itself). Without --user no CHAP is offered
(AuthMethod=None); with --user CHAP (the target may still settle on None), with --target-user
mutual CHAP. Shows the keys exchanged (CHAP responses masked) unless --quiet.

Secrets in the environment are read only when the command asks for CHAP in their direction:
MULTICHAP_SECRET with --user (or a discovery.sendtargets.auth.username in the open-iscsi files),
MULTICHAP_TARGET_SECRET with --target-user. Otherwise they are ignored: merely exported, they
never make a discovery without CHAP a usage error.

  --portal HOST:PORT       the discovery portal (default port 3260)
  --initiator-name IQN     our InitiatorName (default iqn.2026-11.org.multichap:initiator)
  --user U                 our CHAP_N for discovery CHAP
  --secret S               our secret (visible in ps: prefer --secret-file or MULTICHAP_SECRET)
  --secret-hex HEX, --secret-file PATH
  --secret-pkcs11 URI      our secret as a key in a PKCS#11 token (docs/backends.md)
                           (--target-secret-pkcs11 for the target's)
  --pkcs11-allow-md5       let token keys compute MD5 if the token can (only readable keys)
  --target-user U          the target's expected CHAP_N: asks for mutual CHAP
  --target-secret S        the target's secret (or --target-secret-file, --target-secret-hex,
                           MULTICHAP_TARGET_SECRET); must differ from ours
  --algs LIST              algorithms to offer, in preference order (default sha3-256,sha256,sha1,md5)
  --offer-fallback on|off  narrower offers after a target refused ours (default on)
  --legacy-tgt-sha1        number SHA-1 as CHAP_A 7 like tgt/IET
  --link-protected         allow secrets under 12 bytes (the link is protected by IPsec)
  --iscsid-conf FILE       open-iscsi settings: discovery.sendtargets.auth.* (and
                           node.session.auth.chap_algs); command-line options win
  --node-record FILE       the same from an iscsiadm discovery or node record
  --retries N, --timeout S, --backend B, --quiet   as for login
)";

}  // namespace

void define_discover(CLI::App& command) {
  set_usage(command, kDiscoverUsage);
  define_initiator_options(command);
}

int run_discover(const Options& options) {
  const std::string* portal = options.get("portal");
  if (portal == nullptr)
    return report_error(make_error(ErrorKind::usage, "discover needs --portal HOST:PORT"));
  auto endpoint = parse_endpoint(*portal);
  if (!endpoint) return report_error(endpoint.error());
  auto backend = backend_from(options);
  if (!backend) return report_error(backend.error());
  OpenIscsiSettings settings;
  if (auto loaded = load_open_iscsi(options, settings); !loaded)
    return report_error(loaded.error());
  const bool files = options.has("iscsid-conf") || options.has("node-record");
  auto config = initiator_config(options, files ? &settings.discovery : nullptr,
                                 settings.node.chap_algs, true, true, "discover");
  if (!config) return report_error(config.error());
  InitiatorOptions init;
  if (auto ok = initiator_options_from(options, init); !ok) return report_error(ok.error());
  init.portal = *endpoint;
  auto auth = InitiatorAuthenticator::create(*config, *backend);
  if (!auth) return report_error(auth.error());
  auto targets = discover_targets(init, std::move(auth).value());
  if (!targets) return report_error(targets.error());
  for (const DiscoveredTarget& t : *targets) {
    if (t.addresses.empty()) print_line(endpoint->to_string() + " " + t.name);
    for (const std::string& address : t.addresses) print_line(address + " " + t.name);
  }
  print_line("discovered " + std::to_string(targets->size()) + " target(s) at " +
             endpoint->to_string());
  return kExitOk;
}

}  // namespace multichap::cli
