// What a target serves on its portal and who may use it: the targets (IQNs) with their ACLs and
// CHAP settings, and the discovery sessions' own authentication (RFC 7143 §12.3; like LIO's
// discovery auth and tgt's discovery accounts). Immutable once built: a reload (SIGHUP, a new
// configuration file) builds a new one and Target::reload() swaps it in; connections keep the
// snapshot they were accepted with, so established sessions are never disturbed.
#ifndef MULTICHAP_SESSION_TARGET_ACCESS_H
#define MULTICHAP_SESSION_TARGET_ACCESS_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/chap.h"

namespace multichap {

// One target (IQN) on the portal.
struct TargetEntry {
  std::string name;
  // Accounts bound to it (incoming), its outgoing identity (mutual CHAP), allowed algorithms and
  // require_mutual (policy). Null: no authentication (AuthMethod=None).
  std::shared_ptr<const ChapTargetConfig> chap;
  // InitiatorNames allowed to log in and to see it in SendTargets; all when allow_all.
  std::vector<std::string> initiators;
  bool allow_all = true;

  bool allows(std::string_view initiator_name) const;
};

struct TargetAccess {
  std::vector<TargetEntry> targets;
  // Discovery sessions: null chap means no authentication; discovery_enabled false refuses them
  // (0x0209).
  std::shared_ptr<const ChapTargetConfig> discovery_chap;
  bool discovery_enabled = true;
  // TargetAddress values of every target ("host:port,tpgt", RFC 7143 §12.3): the portals it is
  // reachable at. Empty: none sent (the initiator uses the portal it asked).
  std::vector<std::string> addresses;

  const TargetEntry* find(std::string_view name) const;
  // The SendTargets answer text (RFC 7143 Appendix C) for the targets in `names`, in order.
  std::string send_targets_text(const std::vector<const TargetEntry*>& entries) const;
  // The targets initiator_name may see.
  std::vector<const TargetEntry*> visible_to(std::string_view initiator_name) const;
};

// A single target with chap for both its Normal and Discovery sessions (the one-target form
// of TargetOptions and of `multichap serve --target ... --user ...`).
std::shared_ptr<const TargetAccess> single_target_access(
    std::string name, std::shared_ptr<const ChapTargetConfig> chap);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_TARGET_ACCESS_H
