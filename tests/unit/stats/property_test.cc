// Property tests on 10^6 samples from fixed-seed distributions: percentiles
// against exact nearest-rank values, RunningSummary against a two-pass
// computation, and merges of random splits against the single engine.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "udpbeat/stats/histogram.h"
#include "udpbeat/stats/session_stats.h"
#include "udpbeat/stats/summary.h"

namespace udpbeat::stats {
namespace {

constexpr size_t kSamples = 1'000'000;
constexpr double kPercentiles[] = {0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 100};

enum class Dist { kUniform, kLogNormal, kBimodal };

struct DistCase {
  const char* name;
  Dist dist;
  uint64_t seed;
};

// RTT-like int64 ns samples.
std::vector<int64_t> Generate(Dist dist, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> out;
  out.reserve(kSamples);
  std::uniform_int_distribution<int64_t> uniform(1, 2'000'000'000);  // to 2 s
  std::lognormal_distribution<double> lognormal(std::log(500'000.0), 1.5);
  std::normal_distribution<double> fast(300'000, 30'000);        // 300 us
  std::normal_distribution<double> slow(20'000'000, 3'000'000);  // 20 ms
  std::bernoulli_distribution pick_slow(0.3);
  for (size_t i = 0; i < kSamples; ++i) {
    double x = 0;
    switch (dist) {
      case Dist::kUniform:
        out.push_back(uniform(rng));
        continue;
      case Dist::kLogNormal:
        x = lognormal(rng);
        break;
      case Dist::kBimodal:
        x = pick_slow(rng) ? slow(rng) : fast(rng);
        break;
    }
    out.push_back(std::max<int64_t>(1, std::llround(x)));
  }
  return out;
}

class StatsPropertyTest : public testing::TestWithParam<DistCase> {
 protected:
  void SetUp() override {
    samples_ = Generate(GetParam().dist, GetParam().seed);
    sorted_ = samples_;
    std::sort(sorted_.begin(), sorted_.end());
  }

  int64_t ExactPercentile(double p) const {
    return sorted_[LogHistogram::NearestRank(p, sorted_.size()) - 1];
  }

  void ExpectPercentilesWithinOnePercent(const LogHistogram& h) const {
    for (double p : kPercentiles) {
      const double exact = static_cast<double>(ExactPercentile(p));
      const double got = static_cast<double>(h.Percentile(p));
      EXPECT_LE(std::abs(got - exact), 0.01 * exact)
          << "p" << p << " exact " << exact << " got " << got;
    }
  }

  std::vector<int64_t> samples_;
  std::vector<int64_t> sorted_;
};

void ExpectRelNear(double got, double want, double rel) {
  EXPECT_LE(std::abs(got - want), rel * std::abs(want))
      << "got " << got << " want " << want;
}

TEST_P(StatsPropertyTest, HistogramPercentilesWithinOnePercent) {
  LogHistogram h;
  for (int64_t v : samples_) h.Record(v);
  EXPECT_EQ(h.count(), kSamples);
  EXPECT_EQ(h.min(), sorted_.front());
  EXPECT_EQ(h.max(), sorted_.back());
  EXPECT_EQ(h.Percentile(100), sorted_.back());
  EXPECT_EQ(h.Percentile(0), sorted_.front());
  ExpectPercentilesWithinOnePercent(h);
  EXPECT_LE(h.MemoryBytes(), kLogHistogramMaxMemoryBytes);
}

TEST_P(StatsPropertyTest, SummaryMatchesTwoPass) {
  RunningSummary s;
  for (int64_t v : samples_) s.Add(static_cast<double>(v));
  long double sum = 0;
  for (int64_t v : samples_) sum += v;
  const long double mean = sum / samples_.size();
  long double ss = 0;
  for (int64_t v : samples_) ss += (v - mean) * (v - mean);
  const double stddev = static_cast<double>(std::sqrt(ss / samples_.size()));
  EXPECT_EQ(s.count(), kSamples);
  EXPECT_EQ(s.min(), static_cast<double>(sorted_.front()));
  EXPECT_EQ(s.max(), static_cast<double>(sorted_.back()));
  ExpectRelNear(s.mean(), static_cast<double>(mean), 1e-9);
  ExpectRelNear(s.mdev(), stddev, 1e-9);
}

TEST_P(StatsPropertyTest, MergeOfRandomSplitsEqualsSingleEngine) {
  constexpr int kParts = 7;
  SessionStats single(1);
  std::vector<SessionStats> parts(kParts, SessionStats(1));
  std::mt19937_64 rng(GetParam().seed ^ 0x5eed);
  for (int64_t v : samples_) {
    single.RecordRtt(v);
    parts[rng() % kParts].RecordRtt(v);
  }
  SessionStats merged(1);
  for (const SessionStats& part : parts) merged.Merge(part);

  const RunningSummary& a = merged.rtt().summary();
  const RunningSummary& b = single.rtt().summary();
  EXPECT_EQ(a.count(), b.count());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  ExpectRelNear(a.mean(), b.mean(), 1e-9);
  ExpectRelNear(a.mdev(), b.mdev(), 1e-9);

  const LogHistogram& ha = merged.rtt().histogram();
  const LogHistogram& hb = single.rtt().histogram();
  EXPECT_EQ(ha.count(), hb.count());
  EXPECT_EQ(ha.min(), hb.min());
  EXPECT_EQ(ha.max(), hb.max());
  for (double p : kPercentiles) {
    EXPECT_EQ(ha.Percentile(p), hb.Percentile(p)) << "p" << p;
  }
  ExpectPercentilesWithinOnePercent(ha);
  EXPECT_EQ(merged.rtt().jitter().count(), kSamples);
}

INSTANTIATE_TEST_SUITE_P(
    Distributions, StatsPropertyTest,
    testing::Values(DistCase{"uniform", Dist::kUniform, 1},
                    DistCase{"lognormal", Dist::kLogNormal, 2},
                    DistCase{"bimodal", Dist::kBimodal, 3}),
    [](const testing::TestParamInfo<DistCase>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace udpbeat::stats
