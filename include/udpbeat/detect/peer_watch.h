// PeerWatch: the failure detectors of one heartbeat session put together — the miss
// counter, optionally phi accrual, and the up/suspect/down state machine they drive —
// fed with each heartbeat's outcome.
//
// A timeout of a heartbeat older than the newest one answered on time (sent while the
// peer was down, expiring after it came back) says nothing about the peer now: it is
// stale and ignored.
//
// A pure value: no I/O, no clock reads (times are arguments). One owner.
#ifndef UDPBEAT_DETECT_PEER_WATCH_H_
#define UDPBEAT_DETECT_PEER_WATCH_H_

#include <cstdint>
#include <optional>

#include "udpbeat/detect/miss_detector.h"
#include "udpbeat/detect/peer_state.h"
#include "udpbeat/detect/phi_accrual.h"

namespace udpbeat::detect {

class PeerWatch {
 public:
  // `phi`: the detector to copy, or null to judge by misses alone.
  PeerWatch(int misses, const PhiAccrualDetector* phi, MonoTime start);

  // Heartbeat `seq` was answered on time at `now`.
  std::optional<Transition> OnReply(uint32_t seq, MonoTime now);
  // Heartbeat `seq` timed out.
  std::optional<Transition> OnTimeout(uint32_t seq, MonoTime now);
  // Phi grows with the silence: look again (call a few times per interval).
  std::optional<Transition> Tick(MonoTime now);

  bool Stale(uint32_t seq) const {
    return newest_answered_ && static_cast<int32_t>(seq - *newest_answered_) < 0;
  }
  const PeerStateMachine& machine() const { return state_; }
  State state() const { return state_.state(); }
  uint64_t state_changes() const { return state_changes_; }

 private:
  std::optional<Transition> Count(std::optional<Transition> t) {
    if (t) ++state_changes_;
    return t;
  }
  std::optional<Transition> Evaluate(MonoTime now);

  MissDetector miss_;
  std::optional<PhiAccrualDetector> phi_;
  PeerStateMachine state_;
  std::optional<uint32_t> newest_answered_;
  uint64_t state_changes_ = 0;
};

}  // namespace udpbeat::detect

#endif  // UDPBEAT_DETECT_PEER_WATCH_H_
