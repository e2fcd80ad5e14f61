// SPDX-License-Identifier: BSD-2-Clause
// Secret hygiene: wiping, constant-time comparison, a wiping allocator and the Secret type.
#ifndef MULTICHAP_AUTH_SECURE_H
#define MULTICHAP_AUTH_SECURE_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "auth/bytes.h"
#include "auth/result.h"

namespace multichap {

class KeyReference;  // auth/key_reference.h

// Overwrites n bytes at p with zeros in a way the optimizer may not remove.
void secure_wipe(void* p, std::size_t n);

// Wipes a buffer the caller owns (a stack array holding a digest, a response or secret bytes)
// when the guard goes out of scope, on every return path: declare it right after the buffer.
// Owns nothing; the buffer must outlive the guard (declaring it after the buffer ensures that).
class ScopedWipe {
 public:
  ScopedWipe(void* p, std::size_t n) : m_p(p), m_n(n) {}
  // Every element of a contiguous container (std::array, a C array), as it is sized now.
  template <typename Container>
  explicit ScopedWipe(Container& c)
      : ScopedWipe(std::data(c), std::size(c) * sizeof(*std::data(c))) {}
  ~ScopedWipe() { secure_wipe(m_p, m_n); }
  ScopedWipe(const ScopedWipe&) = delete;
  ScopedWipe& operator=(const ScopedWipe&) = delete;

 private:
  void* m_p;
  std::size_t m_n;
};

// True when a and b have the same length and content. The time taken depends only on the
// lengths, never on where the contents differ.
bool constant_time_equal(ByteView a, ByteView b);

// Total bytes wiped by WipingAllocator since start-up; lets tests prove buffers were wiped.
std::uint64_t wiped_byte_count();
void note_wiped_bytes(std::size_t n);

// ---- The secret arena (auth/secure.cpp) -------------------------------------------------------
//
// Where WipingAllocator takes its memory: pages that are locked in RAM (mlock, so never swapped),
// left out of core dumps (MADV_DONTDUMP), zeroed by the kernel in a fork() child
// (MADV_WIPEONFORK) and fenced by PROT_NONE guard pages before and after each mapping, after
// libsodium's sodium_malloc, OpenSSL's secure heap and Botan's mlock_allocator. Requests up to
// 2048 bytes take a slot of a fixed size class (16, 32, ... 2048) carved from pages committed one
// at a time inside a reserved region; larger ones get a mapping of their own. Thread-safe (one
// mutex); a slot is never handed out twice while in use; callers wipe before freeing
// (WipingAllocator does).
//
// When mlock fails (RLIMIT_MEMLOCK) the arena still works, unlocked, counts it and says so once
// through the log set with set_secret_arena_log(). The arena is off, and memory comes from the
// ordinary heap, when MULTICHAP_SECRET_ARENA=off is in the environment at the first allocation,
// after set_secret_arena_enabled(false), in an AddressSanitizer build (ASan must see every
// allocation to find overflows) and where mmap fails. Memory keeps its home when the switch
// changes: each free goes back where its allocation came from.
struct SecretArenaStats {
  bool enabled = false;              // new allocations go to the arena
  bool asan_build = false;           // the arena is off because this is an ASan build
  std::uint64_t bytes_in_use = 0;    // handed out now (slot or mapping sizes)
  std::uint64_t bytes_mapped = 0;    // pages committed for secrets (guard pages not counted)
  std::uint64_t bytes_locked = 0;    // of bytes_mapped, locked in RAM
  std::uint64_t lock_failures = 0;   // mlock calls that failed
  std::uint64_t heap_fallbacks = 0;  // allocations served by the ordinary heap while enabled
  std::uint64_t allocations = 0;     // allocations served by the arena since start-up
};
SecretArenaStats secret_arena_stats();

// One line for logs and `multichap algorithms`, e.g. "secret arena: on, 8192 bytes mapped, 8192
// locked, 96 in use" or "secret arena: on, NOT LOCKED (mlock: Cannot allocate memory; raise
// RLIMIT_MEMLOCK) ...", or "secret arena: off (MULTICHAP_SECRET_ARENA=off)".
std::string secret_arena_status();

// Where the arena says, once per process, that locking failed. If that happened before a sink was
// set, the line goes to the sink when it is set. nullptr: no sink.
void set_secret_arena_log(std::function<void(const std::string& line)> sink);

// Process-wide switch for new allocations (benchmarks compare both; tests). Returns the previous
// state. Has no effect in an ASan build (always off there).
bool set_secret_arena_enabled(bool enabled);

// Raw interface under WipingAllocator: n > 0 bytes aligned for any fundamental type, or throws
// std::bad_alloc. secret_arena_free takes the n given to secret_arena_allocate; it does not wipe.
void* secret_arena_allocate(std::size_t n);
void secret_arena_free(void* p, std::size_t n) noexcept;

// Tests: whether p lies in memory of the arena (a slot page or a large mapping).
bool secret_arena_contains(const void* p);

// An allocator that zeroizes memory before handing it back (after Tink's SecretData), over the
// secret arena. Containers of secrets and challenges use it so no copy lingers in freed memory,
// in a core file or in swap.
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) {}  // NOLINT: implicit rebind
  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(secret_arena_allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    secure_wipe(p, n * sizeof(T));
    note_wiped_bytes(n * sizeof(T));
    secret_arena_free(p, n * sizeof(T));
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const WipingAllocator<U>&) const {
    return false;
  }
};

using SecureBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

// Zeroizes the contents (the whole capacity) of a buffer and empties it.
void wipe(SecureBytes& bytes);

// A CHAP secret. Move-only; its bytes live in wiping memory and are wiped when it is destroyed
// or moved from. It cannot be printed (no operator<<) and compares in constant time. The bytes
// are reachable only through bytes(), which backends use to compute responses.
class Secret {
 public:
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  // The secret is the exact bytes of text (what iSCSI tools call the "password").
  static Secret from_text(std::string_view text);
  static Secret from_bytes(ByteView bytes);
  // Parses an iSCSI binary value (0x... hex or 0b... base64); fails with a usage error.
  static Result<Secret> from_encoded(std::string_view encoded);

  // A secret held by reference (a key in a token, auth/key_reference.h): its bytes never enter
  // this process. bytes() is then empty; digests over it are computed where it lives
  // (ChapCrypto::digest_with_secret).
  static Secret from_reference(std::shared_ptr<const KeyReference> reference) {
    Secret s;
    s.m_reference = std::move(reference);
    return s;
  }
  // The reference, or nullptr for a secret held as bytes.
  const KeyReference* reference() const { return m_reference.get(); }
  const std::shared_ptr<const KeyReference>& shared_reference() const { return m_reference; }
  // Another handle on the same secret: the bytes copied (into wiping memory), or the reference
  // shared.
  Secret clone() const {
    Secret s = from_bytes(bytes());
    s.m_reference = m_reference;
    return s;
  }

  ByteView bytes() const { return ByteView(m_bytes.data(), m_bytes.size()); }
  std::size_t size() const { return m_bytes.size(); }
  bool empty() const { return m_bytes.empty() && !m_reference; }
  // Secrets held as bytes: the same bytes. With a reference on either side, only the same
  // reference is equal (the bytes are out of reach: same_secret() in auth/chap_config.h
  // compares what two secrets are).
  bool equals(const Secret& other) const {
    if (m_reference || other.m_reference) return m_reference == other.m_reference;
    return constant_time_equal(bytes(), other.bytes());
  }
  // Wipes and empties the secret (and drops its reference).
  void clear() {
    wipe(m_bytes);
    m_reference.reset();
  }

  friend std::ostream& operator<<(std::ostream&, const Secret&) = delete;

 private:
  SecureBytes m_bytes;
  std::shared_ptr<const KeyReference> m_reference;
};

}  // namespace multichap

#endif  // MULTICHAP_AUTH_SECURE_H
