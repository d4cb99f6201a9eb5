// The text `udpbeat serve` prints: the line saying where it listens, its counters on one
// line (the summary, SIGQUIT) and its closing statistics.
#ifndef UDPBEAT_REPORT_SERVE_TEXT_H_
#define UDPBEAT_REPORT_SERVE_TEXT_H_

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "udpbeat/measure/serve_counters.h"

namespace udpbeat::report {

// "udpbeat serve: listening on ADDRESS (reply MODE, N threads)": the first line, once the
// socket is bound (the threads only when several).
std::string ListeningLine(std::string_view address, std::string_view reply_mode, int threads);

// "received N, replied N, dropped N, malformed N, send errors N, kernel drops N, ..."
std::string FormatServeCounters(const measure::ServeCounters& c);

// "--- udpbeat serve statistics ---", the counters of every worker together, the event
// loops' figures, and with several workers one line per worker.
void WriteServeStatistics(const measure::ServeCounters& total, const measure::LoopCounters& loops,
                          std::span<const measure::ServeCounters> per_worker, std::ostream& out);

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_SERVE_TEXT_H_
