// Human text for ping and heartbeat.
//
// ping, lab protocol (--proto seed): the lab's lines, so people who know the lab read
// them at once ("Reply from HOST: <payload>" / "RTT: 0.000123 seconds" / "Request timed
// out"). ping, STAMP: ping(8)'s one line per reply ("44 bytes from HOST: seq=0 ttl=64
// time=0.031 ms") with udpbeat's extras on the same line. heartbeat: its replies as ping
// prints them (the lab protocol: the lab's heartbeat client's lines), its timeouts and
// state changes. Then statistics: the lab's, iputils' "N packets
// transmitted" line, udpbeat's richer lines, and with several targets a per-target table
// before the aggregate.
#ifndef UDPBEAT_REPORT_TEXT_REPORTERS_H_
#define UDPBEAT_REPORT_TEXT_REPORTERS_H_

#include <iosfwd>
#include <memory>

#include "udpbeat/report/reporter.h"

namespace udpbeat::report {

struct TextOptions {
  bool quiet = false;       // no per-probe lines (ping: statistics only; heartbeat: states too)
  bool unix_times = false;  // -D: each event line starts with "[unix seconds.micros] "
  bool show_tos = false;    // the run marked its probes: print each reply's TOS
};

std::unique_ptr<RunReporter> MakePingTextReporter(const TextOptions& opts, std::ostream& out,
                                                  std::ostream& err);
std::unique_ptr<RunReporter> MakeHeartbeatTextReporter(const TextOptions& opts,
                                                       std::ostream& out, std::ostream& err);

// Load tests (many sessions): send lag and the sessions with the worst loss and p99.
void WriteSessionReport(const measure::RunResult& r, std::ostream& out);

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_TEXT_REPORTERS_H_
