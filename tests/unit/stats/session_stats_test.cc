#include "udpbeat/stats/session_stats.h"

#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace udpbeat::stats {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kMs = 1'000'000;

TEST(SessionStatsTest, FreshSession) {
  SessionStats s;
  EXPECT_EQ(s.sent(), 0u);
  EXPECT_EQ(s.loss_ratio(), 0.0);
  EXPECT_EQ(s.rtt().count(), 0u);
  EXPECT_EQ(s.tracker().window(), 1024u);
  // Window + inline members; no histogram blocks yet.
  EXPECT_LT(s.MemoryBytes(), 16 * 1024u + 1024u);
}

TEST(SessionStatsTest, RecordsRttOnlyForOnTimeAndLate) {
  SessionStats s;
  s.OnSent(1, 0, 1000 * kMs);
  s.OnSent(2, 10 * kMs, 1010 * kMs);
  s.OnSent(3, 20 * kMs, 1020 * kMs);
  EXPECT_EQ(s.OnReply(1, 5 * kMs).kind, ReplyClass::kOnTime);     // 5 ms
  EXPECT_EQ(s.OnReply(1, 6 * kMs).kind, ReplyClass::kDuplicate);  // ignored
  EXPECT_EQ(s.OnReply(99, 6 * kMs).kind, ReplyClass::kUnknown);   // ignored
  std::vector<uint32_t> timed_out;
  s.Expire(1015 * kMs, [&](uint32_t seq) { timed_out.push_back(seq); });
  EXPECT_THAT(timed_out, ElementsAre(2u));
  EXPECT_EQ(s.OnReply(2, 1500 * kMs).kind, ReplyClass::kLate);  // 1490 ms
  s.Finish();
  EXPECT_EQ(s.sent(), 3u);
  EXPECT_EQ(s.on_time(), 1u);
  EXPECT_EQ(s.late(), 1u);
  EXPECT_EQ(s.received(), 2u);
  EXPECT_EQ(s.lost(), 1u);
  EXPECT_EQ(s.duplicate(), 1u);
  EXPECT_EQ(s.unknown(), 1u);
  EXPECT_EQ(s.timed_out(), 1u);
  EXPECT_EQ(s.longest_loss_burst(), 1u);
  EXPECT_EQ(s.in_flight(), 0u);
  EXPECT_DOUBLE_EQ(s.loss_ratio(), 1.0 / 3);
  EXPECT_EQ(s.rtt().count(), 2u);
  EXPECT_EQ(s.rtt().summary().min(), 5.0 * kMs);
  EXPECT_EQ(s.rtt().summary().max(), 1490.0 * kMs);
  EXPECT_EQ(s.rtt().histogram().count(), 2u);
  EXPECT_EQ(s.rtt().jitter().count(), 2u);
  EXPECT_DOUBLE_EQ(s.rtt().jitter().jitter_ns(), 1485.0 * kMs / 16);
}

TEST(SessionStatsTest, ClassifyThenRecordRttKeepsTheCorrectedRtt) {
  // The probe session's path: classify on arrival, record the RTT it computed from
  // better timestamps (kernel T1, STAMP's T3 - T2 taken out) afterwards.
  SessionStats s;
  s.OnSent(1, 0, 1000 * kMs);
  const ReplyResult r = s.Classify(1, 10 * kMs);
  EXPECT_EQ(r.kind, ReplyClass::kOnTime);
  EXPECT_EQ(r.rtt_ns, 10 * kMs);
  EXPECT_EQ(s.rtt().count(), 0u);  // nothing recorded by the classification
  s.RecordRtt(7 * kMs);
  EXPECT_EQ(s.rtt().summary().mean(), 7.0 * kMs);
  EXPECT_EQ(s.Classify(1, 11 * kMs).kind, ReplyClass::kDuplicate);
  EXPECT_EQ(s.received(), 1u);
}

TEST(SessionStatsTest, RecordRttTouchesNoCounter) {
  SessionStats s;
  s.RecordRtt(3 * kMs);
  EXPECT_EQ(s.rtt().count(), 1u);
  EXPECT_EQ(s.sent(), 0u);
  EXPECT_EQ(s.received(), 0u);
}

TEST(SessionStatsTest, OneWayDirectionsAreSeparate) {
  SessionStats s;
  s.RecordOneWay(Direction::kForward, 4 * kMs);
  s.RecordOneWay(Direction::kForward, 6 * kMs);
  s.RecordOneWay(Direction::kBackward, -2 * kMs);  // offset estimate off
  EXPECT_EQ(s.one_way(Direction::kForward).count(), 2u);
  EXPECT_EQ(s.one_way(Direction::kForward).summary().mean(), 5.0 * kMs);
  EXPECT_EQ(s.one_way(Direction::kForward).histogram().Percentile(100),
            6 * kMs);
  EXPECT_DOUBLE_EQ(s.one_way(Direction::kForward).jitter().jitter_ns(),
                   2.0 * kMs / 16);
  EXPECT_EQ(s.one_way(Direction::kBackward).count(), 1u);
  EXPECT_EQ(s.one_way(Direction::kBackward).summary().min(), -2.0 * kMs);
  EXPECT_EQ(s.one_way(Direction::kBackward).histogram().underflow_count(), 1u);
  EXPECT_EQ(s.rtt().count(), 0u);
  s.RecordClockOffset(-3 * kMs);
  s.RecordClockOffset(5 * kMs);
  EXPECT_EQ(s.clock_offset().mean(), 1.0 * kMs);
}

TEST(SessionStatsTest, MergeCombinesEverything) {
  SessionStats a, b;
  // a: 1..4, lost 2 and 3.
  for (uint32_t seq = 1; seq <= 4; ++seq) a.OnSent(seq, 0, 1000 * kMs);
  a.OnReply(1, 10 * kMs);
  a.OnReply(4, 20 * kMs);
  a.CountMalformed();
  a.Finish();
  // b: 1..3, lost 1; one duplicate.
  for (uint32_t seq = 1; seq <= 3; ++seq) b.OnSent(seq, 0, 1000 * kMs);
  b.OnReply(3, 30 * kMs);
  b.OnReply(2, 40 * kMs);  // reordered
  b.OnReply(2, 41 * kMs);  // duplicate
  b.RecordOneWay(Direction::kBackward, 9 * kMs);
  b.CountMalformed();
  b.CountMalformed();
  b.Finish();

  SessionStats total(1);
  total.Merge(a);
  total.Merge(b);
  EXPECT_EQ(total.sent(), 7u);
  EXPECT_EQ(total.received(), 4u);
  EXPECT_EQ(total.lost(), 3u);
  EXPECT_EQ(total.longest_loss_burst(), 2u);
  EXPECT_EQ(total.duplicate(), 1u);
  EXPECT_EQ(total.reordered(), 1u);
  EXPECT_EQ(total.malformed(), 3u);
  EXPECT_EQ(total.sent(), total.on_time() + total.late() + total.lost());
  EXPECT_DOUBLE_EQ(total.loss_ratio(), 3.0 / 7);
  EXPECT_EQ(total.rtt().count(), 4u);
  EXPECT_EQ(total.rtt().summary().mean(), 25.0 * kMs);
  EXPECT_EQ(total.rtt().histogram().min(), 10 * kMs);
  EXPECT_EQ(total.rtt().histogram().max(), 40 * kMs);
  EXPECT_EQ(total.one_way(Direction::kBackward).count(), 1u);
  EXPECT_EQ(total.rtt().jitter().count(), 4u);
}

}  // namespace
}  // namespace udpbeat::stats

namespace udpbeat::stats {
namespace {

TEST(DelayStatsMergeShifted, ShiftsSummaryAndHistogram) {
  DelayStats a, b, want;
  for (int64_t v : {1000, 2000, 3000}) {
    b.Record(v);
    want.Record(v + 500);
  }
  a.MergeShifted(b, 500);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_DOUBLE_EQ(a.summary().min(), 1500);
  EXPECT_DOUBLE_EQ(a.summary().max(), 3500);
  EXPECT_DOUBLE_EQ(a.summary().mean(), want.summary().mean());
  EXPECT_NEAR(a.summary().mdev(), want.summary().mdev(), 1e-9);
  for (double p : {0.0, 50.0, 100.0}) {
    EXPECT_NEAR(static_cast<double>(a.histogram().Percentile(p)),
                static_cast<double>(want.histogram().Percentile(p)),
                0.01 * static_cast<double>(want.histogram().Percentile(p)));
  }
  EXPECT_DOUBLE_EQ(a.jitter().jitter_ns(), b.jitter().jitter_ns());
}

TEST(SessionStatsMerge, OneWayShiftsApplyPerDirection) {
  SessionStats agg(1), s(16);
  s.RecordOneWay(Direction::kForward, 10'000);
  s.RecordOneWay(Direction::kBackward, 20'000);
  agg.Merge(s, 3'000, 5'000);
  EXPECT_DOUBLE_EQ(agg.one_way(Direction::kForward).summary().min(), 13'000);
  EXPECT_DOUBLE_EQ(agg.one_way(Direction::kBackward).summary().min(), 25'000);
}

}  // namespace
}  // namespace udpbeat::stats
