#include "udpbeat/detect/peer_watch.h"

namespace udpbeat::detect {

PeerWatch::PeerWatch(int misses, const PhiAccrualDetector* phi, MonoTime start)
    : miss_(misses), state_(start) {
  if (phi != nullptr) phi_ = *phi;
}

std::optional<Transition> PeerWatch::Evaluate(MonoTime now) {
  return Count(state_.Evaluate(Verdicts::Read(miss_, phi_ ? &*phi_ : nullptr, now), now));
}

std::optional<Transition> PeerWatch::OnReply(uint32_t seq, MonoTime now) {
  if (!newest_answered_ || static_cast<int32_t>(seq - *newest_answered_) > 0)
    newest_answered_ = seq;
  miss_.OnReply();
  if (phi_) phi_->Heartbeat(now);
  return Count(state_.OnReply(now));
}

std::optional<Transition> PeerWatch::OnTimeout(uint32_t seq, MonoTime now) {
  if (Stale(seq)) return std::nullopt;
  miss_.OnMiss();
  return Evaluate(now);
}

std::optional<Transition> PeerWatch::Tick(MonoTime now) {
  if (!phi_) return std::nullopt;
  return Evaluate(now);
}

}  // namespace udpbeat::detect
