// SPDX-License-Identifier: BSD-2-Clause
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
#include "auth/chap_config.h"

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
  // Whether no target at all is acceptable (a fleet whose store holds none yet: every Normal
  // login gets 0x0203 until one is added). Otherwise a configuration needs a target.
  bool allow_empty = false;
  // TargetAddress values of every target ("host:port,tpgt", RFC 7143 §12.3): the portals it is
  // reachable at. Empty: none sent (the initiator uses the portal it asked).
  std::vector<std::string> addresses;

  const TargetEntry* find(std::string_view name) const;
  // The SendTargets answer text (RFC 7143 Appendix C) for the targets in `names`, in order.
  std::string send_targets_text(const std::vector<const TargetEntry*>& entries) const;
  // The targets initiator_name may see.
  std::vector<const TargetEntry*> visible_to(std::string_view initiator_name) const;
};

// A TargetAccess checked once against a crypto backend: unique target names, and every target's
// and the discovery's CHAP configuration validated (ValidChapTargetConfig), so that each login
// builds its CHAP exchange from it without checking anything again. Immutable; share it.
class ValidTargetAccess {
 public:
  // Fails as validate_config() would, the message naming the target (or "discovery").
  static Result<std::shared_ptr<const ValidTargetAccess>> create(
      std::shared_ptr<const TargetAccess> access, const std::shared_ptr<const ChapCrypto>& crypto);

  const TargetAccess& access() const { return *m_access; }
  const std::shared_ptr<const TargetAccess>& shared_access() const { return m_access; }
  // The validated form of entry.chap (null when entry.chap is null); entry must be one of
  // access().targets.
  const std::shared_ptr<const ValidChapTargetConfig>& chap_of(const TargetEntry& entry) const {
    return m_chap[static_cast<std::size_t>(&entry - m_access->targets.data())];
  }
  const std::shared_ptr<const ValidChapTargetConfig>& discovery_chap() const {
    return m_discovery_chap;
  }

 private:
  ValidTargetAccess() = default;
  std::shared_ptr<const TargetAccess> m_access;
  std::vector<std::shared_ptr<const ValidChapTargetConfig>> m_chap;  // one per target, in order
  std::shared_ptr<const ValidChapTargetConfig> m_discovery_chap;
};

// A single target with chap for both its Normal and Discovery sessions (the one-target form
// of TargetOptions and of `multichap serve --target ... --user ...`).
std::shared_ptr<const TargetAccess> single_target_access(
    std::string name, std::shared_ptr<const ChapTargetConfig> chap);

}  // namespace multichap

#endif  // MULTICHAP_SESSION_TARGET_ACCESS_H
