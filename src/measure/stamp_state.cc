#include "udpbeat/measure/stamp_state.h"

#include <algorithm>

namespace udpbeat::measure {

void StampState::Record(const Exchange& e, uint32_t reflector_seq, uint32_t seq,
                        stats::SessionStats& stats) {
  if (!has_ref_) {
    has_ref_ = true;
    const Nanos half_rtt = (e.forward + e.backward + 1) / 2;  // ((T4−T1)−(T3−T2))/2
    forward_ref_ = e.clock_offset - half_rtt;
    backward_ref_ = e.clock_offset + half_rtt;
  }
  stats.RecordOneWay(stats::Direction::kForward, e.forward - forward_ref_);
  stats.RecordOneWay(stats::Direction::kBackward, e.backward + backward_ref_);
  stats.RecordClockOffset(e.clock_offset);
  residence_.Add(static_cast<double>(e.residence));
  if (best_rtt_ < 0 || e.rtt < best_rtt_) {
    best_rtt_ = e.rtt;
    best_offset_ = e.clock_offset;
  }
  last_forward_ = e.forward;
  last_backward_ = e.backward;
  // A stateless reflector copies our sequence number (RFC 8762 §4.2.1); a stateful one
  // counts its own, from 0 per session. A session whose numbers start past 0 (sessions
  // sharing a socket) is told apart at its first reply; one starting at 0, once the
  // reflector missed a request (until then the split has nothing to place).
  if (reflector_seq != seq) reflector_stateful_ = true;
  if (!last_numbers_ || static_cast<int32_t>(reflector_seq - last_numbers_->first) > 0)
    last_numbers_ = {reflector_seq, seq};
}

LossSplit StampState::SplitLoss(uint64_t lost, uint64_t received, uint32_t first_seq,
                                uint64_t unsent) const {
  LossSplit s;
  if (!reflector_stateful_ || !last_numbers_) {
    s.unattributed = lost;
    return s;
  }
  const auto [refl, seq] = *last_numbers_;
  const uint64_t numbers_upto = static_cast<uint32_t>(seq - first_seq) + uint64_t{1};
  const uint64_t sent_upto = numbers_upto - std::min(unsent, numbers_upto);
  const uint64_t numbered = uint64_t{refl} + 1;
  s.forward = std::min(sent_upto > numbered ? sent_upto - numbered : 0, lost);
  s.backward = std::min(numbered > received ? numbered - received : 0, lost - s.forward);
  s.unattributed = lost - s.forward - s.backward;
  return s;
}

StampState StampState::Combine(std::span<const StampState* const> parts,
                               std::span<std::pair<Nanos, Nanos>> shifts) {
  StampState a;
  for (const StampState* p : parts) {
    if (!p->has_ref_) continue;
    a.forward_ref_ = a.has_ref_ ? std::min(a.forward_ref_, p->forward_ref_) : p->forward_ref_;
    a.backward_ref_ = a.has_ref_ ? std::max(a.backward_ref_, p->backward_ref_) : p->backward_ref_;
    a.has_ref_ = true;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const StampState& p = *parts[i];
    // Forward recorded as raw − ref_i is raw − ref_agg = recorded + (ref_i − ref_agg);
    // backward recorded as raw + ref_i is recorded + (ref_agg − ref_i).
    shifts[i] = p.has_ref_ ? std::pair{p.forward_ref_ - a.forward_ref_,
                                       a.backward_ref_ - p.backward_ref_}
                           : std::pair<Nanos, Nanos>{0, 0};
    a.residence_.Merge(p.residence_);
    if (p.best_rtt_ >= 0 && (a.best_rtt_ < 0 || p.best_rtt_ < a.best_rtt_)) {
      a.best_rtt_ = p.best_rtt_;
      a.best_offset_ = p.best_offset_;
    }
    a.reflector_stateful_ |= p.reflector_stateful_;
    a.settled_.forward += p.settled_.forward;
    a.settled_.backward += p.settled_.backward;
    a.settled_.unattributed += p.settled_.unattributed;
    if (p.has_exchange()) {
      a.last_forward_ = p.last_forward_;
      a.last_backward_ = p.last_backward_;
    }
  }
  return a;
}

}  // namespace udpbeat::measure
