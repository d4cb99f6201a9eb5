// Human text for ping and heartbeat: the lab's lines first (so people who know the lab
// read them at once), then udpbeat's richer statistics.
#ifndef UDPBEAT_REPORT_TEXT_REPORTERS_H_
#define UDPBEAT_REPORT_TEXT_REPORTERS_H_

#include <iosfwd>
#include <memory>

#include "udpbeat/report/reporter.h"

namespace udpbeat::report {

struct TextOptions {
  bool quiet = false;  // no per-probe lines (ping: statistics only; heartbeat: states too)
};

std::unique_ptr<RunReporter> MakePingTextReporter(const TextOptions& opts, std::ostream& out,
                                                  std::ostream& err);
std::unique_ptr<RunReporter> MakeHeartbeatTextReporter(const TextOptions& opts,
                                                       std::ostream& out, std::ostream& err);

// Load tests (many sessions): send lag and the sessions with the worst loss and p99.
void WriteSessionReport(const measure::RunResult& r, std::ostream& out);

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_TEXT_REPORTERS_H_
