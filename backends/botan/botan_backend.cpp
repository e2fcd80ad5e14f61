// SPDX-License-Identifier: BSD-2-Clause
#include "backends/botan/botan_backend.h"

#include <botan/chacha_rng.h>
#include <botan/exceptn.h>
#include <botan/hash.h>
#include <botan/system_rng.h>
#include <botan/version.h>

#include <array>
#include <exception>
#include <memory>

#include "backends/random_pool.h"

namespace multichap {

namespace {

// One row per algorithm, in kAlgorithms order: Botan's name for it (HashFunction::create).
struct BotanAlgorithm {
  Algorithm id;
  const char* name;
};
constexpr std::array<BotanAlgorithm, kAlgorithmCount> kBotanAlgorithms = {{
    {Algorithm::md5, "MD5"},
    {Algorithm::sha1, "SHA-160"},
    {Algorithm::sha256, "SHA-256"},
    {Algorithm::sha3_256, "SHA-3(256)"},
}};
static_assert(in_algorithm_order(kBotanAlgorithms),
              "kBotanAlgorithms: one row per Algorithm, in enum order");

constexpr const char* botan_name(Algorithm alg) {
  return kBotanAlgorithms[algorithm_index(alg)].name;
}

// Hash objects of the calling thread, created on first use and reused afterwards. The hot path
// reads a trivially destructible thread_local array (no guard check); a separate owner frees
// the objects when the thread exits.
struct ThreadHashes {
  std::array<std::unique_ptr<Botan::HashFunction>, kAlgorithmCount> owned;
};
thread_local std::array<Botan::HashFunction*, kAlgorithmCount> t_hashes{};

Botan::HashFunction* create_thread_hash(Algorithm alg) {
  thread_local ThreadHashes owner;
  auto& hash = owner.owned[algorithm_index(alg)];
  if (!hash) hash = Botan::HashFunction::create(botan_name(alg));
  t_hashes[algorithm_index(alg)] = hash.get();
  return hash.get();
}

inline Botan::HashFunction* thread_hash(Algorithm alg) {
  Botan::HashFunction* hash = t_hashes[algorithm_index(alg)];
  return hash != nullptr ? hash : create_thread_hash(alg);
}

// The calling thread's random bytes: a ChaCha_RNG seeded from the system RNG (getrandom), which
// Botan itself reseeds from it after fork() and every BOTAN_RNG_DEFAULT_RESEED_INTERVAL calls,
// read 1 KiB at a time into a pool (backends/random_pool.h) that hands each byte out once.
struct ThreadRandom {
  std::unique_ptr<Botan::ChaCha_RNG> rng;
  RandomPool pool;
};
thread_local ThreadRandom* t_random = nullptr;

ThreadRandom& thread_random() {
  if (t_random == nullptr) {
    thread_local ThreadRandom owner;  // pool wiped, generator state freed at thread exit
    t_random = &owner;
  }
  return *t_random;
}

bool chacha_fill(void* context, MutableByteView out) {
  auto& state = *static_cast<ThreadRandom*>(context);
  try {
    if (!state.rng) state.rng = std::make_unique<Botan::ChaCha_RNG>(Botan::system_rng());
    state.rng->randomize(out.data(), out.size());
    return true;
  } catch (const std::exception&) {
    state.rng.reset();  // a fresh seed on the next attempt
    return false;
  }
}

class BotanBackend final : public HashBackend {
 public:
  BotanBackend() {
    for (const BotanAlgorithm& row : kBotanAlgorithms) {
      const std::size_t index = algorithm_index(row.id);
      try {
        const auto probe = Botan::HashFunction::create(row.name);
        m_supported[index] = probe && probe->output_length() == digest_size(row.id);
      } catch (const std::exception&) {
        m_supported[index] = false;
      }
    }
  }

  std::string_view name() const override { return "botan"; }
  std::string version() const override { return Botan::version_string(); }
  bool supports(Algorithm alg) const override { return m_supported[algorithm_index(alg)]; }

  Result<std::size_t> digest(Algorithm alg, std::initializer_list<ByteView> parts,
                             MutableByteView out) const override {
    const std::size_t size = digest_size(alg);
    if (__builtin_expect(!supports(alg) || out.size() < size, 0)) return refuse(alg);
    Botan::HashFunction* hash = nullptr;
    try {
      hash = thread_hash(alg);
      if (hash == nullptr)
        return make_error(ErrorKind::backend, ErrorCode::digest_failed,
                          "botan: cannot create hash object");
      for (const ByteView& part : parts) hash->update(part.data(), part.size());
      hash->final(out.data());
      return size;
    } catch (const std::exception& e) {
      if (hash != nullptr) hash->clear();
      return make_error(ErrorKind::backend, ErrorCode::digest_failed,
                        std::string("botan: digest failed: ") + e.what());
    }
  }

  Result<void> random(MutableByteView out) const override {
    ThreadRandom& state = thread_random();
    if (!state.pool.take(out, &chacha_fill, &state)) {
      return make_error(ErrorKind::backend, ErrorCode::random_failed,
                        "botan: random generator failed");
    }
    return {};
  }

 private:
  [[gnu::cold]] Result<std::size_t> refuse(Algorithm alg) const {
    if (!supports(alg)) {
      return make_error(ErrorKind::backend, ErrorCode::algorithm_unavailable,
                        "botan: " + std::string(algorithm_name(alg)) + " is not available");
    }
    return make_error(ErrorKind::backend, ErrorCode::output_too_small,
                      "botan: digest output buffer too small");
  }

  std::array<bool, kAlgorithmCount> m_supported{};  // by algorithm_index()
};

// The raw baseline: one HashFunction, reused.
class BotanRawDigest final : public RawDigest {
 public:
  explicit BotanRawDigest(std::unique_ptr<Botan::HashFunction> hash) : m_hash(std::move(hash)) {}
  bool digest(ByteView input, std::uint8_t* out) override {
    try {
      m_hash->update(input.data(), input.size());
      m_hash->final(out);
      return true;
    } catch (const std::exception&) {
      m_hash->clear();
      return false;
    }
  }

 private:
  std::unique_ptr<Botan::HashFunction> m_hash;
};

}  // namespace

std::unique_ptr<RawDigest> make_botan_raw_digest(Algorithm alg) {
  try {
    auto hash = Botan::HashFunction::create(botan_name(alg));
    if (!hash) return nullptr;
    return std::make_unique<BotanRawDigest>(std::move(hash));
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::shared_ptr<const HashBackend> make_botan_backend() {
  static const std::shared_ptr<const HashBackend> backend = std::make_shared<BotanBackend>();
  return backend;
}

}  // namespace multichap
