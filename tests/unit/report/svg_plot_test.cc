#include "udpbeat/report/svg_plot.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "svg_plot_result.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/stats/histogram.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr Nanos kMs = kNanosPerMilli;
constexpr Nanos kSec = kNanosPerSecond;

// --- A little SVG reading: enough to find groups, elements and attributes by id. ---

// The text of the element with id="`id`", start tag to its matching end tag (nested
// elements of the same tag counted); "" when absent.
std::string Element(const std::string& svg, const std::string& id) {
  const size_t at = svg.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const size_t start = svg.rfind('<', at);
  const size_t name_end = svg.find_first_of(" >", start);
  const std::string tag = svg.substr(start + 1, name_end - start - 1);
  const size_t first_close = svg.find('>', at);
  if (svg[first_close - 1] == '/') return svg.substr(start, first_close + 1 - start);
  int depth = 0;
  for (size_t i = start; i < svg.size(); ++i) {
    if (svg.compare(i, tag.size() + 2, "</" + tag) == 0) {
      if (--depth == 0) return svg.substr(start, svg.find('>', i) + 1 - start);
    } else if (svg.compare(i, tag.size() + 1, "<" + tag) == 0 &&
               (svg[i + tag.size() + 1] == ' ' || svg[i + tag.size() + 1] == '>')) {
      ++depth;
    }
  }
  return "";
}

bool Has(const std::string& svg, const std::string& id) {
  return svg.find("id=\"" + id + "\"") != std::string::npos;
}

using Attrs = std::map<std::string, std::string>;

// Every <tag ...> in `text`, with its attributes.
std::vector<Attrs> Tags(const std::string& text, const std::string& tag) {
  std::vector<Attrs> out;
  const std::regex element("<" + tag + "\\b([^>]*)>");
  const std::regex attr("([a-zA-Z][a-zA-Z0-9:-]*)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), element);
       it != std::sregex_iterator(); ++it) {
    Attrs a;
    const std::string body = (*it)[1];
    for (auto jt = std::sregex_iterator(body.begin(), body.end(), attr);
         jt != std::sregex_iterator(); ++jt) {
      a[(*jt)[1]] = (*jt)[2];
    }
    out.push_back(a);
  }
  return out;
}

double Num(const Attrs& a, const std::string& key) {
  const auto it = a.find(key);
  EXPECT_NE(it, a.end()) << "no attribute " << key;
  return it == a.end() ? 0 : std::strtod(it->second.c_str(), nullptr);
}

struct Tick {
  std::string label;
  double x, y;
};

// The tick labels (<text class="tick">) inside the element with id `id`.
std::vector<Tick> Ticks(const std::string& svg, const std::string& id) {
  std::vector<Tick> out;
  const std::string g = Element(svg, id);
  const std::regex text(
      "<text x=\"([-0-9.]+)\" y=\"([-0-9.]+)\"[^>]*class=\"tick\"[^>]*>([^<]*)</text>");
  for (auto it = std::sregex_iterator(g.begin(), g.end(), text); it != std::sregex_iterator();
       ++it) {
    out.push_back({(*it)[3], std::strtod((*it)[1].str().c_str(), nullptr),
                   std::strtod((*it)[2].str().c_str(), nullptr)});
  }
  return out;
}

// The x of the x-axis tick labelled `label` (fails the test when there is none).
double TickX(const std::string& svg, const std::string& label) {
  for (const Tick& t : Ticks(svg, "x-axis")) {
    if (t.label == label) return t.x;
  }
  ADD_FAILURE() << "no x tick labelled " << label;
  return -1;
}

// The y of the RTT axis tick labelled `label`, at the line it labels (text baseline - 4).
double TickY(const std::string& svg, const std::string& label) {
  for (const Tick& t : Ticks(svg, "y-axis")) {
    if (t.label == label) return t.y - 4;
  }
  ADD_FAILURE() << "no y tick labelled " << label;
  return -1;
}

// --- Runs. ---

struct SyntheticRun {
  RecordedRun rec;
  PlotOptions opt;
  std::string Render() const { return RenderSvg(rec, ResultOf(rec, opt.heartbeat), opt); }
};

// A 6 s ping at 20 ms, 100 ms timeout: RTT 20..35 ms, lates sent at 1.00..1.18 s, losses
// sent at 2.00..2.38 s.
void PingRun(SyntheticRun& r) {
  r.opt.title = "ping";
  r.opt.duration = 6 * kSec;
  r.opt.timeout = 100 * kMs;
  for (Nanos t = 0; t < r.opt.duration; t += 20 * kMs) {
    if (t >= 1000 * kMs && t < 1200 * kMs) {
      r.rec.AddLate(t, 150 * kMs);
    } else if (t >= 2000 * kMs && t < 2400 * kMs) {
      r.rec.AddLoss(t);
    } else {
      const Nanos rtt = 20 * kMs + (t / (20 * kMs)) % 15 * kMs;
      r.rec.AddReply(t, rtt);
    }
  }
}

TEST(SvgPlotTest, StableIdsPresent) {
  SyntheticRun r;
  PingRun(r);
  const std::string svg = r.Render();
  for (const char* id :
       {"rtt-panel", "replies", "late", "lost", "timeout-line", "legend", "x-axis", "y-axis",
        "distribution", "dist-bars", "dist-count-axis", "dist-x-axis", "data-area", "lost-lane"}) {
    EXPECT_TRUE(Has(svg, id)) << id;
  }
  EXPECT_FALSE(Has(svg, "down")) << "a ping run has no down periods";
  EXPECT_THAT(svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""));
}

TEST(SvgPlotTest, OneMarkPerEvent) {
  SyntheticRun r;
  PingRun(r);
  const std::string svg = r.Render();
  EXPECT_EQ(Tags(Element(svg, "replies"), "circle").size(), r.rec.replies().total());
  EXPECT_EQ(r.rec.replies().total(), 300u - 10 - 20);
  EXPECT_EQ(Tags(Element(svg, "late"), "path").size(), 10u);
  // 20 losses 20 ms apart: 20 marks, none merged.
  EXPECT_EQ(Tags(Element(svg, "lost"), "rect").size(), 20u);
}

// The reported bug: a 3 s run with a 1 s timeout drew a red bar from 1 s to 4 s (timeouts
// at their expiry, after sending stopped). Now each loss is at its send time.
TEST(SvgPlotTest, LossDrawnAtItsSendTime) {
  SyntheticRun r;
  r.opt.duration = 3 * kSec;
  r.opt.timeout = 1 * kSec;
  for (Nanos t = 0; t < 3 * kSec; t += 500 * kMs) r.rec.AddLoss(t);
  const std::string svg = r.Render();
  // Ticks every 0.5 s, labelled with one decimal.
  const double x0 = TickX(svg, "0.0"), x3 = TickX(svg, "3.0");
  const std::vector<Attrs> marks = Tags(Element(svg, "lost"), "rect");
  ASSERT_EQ(marks.size(), 6u);
  for (size_t i = 0; i < marks.size(); ++i) {
    const double sent = 0.5 * static_cast<double>(i);
    const double center = Num(marks[i], "x") + Num(marks[i], "width") / 2;
    EXPECT_NEAR(center, x0 + (x3 - x0) * sent / 3, 0.05) << "loss sent at " << sent << " s";
  }
  // The last probe was sent at 2.5 s: no mark reaches past it.
  const Attrs& last = marks.back();
  EXPECT_LT(Num(last, "x") + Num(last, "width"), x0 + (x3 - x0) * 2.5 / 3 + 1.5);
}

TEST(SvgPlotTest, XAxisFitsTheRun) {
  SyntheticRun r;
  r.opt.duration = 6 * kSec;
  r.rec.AddReply(0, 1 * kMs);
  r.rec.AddReply(5 * kSec, 1 * kMs);
  const std::string svg = r.Render();
  std::vector<std::string> labels;
  for (const Tick& t : Ticks(svg, "x-axis")) labels.push_back(t.label);
  EXPECT_THAT(labels, ::testing::ElementsAre("0", "1", "2", "3", "4", "5", "6"));
  const Attrs area = Tags(Element(svg, "data-area"), "rect").at(0);
  EXPECT_NEAR(TickX(svg, "0"), Num(area, "x"), 0.05);
  EXPECT_NEAR(TickX(svg, "6"), Num(area, "x") + Num(area, "width"), 0.05)
      << "a 6 s run's axis ends at 6 s, not 10 s";
  EXPECT_THAT(Element(svg, "x-axis"), HasSubstr("since the start (s)"));
}

TEST(SvgPlotTest, XAxisEndLabelledWhenNotATick) {
  SyntheticRun r;
  r.opt.duration = 13 * kSec;
  r.rec.AddReply(0, 1 * kMs);
  const std::string svg = r.Render();
  std::vector<std::string> labels;
  for (const Tick& t : Ticks(svg, "x-axis")) labels.push_back(t.label);
  EXPECT_THAT(labels, ::testing::ElementsAre("0", "2", "4", "6", "8", "10", "12", "13"));
}

TEST(SvgPlotTest, XAxisWithoutDurationFitsTheData) {
  SyntheticRun r;
  r.rec.AddReply(0, 1 * kMs);
  r.rec.AddLoss(2500 * kMs);
  const std::string svg = r.Render();
  const Attrs area = Tags(Element(svg, "data-area"), "rect").at(0);
  const Attrs mark = Tags(Element(svg, "lost"), "rect").at(0);
  EXPECT_NEAR(Num(mark, "x") + Num(mark, "width") / 2, Num(area, "x") + Num(area, "width"), 0.05);
}

TEST(SvgPlotTest, CountAxisHasIntegerTicksOnly) {
  for (int n : {1, 2, 3, 5, 7, 13, 1000}) {
    SyntheticRun r;
    r.opt.duration = 1 * kSec;
    for (int i = 0; i < n; ++i) {
      r.rec.AddReply(i * kMs, 10 * kMs);
    }
    const std::string svg = r.Render();
    const std::vector<Tick> ticks = Ticks(svg, "dist-count-axis");
    ASSERT_GE(ticks.size(), 2u) << n;
    long previous = -1;
    for (const Tick& t : ticks) {
      EXPECT_THAT(t.label, ::testing::MatchesRegex("[0-9]+")) << n << " replies";
      const long v = std::strtol(t.label.c_str(), nullptr, 10);
      EXPECT_GT(v, previous) << "labels repeat: " << n << " replies";
      previous = v;
    }
    EXPECT_GE(previous, n) << "the count axis reaches the tallest bar";
  }
}

TEST(SvgPlotTest, LegendNamesOnlyMarksDrawn) {
  SyntheticRun r;
  r.opt.duration = 1 * kSec;
  r.rec.AddReply(0, 1 * kMs);
  std::string svg = r.Render();
  EXPECT_TRUE(Has(svg, "legend-reply"));
  for (const char* id : {"legend-late", "legend-lost", "legend-timeout", "legend-down", "late",
                         "lost", "timeout-line", "down"}) {
    EXPECT_FALSE(Has(svg, id)) << id;
  }

  r.opt.timeout = 5 * kMs;
  svg = r.Render();
  EXPECT_TRUE(Has(svg, "legend-timeout"));
  EXPECT_TRUE(Has(svg, "timeout-line"));
  EXPECT_FALSE(Has(svg, "legend-lost"));

  r.rec.AddLoss(500 * kMs);
  r.rec.AddLate(600 * kMs, 7 * kMs);
  r.opt.heartbeat = true;
  r.rec.AddDownPeriod(400 * kMs, 700 * kMs);
  svg = r.Render();
  for (const char* id :
       {"legend-reply", "legend-late", "legend-lost", "legend-timeout", "legend-down", "down"}) {
    EXPECT_TRUE(Has(svg, id)) << id;
  }
  EXPECT_THAT(Element(svg, "legend-lost"), HasSubstr("missed (1)"));
}

TEST(SvgPlotTest, NothingRecordedStillRenders) {
  SyntheticRun r;
  const std::string svg = r.Render();
  EXPECT_FALSE(Has(svg, "legend"));
  EXPECT_THAT(svg, HasSubstr("no replies"));
  EXPECT_THAT(svg, HasSubstr("</svg>"));
}

TEST(SvgPlotTest, TimeoutLineOnOneLinearAxisWhenNearTheRtts) {
  SyntheticRun r;
  PingRun(r);  // RTT up to 34 ms, timeout 100 ms: within 4x
  const std::string svg = r.Render();
  EXPECT_FALSE(Has(svg, "axis-break"));
  const Attrs line = Tags(Element(svg, "timeout-line"), "line").at(0);
  EXPECT_NEAR(Num(line, "y1"), TickY(svg, "100 ms"), 0.5);  // snapped to whole pixels
  EXPECT_THAT(line.at("stroke-dasharray"), Not(::testing::IsEmpty()));
  // Late replies sit above the line (smaller y), on-time ones below it.
  for (const Attrs& p : Tags(Element(svg, "late"), "path")) {
    double x = 0, apex = 0;
    ASSERT_EQ(std::sscanf(p.at("d").c_str(), "M %lf %lf", &x, &apex), 2) << p.at("d");
    EXPECT_LT(apex, Num(line, "y1"));
  }
  for (const Attrs& c : Tags(Element(svg, "replies"), "circle")) {
    EXPECT_GT(Num(c, "cy"), Num(line, "y1"));
  }
}

TEST(SvgPlotTest, AxisBreaksWhenTheTimeoutDwarfsTheRtts) {
  SyntheticRun r;
  r.opt.duration = 2 * kSec;
  r.opt.timeout = 1 * kSec;
  for (Nanos t = 0; t < 2 * kSec; t += 100 * kMs)
    r.rec.AddReply(t, 50'000 + t / (100 * kMs) * 1000);
  r.rec.AddLate(1 * kSec, 1300 * kMs);
  const std::string svg = r.Render();
  ASSERT_TRUE(Has(svg, "axis-break"));
  // The replies get the lower band, not a flat line at 0: 50..69 us spans ~39 px of it
  // (on one 0..1.4 s axis they would span 0.003 px).
  double lo = 1e9, hi = -1e9;
  for (const Attrs& c : Tags(Element(svg, "replies"), "circle")) {
    lo = std::min(lo, Num(c, "cy"));
    hi = std::max(hi, Num(c, "cy"));
  }
  EXPECT_GT(hi - lo, 30);
  // Each band is labelled in its own unit, and the timeout line is in the upper band.
  const double t = Num(Tags(Element(svg, "timeout-line"), "line").at(0), "y1");
  const double break_y = Num(Tags(Element(svg, "axis-break"), "rect").at(0), "y");
  EXPECT_LT(t, break_y);
  EXPECT_LT(TickY(svg, "1.0 s"), break_y);
  EXPECT_GT(TickY(svg, "80 \xC2\xB5s"), break_y);
  EXPECT_NEAR(t, TickY(svg, "1.0 s"), 0.5);
}

TEST(SvgPlotTest, BrokenAxisWithoutLateRepliesLabelsTheTimeoutAlone) {
  SyntheticRun r;
  r.opt.duration = 3 * kSec;
  r.opt.timeout = 1 * kSec;
  for (Nanos t = 0; t < 1500 * kMs; t += 200 * kMs) r.rec.AddReply(t, 300'000 + t / 10'000);
  for (Nanos t = 1600 * kMs; t < 3 * kSec; t += 200 * kMs) r.rec.AddLoss(t);
  const std::string svg = r.Render();
  ASSERT_TRUE(Has(svg, "axis-break"));
  const double break_y = Num(Tags(Element(svg, "axis-break"), "rect").at(0), "y");
  std::vector<std::string> upper;
  for (const Tick& t : Ticks(svg, "y-axis")) {
    if (t.y - 4 < break_y) upper.push_back(t.label);
  }
  EXPECT_THAT(upper, ::testing::ElementsAre("1 s"));
  EXPECT_NEAR(Num(Tags(Element(svg, "timeout-line"), "line").at(0), "y1"), TickY(svg, "1 s"), 0.5);
}

// A 6 s heartbeat run: one reply at 0, down over [from, to).
SyntheticRun HeartbeatRun(Nanos from, Nanos to) {
  SyntheticRun r;
  r.opt.duration = 6 * kSec;
  r.opt.heartbeat = true;
  r.rec.AddReply(0, 1 * kMs);
  r.rec.AddDownPeriod(from, to);
  return r;
}

TEST(SvgPlotTest, DownPeriodShadedAndClippedToTheRun) {
  SyntheticRun r = HeartbeatRun(2 * kSec, 3 * kSec);
  r.rec.AddDownPeriod(5 * kSec, 8 * kSec);  // down until the run's end, after sending
  const std::string svg = r.Render();
  const std::vector<Attrs> bands = Tags(Element(svg, "down"), "rect");
  ASSERT_EQ(bands.size(), 2u);
  const double x0 = TickX(svg, "0"), x6 = TickX(svg, "6");
  auto px = [&](double s) { return x0 + (x6 - x0) * s / 6; };
  EXPECT_NEAR(Num(bands[0], "x"), px(2), 0.05);
  EXPECT_NEAR(Num(bands[0], "x") + Num(bands[0], "width"), px(3), 0.1);
  EXPECT_NEAR(Num(bands[1], "x"), px(5), 0.05);
  EXPECT_NEAR(Num(bands[1], "x") + Num(bands[1], "width"), px(6), 0.1);
  EXPECT_THAT(svg, HasSubstr("peer down 2 times, 4 s in all"));
}

TEST(SvgPlotTest, SeveralTargetsBandsMeanAnyTargetDown) {
  // Two heartbeat targets: a band is the time one of them (any) was down, and the
  // outages and times down printed are the targets' added up.
  const SyntheticRun r = HeartbeatRun(2 * kSec, 4 * kSec);
  measure::RunResult result = ResultOf(r.rec, true);
  result.targets.resize(2);
  result.total_heartbeat->outages = 2;
  result.total_heartbeat->time_down = 3 * kSec;
  const std::string svg = RenderSvg(r.rec, result, r.opt);
  EXPECT_THAT(Element(svg, "legend-down"), HasSubstr(">a target down<"));
  EXPECT_THAT(Element(svg, "down"), HasSubstr("<title>a target down 2.000 s - 4.000 s"));
  EXPECT_THAT(svg, HasSubstr("; targets down 2 times, 3 s in all (each target's time down "
                             "added up)"));
  EXPECT_THAT(svg, Not(HasSubstr("peer down")));

  result.total_heartbeat->outages = 0;
  EXPECT_THAT(RenderSvg(PlotRecorder(), result, r.opt), HasSubstr("; no target ever down"));
  // One target keeps the peer's words.
  result.targets.resize(1);
  EXPECT_THAT(RenderSvg(PlotRecorder(), result, r.opt), HasSubstr("; peer never down"));
}

TEST(SvgPlotTest, TitleIsEscaped) {
  SyntheticRun r;
  r.opt.title = "a<b>&\"c\"\x01";
  const std::string svg = r.Render();
  EXPECT_THAT(svg, HasSubstr("a&lt;b&gt;&amp;&quot;c&quot;?"));
  EXPECT_THAT(svg, Not(HasSubstr("a<b>")));
}

// --- The distribution follows each reply's class and the run's counts. ---

// The replies the bars of group `id` stand for: the N of each "<title>...: N</title>"
// (": N late" for late bars).
uint64_t BarCount(const std::string& svg, const std::string& id) {
  const std::string group = Element(svg, id);
  static const std::regex kTitle("<title>[^<]*: ([0-9]+)( late)?</title>");
  uint64_t n = 0;
  for (auto it = std::sregex_iterator(group.begin(), group.end(), kTitle);
       it != std::sregex_iterator(); ++it) {
    n += std::stoull((*it)[1].str());
  }
  return n;
}

// The auditor's case: replies around the timeout. 119.8 ms (on time) and 120.3 ms (late)
// share a histogram bucket ([119.54, 120.59) ms) whose midpoint is past the 120 ms
// timeout: the old plot counted all 40 late, the run 10.
TEST(SvgPlotTest, LateSplitIsEachRepliesClassNotTheBucketMidpoint) {
  SyntheticRun r;
  r.opt.duration = 2 * kSec;
  r.opt.timeout = 120 * kMs;
  for (int i = 0; i < 40; ++i) {
    const Nanos t = i * 50 * kMs;
    if (i % 4 == 3) {
      r.rec.AddLate(t, 120'300'000);
    } else {
      r.rec.AddReply(t, 119'800'000);
    }
  }
  ASSERT_EQ(stats::LogHistogram::BucketIndex(119'800'000),
            stats::LogHistogram::BucketIndex(120'300'000));
  const std::string svg = r.Render();
  EXPECT_THAT(svg, HasSubstr("RTT distribution: 40 replies (10 late)"));
  EXPECT_EQ(BarCount(svg, "dist-bars"), 30u);
  EXPECT_EQ(BarCount(svg, "dist-late-bars"), 10u);
  EXPECT_FALSE(Has(svg, "dist-late")) << "late RTTs next to the on-time ones are stacked";
  // Both kinds in one bin: the late bar sits on top of the on-time bar.
  const std::vector<Attrs> on = Tags(Element(svg, "dist-bars"), "rect");
  const std::vector<Attrs> late = Tags(Element(svg, "dist-late-bars"), "rect");
  ASSERT_EQ(on.size(), 1u);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_DOUBLE_EQ(Num(on[0], "x"), Num(late[0], "x"));
  EXPECT_NEAR(Num(late[0], "y") + Num(late[0], "height"), Num(on[0], "y"), 0.02);
  EXPECT_NEAR(Num(on[0], "height"), 3 * Num(late[0], "height"), 0.05);
  EXPECT_TRUE(Has(svg, "dist-timeout"));
}

TEST(SvgPlotTest, FarLateRepliesGetABarOfTheirOwn) {
  SyntheticRun r;
  r.opt.duration = 1 * kSec;
  r.opt.timeout = 1 * kSec;
  for (int i = 0; i < 50; ++i) r.rec.AddReply(i * 10 * kMs, 50'000 + i * 100);
  r.rec.AddLate(500 * kMs, 1200 * kMs);
  r.rec.AddLate(600 * kMs, 1300 * kMs);
  const std::string svg = r.Render();
  EXPECT_EQ(BarCount(svg, "dist-bars"), 50u);
  EXPECT_EQ(BarCount(svg, "dist-late"), 2u);
  EXPECT_FALSE(Has(svg, "dist-late-bars"));
  EXPECT_THAT(svg, HasSubstr("RTT distribution: 52 replies (2 late)"));
}

TEST(SvgPlotTest, OnlyLateRepliesStillHaveAnAxis) {
  SyntheticRun r;
  r.opt.duration = 1 * kSec;
  r.opt.timeout = 10 * kMs;
  for (int i = 0; i < 5; ++i) r.rec.AddLate(i * 100 * kMs, 30 * kMs + i * kMs);
  const std::string svg = r.Render();
  EXPECT_EQ(BarCount(svg, "dist-late-bars"), 5u);
  EXPECT_EQ(BarCount(svg, "dist-bars"), 0u);
  EXPECT_THAT(svg, Not(HasSubstr("no replies")));
}

// The numbers printed are the run's result, not the recorder's tally of marks.
TEST(SvgPlotTest, CountsAreTheRunsResult) {
  PlotRecorder rec;
  PlotOptions opt;
  opt.duration = 1 * kSec;
  opt.timeout = 100 * kMs;
  rec.AddReply(0, 10 * kMs);
  rec.AddLate(100 * kMs, 150 * kMs);
  rec.AddLoss(200 * kMs);
  // What the run counted, unlike the marks (a reply, a late reply, a loss).
  measure::RunResult result;
  measure::Figures& f = result.total;
  std::tie(f.sent, f.received, f.on_time, f.late, f.lost, f.in_flight) =
      std::make_tuple(1234u, 1017u, 1000u, 17u, 215u, 2u);
  std::tie(f.rtt.p50, f.rtt.p99, f.rtt.max) = std::make_tuple(11 * kMs, 40 * kMs, 150 * kMs);
  const std::string svg = RenderSvg(rec, result, opt);
  EXPECT_THAT(svg, HasSubstr("1,234 probes in 1 s: 1,000 replies on time, 17 late, 215 lost, "
                             "2 in flight"));
  EXPECT_THAT(Element(svg, "legend-reply"), HasSubstr("reply (1,000)"));
  EXPECT_THAT(Element(svg, "legend-late"), HasSubstr("late reply (17)"));
  EXPECT_THAT(Element(svg, "legend-lost"), HasSubstr("lost (215)"));
  EXPECT_THAT(svg, HasSubstr("RTT distribution: 1,017 replies (17 late); median 11 ms, p99 "
                             "40 ms, max 150 ms"));
}

// The distribution's bars are the run's measurements (Figures::rtt_distribution), never
// a tally of the marks: a recorder with no replies still gets the run's bars, and the
// "no replies" note follows the run.
TEST(SvgPlotTest, DistributionIsTheRunsNotTheRecorders) {
  PlotOptions opt;
  opt.duration = 1 * kSec;
  opt.timeout = 100 * kMs;
  measure::Measurements m(1);
  for (Nanos rtt : {10 * kMs, 11 * kMs, 12 * kMs}) m.RecordRtt(rtt, false);
  for (Nanos rtt : {150 * kMs, 160 * kMs}) m.RecordRtt(rtt, true);
  measure::RunResult result;
  result.total = measure::Summarize(m, measure::Detail::kPlot);
  const std::string svg = RenderSvg(PlotRecorder(), result, opt);
  EXPECT_EQ(BarCount(svg, "dist-bars"), 3u);
  EXPECT_EQ(BarCount(svg, "dist-late") + BarCount(svg, "dist-late-bars"), 2u);
  EXPECT_THAT(svg, Not(HasSubstr("no replies")));

  // The recorder's marks without the run's measurements: nothing to draw below.
  RecordedRun rec;
  rec.AddReply(0, 10 * kMs);
  measure::RunResult none;
  none.total.received = 1;
  EXPECT_THAT(RenderSvg(rec, none, opt), HasSubstr("no replies"));
}

// --- Memory. ---

TEST(PlotRecorderTest, MemoryBoundHoldsForAMillionOfEach) {
  RecordedRun rec;
  constexpr int kN = 1'000'000;
  for (int i = 0; i < kN; ++i) {
    const Nanos t = Nanos{i} * kMs;
    rec.AddReply(t, 1 * kMs + i % 1000);
    rec.AddLate(t, 2 * kSec);
    rec.AddLoss(t);
    rec.AddDownPeriod(t, t + kMs / 2);
    ASSERT_LE(rec.MemoryBytes(), kPlotRecorderMaxMemoryBytes) << "after " << i;
  }
  EXPECT_LE(kPlotRecorderMaxMemoryBytes, 224u * 1024) << "the header says about 220 KiB";
  EXPECT_EQ(rec.replies().total(), uint64_t{kN});
  EXPECT_EQ(rec.late().total(), uint64_t{kN});
  EXPECT_EQ(rec.losses().total(), uint64_t{kN});
  EXPECT_EQ(rec.down().total(), uint64_t{kN});
  EXPECT_LE(rec.replies().points().size(), PlotRecorder::kMaxReplyPoints);
  EXPECT_GE(rec.replies().points().size(), PlotRecorder::kMaxReplyPoints / 2);
  EXPECT_LE(rec.losses().spans().size(), PlotRecorder::kMaxLossSpans);

  // Thinned points still span the whole run, at a stride of 1 in stride().
  const auto& pts = rec.replies().points();
  EXPECT_EQ(pts.front().sent_at, 0);
  EXPECT_GT(pts.back().sent_at, Nanos{kN - 1} * kMs - Nanos(rec.replies().stride()) * kMs - 1);
  EXPECT_EQ(pts[1].sent_at - pts[0].sent_at, Nanos(rec.replies().stride()) * kMs);

  // No loss disappears: the spans still count every one and cover the run.
  uint64_t counted = 0;
  Nanos first = INT64_MAX, last = 0;
  for (const PlotRecorder::Span& s : rec.losses().spans()) {
    counted += s.count;
    first = std::min(first, s.from);
    last = std::max(last, s.to);
  }
  EXPECT_EQ(counted, uint64_t{kN});
  EXPECT_EQ(first, 0);
  EXPECT_EQ(last, Nanos{kN - 1} * kMs);

  // Rendering a full recorder stays a reasonable file.
  PlotOptions opt;
  opt.duration = Nanos{kN} * kMs;
  opt.timeout = 1 * kSec;
  const std::string svg = RenderSvg(rec, ResultOf(rec), opt);
  EXPECT_LT(svg.size(), 2'000'000u);
  EXPECT_THAT(svg, HasSubstr("1 in "));
  EXPECT_THAT(svg, HasSubstr(" replies drawn"));
}

TEST(PlotRecorderTest, IsolatedLossSurvivesCoalescing) {
  PlotRecorder rec;
  for (int i = 0; i < 100'000; ++i) rec.AddLoss(Nanos{i} * 10 * kMs);
  const Nanos lone = 5000 * kSec;
  rec.AddLoss(lone);
  for (int i = 0; i < 100'000; ++i) rec.AddLoss(lone + 1000 * kSec + Nanos{i} * 10 * kMs);
  bool found = false;
  for (const PlotRecorder::Span& s : rec.losses().spans()) {
    if (s.from == lone) {
      EXPECT_EQ(s.to, lone);
      EXPECT_EQ(s.count, 1u);
      found = true;
    }
  }
  EXPECT_TRUE(found) << "the lone loss was merged away; merge gap " << rec.losses().merge_gap();
}

TEST(PlotRecorderTest, OutOfOrderLossesAllCounted) {
  PlotRecorder rec;
  // Two sessions whose losses arrive interleaved and out of order.
  for (int i = 0; i < 50'000; ++i) {
    rec.AddLoss(Nanos{(i * 7919) % 50'000} * kMs);
    rec.AddLoss(Nanos{i} * kMs + 3);
  }
  uint64_t counted = 0;
  for (const PlotRecorder::Span& s : rec.losses().spans()) counted += s.count;
  EXPECT_EQ(counted, 100'000u);
  EXPECT_LE(rec.MemoryBytes(), kPlotRecorderMaxMemoryBytes);
}

TEST(PlotRecorderTest, LargestRttKeptThroughThinning) {
  RecordedRun rec;
  for (int i = 0; i < 100'000; ++i) rec.AddReply(Nanos{i} * kMs, i == 77'777 ? 900 * kMs : kMs);
  EXPECT_EQ(rec.replies().max_point().sent_at, 77'777 * kMs);
  PlotOptions opt;
  const std::string svg = RenderSvg(rec, ResultOf(rec), opt);
  // The 900 ms spike is drawn although 77'777 is not a multiple of the stride.
  ASSERT_NE(77'777 % rec.replies().stride(), 0u);
  const std::vector<Attrs> dots = Tags(Element(svg, "replies"), "circle");
  double top = 1e9;
  for (const Attrs& c : dots) top = std::min(top, Num(c, "cy"));
  const Attrs area = Tags(Element(svg, "data-area"), "rect").at(0);
  EXPECT_LT(top, Num(area, "y") + Num(area, "height") / 2);
}

TEST(PlotRecorderTest, NegativeTimesCountAsTheStart) {
  PlotRecorder rec;
  rec.AddLoss(-5);
  rec.AddReply(-1, kMs);
  EXPECT_EQ(rec.losses().spans().at(0).from, 0);
  EXPECT_EQ(rec.replies().points().at(0).sent_at, 0);
}

}  // namespace
}  // namespace udpbeat
