// SPDX-License-Identifier: BSD-2-Clause
#include "backends/random_pool.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "auth/secure.h"

namespace multichap {

namespace {

std::atomic<pid_t> g_pid{0};
std::atomic<RandomPoolTap> g_tap{nullptr};

void refresh_pid() {
  g_pid.store(getpid(), std::memory_order_relaxed);
}

// Registers the fork handler once, before the first pid is read.
bool install_fork_handler() {
  refresh_pid();
  (void)pthread_atfork(nullptr, nullptr, &refresh_pid);
  return true;
}

void tap(ByteView generated) {
  if (const RandomPoolTap t = g_tap.load(std::memory_order_relaxed)) t(generated);
}

}  // namespace

pid_t cached_process_id() {
  static const bool installed = install_fork_handler();
  (void)installed;
  return g_pid.load(std::memory_order_relaxed);
}

void set_random_pool_tap_for_testing(RandomPoolTap t) {
  g_tap.store(t, std::memory_order_relaxed);
}

RandomPool::RandomPool() : m_state(&m_inline) {
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || static_cast<std::size_t>(page) < sizeof(State)) return;
  void* p = mmap(nullptr, static_cast<std::size_t>(page), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;  // the in-object state and the pid check remain
#ifdef MADV_WIPEONFORK
  if (madvise(p, static_cast<std::size_t>(page), MADV_WIPEONFORK) == 0) {
    // The bytes of challenges not drawn yet: out of core dumps and, where RLIMIT_MEMLOCK allows,
    // out of swap, like the secret arena (auth/secure.h). Both are best effort.
    (void)madvise(p, static_cast<std::size_t>(page), MADV_DONTDUMP);
    (void)mlock(p, static_cast<std::size_t>(page));
    m_page = p;
    m_state = static_cast<State*>(p);  // zero-filled by mmap: an empty pool
    m_wipe_on_fork = true;
    return;
  }
#endif
  munmap(p, static_cast<std::size_t>(page));
}

RandomPool::~RandomPool() {
  discard();
  if (m_page != nullptr) munmap(m_page, static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
}

void RandomPool::discard() {
  secure_wipe(m_state->bytes, kBytes);
  m_state->available = 0;
}

bool RandomPool::refill(Fill fill, void* context) {
  m_state->pid = cached_process_id();
  if (!fill(context, MutableByteView(m_state->bytes, kBytes))) {
    discard();
    return false;
  }
  tap(ByteView(m_state->bytes, kBytes));
  m_state->available = kBytes;
  return true;
}

bool RandomPool::take(MutableByteView out, Fill fill, void* context) {
  // A child of fork() starts with a copy of its parent's pool: throw it away unused.
  if (m_state->available > 0 && m_state->pid != cached_process_id()) discard();
  std::uint8_t* dst = out.data();
  std::size_t need = out.size();
  while (need > 0) {
    if (m_state->available == 0) {
      if (need >= kBytes) {  // a large rest: straight from the generator, not via the pool
        if (!fill(context, MutableByteView(dst, need))) break;
        tap(ByteView(dst, need));
        return true;
      }
      if (!refill(fill, context)) break;
    }
    const std::size_t n = std::min(need, m_state->available);
    std::uint8_t* src = unused();
    std::memcpy(dst, src, n);
    secure_wipe(src, n);  // handed out once: no copy stays behind
    m_state->available -= n;
    dst += n;
    need -= n;
  }
  if (need == 0) return true;
  secure_wipe(out.data(), out.size());
  return false;
}

}  // namespace multichap
