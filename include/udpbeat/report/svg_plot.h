// `--plot FILE.svg`: a picture of a run, viewable in any browser — RTT over time with
// timeouts marked, and the RTT distribution. Memory is bounded: past kMaxPoints the
// recorder keeps every second point (and doubles its stride), so a long run still draws
// its whole time span.
#ifndef UDPBEAT_REPORT_SVG_PLOT_H_
#define UDPBEAT_REPORT_SVG_PLOT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "udpbeat/stats/histogram.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

class PlotRecorder {
 public:
  static constexpr size_t kMaxPoints = 20000;

  // `at` is time since the start of the run.
  void AddRtt(Nanos at, Nanos rtt);
  void AddTimeout(Nanos at);

  // The SVG document: <g id="rtt-series">, <g id="timeouts">, <g id="distribution">.
  std::string Render(const std::string& title, const stats::LogHistogram& rtt) const;
  absl::Status WriteSvg(const std::string& path, const std::string& title,
                        const stats::LogHistogram& rtt) const;

  size_t points() const { return rtts_.size(); }
  size_t timeouts() const { return timeouts_.size(); }

 private:
  struct Point {
    Nanos at;
    Nanos rtt;
  };
  void Thin();

  std::vector<Point> rtts_;
  std::vector<Nanos> timeouts_;
  uint64_t stride_ = 1;  // keep one sample in stride_
  uint64_t seen_ = 0;
};

}  // namespace udpbeat

#endif  // UDPBEAT_REPORT_SVG_PLOT_H_
