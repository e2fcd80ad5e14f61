// SPDX-License-Identifier: BSD-2-Clause
// The target's defence against password guessing: failure counters per (source address, CHAP_N)
// and per source address, an increasing delay before each 0x0201 answer, and a temporary lockout
// after too many failures in a window. No iSCSI target we compared (tgt, LIO, istgt, SCST) has
// one. Thread-safe (one mutex); holds no thread, socket or clock: time is an argument, and the
// delay is a value the caller honours (TargetConnection holds its answer back until then, the
// event loop waits on a timer, never on a thread).
//
// Memory is bounded: each table holds at most max_entries counters; when full, the least
// recently used counter that is not locked out is forgotten (then the least recently used one).
// A name or an address seen once costs one entry until it is evicted, so an attacker rotating
// names or addresses cannot grow it, and the per-source counter still catches rotating names.
#ifndef MULTICHAP_SESSION_LOGIN_GUARD_H
#define MULTICHAP_SESSION_LOGIN_GUARD_H

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "session/transport.h"

namespace multichap {

struct LoginGuardPolicy {
  bool enabled = true;  // off: no delay, no lockout (counters are not kept)
  // Failures within `window` that lock out one CHAP_N from one source address, and any name
  // from the address.
  std::uint32_t lockout_failures = 10;
  std::uint32_t source_lockout_failures = 30;
  Millis window{60000};
  Millis lockout{60000};
  // Delay before the k-th failure's answer: base_delay * 2^(k-1), at most max_delay; a locked-out
  // source always waits max_delay.
  Millis base_delay{20};
  Millis max_delay{4000};
  std::size_t max_entries = 65536;  // per table
};

// A brute-force count shared by several targets: a fleet of targets on one store counts the
// guesses a client spreads over all of them together (store/fleet_guard.h keeps it in etcd).
// LoginGuard asks it beside its own counters, on the event loop: an implementation must be
// thread-safe and must not block (its store calls run on a thread of its own), so what it knows
// may lag the store by the time an update takes to arrive. When it knows nothing (the store is
// down), LoginGuard's local counters still delay and lock out: they are the fallback.
class SharedLoginGuard {
 public:
  virtual ~SharedLoginGuard() = default;
  // Whether a fleet-wide lockout of source (or of chap_n from source) holds at now.
  virtual bool locked(std::string_view source, std::string_view chap_n, Clock::time_point now) = 0;
  struct Counts {
    std::uint32_t pair = 0;    // failures of chap_n from source known fleet-wide, this one included
    std::uint32_t source = 0;  // failures from source known fleet-wide, this one included
    bool new_lockout = false;  // this failure reached a fleet-wide threshold (log it once)
    std::string what;          // what is locked out, for that log line
  };
  // Counts one failed response fleet-wide (the store is updated in the background).
  virtual Counts failed(std::string_view source, std::string_view chap_n,
                        Clock::time_point now) = 0;
  // A successful login of chap_n from source.
  virtual void succeeded(std::string_view source, std::string_view chap_n) = 0;
};

class LoginGuard {
 public:
  // shared (optional): the fleet-wide count asked beside the local one.
  explicit LoginGuard(LoginGuardPolicy policy = {},
                      std::shared_ptr<SharedLoginGuard> shared = nullptr)
      : m_policy(policy), m_shared(std::move(shared)) {}

  // Whether source (or source with chap_n) is locked out at now, here or fleet-wide: then even a
  // correct response is answered 0x0201, after max_delay.
  bool locked(std::string_view source, std::string_view chap_n, Clock::time_point now);

  struct Failure {
    Millis delay{0};           // hold the 0x0201 answer back this long
    bool new_lockout = false;  // this failure started a lockout (log it once)
    std::string what;          // "CHAP_N 'x' from a.b.c.d" or "a.b.c.d", for that log line
  };
  // Counts a failed CHAP response of chap_n from source (here and in the shared count); returns
  // the delay to apply, which grows with the larger of the two counts.
  Failure failed(std::string_view source, std::string_view chap_n, Clock::time_point now);
  // A successful login: forgets the (source, chap_n) counter (the source's own stays: it decays
  // with the window, so a valid account cannot reset guessing on others).
  void succeeded(std::string_view source, std::string_view chap_n);

  struct Counters {
    std::uint64_t failures = 0;        // failures counted
    std::uint64_t lockouts = 0;        // lockouts started
    std::uint64_t refused_locked = 0;  // attempts refused because locked out
    std::uint64_t evictions = 0;       // counters forgotten to stay within max_entries
    std::size_t entries = 0;           // counters held now (both tables)
  };
  Counters counters() const;
  const LoginGuardPolicy& policy() const { return m_policy; }

 private:
  struct Entry {
    std::uint32_t failures = 0;
    Clock::time_point window_start{};
    Clock::time_point locked_until{};
    std::list<std::string>::iterator lru;
  };
  struct Table {
    std::unordered_map<std::string, Entry> entries;
    std::list<std::string> lru;  // most recently used first
  };
  Entry& touch(Table& table, const std::string& key, Clock::time_point now);
  void evict_one(Table& table, Clock::time_point now);
  bool is_locked(const Table& table, const std::string& key, Clock::time_point now) const;
  // Counts one failure; true when it starts a lockout.
  bool count(Entry& entry, std::uint32_t threshold, Clock::time_point now);

  const LoginGuardPolicy m_policy;
  const std::shared_ptr<SharedLoginGuard> m_shared;
  mutable std::mutex m_mutex;
  Table m_pairs;    // "source\0chap_n"
  Table m_sources;  // "source"
  Counters m_counters;
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_LOGIN_GUARD_H
