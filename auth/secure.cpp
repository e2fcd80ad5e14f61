#include "auth/secure.h"

#include <atomic>
#include <cstring>

#include "auth/encoding.h"

namespace multichap {

namespace {
std::atomic<std::uint64_t> g_wiped{0};
}  // namespace

void secure_wipe(void* p, std::size_t n) {
  if (n == 0) return;
  std::memset(p, 0, n);
  // The asm statement claims to read the memory at p, so the memset above is not a dead store
  // the optimizer may drop (the technique of glibc's explicit_bzero and BoringSSL's
  // OPENSSL_cleanse); a word-wide memset instead of a volatile byte loop.
#if defined(__GNUC__)
  __asm__ __volatile__("" : : "r"(p) : "memory");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

bool constant_time_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  // OR together the XOR of every byte, eight at a time; no branch depends on the contents.
  std::uint64_t diff = 0;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
  }
  for (; i < a.size(); ++i) diff |= static_cast<std::uint64_t>(a[i] ^ b[i]);
#if defined(__GNUC__)
  __asm__("" : "+r"(diff));  // hide the value from the optimizer: no early exit can be derived
#endif
  return diff == 0;
}

std::uint64_t wiped_byte_count() {
  return g_wiped.load(std::memory_order_relaxed);
}
void note_wiped_bytes(std::size_t n) {
  g_wiped.fetch_add(n, std::memory_order_relaxed);
}

void wipe(SecureBytes& bytes) {
  bytes.resize(bytes.capacity());
  secure_wipe(bytes.data(), bytes.size());
  note_wiped_bytes(bytes.size());
  bytes.clear();
}

Secret::Secret(Secret&& other) noexcept : m_bytes(std::move(other.m_bytes)) {
  other.clear();
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    clear();
    m_bytes = std::move(other.m_bytes);
    other.clear();
  }
  return *this;
}

Secret::~Secret() {
  clear();
}

Secret Secret::from_text(std::string_view text) {
  return from_bytes(ByteView(text));
}

Secret Secret::from_bytes(ByteView bytes) {
  Secret s;
  s.m_bytes.assign(bytes.begin(), bytes.end());
  return s;
}

Result<Secret> Secret::from_encoded(std::string_view encoded) {
  auto decoded = decode_binary(encoded, kMaxBinaryValueBytes);
  if (!decoded) {
    return make_error(ErrorKind::usage, "secret is not a valid 0x/0b binary value: " +
                                            std::string(error_kind_name(decoded.error().kind)));
  }
  Secret s;
  s.m_bytes = std::move(decoded).value();
  return s;
}

}  // namespace multichap
