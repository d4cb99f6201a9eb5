#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "udpbeat/cli/number_arg.h"
#include "udpbeat/cli/suggest.h"

namespace udpbeat {
namespace {

TEST(ParseWholeArgTest, DigitsInRange) {
  EXPECT_EQ(*ParseWholeArg("0", 0, 10), 0u);
  EXPECT_EQ(*ParseWholeArg("10", 0, 10), 10u);
  EXPECT_EQ(*ParseWholeArg("007", 0, 10), 7u);
  EXPECT_EQ(*ParseWholeArg("18446744073709551615", 0, std::numeric_limits<uint64_t>::max()),
            std::numeric_limits<uint64_t>::max());
}

TEST(ParseWholeArgTest, RefusalsGiveTheRange) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"11", "'11' is out of range: give 1 to 10"},
      {"0", "'0' is out of range: give 1 to 10"},
      {"-1", "'-1' is out of range: give 1 to 10"},
      {"4294967297", "'4294967297' is out of range: give 1 to 10"},
      {"99999999999999999999999", "'99999999999999999999999' is out of range: give 1 to 10"},
      {"", "'' is not a whole number: give 1 to 10"},
      {"+5", "'+5' is not a whole number: give 1 to 10"},
      {" 5", "' 5' is not a whole number: give 1 to 10"},
      {"5 ", "'5 ' is not a whole number: give 1 to 10"},
      {"1e3", "'1e3' is not a whole number: give 1 to 10"},
      {"0x10", "'0x10' is not a whole number: give 1 to 10"},
      {"2.0", "'2.0' is not a whole number: give 1 to 10"},
      {"-", "'-' is not a whole number: give 1 to 10"},
  };
  for (const Case& c : cases) {
    auto got = ParseWholeArg(c.text, 1, 10);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_EQ(std::string(got.status().message()), c.message);
  }
}

TEST(ParseWholeOrHexArgTest, DecimalOrHex) {
  EXPECT_EQ(*ParseWholeOrHexArg("32", 0, 255), 32u);
  EXPECT_EQ(*ParseWholeOrHexArg("040", 0, 255), 40u);  // decimal, never octal
  EXPECT_EQ(*ParseWholeOrHexArg("0x20", 0, 255), 32u);
  EXPECT_EQ(*ParseWholeOrHexArg("0XfF", 0, 255), 255u);
  EXPECT_EQ(*ParseWholeOrHexArg("0x0", 0, 255), 0u);
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"0x100", "'0x100' is out of range: give 0 to 255"},
      {"0xffffffffffffffffff", "'0xffffffffffffffffff' is out of range: give 0 to 255"},
      {"256", "'256' is out of range: give 0 to 255"},
      {"0x", "'0x' is not a whole number: give 0 to 255"},
      {"0xg1", "'0xg1' is not a whole number: give 0 to 255"},
      {"0x-1", "'0x-1' is not a whole number: give 0 to 255"},
      {"0x 1", "'0x 1' is not a whole number: give 0 to 255"},
      {"x20", "'x20' is not a whole number: give 0 to 255"},
  };
  for (const Case& c : cases) {
    auto got = ParseWholeOrHexArg(c.text, 0, 255);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_EQ(std::string(got.status().message()), c.message);
  }
}

TEST(ParseRealArgTest, DecimalForms) {
  EXPECT_DOUBLE_EQ(*ParseRealArg("0.364", 0, 1), 0.364);
  EXPECT_DOUBLE_EQ(*ParseRealArg(".5", 0, 1), 0.5);
  EXPECT_DOUBLE_EQ(*ParseRealArg("1.", 0, 1), 1.0);
  EXPECT_DOUBLE_EQ(*ParseRealArg("1e6", 0, 1e9), 1e6);
  EXPECT_DOUBLE_EQ(*ParseRealArg("2E-3", 0.001, 1e9), 0.002);
  EXPECT_DOUBLE_EQ(*ParseRealArg("1000000000", 0.001, 1e9), 1e9);
}

TEST(ParseRealArgTest, RefusalsGiveTheRange) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"1e20", "'1e20' is out of range: give 0.001 to 1000000000"},
      {"1e999", "'1e999' is out of range: give 0.001 to 1000000000"},
      {"1e-999", "'1e-999' is out of range: give 0.001 to 1000000000"},
      {"0", "'0' is out of range: give 0.001 to 1000000000"},
      {"-1", "'-1' is out of range: give 0.001 to 1000000000"},
      {"inf", "'inf' is not a number: give 0.001 to 1000000000"},
      {"nan", "'nan' is not a number: give 0.001 to 1000000000"},
      {"0x1p3", "'0x1p3' is not a number: give 0.001 to 1000000000"},
      {"1e", "'1e' is not a number: give 0.001 to 1000000000"},
      {"+1", "'+1' is not a number: give 0.001 to 1000000000"},
      {".", "'.' is not a number: give 0.001 to 1000000000"},
      {"", "'' is not a number: give 0.001 to 1000000000"},
      {"1,5", "'1,5' is not a number: give 0.001 to 1000000000"},
  };
  for (const Case& c : cases) {
    auto got = ParseRealArg(c.text, 0.001, 1e9);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_EQ(std::string(got.status().message()), c.message);
  }
}

TEST(FormatRealTest, NoExponent) {
  EXPECT_EQ(FormatReal(1e9), "1000000000");
  EXPECT_EQ(FormatReal(0.001), "0.001");
  EXPECT_EQ(FormatReal(0.1), "0.1");
  EXPECT_EQ(FormatReal(100), "100");
  EXPECT_EQ(FormatReal(501), "501");
}

TEST(SuggestTest, EditDistance) {
  EXPECT_EQ(EditDistance("ping", "ping"), 0u);
  EXPECT_EQ(EditDistance("pnig", "ping"), 1u);  // a swap of neighbours is one edit
  EXPECT_EQ(EditDistance("--procto", "--proto"), 1u);
  EXPECT_EQ(EditDistance("--JSON", "--json"), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("serve", "ping"), 5u);
}

TEST(SuggestTest, ClosestMatch) {
  const std::vector<std::string> subs = {"serve", "ping", "heartbeat", "help"};
  EXPECT_EQ(ClosestMatch("pnig", subs), "ping");
  EXPECT_EQ(ClosestMatch("hearbeat", subs), "heartbeat");
  EXPECT_EQ(ClosestMatch("srve", subs), "serve");
  EXPECT_EQ(ClosestMatch("bogus", subs), "");
  EXPECT_EQ(ClosestMatch("hepl", subs), "help");
  const std::vector<std::string> opts = {"--metrics-file", "--metrics-interval", "--misses"};
  EXPECT_EQ(ClosestMatch("--metric-file", opts), "--metrics-file");
  EXPECT_EQ(ClosestMatch("--mises", opts), "--misses");
  // Two edits only for words of six letters or more.
  EXPECT_EQ(ClosestMatch("--mssis", opts), "");
  EXPECT_EQ(ClosestMatch("--metrcs-fle", opts), "--metrics-file");
}

}  // namespace
}  // namespace udpbeat
