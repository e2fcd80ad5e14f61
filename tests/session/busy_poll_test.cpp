// SPDX-License-Identifier: BSD-2-Clause
// BusyPollGovernor (session/busy_poll.h): polling goes on while poll windows find work, stops
// when they run out as often as the busy machine of the measurements made them, and is tried
// again by time. Time is an input: no clock, no sleeping.
#include "session/busy_poll.h"

#include <gtest/gtest.h>

namespace multichap {
namespace {

using Governor = BusyPollGovernor;
using std::chrono::microseconds;
using std::chrono::milliseconds;

const Governor::Clock::time_point kStart{};

// Feeds n rounds of (hits windows finding work, then one running out), one round per
// microsecond-spaced burst; returns how many of those rounds polled.
int rounds_polled(Governor& g, int rounds, int hits, Governor::Clock::time_point& now) {
  int polled = 0;
  for (int r = 0; r < rounds; ++r) {
    now += microseconds(100);
    if (!g.should_poll(now)) continue;
    ++polled;
    for (int h = 0; h < hits; ++h) g.found_work();
    g.ran_out(now);
  }
  return polled;
}

TEST(BusyPoll, ZeroWindowNeverPolls) {
  Governor g(microseconds(0));
  EXPECT_FALSE(g.should_poll(kStart));
  EXPECT_FALSE(g.should_poll(kStart + milliseconds(1000)));
  EXPECT_FALSE(g.polling());
}

TEST(BusyPoll, KeepsPollingWhileWindowsFindWork) {
  // The quiet machine: about 34 windows found work for each that ran out.
  Governor g(microseconds(50));
  auto now = kStart;
  EXPECT_EQ(rounds_polled(g, 1000, 34, now), 1000);
  // Down to the break-even point: kMissCost hits per window that runs out.
  EXPECT_EQ(rounds_polled(g, 1000, Governor::kMissCost, now), 1000);
  EXPECT_TRUE(g.polling());
}

TEST(BusyPoll, StopsWhenWindowsRunOutAsOftenAsTheyFindWork) {
  // The busy machine: one window in two ran out.
  Governor g(microseconds(50));
  auto now = kStart;
  // From full credit, (16 + 1) / 3 rounds at most before it stops.
  const int polled = rounds_polled(g, 1000, 1, now);
  EXPECT_GE(polled, 5);
  // Only the first rounds and then one probe per 20 ms: 1,000 rounds of 100 us are 100 ms.
  EXPECT_LE(polled, 6 + 5 * 3);
  EXPECT_FALSE(g.polling());
}

TEST(BusyPoll, ProbesAgainAfterTheIntervalAndResumesWhenItPays) {
  Governor g(microseconds(50));
  auto now = kStart;
  for (int i = 0; i < 10; ++i) g.ran_out(now);  // nothing found: polling stops
  EXPECT_FALSE(g.polling());
  EXPECT_FALSE(g.should_poll(now + milliseconds(1)));
  EXPECT_FALSE(g.should_poll(now + Governor::kProbeInterval - microseconds(1)));
  now += Governor::kProbeInterval;
  ASSERT_TRUE(g.should_poll(now));  // the probe
  // The cores are free again: the probe finds work, and polling goes on.
  for (int h = 0; h < 10; ++h) g.found_work();
  g.ran_out(now);
  EXPECT_TRUE(g.polling());
  EXPECT_TRUE(g.should_poll(now + microseconds(100)));
}

TEST(BusyPoll, AProbeThatFindsNothingWaitsAnotherInterval) {
  Governor g(microseconds(50));
  auto now = kStart;
  for (int i = 0; i < 10; ++i) g.ran_out(now);
  now += Governor::kProbeInterval;
  ASSERT_TRUE(g.should_poll(now));
  g.ran_out(now);  // the probe found nothing
  EXPECT_FALSE(g.should_poll(now + microseconds(100)));
  EXPECT_FALSE(g.should_poll(now + Governor::kProbeInterval - microseconds(1)));
  EXPECT_TRUE(g.should_poll(now + Governor::kProbeInterval));
}

}  // namespace
}  // namespace multichap
