// SPDX-License-Identifier: BSD-2-Clause
// The target's secret provider (auth/secret_provider.h): accounts searched first, then the
// provider, with the login's context passed through; unknown names, failed lookups and secrets
// that break the RFC 7143 §9.2.1 rules end in a failed exchange.
#include "auth/secret_provider.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "tests/auth/chap_fixtures.h"
#include "tests/support/result_matchers.h"

namespace multichap {
namespace {

using test::credentials;
using test::initiator_config;
using test::kInitiatorSecret;
using test::kInitiatorUser;
using test::kTargetSecret;
using test::kTargetUser;

// Answers from a fixed table and records what it was asked.
class RecordingProvider final : public SecretProvider {
 public:
  enum class Mode { answer, unknown, fail };
  explicit RecordingProvider(Mode mode, std::string secret = std::string(kInitiatorSecret))
      : m_mode(mode), m_secret(std::move(secret)) {}

  Result<std::optional<Secret>> find_secret(const AccountQuery& query) const override {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++calls;
    last_chap_n = std::string(query.chap_n);
    last_initiator = std::string(query.initiator_name);
    last_target = std::string(query.target_name);
    last_discovery = query.discovery;
    if (m_mode == Mode::fail) return make_error(ErrorKind::backend, "store unreachable");
    if (m_mode == Mode::unknown) return std::optional<Secret>();
    return std::optional<Secret>(Secret::from_text(m_secret));
  }

  mutable int calls = 0;
  mutable std::string last_chap_n, last_initiator, last_target;
  mutable bool last_discovery = false;

 private:
  Mode m_mode;
  std::string m_secret;
  mutable std::mutex m_mutex;
};

std::shared_ptr<const HashBackend> backend() {
  return make_default_backend().value();
}

// A target whose only account source is provider (no accounts), with its own identity.
std::shared_ptr<ChapTargetConfig> provider_config(std::shared_ptr<const SecretProvider> provider) {
  auto config = std::make_shared<ChapTargetConfig>();
  config->provider = std::move(provider);
  config->local = credentials(kTargetUser, kTargetSecret);
  return config;
}

test::ExchangeOutcome run(std::shared_ptr<ChapTargetConfig> target_cfg, bool mutual = false) {
  auto initiator = test::make_initiator(initiator_config(mutual), backend());
  auto target = test::make_target(std::move(target_cfg), backend());
  EXPECT_TRUE(initiator && target);
  if (!initiator || !target) return {};
  target->set_login_context("iqn.1994-05.com.example:host7", "iqn.2024-01.org.example:disk1",
                            false);
  return test::run_exchange(*initiator, *target);
}

TEST(SecretProvider, InMemoryFindsByExactName) {
  std::vector<ChapCredentials> accounts;
  accounts.push_back(credentials("alice", "alice-secret-01"));
  accounts.push_back(credentials("bob", "bob-secret-0002"));
  const InMemorySecretProvider provider(std::move(accounts));
  auto bob = provider.find_secret(AccountQuery{"bob", "", "", false});
  ASSERT_TRUE(bob && bob->has_value());
  EXPECT_TRUE((*bob)->equals(Secret::from_text("bob-secret-0002")));
  auto prefix = provider.find_secret(AccountQuery{"bo", "", "", false});
  ASSERT_TRUE(prefix);
  EXPECT_FALSE(prefix->has_value());  // CHAP_N is opaque: no prefix or case folding
  auto upper = provider.find_secret(AccountQuery{"BOB", "", "", false});
  ASSERT_TRUE(upper);
  EXPECT_FALSE(upper->has_value());
}

TEST(SecretProvider, ATargetWithOnlyAProviderIsAValidConfiguration) {
  auto config =
      provider_config(std::make_shared<RecordingProvider>(RecordingProvider::Mode::answer));
  EXPECT_TRUE(validate_config(*config, *backend()));
  config->provider = nullptr;
  auto invalid = validate_config(*config, *backend());
  ASSERT_FALSE(invalid);
  EXPECT_THAT(invalid, test::ResultIs(ErrorKind::usage, ErrorCode::target_no_accounts));
}

TEST(SecretProvider, ProviderSecretAuthenticatesWithTheLoginContext) {
  for (const bool mutual : {false, true}) {
    auto provider = std::make_shared<RecordingProvider>(RecordingProvider::Mode::answer);
    const auto outcome = run(provider_config(provider), mutual);
    EXPECT_TRUE(outcome.both_succeeded)
        << (outcome.target_error ? outcome.target_error->message : "");
    EXPECT_EQ(provider->calls, 1);
    EXPECT_EQ(provider->last_chap_n, kInitiatorUser);
    EXPECT_EQ(provider->last_initiator, "iqn.1994-05.com.example:host7");
    EXPECT_EQ(provider->last_target, "iqn.2024-01.org.example:disk1");
    EXPECT_FALSE(provider->last_discovery);
  }
}

TEST(SecretProvider, AccountsAreSearchedBeforeTheProvider) {
  auto provider = std::make_shared<RecordingProvider>(RecordingProvider::Mode::fail);
  auto config = provider_config(provider);
  config->accounts.push_back(credentials(kInitiatorUser, kInitiatorSecret));
  EXPECT_TRUE(run(config).both_succeeded);
  EXPECT_EQ(provider->calls, 0);
}

TEST(SecretProvider, UnknownNameIsAnAuthenticationFailure) {
  const auto outcome =
      run(provider_config(std::make_shared<RecordingProvider>(RecordingProvider::Mode::unknown)));
  ASSERT_TRUE(outcome.target_error);
  EXPECT_THAT(outcome.target_error,
              test::ResultIs(ErrorKind::authentication, ErrorCode::unknown_user));
}

TEST(SecretProvider, FailedLookupIsAnAuthenticationFailure) {
  const auto outcome =
      run(provider_config(std::make_shared<RecordingProvider>(RecordingProvider::Mode::fail)));
  ASSERT_TRUE(outcome.target_error);
  EXPECT_THAT(outcome.target_error,
              test::ResultIs(ErrorKind::authentication, ErrorCode::secret_lookup_failed));
  // The provider's own words reach the local log.
  EXPECT_NE(outcome.target_error->message.find("store unreachable"), std::string::npos);
}

TEST(SecretProvider, WrongProvidedSecretFailsVerification) {
  const auto outcome = run(provider_config(std::make_shared<RecordingProvider>(
      RecordingProvider::Mode::answer, "another-secret-entirely")));
  ASSERT_TRUE(outcome.target_error);
  EXPECT_THAT(outcome.target_error,
              test::ResultIs(ErrorKind::authentication, ErrorCode::bad_response));
}

TEST(SecretProvider, ProvidedSecretsFollowTheRfcRules) {
  // Shorter than 12 bytes (RFC 7143 §9.2.1).
  auto short_outcome = run(provider_config(
      std::make_shared<RecordingProvider>(RecordingProvider::Mode::answer, "short")));
  ASSERT_TRUE(short_outcome.target_error);
  EXPECT_THAT(short_outcome.target_error,
              test::ResultIs(ErrorKind::policy, ErrorCode::secret_too_short));
  // The target's own secret: one secret per direction.
  auto same = run(provider_config(std::make_shared<RecordingProvider>(
      RecordingProvider::Mode::answer, std::string(kTargetSecret))));
  ASSERT_TRUE(same.target_error);
  EXPECT_THAT(same.target_error,
              test::ResultIs(ErrorKind::policy, ErrorCode::same_secret_both_directions));
}

}  // namespace
}  // namespace multichap
