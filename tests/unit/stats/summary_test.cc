#include "udpbeat/stats/summary.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace udpbeat::stats {
namespace {

TEST(RunningSummaryTest, EmptyIsAllZero) {
  RunningSummary s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.min(), 0.0);
  EXPECT_EQ(s.max(), 0.0);
  EXPECT_EQ(s.mean(), 0.0);
  EXPECT_EQ(s.mdev(), 0.0);
}

TEST(RunningSummaryTest, SingleSample) {
  RunningSummary s;
  s.Add(-3.5);
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(s.min(), -3.5);
  EXPECT_EQ(s.max(), -3.5);
  EXPECT_EQ(s.mean(), -3.5);
  EXPECT_EQ(s.mdev(), 0.0);
}

struct SummaryCase {
  std::vector<double> samples;
  double min, max, mean, mdev;
};

class RunningSummaryKnownTest : public testing::TestWithParam<SummaryCase> {};

TEST_P(RunningSummaryKnownTest, MatchesHandComputed) {
  const SummaryCase& c = GetParam();
  RunningSummary s;
  for (double x : c.samples) s.Add(x);
  EXPECT_EQ(s.count(), c.samples.size());
  EXPECT_DOUBLE_EQ(s.min(), c.min);
  EXPECT_DOUBLE_EQ(s.max(), c.max);
  EXPECT_DOUBLE_EQ(s.mean(), c.mean);
  EXPECT_NEAR(s.mdev(), c.mdev, 1e-12 * (1 + c.mdev));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RunningSummaryKnownTest,
    testing::Values(
        // Population stddev of the textbook set is exactly 2 (sample: 2.138).
        SummaryCase{{2, 4, 4, 4, 5, 5, 7, 9}, 2, 9, 5, 2},
        SummaryCase{{1, 1, 1}, 1, 1, 1, 0}, SummaryCase{{-1, 1}, -1, 1, 0, 1},
        // Large offset, small spread: sum-of-squares would lose it all.
        SummaryCase{{1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16},
                    1e9 + 4,
                    1e9 + 16,
                    1e9 + 10,
                    std::sqrt(22.5)}));

TEST(RunningSummaryTest, MergeWithEmptyEitherSide) {
  RunningSummary a, empty;
  a.Add(1);
  a.Add(3);
  RunningSummary b = a;
  b.Merge(empty);
  EXPECT_EQ(b.count(), 2u);
  EXPECT_EQ(b.mean(), 2.0);
  EXPECT_EQ(b.mdev(), 1.0);
  RunningSummary c;
  c.Merge(a);
  EXPECT_EQ(c.count(), 2u);
  EXPECT_EQ(c.min(), 1.0);
  EXPECT_EQ(c.max(), 3.0);
  EXPECT_EQ(c.mdev(), 1.0);
}

TEST(RunningSummaryTest, MergeTwoHalvesEqualsWhole) {
  RunningSummary whole, left, right;
  for (int i = 0; i < 100; ++i) {
    const double x = i * 0.37 - 5;
    whole.Add(x);
    (i < 30 ? left : right).Add(x);
  }
  left.Merge(right);
  EXPECT_EQ(left.count(), whole.count());
  EXPECT_EQ(left.min(), whole.min());
  EXPECT_EQ(left.max(), whole.max());
  EXPECT_NEAR(left.mean(), whole.mean(), 1e-12);
  EXPECT_NEAR(left.mdev(), whole.mdev(), 1e-12);
}

TEST(RunningSummaryTest, ResetForgets) {
  RunningSummary s;
  s.Add(5);
  s.Reset();
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.max(), 0.0);
}

}  // namespace
}  // namespace udpbeat::stats
