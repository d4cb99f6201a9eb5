// PeerStateMachine: the peer's state (up, suspect, down) as the heartbeat
// mode reports it, driven by the MissDetector and, with --phi, the
// PhiAccrualDetector.
//
// Rules (K = MissDetector::k(), T = the phi threshold):
//   down     consecutive misses >= K, or (phi enabled and) phi >= T
//   suspect  consecutive misses >= 1, or (phi enabled and) phi >= T / 2
//   up       on the next on-time reply, from suspect or down
// Evaluate() only escalates (up -> suspect -> down, or up -> down in one
// step when both thresholds are passed at once); only OnReply() leads back
// to up. Between replies the inputs only grow (misses count up, phi grows
// with the silence), so nothing is lost, and the state cannot flap back to
// suspect from down on a reading that merely changed its mind.
//
// The machine starts in kUp, like the lab's client (no kUnknown state): a
// peer that never answers goes suspect on the first miss and down after K.
//
// Every transition is returned exactly once, by the call that made it;
// calls that change nothing return nullopt. It also tracks outages (entries
// into kDown) and the total time spent down, an ongoing outage counting up
// to `now`.
//
// Usage, per heartbeat outcome and on each timer tick:
//   misses.OnMiss();                      // a timeout
//   if (auto t = peer.Evaluate(Verdicts::Read(misses, phi_or_null, now), now))
//     reporter.Transition(*t);
//   misses.OnReply(); phi.Heartbeat(rx);  // an on-time reply
//   if (auto t = peer.OnReply(now)) reporter.Transition(*t);
// Phi grows without any event, so call Evaluate() from a periodic tick too
// (e.g. every send) when phi is enabled.
//
// A pure value: no I/O, no clock reads (times come in as arguments), never
// throws; Evaluate() and OnReply() do not allocate. Transition::reason()
// formats a string for output. Not thread-safe: one owner (the session).
#ifndef UDPBEAT_DETECT_PEER_STATE_H_
#define UDPBEAT_DETECT_PEER_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "udpbeat/detect/miss_detector.h"
#include "udpbeat/detect/phi_accrual.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::detect {

enum class State : uint8_t { kUp, kSuspect, kDown };

// "up", "suspect", "down".
std::string_view StateName(State state) noexcept;

// What the detectors say at one instant.
struct Verdicts {
  int consecutive_misses = 0;
  int misses_for_down = MissDetector::kDefaultK;  // K
  bool phi_enabled = false;
  double phi = 0.0;
  double phi_threshold = PhiAccrualOptions::kDefaultThreshold;  // T

  // Reads both detectors at `now`; `phi` is null when the phi detector is off.
  static Verdicts Read(const MissDetector& misses,
                       const PhiAccrualDetector* phi, MonoTime now) noexcept;
};

// Which rule fired.
enum class Cause : uint8_t { kMisses, kPhi, kMissesAndPhi, kReply };

struct Transition {
  State from = State::kUp;
  State to = State::kUp;
  MonoTime at;
  Nanos time_in_from = 0;  // how long the peer had been in `from`
  Cause cause = Cause::kReply;
  int consecutive_misses = 0;  // at the transition
  double phi = 0.0;            // at the transition, when phi is enabled
  double phi_limit = 0.0;      // the bound phi passed: T (down) or T/2

  // One line for output: "3 consecutive heartbeats missed", "1 heartbeat
  // missed", "phi 8.4 >= 8", both joined by ", ", or "on-time reply".
  // Allocates; call it only to print.
  std::string reason() const;
};

class PeerStateMachine {
 public:
  // Starts in kUp at `start` (the beginning of the run).
  explicit PeerStateMachine(MonoTime start) noexcept : since_(start) {}

  // Escalates to the state `verdicts` call for, if it is worse than the
  // current one; returns the transition, or nullopt when nothing changed.
  std::optional<Transition> Evaluate(const Verdicts& verdicts,
                                     MonoTime now) noexcept;

  // An on-time reply arrived: back to kUp from suspect or down (nullopt if
  // already up). Call it after MissDetector::OnReply().
  std::optional<Transition> OnReply(MonoTime now) noexcept;

  State state() const { return state_; }
  MonoTime since() const { return since_; }  // when state() was entered
  int outages() const { return outages_; }   // transitions into kDown
  // Total time spent down, an ongoing outage counted up to `now`.
  Nanos TimeDown(MonoTime now) const noexcept;

 private:
  Transition MoveTo(State to, Cause cause, const Verdicts& verdicts,
                    double phi_limit, MonoTime now) noexcept;

  State state_ = State::kUp;
  MonoTime since_;
  int outages_ = 0;
  Nanos closed_down_ = 0;  // sum of finished outages
};

}  // namespace udpbeat::detect

#endif  // UDPBEAT_DETECT_PEER_STATE_H_
