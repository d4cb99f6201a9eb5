#include "udpbeat/measure/live_figures.h"

#include <gtest/gtest.h>

#include <vector>

#include "udpbeat/measure/run_result.h"

namespace udpbeat::measure {
namespace {

constexpr Nanos kMs = kNanosPerMilli;
constexpr Nanos kSec = kNanosPerSecond;

// Probe `seq` sent at `at` with a 100 ms timeout.
void Send(Measurements& m, uint32_t seq, Nanos at) { m.stats.OnSent(seq, at, at + 100 * kMs); }

void Answer(Measurements& m, uint32_t seq, Nanos at, Nanos rtt) {
  const stats::ReplyResult r = m.stats.Classify(seq, at);
  m.RecordRtt(rtt, r.kind == stats::ReplyClass::kLate);
}

TEST(LiveMeter, ProbesWithinTheirTimeoutAreInFlightNotLost) {
  Measurements a(64), b(64);
  for (uint32_t s = 0; s < 3; ++s) Send(a, s, s * 10 * kMs);
  Answer(a, 0, 5 * kMs, 5 * kMs);
  Answer(a, 1, 15 * kMs, 5 * kMs);
  Send(b, 0, 0);
  Answer(b, 0, 7 * kMs, 7 * kMs);
  const std::vector<const Measurements*> sessions = {&a, &b};
  LiveMeter meter;
  const LiveFigures v = meter.Take(sessions, 1 * kSec);
  EXPECT_EQ(v.sent, 4u);
  EXPECT_EQ(v.received, 3u);
  EXPECT_EQ(v.in_flight, 1u);
  EXPECT_EQ(v.loss_ratio, 0.0) << "a probe within its timeout is not lost";
  EXPECT_EQ(v.send_rate, 4.0);
  EXPECT_EQ(v.receive_rate, 3.0);
  // The same percentiles as the run's result: Summarize of every session combined.
  const Figures f = Summarize(Measurements::Combine(sessions));
  EXPECT_EQ(v.rtt_p50, f.rtt.p50);
  EXPECT_EQ(v.rtt_p99, f.rtt.p99);
  EXPECT_EQ(v.rtt_p99, 7 * kMs);

  // Past its timeout, unanswered: lost for now (the tracker has not retired it yet).
  a.stats.Expire(200 * kMs, [](uint32_t) {});
  Send(a, 3, 2 * kSec);
  const LiveFigures w = meter.Take(sessions, 2 * kSec);
  EXPECT_EQ(w.in_flight, 1u);
  EXPECT_DOUBLE_EQ(w.loss_ratio, 1.0 / 4);
  EXPECT_EQ(w.send_rate, 1.0) << "rates since the view before";
  EXPECT_EQ(w.receive_rate, 0.0);

  // Its late reply settles it: no longer lost.
  Answer(a, 2, 2100 * kMs, 2080 * kMs);
  const LiveFigures x = meter.Take(sessions, 3 * kSec);
  EXPECT_EQ(x.loss_ratio, 0.0);
  EXPECT_EQ(x.received, 4u);
}

TEST(Summarize, PlotDistributionTellsLateFromOnTime) {
  Measurements m(64);
  for (uint32_t s = 0; s < 4; ++s) Send(m, s, s * 10 * kMs);
  Answer(m, 0, 5 * kMs, 5 * kMs);
  Answer(m, 1, 16 * kMs, 6 * kMs);
  Answer(m, 2, 180 * kMs, 160 * kMs);  // after its 100 ms timeout: late
  Answer(m, 3, 200 * kMs, 170 * kMs);
  EXPECT_FALSE(Summarize(m).rtt_distribution) << "only the plot pays for it";
  const Figures f = Summarize(m, Detail::kPlot);
  ASSERT_TRUE(f.rtt_distribution);
  EXPECT_EQ(f.rtt_distribution->on_time.count(), 2u);
  EXPECT_EQ(f.rtt_distribution->late.count(), 2u);
  EXPECT_EQ(f.rtt_distribution->late.min(), 160 * kMs);
  EXPECT_EQ(f.rtt_distribution->on_time.min(), 5 * kMs);
  EXPECT_LT(f.rtt_distribution->on_time.max(), 7 * kMs);
  EXPECT_EQ(f.rtt.count, 4u);
  EXPECT_EQ(f.rtt.max, 170 * kMs);
}

}  // namespace
}  // namespace udpbeat::measure
