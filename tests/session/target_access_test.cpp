// SPDX-License-Identifier: BSD-2-Clause
// The target's access rules and full feature phase Text handling, on the sans-I/O machine
// (TargetConnection: PDUs in, PDUs out, no socket) and on a running Target: several targets,
// ACLs (0x0202), SendTargets in Discovery and Normal sessions with C-bit continuation
// (RFC 7143 §11.10, §12.3, Appendix C), other Text keys, Discovery sessions limited to Text and
// Logout, the Login Request's I bit, and secret lookups that are slow, failing or stuck.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "session/discovery.h"
#include "session/initiator.h"
#include "session/session_authenticator.h"
#include "session/target.h"
#include "session/target_connection.h"

namespace multichap {
namespace {

const std::string kA = "iqn.2026-11.org.multichap:a";
const std::string kB = "iqn.2026-11.org.multichap:b";
const std::string kHost = "iqn.2026-11.org.multichap:host";

std::shared_ptr<TargetAccess> no_auth_access(std::size_t extra_targets = 0) {
  auto access = std::make_shared<TargetAccess>();
  TargetEntry a;
  a.name = kA;
  access->targets.push_back(a);
  TargetEntry b;
  b.name = kB;
  b.allow_all = false;
  b.initiators = {"iqn.2026-11.org.multichap:someone-else"};
  access->targets.push_back(b);
  for (std::size_t i = 0; i < extra_targets; ++i) {
    TargetEntry t;
    t.name = "iqn.2026-11.org.multichap:extra-target-number-" + std::to_string(i);
    access->targets.push_back(t);
  }
  access->addresses = {"127.0.0.1:3260,1"};
  return access;
}

// One TargetConnection fed whole PDUs; its output parsed back into PDUs.
class Machine {
 public:
  explicit Machine(std::shared_ptr<TargetAccess> access) {
    m_options.access = std::move(access);
    m_conn =
        std::make_unique<TargetConnection>(m_options, m_registry, "127.0.0.1:5000", Clock::now());
  }
  std::vector<Pdu> feed(const Pdu& pdu) {
    const Bytes wire = pdu.serialize();
    m_conn->receive(ByteView(wire), Clock::now());
    return output();
  }
  std::vector<Pdu> output() {
    const Bytes out = m_conn->take_output();
    std::vector<Pdu> pdus;
    std::size_t pos = 0;
    while (pos < out.size()) {
      auto pdu = parse_pdu(ByteView(out.data() + pos, out.size() - pos), 1 << 20);
      EXPECT_TRUE(pdu.has_value());
      if (!pdu) break;
      pos += pdu->serialize().size();
      pdus.push_back(*pdu);
    }
    return pdus;
  }
  // A login without authentication straight to full feature phase.
  LoginResponse login(const std::string& type, const std::string& target,
                      const std::string& initiator = kHost, bool immediate = true) {
    LoginRequest req;
    req.transit = true;
    req.csg = kSecurityStage;
    req.nsg = kFullFeaturePhase;
    req.isid = {0x80, 0, 0, 1, 0, 1};
    req.itt = 7;
    KeyList keys{{"InitiatorName", initiator}, {"SessionType", type}, {"AuthMethod", "None"}};
    if (!target.empty()) keys.set("TargetName", target);
    keys.set("MaxRecvDataSegmentLength", "512");
    const std::string text = build_text(keys);
    req.data.assign(text.begin(), text.end());
    Pdu pdu = encode(req);
    if (!immediate) pdu.bhs[0] &= 0x3f;
    const auto out = feed(pdu);
    EXPECT_EQ(out.size(), 1u);
    auto r = decode_login_response(out.at(0));
    EXPECT_TRUE(r.has_value());
    return *r;
  }
  // One text exchange (continued as long as the target continues); the whole answer.
  std::string text(const KeyList& keys, int* pdus = nullptr) {
    TextRequest req;
    req.itt = ++m_itt;
    req.cmd_sn = m_cmd_sn++;
    const std::string t = build_text(keys);
    req.data.assign(t.begin(), t.end());
    std::string answer;
    auto out = feed(encode(req));
    for (int n = 1;; ++n) {
      EXPECT_EQ(out.size(), 1u);
      if (out.size() != 1) return answer;
      auto r = decode_text_response(out[0]);
      EXPECT_TRUE(r.has_value()) << opcode_name(out[0].opcode());
      if (!r) return answer;
      EXPECT_LE(r->data.size(), 512u);  // the MaxRecvDataSegmentLength we declared
      answer.append(r->data.begin(), r->data.end());
      if (r->final) {
        EXPECT_EQ(r->ttt, 0xffffffffu);
        if (pdus != nullptr) *pdus = n;
        return answer;
      }
      EXPECT_TRUE(r->cont);
      EXPECT_NE(r->ttt, 0xffffffffu);
      TextRequest more;
      more.itt = req.itt;
      more.ttt = r->ttt;
      more.cmd_sn = m_cmd_sn++;
      out = feed(encode(more));
    }
  }
  TargetConnection& conn() { return *m_conn; }

 private:
  TargetOptions m_options;
  SessionRegistry m_registry{8};
  std::unique_ptr<TargetConnection> m_conn;
  std::uint32_t m_itt = 100;
  std::uint32_t m_cmd_sn = 0;
};

std::vector<std::string> names_in(const std::string& text) {
  auto targets =
      parse_send_targets(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  EXPECT_TRUE(targets.has_value());
  std::vector<std::string> names;
  if (targets) {
    for (const auto& t : *targets) {
      names.push_back(t.name);
      EXPECT_EQ(t.addresses, std::vector<std::string>{"127.0.0.1:3260,1"});
    }
  }
  return names;
}

TEST(TargetAccessMachine, DiscoverySendTargetsAllListsTheVisibleTargetsAcrossContinuedPdus) {
  Machine m(no_auth_access(30));
  ASSERT_EQ(m.login("Discovery", "").status, status::kSuccess);
  int pdus = 0;
  const auto names = names_in(m.text(KeyList{{"SendTargets", "All"}}, &pdus));
  EXPECT_EQ(names.size(), 31u);  // kA and the 30 extras; kB's ACL does not name us
  EXPECT_EQ(names.front(), kA);
  EXPECT_EQ(std::count(names.begin(), names.end(), kB), 0);
  EXPECT_GT(pdus, 4);  // ~2.7 KB of answer in 512-byte parts
  // A named target: only if visible.
  EXPECT_EQ(names_in(m.text(KeyList{{"SendTargets", kA}})), std::vector<std::string>{kA});
  EXPECT_TRUE(names_in(m.text(KeyList{{"SendTargets", kB}})).empty());
}

// RFC 7143 §11.10.2: a Text Request with C=1 is continued; the target acknowledges each part with
// an empty response carrying a Target Transfer Tag that the next part echoes.
TEST(TargetAccessMachine, ATextRequestSplitWithTheCBitIsAssembled) {
  Machine m(no_auth_access());
  ASSERT_EQ(m.login("Discovery", "").status, status::kSuccess);
  TextRequest first;
  first.final = false;
  first.cont = true;
  first.itt = 55;
  const std::string part1 = "SendTarg";
  first.data.assign(part1.begin(), part1.end());
  auto out = m.feed(encode(first));
  ASSERT_EQ(out.size(), 1u);
  auto ack = decode_text_response(out[0]);
  ASSERT_TRUE(ack.has_value());
  EXPECT_TRUE(ack->data.empty());
  EXPECT_FALSE(ack->final);
  ASSERT_NE(ack->ttt, 0xffffffffu);
  TextRequest rest;
  rest.itt = 55;
  rest.ttt = ack->ttt;
  const std::string part2("ets=All\0", 8);
  rest.data.assign(part2.begin(), part2.end());
  out = m.feed(encode(rest));
  ASSERT_EQ(out.size(), 1u);
  auto answer = decode_text_response(out[0]);
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->final);
  EXPECT_EQ(names_in(std::string(answer->data.begin(), answer->data.end())),
            std::vector<std::string>{kA});
  // A TTT we never handed out is a Reject.
  TextRequest bogus;
  bogus.itt = 56;
  bogus.ttt = 0x1234;
  out = m.feed(encode(bogus));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), static_cast<std::uint8_t>(Opcode::reject));
}

TEST(TargetAccessMachine, NormalSessionLearnsOnlyAboutItsOwnTarget) {
  Machine m(no_auth_access());
  ASSERT_EQ(m.login("Normal", kA).status, status::kSuccess);
  EXPECT_EQ(names_in(m.text(KeyList{{"SendTargets", ""}})), std::vector<std::string>{kA});
  EXPECT_EQ(names_in(m.text(KeyList{{"SendTargets", kA}})), std::vector<std::string>{kA});
  EXPECT_TRUE(names_in(m.text(KeyList{{"SendTargets", kB}})).empty());
  // All is for Discovery sessions; other keys: Reject (login-only), NotUnderstood (unknown).
  const std::string others =
      m.text(KeyList{{"SendTargets", "All"}, {"MaxBurstLength", "4096"}, {"X-com.example.k", "1"}});
  auto keys =
      parse_text(ByteView(reinterpret_cast<const std::uint8_t*>(others.data()), others.size()));
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(*keys->find("SendTargets"), "Reject");
  EXPECT_EQ(*keys->find("MaxBurstLength"), "Reject");
  EXPECT_EQ(*keys->find("X-com.example.k"), "NotUnderstood");
}

TEST(TargetAccessMachine, DiscoverySessionMayOnlyDoTextAndLogout) {
  Machine m(no_auth_access());
  ASSERT_EQ(m.login("Discovery", "").status, status::kSuccess);
  NopOut nop;
  nop.itt = 9;
  auto out = m.feed(encode(nop));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), static_cast<std::uint8_t>(Opcode::reject));
  EXPECT_EQ(names_in(m.text(KeyList{{"SendTargets", "All"}})).size(), 1u);  // still usable
}

TEST(TargetAccessMachine, NormalSessionAnswersNop) {
  Machine m(no_auth_access());
  ASSERT_EQ(m.login("Normal", kA).status, status::kSuccess);
  NopOut nop;
  nop.itt = 9;
  auto out = m.feed(encode(nop));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].opcode(), static_cast<std::uint8_t>(Opcode::nop_in));
}

TEST(TargetAccessMachine, AnInitiatorOutsideTheAclGets0x0202) {
  Machine m(no_auth_access());
  EXPECT_EQ(m.login("Normal", kB).status, status::kAuthorizationFailure);
  EXPECT_TRUE(m.conn().finished());
}

TEST(TargetAccessMachine, UnknownTargetGets0x0203) {
  Machine m(no_auth_access());
  EXPECT_EQ(m.login("Normal", "iqn.2026-11.org.multichap:nope").status, status::kTargetNotFound);
}

TEST(TargetAccessMachine, LoginRequestWithoutTheImmediateBitIsAnInitiatorError) {
  Machine m(no_auth_access());
  EXPECT_EQ(m.login("Normal", kA, kHost, false).status, status::kInitiatorError);
  EXPECT_TRUE(m.conn().finished());
}

TEST(TargetAccessMachine, DisabledDiscoveryGets0x0209) {
  auto access = no_auth_access();
  access->discovery_enabled = false;
  Machine m(access);
  EXPECT_EQ(m.login("Discovery", "").status, status::kSessionTypeNotSupported);
}

// ---- a running Target: SendTargets through our initiator, reload, secret lookups ------------

std::unique_ptr<InitiatorAuthenticator> initiator_auth(const std::string& user,
                                                       const std::string& secret) {
  ChapInitiatorConfig config;
  config.local = ChapCredentials{user, Secret::from_text(secret)};
  auto backend = make_default_backend();
  return std::move(InitiatorAuthenticator::create(std::move(config), *backend)).value();
}

Result<void> login(std::uint16_t port, const std::string& target, const std::string& user,
                   const std::string& secret) {
  InitiatorOptions options;
  options.portal = Endpoint{"127.0.0.1", port};
  options.target_name = target;
  options.initiator_name = kHost;
  options.max_attempts = 1;
  options.login_timeout = Millis(5000);
  MULTICHAP_ASSIGN_OR_RETURN(auto session,
                             InitiatorSession::create(options, initiator_auth(user, secret)));
  MULTICHAP_GUARD(session->login());
  return session->logout();
}

TEST(TargetAccessServer, DiscoveryOfThousandsOfTargetsSpansSeveralPdus) {
  auto access = no_auth_access(4000);  // ~270 KB: more than one 262144-byte PDU
  auto chap = std::make_shared<ChapTargetConfig>();
  chap->accounts.push_back(ChapCredentials{"disco", Secret::from_text("disco-secret-001")});
  access->discovery_chap = chap;
  TargetOptions options;
  options.access = access;
  options.threads = 1;
  auto target = Target::create(std::move(options));
  ASSERT_TRUE(target.has_value()) << target.error().message;
  auto port = (*target)->listen(Endpoint{"127.0.0.1", 0});
  ASSERT_TRUE(port.has_value());
  (*target)->start();
  InitiatorOptions io;
  io.portal = Endpoint{"127.0.0.1", *port};
  io.initiator_name = kHost;
  auto found = discover_targets(io, initiator_auth("disco", "disco-secret-001"));
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_EQ(found->size(), 4001u);
  EXPECT_FALSE(discover_targets(io, initiator_auth("disco", "wrong-secret-0001")).has_value());
  EXPECT_EQ((*target)->stats().send_targets, 1u);
}

// A provider that blocks on "stuck" until released, answers "slow" after 100 ms, fails "broken".
class SlowProvider final : public SecretProvider {
 public:
  Result<std::optional<Secret>> find_secret(const AccountQuery& q) const override {
    if (q.chap_n == "stuck") {
      std::unique_lock<std::mutex> lock(m_mutex);
      m_cv.wait(lock, [this] { return m_released; });
      return std::optional<Secret>();
    }
    if (q.chap_n == "broken") return make_error(ErrorKind::io, "store unreachable");
    if (q.chap_n == "slow") {
      std::this_thread::sleep_for(Millis(100));
      EXPECT_EQ(q.target_name, kA);
      EXPECT_EQ(q.initiator_name, kHost);
      return std::optional<Secret>(Secret::from_text("slow-secret-0001"));
    }
    return std::optional<Secret>();
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_released = true;
    }
    m_cv.notify_all();
  }

 private:
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_cv;
  bool m_released = false;
};

TEST(TargetAccessServer, SlowFailingAndStuckLookupsNeverStallTheLoop) {
  auto provider = std::make_shared<SlowProvider>();
  auto chap = std::make_shared<ChapTargetConfig>();
  chap->accounts.push_back(ChapCredentials{"local", Secret::from_text("local-secret-001")});
  chap->provider = provider;
  TargetOptions options;
  options.target_name = kA;
  options.chap = chap;
  options.threads = 1;  // one loop thread: a lookup on it would stall every other login
  options.lookup_threads = 1;
  options.lookup_timeout = Millis(300);
  options.guard.enabled = false;
  auto target = Target::create(std::move(options));
  ASSERT_TRUE(target.has_value());
  auto port = (*target)->listen(Endpoint{"127.0.0.1", 0});
  ASSERT_TRUE(port.has_value());
  (*target)->start();

  // A lookup that never returns: 0x0201 at the lookup deadline...
  std::thread stuck([&] {
    auto r = login(*port, kA, "stuck", "stuck-secret-0001");
    EXPECT_FALSE(r.has_value());
  });
  std::this_thread::sleep_for(Millis(50));
  // ... while the loop goes on serving an account it holds.
  const auto t0 = Clock::now();
  EXPECT_TRUE(login(*port, kA, "local", "local-secret-001").has_value());
  EXPECT_LT(Clock::now() - t0, Millis(250));  // functional: well before the stuck lookup ends
  stuck.join();
  // The pool's one thread is still stuck: further lookups wait in the queue and time out.
  EXPECT_FALSE(login(*port, kA, "slow", "slow-secret-0001").has_value());
  provider->release();
  std::this_thread::sleep_for(Millis(50));
  EXPECT_TRUE(login(*port, kA, "slow", "slow-secret-0001").has_value());
  EXPECT_FALSE(login(*port, kA, "broken", "broken-secret-01").has_value());
  EXPECT_FALSE(login(*port, kA, "slow", "wrong-secret-0001").has_value());
  EXPECT_GE((*target)->stats().lookups_failed, 3u);  // stuck, queued-then-timed-out, broken
  (*target)->stop();
}

TEST(TargetAccessServer, ReloadChangesAccountsForNewLoginsOnly) {
  auto make = [](const std::string& secret) {
    auto chap = std::make_shared<ChapTargetConfig>();
    chap->accounts.push_back(ChapCredentials{"u", Secret::from_text(secret)});
    return single_target_access(kA, chap);
  };
  TargetOptions options;
  options.access = make("first-secret-0001");
  options.threads = 1;
  auto target = Target::create(std::move(options));
  ASSERT_TRUE(target.has_value());
  auto port = (*target)->listen(Endpoint{"127.0.0.1", 0});
  ASSERT_TRUE(port.has_value());
  (*target)->start();
  InitiatorOptions io;
  io.portal = Endpoint{"127.0.0.1", *port};
  io.target_name = kA;
  io.initiator_name = kHost;
  auto held = InitiatorSession::create(io, initiator_auth("u", "first-secret-0001"));
  ASSERT_TRUE(held.has_value());
  ASSERT_TRUE((*held)->login().has_value());
  ASSERT_TRUE((*target)->reload(make("second-secret-002")).has_value());
  EXPECT_FALSE(login(*port, kA, "u", "first-secret-0001").has_value());
  EXPECT_TRUE(login(*port, kA, "u", "second-secret-002").has_value());
  EXPECT_TRUE((*held)->ping().has_value());
  EXPECT_TRUE((*held)->logout().has_value());
  // A reload that does not validate changes nothing.
  auto bad = std::make_shared<TargetAccess>();
  EXPECT_FALSE((*target)->reload(bad).has_value());
  EXPECT_TRUE(login(*port, kA, "u", "second-secret-002").has_value());
}

}  // namespace
}  // namespace multichap
