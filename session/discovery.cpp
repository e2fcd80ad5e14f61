// SPDX-License-Identifier: BSD-2-Clause
#include "session/discovery.h"

namespace multichap {

Result<std::vector<DiscoveredTarget>> parse_send_targets(ByteView text) {
  std::vector<DiscoveredTarget> targets;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = pos;
    while (end < text.size() && text[end] != 0) ++end;
    const std::string pair(reinterpret_cast<const char*>(text.data()) + pos, end - pos);
    pos = end + 1;
    if (pair.empty()) continue;  // padding, or a stray NUL
    const auto eq = pair.find('=');
    if (eq == std::string::npos)
      return protocol_error(ErrorCode::send_targets_pair,
                            "SendTargets answer holds a pair without '='");
    const std::string key = pair.substr(0, eq);
    std::string value = pair.substr(eq + 1);
    if (key == "TargetName") {
      if (value.empty())
        return protocol_error(ErrorCode::send_targets_empty_name,
                              "SendTargets answer holds an empty TargetName");
      targets.push_back(DiscoveredTarget{std::move(value), {}});
    } else if (key == "TargetAddress") {
      if (targets.empty()) {
        return protocol_error(ErrorCode::send_targets_address_first,
                              "SendTargets answer holds a TargetAddress before any TargetName");
      }
      targets.back().addresses.push_back(std::move(value));
    }
  }
  return targets;
}

std::optional<Endpoint> target_address_endpoint(std::string_view value) {
  const auto comma = value.rfind(',');
  auto ep = parse_endpoint(value.substr(0, comma), 3260);
  if (!ep) return std::nullopt;
  return *ep;
}

Result<std::vector<DiscoveredTarget>> discover_targets(
    InitiatorOptions options, std::unique_ptr<InitiatorAuthenticator> auth) {
  options.session_type = "Discovery";
  options.target_name.clear();
  MULTICHAP_ASSIGN_OR_RETURN(auto session,
                             InitiatorSession::create(std::move(options), std::move(auth)));
  MULTICHAP_GUARD(session->login());
  auto targets = session->send_targets();
  auto out = session->logout();
  if (!targets) return targets.error();
  (void)out;  // the answer is in; a refused logout changes nothing about it
  return targets;
}

}  // namespace multichap
