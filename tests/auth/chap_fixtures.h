// SPDX-License-Identifier: BSD-2-Clause
// Helpers of the CHAP tests: a loop that drives an initiator and a target against each other in
// memory, and text-segment builders. Identities and configurations: tests/support/identities.h.
#ifndef MULTICHAP_TESTS_AUTH_CHAP_FIXTURES_H
#define MULTICHAP_TESTS_AUTH_CHAP_FIXTURES_H

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/chap.h"
#include "tests/support/identities.h"

namespace multichap::test {

inline std::unique_ptr<ChapInitiator> make_initiator(std::shared_ptr<const ChapInitiatorConfig> c,
                                                     std::shared_ptr<const ChapCrypto> crypto) {
  auto r = ChapInitiator::create(std::move(c), std::move(crypto));
  if (!r) return nullptr;
  return std::move(r).value();
}

inline std::unique_ptr<ChapTarget> make_target(std::shared_ptr<const ChapTargetConfig> c,
                                               std::shared_ptr<const ChapCrypto> crypto) {
  auto r = ChapTarget::create(std::move(c), std::move(crypto));
  if (!r) return nullptr;
  return std::move(r).value();
}

// What happened when an initiator and a target were run against each other.
struct ExchangeOutcome {
  std::optional<Error> initiator_error;  // the initiator's failure, if it failed
  std::optional<Error> target_error;     // the target's failure, if it failed
  std::vector<KeyList> to_target;        // every key set the initiator sent
  std::vector<KeyList> to_initiator;     // every key set the target sent (incl. reject keys)
  bool both_succeeded = false;
};

// Passes keys back and forth until both sides succeed or one fails. A target failure's
// reject_keys() (if any) are still delivered to the initiator, as the login engine would send
// them with status 0x0201.
inline ExchangeOutcome run_exchange(ChapInitiator& initiator, ChapTarget& target) {
  ExchangeOutcome out;
  auto first = initiator.step(KeyList{});
  if (!first) {
    out.initiator_error = first.error();
    return out;
  }
  KeyList to_target = std::move(first).value();
  for (int round = 0; round < 8; ++round) {
    out.to_target.push_back(to_target);
    auto from_target = target.step(to_target);
    if (!from_target) {
      out.target_error = from_target.error();
      if (!target.reject_keys().empty()) {
        out.to_initiator.push_back(target.reject_keys());
        auto r = initiator.step(target.reject_keys());
        if (!r) out.initiator_error = r.error();
      }
      return out;
    }
    out.to_initiator.push_back(*from_target);
    auto from_initiator = initiator.step(*from_target);
    if (!from_initiator) {
      out.initiator_error = from_initiator.error();
      return out;
    }
    if (initiator.status() == AuthStatus::succeeded && target.status() == AuthStatus::succeeded &&
        from_initiator->empty()) {
      out.both_succeeded = true;
      return out;
    }
    to_target = std::move(from_initiator).value();
  }
  return out;
}

// "k1=v1\0k2=v2\0": a text segment from pairs written as "key=value".
inline std::string segment(std::initializer_list<std::string_view> pairs) {
  std::string out;
  for (const auto pair : pairs) {
    out += pair;
    out += '\0';
  }
  return out;
}

inline std::string hex_of_size(std::size_t bytes, char digit = '0') {
  return "0x" + std::string(bytes * 2, digit);
}

}  // namespace multichap::test

#endif  // MULTICHAP_TESTS_AUTH_CHAP_FIXTURES_H
