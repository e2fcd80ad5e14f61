// SPDX-License-Identifier: BSD-2-Clause
#include "auth/secure.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "auth/encoding.h"

namespace multichap {

namespace {

// The wiped-byte counter is per thread: a locked add on one shared counter for every wipe cost a
// few percent of a login and made threads contend for one cache line. wiped_byte_count() adds
// the live threads' counters to what ended threads (and wipes after a thread's counter was
// destroyed) left in g_retired.
std::atomic<std::uint64_t> g_retired{0};

struct LiveCounters {
  std::mutex mutex;
  std::vector<const std::atomic<std::uint64_t>*> counters;
};
LiveCounters& live_counters() {
  static auto* live = new LiveCounters;  // never destroyed: threads may exit during static teardown
  return *live;
}

struct ThreadCounter;
thread_local std::atomic<std::uint64_t>* t_counter = nullptr;  // trivially destructible
thread_local bool t_counter_gone = false;

struct ThreadCounter {
  std::atomic<std::uint64_t> count{0};
  ThreadCounter() {
    const std::lock_guard<std::mutex> lock(live_counters().mutex);
    live_counters().counters.push_back(&count);
  }
  ~ThreadCounter() {
    const std::lock_guard<std::mutex> lock(live_counters().mutex);
    auto& list = live_counters().counters;
    list.erase(std::remove(list.begin(), list.end(), &count), list.end());
    g_retired.fetch_add(count.load(std::memory_order_relaxed), std::memory_order_relaxed);
    t_counter = nullptr;
    t_counter_gone = true;
  }
  ThreadCounter(const ThreadCounter&) = delete;
  ThreadCounter& operator=(const ThreadCounter&) = delete;
};

std::atomic<std::uint64_t>* thread_counter() {
  if (t_counter == nullptr && !t_counter_gone) {
    thread_local ThreadCounter owner;
    t_counter = &owner.count;
  }
  return t_counter;
}

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
  const std::lock_guard<std::mutex> lock(live_counters().mutex);
  std::uint64_t total = g_retired.load(std::memory_order_relaxed);
  for (const auto* counter : live_counters().counters) {
    total += counter->load(std::memory_order_relaxed);
  }
  return total;
}
void note_wiped_bytes(std::size_t n) {
  if (std::atomic<std::uint64_t>* counter = thread_counter()) {
    // Only this thread writes its counter: a plain load and store, no locked instruction.
    counter->store(counter->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return;
  }
  g_retired.fetch_add(n, std::memory_order_relaxed);
}

void wipe(SecureBytes& bytes) {
  bytes.resize(bytes.capacity());
  secure_wipe(bytes.data(), bytes.size());
  note_wiped_bytes(bytes.size());
  bytes.clear();
}

Secret::Secret(Secret&& other) noexcept
    : m_bytes(std::move(other.m_bytes)), m_reference(std::move(other.m_reference)) {
  other.clear();
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    clear();
    m_bytes = std::move(other.m_bytes);
    m_reference = std::move(other.m_reference);
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
    return make_error(ErrorKind::usage, ErrorCode::secret_encoding,
                      "secret is not a valid 0x/0b binary value: " +
                          std::string(error_kind_name(decoded.error().kind)));
  }
  Secret s;
  s.m_bytes = std::move(decoded).value();
  return s;
}

}  // namespace multichap
