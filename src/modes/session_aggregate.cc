#include "udpbeat/modes/session_aggregate.h"

namespace udpbeat {

void SessionAggregate::Add(const ProbeSession& s) {
  const StampSummary& o = s.stamp();
  // The first session with STAMP data sets the aggregate's one-way reference; the
  // others' delays are shifted onto it: a forward delay recorded as raw − ref_i is
  // raw − ref_agg = recorded + (ref_i − ref_agg); a backward one the opposite way.
  if (o.has_ref && !stamp.has_ref) {
    stamp.has_ref = true;
    stamp.offset_ref = o.offset_ref;
  }
  stats.Merge(s.stats(), o.has_ref ? o.offset_ref - stamp.offset_ref : 0);
  send_lag.Merge(s.send_lag());
  unreachable += s.unreachable();
  stamp.residence.Merge(o.residence);
  if (o.best_rtt >= 0 && (stamp.best_rtt < 0 || o.best_rtt < stamp.best_rtt)) {
    stamp.best_rtt = o.best_rtt;
    stamp.best_offset = o.best_offset;
  }
  stamp.reflector_stateful |= o.reflector_stateful;
  stamp.forward_lost += o.forward_lost;
}

}  // namespace udpbeat
