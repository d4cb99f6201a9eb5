// The live progress line of a run with many sessions or targets on a terminal: redrawn in
// place once a second, and cleared before any other line is printed so the two never
// share a line. It prints measure::LiveFigures (loss counts only probes whose fate is
// known; the rest are in flight) and computes nothing.
#ifndef UDPBEAT_REPORT_PROGRESS_LINE_H_
#define UDPBEAT_REPORT_PROGRESS_LINE_H_

#include <iosfwd>

#include "udpbeat/measure/live_figures.h"

namespace udpbeat::report {

class ProgressLine {
 public:
  void Show(std::ostream& out, const measure::LiveFigures& f);
  // Erases the line if it is shown (carriage return + erase to end of line).
  void Clear(std::ostream& out);

 private:
  bool shown_ = false;
};

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_PROGRESS_LINE_H_
