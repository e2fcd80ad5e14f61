// SPDX-License-Identifier: BSD-2-Clause
#include "store/fleet_store.h"

#include <chrono>

namespace multichap::store {

namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<Millis>(Clock::now().time_since_epoch()).count();
}

// Sleeps up to d, waking early when stop is set.
void nap(Millis d, const std::atomic<bool>& stop) {
  const auto until = Clock::now() + d;
  while (!stop.load() && Clock::now() < until) std::this_thread::sleep_for(Millis(20));
}

}  // namespace

FleetStore::FleetStore(FleetOptions options) : m_options(std::move(options)) {}

FleetStore::~FleetStore() {
  m_stop.store(true);
  if (m_watch_thread.joinable()) m_watch_thread.join();
  if (m_beat_thread.joinable()) m_beat_thread.join();
}

Result<std::unique_ptr<FleetStore>> FleetStore::start(FleetOptions options) {
  if (options.prefix.empty() || options.prefix.back() != '/') options.prefix += '/';
  if (!options.crypto || !options.install) {
    return make_error(ErrorKind::usage, ErrorCode::config_missing,
                      "the fleet store needs a backend and an install function");
  }
  std::unique_ptr<FleetStore> store(new FleetStore(std::move(options)));
  MULTICHAP_ASSIGN_OR_RETURN(store->m_watch_client, EtcdClient::create(store->m_options.etcd));
  MULTICHAP_ASSIGN_OR_RETURN(store->m_beat_client, EtcdClient::create(store->m_options.etcd));
  MULTICHAP_GUARD(store->full_reload(*store->m_watch_client));
  FleetStore* self = store.get();
  store->m_watch_thread = std::thread([self] { self->watch_loop(); });
  store->m_beat_thread = std::thread([self] { self->heartbeat_loop(); });
  return store;
}

void FleetStore::contact() {
  m_last_contact_ms.store(steady_ms());
}

Result<void> FleetStore::full_reload(EtcdClient& client) {
  const std::string& prefix = m_options.prefix;
  MULTICHAP_ASSIGN_OR_RETURN(RangeResult range, client.range(prefix, prefix_end(prefix)));
  contact();
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(m_mutex);
  m_snapshot.clear();
  if (m_options.guard) m_options.guard->clear();
  for (const KeyValue& kv : range.kvs) {
    if (kv.key.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rel = kv.key.substr(prefix.size());
    if (rel.rfind(kGuardDir, 0) == 0) {
      if (m_options.guard) m_options.guard->apply(rel, kv, false, now);
      continue;
    }
    m_snapshot.emplace(std::move(rel), kv.value);
  }
  m_revision = range.revision;
  ++m_stats.full_reloads;
  if (m_options.log) {
    m_options.log("store: read " + std::to_string(m_snapshot.size()) + " objects under " + prefix +
                  " at revision " + std::to_string(m_revision));
  }
  rebuild_locked();
  return {};
}

void FleetStore::rebuild_locked() {
  BuiltAccess built = build_access(m_snapshot, m_options.keys.get(), *m_options.crypto);
  std::set<std::string> problems(built.problems.begin(), built.problems.end());
  if (m_options.log) {
    for (const std::string& p : problems) {
      if (m_logged_problems.count(p) == 0)
        m_options.log("store: " + m_options.prefix + p + "; skipped");
    }
  }
  m_logged_problems = std::move(problems);
  m_stats.targets = built.access->targets.size();
  m_built = built.access;
  if (m_stale) return;  // installed again when the store is back
  m_options.install(m_built);
  ++m_stats.installs;
  if (m_options.log && m_stats.installs > 1) {
    m_options.log("store: revision " + std::to_string(m_revision) + ": serving " +
                  std::to_string(m_stats.targets) + " targets");
  }
}

void FleetStore::watch_loop() {
  const std::string& prefix = m_options.prefix;
  std::string last_error;
  bool broken = false;
  Clock::time_point last_log{};
  while (!m_stop.load()) {
    if (m_need_reload.load()) {
      if (auto ok = full_reload(*m_watch_client); !ok) {
        if (m_options.log && ok.error().message != last_error) {
          m_options.log("store: full reload failed, retrying: " + ok.error().message);
        }
        last_error = ok.error().message;
        nap(Millis(250), m_stop);
        continue;
      }
      m_need_reload.store(false);
    }
    std::int64_t from = 0;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      from = m_revision + 1;
    }
    std::string cancel;
    const auto on_message = [&](const WatchMessage& m) {
      if (m.compact_revision > 0) {
        if (m_options.log) {
          m_options.log("store: revision " + std::to_string(from) + " was compacted (now " +
                        std::to_string(m.compact_revision) + "): full reload");
        }
        m_need_reload.store(true);
        return false;
      }
      if (m.canceled) {
        cancel = m.cancel_reason.empty() ? "canceled" : m.cancel_reason;
        return false;
      }
      contact();
      if (broken && m.created && m_options.log) {
        m_options.log("store: watching again from revision " + std::to_string(from) + " at " +
                      m_watch_client->current_endpoint());
      }
      broken = false;
      if (m.events.empty()) return true;
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lock(m_mutex);
      bool changed = false;
      for (const WatchEvent& e : m.events) {
        if (e.kv.key.compare(0, prefix.size(), prefix) != 0) continue;
        std::string rel = e.kv.key.substr(prefix.size());
        if (rel.rfind(kGuardDir, 0) == 0) {
          if (m_options.guard) m_options.guard->apply(rel, e.kv, e.deleted, now);
          continue;
        }
        changed = true;
        if (e.deleted) {
          m_snapshot.erase(rel);
        } else {
          m_snapshot[rel] = e.kv.value;
        }
      }
      m_revision = std::max(m_revision, m.revision);
      if (changed) rebuild_locked();
      return true;
    };
    auto ended = m_watch_client->watch(prefix, prefix_end(prefix), from, on_message, m_stop);
    if (m_stop.load()) break;
    if (m_need_reload.load()) continue;
    std::string why = ended ? "the watch was canceled: " + cancel : ended.error().message;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      ++m_stats.watch_restarts;
    }
    // One line when the watch breaks, then one every 10 s while it stays broken.
    const auto now = Clock::now();
    if (m_options.log && (!broken || now - last_log >= Millis(10000))) {
      m_options.log("store: " + why + "; resuming from revision " + std::to_string(from) +
                    " on the next endpoint");
      last_log = now;
    }
    broken = true;
    if (ended) m_watch_client->rotate();
    nap(Millis(200), m_stop);
  }
}

void FleetStore::heartbeat_loop() {
  const std::string& prefix = m_options.prefix;
  std::string last_error;
  while (!m_stop.load()) {
    nap(m_options.heartbeat, m_stop);
    if (m_stop.load()) break;
    // Only when nothing else showed contact within the period.
    if (steady_ms() - m_last_contact_ms.load() >= m_options.heartbeat.count()) {
      auto beat = m_beat_client->range(prefix, "", true);
      if (beat) {
        contact();
        last_error.clear();
      } else if (m_options.log && beat.error().message != last_error) {
        last_error = beat.error().message;
        m_options.log("store: no contact: " + last_error);
      }
    }
    const std::int64_t silent = steady_ms() - m_last_contact_ms.load();
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_stale && silent > m_options.max_stale.count()) {
      m_stale = true;
      m_stats.stale = true;
      const std::string why = "no contact with the account store for " +
                              std::to_string(silent / 1000) + " s (max_stale " +
                              std::to_string(m_options.max_stale.count() / 1000) +
                              " s): every login is refused until it answers again";
      if (m_options.log) m_options.log("store: " + why);
      if (m_built) m_options.install(refusing_access(*m_built, why));
      ++m_stats.installs;
    } else if (m_stale && silent <= m_options.heartbeat.count() * 2) {
      m_stale = false;
      m_stats.stale = false;
      if (m_options.log) {
        m_options.log("store: contact again: serving the snapshot at revision " +
                      std::to_string(m_revision) + " (the watch catches up)");
      }
      if (m_built) m_options.install(m_built);
      ++m_stats.installs;
    }
  }
}

FleetStore::Stats FleetStore::stats() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  Stats s = m_stats;
  s.revision = m_revision;
  return s;
}

}  // namespace multichap::store
