#include "udpbeat/stats/histogram.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "gtest/gtest.h"

namespace udpbeat::stats {
namespace {

constexpr int64_t kTop = LogHistogram::kMaxValue;

TEST(LogHistogramTest, EmptyHistogram) {
  LogHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.Percentile(50), 0);
  EXPECT_EQ(h.allocated_blocks(), 0);
  EXPECT_EQ(h.MemoryBytes(), sizeof(LogHistogram));
}

TEST(LogHistogramTest, CoversAtLeast2To37) {
  EXPECT_GE(LogHistogram::kMaxValue, int64_t{1} << 37);
}

struct EdgeCase {
  const char* name;
  int64_t value;
  int64_t recorded;  // after clamping; single sample => every percentile
  uint64_t underflow;
  uint64_t overflow;
};

class LogHistogramEdgeTest : public testing::TestWithParam<EdgeCase> {};

TEST_P(LogHistogramEdgeTest, RecordsClampedValue) {
  const EdgeCase& c = GetParam();
  LogHistogram h;
  h.Record(c.value);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.min(), c.recorded);
  EXPECT_EQ(h.max(), c.recorded);
  for (double p : {0.0, 50.0, 99.9, 100.0}) {
    EXPECT_EQ(h.Percentile(p), c.recorded) << "p" << p;
  }
  EXPECT_EQ(h.underflow_count(), c.underflow);
  EXPECT_EQ(h.overflow_count(), c.overflow);
  EXPECT_EQ(h.allocated_blocks(), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LogHistogramEdgeTest,
    testing::Values(
        EdgeCase{"zero", 0, 1, 1, 0}, EdgeCase{"one", 1, 1, 0, 0},
        EdgeCase{"v63", 63, 63, 0, 0}, EdgeCase{"v64", 64, 64, 0, 0},
        EdgeCase{"v127", 127, 127, 0, 0}, EdgeCase{"v128", 128, 128, 0, 0},
        EdgeCase{"two_pow_37", int64_t{1} << 37, int64_t{1} << 37, 0, 0},
        EdgeCase{"top", kTop, kTop, 0, 0},
        EdgeCase{"top_plus_one", kTop + 1, kTop, 0, 1},
        EdgeCase{"int64_max", std::numeric_limits<int64_t>::max(), kTop, 0, 1},
        EdgeCase{"negative", -5, 1, 1, 0},
        EdgeCase{"int64_min", std::numeric_limits<int64_t>::min(), 1, 1, 0}),
    [](const testing::TestParamInfo<EdgeCase>& info) {
      return std::string(info.param.name);
    });

TEST(LogHistogramTest, ZeroAndNegativesCountInBucketForOne) {
  LogHistogram h;
  h.Record(0);
  h.Record(-7);
  h.Record(1);
  h.Record(2);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.underflow_count(), 2u);
  EXPECT_EQ(h.Percentile(75), 1);  // rank 3 of {1, 1, 1, 2}
  EXPECT_EQ(h.Percentile(100), 2);
}

TEST(LogHistogramTest, ExactBelow128) {
  LogHistogram h;
  for (int64_t v = 127; v >= 1; --v) h.Record(v);
  for (uint64_t rank = 1; rank <= 127; ++rank) {
    // p chosen so that ceil(p * 127 / 100) == rank.
    const double p = (static_cast<double>(rank) - 0.5) * 100.0 / 127.0;
    EXPECT_EQ(h.Percentile(p), static_cast<int64_t>(rank));
  }
}

TEST(LogHistogramTest, BucketGeometryBoundsRelativeError) {
  // Exhaustive over buckets: contiguous, self-consistent, and the midpoint is
  // within 1/128 of every value in its bucket (<= 1% required).
  int64_t expected_low = 0;
  for (int i = 0; i < LogHistogram::kNumBuckets; ++i) {
    const int64_t low = LogHistogram::BucketLow(i);
    const int64_t width = LogHistogram::BucketWidth(i);
    const int64_t high = low + width - 1;
    ASSERT_EQ(low, expected_low) << "bucket " << i;
    ASSERT_EQ(LogHistogram::BucketIndex(low), i);
    ASSERT_EQ(LogHistogram::BucketIndex(high), i);
    const int64_t mid = LogHistogram::BucketMidpoint(i);
    if (low < 128) {
      ASSERT_EQ(width, 1);
      ASSERT_EQ(mid, low);
    } else {
      ASSERT_LE(std::abs(mid - low), low / 128) << "bucket " << i;
      ASSERT_LE(std::abs(mid - high), high / 128) << "bucket " << i;
    }
    expected_low = high + 1;
  }
  EXPECT_EQ(expected_low - 1, LogHistogram::kMaxValue);
}

TEST(LogHistogramTest, NarrowRangeUsesLittleMemory) {
  // RTTs between 200 us and 1 ms span three octaves (2^17..2^20).
  LogHistogram h;
  for (int64_t v = 200'000; v <= 1'000'000; v += 37) h.Record(v);
  EXPECT_EQ(h.allocated_blocks(), 3);
  EXPECT_EQ(h.MemoryBytes(),
            sizeof(LogHistogram) + 3 * LogHistogram::kBlockBytes);
  EXPECT_LT(h.MemoryBytes(), 1700u);

  LogHistogram two;  // 200-500 us: two octaves, about 1 KiB
  for (int64_t v = 200'000; v <= 500'000; v += 11) two.Record(v);
  EXPECT_EQ(two.allocated_blocks(), 2);
  EXPECT_LE(two.MemoryBytes(), 1024u + 128u);
}

TEST(LogHistogramTest, FullRangeReachesStatedMaximum) {
  LogHistogram h;
  for (int bit = 0; bit <= 37; ++bit) h.Record(int64_t{1} << bit);
  h.Record(kTop);
  EXPECT_EQ(h.allocated_blocks(), LogHistogram::kNumBlocks);
  EXPECT_EQ(h.MemoryBytes(), kLogHistogramMaxMemoryBytes);
  EXPECT_LE(kLogHistogramMaxMemoryBytes, 17u * 1024);
}

TEST(LogHistogramTest, PercentileArgumentIsClamped) {
  LogHistogram h;
  for (int64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(-5), 1);
  EXPECT_EQ(h.Percentile(std::nan("")), 1);
  EXPECT_EQ(h.Percentile(250), 100);
  EXPECT_EQ(h.Percentile(50), 50);
  EXPECT_EQ(h.Percentile(50.5), 51);
}

struct RankCase {
  double p;
  uint64_t n;
  uint64_t rank;
};

class NearestRankTest : public testing::TestWithParam<RankCase> {};

TEST_P(NearestRankTest, Rank) {
  EXPECT_EQ(LogHistogram::NearestRank(GetParam().p, GetParam().n),
            GetParam().rank);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NearestRankTest,
    testing::Values(RankCase{50, 10, 5}, RankCase{50, 11, 6},
                    RankCase{99.9, 1'000'000, 999'000},
                    RankCase{0.1, 1'000'000, 1'000},
                    RankCase{99, 1'000'000, 990'000}, RankCase{100, 7, 7},
                    RankCase{0, 7, 1}, RankCase{25, 4, 1},
                    RankCase{25.0001, 4, 2}, RankCase{50, 0, 0},
                    RankCase{1e-9, 5, 1}));

TEST(LogHistogramTest, CopyIsDeepAndMoveEmptiesSource) {
  LogHistogram a;
  for (int64_t v : {5, 500, 50'000, 5'000'000}) a.Record(v);
  LogHistogram b = a;
  b.Record(7);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(b.count(), 5u);
  EXPECT_EQ(b.Percentile(100), 5'000'000);

  LogHistogram c = std::move(b);
  EXPECT_EQ(c.count(), 5u);
  EXPECT_EQ(b.count(), 0u);  // NOLINT(bugprone-use-after-move): documented
  EXPECT_EQ(b.allocated_blocks(), 0);
  b.Record(9);  // a moved-from histogram is usable
  EXPECT_EQ(b.Percentile(50), 9);

  LogHistogram d;
  d = a;
  EXPECT_EQ(d.Percentile(50), a.Percentile(50));
  d = std::move(c);
  EXPECT_EQ(d.count(), 5u);
  d = d;  // self-assignment keeps the data
  EXPECT_EQ(d.count(), 5u);
}

TEST(LogHistogramTest, MergeAddsCounts) {
  LogHistogram a, b;
  for (int64_t v = 1; v <= 50; ++v) a.Record(v);
  for (int64_t v = 51; v <= 100; ++v) b.Record(v * 1000);
  b.Record(-1);
  LogHistogram m = a;
  m.Merge(b);
  EXPECT_EQ(m.count(), 101u);
  EXPECT_EQ(m.min(), 1);
  EXPECT_EQ(m.max(), 100'000);
  EXPECT_EQ(m.underflow_count(), 1u);
  EXPECT_EQ(m.Percentile(50), 50);  // rank 51 of {1, 1..50, ...}

  LogHistogram empty;
  empty.Merge(b);
  EXPECT_EQ(empty.count(), b.count());
  EXPECT_EQ(empty.Percentile(90), b.Percentile(90));

  LogHistogram self = a;
  self.Merge(self);
  EXPECT_EQ(self.count(), 100u);
  EXPECT_EQ(self.Percentile(50), 25);
  EXPECT_EQ(self.max(), 50);
}

TEST(LogHistogramTest, SubtractLeavesTheRest) {
  // Every reply's RTTs less the late ones: the on-time ones, as if recorded alone.
  LogHistogram all, late, on_time;
  for (int64_t v = 20'000; v < 30'000; v += 100) {
    all.Record(v);
    on_time.Record(v);
  }
  for (int64_t v : {150'000, 170'003}) {
    all.Record(v);
    late.Record(v);
  }
  LogHistogram rest = all;
  rest.Subtract(late);
  EXPECT_EQ(rest.count(), on_time.count());
  EXPECT_EQ(rest.Percentile(50), on_time.Percentile(50));
  EXPECT_EQ(rest.min(), on_time.min()) << "the late ones never held the minimum: exact";
  // The maximum went with the late ones: the last remaining bucket's top bounds it.
  EXPECT_GE(rest.max(), on_time.max());
  EXPECT_EQ(LogHistogram::BucketIndex(rest.max()), LogHistogram::BucketIndex(on_time.max()));
  std::vector<std::pair<int64_t, uint64_t>> got, want;
  rest.ForEachBucket([&](int64_t low, int64_t, uint64_t n) { got.push_back({low, n}); });
  on_time.ForEachBucket([&](int64_t low, int64_t, uint64_t n) { want.push_back({low, n}); });
  EXPECT_EQ(got, want);

  LogHistogram none = late;
  none.Subtract(late);
  EXPECT_EQ(none.count(), 0u);
  EXPECT_EQ(none.min(), 0);
  EXPECT_EQ(none.max(), 0);
  none.ForEachBucket([](int64_t, int64_t, uint64_t) { ADD_FAILURE() << "a bucket left"; });

  LogHistogram self = all;
  self.Subtract(self);
  EXPECT_EQ(self.count(), 0u);

  // Samples that were never here take nothing below zero.
  LogHistogram small;
  small.Record(5);
  LogHistogram other;
  other.Record(5);
  other.Record(5);
  other.Record(900);
  small.Subtract(other);
  EXPECT_EQ(small.count(), 0u);
}

TEST(LogHistogramTest, ForEachBucketVisitsEverySampleInOrder) {
  LogHistogram h;
  for (int64_t v : {3, 3, 1000, 1'000'000, 1'000'001}) h.Record(v);
  uint64_t total = 0;
  int64_t last_high = -1;
  h.ForEachBucket([&](int64_t low, int64_t high, uint64_t n) {
    EXPECT_GT(low, last_high);
    EXPECT_LE(low, high);
    last_high = high;
    total += n;
  });
  EXPECT_EQ(total, h.count());
}

TEST(LogHistogramTest, ResetFreesMemory) {
  LogHistogram h;
  h.Record(1'000'000);
  h.Reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.MemoryBytes(), sizeof(LogHistogram));
}

}  // namespace
}  // namespace udpbeat::stats
