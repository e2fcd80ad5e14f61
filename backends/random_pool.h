// SPDX-License-Identifier: BSD-2-Clause
// RandomPool: a small per-thread buffer of random bytes drawn in bulk from a crypto library's own
// generator, so that a 32-byte challenge costs a copy instead of a generator call (whose cost is
// almost all per call: OpenSSL's RAND_bytes re-keys its DRBG on every call, Botan's system RNG is
// a getrandom() system call).
//
// Rules (issue 13):
//   - the bytes come from the library's generator only (OpenSSL: RAND_bytes, so a FIPS
//     provider's DRBG stays the source; Botan: a per-thread ChaCha_RNG seeded from system_rng);
//   - every byte is handed out once and wiped in the pool as it is handed out;
//   - the pool is discarded (wiped, refilled) when the process id changed since it was filled
//     (a fork() child never reuses its parent's bytes; where the kernel offers it the pool also
//     lives in a MADV_WIPEONFORK page, which a child sees zeroed, i.e. empty, however it was
//     created) and wiped when its thread exits; that page is also left out of core dumps
//     (MADV_DONTDUMP) and locked in memory when RLIMIT_MEMLOCK allows;
//   - the part of a request that would not fit a pool goes straight to the generator.
// Each backend owns one pool per thread (see backends/*/..._backend.cpp); the pools of two
// backends never share bytes.
#ifndef MULTICHAP_BACKENDS_RANDOM_POOL_H
#define MULTICHAP_BACKENDS_RANDOM_POOL_H

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "auth/bytes.h"

namespace multichap {

// The id of the calling process, kept current across fork() (a pthread_atfork child handler
// refreshes it), read without a system call.
pid_t cached_process_id();

class RandomPool {
 public:
  static constexpr std::size_t kBytes = 1024;
  // Fills a buffer from the library's generator; false on failure (out is then unspecified).
  using Fill = bool (*)(void* context, MutableByteView out);

  RandomPool();
  ~RandomPool();
  RandomPool(const RandomPool&) = delete;
  RandomPool& operator=(const RandomPool&) = delete;

  // Writes out.size() random bytes: first what is left in the pool, then from refills; a rest
  // of a pool's size or more comes directly from fill. The bytes handed out are the
  // generator's stream in order, each byte once. False when fill failed; out is wiped then.
  bool take(MutableByteView out, Fill fill, void* context);

  // Wipes the pool's bytes and marks it empty.
  void discard();

  std::size_t available() const { return m_state->available; }
  // The whole buffer, for tests that check handed-out bytes were wiped.
  ByteView bytes_for_testing() const { return ByteView(m_state->bytes, kBytes); }
  // Whether the kernel zeroes the pool in a fork() child (MADV_WIPEONFORK, Linux 4.14+), a
  // second line of defence behind the process id check.
  bool wipes_on_fork() const { return m_wipe_on_fork; }

 private:
  // The unused bytes are the last `available` of `bytes`; the rest are zero. A page the kernel
  // zeroes in a child reads as an empty pool there.
  struct State {
    std::size_t available;
    pid_t pid;
    std::uint8_t bytes[kBytes];
  };

  bool refill(Fill fill, void* context);
  std::uint8_t* unused() { return m_state->bytes + (kBytes - m_state->available); }

  State* m_state;          // m_page when mapped, else &m_inline
  void* m_page = nullptr;  // an mmap'd page marked MADV_WIPEONFORK, or null
  bool m_wipe_on_fork = false;
  State m_inline{};
};

// Test hook: when set, called with every block of bytes the generator produced for a pool
// (refills and direct draws) before any of it is handed out, so a test can check that the
// bytes handed out are exactly that stream, each byte once. Never set outside tests: it sees
// the random bytes. Not thread-safe to change while pools are in use.
using RandomPoolTap = void (*)(ByteView generated);
void set_random_pool_tap_for_testing(RandomPoolTap tap);

}  // namespace multichap

#endif  // MULTICHAP_BACKENDS_RANDOM_POOL_H
