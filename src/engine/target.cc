#include "udpbeat/engine/target.h"

#include <algorithm>

#include "udpbeat/base/status_macros.h"

namespace udpbeat::engine {

absl::StatusOr<std::unique_ptr<Target>> Target::Create(
    measure::TargetInfo info, const SocketAddress& peer, const SessionGroupOptions& opts,
    const std::optional<DetectorConfig>& detectors, ProbeTransport& transport,
    ProbeSockets& sockets, TargetObserver& observer) {
  std::unique_ptr<Target> t(new Target(std::move(info), peer, observer, transport.clock()));
  t->since_ = transport.clock().Now();
  UDPBEAT_ASSIGN_OR_RETURN(t->group_, SessionGroup::Create(opts, peer, transport, sockets, *t));
  if (detectors) {
    for (size_t i = 0; i < t->group_->size(); ++i) {
      t->watches_.emplace_back(detectors->misses, detectors->phi ? &*detectors->phi : nullptr,
                               t->since_);
    }
  }
  return t;
}

void Target::OnReply(ProbeSession& s, const measure::ReplyEvent& r) {
  if (!watches_.empty() && r.kind == stats::ReplyClass::kOnTime)
    RollUp(s.index(), watches_[s.index()].OnReply(r.seq, clock_.Now()));
  observer_.OnReply(*this, s, r);
}

void Target::OnTimeout(ProbeSession& s, const measure::TimeoutEvent& e) {
  // The event first: a text reporter prints the timeout before the state change it causes.
  // A send error is a miss too: it is not counted lost, but the peer was not heard from
  // (a host whose probes cannot leave, e.g. a route gone, must not stay up).
  observer_.OnTimeout(*this, s, e);
  if (!watches_.empty()) RollUp(s.index(), watches_[s.index()].OnTimeout(e.seq, clock_.Now()));
}

void Target::OnDone(ProbeSession&) {
  if (++done_ == group_->size()) observer_.OnDone(*this);
}

void Target::Tick() {
  const MonoTime now = clock_.Now();
  for (size_t i = 0; i < watches_.size(); ++i) RollUp(i, watches_[i].Tick(now));
}

size_t Target::SessionsDown() const {
  size_t n = 0;
  for (const detect::PeerWatch& w : watches_) n += w.state() == detect::State::kDown;
  return n;
}

void Target::RollUp(size_t session, const std::optional<detect::Transition>& t) {
  if (!t) return;
  // A session of several is a path (--src-ports) or a client (--sessions) of its own:
  // its changes are news even while the target, up through the others, does not change.
  if (watches_.size() > 1) observer_.OnSessionTransition(*this, session, *t);
  detect::State best = detect::State::kDown;
  for (const detect::PeerWatch& w : watches_) best = std::min(best, w.state());
  if (best == state_) return;
  detect::Transition rolled = *t;
  rolled.from = state_;
  rolled.to = best;
  rolled.time_in_from = t->at - since_;
  if (best == detect::State::kDown) {
    ++outages_;
    down_since_ = t->at;
  } else if (state_ == detect::State::kDown) {
    closed_down_ += t->at - down_since_;
  }
  state_ = best;
  since_ = t->at;
  ++state_changes_;
  observer_.OnTransition(*this, rolled);
}

measure::Measurements Target::Combined() const {
  std::vector<const measure::Measurements*> parts;
  for (size_t i = 0; i < group_->size(); ++i) parts.push_back(&group_->session(i).measurements());
  measure::Measurements m = measure::Measurements::Combine(parts);
  m.local_drops = group_->SocketDrops();
  return m;
}

measure::Figures Target::Figures(measure::Detail detail) const {
  measure::Figures f = group_->size() == 1
                           ? measure::Summarize(group_->session(0).measurements(), detail)
                           : measure::Summarize(Combined(), detail);
  // Exact per-socket drop counters cost a system call per socket: final results only.
  if (detail != measure::Detail::kCounters) f.local_drops = group_->SocketDrops();
  return f;
}

measure::HeartbeatFigures Target::Heartbeat(MonoTime now) const {
  measure::HeartbeatFigures h;
  h.state = state_;
  h.outages = outages_;
  h.state_changes = state_changes_;
  h.time_down = closed_down_ + (state_ == detect::State::kDown ? now - down_since_ : 0);
  h.sessions = watches_.size();
  h.sessions_down = SessionsDown();
  return h;
}

std::vector<measure::PathFigures> Target::Paths() const {
  std::vector<measure::PathFigures> paths;
  for (size_t i = 0; i < group_->size(); ++i) {
    const stats::SessionStats& s = group_->session(i).stats();
    paths.push_back({group_->local_port(i), s.sent(), s.received(), s.lost(), s.loss_ratio()});
  }
  return paths;
}

measure::TargetResult Target::Result(measure::Detail detail, MonoTime now, bool paths) const {
  measure::TargetResult r;
  r.info = info_;
  r.figures = Figures(detail);
  if (heartbeat()) r.heartbeat = Heartbeat(now);
  if (paths) r.paths = Paths();
  return r;
}

}  // namespace udpbeat::engine
