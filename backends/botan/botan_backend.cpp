// SPDX-License-Identifier: BSD-2-Clause
// The Botan 2 backend: one HashFunction per algorithm and thread, created on first use and
// reused; a per-thread ChaCha_RNG seeded from the system RNG for challenges. Behind the backend
// ABI (multichap/backend.h): built as the plugin botan.so, or linked in
// (MULTICHAP_STATIC_BACKENDS=botan). Botan is BSD-2-Clause.
#include <botan/chacha_rng.h>
#include <botan/exceptn.h>
#include <botan/hash.h>
#include <botan/system_rng.h>
#include <botan/version.h>

#include <array>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "backends/plugin_support.h"
#include "multichap/backend.h"

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
MULTICHAP_HOT_TLS thread_local std::array<Botan::HashFunction*, kAlgorithmCount> t_hashes{};

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

// The calling thread's random generator: a ChaCha_RNG seeded from the system RNG (getrandom),
// which Botan itself reseeds from it after fork() and every BOTAN_RNG_DEFAULT_RESEED_INTERVAL
// calls. (The host draws from it 1 KiB at a time into a pool that hands each byte out once.)
thread_local Botan::ChaCha_RNG* t_rng = nullptr;
struct ThreadRng {
  std::unique_ptr<Botan::ChaCha_RNG> rng;
};

bool chacha_fill(std::uint8_t* out, std::size_t len) {
  thread_local ThreadRng owner;  // generator state freed at thread exit
  try {
    if (t_rng == nullptr) {
      owner.rng = std::make_unique<Botan::ChaCha_RNG>(Botan::system_rng());
      t_rng = owner.rng.get();
    }
    t_rng->randomize(out, len);
    return true;
  } catch (const std::exception&) {
    t_rng = nullptr;  // a fresh seed on the next attempt
    owner.rng.reset();
    return false;
  }
}

// The algorithms Botan computes here (by algorithm_index), decided once at init.
struct BotanBackend {
  std::array<bool, kAlgorithmCount> supported{};
};

int botan_init(const multichap_backend_host* host, void** ctx) {
  auto* b = new (std::nothrow) BotanBackend();
  if (b == nullptr) return MULTICHAP_BACKEND_ERR_INIT;
  for (const BotanAlgorithm& row : kBotanAlgorithms) {
    const std::size_t index = algorithm_index(row.id);
    try {
      const auto probe = Botan::HashFunction::create(row.name);
      b->supported[index] = probe && probe->output_length() == digest_size(row.id);
    } catch (const std::exception&) {
      b->supported[index] = false;
    }
    if (!b->supported[index]) {
      const std::string line =
          std::string(algorithm_info(row.id).display) + " is not available in this Botan";
      backend_log(host, MULTICHAP_BACKEND_LOG_INFO, line.c_str());
    }
  }
  *ctx = b;
  return MULTICHAP_BACKEND_OK;
}

void botan_shutdown(void* ctx) {
  delete static_cast<BotanBackend*>(ctx);
}

int botan_supports(void* ctx, int chap_a) {
  const AlgorithmInfo* info = algorithm_of_chap_a(chap_a);
  return info != nullptr && static_cast<BotanBackend*>(ctx)->supported[algorithm_index(info->id)]
             ? 1
             : 0;
}

int botan_compute(void* ctx, int chap_a, const multichap_backend_part* parts, std::size_t nparts,
                  std::uint8_t* out, std::size_t out_cap, std::size_t* out_len) {
  const AlgorithmInfo* info = algorithm_of_chap_a(chap_a);
  if (info == nullptr || !static_cast<BotanBackend*>(ctx)->supported[algorithm_index(info->id)])
    return MULTICHAP_BACKEND_ERR_UNSUPPORTED;
  if (out_cap < info->digest_size) return MULTICHAP_BACKEND_ERR_BUFFER;
  Botan::HashFunction* hash = nullptr;
  try {
    hash = thread_hash(info->id);
    if (hash == nullptr) return MULTICHAP_BACKEND_ERR_FAILED;
    for (std::size_t i = 0; i < nparts; ++i) hash->update(parts[i].data, parts[i].len);
    hash->final(out);
    *out_len = info->digest_size;
    return MULTICHAP_BACKEND_OK;
  } catch (const std::exception&) {
    if (hash != nullptr) hash->clear();
    return MULTICHAP_BACKEND_ERR_FAILED;
  }
}

int botan_random(void*, std::uint8_t* out, std::size_t len) {
  return chacha_fill(out, len) ? MULTICHAP_BACKEND_OK : MULTICHAP_BACKEND_ERR_FAILED;
}

// The raw baseline: one HashFunction, reused.
void* botan_raw_new(void*, int chap_a) {
  const AlgorithmInfo* info = algorithm_of_chap_a(chap_a);
  if (info == nullptr) return nullptr;
  try {
    return Botan::HashFunction::create(botan_name(info->id)).release();
  } catch (const std::exception&) {
    return nullptr;
  }
}

int botan_raw_digest(void* raw, const std::uint8_t* in, std::size_t len, std::uint8_t* out) {
  auto* hash = static_cast<Botan::HashFunction*>(raw);
  try {
    hash->update(in, len);
    hash->final(out);
    return MULTICHAP_BACKEND_OK;
  } catch (const std::exception&) {
    hash->clear();
    return MULTICHAP_BACKEND_ERR_FAILED;
  }
}

void botan_raw_free(void* raw) {
  delete static_cast<Botan::HashFunction*>(raw);
}

}  // namespace

}  // namespace multichap

extern "C" const multichap_backend_v1* multichap_backend_botan_entry(
    const multichap_backend_host* host) {
  using namespace multichap;  // NOLINT(google-build-using-namespace): the table's functions
  if (host == nullptr || host->abi_major != MULTICHAP_BACKEND_ABI_MAJOR) return nullptr;
  static const std::string version = Botan::version_string();
  static const multichap_backend_v1 table = {
      MULTICHAP_BACKEND_ABI_MAJOR,
      MULTICHAP_BACKEND_ABI_MINOR,
      sizeof(multichap_backend_v1),
      "botan",
      "1.0",
      version.c_str(),
      0,
      &botan_init,
      &botan_shutdown,
      &botan_supports,
      &botan_compute,
      &botan_random,
      &botan_raw_new,
      &botan_raw_digest,
      &botan_raw_free,
      nullptr,  // key_open ... key_list (ABI 1.1): no secrets by reference
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
  };
  return &table;
}
