// `--plot FILE.svg`: a picture of a ping or heartbeat run that a browser shows.
//
// Top panel, RTT over time. The x axis is the run, 0..PlotOptions::duration, and every
// probe is drawn at the time it was SENT: an on-time reply as a blue dot at its RTT, a
// late reply (answered after its timeout) as an orange triangle at its RTT, a probe never
// answered as a red mark in the "lost" lane above the plot. The timeout is a dashed line;
// heartbeat down periods are grey bands (several targets: while any of them is down). A
// legend names every kind of mark drawn.
// Bottom panel, the RTT distribution: every reply's RTT (exact, never thinned), on-time
// replies blue and late ones orange, each as the sequence tracker classified that reply
// (never guessed from where its RTT falls against the timeout: a histogram bucket that
// straddles the timeout may hold both kinds, and its bar is stacked). It is the run's
// own, measure::Figures::rtt_distribution, not a second recording.
//
// Counts. Every number the plot prints (probes sent, replies on time and late, lost, in
// flight, the distribution's median, p99 and max, a heartbeat peer's outages and time
// down) is the run's measure::RunResult, which every other writer prints too; the
// recorder only says where the marks of the top panel go.
//
// The y axis. On-time RTTs are below the timeout and late RTTs above it, so both and the
// timeout line must fit. When the timeout is at most 4x the largest on-time RTT, one
// linear axis 0..max(RTT, timeout) shows all of them and the replies still use a quarter
// of the height or more. Past that (loopback RTTs of 50 us against a 1 s timeout: the
// replies would be a flat line at 0) the axis is broken: a lower band 0..max on-time RTT
// for the replies, a marked break, and an upper band around the timeout for the line and
// the late replies (with no late replies, a thin band whose one tick is the timeout).
// Each tick label carries its unit, so the two bands cannot be misread.
//
// Memory. A PlotRecorder uses at most kPlotRecorderMaxMemoryBytes (about 220 KiB on
// x86-64), however long the run:
//   - on-time and late replies: past kMaxReplyPoints / kMaxLatePoints kept, the series
//     keeps every second point and from then on one in twice as many (its stride
//     doubles). The largest RTT of each series is always kept, and the plot says
//     "1 in N drawn" when N > 1.
//   - losses and down periods are kept as spans [from, to] with a count. Past
//     kMaxLossSpans / kMaxDownSpans, spans closer than a gap are merged, the gap doubling
//     until at most half the cap remain. So no loss ever disappears from the picture; a
//     merged span means "N events in this time range" (its tooltip says N), and since
//     half a cap (1024 / 256) is about the plot's width in pixels, merged events were
//     mostly within a pixel or two of each other anyway.
// Every vector is reserved to its cap on first use and never grows past it.
//
// Thread: one writer; not synchronized. Nothing here throws (allocation failure aside).
#ifndef UDPBEAT_REPORT_SVG_PLOT_H_
#define UDPBEAT_REPORT_SVG_PLOT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

class PlotRecorder {
 public:
  static constexpr size_t kMaxReplyPoints = 8192;
  static constexpr size_t kMaxLatePoints = 2048;
  static constexpr size_t kMaxLossSpans = 2048;
  static constexpr size_t kMaxDownSpans = 512;

  struct Point {
    Nanos sent_at;
    Nanos rtt;
  };
  // `count` events between `from` and `to` (inclusive; from == to for one loss).
  struct Span {
    Nanos from;
    Nanos to;
    uint64_t count;
  };

  // A series of points thinned by stride (see the file comment).
  class PointSeries {
   public:
    explicit PointSeries(size_t cap) : cap_(cap) {}
    void Add(Point p);
    const std::vector<Point>& points() const { return points_; }
    uint64_t total() const { return total_; }
    uint64_t stride() const { return stride_; }
    // The point with the largest RTT ever added (meaningful when total() > 0).
    Point max_point() const { return max_; }
    size_t MemoryBytes() const { return points_.capacity() * sizeof(Point); }

   private:
    size_t cap_;
    std::vector<Point> points_;
    uint64_t total_ = 0;
    uint64_t stride_ = 1;  // keeps added point i when i % stride_ == 0
    Point max_{0, 0};
  };

  // Spans, merged by a doubling gap past the cap (see the file comment). Not sorted.
  class SpanSeries {
   public:
    explicit SpanSeries(size_t cap) : cap_(cap) {}
    void Add(Nanos from, Nanos to);
    const std::vector<Span>& spans() const { return spans_; }
    uint64_t total() const { return total_; }
    // The sum of (to - from) over every Add, merged or not.
    Nanos total_length() const { return total_length_; }
    Nanos merge_gap() const { return gap_; }
    size_t MemoryBytes() const { return spans_.capacity() * sizeof(Span); }

   private:
    void Coalesce();
    void MergeWithin(Nanos gap);

    size_t cap_;
    std::vector<Span> spans_;
    uint64_t total_ = 0;
    Nanos total_length_ = 0;
    Nanos gap_ = 0;
  };

  // Times are ns since the start of the run (its first send); negative ones count as 0.
  // On time: answered before its timeout.
  void AddReply(Nanos sent_at, Nanos rtt) { replies_.Add({Clamp(sent_at), rtt}); }
  // Answered after its timeout had expired.
  void AddLate(Nanos sent_at, Nanos rtt) { late_.Add({Clamp(sent_at), rtt}); }
  // Never answered. Final: a probe that times out and is answered later is a late reply,
  // not a loss, so call this only once the run can no longer receive its reply.
  void AddLoss(Nanos sent_at) { losses_.Add(Clamp(sent_at), Clamp(sent_at)); }
  // Heartbeat: the peer was down in [from, to); `to` may be the run's end. Periods
  // should not overlap (down_time() adds them up).
  void AddDownPeriod(Nanos from, Nanos to) { down_.Add(Clamp(from), Clamp(to)); }

  const PointSeries& replies() const { return replies_; }
  const PointSeries& late() const { return late_; }
  const SpanSeries& losses() const { return losses_; }
  const SpanSeries& down() const { return down_; }

  // Bytes in use now: the object plus its vectors' capacity.
  size_t MemoryBytes() const {
    return sizeof(*this) + replies_.MemoryBytes() + late_.MemoryBytes() + losses_.MemoryBytes() +
           down_.MemoryBytes();
  }

 private:
  static Nanos Clamp(Nanos t) { return t < 0 ? 0 : t; }

  PointSeries replies_{kMaxReplyPoints};
  PointSeries late_{kMaxLatePoints};
  SpanSeries losses_{kMaxLossSpans};
  SpanSeries down_{kMaxDownSpans};
};

inline constexpr size_t kPlotRecorderMaxMemoryBytes =
    sizeof(PlotRecorder) +
    (PlotRecorder::kMaxReplyPoints + PlotRecorder::kMaxLatePoints) * sizeof(PlotRecorder::Point) +
    (PlotRecorder::kMaxLossSpans + PlotRecorder::kMaxDownSpans) * sizeof(PlotRecorder::Span);

struct PlotOptions {
  std::string title;
  // How long the run sent probes: the x axis is 0..duration. 0: fit the data.
  Nanos duration = 0;
  // The per-probe timeout, drawn as a dashed horizontal line. 0: unknown, no line.
  Nanos timeout = 0;
  // Words for a heartbeat run: "missed" instead of "lost", the down-time summary.
  bool heartbeat = false;
};

// The SVG 1.1 document. Stable ids for tests and styling: <g id="rtt-panel">,
// <g id="replies">, <g id="late">, <g id="lost">, <line id="timeout-line"> and its
// <text id="timeout-label"> (inside the plot, over every mark),
// <g id="down">, <g id="legend"> (entries legend-reply, legend-late, legend-lost,
// legend-timeout, legend-down, present only when that mark is drawn), <g id="x-axis">,
// <g id="y-axis">, <g id="axis-break"> (broken y axis only), <g id="distribution">
// (<g id="dist-bars"> on time, <g id="dist-late-bars"> late replies stacked on the same
// RTT axis, or <g id="dist-late"> one bar right of it when their RTTs are far from the
// on-time ones, <g id="dist-over">, <line id="dist-timeout">, <g id="dist-count-axis">,
// <g id="dist-x-axis">). Every bar's <title> ends ": N" (N replies) or ": N late".
// Tick labels are <text class="tick">.
//
// `result` is the run's: every count printed comes from its total (and total_heartbeat),
// the distribution from its total's rtt_distribution (measure::Detail::kPlot; without
// one the panel says "no replies").
std::string RenderSvg(const PlotRecorder& recorder, const measure::RunResult& result,
                      const PlotOptions& options);

// RenderSvg written atomically to `path`; errors name the path.
absl::Status WritePlotSvg(const std::string& path, const PlotRecorder& recorder,
                          const measure::RunResult& result, const PlotOptions& options);

}  // namespace udpbeat

#endif  // UDPBEAT_REPORT_SVG_PLOT_H_
