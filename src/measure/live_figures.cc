#include "udpbeat/measure/live_figures.h"

#include "udpbeat/measure/run_result.h"

namespace udpbeat::measure {

LiveFigures LiveMeter::Take(std::span<const Measurements* const> sessions, Nanos elapsed) {
  const Figures f = Summarize(Measurements::Combine(sessions), Detail::kFull);
  // Which probes still await a reply is each session's tracker's to say: a combination
  // merges counters, not windows.
  uint64_t awaiting = 0;
  for (const Measurements* m : sessions) awaiting += m->stats.awaiting();
  LiveFigures v;
  v.elapsed = elapsed;
  v.sent = f.sent;
  v.received = f.received;
  v.in_flight = awaiting;
  const uint64_t settled = f.sent - awaiting;
  if (settled > f.received) {
    v.loss_ratio = static_cast<double>(settled - f.received) / static_cast<double>(settled);
  }
  const double dt = static_cast<double>(elapsed - last_elapsed_) / 1e9;
  // A send that failed after the view before is taken back (Measurements::send_errors):
  // `sent` may go down, the rate then reads 0.
  auto rate = [dt](uint64_t now, uint64_t before) {
    return dt > 0 && now > before ? static_cast<double>(now - before) / dt : 0.0;
  };
  v.send_rate = rate(f.sent, last_sent_);
  v.receive_rate = rate(f.received, last_received_);
  v.rtt_p50 = f.rtt.p50;
  v.rtt_p99 = f.rtt.p99;
  last_sent_ = f.sent;
  last_received_ = f.received;
  last_elapsed_ = elapsed;
  return v;
}

}  // namespace udpbeat::measure
