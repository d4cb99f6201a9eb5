#include "udpbeat/measure/measurements.h"

#include <utility>
#include <vector>

namespace udpbeat::measure {

Measurements Measurements::Combine(std::span<const Measurements* const> parts) {
  Measurements a;
  std::vector<const StampState*> stamps;
  stamps.reserve(parts.size());
  for (const Measurements* p : parts) stamps.push_back(&p->stamp);
  std::vector<std::pair<Nanos, Nanos>> shifts(parts.size());
  a.stamp = StampState::Combine(stamps, shifts);
  for (size_t i = 0; i < parts.size(); ++i) {
    const Measurements& p = *parts[i];
    a.stats.Merge(p.stats, shifts[i].first, shifts[i].second);
    a.send_lag.Merge(p.send_lag);
    a.unreachable += p.unreachable;
    a.local_drops += p.local_drops;
    a.skipped += p.skipped;
    a.send_errors += p.send_errors;
    a.kernel_t1 += p.kernel_t1;
    a.follow_up_t3 += p.follow_up_t3;
    a.follow_up_refused += p.follow_up_refused;
    a.dscp_changed += p.dscp_changed;
    a.late_rtt.Merge(p.late_rtt);
    if (p.last_rtt >= 0) a.last_rtt = p.last_rtt;
  }
  return a;
}

}  // namespace udpbeat::measure
