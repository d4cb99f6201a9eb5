#include "udpbeat/detect/miss_detector.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace udpbeat::detect {
namespace {

TEST(MissDetectorTest, StartsWithNoMisses) {
  MissDetector m(3);
  EXPECT_EQ(m.k(), 3);
  EXPECT_EQ(m.consecutive_misses(), 0);
  EXPECT_FALSE(m.suspect());
  EXPECT_FALSE(m.down());
}

TEST(MissDetectorTest, DefaultIsTheLabsThree) {
  EXPECT_EQ(MissDetector().k(), 3);
}

TEST(MissDetectorTest, KBelowOneMeansOne) {
  EXPECT_EQ(MissDetector(0).k(), 1);
  EXPECT_EQ(MissDetector(-5).k(), 1);
  MissDetector m(0);
  m.OnMiss();
  EXPECT_TRUE(m.down());
}

struct MissScript {
  std::string name;
  int k;
  std::string events;            // 'R' on-time reply, 'M' miss
  std::vector<int> consecutive;  // after each event
  std::string down;              // after each event: 'D' down, '.' not
};

class MissDetectorScriptTest : public testing::TestWithParam<MissScript> {};

TEST_P(MissDetectorScriptTest, FollowsScript) {
  const MissScript& s = GetParam();
  ASSERT_EQ(s.events.size(), s.consecutive.size());
  ASSERT_EQ(s.events.size(), s.down.size());
  MissDetector m(s.k);
  for (size_t i = 0; i < s.events.size(); ++i) {
    if (s.events[i] == 'R') {
      m.OnReply();
    } else {
      m.OnMiss();
    }
    EXPECT_EQ(m.consecutive_misses(), s.consecutive[i]) << "event " << i;
    EXPECT_EQ(m.down(), s.down[i] == 'D') << "event " << i;
    EXPECT_EQ(m.suspect(), s.consecutive[i] >= 1) << "event " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MissDetectorScriptTest,
    testing::Values(
        // Down after exactly K = 3, back on the first reply.
        MissScript{"Lab", 3, "RMMMMR", {0, 1, 2, 3, 4, 0}, "...DD."},
        // Scattered misses never add up: the count is consecutive.
        MissScript{
            "Scattered", 3, "MMRMMRMM", {1, 2, 0, 1, 2, 0, 1, 2}, "........"},
        MissScript{"KOne", 1, "MRM", {1, 0, 1}, "D.D"},
        MissScript{"KFive", 5, "MMMMMMR", {1, 2, 3, 4, 5, 6, 0}, "....DD."}),
    [](const testing::TestParamInfo<MissScript>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace udpbeat::detect
