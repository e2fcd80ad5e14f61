// SPDX-License-Identifier: BSD-2-Clause
// A small client of etcd's v3 API through its JSON gateway (etcd 3.4: POST /v3/kv/range,
// /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn, /v3/lease/grant, /v3/auth/authenticate and the
// streaming /v3/watch), over libcurl, with nlohmann-json for the bodies. Keys and values travel in
// base64, 64-bit numbers as decimal strings, false and zero fields are left out (the gateway's
// proto3 JSON mapping).
//
// Every call has a deadline (EtcdOptions::deadline, at most 1.5 s) per endpoint: a call that
// fails for the transport (refused, reset, timed out, 5xx, "no leader") moves on to the next
// endpoint, each endpoint tried once per call, starting with the last that answered. An answer
// that is an error of etcd's own (permission denied, bad request) ends the call at once. With a
// user and a password, the client authenticates first and again whenever etcd says the token is
// invalid or expired. Not thread-safe: one client per thread (each keeps its own connections).
// No exception leaves it.
#ifndef MULTICHAP_STORE_ETCD_CLIENT_H
#define MULTICHAP_STORE_ETCD_CLIENT_H

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/result.h"
#include "auth/secure.h"

namespace multichap::store {

using Millis = std::chrono::milliseconds;

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", "https://..."
  Millis deadline{1500};               // per endpoint and call; at most 1,500 ms
  // TLS: the CA that signed the members' certificates, and a client certificate and key.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // etcd authentication (user and password); empty user: none.
  std::string user;
  Secret password;

  EtcdOptions() = default;
  EtcdOptions(const EtcdOptions& other);  // copies the password into a new wiping buffer
  EtcdOptions& operator=(const EtcdOptions& other);
  EtcdOptions(EtcdOptions&&) noexcept = default;
  EtcdOptions& operator=(EtcdOptions&&) noexcept = default;
  ~EtcdOptions() = default;
};

// One key-value pair as etcd returns it.
struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;  // number of puts since the key was created
  std::int64_t lease = 0;
};

struct RangeResult {
  std::int64_t revision = 0;  // the store's revision when the range was read
  std::vector<KeyValue> kvs;
  std::int64_t count = 0;
};

struct WatchEvent {
  bool deleted = false;
  KeyValue kv;  // for a deletion only key and mod_revision
};

// What one message of a watch stream says.
struct WatchMessage {
  std::int64_t revision = 0;          // header revision
  bool created = false;               // the watch is in place
  bool canceled = false;              // etcd ended the watch (compacted, no leader, error)
  std::int64_t compact_revision = 0;  // > 0: the revision asked for is compacted away
  std::string cancel_reason;
  std::vector<WatchEvent> events;
};

// The prefix's range end: the smallest key greater than every key starting with prefix.
std::string prefix_end(const std::string& prefix);

class EtcdClient {
 public:
  // Fails (usage) without endpoints or with a deadline over 1,500 ms.
  static Result<std::unique_ptr<EtcdClient>> create(EtcdOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // Linearizable range [key, range_end) (range_end empty: the key alone).
  Result<RangeResult> range(const std::string& key, const std::string& range_end,
                            bool count_only = false);
  Result<std::int64_t> put(const std::string& key, const std::string& value,
                           std::int64_t lease = 0);  // -> revision
  Result<std::int64_t> remove(const std::string& key,
                              const std::string& range_end = "");  // -> deleted
  // Grants a lease of ttl seconds; its id.
  Result<std::int64_t> grant_lease(std::int64_t ttl_seconds);
  // Adds one to a counter in one round trip: creates key on lease when it is absent, else puts
  // it again keeping its lease (ignore_lease; a plain put would drop it). The count is the key's
  // version after the put.
  Result<std::uint32_t> increment(const std::string& key, std::int64_t lease);

  // Watches [key, range_end) from start_revision on one endpoint (with the has-leader header, so
  // a member that loses its leader ends the stream instead of hanging), calling on_message for
  // every message, until on_message returns false, stop becomes true, the stream ends or fails.
  // Returns why it ended (an error for a transport failure, success when asked to stop).
  Result<void> watch(const std::string& key, const std::string& range_end,
                     std::int64_t start_revision,
                     const std::function<bool(const WatchMessage&)>& on_message,
                     const std::atomic<bool>& stop);

  // The endpoint the last call used.
  const std::string& current_endpoint() const;
  // Makes the next endpoint the current one (after a watch a member ended).
  void rotate();

 private:
  struct Impl;
  explicit EtcdClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// The parsers of the gateway's JSON, exposed for the tests: a message of a watch stream, and the
// answer of a range.
Result<WatchMessage> parse_watch_message(const std::string& text);
Result<RangeResult> parse_range_answer(const std::string& text);

}  // namespace multichap::store

#endif  // MULTICHAP_STORE_ETCD_CLIENT_H
