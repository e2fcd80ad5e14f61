// SPDX-License-Identifier: BSD-2-Clause
// multichap login at a portal: one target, or every target discovery finds (--all).
#include <algorithm>
#include <iostream>

#include "session/discovery.h"
#include "tools/commands.h"
#include "tools/initiator_setup.h"

namespace multichap::cli {

namespace {

// --target with --all: an exact name, or a prefix ending in '*'.
bool matches(const std::string& pattern, const std::string& name) {
  if (!pattern.empty() && pattern.back() == '*')
    return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == name;
}

// One session: login (with its fallback), further connections, logout. Returns the exit status.
int login_one(const std::shared_ptr<const ChapInitiatorConfig>& config,
              const std::shared_ptr<const HashBackend>& backend, InitiatorOptions init,
              unsigned connections, bool name_target) {
  auto auth = InitiatorAuthenticator::create(config, backend);
  if (!auth) return report_error(auth.error());
  print_secret_notes(config, backend, init);
  const std::string target = init.target_name;
  auto session = InitiatorSession::create(std::move(init), std::move(auth).value());
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
             " mutual=" + ((*session)->mutual() ? "yes" : "no") +
             (name_target ? " target=" + target : std::string()));
  for (unsigned i = 1; i < connections; ++i) {
    auto cid = (*session)->add_connection();
    if (!cid) {
      (void)(*session)->logout();  // leave the target no half-used session
      return report_error(cid.error());
    }
    print_line("connection " + std::to_string(*cid) +
               " added to session tsih=" + std::to_string((*session)->tsih()));
  }
  if (auto out = (*session)->logout(); !out) return report_error(out.error());
  return kExitOk;
}

// The worse of two exit statuses: any failure beats success, authentication beats the rest.
int worse(int a, int b) {
  if (a == kExitOk) return b;
  if (b == kExitOk) return a;
  if (a == kExitAuthFailed || b == kExitAuthFailed) return kExitAuthFailed;
  return std::max(a, b);
}

}  // namespace

int login_at_portal(const Options& options, const std::shared_ptr<const HashBackend>& backend,
                    const InitiatorOptions& base, unsigned connections) {
  OpenIscsiSettings settings;
  if (auto loaded = load_open_iscsi(options, settings); !loaded)
    return report_error(loaded.error());
  const bool files = options.has("iscsid-conf") || options.has("node-record");
  InitiatorOptions init = base;
  if (const std::string* portal = options.get("portal")) {
    auto ep = parse_endpoint(*portal);
    if (!ep) return report_error(ep.error());
    init.portal = *ep;
  } else if (!settings.address.empty()) {
    auto ep = parse_endpoint(settings.address + ":" +
                             (settings.port.empty() ? std::string("3260") : settings.port));
    if (!ep)
      return report_error(
          make_error(ErrorKind::usage, "node.conn[0].address/port: " + ep.error().message));
    init.portal = *ep;
  } else {
    return report_error(make_error(
        ErrorKind::usage, "login needs --portal (or node.conn[0].address in --node-record)"));
  }
  const OpenIscsiAuth* node_auth = files ? &settings.node : nullptr;
  auto config =
      initiator_config(options, node_auth, settings.node.chap_algs, false, false, "login");
  if (!config) return report_error(config.error());

  if (!options.has("all")) {
    init.target_name = options.has("target") ? *options.get("target") : settings.target_name;
    if (init.target_name.empty()) {
      return report_error(
          make_error(ErrorKind::usage, "login with --portal needs --target IQN (or --all)"));
    }
    return login_one(*config, backend, init, connections, false);
  }

  // --all: discovery first (RFC 7143 §12.3), then one session per target found.
  auto discovery = initiator_config(options, files ? &settings.discovery : nullptr,
                                    settings.node.chap_algs, true, true, "discovery");
  if (!discovery) return report_error(discovery.error());
  auto dauth = InitiatorAuthenticator::create(*discovery, backend);
  if (!dauth) return report_error(dauth.error());
  auto found = discover_targets(init, std::move(dauth).value());
  if (!found) return report_error(found.error());
  const std::string* pattern = options.get("target");
  int status = kExitOk;
  unsigned tried = 0;
  for (const DiscoveredTarget& t : *found) {
    if (pattern != nullptr && !matches(*pattern, t.name)) continue;
    ++tried;
    InitiatorOptions one = base;
    one.portal = init.portal;  // no TargetAddress: the discovery portal (RFC 7143 §12.3)
    for (const std::string& address : t.addresses) {
      if (auto ep = target_address_endpoint(address)) {
        one.portal = *ep;
        break;
      }
    }
    one.target_name = t.name;
    status = worse(status, login_one(*config, backend, one, connections, true));
  }
  if (tried == 0) {
    return report_error(
        make_error(ErrorKind::rejected, "discovery at " + init.portal.to_string() + " found " +
                                            std::to_string(found->size()) + " target(s), none " +
                                            (pattern != nullptr ? "named " + *pattern : "at all")));
  }
  return status;
}

}  // namespace multichap::cli
