// SPDX-License-Identifier: BSD-2-Clause
// A whole mutual CHAP login, in memory: ChapInitiator and ChapTarget hand each other their
// KeyLists directly (no PDUs, no sockets), so the rate is the authentication work alone:
// 2 challenges, 2 responses, 2 verifications each with the reflection check (6 digests),
// value encoding and decoding, key lists. Reported as items_per_second = logins per second.
#include <memory>
#include <string>

#include "auth/chap.h"
#include "backends/hash_backend.h"
#include "bench/bench_util.h"
#include "bench/chap_fixtures.h"
#include "bench/suites.h"

namespace multichap::bench {

namespace {

// One login from reset to both sides succeeded; false on any failure.
bool login_once(ChapInitiator& initiator, ChapTarget& target) {
  initiator.reset();
  target.reset();
  auto to_target = initiator.step(KeyList{});  // AuthMethod=CHAP
  for (int round = 0; round < 4 && to_target; ++round) {
    // Target: AuthMethod=CHAP, then CHAP_A/I/C, then CHAP_N/R (mutual), then nothing more.
    auto to_initiator = target.step(*to_target);
    if (!to_initiator) return false;
    to_target = initiator.step(*to_initiator);
    if (initiator.status() == AuthStatus::succeeded) break;
  }
  return to_target.has_value() && initiator.status() == AuthStatus::succeeded &&
         target.status() == AuthStatus::succeeded;
}

void register_login(const std::shared_ptr<const HashBackend>& backend, Algorithm alg) {
  benchmark::RegisterBenchmark(
      bench_name("login_inmemory", "ours", backend->name(), algorithm_name(alg)).c_str(),
      [backend, alg](benchmark::State& state) {
        auto initiator = ChapInitiator::create(bench_initiator_config(alg), backend);
        if (!initiator) return state.SkipWithError(initiator.error().message.c_str());
        auto target = ChapTarget::create(bench_target_config(alg), backend);
        if (!target) return state.SkipWithError(target.error().message.c_str());
        bool ok = true;
        for (auto _ : state) ok &= login_once(**initiator, **target);
        if (!ok || !(*target)->mutual()) return state.SkipWithError("login failed");
        state.SetItemsProcessed(state.iterations());
      });
}

}  // namespace

void register_exchange_benchmarks() {
  for (const std::string& name : bench_backends()) {
    auto backend = make_backend(name);
    if (!backend) continue;
    for (const auto& info : kAlgorithms) {
      if ((*backend)->supports(info.id)) register_login(*backend, info.id);
    }
  }
}

}  // namespace multichap::bench
