#include "udpbeat/engine/probe_session.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>

namespace udpbeat {
namespace {

enum TimerKind : uint64_t { kSendTimer = 1, kTimeoutTimer = 2 };
constexpr uint64_t Cookie(TimerKind kind) { return uint64_t{kind} << 32; }

// The tracker must remember every probe that can still be answered: those in flight
// plus room for replies up to a timeout late.
uint32_t WindowFor(const ProbeSessionConfig& cfg) {
  uint64_t in_flight = 4;
  if (cfg.interval && *cfg.interval > 0)
    in_flight = 2 * static_cast<uint64_t>(cfg.timeout / *cfg.interval) + 4;
  return static_cast<uint32_t>(std::bit_ceil(std::clamp<uint64_t>(in_flight, 16, 1u << 16)));
}

// The kernel stamps datagrams with CLOCK_REALTIME; probes are timed with
// CLOCK_MONOTONIC. Both clocks were read together when the loop woke, so their
// difference maps the kernel stamp onto the monotonic axis without losing its
// precision. A stamp that maps outside [sent, wake] (a clock step) is not trusted.
MonoTime ReceiveTime(const uring::Datagram& d, MonoTime sent) {
  if (d.rx_wall.nanos() == 0) return d.loop_mono;
  const MonoTime rx = d.loop_mono - (d.loop_wall - d.rx_wall);
  if (rx < sent || rx > d.loop_mono) return d.loop_mono;
  return rx;
}

}  // namespace

ProbeSession::ProbeSession(const ProbeSessionConfig& cfg, uring::EventLoop& loop,
                           ProbeObserver& observer, std::span<uint8_t> scratch, uint32_t index)
    : cfg_(cfg),
      loop_(loop),
      clock_(loop.clock()),
      observer_(observer),
      scratch_(scratch),
      codec_(MakeProbeCodec(cfg.proto, cfg.heartbeat, cfg.ssid)),
      index_(index),
      stats_(WindowFor(cfg)),
      sent_(WindowFor(cfg)),
      next_seq_(cfg.first_seq) {}

void ProbeSession::Start() {
  start_ = clock_.Now() + cfg_.start_offset;
  if (cfg_.start_offset > 0) {
    loop_.ScheduleAt(start_, this, Cookie(kSendTimer));
  } else {
    SendProbe(start_);
  }
}

bool ProbeSession::AllSent() const {
  return stop_sending_ || (cfg_.count > 0 && sent_count_ >= static_cast<uint64_t>(cfg_.count));
}

void ProbeSession::SendProbe(MonoTime scheduled) {
  if (finished_ || AllSent()) return;
  const uint32_t seq = next_seq_++;
  const MonoTime now = clock_.Now();
  const WallTime wall = clock_.NowWall();
  const size_t len = codec_->Encode(seq, wall, cfg_.size, scratch_);
  sent_[seq % sent_.size()] = Sent{now, wall};
  stats_.OnSent(seq, now.nanos(), (now + cfg_.timeout).nanos());
  // Send lag: how late the generator was against its own schedule (coordinated
  // omission shows here instead of being hidden).
  send_lag_.Record(std::max<Nanos>(now - scheduled, 0));
  ++sent_count_;
  ++unsettled_;
  loop_.Send(socket_, nullptr, scratch_.first(len));
  loop_.ScheduleAt(now + cfg_.timeout, this, Cookie(kTimeoutTimer));
  if (cfg_.interval) ScheduleNext();
}

void ProbeSession::ScheduleNext() {
  if (AllSent()) return;
  // Anchored at the start: a late send does not shift the rest of the schedule.
  const MonoTime next = start_ + static_cast<Nanos>(sent_count_) * *cfg_.interval;
  loop_.ScheduleAt(next, this, Cookie(kSendTimer));
}

void ProbeSession::Settled() {
  if (unsettled_ > 0) --unsettled_;
  if (AllSent()) {
    if (unsettled_ == 0 && !finished_) observer_.OnDone(*this);
  } else if (!cfg_.interval && !finished_) {
    SendProbe(clock_.Now());  // the lab's rhythm: the next probe once this one settled
  }
}

void ProbeSession::Finish() {
  if (finished_) return;
  finished_ = true;
  stats_.Finish();
  if (stamp_.reflector_stateful && stamp_.last_numbers) {
    // Requests up to the one the highest reflector number answered, minus the ones the
    // reflector counted: those never reached it. The rest of the loss was backward.
    const auto [refl, seq] = *stamp_.last_numbers;
    const uint64_t sent_upto = static_cast<uint32_t>(seq - cfg_.first_seq) + uint64_t{1};
    const uint64_t seen = uint64_t{refl} + 1;
    stamp_.forward_lost = std::min<uint64_t>(sent_upto > seen ? sent_upto - seen : 0, stats_.lost());
  }
}

void ProbeSession::OnDatagram(const uring::Datagram& d) noexcept {
  ProbeReply p;
  if (d.truncated || !codec_->Decode(d.payload, &p)) {
    stats_.CountMalformed();
    observer_.OnMalformed(*this);
    return;
  }
  const Sent& sent = sent_[p.seq % sent_.size()];
  const MonoTime received = ReceiveTime(d, sent.mono);
  const WallTime t4 = d.rx_wall.nanos() != 0 ? d.rx_wall : d.loop_wall;
  ReplyInfo info;
  info.seq = p.seq;
  info.bytes = d.payload.size();
  info.ttl = d.ttl;
  info.received = t4;
  info.payload = {reinterpret_cast<const char*>(d.payload.data()), d.payload.size()};
  info.has_time_difference = p.has_time_difference;
  info.time_difference = p.time_difference;
  // The RTT is T4 − T1 on one clock: the kernel's receive stamp minus the wall time the
  // probe was stamped with (as the STAMP fields are), not a difference of two
  // mono/wall reading pairs, which a preemption between the two reads of a pair would
  // skew by microseconds. The monotonic RTT only guards against a wall-clock step.
  const Nanos rtt_mono = received - sent.mono;
  const Nanos rtt_wall = t4 - sent.wall;
  constexpr Nanos kClockStepGuard = kNanosPerMilli;
  Nanos rtt = rtt_wall >= 0 && std::abs(rtt_wall - rtt_mono) < kClockStepGuard ? rtt_wall : rtt_mono;
  if (p.has_timestamps) {
    FillStamp(p, sent, t4, &info);
    // Residence is the reflector's own delay, not the network's; trust it only when
    // it is plausible (a reflector clock step could make it anything).
    if (info.residence >= 0 && info.residence < rtt) rtt -= info.residence;
  }
  const stats::ReplyResult r = stats_.OnReplyWithRtt(p.seq, received.nanos(), rtt);
  if (r.kind == stats::ReplyKind::kUnknown) {
    stats_.CountMalformed();
    observer_.OnMalformed(*this);
    return;
  }
  info.kind = r.kind == stats::ReplyKind::kOnTime ? ReplyClass::kOnTime
              : r.kind == stats::ReplyKind::kLate ? ReplyClass::kLate
                                                   : ReplyClass::kDuplicate;
  info.rtt = rtt;
  info.reordered = r.reordered;
  if (info.has_timestamps && info.kind != ReplyClass::kDuplicate) {
    if (!stamp_.has_ref) {
      stamp_.has_ref = true;
      const Nanos half_rtt = (info.forward + info.backward + 1) / 2;  // ((T4−T1)−(T3−T2))/2
      stamp_.forward_ref = info.clock_offset - half_rtt;
      stamp_.backward_ref = info.clock_offset + half_rtt;
    }
    stats_.RecordOneWay(stats::Direction::kForward, info.forward - stamp_.forward_ref);
    stats_.RecordOneWay(stats::Direction::kBackward, info.backward + stamp_.backward_ref);
    stats_.RecordClockOffset(info.clock_offset);
    stamp_.residence.Add(static_cast<double>(info.residence));
    if (stamp_.best_rtt < 0 || rtt < stamp_.best_rtt) {
      stamp_.best_rtt = rtt;
      stamp_.best_offset = info.clock_offset;
    }
    if (info.reflector_seq != p.seq - cfg_.first_seq) stamp_.reflector_stateful = true;
    if (!stamp_.last_numbers || static_cast<int32_t>(info.reflector_seq -
                                                     stamp_.last_numbers->first) > 0)
      stamp_.last_numbers = {info.reflector_seq, p.seq};
  }
  observer_.OnReply(*this, info);
  if (r.kind == stats::ReplyKind::kOnTime) Settled();
}

void ProbeSession::FillStamp(const ProbeReply& p, const Sent& sent, WallTime t4, ReplyInfo* info) {
  const WallTime t1 = sent.wall, t2 = p.reflector_receive, t3 = p.reflector_transmit;
  info->has_timestamps = true;
  info->residence = t3 - t2;
  info->forward = t2 - t1;
  info->backward = t4 - t3;
  info->clock_offset = ((t2 - t1) + (t3 - t4)) / 2;
  info->reflector_seq = p.reflector_seq;
  info->reflector_ttl = p.reflector_ttl;
}

void ProbeSession::NoteError(int error) {
  // On a connected socket ECONNREFUSED is the kernel relaying ICMP port unreachable.
  if (error == ECONNREFUSED) {
    ++unreachable_;
    ++unreachable_unclaimed_;
  } else {
    last_error_ = error;
  }
}

void ProbeSession::OnReceiveError(uring::SocketId, int error) noexcept { NoteError(error); }
void ProbeSession::OnSendError(uring::SocketId, int error) noexcept { NoteError(error); }

void ProbeSession::OnTimer(uint64_t cookie) noexcept {
  if (finished_) return;
  if ((cookie >> 32) == kSendTimer) {
    const MonoTime scheduled =
        start_ + static_cast<Nanos>(sent_count_) * (cfg_.interval ? *cfg_.interval : 0);
    SendProbe(scheduled);
    return;
  }
  // Collected first: settling a probe may send the next one, which must not happen
  // while the tracker iterates.
  expired_.clear();
  stats_.Expire(clock_.Now().nanos(), [this](uint32_t seq) { expired_.push_back(seq); });
  // Each ICMP error labels one timeout: the errors and the timeouts they caused come in
  // the same order, but a timeout may fire before the error of an earlier probe arrives.
  for (uint32_t seq : expired_) {
    const bool unreachable = unreachable_unclaimed_ > 0;
    if (unreachable) --unreachable_unclaimed_;
    observer_.OnTimeout(*this, seq, unreachable);
    Settled();
  }
}

}  // namespace udpbeat
