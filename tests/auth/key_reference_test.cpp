// SPDX-License-Identifier: BSD-2-Clause
// Secrets held by reference (auth/key_reference.h) in the CHAP core, with a test double of a
// token: FakeToken keeps its secret private and computes H(before || secret || after) through a
// real backend, for the algorithms it is told it can. Checks that a response with a reference
// equals one with the bytes, the RFC 7143 §9.2.1 same-secret check across the two forms (the
// nonce digests), the reflection check with the target's own secret in a token, and that the
// algorithms offered and accepted follow what each secret's holder computes.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "tests/auth/chap_fixtures.h"

namespace multichap {
namespace {

std::shared_ptr<const HashBackend> backend() {
  auto b = make_default_backend();
  EXPECT_TRUE(b.has_value());
  return *b;
}

class FakeToken final : public KeyReference {
 public:
  FakeToken(std::string secret, std::set<Algorithm> algorithms)
      : m_secret(std::move(secret)), m_algorithms(std::move(algorithms)), m_backend(backend()) {}
  const std::string& describe() const override { return m_name; }
  std::size_t size() const override { return m_secret.size(); }
  bool supports(Algorithm alg) const override { return m_algorithms.count(alg) != 0; }
  std::string why_unsupported(Algorithm alg) const override {
    return supports(alg) ? "" : "the fake token has no such mechanism";
  }
  Result<std::size_t> digest(Algorithm alg, ByteView before, ByteView after,
                             MutableByteView out) const override {
    ++calls;
    if (!supports(alg)) return make_error(ErrorKind::backend, "unsupported");
    return m_backend->digest(alg, {before, ByteView(m_secret), after}, out);
  }
  mutable std::atomic<int> calls{0};

 private:
  std::string m_name = "fake:token";
  std::string m_secret;
  std::set<Algorithm> m_algorithms;
  std::shared_ptr<const HashBackend> m_backend;
};

const std::set<Algorithm> kShaOnly = {Algorithm::sha1, Algorithm::sha256};
const std::string kA = "initiator-secret-0123";
const std::string kT = "target-secret-456789";

Secret in_token(const std::string& s, std::set<Algorithm> algs = kShaOnly) {
  return Secret::from_reference(std::make_shared<FakeToken>(s, std::move(algs)));
}

TEST(KeyReference, ResponseEqualsTheBytesResponse) {
  const auto crypto = backend();
  const Secret ref = in_token(kA);
  const Secret bytes = Secret::from_text(kA);
  const std::uint8_t challenge[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (const Algorithm alg : kShaOnly) {
    std::array<std::uint8_t, kMaxDigestSize> a{};
    std::array<std::uint8_t, kMaxDigestSize> b{};
    auto na = chap_response(*crypto, alg, 42, ref, ByteView(challenge, sizeof(challenge)), a);
    auto nb = chap_response(*crypto, alg, 42, bytes, ByteView(challenge, sizeof(challenge)), b);
    ASSERT_TRUE(na.has_value());
    ASSERT_TRUE(nb.has_value());
    EXPECT_EQ(*na, *nb);
    EXPECT_EQ(a, b);
  }
  std::array<std::uint8_t, kMaxDigestSize> out{};
  EXPECT_FALSE(chap_response(*crypto, Algorithm::md5, 1, ref, ByteView(challenge, 16), out));
}

TEST(KeyReference, SecretForms) {
  const Secret ref = in_token(kA);
  EXPECT_FALSE(ref.empty());
  EXPECT_TRUE(ref.bytes().empty());
  EXPECT_NE(ref.reference(), nullptr);
  const Secret copy = ref.clone();
  EXPECT_EQ(copy.reference(), ref.reference());
  EXPECT_TRUE(copy.equals(ref));
  EXPECT_FALSE(ref.equals(Secret::from_text(kA)));  // bytes out of reach: same_secret() compares
  Secret moved = ref.clone();
  Secret target = std::move(moved);
  EXPECT_EQ(target.reference(), ref.reference());
  EXPECT_EQ(moved.reference(), nullptr);  // NOLINT(bugprone-use-after-move): moved from is empty
  EXPECT_TRUE(moved.empty());
  target.clear();
  EXPECT_TRUE(target.empty());
}

TEST(KeyReference, SameSecretComparesWhereEachLives) {
  const auto crypto = backend();
  EXPECT_EQ(same_secret(*crypto, in_token(kA), Secret::from_text(kA)).value(), true);
  EXPECT_EQ(same_secret(*crypto, Secret::from_text(kA), in_token(kA)).value(), true);
  EXPECT_EQ(same_secret(*crypto, in_token(kA), Secret::from_text(kT)).value(), false);
  EXPECT_EQ(same_secret(*crypto, in_token(kA), in_token(kA)).value(), true);  // two objects
  EXPECT_EQ(same_secret(*crypto, in_token(kA), in_token(kT)).value(), false);
  const Secret one = in_token(kA);
  EXPECT_EQ(same_secret(*crypto, one, one.clone()).value(), true);
  EXPECT_EQ(same_secret(*crypto, Secret::from_text(kA), Secret::from_text(kT)).value(), false);
  // No algorithm both can compute: cannot tell, so refused.
  auto r = same_secret(*crypto, in_token(kA, {Algorithm::sha1}), in_token(kT, {Algorithm::sha256}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::same_secret_both_directions);
}

TEST(KeyReference, ConfigurationsRefuseOneSecretBothWays) {
  const auto crypto = backend();
  ChapInitiatorConfig init;
  init.local = ChapCredentials{"alice", in_token(kA)};
  init.target = ChapCredentials{"target", Secret::from_text(kA)};
  auto r = validate_config(init, *crypto);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::same_secret_both_directions);
  init.target = ChapCredentials{"target", in_token(kT)};
  EXPECT_TRUE(validate_config(init, *crypto).has_value());

  ChapTargetConfig target;
  target.accounts.push_back(ChapCredentials{"alice", Secret::from_text(kT)});
  target.local = ChapCredentials{"target", in_token(kT)};
  r = validate_config(target, *crypto);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::same_secret_both_directions);
}

TEST(KeyReference, OfferFollowsWhatTheTokenComputes) {
  const auto crypto = backend();
  auto config = std::make_shared<ChapInitiatorConfig>();
  config->local = ChapCredentials{"alice", in_token(kA)};
  auto valid = ValidChapInitiatorConfig::create(config, crypto);
  ASSERT_TRUE(valid.has_value());
  EXPECT_EQ((*valid)->usable(), (std::vector<Algorithm>{Algorithm::sha256, Algorithm::sha1}));
  ASSERT_EQ((*valid)->notes().size(), 2u);
  EXPECT_NE((*valid)->notes()[0].find("sha3-256 not usable with the secret fake:token"),
            std::string::npos);
  EXPECT_NE((*valid)->notes()[1].find("md5 not usable"), std::string::npos);

  auto md5_only = std::make_shared<ChapInitiatorConfig>();
  md5_only->local = ChapCredentials{"alice", in_token(kA)};
  md5_only->policy.algorithms = {Algorithm::md5};
  auto refused = ValidChapInitiatorConfig::create(md5_only, crypto);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::no_usable_algorithm);
  EXPECT_NE(refused.error().message.find("the fake token has no such mechanism"),
            std::string::npos);
}

TEST(KeyReference, MutualExchangeWithBothSecretsInTokens) {
  const auto crypto = backend();
  auto a = std::make_shared<FakeToken>(kA, kShaOnly);
  auto t = std::make_shared<FakeToken>(kT, kShaOnly);
  auto init = std::make_shared<ChapInitiatorConfig>();
  init->local = ChapCredentials{"alice", Secret::from_reference(a)};
  init->target = ChapCredentials{"target", Secret::from_reference(t)};
  auto target = std::make_shared<ChapTargetConfig>();
  target->accounts.push_back(ChapCredentials{"alice", Secret::from_reference(a)});
  target->local = ChapCredentials{"target", Secret::from_reference(t)};
  auto i = test::make_initiator(init, crypto);
  auto tg = test::make_target(target, crypto);
  ASSERT_TRUE(i && tg);
  const int before = a->calls + t->calls;
  const auto outcome = test::run_exchange(*i, *tg);
  EXPECT_TRUE(outcome.both_succeeded);
  EXPECT_GE(a->calls + t->calls - before, 4);  // both responses, both checks
}

TEST(KeyReference, ReflectionCheckWithTheTargetSecretInAToken) {
  const auto crypto = backend();
  // The initiator answers with the target's own secret (a reflection, or a shared secret): the
  // target finds it by computing with its secret in the token.
  auto init = std::make_shared<ChapInitiatorConfig>();
  init->local = ChapCredentials{"alice", Secret::from_text(kT)};
  auto target = std::make_shared<ChapTargetConfig>();
  target->accounts.push_back(ChapCredentials{"alice", Secret::from_text(kA)});
  target->local = ChapCredentials{"target", in_token(kT)};
  auto i = test::make_initiator(init, crypto);
  auto tg = test::make_target(target, crypto);
  ASSERT_TRUE(i && tg);
  const auto outcome = test::run_exchange(*i, *tg);
  ASSERT_TRUE(outcome.target_error.has_value());
  EXPECT_EQ(outcome.target_error->code, ErrorCode::response_with_own_secret);
}

}  // namespace
}  // namespace multichap
