// SPDX-License-Identifier: BSD-2-Clause
#include "session/target_access.h"

#include <algorithm>

namespace multichap {

bool TargetEntry::allows(std::string_view initiator_name) const {
  if (allow_all) return true;
  return std::find(initiators.begin(), initiators.end(), initiator_name) != initiators.end();
}

const TargetEntry* TargetAccess::find(std::string_view name) const {
  const auto it = std::find_if(targets.begin(), targets.end(),
                               [&](const TargetEntry& t) { return t.name == name; });
  return it == targets.end() ? nullptr : &*it;
}

std::vector<const TargetEntry*> TargetAccess::visible_to(std::string_view initiator_name) const {
  std::vector<const TargetEntry*> out;
  for (const TargetEntry& t : targets) {
    if (t.allows(initiator_name)) out.push_back(&t);
  }
  return out;
}

std::string TargetAccess::send_targets_text(const std::vector<const TargetEntry*>& entries) const {
  // Not a KeyList: TargetName and TargetAddress repeat, once per target and per portal.
  std::string text;
  const auto pair = [&text](std::string_view key, std::string_view value) {
    text.append(key).append("=").append(value).push_back('\0');
  };
  for (const TargetEntry* t : entries) {
    pair("TargetName", t->name);
    for (const std::string& address : addresses) pair("TargetAddress", address);
  }
  return text;
}

Result<std::shared_ptr<const ValidTargetAccess>> ValidTargetAccess::create(
    std::shared_ptr<const TargetAccess> access, const std::shared_ptr<const ChapCrypto>& crypto) {
  if (!access || !crypto) {
    return make_error(ErrorKind::usage, ErrorCode::config_missing,
                      "target access needs a configuration and a backend");
  }
  if (access->targets.empty() && !access->allow_empty)
    return make_error(ErrorKind::usage, ErrorCode::no_target, "no target to serve");
  std::shared_ptr<ValidTargetAccess> out(new ValidTargetAccess());
  out->m_chap.reserve(access->targets.size());
  for (const TargetEntry& t : access->targets) {
    if (t.name.empty())
      return make_error(ErrorKind::usage, ErrorCode::target_name_missing,
                        "a target needs a TargetName (IQN)");
    if (access->find(t.name) != &t)
      return make_error(ErrorKind::usage, ErrorCode::target_listed_twice,
                        "target " + t.name + " is listed twice");
    std::shared_ptr<const ValidChapTargetConfig> valid;
    if (t.chap) {
      auto created = ValidChapTargetConfig::create(t.chap, crypto);
      if (!created) return with_context(t.name, created.error());
      valid = std::move(created).value();
    }
    out->m_chap.push_back(std::move(valid));
  }
  if (access->discovery_chap) {
    auto created = ValidChapTargetConfig::create(access->discovery_chap, crypto);
    if (!created) return with_context("discovery", created.error());
    out->m_discovery_chap = std::move(created).value();
  }
  out->m_access = std::move(access);
  return std::shared_ptr<const ValidTargetAccess>(std::move(out));
}

std::shared_ptr<const TargetAccess> single_target_access(
    std::string name, std::shared_ptr<const ChapTargetConfig> chap) {
  auto access = std::make_shared<TargetAccess>();
  TargetEntry entry;
  entry.name = std::move(name);
  entry.chap = chap;
  access->targets.push_back(std::move(entry));
  access->discovery_chap = std::move(chap);
  return access;
}

}  // namespace multichap
