// SPDX-License-Identifier: BSD-2-Clause
// Secret hygiene: wiping, constant-time comparison, a wiping allocator and the Secret type.
#ifndef MULTICHAP_AUTH_SECURE_H
#define MULTICHAP_AUTH_SECURE_H

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
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

// An allocator that zeroizes memory before handing it back to the heap (after Tink's
// SecretData). Containers of secrets and challenges use it so no copy lingers in freed memory.
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) {}  // NOLINT: implicit rebind
  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    secure_wipe(p, n * sizeof(T));
    note_wiped_bytes(n * sizeof(T));
    ::operator delete(p);
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
