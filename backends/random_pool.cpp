#include "backends/random_pool.h"

#include <pthread.h>
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

RandomPool::~RandomPool() {
  discard();
}

void RandomPool::discard() {
  secure_wipe(m_bytes.data(), m_bytes.size());
  m_used = kBytes;
}

bool RandomPool::refill(Fill fill, void* context) {
  m_pid = cached_process_id();
  if (!fill(context, MutableByteView(m_bytes.data(), m_bytes.size()))) {
    discard();
    return false;
  }
  tap(ByteView(m_bytes.data(), m_bytes.size()));
  m_used = 0;
  return true;
}

bool RandomPool::take(MutableByteView out, Fill fill, void* context) {
  // A child of fork() starts with a copy of its parent's pool: throw it away unused.
  if (m_used < kBytes && m_pid != cached_process_id()) discard();
  std::uint8_t* dst = out.data();
  std::size_t need = out.size();
  while (need > 0) {
    if (m_used == kBytes) {
      if (need >= kBytes) {  // a large rest: straight from the generator, not via the pool
        if (!fill(context, MutableByteView(dst, need))) break;
        tap(ByteView(dst, need));
        return true;
      }
      if (!refill(fill, context)) break;
    }
    const std::size_t n = std::min(need, kBytes - m_used);
    std::memcpy(dst, m_bytes.data() + m_used, n);
    secure_wipe(m_bytes.data() + m_used, n);  // handed out once: no copy stays behind
    m_used += n;
    dst += n;
    need -= n;
  }
  if (need == 0) return true;
  secure_wipe(out.data(), out.size());
  return false;
}

}  // namespace multichap
