// SPDX-License-Identifier: BSD-2-Clause
// CHAP operations per backend x algorithm: computing a response with chap_response(), verifying
// one (compute + constant_time_equal), and generating a challenge (HashBackend::random of 32
// bytes, and the ChapTarget step that issues CHAP_A/CHAP_I/CHAP_C). Response and verify are
// paired with the raw library doing the same digest over the same three parts.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "auth/chap.h"
#include "auth/secure.h"
#include "backends/hash_backend.h"
#include "backends/key_store.h"
#include "bench/bench_util.h"
#include "bench/chap_fixtures.h"
#include "bench/raw_baselines.h"
#include "bench/suites.h"

namespace multichap::bench {

namespace {

constexpr std::uint8_t kIdentifier = 0x2a;

// The inputs of one CHAP response: identifier, a 16-byte secret (as a Secret for ours, as plain
// bytes for raw), and a challenge.
struct ResponseInputs {
  explicit ResponseInputs(std::size_t challenge_size)
      : secret_bytes(filled_bytes(kSecretBytes, 2)),
        secret(Secret::from_bytes(secret_bytes)),
        challenge(filled_bytes(challenge_size, 3)) {}
  std::size_t bytes() const { return 1 + secret_bytes.size() + challenge.size(); }

  std::array<std::uint8_t, 1> id{kIdentifier};
  Bytes secret_bytes;
  Secret secret;
  Bytes challenge;
};

template <typename Raw>
void register_response(const std::shared_ptr<const HashBackend>& backend, Algorithm alg) {
  for (const std::size_t challenge_size : kChallengeSizes) {
    const std::string param = std::to_string(challenge_size);

    benchmark::RegisterBenchmark(
        bench_name("chap_response", "ours", backend->name(), algorithm_name(alg), param).c_str(),
        [backend, alg, challenge_size](benchmark::State& state) {
          Raw raw(alg);
          if (!raw.ok()) return state.SkipWithError("raw baseline unavailable");
          const ResponseInputs in(challenge_size);
          std::array<std::uint8_t, kMaxDigestSize> out{};
          bool failed = false;
          run_paired(
              state, block_for_bytes(in.bytes()),
              [&] {
                const auto r =
                    chap_response(*backend, alg, kIdentifier, in.secret, in.challenge, out);
                failed |= !r.has_value();
                benchmark::DoNotOptimize(out.data());
                benchmark::ClobberMemory();
              },
              [&] {
                raw.digest(out.data(), ByteView(in.id), ByteView(in.secret_bytes),
                           ByteView(in.challenge));
                benchmark::DoNotOptimize(out.data());
                benchmark::ClobberMemory();
              });
          if (failed) return state.SkipWithError("chap_response failed");
          state.SetItemsProcessed(state.iterations());
        });

    benchmark::RegisterBenchmark(
        bench_name("chap_verify", "ours", backend->name(), algorithm_name(alg), param).c_str(),
        [backend, alg, challenge_size](benchmark::State& state) {
          Raw raw(alg);
          if (!raw.ok()) return state.SkipWithError("raw baseline unavailable");
          const ResponseInputs in(challenge_size);
          const std::size_t n = digest_size(alg);
          std::array<std::uint8_t, kMaxDigestSize> received{};
          raw.digest(received.data(), ByteView(in.id), ByteView(in.secret_bytes),
                     ByteView(in.challenge));
          std::array<std::uint8_t, kMaxDigestSize> expected{};
          bool failed = false;
          run_paired(
              state, block_for_bytes(in.bytes()),
              [&] {
                const auto r =
                    chap_response(*backend, alg, kIdentifier, in.secret, in.challenge, expected);
                failed |= !r.has_value() || !constant_time_equal(ByteView(expected.data(), n),
                                                                 ByteView(received.data(), n));
              },
              [&] {
                raw.digest(expected.data(), ByteView(in.id), ByteView(in.secret_bytes),
                           ByteView(in.challenge));
                failed |= !Raw::equal(expected.data(), received.data(), n);
              });
          if (failed) return state.SkipWithError("verification failed");
          state.SetItemsProcessed(state.iterations());
        });
  }
}

template <typename Raw>
void register_random(const std::shared_ptr<const HashBackend>& backend) {
  benchmark::RegisterBenchmark(
      bench_name("challenge_random", "ours", backend->name(), "", "32").c_str(),
      [backend](benchmark::State& state) {
        std::array<std::uint8_t, kDefaultChallengeBytes> challenge{};
        bool failed = false;
        run_paired(
            state, 1024,
            [&] {
              failed |= !backend->random(challenge).has_value();
              benchmark::DoNotOptimize(challenge.data());
              benchmark::ClobberMemory();
            },
            [&] {
              Raw::random(challenge.data(), challenge.size());
              benchmark::DoNotOptimize(challenge.data());
              benchmark::ClobberMemory();
            });
        if (failed) return state.SkipWithError("HashBackend::random failed");
        state.SetItemsProcessed(state.iterations());
      });
}

// chap_response() through the dlopen'ed plugin, timed by the framework, paired with the same
// backend's code linked into this binary (bench/linked_in.cpp) in interleaved blocks: ratio =
// plugin / linked in, for a 16-byte challenge (33 bytes hashed). Both go through the same
// TableBackend adapter, so the ratio isolates what being a plugin costs (the loader's code
// layout, position-independent code, TLS of a dlopen'ed object).
void register_plugin_vs_static(const std::shared_ptr<const HashBackend>& plugin,
                               const std::shared_ptr<const HashBackend>& linked, Algorithm alg) {
  constexpr std::size_t kChallenge = kChallengeSizes[0];
  const std::string name = bench_name("plugin_vs_static", "ours", plugin->name(),
                                      algorithm_name(alg), std::to_string(kChallenge));
  benchmark::RegisterBenchmark(name.c_str(), [plugin, linked, alg](benchmark::State& state) {
    const ResponseInputs in(kChallenge);
    std::array<std::uint8_t, kMaxDigestSize> out{};
    bool failed = false;
    auto response = [&](const HashBackend& backend) {
      const auto r = chap_response(backend, alg, kIdentifier, in.secret, in.challenge, out);
      failed |= !r.has_value();
      benchmark::DoNotOptimize(out.data());
      benchmark::ClobberMemory();
    };
    run_paired(
        state, block_for_bytes(in.bytes()), [&] { response(*plugin); }, [&] { response(*linked); });
    if (failed) return state.SkipWithError("chap_response failed");
    // run_paired's names for its two sides, renamed for this row.
    if (state.counters.count("ours_ns") != 0) {
      state.counters["plugin_ns"] = state.counters["ours_ns"];
      state.counters["static_ns"] = state.counters["raw_ns"];
      state.counters.erase("ours_ns");
      state.counters.erase("raw_ns");
    }
    state.SetItemsProcessed(state.iterations());
  });
}

// reset() + AuthMethod=CHAP + CHAP_A=N: the target's work up to issuing CHAP_A/CHAP_I/CHAP_C
// (one 1-byte and one 32-byte random draw, hex encoding, key lists).
void register_target_challenge(const std::shared_ptr<const HashBackend>& backend, Algorithm alg) {
  benchmark::RegisterBenchmark(
      bench_name("challenge_target", "ours", backend->name(), algorithm_name(alg)).c_str(),
      [backend, alg](benchmark::State& state) {
        auto target = ChapTarget::create(bench_target_config(alg), backend);
        if (!target) return state.SkipWithError(target.error().message.c_str());
        const KeyList auth_method{{"AuthMethod", "CHAP"}};
        const KeyList offer{{"CHAP_A", std::to_string(*chap_a_number(alg))}};
        bool failed = false;
        for (auto _ : state) {
          (*target)->reset();
          failed |= !(*target)->step(auth_method).has_value();
          const auto challenge = (*target)->step(offer);
          failed |= !challenge.has_value() || !challenge->contains("CHAP_C");
          benchmark::DoNotOptimize(challenge);
        }
        if (failed) return state.SkipWithError("target did not issue a challenge");
        state.SetItemsProcessed(state.iterations());
      });
}

// CHAP responses with the secret in a PKCS#11 token (the pkcs11 backend, e.g. SoftHSM2) against
// the same algorithm with the secret in memory on OpenSSL, in one run: token_response rows, wall
// time (a hardware token spends its time outside this process), on 1 and 2 threads (each thread
// takes its own session from the key's pool). Registered only when MULTICHAP_BENCH_PKCS11_URI
// names a key (bench/token_bench.sh makes a SoftHSM2 token and runs them).
void register_token_benchmarks() {
  const char* uri = std::getenv("MULTICHAP_BENCH_PKCS11_URI");
  if (uri == nullptr || *uri == '\0') return;
  auto key = secret_from_reference(uri);
  if (!key) {
    std::fprintf(stderr, "token benchmarks skipped: %s\n", key.error().message.c_str());
    return;
  }
  auto openssl = make_backend("openssl");
  if (!openssl) return;
  auto shared_key = std::make_shared<const Secret>(std::move(key).value());
  constexpr std::size_t kChallenge = 32;
  for (const Algorithm alg : {Algorithm::sha1, Algorithm::sha256}) {
    if (!shared_key->reference()->supports(alg)) continue;
    for (const bool in_token : {true, false}) {
      const std::string name = bench_name("token_response", "ours", in_token ? "pkcs11" : "openssl",
                                          algorithm_name(alg), std::to_string(kChallenge));
      benchmark::RegisterBenchmark(
          name.c_str(),
          [shared_key, backend = *openssl, alg, in_token](benchmark::State& state) {
            const ResponseInputs in(kChallenge);
            const Secret& secret = in_token ? *shared_key : in.secret;
            std::array<std::uint8_t, kMaxDigestSize> out{};
            bool failed = false;
            for (auto _ : state) {
              const auto r = chap_response(*backend, alg, kIdentifier, secret, in.challenge, out);
              failed |= !r.has_value();
              benchmark::DoNotOptimize(out.data());
            }
            if (failed) return state.SkipWithError("chap_response failed");
            state.SetItemsProcessed(state.iterations());
          })
          ->UseRealTime()
          ->Threads(1)
          ->Threads(2);
    }
  }
}

}  // namespace

void register_chap_benchmarks() {
  register_token_benchmarks();
  for (const std::string& name : bench_backends()) {
    auto backend = make_backend(name);
    if (!backend) continue;
    with_raw_baseline(name, [&](auto tag) {
      using Raw = typename decltype(tag)::type;
      for (const auto& info : kAlgorithms) {
        if ((*backend)->supports(info.id)) register_response<Raw>(*backend, info.id);
      }
      register_random<Raw>(*backend);
    });
    for (const auto& info : kAlgorithms) {
      if ((*backend)->supports(info.id)) register_target_challenge(*backend, info.id);
    }
    if (library_of(name) != name) continue;
    auto linked = make_backend(name + std::string(kLinkedInSuffix));
    if (!linked) continue;
    for (const auto& info : kAlgorithms) {
      if ((*backend)->supports(info.id) && (*linked)->supports(info.id)) {
        register_plugin_vs_static(*backend, *linked, info.id);
      }
    }
  }
}

}  // namespace multichap::bench
