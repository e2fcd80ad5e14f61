// SPDX-License-Identifier: BSD-2-Clause
// `multichap serve --config FILE`: a declarative TOML file (toml++) describing the portal, its
// targets with their ACLs and accounts, discovery authentication, the brute-force defence and the
// limits of the target engine. docs/target.md documents the format;
// examples/target.toml is a complete example (used by the tests).
//
// Secrets are never inline silently: each account or identity takes its secret from
// `secret_file` (refused if group or other may read it), `secret_env`, or `secret` (inline, with a
// warning). Errors name the file and the line.
#ifndef MULTICHAP_TOOLS_SERVE_CONFIG_H
#define MULTICHAP_TOOLS_SERVE_CONFIG_H

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/result.h"
#include "backends/hash_backend.h"
#include "session/target.h"
#include "session/transport.h"
#include "store/etcd_client.h"

namespace multichap::cli {

// [store]: the targets, ACLs and accounts come from a shared store (docs/fleet.md).
struct StoreSettings {
  std::string kind = "etcd";
  store::EtcdOptions etcd;             // endpoints, deadline, TLS, user and password
  std::string prefix = "/multichap/";  // ends with '/'
  Millis max_stale{300000};            // refuse every login after this long without contact
  std::string secrets_key_file;        // opens sealed secrets ("" = none)
  bool fleet_guard = true;             // count failures fleet-wide (with [defence] enabled)
};

struct ServeConfig {
  // The portals (one listening socket each; every target is reachable at all of them). A reload
  // keeps the portals of the start: changing them needs a restart.
  std::vector<Endpoint> listen{Endpoint{"127.0.0.1", 3260}};
  std::string backend;  // "" = the default backend
  std::shared_ptr<const TargetAccess> access;
  // Everything of TargetOptions but the access rules and the backend.
  TargetOptions engine;
  std::vector<std::string> warnings;        // e.g. an inline secret
  std::string normalized;                   // the configuration as understood, secrets masked
  std::vector<std::uint32_t> target_lines;  // the line of each [[targets]] table
  std::uint32_t discovery_line = 0;         // of [discovery] (0: absent)
  // With [store]: the store settings; access then holds no target (the store has them).
  std::optional<StoreSettings> store;
};

// Checks every target's and the discovery's CHAP settings against backend (secret rules, one
// secret per direction, usable algorithms); the error names the file and the table's line.
Result<void> validate_serve_config(const ServeConfig& config, const std::string& path,
                                   const HashBackend& backend);

// Reads and checks path. A usage error ("FILE:LINE: what") when the file does not parse, has an
// unknown key, a wrong type, an unreadable or too-open secret file, an unset variable.
Result<ServeConfig> load_serve_config(const std::string& path);

}  // namespace multichap::cli

#endif  // MULTICHAP_TOOLS_SERVE_CONFIG_H
