// SPDX-License-Identifier: BSD-2-Clause
#include "backends/table_backend.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <vector>

#include "backends/random_pool.h"

namespace multichap {

namespace {

// The fields up to and including random() must be present; raw_* are optional.
constexpr std::size_t kRequiredSize = offsetof(multichap_backend_v1, random) + sizeof(void*);
constexpr std::size_t kRawSize = offsetof(multichap_backend_v1, raw_free) + sizeof(void*);
// ABI 1.1: the key_* functions (secrets by reference).
constexpr std::size_t kKeysSize = offsetof(multichap_backend_v1, key_list) + sizeof(void*);

int chap_a_of(Algorithm alg) {
  return static_cast<int>(algorithm_info(alg).chap_a);
}

// Random pools of the calling thread, one per backend slot. The hot path reads a trivially
// destructible thread_local array (no guard check); the owner frees the pools (wiping them)
// when the thread exits.
constexpr std::size_t kMaxSlots = 64;
struct ThreadPools {
  std::array<std::unique_ptr<RandomPool>, kMaxSlots> owned;
};
thread_local std::array<RandomPool*, kMaxSlots> t_pools{};

RandomPool* create_thread_pool(std::size_t slot) {
  thread_local ThreadPools owner;
  auto& pool = owner.owned[slot];
  if (!pool) pool = std::make_unique<RandomPool>();
  t_pools[slot] = pool.get();
  return pool.get();
}

std::atomic<std::size_t> g_next_slot{0};
constexpr std::size_t kNoSlot = ~std::size_t{0};

bool valid_name(const char* name) {
  if (name == nullptr) return false;
  const std::size_t n = std::strlen(name);
  if (n == 0 || n > 32) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

std::string text_or_empty(const char* s) {
  return s != nullptr ? std::string(s) : std::string();
}

// The raw baseline over the table's raw_* functions.
class TableRawDigest final : public RawDigest {
 public:
  TableRawDigest(const multichap_backend_v1* table, void* raw) : m_table(table), m_raw(raw) {}
  ~TableRawDigest() override { m_table->raw_free(m_raw); }
  TableRawDigest(const TableRawDigest&) = delete;
  TableRawDigest& operator=(const TableRawDigest&) = delete;
  bool digest(ByteView input, std::uint8_t* out) override {
    return m_table->raw_digest(m_raw, input.data(), input.size(), out) == MULTICHAP_BACKEND_OK;
  }

 private:
  const multichap_backend_v1* m_table;
  void* m_raw;
};

// "abc" (FIPS 180-2 appendices A.1/B.1, RFC 1321 A.5, the FIPS 202 example values), by
// algorithm_index.
constexpr std::array<const char*, kAlgorithmCount> kAbcDigests = {
    "900150983cd24fb0d6963f7d28e17f72",
    "a9993e364706816aba3e25717850c26c9cd0d89d",
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
};

std::string hex(const std::uint8_t* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

}  // namespace

static_assert(std::is_same_v<decltype(multichap_backend_v1::compute), multichap_direct_digest_fn>,
              "ChapCrypto calls a table's compute through auth/digest_part.h's type");

std::string check_table(const multichap_backend_v1* table) {
  if (table == nullptr) return "it returned no table";
  if (table->abi_major != MULTICHAP_BACKEND_ABI_MAJOR) {
    return "ABI major version " + std::to_string(table->abi_major) + ", this host speaks " +
           std::to_string(MULTICHAP_BACKEND_ABI_MAJOR);
  }
  if (table->size < kRequiredSize) {
    return "its table is " + std::to_string(table->size) + " bytes, ABI " +
           std::to_string(table->abi_major) + "." + std::to_string(table->abi_minor) +
           " needs at least " + std::to_string(kRequiredSize);
  }
  if (!valid_name(table->name)) return "its name is not 1-32 characters of [a-z0-9_-]";
  if (table->supports == nullptr || table->compute == nullptr || table->random == nullptr) {
    return "its table lacks supports, compute or random";
  }
  return {};
}

std::string check_known_answers(const TableBackend& backend) {
  static constexpr std::uint8_t kA[] = {'a'};
  static constexpr std::uint8_t kBc[] = {'b', 'c'};
  const multichap_backend_part parts[] = {{kA, sizeof(kA)}, {kBc, sizeof(kBc)}};
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (!backend.supports(info.id)) continue;
    std::array<std::uint8_t, 64> out{};
    std::size_t len = 0;
    const int rc = backend.table().compute(backend.context(), info.chap_a, parts, 2, out.data(),
                                           out.size(), &len);
    const std::string what = std::string(info.display) + " of \"abc\"";
    if (rc != MULTICHAP_BACKEND_OK) {
      return "it says it supports " + std::string(info.display) + " but fails to compute " + what +
             " (status " + std::to_string(rc) + ")";
    }
    if (len != info.digest_size) {
      return "its " + what + " is " + std::to_string(len) + " bytes, not " +
             std::to_string(info.digest_size);
    }
    if (hex(out.data(), len) != kAbcDigests[algorithm_index(info.id)]) {
      return "its " + what + " is wrong (not the published digest)";
    }
  }
  return {};
}

TableBackend::TableBackend(const multichap_backend_v1* table, void* ctx, std::string origin)
    : m_table(table),
      m_ctx(ctx),
      m_name(table->name),
      m_library_version(text_or_empty(table->library_version)),
      m_backend_version(text_or_empty(table->backend_version)),
      m_origin(std::move(origin)),
      m_has_raw(table->size >= kRawSize && table->raw_new != nullptr &&
                table->raw_digest != nullptr && table->raw_free != nullptr),
      m_has_keys(table->size >= kKeysSize && table->key_open != nullptr &&
                 table->key_close != nullptr && table->key_supports != nullptr &&
                 table->key_compute != nullptr),
      m_slot(kNoSlot) {
  if ((table->flags & MULTICHAP_BACKEND_F_SERIAL) != 0) m_serial = std::make_unique<std::mutex>();
  // A CHAP response calls the table's compute straight from ChapCrypto::digest_with_secret(),
  // unless the calls must be serialised or the backend computes with keys only (its compute
  // then refuses, and digest() says why).
  if (!m_serial && (table->flags & MULTICHAP_BACKEND_F_KEYS_ONLY) == 0) {
    set_direct_digest(DirectDigest{table->compute, ctx});
  }
}

bool TableBackend::supports(Algorithm alg) const {
  if (m_serial) {
    const std::lock_guard<std::mutex> lock(*m_serial);
    return m_table->supports(m_ctx, chap_a_of(alg)) == 1;
  }
  return m_table->supports(m_ctx, chap_a_of(alg)) == 1;
}

namespace {

// The error of a failed compute, out of the hot path.
[[gnu::cold, gnu::noinline]] Error digest_error(const std::string& name, Algorithm alg, int rc,
                                                std::size_t written, std::size_t out_size,
                                                std::size_t size) {
  if (rc == MULTICHAP_BACKEND_ERR_UNSUPPORTED) {
    return make_error(ErrorKind::backend, ErrorCode::algorithm_unavailable,
                      name + ": " + std::string(algorithm_name(alg)) + " is not available");
  }
  if (rc == MULTICHAP_BACKEND_ERR_BUFFER || (rc == MULTICHAP_BACKEND_OK && out_size < size)) {
    return make_error(ErrorKind::backend, ErrorCode::output_too_small,
                      name + ": digest output buffer too small");
  }
  if (rc == MULTICHAP_BACKEND_OK) {
    return make_error(ErrorKind::backend, ErrorCode::digest_failed,
                      name + ": reported a " + std::to_string(written) + "-byte " +
                          std::string(algorithm_name(alg)) + " digest");
  }
  return make_error(ErrorKind::backend, ErrorCode::digest_failed,
                    name + ": digest failed (status " + std::to_string(rc) + ")");
}

[[gnu::cold, gnu::noinline]] int compute_serial(std::mutex& mutex, const multichap_backend_v1& t,
                                                void* ctx, int chap_a,
                                                const multichap_backend_part* p, std::size_t n,
                                                MutableByteView out, std::size_t* written) {
  const std::lock_guard<std::mutex> lock(mutex);
  return t.compute(ctx, chap_a, p, n, out.data(), out.size(), written);
}

[[gnu::cold, gnu::noinline]] int compute_many(const TableBackend& b, std::mutex* serial, int chap_a,
                                              std::initializer_list<ByteView> parts,
                                              MutableByteView out, std::size_t* written) {
  std::vector<multichap_backend_part> many;
  many.reserve(parts.size());
  for (const ByteView part : parts)
    many.push_back(multichap_backend_part{part.data(), part.size()});
  if (serial != nullptr) {
    return compute_serial(*serial, b.table(), b.context(), chap_a, many.data(), many.size(), out,
                          written);
  }
  return b.table().compute(b.context(), chap_a, many.data(), many.size(), out.data(), out.size(),
                           written);
}

}  // namespace

Result<std::size_t> TableBackend::digest(Algorithm alg, std::initializer_list<ByteView> parts,
                                         MutableByteView out) const {
  const AlgorithmInfo& info = algorithm_info(alg);
  const int chap_a = static_cast<int>(info.chap_a);
  std::size_t written = 0;
  int rc;
  constexpr std::size_t kInline = 4;
  if (__builtin_expect(parts.size() <= kInline, 1)) {
    std::array<multichap_backend_part, kInline> p;  // NOLINT: only parts.size() used
    std::size_t n = 0;
    for (const ByteView part : parts) p[n++] = multichap_backend_part{part.data(), part.size()};
    if (__builtin_expect(m_serial == nullptr, 1)) {
      rc = m_table->compute(m_ctx, chap_a, p.data(), n, out.data(), out.size(), &written);
    } else {
      rc = compute_serial(*m_serial, *m_table, m_ctx, chap_a, p.data(), n, out, &written);
    }
  } else {
    rc = compute_many(*this, m_serial.get(), chap_a, parts, out, &written);
  }
  if (__builtin_expect(rc == MULTICHAP_BACKEND_OK && written == info.digest_size, 1)) {
    return info.digest_size;
  }
  return digest_error(m_name, alg, rc, written, out.size(), info.digest_size);
}

int TableBackend::call_random(std::uint8_t* out, std::size_t len) const {
  if (m_serial) {
    const std::lock_guard<std::mutex> lock(*m_serial);
    return m_table->random(m_ctx, out, len);
  }
  return m_table->random(m_ctx, out, len);
}

bool TableBackend::fill(void* self, MutableByteView out) {
  return static_cast<const TableBackend*>(self)->call_random(out.data(), out.size()) ==
         MULTICHAP_BACKEND_OK;
}

Result<void> TableBackend::random(MutableByteView out) const {
  bool ok = false;
  std::size_t slot = m_slot.load(std::memory_order_acquire);
  if (slot == kNoSlot) {
    std::size_t expected = kNoSlot;
    const std::size_t mine = g_next_slot.fetch_add(1);
    slot = m_slot.compare_exchange_strong(expected, mine) ? mine : expected;
  }
  if (slot < kMaxSlots) {
    RandomPool* pool = t_pools[slot];
    if (pool == nullptr) pool = create_thread_pool(slot);
    ok = pool->take(out, &TableBackend::fill, const_cast<TableBackend*>(this));
  } else {
    ok = call_random(out.data(), out.size()) == MULTICHAP_BACKEND_OK;  // beyond 64 backends
  }
  if (!ok) {
    return make_error(ErrorKind::backend, ErrorCode::random_failed,
                      m_name + ": random generator failed");
  }
  return {};
}

std::unique_ptr<RawDigest> TableBackend::raw_digest(Algorithm alg) const {
  if (!m_has_raw || !supports(alg)) return nullptr;
  void* raw = m_table->raw_new(m_ctx, chap_a_of(alg));
  if (raw == nullptr) return nullptr;
  return std::make_unique<TableRawDigest>(m_table, raw);
}

}  // namespace multichap
