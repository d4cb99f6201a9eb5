#include "udpbeat/detect/phi_accrual.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::detect {
namespace {

constexpr Nanos kMs = kNanosPerMilli;
constexpr Nanos kSec = kNanosPerSecond;

MonoTime At(Nanos ns) { return MonoTime::FromNanos(ns); }

PhiAccrualDetector MakeDetector(const PhiAccrualOptions& options) {
  absl::StatusOr<PhiAccrualDetector> d = PhiAccrualDetector::Create(options);
  EXPECT_TRUE(d.ok()) << d.status();
  return *std::move(d);
}

// `beats` heartbeats `interval` apart starting at `start`; returns the last.
MonoTime Beat(PhiAccrualDetector& d, MonoTime start, Nanos interval,
              int beats) {
  MonoTime t = start;
  for (int i = 0; i < beats; ++i) {
    if (i > 0) t += interval;
    d.Heartbeat(t);
  }
  return t;
}

// The first time at or after `from`, in `step`s, when phi >= threshold.
Nanos CrossingAfter(const PhiAccrualDetector& d, Nanos from, Nanos step,
                    Nanos limit) {
  const MonoTime last = d.last_heartbeat();
  for (Nanos e = from; e <= limit; e += step)
    if (!d.IsAvailable(last + e)) return e;
  return -1;
}

// Akka's two-branch phi, literally (PhiAccrualFailureDetector.phi).
double AkkaPhi(double time_diff, double mean, double std_dev) {
  const double y = (time_diff - mean) / std_dev;
  const double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  if (time_diff > mean) return -std::log10(e / (1.0 + e));
  return -std::log10(1.0 - 1.0 / (1.0 + e));
}

void ExpectRelNear(double actual, double expected) {
  EXPECT_NEAR(actual, expected, 1e-6 * std::fabs(expected) + 1e-12)
      << "expected " << expected;
}

TEST(PhiAccrualTest, ZeroBeforeFirstHeartbeat) {
  PhiAccrualDetector d;
  EXPECT_FALSE(d.is_monitoring());
  EXPECT_EQ(d.Phi(At(0)), 0.0);
  EXPECT_EQ(d.Phi(At(3600 * kSec)), 0.0);
  EXPECT_TRUE(d.IsAvailable(At(3600 * kSec)));
}

TEST(PhiAccrualTest, DefaultsAreAkkas) {
  const PhiAccrualOptions o;
  EXPECT_EQ(o.threshold, 8.0);
  EXPECT_EQ(o.max_sample_size, 1000);
  EXPECT_EQ(o.min_std_deviation, 100 * kMs);
  EXPECT_EQ(o.acceptable_heartbeat_pause, 3 * kSec);
  EXPECT_EQ(o.first_heartbeat_estimate, 1 * kSec);
}

TEST(PhiAccrualTest, FirstHeartbeatOnlySetsReferenceOverSeededHistory) {
  PhiAccrualDetector d;
  d.Heartbeat(At(5 * kSec));
  EXPECT_TRUE(d.is_monitoring());
  EXPECT_EQ(d.last_heartbeat(), At(5 * kSec));
  // Seeds 750 ms and 1250 ms: mean 1 s, population stddev 250 ms.
  EXPECT_EQ(d.sample_count(), 2u);
  EXPECT_DOUBLE_EQ(d.mean(), 1e9);
  EXPECT_DOUBLE_EQ(d.std_deviation(), 250e6);
  // At mean' = 1 s + 3 s, y = 0: phi = log10(2).
  ExpectRelNear(d.Phi(At(9 * kSec)), std::log10(2.0));
}

struct PhiCase {
  std::string name;
  Nanos acceptable_pause;
  Nanos min_std_deviation;
  Nanos elapsed;  // since the last heartbeat
  double expected;
};

class PhiHandComputedTest : public testing::TestWithParam<PhiCase> {};

// History: Akka's seeds {750 ms, 1250 ms} + 19 intervals of exactly 1 s
// (20 heartbeats). n = 21, sum = 21 s, mean = 1 s;
// sum(x^2) = 19 + 0.5625 + 1.5625 = 21.125 s^2,
// variance = 21.125 / 21 - 1 = 0.125 / 21 = 0.00595238095 s^2,
// stddev = 0.0771516749810 s.
// phi = log10(1 + exp(z)), z = y * (1.5976 + 0.070566 * y^2), which is
// Akka's -log10(e / (1 + e)) with e = exp(-z).
TEST_P(PhiHandComputedTest, MatchesFormula) {
  const PhiCase& c = GetParam();
  PhiAccrualOptions o;
  o.acceptable_heartbeat_pause = c.acceptable_pause;
  o.min_std_deviation = c.min_std_deviation;
  PhiAccrualDetector d = MakeDetector(o);
  const MonoTime last = Beat(d, At(kSec), kSec, 20);
  ASSERT_EQ(d.sample_count(), 21u);
  EXPECT_DOUBLE_EQ(d.mean(), 1e9);
  ExpectRelNear(d.std_deviation(), 0.0771516749810459551e9);
  ExpectRelNear(d.Phi(last + c.elapsed), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PhiHandComputedTest,
    testing::Values(
        // Akka defaults: stddev 77 ms < 100 ms, so sd = 0.1 s;
        // mean' = 1 s + 3 s = 4 s.
        // t = 1 s: y = -30, z = -30 * (1.5976 + 63.5094) = -1953.2;
        // phi = log10(1 + e^-1953) = 0 (Akka: exactly 0).
        PhiCase{"Default1s", 3 * kSec, 100 * kMs, 1 * kSec, 0.0},
        // t = 3 s: y = -10, z = -10 * (1.5976 + 7.0566) = -86.542;
        // phi = e^-86.542 / ln 10 = 1.1297e-38 (Akka: 0).
        PhiCase{"Default3s", 3 * kSec, 100 * kMs, 3 * kSec,
                1.129704364277245707e-38},
        // t = 4 s: y = 0, z = 0; phi = log10(2) = 0.30103.
        PhiCase{"Default4s", 3 * kSec, 100 * kMs, 4 * kSec,
                0.30102999566398119521},
        // t = 4.2 s: y = 2, z = 2 * (1.5976 + 0.282264) = 3.759728;
        // phi = log10(1 + 42.936746) = 1.642828.
        PhiCase{"Default4_2s", 3 * kSec, 100 * kMs, 4200 * kMs,
                1.6428278854871122834},
        // t = 4.5 s: y = 5, z = 5 * (1.5976 + 1.76415) = 16.80875;
        // phi = (16.80875 + log1p(e^-16.80875)) / ln 10 = 7.299947.
        PhiCase{"Default4_5s", 3 * kSec, 100 * kMs, 4500 * kMs,
                7.2999473944602063823},
        // t = 5 s: y = 10, z = 10 * (1.5976 + 7.0566) = 86.542;
        // phi = 86.542 / ln 10 = 37.584713.
        PhiCase{"Default5s", 3 * kSec, 100 * kMs, 5 * kSec,
                37.584713052871219669},
        // No pause, min stddev 10 ms: the history's own sd = 0.07715 s
        // counts; mean' = 1 s.
        // t = 0.9 s: y = -0.1 / 0.0771517 = -1.296148,
        // z = -1.296148 * (1.5976 + 0.070566 * 1.68) = -2.224386;
        // phi = log10(1 + 0.108134) = 0.044592.
        PhiCase{"NoPause0_9s", 0, 10 * kMs, 900 * kMs, 0.044592208560674810163},
        // t = 1 s: y = 0; phi = log10(2).
        PhiCase{"NoPause1s", 0, 10 * kMs, 1 * kSec, 0.30102999566398119521},
        // t = 1.1 s: y = 1.296148, z = 2.224386;
        // phi = log10(1 + 9.247801) = 1.010631.
        PhiCase{"NoPause1_1s", 0, 10 * kMs, 1100 * kMs, 1.0106306743237487332},
        // t = 1.3 s: y = 3.888444, z = 3.888444 * (1.5976 + 1.066958)
        // = 10.360985; phi = log10(1 + 31602.31) = 4.499733.
        PhiCase{"NoPause1_3s", 0, 10 * kMs, 1300 * kMs, 4.4997325169567419717},
        // t = 1.5 s: y = 6.480741, z = 6.480741 * (1.5976 + 2.963772)
        // = 29.561069; phi = 29.561069 / ln 10 = 12.838209.
        PhiCase{"NoPause1_5s", 0, 10 * kMs, 1500 * kMs, 12.838209215773224036}),
    [](const testing::TestParamInfo<PhiCase>& info) {
      return info.param.name;
    });

TEST(PhiAccrualTest, PhiOfMatchesAkkasTwoBranchFormula) {
  // Akka's branches lose relative precision for tiny phi (1 - 1/(1+e)), so
  // the tolerance has an absolute floor of a few ulps of 1.
  for (double y = -25.0; y <= 20.0; y += 0.01) {
    const double mean = 4e9;
    const double sd = 1e8;
    const double t = mean + y * sd;
    const double akka = AkkaPhi(t, mean, sd);
    ASSERT_TRUE(std::isfinite(akka)) << y;
    EXPECT_NEAR(PhiAccrualDetector::PhiOf(t, mean, sd), akka,
                1e-9 * akka + 1e-15)
        << "y = " << y;
  }
}

TEST(PhiAccrualTest, FiniteWhereAkkaOverflows) {
  // y = 30: Akka's exp(-z) underflows to 0 and its phi is +Infinity.
  EXPECT_TRUE(std::isinf(AkkaPhi(7e9, 4e9, 1e8)));
  const double phi = PhiAccrualDetector::PhiOf(7e9, 4e9, 1e8);
  EXPECT_TRUE(std::isfinite(phi));
  // z = 30 * (1.5976 + 0.070566 * 900) = 30 * 65.107 = 1953.21;
  // phi = z / ln 10 = 848.2683.
  ExpectRelNear(phi, 1953.21 / std::log(10.0));
}

TEST(PhiAccrualTest, IncreasesWithTimeSinceLastHeartbeat) {
  PhiAccrualDetector d;
  const MonoTime last = Beat(d, At(kSec), kSec, 20);
  double prev = d.Phi(last);
  EXPECT_GE(prev, 0.0);
  for (Nanos e = 10 * kMs; e <= 60 * kSec; e += 10 * kMs) {
    const double phi = d.Phi(last + e);
    ASSERT_TRUE(std::isfinite(phi)) << e;
    // Flat only while exp(z) underflows to 0 (phi == 0), then strictly up.
    if (prev > 0.0) {
      ASSERT_GT(phi, prev) << "elapsed " << e << " ns";
    } else {
      ASSERT_GE(phi, prev) << "elapsed " << e << " ns";
    }
    prev = phi;
  }
  EXPECT_GT(prev, 1000.0);
  // A day of silence is still a finite, larger number.
  EXPECT_GT(d.Phi(last + 86400 * kSec), prev);
  EXPECT_TRUE(std::isfinite(d.Phi(last + 86400 * kSec)));
}

TEST(PhiAccrualTest, NowBeforeLastHeartbeatCountsAsZeroElapsed) {
  PhiAccrualDetector d;
  const MonoTime last = Beat(d, At(10 * kSec), kSec, 5);
  EXPECT_EQ(d.Phi(last - 5 * kSec), d.Phi(last));
}

struct JitterCase {
  std::string name;
  Nanos interval;
  Nanos jitter;  // uniform in [-jitter, +jitter]
  bool per_gap;  // true: each gap jitters; false: each arrival off schedule
  Nanos acceptable_pause;
  Nanos min_std_deviation;
  Nanos first_estimate;
};

class PhiJitterTest : public testing::TestWithParam<JitterCase> {};

TEST_P(PhiJitterTest, NoFalseDownUnderSteadyJitter) {
  const JitterCase& c = GetParam();
  PhiAccrualOptions o;
  o.acceptable_heartbeat_pause = c.acceptable_pause;
  o.min_std_deviation = c.min_std_deviation;
  o.first_heartbeat_estimate = c.first_estimate;
  PhiAccrualDetector d = MakeDetector(o);
  // The raw engine output is specified by the standard; the modulo keeps
  // the draw independent of the library's distribution code.
  std::mt19937_64 rng(20240601);
  auto draw = [&] {
    const uint64_t span = 2 * static_cast<uint64_t>(c.jitter) + 1;
    return static_cast<Nanos>(rng() % span) - c.jitter;
  };
  Nanos scheduled = kSec;
  MonoTime prev = At(kSec);
  double max_phi = 0.0;
  for (int i = 0; i < 2000; ++i) {
    MonoTime arrival;
    if (c.per_gap) {
      arrival = i == 0 ? prev : prev + (c.interval + draw());
    } else {
      arrival = At(scheduled + draw());
      scheduled += c.interval;
    }
    if (i > 0) {
      const double phi = d.Phi(arrival - 1);  // just before it arrives
      max_phi = std::max(max_phi, phi);
      ASSERT_LT(phi, o.threshold) << "beat " << i;
    }
    d.Heartbeat(arrival);
    prev = arrival;
  }
  // Every interval made it into the history (none arrived "unavailable").
  EXPECT_EQ(d.sample_count(), 1000u);
  RecordProperty("max_phi", std::to_string(max_phi));
  std::printf("[ %s ] max phi before an arrival: %.3f\n", c.name.c_str(),
              max_phi);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PhiJitterTest,
    testing::Values(
        // The brief's case, Akka defaults: gaps 1 s +- 200 ms.
        JitterCase{"Gap1sPm200msDefaults", kSec, 200 * kMs, true, 3 * kSec,
                   100 * kMs, kSec},
        // Arrivals +-200 ms off a 1 s schedule: gaps 0.6 .. 1.4 s.
        JitterCase{"Sched1sPm200msDefaults", kSec, 200 * kMs, false, 3 * kSec,
                   100 * kMs, kSec},
        // Same jitter with no acceptable pause: the stddev alone carries it.
        JitterCase{"Sched1sPm200msNoPause", kSec, 200 * kMs, false, 0,
                   100 * kMs, kSec},
        // The fast-test configuration: 20 ms +- 4 ms, no pause, sd >= 5 ms.
        JitterCase{"Sched20msPm4msFast", 20 * kMs, 4 * kMs, false, 0, 5 * kMs,
                   20 * kMs}),
    [](const testing::TestParamInfo<JitterCase>& info) {
      return info.param.name;
    });

// Phi crosses T when log10(1 + e^z) = T, z = ln(10^T - 1); for T = 8,
// z = 18.420681 and y * (1.5976 + 0.070566 y^2) = z gives y = 5.2259866
// (Newton's method). Crossing = mean' + y * sd after the last heartbeat.
constexpr double kYAtPhi8 = 5.2259866440935634;

TEST(PhiAccrualTest, DownWithinExpectedTimeAfterHeartbeatsStop) {
  // 1 s heartbeats, Akka defaults: mean 1 s, sd max(77 ms, 100 ms) = 0.1 s,
  // mean' = 4 s: crossing = 4 s + 5.2259866 * 0.1 s = 4.5225987 s.
  PhiAccrualDetector d;
  Beat(d, At(kSec), kSec, 20);
  const Nanos expected = static_cast<Nanos>(4e9 + kYAtPhi8 * 1e8);
  const Nanos crossing = CrossingAfter(d, 0, 100 * kNanosPerMicro, 10 * kSec);
  EXPECT_GE(crossing, 4522 * kMs);  // X
  EXPECT_LE(crossing, 4523 * kMs);  // Y
  EXPECT_NEAR(crossing, expected, 100 * kNanosPerMicro);
  EXPECT_TRUE(d.IsAvailable(d.last_heartbeat() + 4522 * kMs));
  EXPECT_FALSE(d.IsAvailable(d.last_heartbeat() + 4523 * kMs));
}

TEST(PhiAccrualTest, DownTimeSameOnceSeedsAgeOut) {
  // 1100 beats: the window holds only 1 s intervals, sd 0 -> 0.1 s.
  PhiAccrualDetector d;
  Beat(d, At(kSec), kSec, 1100);
  EXPECT_EQ(d.sample_count(), 1000u);
  EXPECT_DOUBLE_EQ(d.mean(), 1e9);
  EXPECT_EQ(d.std_deviation(), 0.0);
  const Nanos crossing = CrossingAfter(d, 0, 100 * kNanosPerMicro, 10 * kSec);
  EXPECT_GE(crossing, 4522 * kMs);
  EXPECT_LE(crossing, 4523 * kMs);
}

struct FastCase {
  std::string name;
  PhiAccrualOptions options;
  int beats;
  Nanos min_crossing;  // after the last heartbeat, each side of the
  Nanos max_crossing;  // hand-computed crossing
};

PhiAccrualOptions Opts(Nanos pause, Nanos min_sd, Nanos first_estimate) {
  PhiAccrualOptions o;
  o.acceptable_heartbeat_pause = pause;
  o.min_std_deviation = min_sd;
  o.first_heartbeat_estimate = first_estimate;
  return o;
}

class PhiFastIntervalTest : public testing::TestWithParam<FastCase> {};

TEST_P(PhiFastIntervalTest, CrossesThresholdWhereExpected) {
  const FastCase& c = GetParam();
  PhiAccrualDetector d = MakeDetector(c.options);
  Beat(d, At(kSec), 20 * kMs, c.beats);
  const Nanos crossing = CrossingAfter(d, 0, 100 * kNanosPerMicro, 60 * kSec);
  std::printf("[ %s ] phi >= 8 after %.4f s = %.1f intervals of 20 ms\n",
              c.name.c_str(), crossing / 1e9, crossing / 20e6);
  EXPECT_GE(crossing, c.min_crossing);
  EXPECT_LE(crossing, c.max_crossing);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PhiFastIntervalTest,
    testing::Values(
        // udpbeat's fast tests: pause 0, min sd 5 ms, first estimate 20 ms.
        // Seeds {15, 25} ms + 49 x 20 ms: mean 20 ms, sd 0.99 ms -> 5 ms.
        // crossing = 20 ms + 5.2259866 * 5 ms = 46.13 ms (2.3 intervals).
        FastCase{"FastConfig", Opts(0, 5 * kMs, 20 * kMs), 50, 46 * kMs,
                 47 * kMs},
        // Same, but Akka's 1 s first estimate left in: seeds {750, 1250} ms
        // dominate until they age out of the 1000-interval window.
        // 49 x 20 ms + seeds: mean 58.43 ms, sd 196.56 ms;
        // crossing = 58.43 + 5.2259866 * 196.56 = 1085.66 ms (54 intervals).
        FastCase{"FastConfigAkkaFirstEstimate", Opts(0, 5 * kMs, kSec), 50,
                 1085 * kMs, 1086 * kMs},
        // Akka defaults at 20 ms after 100 beats: mean 39.41 ms,
        // sd 140.99 ms; crossing = 39.41 + 3000 + 5.2259866 * 140.99
        // = 3776.23 ms (189 intervals).
        FastCase{"AkkaDefaults100Beats", PhiAccrualOptions{}, 100, 3776 * kMs,
                 3777 * kMs},
        // Akka defaults at 20 ms with the seeds aged out: mean 20 ms, sd
        // 100 ms (the minimum); crossing = 20 + 3000 + 522.6 = 3542.6 ms
        // (177 intervals).
        FastCase{"AkkaDefaultsSteady", PhiAccrualOptions{}, 1100, 3542 * kMs,
                 3543 * kMs},
        // Akka's defaults scaled by 20 ms / 1 s: pause 60 ms, min sd 2 ms;
        // crossing = 20 + 60 + 5.2259866 * 2 = 90.45 ms (4.5 intervals).
        FastCase{"AkkaScaledTo20ms", Opts(60 * kMs, 2 * kMs, 20 * kMs), 50,
                 90 * kMs, 91 * kMs}),
    [](const testing::TestParamInfo<FastCase>& info) {
      return info.param.name;
    });

TEST(PhiAccrualTest, HeartbeatWhileUnavailableIsNotRecorded) {
  PhiAccrualDetector d;
  const MonoTime last = Beat(d, At(kSec), kSec, 20);
  const double mean = d.mean();
  const double sd = d.std_deviation();
  const MonoTime late = last + 10 * kSec;  // phi far above 8
  ASSERT_FALSE(d.IsAvailable(late));
  d.Heartbeat(late);
  EXPECT_EQ(d.sample_count(), 21u);
  EXPECT_EQ(d.mean(), mean);
  EXPECT_EQ(d.std_deviation(), sd);
  EXPECT_EQ(d.last_heartbeat(), late);  // but the reference moved
  EXPECT_LT(d.Phi(late + kSec), 1e-30);
  d.Heartbeat(late + 2 * kSec);  // available again: recorded
  EXPECT_EQ(d.sample_count(), 22u);
}

TEST(PhiAccrualTest, OutOfOrderArrivalIsIgnored) {
  PhiAccrualDetector d;
  const MonoTime last = Beat(d, At(kSec), kSec, 5);
  d.Heartbeat(last - 500 * kMs);
  EXPECT_EQ(d.last_heartbeat(), last);
  EXPECT_EQ(d.sample_count(), 6u);
}

TEST(PhiAccrualTest, WindowDropsOldestIncludingSeeds) {
  PhiAccrualOptions o;
  o.max_sample_size = 3;
  PhiAccrualDetector d = MakeDetector(o);
  d.Heartbeat(At(0));
  EXPECT_EQ(d.sample_count(), 2u);
  d.Heartbeat(At(1 * kSec));  // {750, 1250, 1000} ms
  EXPECT_EQ(d.sample_count(), 3u);
  EXPECT_DOUBLE_EQ(d.mean(), 1e9);
  d.Heartbeat(At(3 * kSec));  // {1250, 1000, 2000}
  d.Heartbeat(At(6 * kSec));  // {1000, 2000, 3000}
  EXPECT_EQ(d.sample_count(), 3u);
  EXPECT_DOUBLE_EQ(d.mean(), 2e9);
  // Population sd of {1, 2, 3} s = sqrt(2/3) s.
  EXPECT_DOUBLE_EQ(d.std_deviation(), std::sqrt(2.0 / 3.0) * 1e9);
}

TEST(PhiAccrualTest, WindowOfOneKeepsOnlyTheLastSeed) {
  PhiAccrualOptions o;
  o.max_sample_size = 1;
  PhiAccrualDetector d = MakeDetector(o);
  d.Heartbeat(At(0));
  EXPECT_EQ(d.sample_count(), 1u);
  EXPECT_DOUBLE_EQ(d.mean(), 1250e6);  // Akka: history :+ 750 :+ 1250
  d.Heartbeat(At(900 * kMs));
  EXPECT_DOUBLE_EQ(d.mean(), 900e6);
  EXPECT_EQ(d.std_deviation(), 0.0);
}

TEST(PhiAccrualTest, ExactStatisticsForLargeIntervalsAndLongRuns) {
  // Intervals of half an hour that differ by nanoseconds: sum and sum of
  // squares in doubles would cancel to garbage; the 128-bit sums are exact.
  PhiAccrualOptions o;
  o.max_sample_size = 4;
  o.first_heartbeat_estimate = 1800 * kSec;
  o.acceptable_heartbeat_pause = 3600 * kSec;
  PhiAccrualDetector d = MakeDetector(o);
  MonoTime t = At(0);
  d.Heartbeat(t);
  for (Nanos extra : {1, 2, 3, 4}) {
    t += 1800 * kSec + extra;
    d.Heartbeat(t);
  }
  EXPECT_EQ(d.sample_count(), 4u);
  EXPECT_DOUBLE_EQ(d.mean(), 1800e9 + 2.5);
  EXPECT_DOUBLE_EQ(d.std_deviation(), std::sqrt(1.25));  // {1,2,3,4} ns

  // A million jittery intervals through a window of 10, then 10 equal ones:
  // no residue is left behind.
  PhiAccrualOptions w;
  w.max_sample_size = 10;
  PhiAccrualDetector e = MakeDetector(w);
  std::mt19937_64 rng(7);
  MonoTime u = At(0);
  e.Heartbeat(u);
  for (int i = 0; i < 1'000'000; ++i) {
    u += 900 * kMs + static_cast<Nanos>(rng() % (200 * kMs));
    e.Heartbeat(u);
  }
  for (int i = 0; i < 10; ++i) {
    u += 1234567891;
    e.Heartbeat(u);
  }
  EXPECT_EQ(e.mean(), 1234567891.0);
  EXPECT_EQ(e.std_deviation(), 0.0);
}

struct BadOptionsCase {
  std::string name;
  PhiAccrualOptions options;
};

class PhiBadOptionsTest : public testing::TestWithParam<BadOptionsCase> {};

TEST_P(PhiBadOptionsTest, CreateRejects) {
  absl::StatusOr<PhiAccrualDetector> d =
      PhiAccrualDetector::Create(GetParam().options);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("phi"), absl::string_view::npos);
}

PhiAccrualOptions With(void (*edit)(PhiAccrualOptions&)) {
  PhiAccrualOptions o;
  edit(o);
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PhiBadOptionsTest,
    testing::Values(
        BadOptionsCase{"ZeroThreshold",
                       With([](PhiAccrualOptions& o) { o.threshold = 0; })},
        BadOptionsCase{"NanThreshold", With([](PhiAccrualOptions& o) {
                         o.threshold = std::nan("");
                       })},
        BadOptionsCase{"ZeroWindow", With([](PhiAccrualOptions& o) {
                         o.max_sample_size = 0;
                       })},
        BadOptionsCase{"HugeWindow", With([](PhiAccrualOptions& o) {
                         o.max_sample_size =
                             PhiAccrualDetector::kMaxSampleSize + 1;
                       })},
        BadOptionsCase{"ZeroMinSd", With([](PhiAccrualOptions& o) {
                         o.min_std_deviation = 0;
                       })},
        BadOptionsCase{"NegativePause", With([](PhiAccrualOptions& o) {
                         o.acceptable_heartbeat_pause = -1;
                       })},
        BadOptionsCase{"ZeroFirstEstimate", With([](PhiAccrualOptions& o) {
                         o.first_heartbeat_estimate = 0;
                       })}),
    [](const testing::TestParamInfo<BadOptionsCase>& info) {
      return info.param.name;
    });

TEST(PhiAccrualTest, CreateAcceptsDefaultsAndEdges) {
  EXPECT_TRUE(PhiAccrualDetector::Validate(PhiAccrualOptions{}).ok());
  EXPECT_TRUE(PhiAccrualDetector::Validate(Opts(0, 1, 1)).ok());
}

}  // namespace
}  // namespace udpbeat::detect
