#include "udpbeat/detect/peer_state.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace udpbeat::detect {
namespace {

// "phi 8.4 >= 8": one decimal unless rounding would print a value below the
// limit (phi 8.449 vs 8.45), then as many as it takes.
std::string PhiReason(double phi, double limit) {
  for (int precision = 1; precision < 6; ++precision) {
    std::string shown = absl::StrFormat("%.*f", precision, phi);
    if (std::strtod(shown.c_str(), nullptr) >= limit)
      return absl::StrFormat("phi %s >= %g", shown, limit);
  }
  return absl::StrFormat("phi %g >= %g", phi, limit);
}

std::string MissReason(int misses) {
  if (misses == 1) return "1 heartbeat missed";
  return absl::StrCat(misses, " consecutive heartbeats missed");
}

}  // namespace

std::string_view StateName(State state) noexcept {
  switch (state) {
    case State::kUp:
      return "up";
    case State::kSuspect:
      return "suspect";
    case State::kDown:
      return "down";
  }
  return "unknown";
}

Verdicts Verdicts::Read(const MissDetector& misses,
                        const PhiAccrualDetector* phi, MonoTime now) noexcept {
  Verdicts v;
  v.consecutive_misses = misses.consecutive_misses();
  v.misses_for_down = misses.k();
  if (phi != nullptr) {
    v.phi_enabled = true;
    v.phi = phi->Phi(now);
    v.phi_threshold = phi->threshold();
  }
  return v;
}

std::string Transition::reason() const {
  switch (cause) {
    case Cause::kMisses:
      return MissReason(consecutive_misses);
    case Cause::kPhi:
      return PhiReason(phi, phi_limit);
    case Cause::kMissesAndPhi:
      return absl::StrCat(MissReason(consecutive_misses), ", ",
                          PhiReason(phi, phi_limit));
    case Cause::kReply:
      return "on-time reply";
  }
  return "";
}

std::optional<Transition> PeerStateMachine::Evaluate(const Verdicts& v,
                                                     MonoTime now) noexcept {
  const int k = std::max(v.misses_for_down, 1);
  const bool miss_down = v.consecutive_misses >= k;
  const bool phi_down = v.phi_enabled && v.phi >= v.phi_threshold;
  const bool miss_suspect = v.consecutive_misses >= 1;
  const bool phi_suspect = v.phi_enabled && v.phi >= v.phi_threshold / 2;

  State target = State::kUp;
  bool by_misses = false;
  bool by_phi = false;
  double limit = 0.0;
  if (miss_down || phi_down) {
    target = State::kDown;
    by_misses = miss_down;
    by_phi = phi_down;
    limit = v.phi_threshold;
  } else if (miss_suspect || phi_suspect) {
    target = State::kSuspect;
    by_misses = miss_suspect;
    by_phi = phi_suspect;
    limit = v.phi_threshold / 2;
  }
  // Only escalate; the enum is ordered up < suspect < down.
  if (target <= state_) return std::nullopt;
  const Cause cause = by_misses && by_phi ? Cause::kMissesAndPhi
                      : by_phi            ? Cause::kPhi
                                          : Cause::kMisses;
  return MoveTo(target, cause, v, limit, now);
}

std::optional<Transition> PeerStateMachine::OnReply(MonoTime now) noexcept {
  if (state_ == State::kUp) return std::nullopt;
  return MoveTo(State::kUp, Cause::kReply, Verdicts{}, 0.0, now);
}

Nanos PeerStateMachine::TimeDown(MonoTime now) const noexcept {
  if (state_ != State::kDown) return closed_down_;
  return closed_down_ + std::max<Nanos>(now - since_, 0);
}

Transition PeerStateMachine::MoveTo(State to, Cause cause, const Verdicts& v,
                                    double phi_limit, MonoTime now) noexcept {
  Transition t;
  t.from = state_;
  t.to = to;
  t.at = now;
  t.time_in_from = std::max<Nanos>(now - since_, 0);
  t.cause = cause;
  t.consecutive_misses = v.consecutive_misses;
  t.phi = v.phi;
  t.phi_limit = phi_limit;
  if (state_ == State::kDown) closed_down_ += t.time_in_from;
  if (to == State::kDown) ++outages_;
  state_ = to;
  // A clock that went backwards must not move `since` back with it.
  since_ = std::max(now, since_);
  return t;
}

}  // namespace udpbeat::detect
