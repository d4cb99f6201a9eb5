#include "udpbeat/stats/jitter.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace udpbeat::stats {
namespace {

constexpr int64_t kMs = 1'000'000;

struct JitterCase {
  const char* name;
  std::vector<int64_t> samples_ns;
  // J after each sample, worked out by hand from J += (|D| - J) / 16.
  std::vector<double> expected_ns;
};

class InterarrivalJitterTest : public testing::TestWithParam<JitterCase> {};

TEST_P(InterarrivalJitterTest, MatchesRfc3550) {
  const JitterCase& c = GetParam();
  ASSERT_EQ(c.samples_ns.size(), c.expected_ns.size());
  InterarrivalJitter j;
  for (size_t i = 0; i < c.samples_ns.size(); ++i) {
    j.Add(c.samples_ns[i]);
    EXPECT_DOUBLE_EQ(j.jitter_ns(), c.expected_ns[i]) << "after sample " << i;
    EXPECT_EQ(j.count(), i + 1);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InterarrivalJitterTest,
    testing::Values(
        // 10, 12, 11, 15 ms: D = +2, -1, +4 ms.
        //   J1 = 0 + (2 ms - 0) / 16                 = 0.125 ms
        //   J2 = 0.125 + (1 - 0.125) / 16 ms         = 0.1796875 ms
        //   J3 = 0.1796875 + (4 - 0.1796875) / 16 ms = 0.41845703125 ms
        JitterCase{"rfc3550_example",
                   {10 * kMs, 12 * kMs, 11 * kMs, 15 * kMs},
                   {0, 125'000, 179'687.5, 418'457.03125}},
        JitterCase{"constant", {5 * kMs, 5 * kMs, 5 * kMs}, {0, 0, 0}},
        // |D| = 16 every time: J_n = 16 (1 - (15/16)^n).
        JitterCase{"alternating", {0, 16, 0, 16}, {0, 1, 1.9375, 2.81640625}},
        // Negative samples are fine (transit times with a clock offset).
        JitterCase{"negative", {-100, 60}, {0, 10}}),
    [](const testing::TestParamInfo<JitterCase>& info) {
      return std::string(info.param.name);
    });

TEST(InterarrivalJitterTest, ExtremesDoNotOverflow) {
  InterarrivalJitter j;
  j.Add(std::numeric_limits<int64_t>::min());
  j.Add(std::numeric_limits<int64_t>::max());
  EXPECT_DOUBLE_EQ(j.jitter_ns(), std::ldexp(1.0, 64) / 16);
}

TEST(InterarrivalJitterTest, MergeIsCountWeightedMean) {
  InterarrivalJitter a, b;
  for (int64_t x : {0, 16, 0, 16}) a.Add(x);  // J = 2.81640625, n = 4
  for (int64_t x : {0, 160}) b.Add(x);        // J = 10, n = 2
  InterarrivalJitter merged = a;
  merged.Merge(b);
  EXPECT_EQ(merged.count(), 6u);
  EXPECT_DOUBLE_EQ(merged.jitter_ns(), (2.81640625 * 4 + 10 * 2) / 6);

  InterarrivalJitter empty;
  InterarrivalJitter c = a;
  c.Merge(empty);
  EXPECT_DOUBLE_EQ(c.jitter_ns(), a.jitter_ns());
  empty.Merge(b);
  EXPECT_DOUBLE_EQ(empty.jitter_ns(), 10);
  EXPECT_EQ(empty.count(), 2u);
}

}  // namespace
}  // namespace udpbeat::stats
