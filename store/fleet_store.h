// SPDX-License-Identifier: BSD-2-Clause
// A target's view of the fleet's store (etcd): at start it reads the prefix once into an
// in-memory snapshot at revision R and installs the targets, ACLs and accounts built from it
// (install(), i.e. Target::reload()); then it watches the prefix from R+1 on a thread of its own
// and installs a new access whenever an object changes. Logins run from the installed snapshot:
// a successful login makes no store call.
//
// Faults: a broken watch resumes from the last revision seen, on the next endpoint; a revision
// compacted away triggers a full reload. A heartbeat (a linearizable count of one key, every
// second, each call with the client's deadline) measures contact. With no contact for max_stale,
// the store's answers can no longer be trusted to be current (an account revoked meanwhile would
// still log in), so every target is installed refusing every login (0x0201, with a log line
// saying why); when the store answers again the snapshot is installed again, without a restart.
// Guard keys (PREFIX guard/) go to the FleetGuard when there is one.
#ifndef MULTICHAP_STORE_FLEET_STORE_H
#define MULTICHAP_STORE_FLEET_STORE_H

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "auth/crypto.h"
#include "session/target_access.h"
#include "store/envelope.h"
#include "store/etcd_client.h"
#include "store/fleet_guard.h"
#include "store/fleet_layout.h"

namespace multichap::store {

struct FleetOptions {
  EtcdOptions etcd;
  std::string prefix = "/multichap/";  // made to end with '/'
  Millis max_stale{300000};
  Millis heartbeat{1000};
  std::shared_ptr<const KeyRing> keys;       // opens sealed secrets (optional)
  std::shared_ptr<const ChapCrypto> crypto;  // the targets' backend (validates what is built)
  std::shared_ptr<FleetGuard> guard;         // receives the guard keys (optional)
  // Called with every new access (from the store's threads, one call at a time).
  std::function<void(std::shared_ptr<const TargetAccess>)> install;
  std::function<void(const std::string&)> log;
};

class FleetStore {
 public:
  // Reads the prefix (every endpoint tried; fails when none answers), installs it, starts the
  // watch and the heartbeat.
  static Result<std::unique_ptr<FleetStore>> start(FleetOptions options);
  ~FleetStore();  // stops the threads (a watch in progress is aborted)
  FleetStore(const FleetStore&) = delete;
  FleetStore& operator=(const FleetStore&) = delete;

  struct Stats {
    std::int64_t revision = 0;       // the last revision applied
    std::uint64_t full_reloads = 0;  // the first read included
    std::uint64_t watch_restarts = 0;
    std::uint64_t installs = 0;
    bool stale = false;
    std::size_t targets = 0;
  };
  Stats stats() const;

 private:
  explicit FleetStore(FleetOptions options);
  Result<void> full_reload(EtcdClient& client);
  // Builds from the snapshot and installs (unless stale); logs problems not logged before.
  void rebuild_locked();
  void watch_loop();
  void heartbeat_loop();
  void contact();

  FleetOptions m_options;
  std::unique_ptr<EtcdClient> m_watch_client;
  std::unique_ptr<EtcdClient> m_beat_client;

  mutable std::mutex m_mutex;
  Snapshot m_snapshot;
  std::int64_t m_revision = 0;
  std::set<std::string> m_logged_problems;
  std::shared_ptr<const TargetAccess> m_built;
  Stats m_stats;
  bool m_stale = false;

  std::atomic<std::int64_t> m_last_contact_ms{0};  // steady clock
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_need_reload{false};
  std::thread m_watch_thread;
  std::thread m_beat_thread;
};

}  // namespace multichap::store

#endif  // MULTICHAP_STORE_FLEET_STORE_H
