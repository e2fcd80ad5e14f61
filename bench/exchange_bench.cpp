// SPDX-License-Identifier: BSD-2-Clause
// A whole mutual CHAP login, in memory: ChapInitiator and ChapTarget hand each other their
// KeyLists directly (no PDUs, no sockets), so the rate is the authentication work alone:
// 2 challenges, 2 responses, 2 verifications each with the reflection check (6 digests),
// value encoding and decoding, key lists. Reported as items_per_second = logins per second.
//
// The same login through the C API (capi_exchange: a multichap_initiator and a
// multichap_target_login passing text buffers; the C API's sources are compiled into this
// binary, bench/CMakeLists.txt, so that the switch below reaches its allocations too).
//
// Each is registered twice: "ours" with the secret arena (auth/secure.h) and "arena-off" with
// new allocations on the ordinary heap (set_secret_arena_enabled(false) for the benchmark's
// duration): the cost of the arena, as two rows of one run.
#include <multichap/multichap.h>

#include <array>
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

// Switches the secret arena for one benchmark and back.
class ArenaSwitch {
 public:
  explicit ArenaSwitch(bool on) : m_before(set_secret_arena_enabled(on)) {}
  ~ArenaSwitch() { set_secret_arena_enabled(m_before); }
  ArenaSwitch(const ArenaSwitch&) = delete;
  ArenaSwitch& operator=(const ArenaSwitch&) = delete;

 private:
  bool m_before;
};

const char* impl_name(bool arena) {
  return arena ? "ours" : "arena-off";
}

void register_login(const std::shared_ptr<const HashBackend>& backend, Algorithm alg, bool arena) {
  benchmark::RegisterBenchmark(
      bench_name("login_inmemory", impl_name(arena), backend->name(), algorithm_name(alg)).c_str(),
      [backend, alg, arena](benchmark::State& state) {
        const ArenaSwitch use_arena(arena);
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

// One mutual login through the C API: a fresh target login, the initiator rewound, text
// buffers passed until both sides succeeded.
bool capi_login_once(multichap_initiator* ini, const multichap_target_config* cfg) {
  multichap_target_login* login = nullptr;
  if (multichap_target_login_new(cfg, "iqn.2026-01.org.example:bench-initiator", &login) !=
      MULTICHAP_OK) {
    return false;
  }
  multichap_initiator_rewind(ini);
  std::array<char, 2048> to_target{};
  std::array<char, 2048> to_initiator{};
  std::size_t n = 0;
  bool ok = multichap_initiator_step(ini, nullptr, 0, to_target.data(), to_target.size(), &n) ==
            MULTICHAP_OK;
  for (int round = 0; ok && round < 4; ++round) {
    std::size_t m = 0;
    ok = multichap_target_login_step(login, to_target.data(), n, to_initiator.data(),
                                     to_initiator.size(), &m) == MULTICHAP_OK;
    if (!ok) break;
    ok = multichap_initiator_step(ini, to_initiator.data(), m, to_target.data(), to_target.size(),
                                  &n) == MULTICHAP_OK;
    if (multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED) break;
  }
  ok = ok && multichap_initiator_state(ini) == MULTICHAP_SUCCEEDED &&
       multichap_target_login_state(login) == MULTICHAP_SUCCEEDED &&
       multichap_target_login_mutual(login) == 1;
  multichap_target_login_free(login);
  return ok;
}

void register_capi_exchange(const std::string& backend_name, Algorithm alg, bool arena) {
  benchmark::RegisterBenchmark(
      bench_name("capi_exchange", impl_name(arena), backend_name, algorithm_name(alg)).c_str(),
      [backend_name, alg, arena](benchmark::State& state) {
        const ArenaSwitch use_arena(arena);
        const multichap_backend* b = nullptr;
        if (multichap_backend_open(backend_name.c_str(), &b) != MULTICHAP_OK) {
          return state.SkipWithError(multichap_last_error());
        }
        const int chap_a[] = {static_cast<int>(algorithm_info(alg).chap_a)};
        const Bytes secret = filled_bytes(kSecretBytes, 11);
        const Bytes target_secret = filled_bytes(kSecretBytes, 12);
        multichap_initiator* ini = nullptr;
        multichap_target_config* cfg = nullptr;
        const bool made =
            multichap_initiator_new(b, &ini) == MULTICHAP_OK &&
            multichap_initiator_set_credentials(ini, "iqn.2026-01.org.example:bench-initiator",
                                                secret.data(), secret.size()) == MULTICHAP_OK &&
            multichap_initiator_set_target_credentials(ini, "iqn.2026-01.org.example:bench-target",
                                                       target_secret.data(),
                                                       target_secret.size()) == MULTICHAP_OK &&
            multichap_initiator_set_algorithms(ini, chap_a, 1) == MULTICHAP_OK &&
            multichap_target_config_new(b, &cfg) == MULTICHAP_OK &&
            multichap_target_config_add_account(cfg, "iqn.2026-01.org.example:bench-initiator",
                                                secret.data(), secret.size()) == MULTICHAP_OK &&
            multichap_target_config_set_credentials(cfg, "iqn.2026-01.org.example:bench-target",
                                                    target_secret.data(),
                                                    target_secret.size()) == MULTICHAP_OK &&
            multichap_target_config_set_algorithms(cfg, chap_a, 1) == MULTICHAP_OK;
        bool ok = made;
        if (made) {
          for (auto _ : state) ok &= capi_login_once(ini, cfg);
        }
        multichap_initiator_free(ini);
        multichap_target_config_free(cfg);
        if (!ok) return state.SkipWithError("C API exchange failed");
        state.SetItemsProcessed(state.iterations());
      });
}

}  // namespace

void register_exchange_benchmarks() {
  for (const std::string& name : bench_backends()) {
    auto backend = make_backend(name);
    if (!backend) continue;
    for (const auto& info : kAlgorithms) {
      if (!(*backend)->supports(info.id)) continue;
      for (const bool arena : {true, false}) register_login(*backend, info.id, arena);
      if (name.find("-static") != std::string::npos) continue;  // the C API opens by name
      for (const bool arena : {true, false}) register_capi_exchange(name, info.id, arena);
    }
  }
}

}  // namespace multichap::bench
