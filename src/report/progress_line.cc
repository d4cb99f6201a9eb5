#include "udpbeat/report/progress_line.h"

#include <ostream>

#include "absl/strings/str_format.h"

namespace udpbeat::report {

void ProgressLine::Show(std::ostream& out, const measure::LiveFigures& f) {
  out << absl::StrFormat(
             "\r\033[K%6.1fs  sent %.0f/s  received %.0f/s  in flight %d  loss %.2f%%  rtt p50 "
             "%.3f ms  p99 %.3f ms",
             static_cast<double>(f.elapsed) / 1e9, f.send_rate, f.receive_rate, f.in_flight,
             100.0 * f.loss_ratio, static_cast<double>(f.rtt_p50) / 1e6,
             static_cast<double>(f.rtt_p99) / 1e6)
      << std::flush;
  shown_ = true;
}

void ProgressLine::Clear(std::ostream& out) {
  if (!shown_) return;
  out << "\r\033[K" << std::flush;
  shown_ = false;
}

}  // namespace udpbeat::report
