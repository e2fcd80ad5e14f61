// SPDX-License-Identifier: BSD-2-Clause
// SendTargets discovery (RFC 7143 §12.3 and Appendix C): what a Discovery session learns about
// the targets behind a portal, and the call that runs one (login, SendTargets=All, logout).
#ifndef MULTICHAP_SESSION_DISCOVERY_H
#define MULTICHAP_SESSION_DISCOVERY_H

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/bytes.h"
#include "auth/result.h"
#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "session/transport.h"

namespace multichap {

// One target of a SendTargets answer.
struct DiscoveredTarget {
  std::string name;                    // TargetName (an IQN, EUI or NAA name)
  std::vector<std::string> addresses;  // its TargetAddress values, "host:port,tpgt", in order
};

// Parses SendTargets response text: NUL-terminated key=value pairs in which each TargetName
// starts a target and each TargetAddress belongs to the TargetName before it (RFC 7143 Appendix
// C). A TargetAddress before any TargetName, a pair without '=', or an empty TargetName is a
// protocol error; other keys are ignored. An empty text is no target at all.
Result<std::vector<DiscoveredTarget>> parse_send_targets(ByteView text);

// The endpoint of a TargetAddress value "host:port,tpgt" (the ",tpgt" part and the port are
// optional: 3260 by default); nothing when it does not parse.
std::optional<Endpoint> target_address_endpoint(std::string_view value);

// Runs a whole discovery session against options.portal: a Discovery login through auth (CHAP,
// mutual CHAP, or AuthMethod=None for a ChapInitiatorConfig::none_only() configuration), one
// SendTargets=All exchange, a logout. options.session_type and target_name are overridden. A
// target with no TargetAddress is reachable at the portal itself (RFC 7143 §12.3); its address
// list is left empty.
Result<std::vector<DiscoveredTarget>> discover_targets(
    InitiatorOptions options, std::unique_ptr<InitiatorAuthenticator> auth);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_DISCOVERY_H
