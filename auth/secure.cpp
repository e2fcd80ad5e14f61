// SPDX-License-Identifier: BSD-2-Clause
// Wiping, constant-time comparison, Secret, and the secret arena under WipingAllocator.
//
// Layering note (docs/ARCHITECTURE.md, "Layers"): auth/ uses the standard library only, with one
// exception made here on purpose: the secret arena needs the POSIX memory calls mmap, munmap,
// mprotect, mlock, madvise, sysconf, getrlimit and pthread_atfork (Linux: MADV_DONTDUMP,
// MADV_WIPEONFORK). They stay inside this file; nothing else in auth/ includes a system header.
#include "auth/secure.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
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

// ---- The secret arena
// ----------------------------------------------------------------------------

#if defined(__SANITIZE_ADDRESS__)
#define MULTICHAP_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MULTICHAP_ARENA_ASAN 1
#endif
#endif
#ifndef MULTICHAP_ARENA_ASAN
#define MULTICHAP_ARENA_ASAN 0
#endif

namespace {

// Slots of 16 << k bytes, k = 0..7; larger requests get a mapping of their own.
constexpr std::size_t kClassCount = 8;
constexpr std::size_t kMinSlot = 16;
constexpr std::size_t kMaxSlot = kMinSlot << (kClassCount - 1);  // 2048
// Each region reserves this much address space (PROT_NONE, no memory behind it) and commits it a
// page at a time; its first page stays PROT_NONE (the guard before), and so does everything past
// the committed pages, at least its last page (the guard after).
constexpr std::size_t kRegionBytes = std::size_t{64} << 20;
constexpr std::size_t kMaxRegions = 16;

std::size_t class_of(std::size_t n) {
  if (n <= kMinSlot) return 0;
  // ceil(log2(n)) - 4 for 16 < n <= 2048.
  return static_cast<std::size_t>(std::numeric_limits<unsigned long>::digits -
                                  __builtin_clzl(static_cast<unsigned long>(n - 1))) -
         4;
}

struct Region {
  std::uint8_t* base = nullptr;
  std::size_t committed = 0;  // bytes after the leading guard page, committed so far
};

struct Large {
  std::uint8_t* user = nullptr;  // first byte after the leading guard page
  std::size_t bytes = 0;         // committed bytes (page multiple), guards not included
};

class Arena {
 public:
  Arena() : m_page(page_size()) {
#if MULTICHAP_ARENA_ASAN
    m_enabled.store(false, std::memory_order_relaxed);
    m_off_reason = "off (AddressSanitizer build: ASan checks the ordinary heap)";
#else
    const char* env = std::getenv("MULTICHAP_SECRET_ARENA");
    if (env != nullptr && std::strcmp(env, "off") == 0) {
      m_enabled.store(false, std::memory_order_relaxed);
      m_off_reason = "off (MULTICHAP_SECRET_ARENA=off)";
    }
#endif
    if (m_page == 0) {
      m_enabled.store(false, std::memory_order_relaxed);
      m_off_reason = "off (no page size)";
    }
  }

  void* allocate(std::size_t n) {
    if (!m_enabled.load(std::memory_order_relaxed)) return ::operator new(n);
    if (n > kMaxSlot) return allocate_large(n);
    const std::size_t k = class_of(n);
    const std::size_t size = kMinSlot << k;
    void* p = nullptr;
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      Class& c = m_classes[k];
      p = c.free;
      if (p != nullptr) {
        std::memcpy(&c.free, p, sizeof(void*));  // the next free slot (wiped in a fork child)
        std::memset(p, 0, sizeof(void*));
      } else {
        if (c.next == c.end && !take_page(c)) {
          ++m_stats.heap_fallbacks;
          p = nullptr;
        } else {
          p = c.next;
          c.next += size;
        }
      }
      if (p != nullptr) {
        m_stats.bytes_in_use += size;
        ++m_stats.allocations;
      }
    }
    deliver_log();
    return p != nullptr
               ? p
               : ::operator new(n);  // the arena is full or cannot map: still wiped on free
  }

  void free(void* p, std::size_t n) noexcept {
    if (p == nullptr) return;
    if (n <= kMaxSlot) {
      if (!in_regions(p)) {
        ::operator delete(p);
        return;
      }
      const std::size_t k = class_of(n);
      const std::lock_guard<std::mutex> lock(m_mutex);
      Class& c = m_classes[k];
      std::memcpy(p, &c.free, sizeof(void*));
      c.free = p;
      m_stats.bytes_in_use -= kMinSlot << k;
      return;
    }
    free_large(p, n);
  }

  bool contains(const void* p) {
    if (in_regions(p)) return true;
    const std::lock_guard<std::mutex> lock(m_mutex);
    const auto* b = static_cast<const std::uint8_t*>(p);
    return std::any_of(m_large.begin(), m_large.end(),
                       [&](const Large& l) { return b >= l.user && b < l.user + l.bytes; });
  }

  SecretArenaStats stats() {
    const std::lock_guard<std::mutex> lock(m_mutex);
    return stats_locked();
  }

  std::string status() {
    SecretArenaStats s;
    std::string off_reason;
    std::string lock_error;
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      s = stats_locked();
      off_reason = m_off_reason;
      lock_error = m_lock_error;
    }
    if (!s.enabled && s.allocations == 0) return "secret arena: " + off_reason;
    std::string line = s.enabled ? "secret arena: on" : "secret arena: " + off_reason;
    if (s.lock_failures != 0) {
      line += ", NOT LOCKED (" + lock_error + "): secrets may be swapped to disk";
    }
    line += ", " + std::to_string(s.bytes_mapped) + " bytes mapped, " +
            std::to_string(s.bytes_locked) + " locked, " + std::to_string(s.bytes_in_use) +
            " in use";
    if (s.heap_fallbacks != 0) {
      line += ", " + std::to_string(s.heap_fallbacks) + " allocations on the ordinary heap";
    }
    return line;
  }

  bool set_enabled(bool on) {
    if (MULTICHAP_ARENA_ASAN != 0 || m_page == 0) return false;
    const std::lock_guard<std::mutex> lock(m_mutex);
    const bool before = m_enabled.exchange(on, std::memory_order_relaxed);
    m_off_reason = "off (switched off)";
    return before;
  }

  void set_log(std::function<void(const std::string&)> sink) {
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      m_log = std::move(sink);
      if (!m_pending_log.empty()) m_log_due.store(true, std::memory_order_relaxed);
    }
    deliver_log();
  }

  // fork(): no other thread may hold the mutex while the child is made (it would stay locked in
  // the child, whose only thread is the forking one).
  void lock_for_fork() {
    m_mutex.lock();
  }
  void unlock_after_fork() {
    m_mutex.unlock();
  }

 private:
  SecretArenaStats stats_locked() const {
    SecretArenaStats s = m_stats;
    s.enabled = m_enabled.load(std::memory_order_relaxed);
    s.asan_build = MULTICHAP_ARENA_ASAN != 0;
    return s;
  }

  struct Class {
    void* free = nullptr;          // singly linked through the first word of each free slot
    std::uint8_t* next = nullptr;  // the unused rest of the class's newest page
    std::uint8_t* end = nullptr;
  };

  static std::size_t page_size() {
    const long page = ::sysconf(_SC_PAGESIZE);
    return page > 0 ? static_cast<std::size_t>(page) : 0;
  }

  bool in_regions(const void* p) const {
    const auto* b = static_cast<const std::uint8_t*>(p);
    const std::size_t count = m_region_count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint8_t* base = m_region_base[i].load(std::memory_order_relaxed);
      if (b >= base && b < base + kRegionBytes) return true;
    }
    return false;
  }

  // Locks, excludes from dumps and marks wipe-on-fork bytes just made readable; counts them.
  // Called with m_mutex held.
  void protect(void* p, std::size_t bytes) {
    (void)::madvise(p, bytes, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
    (void)::madvise(p, bytes, MADV_WIPEONFORK);
#endif
    m_stats.bytes_mapped += bytes;
    if (::mlock(p, bytes) == 0) {
      m_stats.bytes_locked += bytes;
      return;
    }
    const int err = errno;
    ++m_stats.lock_failures;
    if (m_lock_error.empty()) {
      struct rlimit limit {};
      std::string why = std::string("mlock: ") + std::strerror(err);
      if (::getrlimit(RLIMIT_MEMLOCK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        why += "; RLIMIT_MEMLOCK is " + std::to_string(limit.rlim_cur) + " bytes";
      }
      m_lock_error = why;
      m_pending_log = "secret arena: cannot lock secret memory (" + why +
                      "): secrets may be swapped to disk; they stay out of core dumps and are "
                      "wiped when freed (logged once)";
      m_log_due.store(true, std::memory_order_relaxed);
    }
  }

  // Hands the pending line to the sink, outside the mutex (a sink may allocate anything).
  void deliver_log() {
    if (!m_log_due.load(std::memory_order_relaxed)) return;
    std::string line;
    std::function<void(const std::string&)> sink;
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      m_log_due.store(false, std::memory_order_relaxed);
      if (!m_log) return;  // the line waits in m_pending_log for set_log()
      line.swap(m_pending_log);
      sink = m_log;
    }
    if (!line.empty()) sink(line);
  }

  void unprotect_count(std::size_t bytes, bool locked) {
    m_stats.bytes_mapped -= bytes;
    if (locked) m_stats.bytes_locked -= bytes;
  }

  // Commits one more page for class c from the newest region (or a new region). m_mutex held.
  bool take_page(Class& c) {
    std::size_t count = m_region_count.load(std::memory_order_relaxed);
    Region* r = count != 0 ? &m_regions[count - 1] : nullptr;
    // Leave at least the region's last page as the guard after.
    if (r == nullptr || r->committed + 3 * m_page > kRegionBytes) {
      if (count == kMaxRegions) return false;
      void* base = ::mmap(nullptr, kRegionBytes, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (base == MAP_FAILED) return false;
      (void)::madvise(base, kRegionBytes, MADV_DONTDUMP);
      m_regions[count].base = static_cast<std::uint8_t*>(base);
      m_regions[count].committed = 0;
      m_region_base[count].store(m_regions[count].base, std::memory_order_relaxed);
      m_region_count.store(count + 1, std::memory_order_release);
      r = &m_regions[count];
    }
    std::uint8_t* page = r->base + m_page + r->committed;
    if (::mprotect(page, m_page, PROT_READ | PROT_WRITE) != 0) return false;
    r->committed += m_page;
    protect(page, m_page);
    c.next = page;
    c.end = page + m_page;
    return true;
  }

  void* map_large(std::size_t n) {
    const std::size_t bytes = (n + m_page - 1) / m_page * m_page;
    const std::size_t total = bytes + 2 * m_page;
    void* base = ::mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    auto* user = static_cast<std::uint8_t*>(base) + m_page;
    if (::mprotect(user, bytes, PROT_READ | PROT_WRITE) != 0) {
      ::munmap(base, total);
      throw std::bad_alloc();
    }
    (void)::madvise(base, total, MADV_DONTDUMP);
    const std::lock_guard<std::mutex> lock(m_mutex);
    const std::uint64_t locked_before = m_stats.bytes_locked;
    protect(user, bytes);
    try {
      m_large.push_back(Large{user, bytes});
    } catch (...) {
      unprotect_count(bytes, m_stats.bytes_locked != locked_before);
      ::munmap(base, total);
      throw;
    }
    m_large_locked.push_back(m_stats.bytes_locked != locked_before);
    m_stats.bytes_in_use += bytes;
    ++m_stats.allocations;
    return user;
  }

  void* allocate_large(std::size_t n) {
    void* p = map_large(n);
    deliver_log();
    return p;
  }

  void free_large(void* p, std::size_t n) noexcept {
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      for (std::size_t i = 0; i < m_large.size(); ++i) {
        if (m_large[i].user != p) continue;
        const std::size_t bytes = m_large[i].bytes;
        unprotect_count(bytes, m_large_locked[i]);
        m_stats.bytes_in_use -= bytes;
        m_large[i] = m_large.back();
        m_large.pop_back();
        m_large_locked[i] = m_large_locked.back();
        m_large_locked.pop_back();
        ::munmap(static_cast<std::uint8_t*>(p) - m_page, bytes + 2 * m_page);  // also unlocks
        return;
      }
    }
    (void)n;
    ::operator delete(p);  // allocated while the arena was off
  }

  const std::size_t m_page;
  std::atomic<bool> m_enabled{true};
  std::string m_off_reason = "off";
  std::mutex m_mutex;
  std::array<Class, kClassCount> m_classes{};
  std::array<Region, kMaxRegions> m_regions{};
  // The region bases again, read without the mutex by in_regions(): set before m_region_count
  // is raised (release), never changed after.
  std::array<std::atomic<std::uint8_t*>, kMaxRegions> m_region_base{};
  std::atomic<std::size_t> m_region_count{0};
  std::vector<Large> m_large;
  std::vector<bool> m_large_locked;
  SecretArenaStats m_stats;
  std::string m_lock_error;
  std::string m_pending_log;
  std::atomic<bool> m_log_due{false};
  std::function<void(const std::string&)> m_log;
};

void arena_prepare_fork();
void arena_after_fork();

Arena& arena() {
  // Never destroyed: Secrets in static objects are freed during static teardown.
  static Arena* const instance = [] {
    auto* a = new Arena;
    (void)::pthread_atfork(&arena_prepare_fork, &arena_after_fork, &arena_after_fork);
    return a;
  }();
  return *instance;
}

void arena_prepare_fork() {
  arena().lock_for_fork();
}
void arena_after_fork() {
  arena().unlock_after_fork();
}

}  // namespace

void* secret_arena_allocate(std::size_t n) {
  return arena().allocate(n == 0 ? 1 : n);
}

void secret_arena_free(void* p, std::size_t n) noexcept {
  arena().free(p, n == 0 ? 1 : n);
}

bool secret_arena_contains(const void* p) {
  return arena().contains(p);
}

SecretArenaStats secret_arena_stats() {
  return arena().stats();
}

std::string secret_arena_status() {
  return arena().status();
}

void set_secret_arena_log(std::function<void(const std::string& line)> sink) {
  arena().set_log(std::move(sink));
}

bool set_secret_arena_enabled(bool enabled) {
  return arena().set_enabled(enabled);
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
