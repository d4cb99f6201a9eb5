#include "udpbeat/time/duration_parse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>

namespace udpbeat {
namespace {

constexpr Nanos kMinute = 60 * kNanosPerSecond;
constexpr Nanos kHour = 60 * kMinute;
constexpr Nanos kInt64Max = std::numeric_limits<Nanos>::max();

struct Case {
  const char* text;
  Nanos want;
};
void PrintTo(const Case& c, std::ostream* os) { *os << "'" << c.text << "'"; }

class DurationParseOk : public testing::TestWithParam<Case> {};

TEST_P(DurationParseOk, ParsesExactly) {
  auto d = ParseDurationArg(GetParam().text, 0, kInt64Max);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, DurationParseOk,
    testing::Values(
        Case{"250ms", 250 * kNanosPerMilli}, Case{"1.5s", 1'500 * kNanosPerMilli},
        Case{"2", 2 * kNanosPerSecond}, Case{"0.01", 10 * kNanosPerMilli},
        Case{"0.2", 200 * kNanosPerMilli}, Case{"10us", 10 * kNanosPerMicro},
        Case{"1\xC2\xB5s", kNanosPerMicro},  // U+00B5 MICRO SIGN
        Case{"1\xCE\xBCs", kNanosPerMicro},  // U+03BC GREEK SMALL LETTER MU
        Case{"1ns", 1}, Case{"2m", 2 * kMinute}, Case{"1.5h", 90 * kMinute},
        Case{"24h", 24 * kHour}, Case{"0", 0}, Case{"0s", 0}, Case{"0.0", 0},
        Case{".5", 500 * kNanosPerMilli}, Case{"5.", 5 * kNanosPerSecond},
        Case{"000010s", 10 * kNanosPerSecond},
        // Exact decimals, no double on the way: 0.1 has no exact binary form.
        Case{"0.1s", 100'000'000}, Case{"0.000000001", 1}, Case{"0.000001ms", 1},
        Case{"0.5us", 500}, Case{"1.000000001s", 1'000'000'001},
        Case{"1.000000000000000000000000000s", kNanosPerSecond},  // zeros below 1ns are exact
        Case{"0.000000000025h", 90},  // 12 fraction digits, still whole nanoseconds
        Case{"0.0000000000025h", 9},  // 13 digits: the most any unit allows (1h = 2^13 * ...)
        Case{"9223372036854775807ns", kInt64Max}, Case{"9223372036.854775807s", kInt64Max},
        Case{"2562047h", 2'562'047 * kHour}));

struct Bad {
  const char* text;
  const char* message;
};
void PrintTo(const Bad& b, std::ostream* os) { *os << "'" << b.text << "'"; }

class DurationParseBad : public testing::TestWithParam<Bad> {};

// The one-argument form: range 0 to kMaxDurationArg (876000h).
TEST_P(DurationParseBad, RefusesWithOneClearMessage) {
  auto d = ParseDurationArg(GetParam().text);
  ASSERT_FALSE(d.ok()) << GetParam().text << " gave " << *d;
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(), GetParam().message);
}

#define USAGE " (use e.g. 250ms, 1.5s or 2)"
#define COMPOUND ": give one number and one unit (e.g. 90s, not 1m30s)"
#define EXPONENT ": exponents are not accepted (use e.g. 0.001 or 1ms)"

INSTANTIATE_TEST_SUITE_P(
    Forms, DurationParseBad,
    testing::Values(
        // Past int64 nanoseconds, which used to wrap, and past the default range.
        Bad{"9223372000s", "'9223372000s' is out of range: give 0 to 876000h"},
        Bad{"2562048h", "'2562048h' is out of range: give 0 to 876000h"},
        Bad{"99999999999h", "'99999999999h' is out of range: give 0 to 876000h"},
        Bad{"99999999999999999999999999s",
            "'99999999999999999999999999s' is out of range: give 0 to 876000h"},
        Bad{"1e300", "invalid duration '1e300'" EXPONENT},
        // Compound and repeated units.
        Bad{"1s1s", "invalid duration '1s1s'" COMPOUND},
        Bad{"5ms10s", "invalid duration '5ms10s'" COMPOUND},
        Bad{"1m30s", "invalid duration '1m30s'" COMPOUND},
        Bad{"1h.5m", "invalid duration '1h.5m'" COMPOUND},
        // Number forms of strtod, not of a duration.
        Bad{"0x10", "invalid duration '0x10'" USAGE},
        Bad{"0x1p3", "invalid duration '0x1p3'" USAGE},
        Bad{"1e-3", "invalid duration '1e-3'" EXPONENT},
        Bad{"1E3s", "invalid duration '1E3s'" EXPONENT},
        Bad{"1e+3", "invalid duration '1e+3'" EXPONENT}, Bad{"inf", "invalid duration 'inf'" USAGE},
        Bad{"nan", "invalid duration 'nan'" USAGE}, Bad{"infs", "invalid duration 'infs'" USAGE},
        // Signs.
        Bad{"-1", "'-1' is negative: give 0 to 876000h"},
        Bad{"-5ms", "'-5ms' is negative: give 0 to 876000h"},
        Bad{"-.5", "'-.5' is negative: give 0 to 876000h"},
        Bad{"+1", "invalid duration '+1': no sign is accepted"},
        Bad{"-", "invalid duration '-'" USAGE}, Bad{"+", "invalid duration '+'" USAGE},
        // Finer than the clock.
        Bad{"1.5ns", "'1.5ns' is finer than 1ns"},
        Bad{"1.0000000001s", "'1.0000000001s' is finer than 1ns"},
        Bad{"0.0000000000001h", "'0.0000000000001h' is finer than 1ns"},
        Bad{"0.0000000000000000000001s", "'0.0000000000000000000001s' is finer than 1ns"},
        // Everything else.
        Bad{"", "invalid duration ''" USAGE}, Bad{".", "invalid duration '.'" USAGE},
        Bad{"s", "invalid duration 's'" USAGE}, Bad{"ms", "invalid duration 'ms'" USAGE},
        Bad{"abc", "invalid duration 'abc'" USAGE}, Bad{"1x", "invalid duration '1x'" USAGE},
        Bad{"1e", "invalid duration '1e'" USAGE}, Bad{"1S", "invalid duration '1S'" USAGE},
        Bad{"1sec", "invalid duration '1sec'" USAGE}, Bad{" 1s", "invalid duration ' 1s'" USAGE},
        Bad{"1s ", "invalid duration '1s '" USAGE}, Bad{"1 s", "invalid duration '1 s'" USAGE},
        Bad{"1..5", "invalid duration '1..5'" USAGE},
        Bad{"1.5.3s", "invalid duration '1.5.3s'" USAGE},
        Bad{"1,5s", "invalid duration '1,5s'" USAGE}));

TEST(DurationParseRange, MaxIsIncludedAndOneNanosecondMoreIsNot) {
  EXPECT_EQ(*ParseDurationArg("24h", 0, 24 * kHour), 24 * kHour);
  EXPECT_EQ(*ParseDurationArg("86400s", 0, 24 * kHour), 24 * kHour);
  auto d = ParseDurationArg("86400.000000001s", 0, 24 * kHour);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "'86400.000000001s' is out of range: give 0 to 24h");
  d = ParseDurationArg("9223372000s", 0, 24 * kHour);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "'9223372000s' is out of range: give 0 to 24h");
}

TEST(DurationParseRange, MinIsIncludedAndOneNanosecondLessIsNot) {
  EXPECT_EQ(*ParseDurationArg("1ms", kNanosPerMilli, kNanosPerSecond), kNanosPerMilli);
  auto d = ParseDurationArg("999999ns", kNanosPerMilli, kNanosPerSecond);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "'999999ns' is out of range: give 1ms to 1s");
  d = ParseDurationArg("0", kNanosPerMilli, 1'500 * kNanosPerMilli);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "'0' is out of range: give 1ms to 1.5s");
}

TEST(DurationParseRange, Int64Boundary) {
  EXPECT_EQ(*ParseDurationArg("9223372036.854775807s", 0, kInt64Max), kInt64Max);
  for (const char* text :
       {"9223372036.854775808s", "9223372036854775808ns", "18446744073709551616ns", "2562048h"}) {
    auto d = ParseDurationArg(text, 0, kInt64Max);
    ASSERT_FALSE(d.ok()) << text << " gave " << *d;
    EXPECT_EQ(d.status().message(),
              std::string("'") + text + "' is out of range: give 0 to 9223372036.854775807s");
  }
}

TEST(DurationParseRange, TheDefaultRangeIsZeroToOneHundredYears) {
  EXPECT_EQ(kMaxDurationArg, Nanos{876'000} * kHour);
  EXPECT_EQ(*ParseDurationArg("876000h"), kMaxDurationArg);
  EXPECT_FALSE(ParseDurationArg("876000.000000000001h").ok());
  EXPECT_FALSE(ParseDurationArg("3153600000.000000001").ok());
}

TEST(DurationParseRange, AnImpossibleRangeRefusesEverything) {
  auto d = ParseDurationArg("1s", 2 * kNanosPerSecond, kNanosPerSecond);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "duration '1s': invalid range 2000000000ns to 1000000000ns");
  EXPECT_FALSE(ParseDurationArg("0", -1, kNanosPerSecond).ok());
}

struct Formatted {
  Nanos ns;
  const char* text;
};
void PrintTo(const Formatted& f, std::ostream* os) { *os << f.ns; }

class FormatDurationTest : public testing::TestWithParam<Formatted> {};

TEST_P(FormatDurationTest, FormatsAndReadsBack) {
  EXPECT_EQ(FormatDuration(GetParam().ns), GetParam().text);
  if (GetParam().ns < 0) return;
  auto back = ParseDurationArg(FormatDuration(GetParam().ns), 0, kInt64Max);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, GetParam().ns);
}

INSTANTIATE_TEST_SUITE_P(
    Values, FormatDurationTest,
    testing::Values(
        Formatted{0, "0"}, Formatted{1, "1ns"}, Formatted{999, "999ns"}, Formatted{1'000, "1us"},
        Formatted{1'500, "1.5us"}, Formatted{1'000'001, "1.000001ms"},
        Formatted{250 * kNanosPerMilli, "250ms"}, Formatted{1'500 * kNanosPerMilli, "1.5s"},
        Formatted{90 * kNanosPerSecond, "90s"}, Formatted{2 * kMinute, "2m"},
        Formatted{90 * kMinute, "90m"}, Formatted{24 * kHour, "24h"},
        Formatted{24 * kHour + 1, "86400.000000001s"}, Formatted{kMaxDurationArg, "876000h"},
        Formatted{kInt64Max, "9223372036.854775807s"}, Formatted{-1'500 * kNanosPerMilli, "-1.5s"},
        Formatted{std::numeric_limits<Nanos>::min(), "-9223372036.854775808s"}));

}  // namespace
}  // namespace udpbeat
