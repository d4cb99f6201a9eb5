// The merged view of many probe sessions (load tests, heartbeat --sessions): statistics,
// STAMP figures and send lag, as one session's would read.
#ifndef UDPBEAT_MODES_SESSION_AGGREGATE_H_
#define UDPBEAT_MODES_SESSION_AGGREGATE_H_

#include "udpbeat/modes/probe_session.h"
#include "udpbeat/stats/session_stats.h"

namespace udpbeat {

struct SessionAggregate {
  stats::SessionStats stats{1};  // window 1: it only receives merges
  StampSummary stamp;
  stats::DelayStats send_lag;
  uint64_t unreachable = 0;

  void Add(const ProbeSession& s);
};

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_SESSION_AGGREGATE_H_
