// The live progress line of a run with many sessions or targets on a terminal: redrawn in
// place once a second, and cleared before any other line is printed so the two never
// share a line. Loss counts only probes whose fate is known; the rest are in flight.
#ifndef UDPBEAT_REPORT_PROGRESS_LINE_H_
#define UDPBEAT_REPORT_PROGRESS_LINE_H_

#include <cstdint>
#include <iosfwd>

#include "udpbeat/stats/histogram.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::report {

class ProgressLine {
 public:
  // `elapsed` since the start; counters so far; `in_flight` sent, neither answered nor
  // timed out.
  void Show(std::ostream& out, Nanos elapsed, uint64_t sent, uint64_t received,
            uint64_t in_flight, const stats::LogHistogram& rtt);
  // Erases the line if it is shown (carriage return + erase to end of line).
  void Clear(std::ostream& out);

 private:
  bool shown_ = false;
  uint64_t last_sent_ = 0;
  uint64_t last_received_ = 0;
  Nanos last_elapsed_ = 0;
};

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_PROGRESS_LINE_H_
