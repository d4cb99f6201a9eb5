// For the plot's tests: a run that records exactly what its PlotRecorder holds (each reply,
// late reply, loss and down period once), and its RunResult as the engine would give it.
#ifndef UDPBEAT_TESTS_UNIT_REPORT_SVG_PLOT_RESULT_H_
#define UDPBEAT_TESTS_UNIT_REPORT_SVG_PLOT_RESULT_H_

#include "udpbeat/measure/measurements.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/report/svg_plot.h"

namespace udpbeat {

// A PlotRecorder whose replies' RTTs also go into the run's Measurements, as a probe
// session records them: the plot's distribution is the run's, not the recorder's.
class RecordedRun : public PlotRecorder {
 public:
  void AddReply(Nanos sent_at, Nanos rtt) {
    PlotRecorder::AddReply(sent_at, rtt);
    m_.RecordRtt(rtt, false);
  }
  void AddLate(Nanos sent_at, Nanos rtt) {
    PlotRecorder::AddLate(sent_at, rtt);
    m_.RecordRtt(rtt, true);
  }
  const measure::Measurements& measurements() const { return m_; }

 private:
  measure::Measurements m_{1};
};

inline measure::RunResult ResultOf(const RecordedRun& rec, bool heartbeat = false) {
  measure::RunResult r;
  measure::Figures& f = r.total;
  f.on_time = rec.replies().total();
  f.late = rec.late().total();
  f.received = f.on_time + f.late;
  f.lost = rec.losses().total();
  f.sent = f.received + f.lost;
  measure::Figures rtts = measure::Summarize(rec.measurements(), measure::Detail::kPlot);
  f.rtt = rtts.rtt;
  f.rtt_distribution = std::move(rtts.rtt_distribution);
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
