// The statistics lines every client mode prints after the lab's: shared by ping and
// heartbeat text output.
#ifndef UDPBEAT_REPORT_STATISTICS_TEXT_H_
#define UDPBEAT_REPORT_STATISTICS_TEXT_H_

#include <iosfwd>
#include <string>

#include "udpbeat/measure/run_result.h"

namespace udpbeat::report {

// "Packets: Sent = N, Received = N, Lost = N (x% packet loss)[, +N port unreachable]"
// and, when some of the lost were dropped on this host, a line saying how many.
void WritePacketsLines(const measure::Figures& f, bool unreachable, std::ostream& out);

// After the lab's lines:
//   rtt min/avg/max/mdev = a/b/c/d ms
//   rtt p50/p90/p99/p99.9 = a/b/c/d ms
//   jitter = x ms (RFC 3550)
//   late N, duplicate N, reordered N, malformed N, longest loss burst N
// and for STAMP the reflector's residence, the clock offset, one-way delays and, with a
// stateful reflector, the loss by direction.
void WriteRichStatistics(const measure::Figures& f, std::ostream& out);

// "sent N, received N, lost N (x%), rtt p50 a ms, p99 b ms" (SIGQUIT).
std::string InterimLine(const measure::Figures& f);

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_STATISTICS_TEXT_H_
