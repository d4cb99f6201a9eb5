// For the plot's tests: the RunResult of a run that recorded exactly what a PlotRecorder
// holds (each reply, late reply, loss and down period once), as the engine would give it.
#ifndef UDPBEAT_TESTS_UNIT_REPORT_SVG_PLOT_RESULT_H_
#define UDPBEAT_TESTS_UNIT_REPORT_SVG_PLOT_RESULT_H_

#include "udpbeat/measure/run_result.h"
#include "udpbeat/report/svg_plot.h"
#include "udpbeat/stats/histogram.h"

namespace udpbeat {

inline measure::RunResult ResultOf(const PlotRecorder& rec, bool heartbeat = false) {
  measure::RunResult r;
  measure::Figures& f = r.total;
  f.on_time = rec.replies().total();
  f.late = rec.late().total();
  f.received = f.on_time + f.late;
  f.lost = rec.losses().total();
  f.sent = f.received + f.lost;
  stats::LogHistogram all = rec.on_time_rtt();
  all.Merge(rec.late_rtt());
  f.rtt.count = all.count();
  f.rtt.p50 = all.Percentile(50);
  f.rtt.p99 = all.Percentile(99);
  f.rtt.max = all.max();
  if (heartbeat) {
    measure::HeartbeatFigures h;
    h.outages = static_cast<int>(rec.down().total());
    h.time_down = rec.down().total_length();
    r.total_heartbeat = h;
  }
  return r;
}

}  // namespace udpbeat

#endif  // UDPBEAT_TESTS_UNIT_REPORT_SVG_PLOT_RESULT_H_
