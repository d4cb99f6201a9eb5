// What a STAMP session learns beyond the statistics engine's counters and RTTs: the
// reflector's residence, the clock offset, the references its one-way delays are recorded
// against, and how the loss splits between directions when the reflector is stateful.
//
// One-way delays are recorded against references taken from the first exchange, so that
// they stay near the true delays and never negative (the histogram covers positive values)
// however far off the reflector's clock is. With that exchange's offset estimate o and
// round trip r, the true offset lies in [o − r/2, o + r/2], so
//   forward recorded  = (T2 − T1) − forward_ref,  forward_ref  = o − r/2, and
//   backward recorded = (T4 − T3) + backward_ref, backward_ref = o + r/2
// are both ≥ the true one-way delay ≥ 0. Raw delays are recorded + forward_ref and
// recorded − backward_ref; offset-corrected ones are raw ∓ best_offset.
//
// Loss by direction (RFC 8762 §4.3.1: a stateful reflector numbers the replies it sends
// per session, from 0). With R the highest reflector number seen and S the request it
// answered, requests up to S that the reflector never numbered were lost forward, replies
// it numbered that never arrived were lost backward, and losses after S cannot be told
// apart: they are unattributed, never counted as either.
//
// A pure value: no I/O, no clock reads.
#ifndef UDPBEAT_MEASURE_STAMP_STATE_H_
#define UDPBEAT_MEASURE_STAMP_STATE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "udpbeat/measure/exchange.h"
#include "udpbeat/stats/session_stats.h"
#include "udpbeat/stats/summary.h"

namespace udpbeat::measure {

struct LossSplit {
  uint64_t forward = 0;
  uint64_t backward = 0;
  uint64_t unattributed = 0;
};

class StampState {
 public:
  // Records one first reply (on time or late, never a duplicate) of request `seq` whose
  // reflector number is `reflector_seq`. Its one-way delays and offset go into `stats`.
  void Record(const Exchange& e, uint32_t reflector_seq, uint32_t seq,
              stats::SessionStats& stats);

  // The split of `lost` probes, given `received` first replies (on time + late) and
  // `unsent` probes whose send failed (Measurements::send_errors: they never reached the
  // reflector, and are not lost). The unsent are all taken to be numbered before the
  // last numbered reply's request: a loss that cannot be told is then unattributed, never
  // counted forward for a request that never left.
  LossSplit SplitLoss(uint64_t lost, uint64_t received, uint32_t first_seq,
                      uint64_t unsent = 0) const;

  // Merges sessions as one: references become the lowest forward and highest backward
  // reference; returns the shifts to apply to each part's recorded one-way delays
  // (forward, backward), in `parts` order.
  static StampState Combine(std::span<const StampState* const> parts,
                            std::span<std::pair<Nanos, Nanos>> shifts);

  bool has_exchange() const { return best_rtt_ >= 0; }
  bool has_ref() const { return has_ref_; }
  Nanos forward_ref() const { return forward_ref_; }
  Nanos backward_ref() const { return backward_ref_; }
  const stats::RunningSummary& residence() const { return residence_; }
  Nanos best_rtt() const { return best_rtt_; }        // the fastest exchange's RTT
  Nanos best_offset() const { return best_offset_; }  // its offset: least disturbed
  bool reflector_stateful() const { return reflector_stateful_; }
  // The newest exchange's raw one-way delays (for live gauges).
  Nanos last_forward() const { return last_forward_; }
  Nanos last_backward() const { return last_backward_; }
  const LossSplit& settled_split() const { return settled_; }
  // Stores the final split (sessions merge their splits by adding them).
  void Settle(const LossSplit& split) { settled_ = split; }

 private:
  bool has_ref_ = false;
  Nanos forward_ref_ = 0;
  Nanos backward_ref_ = 0;
  stats::RunningSummary residence_;
  Nanos best_rtt_ = -1;
  Nanos best_offset_ = 0;
  bool reflector_stateful_ = false;
  // Highest reflector number seen, and the request it answered.
  std::optional<std::pair<uint32_t, uint32_t>> last_numbers_;
  Nanos last_forward_ = 0;
  Nanos last_backward_ = 0;
  LossSplit settled_;
};

}  // namespace udpbeat::measure

#endif  // UDPBEAT_MEASURE_STAMP_STATE_H_
