// SPDX-License-Identifier: BSD-2-Clause
#include "store/fleet_guard.h"

#include <algorithm>

#include "store/fleet_layout.h"

namespace multichap::store {

namespace {

constexpr std::size_t kMaxJobs = 4096;

std::string guard_key(const char* kind, std::string_view source, const std::string_view* name) {
  std::string key = std::string(kGuardDir) + kind + encode_name(source);
  if (name != nullptr) key += "/" + encode_name(name->substr(0, 255));
  return key;
}

}  // namespace

std::string fail_pair_key(std::string_view source, std::string_view chap_n) {
  return guard_key("fail/p/", source, &chap_n);
}
std::string fail_source_key(std::string_view source) {
  return guard_key("fail/s/", source, nullptr);
}
std::string lock_pair_key(std::string_view source, std::string_view chap_n) {
  return guard_key("lock/p/", source, &chap_n);
}
std::string lock_source_key(std::string_view source) {
  return guard_key("lock/s/", source, nullptr);
}

Result<std::shared_ptr<FleetGuard>> FleetGuard::create(
    const EtcdOptions& etcd, std::string prefix, LoginGuardPolicy policy,
    std::function<void(const std::string&)> log) {
  MULTICHAP_ASSIGN_OR_RETURN(auto client, EtcdClient::create(etcd));
  auto guard = std::shared_ptr<FleetGuard>(
      new FleetGuard(std::move(client), std::move(prefix), policy, std::move(log)));
  guard->m_thread = std::thread([g = guard.get()] { g->run(); });
  return guard;
}

FleetGuard::FleetGuard(std::unique_ptr<EtcdClient> client, std::string prefix,
                       LoginGuardPolicy policy, std::function<void(const std::string&)> log)
    : m_client(std::move(client)),
      m_prefix(std::move(prefix)),
      m_policy(policy),
      m_log(std::move(log)) {}

FleetGuard::~FleetGuard() {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

bool FleetGuard::locked(std::string_view source, std::string_view chap_n, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(m_mutex);
  for (const std::string& key : {lock_source_key(source), lock_pair_key(source, chap_n)}) {
    const auto it = m_locks.find(key);
    if (it != m_locks.end() && it->second > now) return true;
  }
  return false;
}

void FleetGuard::push(Job job) {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_jobs.size() >= kMaxJobs) {
      ++m_stats.dropped;
      return;
    }
    m_jobs.push_back(std::move(job));
  }
  m_wake.notify_one();
}

SharedLoginGuard::Counts FleetGuard::failed(std::string_view source, std::string_view chap_n,
                                            Clock::time_point now) {
  Counts out;
  Job job{Job::Kind::fail, fail_pair_key(source, chap_n), fail_source_key(source), {}};
  std::optional<Job> lock_job;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    // Counted here at once (what the store will say once the update is in); the watch then
    // brings the store's own count.
    out.pair = ++m_counts[job.pair_key];
    out.source = ++m_counts[job.source_key];
    const bool pair_hit = out.pair >= m_policy.lockout_failures;
    const bool source_hit = out.source >= m_policy.source_lockout_failures;
    if (pair_hit || source_hit) {
      const std::string key = source_hit ? lock_source_key(source) : lock_pair_key(source, chap_n);
      auto& until = m_locks[key];
      if (until <= now) {
        until = now + m_policy.lockout;
        out.new_lockout = true;
        out.what = source_hit ? "source " + std::string(source)
                              : "CHAP_N '" + std::string(chap_n.substr(0, 64)) + "' from " +
                                    std::string(source);
        lock_job = Job{Job::Kind::lock, key, {}, out.what};
      }
    }
  }
  push(std::move(job));
  if (lock_job) push(std::move(*lock_job));
  return out;
}

void FleetGuard::succeeded(std::string_view source, std::string_view chap_n) {
  std::string key = fail_pair_key(source, chap_n);
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_counts.find(key);
    if (it == m_counts.end()) return;  // the usual case: no store call at all
    m_counts.erase(it);
  }
  push(Job{Job::Kind::forget, std::move(key), {}, {}});
}

void FleetGuard::apply(const std::string& key, const KeyValue& kv, bool deleted,
                       Clock::time_point now) {
  const bool fail = key.rfind(std::string(kGuardDir) + "fail/", 0) == 0;
  const bool lock_key = key.rfind(std::string(kGuardDir) + "lock/", 0) == 0;
  if (!fail && !lock_key) return;
  std::lock_guard<std::mutex> lock(m_mutex);
  auto& counts = m_counts;
  if (deleted) {
    if (fail) counts.erase(key);
    if (lock_key) m_locks.erase(key);
    return;
  }
  // Memory stays bounded like LoginGuard's tables: beyond max_entries new keys are not kept
  // (the store still counts them, and the lockout keys are few).
  const std::size_t cap = std::max<std::size_t>(1, m_policy.max_entries) * 2;
  if (fail) {
    if (counts.size() >= cap && counts.count(key) == 0) return;
    // The larger of the store's count and ours (ours is ahead while our updates are in flight).
    auto& count = counts[key];
    count = std::max(
        count, static_cast<std::uint32_t>(std::clamp<std::int64_t>(kv.version, 0, UINT32_MAX)));
  } else {
    auto& until = m_locks[key];
    until = std::max(until, now + m_policy.lockout);
  }
}

void FleetGuard::clear() {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_counts.clear();
  m_locks.clear();
}

FleetGuard::Stats FleetGuard::stats() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_stats;
}

Result<std::int64_t> FleetGuard::counter_lease() {
  // Counters live about one window: a lease granted now and then, with a quarter window more.
  const auto window_s = std::max<std::int64_t>(1, m_policy.window.count() / 1000);
  const auto renew = Millis(std::max<std::int64_t>(1000, m_policy.window.count() / 4));
  const auto now = Clock::now();
  if (m_lease == 0 || now - m_lease_granted >= renew) {
    MULTICHAP_ASSIGN_OR_RETURN(
        m_lease, m_client->grant_lease(window_s + std::max<std::int64_t>(1, window_s / 4)));
    m_lease_granted = now;
  }
  return m_lease;
}

void FleetGuard::write_lock(const std::string& lock_key, const std::string& what) {
  const auto seconds = std::max<std::int64_t>(1, (m_policy.lockout.count() + 999) / 1000);
  auto lease = m_client->grant_lease(seconds);
  Result<std::int64_t> put =
      lease ? m_client->put(m_prefix + lock_key, "{\"lockout_s\":" + std::to_string(seconds) + "}",
                            *lease)
            : Result<std::int64_t>(lease.error());
  std::lock_guard<std::mutex> lock(m_mutex);
  if (!put) {
    ++m_stats.dropped;
    return;
  }
  ++m_stats.lockouts_written;
  if (m_log) {
    m_log("store: fleet-wide lockout of " + what + " for " + std::to_string(seconds) +
          " s written (every target refuses it)");
  }
}

void FleetGuard::do_fail(const Job& job) {
  auto lease = counter_lease();
  if (!lease) {
    m_lease = 0;
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_stats.dropped;
    return;
  }
  auto pair = m_client->increment(m_prefix + job.pair_key, *lease);
  auto source = pair ? m_client->increment(m_prefix + job.source_key, *lease)
                     : Result<std::uint32_t>(pair.error());
  if (!pair || !source) {
    // A lease that expired under us (a stalled worker) cannot take new keys: get a fresh one.
    m_lease = 0;
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_stats.dropped;
    return;
  }
  std::optional<std::pair<std::string, std::string>> lock_needed;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_stats.increments;
    auto& p = m_counts[job.pair_key];
    p = std::max(p, *pair);
    auto& s = m_counts[job.source_key];
    s = std::max(s, *source);
    // The store's count can pass a threshold that this target's view had not seen (guesses at
    // other targets): the lockout is written by whoever sees the count reach it.
    const bool source_hit = *source >= m_policy.source_lockout_failures;
    const bool pair_hit = *pair >= m_policy.lockout_failures;
    if (source_hit || pair_hit) {
      const std::string src_key = job.source_key.substr(std::string(kGuardDir).size() + 7);
      const std::string pair_rest = job.pair_key.substr(std::string(kGuardDir).size() + 7);
      const std::string key = source_hit ? std::string(kGuardDir) + "lock/s/" + src_key
                                         : std::string(kGuardDir) + "lock/p/" + pair_rest;
      auto& until = m_locks[key];
      if (until <= Clock::now()) {
        until = Clock::now() + m_policy.lockout;
        lock_needed.emplace(key, source_hit ? "source " + src_key : "pair " + pair_rest);
      }
    }
  }
  if (lock_needed) write_lock(lock_needed->first, lock_needed->second);
}

void FleetGuard::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(m_mutex);
      m_wake.wait(lock, [&] { return m_stopping || !m_jobs.empty(); });
      if (m_stopping) return;
      job = std::move(m_jobs.front());
      m_jobs.pop_front();
    }
    switch (job.kind) {
      case Job::Kind::fail:
        do_fail(job);
        break;
      case Job::Kind::lock:
        write_lock(job.pair_key, job.what);
        break;
      case Job::Kind::forget:
        (void)m_client->remove(m_prefix + job.pair_key);
        break;
    }
  }
}

}  // namespace multichap::store
