// JSON Lines (one object per line, stable field names, units in the name, _ns for
// times):
//   {"event":"reply","seq":1,"rtt_ns":81234,"bytes":28,"ttl":64,"reordered":false,...}
//     STAMP replies add "residence_ns", "clock_offset_ns", "forward_ns", "backward_ns"
//     (raw one-way delays), "reflector_seq" and "reflector_ttl"
//   {"event":"late",...}  a reply after its timeout;  {"event":"duplicate",...}
//   {"event":"timeout","seq":4}  {"event":"unreachable","seq":4}
//   {"event":"state",...}  heartbeat state changes
//   {"event":"session",...}  one per session of a load test, then
//   {"event":"summary","sent":10,"received":9,"lost":1,"loss_ratio":0.1,...}
#ifndef UDPBEAT_REPORT_JSON_REPORTER_H_
#define UDPBEAT_REPORT_JSON_REPORTER_H_

#include <iosfwd>
#include <memory>

#include "udpbeat/report/reporter.h"

namespace udpbeat::report {

std::unique_ptr<RunReporter> MakeJsonReporter(std::ostream& out, std::ostream& err);

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_JSON_REPORTER_H_
