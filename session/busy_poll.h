// SPDX-License-Identifier: BSD-2-Clause
// When an event-loop thread of the target polls instead of sleeping (TargetOptions::busy_poll).
//
// After each burst of work a loop thread may keep polling for a short window before it sleeps:
// the next request of a login under way, a round trip later, is then read at once instead of
// after the wake-up of a sleeping thread (and, on a virtual machine, of a halted vCPU), which at
// one login at a time costs more than the login's own work. That only pays while the peer answers
// within the window. When the cores are busy (other work, or initiators on the same host), the
// poller takes the CPU the peer needs to answer, and the window runs out. Measured on 2 vCPUs at
// one login at a time: on the quiet machine about 34 windows found work for each that ran out,
// and polling made 3.6k logins/s against 2.1k without it; beside one CPU hog about one window in
// two ran out, and polling made 6.5k logins/s against 9.1k without it.
//
// So each loop keeps a credit: a window that finds work earns one (up to kMaxCredit), one that
// runs out costs kMissCost, and the loop polls only while the credit is positive, that is while
// windows find work at least kMissCost times as often as they run out. A loop that stopped
// polling tries again, with kProbeCredit, kProbeInterval later, so it resumes once the cores are
// free; probing by time rather than per wake-up keeps what the probes cost on a busy machine
// small (one window per 20 ms: 0.25 % of a core). No clock inside: time is an input.
#ifndef MULTICHAP_SESSION_BUSY_POLL_H
#define MULTICHAP_SESSION_BUSY_POLL_H

#include <algorithm>
#include <chrono>

namespace multichap {

class BusyPollGovernor {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kMaxCredit = 16;
  static constexpr int kMissCost = 4;
  static constexpr int kProbeCredit = 4;
  static constexpr std::chrono::milliseconds kProbeInterval{20};

  // window: how long to poll after a burst (0: never poll).
  explicit BusyPollGovernor(std::chrono::microseconds window) : m_window(window) {}

  // Whether to poll after a burst of work that ended at now.
  bool should_poll(Clock::time_point now) {
    if (m_window.count() <= 0) return false;
    if (m_credit > 0) return true;
    if (now < m_next_probe) return false;
    m_credit = kProbeCredit;
    return true;
  }
  // A poll window found work (and starts again).
  void found_work() { m_credit = std::min(m_credit + 1, kMaxCredit); }
  // A poll window ran out at now without finding work.
  void ran_out(Clock::time_point now) {
    m_credit -= kMissCost;
    if (m_credit <= 0) m_next_probe = now + kProbeInterval;
  }
  bool polling() const { return m_window.count() > 0 && m_credit > 0; }
  std::chrono::microseconds window() const { return m_window; }

 private:
  std::chrono::microseconds m_window;
  int m_credit = kMaxCredit;
  Clock::time_point m_next_probe{};
};

}  // namespace multichap

#endif  // MULTICHAP_SESSION_BUSY_POLL_H
