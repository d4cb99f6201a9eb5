#include "udpbeat/detect/peer_watch.h"

#include <gtest/gtest.h>

namespace udpbeat::detect {
namespace {

MonoTime At(Nanos ms) { return MonoTime::FromNanos(ms * kNanosPerMilli); }

TEST(PeerWatch, KMissesMakeThePeerDownAndAnOnTimeReplyBringsItBack) {
  PeerWatch w(3, nullptr, At(0));
  EXPECT_FALSE(w.OnReply(0, At(10)).has_value());  // already up
  auto t = w.OnTimeout(1, At(1010));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to, State::kSuspect);
  EXPECT_FALSE(w.OnTimeout(2, At(2010)).has_value());  // still suspect
  t = w.OnTimeout(3, At(3010));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to, State::kDown);
  EXPECT_EQ(t->consecutive_misses, 3);
  t = w.OnReply(4, At(4000));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->from, State::kDown);
  EXPECT_EQ(t->to, State::kUp);
  EXPECT_EQ(t->time_in_from, 990 * kNanosPerMilli);
  EXPECT_EQ(w.state_changes(), 3u);
  EXPECT_EQ(w.machine().outages(), 1);
}

// Heartbeat 5 was sent while the peer was down and times out after heartbeat 6 was
// answered: it says nothing about the peer now.
TEST(PeerWatch, ATimeoutOlderThanTheNewestReplyIsStale) {
  PeerWatch w(1, nullptr, At(0));
  ASSERT_TRUE(w.OnTimeout(4, At(100)).has_value());  // down (K = 1)
  ASSERT_TRUE(w.OnReply(6, At(150)).has_value());   // up
  EXPECT_TRUE(w.Stale(5));
  EXPECT_FALSE(w.OnTimeout(5, At(160)).has_value());
  EXPECT_EQ(w.state(), State::kUp);
  EXPECT_TRUE(w.OnTimeout(7, At(300)).has_value());  // a fresh miss counts
}

// With phi accrual, silence alone raises suspicion: Tick() reads it.
TEST(PeerWatch, PhiGrowsWithSilenceAndTicksReportIt) {
  PhiAccrualOptions po;
  po.threshold = 8;
  po.acceptable_heartbeat_pause = 0;
  po.min_std_deviation = 10 * kNanosPerMilli;
  po.first_heartbeat_estimate = 100 * kNanosPerMilli;
  auto phi = PhiAccrualDetector::Create(po);
  ASSERT_TRUE(phi.ok());
  PeerWatch w(1000, &*phi, At(0));
  for (int i = 0; i <= 20; ++i) w.OnReply(static_cast<uint32_t>(i), At(100 * i));
  EXPECT_FALSE(w.Tick(At(2050)).has_value());
  std::optional<Transition> down;
  for (Nanos ms = 2100; ms < 5000 && !down; ms += 25) {
    auto t = w.Tick(At(ms));
    if (t && t->to == State::kDown) down = t;
  }
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->cause, Cause::kPhi);
  EXPECT_GE(down->phi, 8.0);
  // A watch without phi never changes on a tick.
  PeerWatch plain(3, nullptr, At(0));
  EXPECT_FALSE(plain.Tick(At(100000)).has_value());
}

}  // namespace
}  // namespace udpbeat::detect
