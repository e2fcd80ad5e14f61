// SPDX-License-Identifier: BSD-2-Clause
// The fleet-wide brute-force count (a SharedLoginGuard, session/login_guard.h) kept in etcd:
// every failed CHAP response increments, in one transaction, a counter per (source address,
// CHAP_N) and one per source address under PREFIX guard/fail/ on a lease of about the window, and
// when a count reaches LoginGuardPolicy's threshold a lockout key goes under PREFIX guard/lock/ on
// a lease of the lockout's length. Every target watches PREFIX (FleetStore feeds the events to
// apply()), so it knows the fleet's counts and lockouts without asking: the login path makes no
// store call. The store calls run on a thread of this guard's own, each with the client's
// deadline; when the store cannot answer (or the queue of 4,096 updates is full), the update is
// dropped and the targets' local counters, which LoginGuard keeps anyway, are the defence.
#ifndef MULTICHAP_STORE_FLEET_GUARD_H
#define MULTICHAP_STORE_FLEET_GUARD_H

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "session/login_guard.h"
#include "store/etcd_client.h"

namespace multichap::store {

class FleetGuard final : public SharedLoginGuard {
 public:
  // Starts the worker thread (its own EtcdClient from etcd). prefix ends with '/'.
  static Result<std::shared_ptr<FleetGuard>> create(const EtcdOptions& etcd, std::string prefix,
                                                    LoginGuardPolicy policy,
                                                    std::function<void(const std::string&)> log);
  ~FleetGuard() override;
  FleetGuard(const FleetGuard&) = delete;
  FleetGuard& operator=(const FleetGuard&) = delete;

  bool locked(std::string_view source, std::string_view chap_n, Clock::time_point now) override;
  Counts failed(std::string_view source, std::string_view chap_n, Clock::time_point now) override;
  void succeeded(std::string_view source, std::string_view chap_n) override;

  // A guard key's new state from the watch (key relative to the prefix, under guard/); deleted
  // when its lease ran out. Malformed keys are ignored.
  void apply(const std::string& key, const KeyValue& kv, bool deleted, Clock::time_point now);
  // Forgets everything (before a full reload applies the store's keys again).
  void clear();

  struct Stats {
    std::uint64_t increments = 0;  // counter updates the store took
    std::uint64_t dropped = 0;     // updates dropped (store unreachable, queue full)
    std::uint64_t lockouts_written = 0;
  };
  Stats stats() const;

 private:
  FleetGuard(std::unique_ptr<EtcdClient> client, std::string prefix, LoginGuardPolicy policy,
             std::function<void(const std::string&)> log);
  struct Job {
    enum class Kind : std::uint8_t { fail, forget, lock } kind = Kind::fail;
    std::string pair_key;  // relative keys
    std::string source_key;
    std::string what;
  };
  void run();
  void do_fail(const Job& job);
  void write_lock(const std::string& lock_key, const std::string& what);
  void push(Job job);
  Result<std::int64_t> counter_lease();

  std::unique_ptr<EtcdClient> m_client;  // the worker's only
  const std::string m_prefix;
  const LoginGuardPolicy m_policy;
  const std::function<void(const std::string&)> m_log;

  mutable std::mutex m_mutex;
  std::unordered_map<std::string, std::uint32_t> m_counts;     // guard/fail/... -> count
  std::unordered_map<std::string, Clock::time_point> m_locks;  // guard/lock/... -> until
  std::deque<Job> m_jobs;
  std::condition_variable m_wake;
  bool m_stopping = false;
  Stats m_stats;

  std::int64_t m_lease = 0;  // worker thread only
  Clock::time_point m_lease_granted{};
  std::thread m_thread;
};

// The relative keys of a (source, CHAP_N) pair and of a source.
std::string fail_pair_key(std::string_view source, std::string_view chap_n);
std::string fail_source_key(std::string_view source);
std::string lock_pair_key(std::string_view source, std::string_view chap_n);
std::string lock_source_key(std::string_view source);

}  // namespace multichap::store

#endif  // MULTICHAP_STORE_FLEET_GUARD_H
