// PlotFeed: a heartbeat run's state changes become the plot's grey bands, and its title
// says which targets the marks are. A band is the time any target was down.
#include "../../../src/modes/plot_feed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>

namespace udpbeat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr Nanos kSec = kNanosPerSecond;
const WallTime kT0 = WallTime::FromNanos(1'700'000'000 * kSec);

detect::Transition Change(detect::State from, detect::State to) {
  detect::Transition t;
  t.from = from;
  t.to = to;
  return t;
}
const detect::Transition kDown = Change(detect::State::kSuspect, detect::State::kDown);
const detect::Transition kUp = Change(detect::State::kDown, detect::State::kUp);

measure::RunResult TwoTargets() {
  measure::RunResult r;
  r.targets.resize(2);
  r.targets[0].info.name = "a:1";
  r.targets[1].info.name = "b:1";
  r.total_heartbeat = measure::HeartbeatFigures();
  return r;
}

// The <g id="down"> group of the SVG of `feed`'s 6 s run.
std::string DownBands(PlotFeed& feed) {
  const std::string path = ::testing::TempDir() + "/plot_feed_test.svg";
  EXPECT_TRUE(feed.Write(path, "t", kT0 + 6 * kSec, kSec, true, TwoTargets()).ok());
  std::ifstream in(path);
  std::stringstream svg;
  svg << in.rdbuf();
  const std::string s = svg.str();
  const size_t from = s.find("<g id=\"down\"");
  if (from == std::string::npos) return "";
  return s.substr(from, s.find("</g>", from) - from);
}

// The same, for a run whose targets changed state as `changes` say: down (true) or up,
// at a second of the run each.
std::string DownBands(std::initializer_list<std::pair<bool, int>> changes) {
  PlotFeed feed(kT0);
  for (const auto& [down, second] : changes)
    feed.Transition(down ? kDown : kUp, kT0 + second * kSec);
  return DownBands(feed);
}

TEST(PlotFeedTest, OverlappingOutagesOfTwoTargetsAreOneBand) {
  // Down A, down B, up A, up B: shaded from A's down to B's up.
  const std::string bands = DownBands({{true, 1}, {true, 2}, {false, 3}, {false, 4}});
  EXPECT_THAT(bands, HasSubstr("<title>a target down 1.000 s - 4.000 s (3 s)</title>"));
  EXPECT_THAT(bands, Not(HasSubstr("3.000 s -")));
}

TEST(PlotFeedTest, ATargetStillDownAtTheEndIsShadedToTheEnd) {
  // Down A, down B, up B: A's outage runs to the run's end.
  EXPECT_THAT(DownBands({{true, 1}, {true, 2}, {false, 3}}),
              HasSubstr("<title>a target down 1.000 s - 6.000 s (5 s)</title>"));
}

TEST(PlotFeedTest, ATargetRemovedWhileDownEndsItsBand) {
  // Down A at 1 s; a reload at 3 s removes A (no target down any more): the band ends
  // there, not at the run's end, though A never said it was up.
  PlotFeed feed(kT0);
  feed.Transition(kDown, kT0 + 1 * kSec);
  feed.Watching(0, kT0 + 3 * kSec);
  EXPECT_THAT(DownBands(feed), HasSubstr("<title>a target down 1.000 s - 3.000 s (2 s)</title>"));
}

TEST(PlotFeedTest, OutagesApartAreBandsApart) {
  const std::string bands = DownBands({{true, 1}, {false, 2}, {true, 3}, {false, 4}});
  EXPECT_THAT(bands, HasSubstr("<title>a target down 1.000 s - 2.000 s (1 s)</title>"));
  EXPECT_THAT(bands, HasSubstr("<title>a target down 3.000 s - 4.000 s (1 s)</title>"));
}

TEST(PlotTitleTest, NamesAFewTargetsAndCountsMore) {
  measure::RunResult r = TwoTargets();
  EXPECT_EQ(PlotTitle("ping", {r.targets[0]}, "stamp"), "udpbeat ping a:1 (stamp)");
  EXPECT_EQ(PlotTitle("heartbeat", r.targets, "seed"), "udpbeat heartbeat a:1, b:1 (seed)");
  r.targets.resize(3);
  r.targets[2].info.name = "c:1";
  EXPECT_EQ(PlotTitle("ping", r.targets, "stamp"), "udpbeat ping a:1, b:1, c:1 (stamp)");
  r.targets.resize(4);
  EXPECT_EQ(PlotTitle("ping", r.targets, "stamp"), "udpbeat ping 4 targets (stamp)");
}

}  // namespace
}  // namespace udpbeat
