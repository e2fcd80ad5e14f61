// SPDX-License-Identifier: BSD-2-Clause
// The fleet's key layout and values (store/fleet_layout.h), the AES-256-GCM envelope
// (store/envelope.h), the etcd gateway's JSON parsers (store/etcd_client.h) and the fleet-wide
// count's place in LoginGuard (session/login_guard.h): no etcd needed.
#include <gtest/gtest.h>

#include "backends/hash_backend.h"
#include "session/login_guard.h"
#include "store/envelope.h"
#include "store/etcd_client.h"
#include "store/fleet_layout.h"
#include "tests/support/result_matchers.h"

namespace multichap::store {
namespace {

using test::ResultIs;

const std::string kKeys =
    "# test keys\n"
    "k2 2222222222222222222222222222222222222222222222222222222222222222\n"
    "k1 1111111111111111111111111111111111111111111111111111111111111111\n";

std::string text_of(const Secret& s) {
  return std::string(reinterpret_cast<const char*>(s.bytes().data()), s.size());
}

ByteView view(const std::string& s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::shared_ptr<const HashBackend> backend() {
  static const auto b = make_default_backend();
  return *b;
}

TEST(FleetLayout, NamesArePercentEncodedAndRoundTrip) {
  EXPECT_EQ(encode_name("iqn.2026-11.org.example:disk1"), "iqn.2026-11.org.example:disk1");
  EXPECT_EQ(encode_name("a/b c%"), "a%2Fb%20c%25");
  for (const std::string& name :
       std::vector<std::string>{"alice", "a/../b", std::string("\x00\xff", 2), "x%y"}) {
    auto back = decode_name(encode_name(name));
    ASSERT_TRUE(back) << name;
    EXPECT_EQ(*back, name);
  }
  EXPECT_FALSE(decode_name("a%2"));
  EXPECT_FALSE(decode_name("a%zz"));
  EXPECT_FALSE(decode_name("a/b"));
  EXPECT_FALSE(decode_name(""));
}

TEST(FleetLayout, PlainSecretValue) {
  auto value = secret_value(view("alice-secret-01"), nullptr, "accounts/alice");
  ASSERT_TRUE(value);
  EXPECT_EQ(value->find("alice-secret-01"), std::string::npos);  // base64, not the text
  auto back = parse_secret_value(*value, nullptr, "accounts/alice");
  ASSERT_TRUE(back);
  EXPECT_EQ(text_of(*back), "alice-secret-01");
}

TEST(FleetLayout, MalformedSecretValuesAreRefused) {
  for (const std::string bad :
       {"", "null", "[]", "{}", "{\"secret_b64\": 5}", "{\"secret_b64\": \"***\"}",
        "{\"secret_b64\": \"\"}", "{\"secret_b64\": \"YQ==\", \"extra\": 1}",
        "{\"secret_b64\": \"YQ==\", \"sealed\": {}}", "{\"sealed\": \"x\"}", "{\"secret_b64\""}) {
    EXPECT_THAT(parse_secret_value(bad, nullptr, "accounts/a"),
                ResultIs(ErrorKind::usage, ErrorCode::store_value_invalid))
        << bad;
  }
}

TEST(Envelope, SealsWithTheFirstKeyAndOpensWithAny) {
  auto ring = KeyRing::parse(kKeys, "keys");
  ASSERT_TRUE(ring) << ring.error().message;
  EXPECT_EQ(ring->sealing_kid(), "k2");
  auto value = secret_value(view("bob-secret-0001"), &*ring, "accounts/bob");
  ASSERT_TRUE(value);
  EXPECT_NE(value->find("\"kid\":\"k2\""), std::string::npos);
  auto back = parse_secret_value(*value, &*ring, "accounts/bob");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(text_of(*back), "bob-secret-0001");
  // Sealed under k1 (an older key still in the file) opens too.
  auto old_ring = KeyRing::parse(
      "k1 1111111111111111111111111111111111111111111111111111111111111111\n", "old");
  ASSERT_TRUE(old_ring);
  auto old_value = secret_value(view("bob-secret-0001"), &*old_ring, "accounts/bob");
  ASSERT_TRUE(old_value);
  EXPECT_TRUE(parse_secret_value(*old_value, &*ring, "accounts/bob"));
}

TEST(Envelope, ASwappedTamperedOrUnknownValueDoesNotOpen) {
  auto ring = KeyRing::parse(kKeys, "keys");
  ASSERT_TRUE(ring);
  auto value = secret_value(view("bob-secret-0001"), &*ring, "accounts/bob");
  ASSERT_TRUE(value);
  // Copied to another account's key: the associated data differs.
  EXPECT_THAT(parse_secret_value(*value, &*ring, "accounts/mallory"),
              ResultIs(ErrorKind::policy, ErrorCode::envelope_invalid));
  // A flipped ciphertext byte.
  SealedSecret s;
  auto opened = ring->seal(view("carol-secret-01"), "accounts/carol");
  ASSERT_TRUE(opened);
  s = *opened;
  s.ct[0] = static_cast<char>(s.ct[0] ^ 1);
  EXPECT_THAT(ring->open(s, "accounts/carol"),
              ResultIs(ErrorKind::policy, ErrorCode::envelope_invalid));
  s = *opened;
  s.kid = "k9";
  EXPECT_THAT(ring->open(s, "accounts/carol"),
              ResultIs(ErrorKind::policy, ErrorCode::envelope_invalid));
  // A sealed value and no key file.
  EXPECT_THAT(parse_secret_value(*value, nullptr, "accounts/bob"),
              ResultIs(ErrorKind::usage, ErrorCode::envelope_invalid));
}

TEST(Envelope, KeyFileErrorsNameTheLineNeverTheKey) {
  auto short_key = KeyRing::parse("k1 1234\n", "f");
  ASSERT_FALSE(short_key);
  EXPECT_NE(short_key.error().message.find("f:1"), std::string::npos);
  EXPECT_EQ(short_key.error().message.find("1234"), std::string::npos);
  EXPECT_FALSE(KeyRing::parse("# nothing\n", "f"));
  EXPECT_FALSE(KeyRing::parse("k1\n", "f"));
  EXPECT_FALSE(KeyRing::parse(kKeys + "k1 " + std::string(64, 'a') + "\n", "f"));  // kid twice
}

TEST(FleetLayout, TargetValuesRoundTripAndBadOnesAreRefused) {
  StoredTarget t;
  t.allow_all = false;
  t.initiators = {"iqn.2026-11.org.example:host-a"};
  t.accounts = {"alice", "bob"};
  t.identity = "target-id";
  t.auth = "mutual";
  t.algorithms = {Algorithm::sha3_256, Algorithm::sha256};
  auto back = parse_target_value(target_value(t));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_FALSE(back->allow_all);
  EXPECT_EQ(back->initiators, t.initiators);
  EXPECT_EQ(back->accounts, t.accounts);
  EXPECT_EQ(back->identity, t.identity);
  EXPECT_EQ(back->auth, "mutual");
  EXPECT_EQ(back->algorithms, t.algorithms);
  for (const std::string bad :
       {"", "[]", "{\"accounts\": \"alice\"}", "{\"accounts\": [1]}", "{}",
        "{\"accounts\": [\"a\"], \"auth\": \"maybe\"}", "{\"accounts\": [\"a\"], \"colour\": 1}",
        "{\"accounts\": [\"a\"], \"algorithms\": [\"md4\"]}",
        "{\"accounts\": [\"a\"], \"require_mutual\": true}",
        "{\"auth\": \"none\", \"accounts\": [\"a\"]}",
        "{\"accounts\": [\"a\"], \"initiators\": 7}"}) {
    EXPECT_THAT(parse_target_value(bad), ResultIs(ErrorKind::usage, ErrorCode::store_value_invalid))
        << bad;
  }
}

Snapshot fleet_snapshot() {
  Snapshot s;
  s["accounts/alice"] = *secret_value(view("alice-secret-01"), nullptr, "accounts/alice");
  s["accounts/short"] = *secret_value(view("short"), nullptr, "accounts/short");
  s["accounts/broken"] = "{not json";
  s["identities/target-id"] =
      *secret_value(view("target-secret-1"), nullptr, "identities/target-id");
  s["targets/iqn.2026-11.org.example:disk1"] =
      R"({"initiators": ["iqn.2026-11.org.example:host-a"], "accounts": ["alice"]})";
  s["targets/iqn.2026-11.org.example:mutual"] =
      R"({"initiators": "all", "accounts": ["alice"], "identity": "target-id", "auth": "mutual"})";
  s["targets/iqn.2026-11.org.example:ghost"] = R"({"accounts": ["nobody"]})";  // kept, refusing
  s["targets/iqn.2026-11.org.example:short"] = R"({"accounts": ["short"]})";
  s["targets/iqn.2026-11.org.example:garbage"] = "\x01\x02";
  s["targets/bad%zzname"] = R"({"accounts": ["alice"]})";
  return s;
}

TEST(FleetLayout, BuildAccessSkipsAndReportsWhatCannotBeUsed) {
  const BuiltAccess built = build_access(fleet_snapshot(), nullptr, *backend());
  ASSERT_TRUE(built.access);
  ASSERT_EQ(built.access->targets.size(), 3u);  // disk1, mutual, and ghost (refusing)
  const TargetEntry* ghost = built.access->find("iqn.2026-11.org.example:ghost");
  ASSERT_NE(ghost, nullptr);
  ASSERT_TRUE(ghost->chap && ghost->chap->provider);
  EXPECT_TRUE(ghost->chap->accounts.empty());
  EXPECT_FALSE(ghost->chap->provider->find_secret(AccountQuery{"nobody", "", "", false}));
  const TargetEntry* disk1 = built.access->find("iqn.2026-11.org.example:disk1");
  ASSERT_NE(disk1, nullptr);
  EXPECT_FALSE(disk1->allow_all);
  EXPECT_TRUE(disk1->allows("iqn.2026-11.org.example:host-a"));
  EXPECT_FALSE(disk1->allows("iqn.2026-11.org.example:host-b"));
  const TargetEntry* mutual = built.access->find("iqn.2026-11.org.example:mutual");
  ASSERT_NE(mutual, nullptr);
  EXPECT_TRUE(mutual->chap->policy.require_mutual);
  ASSERT_TRUE(mutual->chap->local);
  EXPECT_EQ(mutual->chap->local->name, "target-id");
  // Every skipped object is named by its key; none of the messages holds a secret.
  std::string all;
  for (const std::string& p : built.problems) all += p + "\n";
  for (const std::string key : {"accounts/broken", "targets/iqn.2026-11.org.example:ghost",
                                "targets/iqn.2026-11.org.example:short",
                                "targets/iqn.2026-11.org.example:garbage", "targets/bad%zzname"}) {
    EXPECT_NE(all.find(key + ":"), std::string::npos) << key << "\n" << all;
  }
  EXPECT_EQ(all.find("alice-secret-01"), std::string::npos);
  // What it built is a valid configuration for a target.
  EXPECT_TRUE(ValidTargetAccess::create(built.access, backend()));
}

TEST(FleetLayout, AnEmptyStoreIsAValidFleetAndABadDiscoveryIsRefusedNotOpened) {
  Snapshot s;
  s["discovery"] = R"({"accounts": ["nobody"]})";
  const BuiltAccess built = build_access(s, nullptr, *backend());
  EXPECT_TRUE(built.access->targets.empty());
  // Its only account is missing: discovery stays, refusing every login (never unauthenticated).
  ASSERT_TRUE(built.access->discovery_chap);
  ASSERT_TRUE(built.access->discovery_chap->provider);
  EXPECT_FALSE(
      built.access->discovery_chap->provider->find_secret(AccountQuery{"a", "", "", true}));
  s["discovery"] = "{broken";
  EXPECT_FALSE(build_access(s, nullptr, *backend()).access->discovery_enabled);
  EXPECT_TRUE(ValidTargetAccess::create(built.access, backend()));
}

TEST(FleetLayout, RefusingAccessKeepsTheTargetsAndFailsEveryLookup) {
  const BuiltAccess built = build_access(fleet_snapshot(), nullptr, *backend());
  auto refusing = refusing_access(*built.access, "store gone");
  ASSERT_EQ(refusing->targets.size(), built.access->targets.size());
  for (const TargetEntry& t : refusing->targets) {
    ASSERT_TRUE(t.chap);
    EXPECT_TRUE(t.chap->accounts.empty());
    ASSERT_TRUE(t.chap->provider);
    EXPECT_THAT(t.chap->provider->find_secret(AccountQuery{"alice", "", t.name, false}),
                ResultIs(ErrorKind::io, ErrorCode::store_stale));
  }
  ASSERT_TRUE(refusing->discovery_chap);  // discovery was unauthenticated: now it is refused too
  EXPECT_TRUE(ValidTargetAccess::create(refusing, backend()));
}

TEST(EtcdJson, WatchMessages) {
  auto created = parse_watch_message(
      R"({"result":{"header":{"cluster_id":"1","revision":"5","raft_term":"2"},"created":true}})");
  ASSERT_TRUE(created);
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->revision, 5);
  auto events = parse_watch_message(
      R"({"result":{"header":{"revision":"6"},"events":[{"kv":{"key":"L20vYw==","create_revision":"3","mod_revision":"5","version":"3","value":"MQ==","lease":"41"}},{"type":"DELETE","kv":{"key":"L20vYQ==","mod_revision":"6"}}]}})");
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].kv.key, "/m/c");
  EXPECT_EQ(events->events[0].kv.value, "1");
  EXPECT_EQ(events->events[0].kv.version, 3);
  EXPECT_EQ(events->events[0].kv.lease, 41);
  EXPECT_FALSE(events->events[0].deleted);
  EXPECT_TRUE(events->events[1].deleted);
  EXPECT_EQ(events->events[1].kv.key, "/m/a");
  auto compacted = parse_watch_message(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"4"}})");
  ASSERT_TRUE(compacted);
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 4);
  auto error = parse_watch_message(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})");
  ASSERT_TRUE(error);
  EXPECT_TRUE(error->canceled);
  EXPECT_EQ(error->cancel_reason, "etcdserver: no leader");
  for (const std::string bad :
       {"", "{", "[]", R"({"result": 3})", R"({"result":{"events":[{"type":"PUT"}]}})",
        R"({"result":{"events":[{"kv":{"key":"***"}}]}})"}) {
    EXPECT_FALSE(parse_watch_message(bad)) << bad;
  }
}

TEST(EtcdJson, RangeAnswers) {
  auto r = parse_range_answer(
      R"({"header":{"revision":"9"},"kvs":[{"key":"L20vYQ==","value":"djE=","version":"1"}],"count":"1"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->revision, 9);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "v1");
  auto empty = parse_range_answer(R"({"header":{"revision":"3"}})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->kvs.empty());
  EXPECT_FALSE(parse_range_answer(R"({"kvs":[]})"));  // no revision
  EXPECT_FALSE(parse_range_answer(R"({"header":{"revision":"-3"}})"));
  EXPECT_EQ(prefix_end("/multichap/"), "/multichap0");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
}

// A fleet-wide count as FleetGuard keeps it, without the store.
class FakeShared final : public SharedLoginGuard {
 public:
  bool locked(std::string_view, std::string_view, Clock::time_point) override { return lock; }
  Counts failed(std::string_view, std::string_view, Clock::time_point) override {
    Counts c;
    c.pair = ++pair;
    c.source = pair;
    c.new_lockout = pair == threshold;
    c.what = "CHAP_N 'u' from 10.0.0.1";
    if (c.new_lockout) lock = true;
    return c;
  }
  void succeeded(std::string_view, std::string_view) override { ++successes; }
  std::uint32_t pair = 0;
  std::uint32_t threshold = 100;
  bool lock = false;
  int successes = 0;
};

TEST(SharedLoginGuard, TheDelayFollowsTheFleetCountAndItsLockoutHoldsHere) {
  LoginGuardPolicy p;
  p.base_delay = Millis(10);
  p.max_delay = Millis(1000);
  auto shared = std::make_shared<FakeShared>();
  shared->pair = 4;  // four failures elsewhere in the fleet
  shared->threshold = 6;
  LoginGuard guard(p, shared);
  const auto t0 = Clock::now();
  EXPECT_EQ(guard.failed("10.0.0.1", "u", t0).delay, Millis(160));  // the fleet's 5th: 10 * 2^4
  EXPECT_FALSE(guard.locked("10.0.0.1", "u", t0));
  const auto sixth = guard.failed("10.0.0.1", "u", t0);
  EXPECT_TRUE(sixth.new_lockout);
  EXPECT_NE(sixth.what.find("fleet-wide"), std::string::npos);
  EXPECT_EQ(sixth.delay, Millis(1000));
  EXPECT_TRUE(guard.locked("10.0.0.1", "u", t0));
  guard.succeeded("10.0.0.2", "v");
  EXPECT_EQ(shared->successes, 1);
  // Off: the shared count is not asked.
  p.enabled = false;
  LoginGuard off(p, shared);
  EXPECT_FALSE(off.locked("10.0.0.1", "u", t0));
}

}  // namespace
}  // namespace multichap::store
