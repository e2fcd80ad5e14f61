// SPDX-License-Identifier: BSD-2-Clause
#include "session/login_guard.h"

#include <algorithm>

namespace multichap {

namespace {

std::string pair_key(std::string_view source, std::string_view chap_n) {
  std::string key(source);
  key.push_back('\0');
  key.append(chap_n.substr(0, 256));  // CHAP_N is at most 255 bytes of a key value anyway
  return key;
}

}  // namespace

bool LoginGuard::is_locked(const Table& table, const std::string& key,
                           Clock::time_point now) const {
  const auto it = table.entries.find(key);
  return it != table.entries.end() && it->second.locked_until > now;
}

bool LoginGuard::locked(std::string_view source, std::string_view chap_n, Clock::time_point now) {
  if (!m_policy.enabled) return false;
  const bool fleet = m_shared && m_shared->locked(source, chap_n, now);
  std::lock_guard<std::mutex> lock(m_mutex);
  const bool is = fleet || is_locked(m_sources, std::string(source), now) ||
                  is_locked(m_pairs, pair_key(source, chap_n), now);
  if (is) ++m_counters.refused_locked;
  return is;
}

void LoginGuard::evict_one(Table& table, Clock::time_point now) {
  // The least recently used entry that is not locked out; failing that, the least recent one.
  auto victim = table.lru.end();
  std::size_t looked = 0;
  for (auto it = table.lru.rbegin(); it != table.lru.rend() && looked < 64; ++it, ++looked) {
    if (table.entries.at(*it).locked_until <= now) {
      victim = std::prev(it.base());
      break;
    }
  }
  if (victim == table.lru.end()) victim = std::prev(table.lru.end());
  table.entries.erase(*victim);
  table.lru.erase(victim);
  ++m_counters.evictions;
}

LoginGuard::Entry& LoginGuard::touch(Table& table, const std::string& key, Clock::time_point now) {
  auto it = table.entries.find(key);
  if (it != table.entries.end()) {
    table.lru.splice(table.lru.begin(), table.lru, it->second.lru);
    return it->second;
  }
  while (table.entries.size() >= std::max<std::size_t>(1, m_policy.max_entries)) {
    evict_one(table, now);
  }
  table.lru.push_front(key);
  Entry entry;
  entry.window_start = now;
  entry.lru = table.lru.begin();
  return table.entries.emplace(key, entry).first->second;
}

bool LoginGuard::count(Entry& entry, std::uint32_t threshold, Clock::time_point now) {
  if (now - entry.window_start >= m_policy.window) {
    entry.failures = 0;
    entry.window_start = now;
  }
  ++entry.failures;
  if (entry.locked_until > now || entry.failures < threshold) return false;
  // A lockout starts; its end is fixed (failures during it do not extend it).
  entry.locked_until = now + m_policy.lockout;
  entry.failures = 0;
  entry.window_start = entry.locked_until;
  return true;
}

LoginGuard::Failure LoginGuard::failed(std::string_view source, std::string_view chap_n,
                                       Clock::time_point now) {
  Failure out;
  if (!m_policy.enabled) return out;
  // Asked outside the mutex: it never blocks, but it has a lock of its own.
  const SharedLoginGuard::Counts fleet =
      m_shared ? m_shared->failed(source, chap_n, now) : SharedLoginGuard::Counts{};
  const bool fleet_locked =
      m_shared && (fleet.new_lockout || m_shared->locked(source, chap_n, now));
  std::lock_guard<std::mutex> lock(m_mutex);
  ++m_counters.failures;
  Entry& pair = touch(m_pairs, pair_key(source, chap_n), now);
  const bool pair_lockout = count(pair, m_policy.lockout_failures, now);
  const std::uint32_t pair_failures = pair.failures;
  const bool pair_locked = pair.locked_until > now;
  Entry& src = touch(m_sources, std::string(source), now);
  const bool source_lockout = count(src, m_policy.source_lockout_failures, now);
  const bool source_locked = src.locked_until > now;
  if (pair_lockout || source_lockout) {
    ++m_counters.lockouts;
    out.new_lockout = true;
    out.what = source_lockout ? "source " + std::string(source)
                              : "CHAP_N '" + std::string(chap_n.substr(0, 64)) + "' from " +
                                    std::string(source);
  } else if (fleet.new_lockout) {
    ++m_counters.lockouts;
    out.new_lockout = true;
    out.what = "fleet-wide " + fleet.what;
  }
  if (pair_locked || source_locked || fleet_locked) {
    out.delay = m_policy.max_delay;
  } else {
    // base * 2^(k-1), capped; the shift is bounded so it cannot overflow. k is the larger of the
    // local and the fleet-wide count.
    const std::uint32_t k = std::max({pair_failures, src.failures, fleet.pair, fleet.source});
    const std::uint32_t shift = std::min<std::uint32_t>(k == 0 ? 0 : k - 1, 20);
    out.delay = std::min(m_policy.max_delay, Millis(m_policy.base_delay.count() << shift));
  }
  return out;
}

void LoginGuard::succeeded(std::string_view source, std::string_view chap_n) {
  if (!m_policy.enabled) return;
  if (m_shared) m_shared->succeeded(source, chap_n);
  std::lock_guard<std::mutex> lock(m_mutex);
  const auto it = m_pairs.entries.find(pair_key(source, chap_n));
  if (it != m_pairs.entries.end()) {
    m_pairs.lru.erase(it->second.lru);
    m_pairs.entries.erase(it);
  }
}

LoginGuard::Counters LoginGuard::counters() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  Counters c = m_counters;
  c.entries = m_pairs.entries.size() + m_sources.entries.size();
  return c;
}

}  // namespace multichap
