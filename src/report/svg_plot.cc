#include "udpbeat/report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "udpbeat/base/output_file.h"

namespace udpbeat {

// ---------------------------------------------------------------------------------------
// Recording.

// PointSeries thinning keeps every second point: an odd cap would break the stride.
static_assert(PlotRecorder::kMaxReplyPoints % 2 == 0 && PlotRecorder::kMaxLatePoints % 2 == 0);
static_assert(PlotRecorder::kMaxLossSpans >= 2 && PlotRecorder::kMaxDownSpans >= 2);

void PlotRecorder::PointSeries::Add(Point p) {
  if (total_ == 0 || p.rtt > max_.rtt) max_ = p;
  const uint64_t i = total_++;
  if (i % stride_ != 0) return;
  if (points_.size() >= cap_) {
    // The kept points are added points 0, s, 2s, ...; keeping every second one leaves
    // 0, 2s, 4s, ..., exactly what stride 2s would have kept. cap_ is even, so i (the
    // next multiple of s) is a multiple of 2s and is kept.
    size_t j = 0;
    for (size_t k = 0; k < points_.size(); k += 2) points_[j++] = points_[k];
    points_.resize(j);
    stride_ *= 2;
    if (i % stride_ != 0) return;
  }
  if (points_.capacity() < cap_) points_.reserve(cap_);
  points_.push_back(p);
}

namespace {

constexpr Nanos kMaxGap = Nanos{1} << 61;  // keeps to + gap from overflowing

Nanos SatAdd(Nanos a, Nanos b) {
  return a > std::numeric_limits<Nanos>::max() - b ? std::numeric_limits<Nanos>::max() : a + b;
}

bool Near(const PlotRecorder::Span& s, Nanos from, Nanos to, Nanos gap) {
  return from <= SatAdd(s.to, gap) && to >= s.from - gap;
}

}  // namespace

void PlotRecorder::SpanSeries::Add(Nanos from, Nanos to) {
  if (to < from) to = from;
  ++total_;
  total_length_ = SatAdd(total_length_, to - from);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!spans_.empty() && Near(spans_.back(), from, to, gap_)) {
      Span& b = spans_.back();
      b.from = std::min(b.from, from);
      b.to = std::max(b.to, to);
      ++b.count;
      return;
    }
    if (spans_.size() < cap_) break;
    Coalesce();  // then try the (possibly wider) last span again
  }
  if (spans_.capacity() < cap_) spans_.reserve(cap_);
  spans_.push_back({from, to, 1});
}

void PlotRecorder::SpanSeries::Coalesce() {
  std::sort(spans_.begin(), spans_.end(),
            [](const Span& a, const Span& b) { return a.from < b.from; });
  MergeWithin(gap_);  // out-of-order adds may overlap once sorted
  while (spans_.size() > cap_ / 2) {
    gap_ = std::min(kMaxGap, std::max<Nanos>(2 * gap_, kNanosPerMicro));
    MergeWithin(gap_);
  }
}

void PlotRecorder::SpanSeries::MergeWithin(Nanos gap) {
  if (spans_.empty()) return;
  size_t j = 0;
  for (size_t i = 1; i < spans_.size(); ++i) {
    if (spans_[i].from <= SatAdd(spans_[j].to, gap)) {
      spans_[j].to = std::max(spans_[j].to, spans_[i].to);
      spans_[j].count += spans_[i].count;
    } else {
      spans_[++j] = spans_[i];
    }
  }
  spans_.resize(j + 1);
}

// ---------------------------------------------------------------------------------------
// Rendering.

namespace {

// Layout, in SVG user units (= CSS px; rsvg-convert renders one per pixel).
constexpr double kWidth = 960, kLeft = 84, kRight = 28, kPlotW = kWidth - kLeft - kRight;
constexpr double kTitleY = 26, kSubtitleY = 46, kLegendY = 58, kLegendH = 24;
constexpr double kLaneTop = 98, kLaneH = 16;       // the lost lane
constexpr double kDataTop = 120, kDataH = 250;     // RTT over time
constexpr double kDataBottom = kDataTop + kDataH;  // 370
constexpr double kBreakGap = 16;                   // between the bands of a broken axis
constexpr double kLowerShare = 0.66;               // of kDataH, broken axis
constexpr double kLowerShareNoLate = 0.8;          // ... with no late replies to show
constexpr double kDistTitleY = 446, kDistTop = 458, kDistH = 170;
constexpr double kDistBottom = kDistTop + kDistH;  // 628
constexpr double kHeight = kDistBottom + 52;

constexpr char kReplyColor[] = "#1f77b4";
constexpr char kLateColor[] = "#ff7f0e";
constexpr char kLateStroke[] = "#9a4a00";
constexpr char kLostColor[] = "#d62728";
constexpr char kTimeoutColor[] = "#333333";
constexpr char kDownColor[] = "#888888";
constexpr double kDownOpacity = 0.3;
constexpr char kGridColor[] = "#ececec";
constexpr char kFrameColor[] = "#888888";

struct Unit {
  const char* name;
  double ns;
};
constexpr Unit kMicros{"\xC2\xB5s", 1e3}, kMillis{"ms", 1e6}, kSeconds{"s", 1e9},
    kMinutes{"min", 60e9}, kHours{"h", 3600e9};

// The unit an RTT axis whose top is `top_ns` is labelled in.
Unit RttUnit(double top_ns) { return top_ns >= 1e9 ? kSeconds : top_ns >= 1e6 ? kMillis : kMicros; }

// The unit of a run's time axis ending at `end_ns`.
Unit RunUnit(double end_ns) {
  if (end_ns < 1e9) return kMillis;
  if (end_ns < 600e9) return kSeconds;
  if (end_ns < 3 * 3600e9) return kMinutes;
  return kHours;
}

// The smallest of 1, 2, 5 times a power of ten that is >= raw.
double NiceStep(double raw) {
  if (!(raw > 0)) return 1;
  const double p = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * p >= raw * (1 - 1e-9)) return m * p;
  }
  return 10 * p;
}

// Multiples of `step` in [lo, hi], computed as k * step (no accumulated error).
std::vector<double> TickValues(double lo, double hi, double step) {
  std::vector<double> v;
  const double first = std::ceil(lo / step - 1e-9);
  for (double k = first; k * step <= hi + step * 1e-9 && v.size() < 200; ++k) v.push_back(k * step);
  return v;
}

// `v` with as many decimals as `step` (1, 2 or 5 times a power of ten) needs.
std::string FormatNumber(double v, double step) {
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  if (std::fabs(v) < step * 1e-6) v = 0;
  return absl::StrFormat("%.*f", decimals, v);
}

// A duration for prose and tooltips: "50.2 µs", "1.5 ms", "1 s".
std::string FormatDuration(double ns) {
  if (ns < 1e3) return absl::StrFormat("%.0f ns", ns);
  if (ns >= 2 * kHours.ns) return absl::StrFormat("%.3g h", ns / kHours.ns);
  if (ns >= 120e9) return absl::StrFormat("%.3g min", ns / kMinutes.ns);
  const Unit u = ns < 1e6 ? kMicros : ns < 1e9 ? kMillis : kSeconds;
  const double v = ns / u.ns;
  return v >= 1000 ? absl::StrFormat("%.0f %s", v, u.name) : absl::StrFormat("%.3g %s", v, u.name);
}

// A time since the start of the run, for tooltips: "2.400 s".
std::string FormatAt(Nanos t) { return absl::StrFormat("%.3f s", static_cast<double>(t) / 1e9); }

// 360000 -> "360,000": counts in prose are read, not parsed.
std::string Grouped(uint64_t n) {
  std::string digits = absl::StrCat(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Count(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(Grouped(n), " ", n == 1 ? one : many);
}

std::string XmlEscape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 forbids most control characters, even escaped.
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') ? '?' : c;
    }
  }
  return out;
}

// A rough text width for laying out the legend (DejaVu Sans at 12 px averages ~6.7 px).
double TextWidth(absl::string_view s, double font_size) {
  size_t glyphs = 0;
  for (char c : s) glyphs += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // UTF-8
  return static_cast<double>(glyphs) * font_size * 0.56;
}

// One linear band of the RTT axis: values [lo, hi] ns drawn at pixels [px_lo, px_hi]
// (px_lo > px_hi: SVG's y grows downwards).
struct Band {
  double lo, hi, step;  // ns
  Unit unit;
  double px_lo, px_hi;
  std::optional<double> only_tick;  // label this value alone (ns), not the step multiples
  double Map(double ns) const {
    const double f = std::clamp((ns - lo) / (hi - lo), 0.0, 1.0);
    return px_lo + f * (px_hi - px_lo);
  }
};

// A band from lo_raw..hi_raw rounded out to ticks about `target` apart in count.
Band MakeBand(double lo_raw, double hi_raw, int target, double px_lo, double px_hi) {
  Band b;
  // Nice in ns is nice in every unit (they are powers of 1000 apart); the unit is picked
  // from the rounded top, so 0..0.9 ms reads "1.0 ms" at the top, not "1000 µs".
  b.step = NiceStep((hi_raw - lo_raw) / target);
  b.lo = std::floor(lo_raw / b.step + 1e-9) * b.step;
  b.hi = std::ceil(hi_raw / b.step - 1e-9) * b.step;
  if (b.hi <= b.lo) b.hi = b.lo + b.step;
  b.unit = RttUnit(b.hi);
  b.px_lo = px_lo;
  b.px_hi = px_hi;
  return b;
}

struct YAxis {
  bool broken = false;
  Band lower, upper;  // upper only when broken
  double Map(double ns) const { return broken && ns >= upper.lo ? upper.Map(ns) : lower.Map(ns); }
};

// The file comment explains the rule: one linear axis unless the timeout (or, with no
// timeout, the smallest late RTT) is more than 4x the largest on-time RTT.
YAxis MakeYAxis(const PlotRecorder& rec, Nanos timeout) {
  const bool has_replies = rec.replies().total() > 0, has_late = rec.late().total() > 0;
  const double reply_max = has_replies ? static_cast<double>(rec.replies().max_point().rtt) : 0;
  const double late_max = has_late ? static_cast<double>(rec.late().max_point().rtt) : 0;
  double late_min = late_max;
  for (const PlotRecorder::Point& p : rec.late().points())
    late_min = std::min(late_min, static_cast<double>(p.rtt));
  const double anchor = timeout > 0 ? static_cast<double>(timeout) : late_min;
  YAxis y;
  y.broken = has_replies && reply_max > 0 && anchor > 4 * reply_max;
  if (!y.broken) {
    double top = std::max({reply_max, late_max, static_cast<double>(timeout)});
    if (!(top > 0)) top = 1e6;  // nothing measured: 0..1 ms
    y.lower = MakeBand(0, top, 5, kDataBottom, kDataTop);
    return y;
  }
  if (!has_late) {
    // Only the timeout line goes up there: a thin band, its one tick the timeout.
    const double lower_px_top = kDataBottom - kDataH * kLowerShareNoLate;
    y.lower = MakeBand(0, reply_max, 4, kDataBottom, lower_px_top);
    y.upper = MakeBand(anchor * 0.9, anchor * 1.1, 2, lower_px_top - kBreakGap, kDataTop);
    y.upper.lo = anchor * 0.9;
    y.upper.hi = anchor * 1.1;
    y.upper.only_tick = anchor;
    return y;
  }
  const double lower_px_top = kDataBottom - kDataH * kLowerShare;
  y.lower = MakeBand(0, reply_max, 4, kDataBottom, lower_px_top);
  // The upper band holds the timeout line with some room below it (so the line is not
  // on the break) and the late replies above it.
  const double hi = std::max(late_max, anchor);
  const double span = std::max(hi - anchor, 0.25 * anchor);
  y.upper = MakeBand(anchor - 0.15 * span, hi + 0.05 * span, 2, lower_px_top - kBreakGap, kDataTop);
  return y;
}

struct XAxis {
  double end;  // ns
  Unit unit;
  double step;  // in unit
  double Map(double ns) const { return kLeft + kPlotW * std::clamp(ns / end, 0.0, 1.0); }
};

XAxis MakeXAxis(const PlotRecorder& rec, Nanos duration) {
  Nanos end = duration;
  for (const PlotRecorder::Point& p : rec.replies().points()) end = std::max(end, p.sent_at);
  for (const PlotRecorder::Point& p : rec.late().points()) end = std::max(end, p.sent_at);
  for (const PlotRecorder::Span& s : rec.losses().spans()) end = std::max(end, s.to);
  if (rec.replies().total() > 0) end = std::max(end, rec.replies().max_point().sent_at);
  if (rec.late().total() > 0) end = std::max(end, rec.late().max_point().sent_at);
  // A down period's end may be the run's end, after sending stopped: it is clipped to
  // the axis, which stays the sending time. Only its start matters without a duration.
  for (const PlotRecorder::Span& s : rec.down().spans()) end = std::max(end, s.from);
  XAxis x;
  x.end = end > 0 ? static_cast<double>(end) : 1e9;
  x.unit = RunUnit(x.end);
  x.step = NiceStep(x.end / x.unit.ns / 8);
  return x;
}

class Svg {
 public:
  std::string& out() { return s_; }
  template <typename... Args>
  void Add(const absl::FormatSpec<Args...>& format, const Args&... args) {
    absl::StrAppendFormat(&s_, format, args...);
  }
  void Text(double x, double y, absl::string_view anchor, double size, absl::string_view text,
            absl::string_view extra = "") {
    Add("<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"%s\"%s>%s</text>\n", x, y,
        size, anchor, extra, XmlEscape(text));
  }
  void Tick(double x, double y, absl::string_view anchor, absl::string_view text) {
    Text(x, y, anchor, 11, text, " class=\"tick\"");
  }

 private:
  std::string s_;
};

void DrawYBand(Svg& svg, const Band& b) {
  const double step_u = b.step / b.unit.ns;
  std::vector<double> ticks = TickValues(b.lo / b.unit.ns, b.hi / b.unit.ns, step_u);
  if (b.only_tick) ticks = {*b.only_tick / b.unit.ns};
  for (double v : ticks) {
    const double y = b.Map(v * b.unit.ns);
    svg.Add("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", kLeft, y,
            kLeft + kPlotW, y, kGridColor);
    svg.Tick(kLeft - 6, y + 4, "end",
             b.only_tick ? FormatDuration(*b.only_tick)
                         : absl::StrCat(FormatNumber(v, step_u), " ", b.unit.name));
  }
}

enum class Mark { kReply, kLate, kLost, kTimeout, kDown };

// A legend swatch centred on (cx, cy), drawn like the mark it names.
std::string Swatch(Mark m, double cx, double cy) {
  switch (m) {
    case Mark::kReply:
      return absl::StrFormat("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", cx, cy,
                             kReplyColor);
    case Mark::kLate:
      return absl::StrFormat(
          "<path d=\"M %.1f %.1f l 5 8.5 l -10 0 z\" fill=\"%s\" stroke=\"%s\" "
          "stroke-width=\"0.6\"/>\n",
          cx, cy - 5, kLateColor, kLateStroke);
    case Mark::kLost:
      return absl::StrFormat(
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"3\" height=\"12\" fill=\"%s\"/>\n", cx - 1.5, cy - 6,
          kLostColor);
    case Mark::kTimeout:
      return absl::StrFormat(
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
          "stroke-width=\"2\" stroke-dasharray=\"6,4\"/>\n",
          cx - 9, cy, cx + 9, cy, kTimeoutColor);
    case Mark::kDown:
      return absl::StrFormat(
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\" "
          "fill-opacity=\"%.2f\"/>\n",
          cx - 7, cy - 7, kDownColor, kDownOpacity);
  }
  return "";
}

// Appends one legend entry at `x` and advances `x` past it.
void DrawLegendEntry(Svg& svg, double& x, absl::string_view id, Mark mark,
                     absl::string_view label) {
  const double cy = kLegendY + kLegendH / 2;
  svg.Add("<g id=\"%s\" class=\"legend-entry\">\n", id);
  svg.out() += Swatch(mark, x + 11, cy);
  svg.Text(x + 24, cy + 4, "start", 12, label);
  svg.out() += "</g>\n";
  x += 24 + TextWidth(label, 12) + 16;
}

// What a grey band means: with several targets, that one of them (any) was down.
absl::string_view DownWords(const measure::RunResult& r) {
  return r.targets.size() > 1 ? "a target down" : "peer down";
}

void RenderRttPanel(Svg& svg, const PlotRecorder& rec, const PlotOptions& opt, const XAxis& x,
                    const YAxis& y, absl::string_view down_words) {
  const double right = kLeft + kPlotW;
  svg.out() += "<g id=\"rtt-panel\">\n";

  // Where the marks go (both bands of a broken axis), for tests and readers of the file.
  svg.Add(
      "<rect id=\"data-area\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
      "fill=\"none\" stroke=\"none\"/>\n",
      kLeft, kDataTop, kPlotW, kDataH);
  // Axes and grid first, so every mark is drawn over them.
  svg.out() += "<g id=\"y-axis\">\n";
  DrawYBand(svg, y.lower);
  if (y.broken) DrawYBand(svg, y.upper);
  svg.Add(
      "<text x=\"18\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 18 %.1f)\">round-trip time</text>\n",
      kDataTop + kDataH / 2, kDataTop + kDataH / 2);
  svg.out() += "</g>\n<g id=\"x-axis\">\n";
  const std::vector<double> xticks = TickValues(0, x.end / x.unit.ns, x.step);
  for (double v : xticks) {
    const double px = x.Map(v * x.unit.ns);
    svg.Add("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", px, kDataTop,
            px, kDataBottom, kGridColor);
    svg.Tick(px, kDataBottom + 16, "middle", FormatNumber(v, x.step));
  }
  // The run's end gets a label too when it is not a tick and not crowding the last one
  // (a 13 s run: ticks 0, 2, ..., 12 and 13 at the edge).
  const double end_u = x.end / x.unit.ns;
  if (!xticks.empty() && end_u - xticks.back() >= 0.35 * x.step) {
    std::string label = FormatNumber(end_u, x.step);
    if (std::fabs(std::strtod(label.c_str(), nullptr) - end_u) > 1e-6 * end_u)
      label = FormatNumber(end_u, x.step / 10);  // 6.3 s, not "6"
    svg.Tick(right, kDataBottom + 16, "middle", label);
  }
  svg.Text(kLeft + kPlotW / 2, kDataBottom + 36, "middle", 12,
           absl::StrCat("time the ", opt.heartbeat ? "heartbeat" : "probe",
                        " was sent, since the start (", x.unit.name, ")"));
  svg.out() += "</g>\n";

  // Heartbeat down periods: grey bands behind the marks.
  if (rec.down().total() > 0) {
    svg.Add("<g id=\"down\" fill=\"%s\" fill-opacity=\"%.2f\">\n", kDownColor, kDownOpacity);
    for (const PlotRecorder::Span& s : rec.down().spans()) {
      const double x0 = x.Map(static_cast<double>(s.from));
      const double x1 = x.Map(static_cast<double>(s.to));
      if (x1 - x0 <= 0 && s.from >= x.end) continue;  // began after the axis ends
      svg.Add(
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
          "<title>%s %s - %s (%s)%s</title></rect>\n",
          x0, kDataTop, std::max(x1 - x0, 1.0), kDataH, down_words, FormatAt(s.from),
          FormatAt(s.to),
          FormatDuration(static_cast<double>(s.to - s.from)),
          s.count > 1 ? absl::StrCat(", ", s.count, " periods merged") : "");
    }
    svg.out() += "</g>\n";
  }

  // The break of a broken axis: a white gap over the grid, and the usual // marks.
  if (y.broken) {
    const double gap_bottom = y.lower.px_hi, gap_top = y.upper.px_lo;
    svg.out() += "<g id=\"axis-break\">\n";
    svg.Add("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\"/>\n",
            kLeft - 1, gap_top, kPlotW + 2, gap_bottom - gap_top);
    for (double bx : {kLeft, right}) {
      for (double dy : {gap_top + 1, gap_bottom - 1}) {
        svg.Add(
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" "
            "stroke-width=\"1.2\"/>\n",
            bx - 6, dy + 3, bx + 6, dy - 3);
      }
    }
    svg.out() += "</g>\n";
  }

  // The frame: one rectangle per band.
  if (y.broken) {
    svg.Add(
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
        "stroke=\"%s\"/>\n",
        kLeft, y.lower.px_hi, kPlotW, y.lower.px_lo - y.lower.px_hi, kFrameColor);
    svg.Add(
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
        "stroke=\"%s\"/>\n",
        kLeft, y.upper.px_hi, kPlotW, y.upper.px_lo - y.upper.px_hi, kFrameColor);
  } else {
    svg.Add(
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
        "stroke=\"%s\"/>\n",
        kLeft, kDataTop, kPlotW, kDataH, kFrameColor);
  }

  // The timeout line (its label comes last, over the marks).
  const double ty = std::round(y.Map(static_cast<double>(opt.timeout)));
  if (opt.timeout > 0) {
    // 2 px on a whole pixel boundary: two solid rows, crisp at any position.
    svg.Add(
        "<line id=\"timeout-line\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"6,4\"/>\n",
        kLeft, ty, right, ty, kTimeoutColor);
  }

  // On-time replies. The largest RTT is drawn even when thinning skipped it.
  const PlotRecorder::PointSeries& replies = rec.replies();
  if (replies.total() > 0) {
    svg.Add("<g id=\"replies\" fill=\"%s\">\n", kReplyColor);
    bool max_drawn = false;
    const PlotRecorder::Point mp = replies.max_point();
    for (const PlotRecorder::Point& p : replies.points()) {
      max_drawn |= p.sent_at == mp.sent_at && p.rtt == mp.rtt;
      svg.Add("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\"/>\n", x.Map(static_cast<double>(p.sent_at)),
              y.Map(static_cast<double>(p.rtt)));
    }
    if (!max_drawn) {
      svg.Add("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\"/>\n", x.Map(static_cast<double>(mp.sent_at)),
              y.Map(static_cast<double>(mp.rtt)));
    }
    svg.out() += "</g>\n";
  }

  // Late replies: orange triangles at their RTT, above the timeout line.
  const PlotRecorder::PointSeries& late = rec.late();
  if (late.total() > 0) {
    svg.Add("<g id=\"late\" fill=\"%s\" stroke=\"%s\" stroke-width=\"0.6\">\n", kLateColor,
            kLateStroke);
    bool max_drawn = false;
    const PlotRecorder::Point mp = late.max_point();
    auto draw = [&](const PlotRecorder::Point& p) {
      svg.Add(
          "<path d=\"M %.1f %.1f l 4.5 7.5 l -9 0 z\"><title>late reply: sent at %s, "
          "RTT %s</title></path>\n",
          x.Map(static_cast<double>(p.sent_at)), y.Map(static_cast<double>(p.rtt)) - 4.5,
          FormatAt(p.sent_at), FormatDuration(static_cast<double>(p.rtt)));
    };
    for (const PlotRecorder::Point& p : late.points()) {
      max_drawn |= p.sent_at == mp.sent_at && p.rtt == mp.rtt;
      draw(p);
    }
    if (!max_drawn) draw(mp);
    svg.out() += "</g>\n";
  }

  // The lost lane above the plot: one red mark per loss (or merged span) at its send time.
  const absl::string_view lost_word = opt.heartbeat ? "missed" : "lost";
  svg.Add(
      "<rect id=\"lost-lane\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
      "fill=\"#fbfbfb\" stroke=\"#dddddd\"/>\n",
      kLeft, kLaneTop, kPlotW, kLaneH);
  svg.Text(kLeft - 6, kLaneTop + kLaneH - 4, "end", 11, lost_word,
           absl::StrFormat(" fill=\"%s\"", kLostColor));
  if (rec.losses().total() == 0) {
    svg.Text(kLeft + 6, kLaneTop + kLaneH - 4, "start", 10, "none", " fill=\"#999999\"");
  } else {
    const absl::string_view what = opt.heartbeat ? "missed heartbeat" : "lost probe";
    const absl::string_view whats = opt.heartbeat ? "missed heartbeats" : "lost probes";
    svg.Add("<g id=\"lost\" fill=\"%s\">\n", kLostColor);
    for (const PlotRecorder::Span& s : rec.losses().spans()) {
      const double x0 = x.Map(static_cast<double>(s.from)) - 1;
      const double x1 = x.Map(static_cast<double>(s.to)) + 1;
      svg.Add(
          "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"><title>%s</title>"
          "</rect>\n",
          x0, kLaneTop + 2, x1 - x0, kLaneH - 4,
          s.count == 1 && s.from == s.to ? absl::StrCat(what, ": sent at ", FormatAt(s.from))
                                         : absl::StrCat(Count(s.count, what, whats), " sent ",
                                                        FormatAt(s.from), " - ", FormatAt(s.to)));
    }
    svg.out() += "</g>\n";
  }

  // The timeout line's label, at its right end inside the plot: above the line, or below
  // it when the line is the top of the axis (above, the lost lane would hide it). Drawn
  // last, so no mark covers it.
  if (opt.timeout > 0) {
    constexpr double kLabelSize = 11;
    const bool room_above = ty - 5 - kLabelSize >= kDataTop;
    svg.Text(right - 4, room_above ? ty - 5 : ty + 4 + kLabelSize, "end", kLabelSize,
             absl::StrCat("timeout ", FormatDuration(static_cast<double>(opt.timeout))),
             absl::StrFormat(" id=\"timeout-label\" fill=\"%s\"", kTimeoutColor));
  }
  svg.out() += "</g>\n";
}

// An entry for each kind of mark drawn; its count is the run's figure.
void RenderLegend(Svg& svg, const PlotRecorder& rec, const measure::Figures& f,
                  const PlotOptions& opt, absl::string_view down_words) {
  // Laid out first into its own string, to size the box around it.
  Svg entries;
  double x = kLeft + 4;
  if (rec.replies().total() > 0) {
    DrawLegendEntry(entries, x, "legend-reply", Mark::kReply,
                    absl::StrCat("reply (", Grouped(f.on_time), ")"));
  }
  if (rec.late().total() > 0) {
    DrawLegendEntry(entries, x, "legend-late", Mark::kLate,
                    absl::StrCat("late reply (", Grouped(f.late), ")"));
  }
  if (rec.losses().total() > 0) {
    DrawLegendEntry(entries, x, "legend-lost", Mark::kLost,
                    absl::StrCat(opt.heartbeat ? "missed" : "lost", " (", Grouped(f.lost), ")"));
  }
  if (opt.timeout > 0) {
    DrawLegendEntry(entries, x, "legend-timeout", Mark::kTimeout,
                    absl::StrCat("timeout ", FormatDuration(static_cast<double>(opt.timeout))));
  }
  if (rec.down().total() > 0) {
    DrawLegendEntry(entries, x, "legend-down", Mark::kDown, down_words);
  }
  if (entries.out().empty()) return;
  svg.out() += "<g id=\"legend\">\n";
  svg.Add(
      "<rect id=\"legend-box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
      "fill=\"white\" stroke=\"#cccccc\"/>\n",
      kLeft, kLegendY, x - kLeft - 6, kLegendH);
  svg.out() += entries.out();
  svg.out() += "</g>\n";
}

// The run's RTT distribution (on-time and late RTTs, each reply as the tracker
// classified it), re-binned onto one linear axis. Late replies are stacked in orange on
// the bins of their RTTs when those are near the on-time ones (a bin straddling the
// timeout can hold both kinds); far from them (50 us replies against a 1 s timeout)
// they get one bar of their own at the right, as do on-time outliers far past p99.
// The counts in the title are the run's figures.
void RenderDistribution(Svg& svg, const measure::Figures& f, const PlotOptions& opt) {
  svg.out() += "<g id=\"distribution\">\n";
  const measure::RttDistribution none;  // empty histograms own no memory
  const measure::RttDistribution& dist = f.rtt_distribution ? *f.rtt_distribution : none;
  const stats::LogHistogram& on_h = dist.on_time;
  const stats::LogHistogram& late_h = dist.late;

  struct Bucket {
    int64_t low, end;  // [low, end): a power-of-two width, low a multiple of it
    uint64_t count;
  };
  std::vector<Bucket> on_time, late;
  on_h.ForEachBucket([&](int64_t low, int64_t high, uint64_t c) {
    on_time.push_back({low, high + 1, c});
  });
  late_h.ForEachBucket([&](int64_t low, int64_t high, uint64_t c) {
    late.push_back({low, high + 1, c});
  });
  const uint64_t on_count = on_h.count(), late_count = late_h.count();

  std::string title = absl::StrCat("RTT distribution: ", Count(f.received, "reply", "replies"));
  if (f.received > 0) {
    if (f.late > 0) absl::StrAppend(&title, " (", Grouped(f.late), " late)");
    absl::StrAppend(&title, "; median ", FormatDuration(static_cast<double>(f.rtt.p50)), ", p99 ",
                    FormatDuration(static_cast<double>(f.rtt.p99)), ", max ",
                    FormatDuration(static_cast<double>(f.rtt.max)));
  }
  svg.Text(kLeft, kDistTitleY, "start", 13, title);

  // The x range: the on-time RTTs, or up to ~p99 with the rest in an "over" bar when a
  // few outliers would squeeze everything else into the first bars.
  double on_min = 0, on_max = 1e6, p99 = 0;
  if (!on_time.empty()) {
    on_min = static_cast<double>(std::max(on_time.front().low, on_h.min()));
    on_max = static_cast<double>(std::min(on_time.back().end, on_h.max() + 1));
    const uint64_t rank = stats::LogHistogram::NearestRank(99, on_count);
    uint64_t seen = 0;
    for (const Bucket& b : on_time) {
      seen += b.count;
      if (seen >= rank) {
        p99 = static_cast<double>(b.end);
        break;
      }
    }
  }
  double hi_raw = on_max;
  if (on_count >= 100 && on_max > 10 * p99) hi_raw = 1.2 * p99;
  // Late RTTs within twice the range join it (stacked); further out, a bar of their own.
  bool late_stacked = false;
  if (late_count > 0) {
    const double late_min = static_cast<double>(late_h.min());
    const double late_end = static_cast<double>(late_h.max()) + 1;
    if (on_time.empty()) {
      on_min = late_min;
      hi_raw = late_end;
      late_stacked = true;
    } else if (late_end <= 2 * hi_raw) {
      on_min = std::min(on_min, late_min);
      hi_raw = std::max(hi_raw, late_end);
      late_stacked = true;
    }
  }
  const double lo_raw = on_min < 0.4 * hi_raw ? 0 : on_min;
  const Unit unit = RttUnit(hi_raw);

  // Bins a power-of-two multiple of the bucket width at the top of the range, aligned
  // to it: every bucket below falls whole into one bin, so the bars are whole counts
  // and equal bins hold equal RTT ranges (no comb from buckets of other widths). At
  // most ~60 bins; the axis ticks are nice numbers independent of the bins.
  int64_t bw = stats::LogHistogram::BucketWidth(stats::LogHistogram::BucketIndex(
      static_cast<int64_t>(std::min(hi_raw, static_cast<double>(stats::LogHistogram::kMaxValue)))));
  while ((hi_raw - lo_raw) / static_cast<double>(bw) > 60) bw *= 2;
  const int64_t lo = static_cast<int64_t>(lo_raw) / bw * bw;
  const int nbins = std::max<int>(
      1, static_cast<int>(std::ceil((hi_raw - static_cast<double>(lo)) / static_cast<double>(bw))));
  const double hi = static_cast<double>(lo + bw * nbins);
  // A bucket wider than a bin (just past a power of two) goes to the bin of its low.
  auto bin_of = [&](const Bucket& b) { return (std::max(b.low, lo) - lo) / bw; };
  std::vector<uint64_t> bins(nbins, 0), late_bins(nbins, 0);
  uint64_t over = 0;  // on time, but past `hi`
  for (const Bucket& b : on_time) {
    const int64_t i = bin_of(b);
    if (i >= nbins) {
      over += b.count;
    } else {
      bins[i] += b.count;
    }
  }
  if (late_stacked) {
    // hi is past the largest late RTT: every late bucket has a bin.
    for (const Bucket& b : late) late_bins[std::min<int64_t>(bin_of(b), nbins - 1)] += b.count;
  }

  // Extra bars right of the axis: "over" (on time, past the axis) and "late".
  struct Extra {
    const char* id;
    std::string label;
    std::string tooltip;
    uint64_t count;
    const char* color;
  };
  std::vector<Extra> extras;
  if (over > 0) {
    extras.push_back({"dist-over", absl::StrCat("> ", FormatDuration(hi)),
                      absl::StrCat("on time, RTT > ", FormatDuration(hi), ": ", over), over,
                      kReplyColor});
  }
  if (late_count > 0 && !late_stacked) {
    extras.push_back({"dist-late", "late",
                      absl::StrCat("late replies, RTT ",
                                   FormatDuration(static_cast<double>(late_h.min())), " - ",
                                   FormatDuration(static_cast<double>(late_h.max())), ": ",
                                   late_count, " late"),
                      late_count, kLateColor});
  }
  constexpr double kExtraSlot = 58;
  const double main_w = kPlotW - kExtraSlot * static_cast<double>(extras.size());

  uint64_t max_bar = 0;
  for (int i = 0; i < nbins; ++i) max_bar = std::max(max_bar, bins[i] + late_bins[i]);
  for (const Extra& e : extras) max_bar = std::max(max_bar, e.count);
  const double max_count = static_cast<double>(max_bar);
  // Integer ticks: a count axis has no half replies.
  const double cstep = std::max(1.0, NiceStep(max_count / 4));
  const double ctop = std::max(cstep, std::ceil(max_count / cstep - 1e-9) * cstep);
  auto cy = [&](uint64_t c) { return kDistBottom - kDistH * static_cast<double>(c) / ctop; };

  svg.out() += "<g id=\"dist-count-axis\">\n";
  for (double v : TickValues(0, ctop, cstep)) {
    svg.Add("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", kLeft,
            kDistBottom - kDistH * v / ctop, kLeft + kPlotW, kDistBottom - kDistH * v / ctop,
            kGridColor);
    svg.Tick(kLeft - 6, kDistBottom - kDistH * v / ctop + 4, "end", absl::StrCat(std::llround(v)));
  }
  svg.Add(
      "<text x=\"18\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 18 %.1f)\">replies</text>\n",
      kDistTop + kDistH / 2, kDistTop + kDistH / 2);
  svg.out() += "</g>\n<g id=\"dist-x-axis\">\n";
  const double lo_ns = static_cast<double>(lo);
  const double step_u = NiceStep((hi - lo_ns) / unit.ns / 8);
  auto px = [&](double ns) { return kLeft + main_w * (ns - lo_ns) / (hi - lo_ns); };
  for (double v : TickValues(lo_ns / unit.ns, hi / unit.ns, step_u)) {
    svg.Tick(px(v * unit.ns), kDistBottom + 16, "middle", FormatNumber(v, step_u));
  }
  svg.Text(kLeft + main_w / 2, kDistBottom + 36, "middle", 12,
           absl::StrCat("round-trip time (", unit.name, ")"));
  svg.out() += "</g>\n";
  svg.Add(
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
      "stroke=\"%s\"/>\n",
      kLeft, kDistTop, kPlotW, kDistH, kFrameColor);

  svg.Add("<g id=\"dist-bars\" fill=\"%s\">\n", kReplyColor);
  const double bin_px = main_w / nbins;
  for (int i = 0; i < nbins; ++i) {
    if (bins[i] == 0) continue;
    const double b0 = static_cast<double>(lo + i * bw), b1 = static_cast<double>(lo + (i + 1) * bw);
    svg.Add(
        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"><title>%s - %s: %d"
        "</title></rect>\n",
        px(b0), cy(bins[i]), std::max(bin_px - (bin_px > 4 ? 1 : 0), 0.5),
        kDistBottom - cy(bins[i]), FormatDuration(b0), FormatDuration(b1), bins[i]);
  }
  svg.out() += "</g>\n";
  if (late_stacked) {
    // On top of the on-time bar of the same bin: a bin straddling the timeout shows both.
    svg.Add("<g id=\"dist-late-bars\" fill=\"%s\">\n", kLateColor);
    for (int i = 0; i < nbins; ++i) {
      if (late_bins[i] == 0) continue;
      const double b0 = static_cast<double>(lo + i * bw),
                   b1 = static_cast<double>(lo + (i + 1) * bw);
      const double top = cy(bins[i] + late_bins[i]);
      svg.Add(
          "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"><title>%s - %s: %d late"
          "</title></rect>\n",
          px(b0), top, std::max(bin_px - (bin_px > 4 ? 1 : 0), 0.5), cy(bins[i]) - top,
          FormatDuration(b0), FormatDuration(b1), late_bins[i]);
    }
    svg.out() += "</g>\n";
  }
  if (opt.timeout > 0 && static_cast<double>(opt.timeout) >= lo_ns &&
      static_cast<double>(opt.timeout) <= hi) {
    const double tx = px(static_cast<double>(opt.timeout));
    svg.Add(
        "<line id=\"dist-timeout\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>\n",
        tx, kDistTop, tx, kDistBottom, kTimeoutColor);
    // Labelled on the side with more room, so it stays inside the frame.
    const bool left = tx > kLeft + main_w / 2;
    svg.Text(left ? tx - 4 : tx + 4, kDistTop + 13, left ? "end" : "start", 11, "timeout",
             absl::StrFormat(" fill=\"%s\"", kTimeoutColor));
  }
  for (size_t i = 0; i < extras.size(); ++i) {
    const Extra& e = extras[i];
    const double x0 = kLeft + main_w + kExtraSlot * static_cast<double>(i) + 14;
    svg.Add("<g id=\"%s\" fill=\"%s\">\n", e.id, e.color);
    svg.Add(
        "<rect x=\"%.1f\" y=\"%.2f\" width=\"30\" height=\"%.2f\"><title>%s</title></rect>\n",
        x0, cy(e.count), kDistBottom - cy(e.count), XmlEscape(e.tooltip));
    svg.out() += "</g>\n";
    svg.Text(x0 + 15, cy(e.count) - 4, "middle", 11, Grouped(e.count));
    svg.Text(x0 + 15, kDistBottom + 16, "middle", 11, e.label);
  }
  if (extras.size() > 0) {
    const double sep = kLeft + main_w + 4;
    svg.Add(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
        "stroke-dasharray=\"3,3\"/>\n",
        sep, kDistTop, sep, kDistBottom, kFrameColor);
  }
  if (on_count + late_count == 0) {
    svg.Text(kLeft + kPlotW / 2, kDistTop + kDistH / 2, "middle", 13, "no replies",
             " fill=\"#999999\"");
  }
  svg.out() += "</g>\n";
}

// The run's figures, in words.
std::string Subtitle(const PlotRecorder& rec, const measure::RunResult& r, const PlotOptions& opt,
                     const XAxis& x) {
  const measure::Figures& f = r.total;
  std::string s = absl::StrCat(
      Count(f.sent, opt.heartbeat ? "heartbeat" : "probe", opt.heartbeat ? "heartbeats" : "probes"),
      " in ", FormatDuration(x.end), ": ", Count(f.on_time, "reply", "replies"), " on time, ",
      Grouped(f.late), " late, ", Grouped(f.lost), opt.heartbeat ? " missed" : " lost");
  if (f.in_flight > 0) absl::StrAppend(&s, ", ", Grouped(f.in_flight), " in flight");
  if (opt.heartbeat && r.total_heartbeat) {
    const measure::HeartbeatFigures& h = *r.total_heartbeat;
    const uint64_t n = static_cast<uint64_t>(std::max(h.outages, 0));
    // Several targets: their outages and down times are added up, and may overlap.
    const bool several = r.targets.size() > 1;
    absl::StrAppend(
        &s, n == 0 ? (several ? "; no target ever down" : "; peer never down")
                   : absl::StrCat(several ? "; targets down " : "; peer down ",
                                  Count(n, "time", "times"), ", ",
                                  FormatDuration(static_cast<double>(h.time_down)), " in all",
                                  several ? " (each target's time down added up)" : ""));
  }
  if (rec.replies().stride() > 1)
    absl::StrAppend(&s, "; 1 in ", Grouped(rec.replies().stride()), " replies drawn");
  if (rec.late().stride() > 1)
    absl::StrAppend(&s, "; 1 in ", Grouped(rec.late().stride()), " late replies drawn");
  return s;
}

}  // namespace

std::string RenderSvg(const PlotRecorder& rec, const measure::RunResult& result,
                      const PlotOptions& opt) {
  const measure::Figures& figures = result.total;
  const XAxis x = MakeXAxis(rec, opt.duration);
  const YAxis y = MakeYAxis(rec, opt.timeout);
  Svg svg;
  svg.Add(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
      "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, sans-serif\">\n"
      "<title>%s</title>\n"
      "<rect id=\"background\" width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      kWidth, kHeight, kWidth, kHeight, XmlEscape(opt.title));
  svg.Text(kLeft, kTitleY, "start", 16, opt.title, " font-weight=\"bold\"");
  svg.Text(kLeft, kSubtitleY, "start", 12, Subtitle(rec, result, opt, x), " fill=\"#555555\"");
  RenderLegend(svg, rec, figures, opt, DownWords(result));
  RenderRttPanel(svg, rec, opt, x, y, DownWords(result));
  RenderDistribution(svg, figures, opt);
  svg.out() += "</svg>\n";
  return std::move(svg.out());
}

absl::Status WritePlotSvg(const std::string& path, const PlotRecorder& recorder,
                          const measure::RunResult& result, const PlotOptions& options) {
  return WriteOutputFile(path, RenderSvg(recorder, result, options));
}


}  // namespace udpbeat
