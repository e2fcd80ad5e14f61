// SPDX-License-Identifier: BSD-2-Clause
#include "auth/secret_provider.h"

#include <algorithm>

namespace multichap {

Result<std::optional<Secret>> InMemorySecretProvider::find_secret(const AccountQuery& query) const {
  const auto it = std::find_if(m_accounts.begin(), m_accounts.end(),
                               [&](const ChapCredentials& a) { return a.name == query.chap_n; });
  if (it == m_accounts.end()) return std::optional<Secret>();
  return std::optional<Secret>(it->secret.clone());
}

}  // namespace multichap
