#include "udpbeat/time/duration_parse.h"

#include <gtest/gtest.h>

namespace udpbeat {
namespace {

struct Case {
  const char* text;
  Nanos want;
};

class DurationParseOk : public testing::TestWithParam<Case> {};

TEST_P(DurationParseOk, Parses) {
  auto d = ParseDurationArg(GetParam().text);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(Forms, DurationParseOk,
                         testing::Values(Case{"250ms", 250 * kNanosPerMilli},
                                         Case{"1.5s", 1'500 * kNanosPerMilli},
                                         Case{"2", 2 * kNanosPerSecond},
                                         Case{"0.01", 10 * kNanosPerMilli},
                                         Case{"10us", 10 * kNanosPerMicro},
                                         Case{"1m30s", 90 * kNanosPerSecond},
                                         Case{"0", 0}));

class DurationParseBad : public testing::TestWithParam<const char*> {};

TEST_P(DurationParseBad, Rejects) {
  auto d = ParseDurationArg(GetParam());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Forms, DurationParseBad,
                         testing::Values("abc", "", "-1", "-5ms", "1x", "inf", "nan", "1e300"));

}  // namespace
}  // namespace udpbeat
