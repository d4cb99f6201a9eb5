// One target of a client run: who it is, the probe sessions that watch it (SessionGroup)
// and, for heartbeat, a failure detector per session whose verdicts roll up into the
// target's state: the best of its sessions' (a target answering on any of its source
// ports is up; a dead path shows as that port's loss and its own state changes, not as
// the peer down).
//
// Thread: the loop's. Borrowed: transport, sockets, observer.
#ifndef UDPBEAT_ENGINE_TARGET_H_
#define UDPBEAT_ENGINE_TARGET_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "udpbeat/detect/peer_watch.h"
#include "udpbeat/engine/session_group.h"
#include "udpbeat/measure/run_result.h"

namespace udpbeat::engine {

class Target;

class TargetObserver {
 public:
  virtual ~TargetObserver() = default;
  virtual void OnReply(Target& t, ProbeSession& s, const measure::ReplyEvent& r) = 0;
  virtual void OnTimeout(Target& t, ProbeSession& s, const measure::TimeoutEvent& e) = 0;
  // Follow-up telemetry gave an exchange its exact T3 (ProbeObserver::OnFollowUp).
  virtual void OnFollowUp(Target&, ProbeSession&, const measure::FollowUpEvent&) {}
  // The target's rolled-up state changed (heartbeat only).
  virtual void OnTransition(Target&, const detect::Transition&) {}
  // One session's own detector changed state, for a target of several sessions only
  // (heartbeat only); comes before the target's own change it may cause.
  virtual void OnSessionTransition(Target&, size_t /*session*/, const detect::Transition&) {}
  // Every session of the target sent and settled its probes.
  virtual void OnDone(Target& t) = 0;
};

// Heartbeat's detectors; absent for ping.
struct DetectorConfig {
  int misses = detect::MissDetector::kDefaultK;
  std::optional<detect::PhiAccrualDetector> phi;
};

class Target final : private ProbeObserver {
 public:
  static absl::StatusOr<std::unique_ptr<Target>> Create(
      measure::TargetInfo info, const SocketAddress& peer, const SessionGroupOptions& opts,
      const std::optional<DetectorConfig>& detectors, ProbeTransport& transport,
      ProbeSockets& sockets, TargetObserver& observer);

  void Start() { group_->Start(); }
  void StopSending() { group_->StopSending(); }
  void Finish() { group_->FinishAll(); }
  // Phi accrual grows with silence: re-evaluates the detectors now.
  void Tick();

  const measure::TargetInfo& info() const { return info_; }
  measure::TargetInfo& mutable_info() { return info_; }
  const SocketAddress& peer() const { return peer_; }
  SessionGroup& group() { return *group_; }
  const SessionGroup& group() const { return *group_; }
  bool done() const { return done_ == group_->size(); }
  bool heartbeat() const { return !watches_.empty(); }
  detect::State state() const { return state_; }
  // Sessions whose own detector says down (the target is down only when all are).
  size_t SessionsDown() const;

  // The target's measurements now (its sessions combined; a copy only when it has many).
  measure::Figures Figures(measure::Detail detail) const;
  // Heartbeat figures at `now`.
  measure::HeartbeatFigures Heartbeat(MonoTime now) const;
  std::vector<measure::PathFigures> Paths() const;
  measure::TargetResult Result(measure::Detail detail, MonoTime now, bool paths) const;
  // All sessions' measurements combined (with local drops), as one session's would read.
  measure::Measurements Combined() const;

 private:
  Target(measure::TargetInfo info, const SocketAddress& peer, TargetObserver& observer,
         const Clock& clock)
      : info_(std::move(info)), peer_(peer), observer_(observer), clock_(clock) {}

  void OnReply(ProbeSession& s, const measure::ReplyEvent& r) override;
  void OnTimeout(ProbeSession& s, const measure::TimeoutEvent& e) override;
  void OnFollowUp(ProbeSession& s, const measure::FollowUpEvent& e) override {
    observer_.OnFollowUp(*this, s, e);
  }
  void OnDone(ProbeSession& s) override;
  // Session `session`'s detector changed (or not: nullopt): reported, then rolled up.
  void RollUp(size_t session, const std::optional<detect::Transition>& t);

  measure::TargetInfo info_;
  SocketAddress peer_;
  TargetObserver& observer_;
  const Clock& clock_;
  std::unique_ptr<SessionGroup> group_;
  std::vector<detect::PeerWatch> watches_;  // one per session; empty for ping
  // The rolled-up state and its history.
  detect::State state_ = detect::State::kUp;
  MonoTime since_;
  MonoTime down_since_;
  int outages_ = 0;
  uint64_t state_changes_ = 0;
  Nanos closed_down_ = 0;
  size_t done_ = 0;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_TARGET_H_
