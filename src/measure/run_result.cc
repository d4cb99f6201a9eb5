#include "udpbeat/measure/run_result.h"

#include <utility>

namespace udpbeat::measure {

DelayFigures SummarizeDelays(const stats::DelayStats& d, Nanos shift, Detail detail) {
  DelayFigures f;
  f.count = d.count();
  if (f.count == 0) return f;
  const stats::RunningSummary& s = d.summary();
  f.min = static_cast<Nanos>(s.min()) + shift;
  f.avg = s.mean() + static_cast<double>(shift);
  f.max = static_cast<Nanos>(s.max()) + shift;
  f.mdev = s.mdev();
  f.jitter = d.jitter().jitter_ns();
  if (detail != Detail::kCounters) {
    const stats::LogHistogram& h = d.histogram();
    f.p50 = h.Percentile(50) + shift;
    f.p90 = h.Percentile(90) + shift;
    f.p99 = h.Percentile(99) + shift;
    f.p999 = h.Percentile(99.9) + shift;
  }
  return f;
}

Figures Summarize(const Measurements& m, Detail detail) {
  const stats::SessionStats& s = m.stats;
  Figures f;
  f.sent = s.sent();
  f.received = s.received();
  f.on_time = s.on_time();
  f.late = s.late();
  f.lost = s.lost();
  f.in_flight = s.in_flight();
  f.timed_out = s.timed_out();
  f.duplicate = s.duplicate();
  f.reordered = s.reordered();
  f.malformed = s.malformed();
  f.unreachable = m.unreachable;
  f.local_drops = m.local_drops;
  f.skipped = m.skipped;
  f.send_errors = m.send_errors;
  f.longest_loss_burst = s.longest_loss_burst();
  f.kernel_t1 = m.kernel_t1;
  f.follow_up_t3 = m.follow_up_t3;
  f.follow_up_refused = m.follow_up_refused;
  f.dscp_changed = m.dscp_changed;
  f.loss_ratio = s.loss_ratio();
  f.rtt = SummarizeDelays(s.rtt(), 0, detail);
  f.rtt_buckets = s.rtt_buckets();
  f.last_rtt = m.last_rtt;
  f.send_lag = SummarizeDelays(m.send_lag, 0, detail);
  if (detail == Detail::kPlot) {
    RttDistribution d{s.rtt().histogram(), m.late_rtt};
    d.on_time.Subtract(m.late_rtt);
    f.rtt_distribution = std::move(d);
  }
  const StampState& st = m.stamp;
  if (st.has_exchange()) {
    StampFigures x;
    x.residence_avg = st.residence().mean();
    x.residence_max = static_cast<Nanos>(st.residence().max());
    x.clock_offset = st.best_offset();
    x.clock_offset_rtt = st.best_rtt();
    x.clock_offset_avg = s.clock_offset().mean();
    // One-way delays are recorded against references (stamp_state.h).
    const Nanos fref = st.forward_ref(), bref = st.backward_ref(), off = st.best_offset();
    const stats::DelayStats& fwd = s.one_way(stats::Direction::kForward);
    const stats::DelayStats& bwd = s.one_way(stats::Direction::kBackward);
    x.forward_raw = SummarizeDelays(fwd, fref, detail);
    x.backward_raw = SummarizeDelays(bwd, -bref, detail);
    x.forward = SummarizeDelays(fwd, fref - off, detail);
    x.backward = SummarizeDelays(bwd, off - bref, detail);
    x.last_forward = st.last_forward() - off;
    x.last_backward = st.last_backward() + off;
    x.reflector_stateful = st.reflector_stateful();
    x.loss = st.settled_split();
    f.stamp = x;
  }
  return f;
}

}  // namespace udpbeat::measure
