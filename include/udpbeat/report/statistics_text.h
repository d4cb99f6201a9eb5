// The statistics lines ping and heartbeat share.
#ifndef UDPBEAT_REPORT_STATISTICS_TEXT_H_
#define UDPBEAT_REPORT_STATISTICS_TEXT_H_

#include <iosfwd>
#include <string>

#include "udpbeat/measure/run_result.h"

namespace udpbeat::report {

// The lab's "Packets: Sent = N, Received = N, Lost = N (x% packet loss)", then
// ", +N port unreachable", ", N in flight" and ", N send errors" when there are any, a
// line saying how many of the lost were dropped on this host, and one saying that the
// send errors never left it (neither sent nor lost).
void WritePacketsLines(const measure::Figures& f, bool unreachable, std::ostream& out);

// iputils': "N packets transmitted, N received, [+N send errors, ][N in flight, ]X% packet
// loss, time Yms".
void WriteTransmittedLine(const measure::Figures& f, Nanos elapsed, std::ostream& out);

// After those:
//   rtt min/avg/max/mdev = a/b/c/d ms
//   rtt p50/p90/p99/p99.9 = a/b/c/d ms
//   jitter = x ms (RFC 3550)
//   late N, duplicate N, reordered N, malformed N, longest loss burst N
// and for STAMP the reflector's residence, the clock offset, one-way delays and, with a
// stateful reflector, the loss by direction.
void WriteRichStatistics(const measure::Figures& f, std::ostream& out);

// Several targets: one row each (target, sent, received, loss %, RTT min/avg/p50/p99/max
// in ms, and for heartbeat the state), then a row for all of them.
void WriteTargetTable(const measure::RunResult& r, std::ostream& out);

// Per source port (--src-ports): "paths of TARGET: port N sent N lost N (x%), ...".
void WritePathLines(const measure::RunResult& r, std::ostream& out);

// "sent N, received N, lost N (x%)[, send errors N], rtt p50 a ms, p99 b ms" (SIGQUIT).
std::string InterimLine(const measure::Figures& f);
// The errno's name as a sentence ("Operation not permitted"), thread-safe.
std::string ErrorText(int error);

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_STATISTICS_TEXT_H_
