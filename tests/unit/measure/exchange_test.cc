#include "udpbeat/measure/exchange.h"

#include <gtest/gtest.h>

#include "udpbeat/measure/stamp_state.h"

namespace udpbeat::measure {
namespace {

constexpr Nanos kUs = kNanosPerMicro;
const WallTime kWall = WallTime::FromNanos(1'700'000'000 * kNanosPerSecond);
const MonoTime kMono = MonoTime::FromNanos(5 * kNanosPerSecond);

ExchangeInput Plain(Nanos rtt) {
  ExchangeInput in;
  in.sent = {kMono, kWall};
  in.rx_wall = kWall + rtt;
  in.loop_mono = kMono + rtt + 7 * kUs;  // woke a little after the kernel stamped it
  in.loop_wall = kWall + rtt + 7 * kUs;
  return in;
}

TEST(MeasureExchange, RttIsTheKernelReceiveStampMinusT1) {
  const Exchange e = MeasureExchange(Plain(40 * kUs));
  EXPECT_EQ(e.rtt, 40 * kUs);
  EXPECT_EQ(e.received, kMono + 40 * kUs);
  EXPECT_FALSE(e.has_timestamps);
}

TEST(MeasureExchange, WithoutAKernelStampTheWakeUpTimeIsT4) {
  ExchangeInput in = Plain(40 * kUs);
  in.rx_wall = WallTime();
  EXPECT_EQ(MeasureExchange(in).rtt, 47 * kUs);
}

TEST(MeasureExchange, AWallClockStepFallsBackToTheMonotonicRtt) {
  ExchangeInput in = Plain(40 * kUs);
  in.rx_wall = in.rx_wall + 10 * kNanosPerSecond;  // realtime jumped
  in.loop_wall = in.loop_wall + 10 * kNanosPerSecond;
  EXPECT_EQ(MeasureExchange(in).rtt, 40 * kUs);
  in = Plain(40 * kUs);
  in.rx_wall = in.rx_wall - kNanosPerSecond;  // jumped back
  in.loop_wall = in.loop_wall - kNanosPerSecond;
  EXPECT_EQ(MeasureExchange(in).rtt, 40 * kUs);
}

TEST(MeasureExchange, AStampThatMapsBeforeTheSendIsNotTrusted) {
  ExchangeInput in = Plain(40 * kUs);
  in.rx_wall = in.rx_wall - kNanosPerSecond;  // the step came between stamp and wake-up
  EXPECT_EQ(MeasureExchange(in).received, in.loop_mono);
  EXPECT_EQ(MeasureExchange(in).rtt, 47 * kUs);
}

TEST(MeasureExchange, StampTakesTheResidenceOutAndSplitsTheDelays) {
  ExchangeInput in = Plain(300 * kUs);
  const Nanos offset = -2 * kNanosPerMilli;  // reflector behind
  in.reflector = ReflectorTimes{kWall + 100 * kUs + offset, kWall + 200 * kUs + offset};
  const Exchange e = MeasureExchange(in);
  EXPECT_EQ(e.rtt, 200 * kUs);
  EXPECT_EQ(e.residence, 100 * kUs);
  EXPECT_EQ(e.clock_offset, offset);
  EXPECT_EQ(e.forward, 100 * kUs + offset);
  EXPECT_EQ(e.backward, 100 * kUs - offset);
}

TEST(MeasureExchange, AnImplausibleResidenceIsNotSubtracted) {
  ExchangeInput in = Plain(300 * kUs);
  in.reflector = ReflectorTimes{kWall + 100 * kUs, kWall + 100 * kUs + kNanosPerSecond};
  EXPECT_EQ(MeasureExchange(in).rtt, 300 * kUs);
}

Exchange Stamp(Nanos rtt) {
  ExchangeInput in = Plain(rtt);
  in.reflector = ReflectorTimes{kWall + rtt / 2, kWall + rtt / 2};
  return MeasureExchange(in);
}

// A stateful reflector numbers what it reflects: requests it never numbered were lost
// forward, numbered replies that never came were lost backward, and what was lost after
// the last reply cannot be placed.
TEST(StampState, LossSplitsByDirectionAndTrailingLossIsUnattributed) {
  StampState st;
  stats::SessionStats stats(64);
  // Requests 0..9 sent. The reflector saw 0,1,3,4,6,7 (numbering them 0..5); replies to
  // 3 (its 2) and 6 (its 4) were lost on the way back; 8 and 9 were lost somewhere.
  const std::pair<uint32_t, uint32_t> answered[] = {{0, 0}, {1, 1}, {3, 4}, {5, 7}};
  for (auto [refl, seq] : answered) st.Record(Stamp(40 * kUs), refl, seq, stats);
  EXPECT_TRUE(st.reflector_stateful());
  const LossSplit split = st.SplitLoss(/*lost=*/6, /*received=*/4, /*first_seq=*/0);
  EXPECT_EQ(split.forward, 2u);       // 2 and 5 never numbered
  EXPECT_EQ(split.backward, 2u);      // numbered 2 and 4 never arrived
  EXPECT_EQ(split.unattributed, 2u);  // 8 and 9: after the last reply
}

// A stateless reflector copies our numbers, whatever the first: sessions sharing a
// socket start past 0 (such a session was once taken for one of a stateful reflector).
TEST(StampState, AStatelessReflectorLeavesEveryLossUnattributed) {
  for (uint32_t first : {0u, 4096u}) {
    StampState st;
    stats::SessionStats stats(64);
    st.Record(Stamp(40 * kUs), first, first, stats);
    st.Record(Stamp(40 * kUs), first + 2, first + 2, stats);
    EXPECT_FALSE(st.reflector_stateful()) << first;
    const LossSplit split = st.SplitLoss(1, 2, first);
    EXPECT_EQ(split.unattributed, 1u) << first;
    EXPECT_EQ(split.forward + split.backward, 0u) << first;
    StampState stateful;  // counts its own, from 0
    stateful.Record(Stamp(40 * kUs), 0, first + 1, stats);
    EXPECT_TRUE(stateful.reflector_stateful()) << first;
  }
}

TEST(StampState, OneWayDelaysRecordedNeverNegativeWhateverTheOffset) {
  StampState st;
  stats::SessionStats stats(64);
  ExchangeInput in = Plain(300 * kUs);
  in.reflector = ReflectorTimes{kWall - kNanosPerSecond, kWall - kNanosPerSecond};
  st.Record(MeasureExchange(in), 0, 0, stats);
  EXPECT_GE(stats.one_way(stats::Direction::kForward).summary().min(), 0);
  EXPECT_GE(stats.one_way(stats::Direction::kBackward).summary().min(), 0);
  EXPECT_EQ(stats.one_way(stats::Direction::kForward).histogram().underflow_count(), 0u);
}

}  // namespace
}  // namespace udpbeat::measure
