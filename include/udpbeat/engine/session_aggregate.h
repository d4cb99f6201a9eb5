// The merged view of many probe sessions (load tests, heartbeat --sessions): statistics,
// STAMP figures and send lag, as one session's would read.
#ifndef UDPBEAT_ENGINE_SESSION_AGGREGATE_H_
#define UDPBEAT_ENGINE_SESSION_AGGREGATE_H_

#include <span>

#include "udpbeat/engine/probe_session.h"
#include "udpbeat/engine/session_group.h"
#include "udpbeat/stats/session_stats.h"

namespace udpbeat {

struct SessionAggregate {
  stats::SessionStats stats{1};  // window 1: it only receives merges
  StampSummary stamp;
  stats::DelayStats send_lag;
  uint64_t unreachable = 0;

  // Merges every session of `group`, finishing each first when `finish`.
  static SessionAggregate Of(SessionGroup& group, bool finish);
};

}  // namespace udpbeat

#endif  // UDPBEAT_ENGINE_SESSION_AGGREGATE_H_
