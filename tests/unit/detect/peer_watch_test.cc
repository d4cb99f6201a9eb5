#include "udpbeat/detect/peer_watch.h"

#include <gtest/gtest.h>

#include "udpbeat/time/clock.h"

namespace udpbeat::detect {
namespace {

constexpr Nanos kMs = kNanosPerMilli;

// A heartbeat run as time passes: the clock moves, the watch is told what happened now.
class PeerWatchTest : public testing::Test {
 protected:
  MonoTime Now() const { return clock_.Now(); }
  // Moves the clock to `ms` after the run began.
  MonoTime To(Nanos ms) {
    clock_.Set(start_ + ms * kMs);
    return clock_.Now();
  }

  FakeClock clock_;
  const MonoTime start_ = clock_.Now();
};

TEST_F(PeerWatchTest, KMissesMakeThePeerDownAndAnOnTimeReplyBringsItBack) {
  PeerWatch w(3, nullptr, Now());
  EXPECT_FALSE(w.OnReply(0, To(10)).has_value());  // already up
  auto t = w.OnTimeout(1, To(1010));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to, State::kSuspect);
  EXPECT_EQ(t->at, Now());
  EXPECT_FALSE(w.OnTimeout(2, To(2010)).has_value());  // still suspect
  t = w.OnTimeout(3, To(3010));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to, State::kDown);
  EXPECT_EQ(t->consecutive_misses, 3);
  t = w.OnReply(4, To(4000));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->from, State::kDown);
  EXPECT_EQ(t->to, State::kUp);
  EXPECT_EQ(t->time_in_from, 990 * kMs);
  EXPECT_EQ(w.state_changes(), 3u);
  EXPECT_EQ(w.machine().outages(), 1);
}

// Heartbeat 5 was sent while the peer was down and times out after heartbeat 6 was
// answered: it says nothing about the peer now.
TEST_F(PeerWatchTest, ATimeoutOlderThanTheNewestReplyIsStale) {
  PeerWatch w(1, nullptr, Now());
  ASSERT_TRUE(w.OnTimeout(4, To(100)).has_value());  // down (K = 1)
  ASSERT_TRUE(w.OnReply(6, To(150)).has_value());   // up
  EXPECT_TRUE(w.Stale(5));
  EXPECT_FALSE(w.OnTimeout(5, To(160)).has_value());
  EXPECT_EQ(w.state(), State::kUp);
  EXPECT_TRUE(w.OnTimeout(7, To(300)).has_value());  // a fresh miss counts
}

// With phi accrual, silence alone raises suspicion: Tick() reads it as the clock moves.
// Heartbeats every 100 ms (sd 0, raised to the 10 ms floor; no pause): phi passes 8
// after 152.26 ms of silence, so a tick every 25 ms first sees it 175 ms after the last.
TEST_F(PeerWatchTest, PhiGrowsWithSilenceAndTicksReportIt) {
  PhiAccrualOptions po;
  po.threshold = 8;
  po.max_sample_size = 4;  // the seeded history ages out
  po.acceptable_heartbeat_pause = 0;
  po.min_std_deviation = 10 * kMs;
  po.first_heartbeat_estimate = 100 * kMs;
  auto phi = PhiAccrualDetector::Create(po);
  ASSERT_TRUE(phi.ok());
  PeerWatch w(1000, &*phi, Now());
  for (int i = 0; i <= 20; ++i) w.OnReply(static_cast<uint32_t>(i), To(100 * i));
  const MonoTime last = Now();
  EXPECT_FALSE(w.Tick(To(2050)).has_value());
  std::optional<Transition> down;
  while (!down && Now() - last < 3 * kNanosPerSecond) {
    clock_.Advance(25 * kMs);
    auto t = w.Tick(Now());
    if (t && t->to == State::kDown) down = t;
  }
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->at, last + 175 * kMs);
  EXPECT_EQ(down->cause, Cause::kPhi);
  EXPECT_GE(down->phi, 8.0);
  // A watch without phi never changes on a tick.
  PeerWatch plain(3, nullptr, Now());
  clock_.Advance(100 * kNanosPerSecond);
  EXPECT_FALSE(plain.Tick(Now()).has_value());
}

}  // namespace
}  // namespace udpbeat::detect
