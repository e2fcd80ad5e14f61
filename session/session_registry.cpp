// SPDX-License-Identifier: BSD-2-Clause
#include "session/session_registry.h"

#include <algorithm>

namespace multichap {

Result<void> SessionRegistry::check_join(const Isid& isid, const std::string& initiator_name,
                                         std::uint16_t tsih) const {
  std::lock_guard<std::mutex> lock(m_mutex);
  const auto it = m_sessions.find(tsih);
  if (it == m_sessions.end() || it->second.isid != isid ||
      it->second.initiator_name != initiator_name) {
    return make_error(ErrorKind::rejected, ErrorCode::session_unknown,
                      "no session with TSIH " + std::to_string(tsih));
  }
  if (it->second.members.size() >= m_max_per_session) {
    return make_error(ErrorKind::policy, ErrorCode::session_connection_limit,
                      "session already has its maximum of connections");
  }
  return {};
}

Result<SessionJoin> SessionRegistry::join(const Isid& isid, const std::string& initiator_name,
                                          bool leading, std::uint16_t tsih, std::uint16_t cid,
                                          bool discovery) {
  std::lock_guard<std::mutex> lock(m_mutex);
  SessionJoin out;
  if (leading) {
    // Session reinstatement (same ISID and initiator, TSIH 0): the old session ends, and its
    // connections with it.
    const auto key = std::make_pair(initiator_name, isid);
    if (m_sessions.size() >= 0xffff && m_by_initiator.count(key) == 0) {
      return make_error(ErrorKind::policy, ErrorCode::tsih_exhausted,
                        "no TSIH left: 65,535 sessions are open");
    }
    if (const auto old = m_by_initiator.find(key); old != m_by_initiator.end()) {
      for (const Member& m : m_sessions[old->second].members) out.displaced.push_back(m.token);
      m_sessions.erase(old->second);
      m_by_initiator.erase(old);
    }
    std::uint16_t fresh = m_next_tsih;
    while (fresh == 0 || m_sessions.count(fresh) != 0) ++fresh;
    m_next_tsih = static_cast<std::uint16_t>(fresh + 1);
    out.seat = SessionSeat{fresh, cid, m_next_token++};
    m_sessions[fresh] = Session{isid, initiator_name, {Member{cid, out.seat.token}}, discovery};
    m_by_initiator[key] = fresh;
    return out;
  }
  const auto it = m_sessions.find(tsih);
  if (it == m_sessions.end()) {
    return protocol_error(ErrorCode::session_vanished, "session vanished during login");
  }
  auto& members = it->second.members;
  const auto same_cid =
      std::find_if(members.begin(), members.end(), [cid](const Member& m) { return m.cid == cid; });
  out.seat = SessionSeat{tsih, cid, m_next_token++};
  if (same_cid != members.end()) {  // connection reinstatement: the new connection takes over
    out.displaced.push_back(same_cid->token);
    same_cid->token = out.seat.token;
    return out;
  }
  if (members.size() >= m_max_per_session) {
    return protocol_error(ErrorCode::session_connection_limit,
                          "session already has its maximum of connections");
  }
  members.push_back(Member{cid, out.seat.token});
  return out;
}

void SessionRegistry::leave(const SessionSeat& seat) {
  std::lock_guard<std::mutex> lock(m_mutex);
  const auto it = m_sessions.find(seat.tsih);
  if (it == m_sessions.end()) return;
  auto& members = it->second.members;
  members.erase(std::remove_if(members.begin(), members.end(),
                               [&](const Member& m) { return m.token == seat.token; }),
                members.end());
  if (!members.empty()) return;
  m_by_initiator.erase(std::make_pair(it->second.initiator_name, it->second.isid));
  m_sessions.erase(it);
}

std::size_t SessionRegistry::session_count() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_sessions.size();
}

void SessionRegistry::add(std::uint64_t TargetStats::*counter, std::uint64_t n) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_stats.*counter += n;
}

TargetStats SessionRegistry::stats() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_stats;
}

}  // namespace multichap
