#include "udpbeat/stats/jitter.h"

namespace udpbeat::stats {

void InterarrivalJitter::Merge(const InterarrivalJitter& other) noexcept {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  const double na = static_cast<double>(count_);
  const double nb = static_cast<double>(other.count_);
  jitter_ns_ = (jitter_ns_ * na + other.jitter_ns_ * nb) / (na + nb);
  count_ += other.count_;
}

}  // namespace udpbeat::stats
