#include "udpbeat/report/progress_line.h"

#include <ostream>

#include "absl/strings/str_format.h"

namespace udpbeat::report {

void ProgressLine::Show(std::ostream& out, Nanos elapsed, uint64_t sent, uint64_t received,
                        uint64_t in_flight, const stats::LogHistogram& rtt) {
  const double secs = static_cast<double>(elapsed) / 1e9;
  const double dt = static_cast<double>(elapsed - last_elapsed_) / 1e9;
  const uint64_t settled = sent - in_flight;
  const uint64_t lost = settled > received ? settled - received : 0;
  out << absl::StrFormat(
             "\r\033[K%6.1fs  sent %.0f/s  received %.0f/s  in flight %d  loss %.2f%%  rtt p50 "
             "%.3f ms  p99 %.3f ms",
             secs, dt > 0 ? static_cast<double>(sent - last_sent_) / dt : 0,
             dt > 0 ? static_cast<double>(received - last_received_) / dt : 0, in_flight,
             settled > 0 ? 100.0 * static_cast<double>(lost) / static_cast<double>(settled) : 0.0,
             static_cast<double>(rtt.Percentile(50)) / 1e6,
             static_cast<double>(rtt.Percentile(99)) / 1e6)
      << std::flush;
  shown_ = true;
  last_sent_ = sent;
  last_received_ = received;
  last_elapsed_ = elapsed;
}

void ProgressLine::Clear(std::ostream& out) {
  if (!shown_) return;
  out << "\r\033[K" << std::flush;
  shown_ = false;
}

}  // namespace udpbeat::report
