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
  if (it->second.cids.size() >= m_max_per_session) {
    return make_error(ErrorKind::policy, ErrorCode::session_connection_limit,
                      "session already has its maximum of connections");
  }
  return {};
}

Result<std::uint16_t> SessionRegistry::join(const Isid& isid, const std::string& initiator_name,
                                            bool leading, std::uint16_t tsih, std::uint16_t cid,
                                            bool discovery) {
  std::lock_guard<std::mutex> lock(m_mutex);
  if (leading) {
    // Session reinstatement (same ISID and initiator, TSIH 0) replaces the old session record.
    const auto key = std::make_pair(initiator_name, isid);
    if (const auto old = m_by_initiator.find(key); old != m_by_initiator.end()) {
      m_sessions.erase(old->second);
      m_by_initiator.erase(old);
    }
    if (m_sessions.size() >= 0xffff) {
      return make_error(ErrorKind::policy, ErrorCode::tsih_exhausted,
                        "no TSIH left: 65,535 sessions are open");
    }
    std::uint16_t fresh = m_next_tsih;
    while (fresh == 0 || m_sessions.count(fresh) != 0) ++fresh;
    m_next_tsih = static_cast<std::uint16_t>(fresh + 1);
    m_sessions[fresh] = Session{isid, initiator_name, {cid}, discovery};
    m_by_initiator[key] = fresh;
    return fresh;
  }
  const auto it = m_sessions.find(tsih);
  if (it == m_sessions.end()) {
    return protocol_error(ErrorCode::session_vanished, "session vanished during login");
  }
  auto& cids = it->second.cids;
  if (std::find(cids.begin(), cids.end(), cid) == cids.end()) {  // else: reinstatement
    if (cids.size() >= m_max_per_session) {
      return protocol_error(ErrorCode::session_connection_limit,
                            "session already has its maximum of connections");
    }
    cids.push_back(cid);
  }
  return tsih;
}

void SessionRegistry::leave(std::uint16_t tsih, std::uint16_t cid) {
  std::lock_guard<std::mutex> lock(m_mutex);
  const auto it = m_sessions.find(tsih);
  if (it == m_sessions.end()) return;
  auto& cids = it->second.cids;
  cids.erase(std::remove(cids.begin(), cids.end(), cid), cids.end());
  if (!cids.empty()) return;
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
