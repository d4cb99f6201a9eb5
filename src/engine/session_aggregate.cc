#include "udpbeat/engine/session_aggregate.h"

#include <algorithm>

namespace udpbeat {

SessionAggregate SessionAggregate::Of(SessionGroup& group, bool finish) {
  SessionAggregate a;
  // One-way references that keep every session's delays non-negative once shifted
  // onto them (StampSummary): the lowest forward and the highest backward reference.
  for (size_t i = 0; i < group.size(); ++i) {
    if (finish) group.session(i).Finish();
    const StampSummary& o = group.session(i).stamp();
    if (!o.has_ref) continue;
    a.stamp.forward_ref = a.stamp.has_ref ? std::min(a.stamp.forward_ref, o.forward_ref)
                                          : o.forward_ref;
    a.stamp.backward_ref = a.stamp.has_ref ? std::max(a.stamp.backward_ref, o.backward_ref)
                                           : o.backward_ref;
    a.stamp.has_ref = true;
  }
  for (size_t i = 0; i < group.size(); ++i) {
    const ProbeSession& s = group.session(i);
    const StampSummary& o = s.stamp();
    // Forward recorded as raw − ref_i is raw − ref_agg = recorded + (ref_i − ref_agg);
    // backward recorded as raw + ref_i is recorded + (ref_agg − ref_i).
    a.stats.Merge(s.stats(), o.has_ref ? o.forward_ref - a.stamp.forward_ref : 0,
                  o.has_ref ? a.stamp.backward_ref - o.backward_ref : 0);
    a.send_lag.Merge(s.send_lag());
    a.unreachable += s.unreachable();
    a.stamp.residence.Merge(o.residence);
    if (o.best_rtt >= 0 && (a.stamp.best_rtt < 0 || o.best_rtt < a.stamp.best_rtt)) {
      a.stamp.best_rtt = o.best_rtt;
      a.stamp.best_offset = o.best_offset;
    }
    a.stamp.reflector_stateful |= o.reflector_stateful;
    a.stamp.forward_lost += o.forward_lost;
  }
  return a;
}

}  // namespace udpbeat
