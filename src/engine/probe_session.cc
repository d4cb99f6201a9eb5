#include "udpbeat/engine/probe_session.h"

#include <algorithm>
#include <bit>
#include <cerrno>

#include "udpbeat/measure/exchange.h"

namespace udpbeat::engine {
namespace {

// How long after its send a reply is still matched to its probe, at least, however short
// the timeout: heartbeat's timeout is the interval, and at -i 100us a window of two
// timeouts (16 slots, 1.6 ms) made every reply a scheduling hiccup delayed "unknown", its
// probe lost although answered (26 % of a loopback run). Held one second, a reply that
// slow is late, as the definitions say, and the probe received.
constexpr Nanos kReplyHorizon = kNanosPerSecond;

// The tracker must remember every probe that can still be answered: those in flight
// plus room for replies up to a timeout late, and at least kReplyHorizon of sends; at
// most 65,536 (48 bytes each with the send-time ring, 3 MiB a session).
uint32_t WindowFor(const ProbeSessionConfig& cfg) {
  uint64_t in_flight = 4;
  if (cfg.interval && *cfg.interval > 0) {
    const Nanos horizon = std::max<Nanos>(2 * cfg.timeout, kReplyHorizon);
    in_flight = static_cast<uint64_t>(horizon / *cfg.interval) + 4;
  }
  return static_cast<uint32_t>(std::bit_ceil(std::clamp<uint64_t>(in_flight, 16, 1u << 16)));
}

// A kernel transmit stamp is trusted when it falls after the user-space one and not
// absurdly later (a clock step between the two reads would show here).
constexpr Nanos kMaxTransmitDelay = kNanosPerSecond;

// A probe is skipped rather than sent when it is later than its timeout, its interval and
// this: a stall shorter than a second (a loaded machine, a VM paused briefly) only makes
// probes late, as before.
constexpr Nanos kMinSkipLag = kNanosPerSecond;

}  // namespace

ProbeSession::ProbeSession(const ProbeSessionConfig& cfg, ProbeTransport& transport,
                           ProbeObserver& observer, uint32_t index, uint64_t tag_base)
    : cfg_(cfg),
      transport_(transport),
      clock_(transport.clock()),
      observer_(observer),
      codec_(MakeProbeCodec(cfg.proto, cfg.heartbeat, {cfg.ssid, cfg.hmac, cfg.follow_up})),
      index_(index),
      tag_base_(tag_base),
      m_(WindowFor(cfg)),
      sent_(WindowFor(cfg)),
      follow_up_(cfg.follow_up && cfg.proto == ProbeProto::kStamp),
      send_timer_(transport.timers(), [this] { SendDue(); }),
      timeout_timer_(transport.timers(), [this] { OnTimeoutTimer(); }),
      next_seq_(cfg.first_seq),
      max_probes_(MaxProbes(cfg)) {}

uint64_t ProbeSession::MaxProbes(const ProbeSessionConfig& cfg) {
  uint64_t n = cfg.count > 0 ? static_cast<uint64_t>(cfg.count) : 0;
  if (cfg.duration > 0 && cfg.interval && *cfg.interval > 0) {
    // Probe k is due start_offset + k × interval after Start: those due before the
    // duration's end (1 s at 100 ms: 10 probes, at 0 to 900 ms; one due exactly at the
    // end would race the timer that ends the run, and be counted skipped when it lost).
    // The run's end, a timer, stops the sending too; this bound holds when the loop is
    // too late for that to tell.
    const Nanos span = std::max<Nanos>(cfg.duration - cfg.start_offset, 0);
    const uint64_t by_time = static_cast<uint64_t>((span + *cfg.interval - 1) / *cfg.interval);
    n = n == 0 ? by_time : std::min(n, by_time);
  }
  return n;
}

Nanos ProbeSession::SendGrid(Nanos interval) {
  return std::clamp<Nanos>(interval / kGridSlotsPerInterval, 1, kMaxSendGrid);
}

void ProbeSession::Start() {
  start_ = clock_.Now() + cfg_.start_offset;
  // A staggered schedule starts on the send grid (see kMaxSendGrid): sessions whose
  // offsets fall in one grid step then share every send time, and the loop wakes once
  // for all of them. The first session (offset 0) sends at once, as a single one does.
  if (cfg_.start_offset > 0 && cfg_.interval && *cfg_.interval > 0) {
    const Nanos grid = SendGrid(*cfg_.interval);
    const Nanos t = start_.nanos();
    start_ = MonoTime::FromNanos(t + (grid - t % grid) % grid);
  }
  if (cfg_.start_offset > 0) {
    send_timer_.ArmAt(start_);
  } else {
    SendDue();
  }
}

bool ProbeSession::AllSent() const {
  return stop_sending_ || (max_probes_ > 0 && sent_count_ >= max_probes_);
}

void ProbeSession::SendDue() {
  if (finished_) return;
  if (!cfg_.interval) {
    SendProbe(clock_.Now());
    return;
  }
  const MonoTime now = clock_.Now();
  SkipWhatIsTooLate(now);
  for (int n = 0; n < kMaxBurst && !AllSent() && Due(sent_count_) <= now &&
                  transport_.SendBudgetLeft();
       ++n)
    SendProbe(Due(sent_count_));
  // Anchored at the start: a late send does not shift the rest of the schedule. A probe
  // already due waits for the next turn (the timer queue defers past-due re-arms); the
  // session furthest behind has the earliest deadline, so it goes first then.
  if (!AllSent()) send_timer_.ArmAt(Due(sent_count_));
}

void ProbeSession::SkipWhatIsTooLate(MonoTime now) {
  // A probe sent more than a timeout (or an interval, or a second) after its time would
  // measure this sender's backlog, not the network, and catching up on it would keep
  // every later probe late too: with 5,000 sessions asking for more than the machine
  // can send, the send lag grew by a second every second. Such probes are skipped and
  // counted (Measurements::skipped), so the lag stays bounded and the rest go on time.
  const Nanos horizon = std::max({cfg_.timeout, *cfg_.interval, kMinSkipLag});
  if (now - Due(sent_count_) <= horizon) return;
  const Nanos since = now - horizon - start_;
  uint64_t first_kept = static_cast<uint64_t>((since + *cfg_.interval - 1) / *cfg_.interval);
  if (max_probes_ > 0) first_kept = std::min(first_kept, max_probes_);
  if (first_kept <= sent_count_) return;
  m_.skipped += first_kept - sent_count_;
  sent_count_ = first_kept;
  if (AllSent()) Settled();  // the skipped may have been the last of the schedule
}

void ProbeSession::SendProbe(MonoTime scheduled) {
  if (finished_ || AllSent()) return;
  const uint32_t seq = next_seq_++;
  const MonoTime now = clock_.Now();
  const WallTime wall = clock_.NowWall();
  last_send_ = now;
  sent_[seq % sent_.size()] = Sent{seq, now, wall, WallTime()};
  m_.stats.OnSent(seq, now.nanos(), (now + cfg_.timeout).nanos());
  m_.send_lag.Record(std::max<Nanos>(now - scheduled, 0));
  ++sent_count_;
  // A send that cannot be queued is reported from within Send (OnSendError): it is
  // settled there, and the rest of the settling happens here.
  in_send_ = true;
  transport_.Send(socket_, tag_base_ | seq, std::max<size_t>(cfg_.size, 256),
                  [&](std::span<uint8_t> out) -> int64_t {
                    const size_t len = codec_->Encode(seq, wall, cfg_.size, out);
                    return len == 0 ? -1 : static_cast<int64_t>(len);
                  });
  in_send_ = false;
  if (finished_) return;
  ArmTimeout();
  // A full window retires the oldest probe as lost: that may have been the last one
  // anything waited for.
  if (AllSent()) Settled();
}

void ProbeSession::ArmTimeout() {
  const std::optional<int64_t> next = m_.stats.NextDeadline();
  if (!next) {
    timeout_timer_.Cancel();
    return;
  }
  // Deadlines only grow with the sequence number: an armed timer is never late. When it
  // fires for a probe that was answered meanwhile, it moves on to the next one.
  // Expire() reports probes whose deadline is strictly before now: fire 1 ns after.
  if (!timeout_timer_.armed()) timeout_timer_.ArmAt(MonoTime::FromNanos(*next + 1));
}

void ProbeSession::OnTimeoutTimer() {
  if (finished_) return;
  // Collected first: settling a probe may send the next one, which must not happen
  // while the tracker iterates.
  expired_.clear();
  m_.stats.Expire(clock_.Now().nanos(), [this](uint32_t seq) { expired_.push_back(seq); });
  for (uint32_t seq : expired_) {
    // Each ICMP error labels one timeout: the errors and the timeouts they caused come in
    // the same order, but a timeout may fire before the error of an earlier probe arrives.
    const bool unreachable = unreachable_unclaimed_ > 0;
    if (unreachable) --unreachable_unclaimed_;
    // The send time is T1 as a reply would have used it: the kernel's when it came.
    const Sent& s = sent_[seq % sent_.size()];
    const WallTime sent = s.seq != seq                  ? WallTime()
                          : s.kernel_wall.nanos() != 0 ? s.kernel_wall
                                                       : s.wall;
    observer_.OnTimeout(*this, {seq, sent, clock_.NowWall(), unreachable});
    if (finished_) return;
    Settled();
  }
  ArmTimeout();
}

void ProbeSession::Settled() {
  if (finished_) return;
  if (!AllSent()) {
    // The lab's rhythm: the next probe once this one is settled.
    if (!cfg_.interval && m_.stats.awaiting() == 0) SendNextInRhythm(clock_.Now());
    return;
  }
  if (m_.stats.awaiting() == 0 && !done_) {
    done_ = true;
    observer_.OnDone(*this);
  }
}

void ProbeSession::SendNextInRhythm(MonoTime earliest) {
  const MonoTime floor = last_send_ + cfg_.min_gap;
  if (sent_count_ > 0 && floor > earliest) earliest = floor;
  if (earliest > clock_.Now()) {
    send_timer_.ArmAt(earliest);  // SendDue sends it
  } else {
    SendProbe(clock_.Now());
  }
}

void ProbeSession::CountSkipped() {
  // A sender behind its schedule stops with probes due that never went out: counted, so
  // that the schedule's count is still accounted for (sent + skipped).
  if (skip_counted_ || stop_sending_ || finished_ || !cfg_.interval || *cfg_.interval <= 0)
    return;
  skip_counted_ = true;
  const MonoTime now = clock_.Now();
  uint64_t due = now < start_ ? 0 : static_cast<uint64_t>((now - start_) / *cfg_.interval) + 1;
  if (max_probes_ > 0) due = std::min(due, max_probes_);
  if (due > sent_count_) m_.skipped += due - sent_count_;
}

void ProbeSession::StopSending() {
  CountSkipped();
  stop_sending_ = true;
  send_timer_.Cancel();
  Settled();
}

void ProbeSession::Finish() {
  if (finished_) return;
  CountSkipped();
  finished_ = true;
  send_timer_.Cancel();
  timeout_timer_.Cancel();
  FlushPending();
  m_.stats.FinishAt(clock_.Now().nanos());
  m_.stamp.Settle(m_.stamp.SplitLoss(m_.stats.lost(), m_.stats.received(), cfg_.first_seq,
                                     m_.send_errors));
}

void ProbeSession::OnDatagram(const Datagram& d) noexcept {
  ProbeReply p;
  if (d.truncated || !codec_->Decode(d.payload, &p) ||
      sent_[p.seq % sent_.size()].seq != p.seq) {
    m_.stats.CountMalformed();
    observer_.OnMalformed(*this);
    return;
  }
  const Sent& sent = sent_[p.seq % sent_.size()];
  measure::ExchangeInput in;
  in.sent = {sent.mono, sent.wall};
  const bool kernel_t1 = sent.kernel_wall.nanos() != 0;
  if (kernel_t1) in.sent = {sent.mono + (sent.kernel_wall - sent.wall), sent.kernel_wall};
  in.rx_wall = d.rx_wall;
  in.loop_mono = d.loop_mono;
  in.loop_wall = d.loop_wall;
  if (p.has_timestamps) in.reflector = measure::ReflectorTimes{p.reflector_receive, p.reflector_transmit};
  const measure::Exchange e = measure::MeasureExchange(in);
  const stats::ReplyResult r = m_.stats.Classify(p.seq, e.received.nanos());
  if (r.kind == stats::ReplyClass::kUnknown) {
    m_.stats.CountMalformed();
    observer_.OnMalformed(*this);
    return;
  }
  measure::ReplyEvent ev;
  ev.kind = r.kind;
  ev.seq = p.seq;
  ev.rtt = e.rtt;
  ev.bytes = d.payload.size();
  ev.ttl = d.ttl;
  ev.tos = d.tos;
  ev.reordered = r.reordered;
  ev.sent = in.sent.wall;
  ev.received = e.t4;
  ev.payload = {reinterpret_cast<const char*>(d.payload.data()), d.payload.size()};
  ev.has_time_difference = p.has_time_difference;
  ev.time_difference = p.time_difference;
  if (e.has_timestamps) {
    ev.has_timestamps = true;
    ev.residence = e.residence;
    ev.clock_offset = e.clock_offset;
    ev.forward = e.forward;
    ev.backward = e.backward;
    ev.reflector_seq = p.reflector_seq;
    ev.reflector_ttl = p.reflector_ttl;
  }
  if (r.kind != stats::ReplyClass::kDuplicate) {
    m_.kernel_t1 += kernel_t1;
    // DSCP only: ECN bits are the network's to change.
    if (d.tos >= 0 && (d.tos >> 2) != (std::max(cfg_.tos, 0) >> 2)) ++m_.dscp_changed;
    // The event shows the reflector's own T3; the statistics wait for the exact one when
    // follow-up telemetry is coming.
    const bool late = r.kind == stats::ReplyClass::kLate;
    if (cfg_.follow_up && cfg_.proto == ProbeProto::kStamp && ApplyFollowUp(p)) {
      if (pending_.size() >= kMaxPendingFollowUps) {
        // Reports stuck behind (no transmit timestamps at the reflector): the oldest
        // waits no longer.
        const Pending& oldest = pending_.front();
        RecordDelays(oldest.seq, oldest.reflector_seq, oldest.late, oldest.input);
        pending_.erase(pending_.begin());
      }
      pending_.push_back({p.seq, p.reflector_seq, late, in});
    } else {
      RecordDelays(p.seq, p.reflector_seq, late, in);
    }
  }
  observer_.OnReply(*this, ev);
  // A reply settles its probe whether on time or late: a late one handled in the turn
  // before its timeout timer runs (the loop woke past the deadline) leaves the timer
  // nothing to expire, so the timer cannot be what ends the session.
  if (r.kind == stats::ReplyClass::kOnTime || r.kind == stats::ReplyClass::kLate) Settled();
}

measure::Exchange ProbeSession::RecordDelays(uint32_t seq, uint32_t reflector_seq, bool late,
                                             const measure::ExchangeInput& in) {
  const measure::Exchange e = measure::MeasureExchange(in);
  m_.RecordRtt(e.rtt, late);
  if (e.has_timestamps) m_.stamp.Record(e, reflector_seq, seq, m_.stats);
  return e;
}

void ProbeSession::FlushPending() {
  for (const Pending& x : pending_) RecordDelays(x.seq, x.reflector_seq, x.late, x.input);
  pending_.clear();
}

bool ProbeSession::ApplyFollowUp(const ProbeReply& p) {
  switch (p.follow_up_status) {
    case stamp::FollowUpStatus::kOk:
      // Reports again (after giving up, a reflector restarted stateful): worth waiting for.
      follow_up_refusals_ = 0;
      follow_up_ = true;
      break;
    case stamp::FollowUpStatus::kMalformed:
      FlushPending();  // this reply's report is unusable; the next may be fine
      return follow_up_;
    default:
      // The reflector does not know the TLV (RFC 8972: returned with U set), returned
      // padding, or did not sign its report: the reflector's T3 is all there is. Only
      // after several in a row does the session stop waiting for reports: one such reply
      // may be a packet altered on the path (kFollowUpGiveUp).
      ++m_.follow_up_refused;
      FlushPending();
      if (follow_up_refusals_ < kFollowUpGiveUp) ++follow_up_refusals_;  // no overflow
      if (follow_up_refusals_ < kFollowUpGiveUp) return true;
      follow_up_ = false;
      return false;
  }
  // The report is about the newest reply of this session whose transmit time the
  // reflector knew: usually the previous one, an older one when replies leave later than
  // the next request comes (a reflector that holds them). That exchange is completed
  // with its exact transmit time; older ones will get none (the reflector reports only
  // its newest), later ones wait for a later report, and so do all when the report is
  // empty (the reflector knows no transmit time yet: its replies leave after the next
  // request comes).
  // Taken out of pending_ first: an observer that ends the session (Finish flushes
  // pending_) must not record these twice.
  completing_.swap(pending_);
  for (const Pending& x : completing_) {
    measure::ExchangeInput in = x.input;
    // Modulo 2^32, as the reflector's numbers wrap.
    const auto ahead = static_cast<int32_t>(x.reflector_seq - p.follow_up.seq);
    if (in.reflector && (!p.follow_up.reported() || ahead > 0)) {
      pending_.push_back(x);
      continue;
    }
    if (ahead != 0 || !in.reflector) {
      RecordDelays(x.seq, x.reflector_seq, x.late, in);
      continue;
    }
    in.reflector->transmit = FromNtp(p.follow_up.timestamp);
    ++m_.follow_up_t3;
    const measure::Exchange e = RecordDelays(x.seq, x.reflector_seq, x.late, in);
    measure::FollowUpEvent ev;
    ev.seq = x.seq;
    ev.reflector_seq = x.reflector_seq;
    ev.sent = in.sent.wall;
    ev.t3 = in.reflector->transmit;
    ev.t3_estimate = x.input.reflector->transmit;
    ev.rtt = e.rtt;
    ev.residence = e.residence;
    ev.backward = e.backward;
    observer_.OnFollowUp(*this, ev);
  }
  completing_.clear();
  return true;
}

void ProbeSession::NoteError(int error) {
  // On a connected socket ECONNREFUSED is the kernel relaying ICMP port unreachable.
  if (error == ECONNREFUSED) {
    ++m_.unreachable;
    ++unreachable_unclaimed_;
  }
}

void ProbeSession::OnReceiveError(SocketId, int error) noexcept { NoteError(error); }

void ProbeSession::OnSendError(SocketId, uint64_t tag, int error) noexcept {
  // ECONNREFUSED is the kernel relaying an earlier probe's ICMP port unreachable, not a
  // local failure: it labels a timeout, as on a receive (this probe stays in flight).
  if (error == ECONNREFUSED) return NoteError(error);
  const uint32_t seq = static_cast<uint32_t>(tag);
  const Sent& s = sent_[seq % sent_.size()];
  // Settled at once: not sent, so neither lost nor in flight (Measurements::send_errors).
  // A probe no longer in the window (retired lost already) or answered stays as it is.
  if (finished_ || s.seq != seq || !m_.stats.Unsend(seq)) return;
  ++m_.send_errors;
  measure::TimeoutEvent e;
  e.seq = seq;
  e.sent = s.wall;
  e.at = clock_.NowWall();
  e.send_error = error;
  const MonoTime retry = s.mono + cfg_.timeout;
  observer_.OnTimeout(*this, e);
  if (finished_) return;
  if (!cfg_.interval && !AllSent()) {
    // The lab's rhythm: the next probe when this one's timeout would have ended (armed,
    // never sent from here: this may be within Send), and not before the gap's floor.
    send_timer_.ArmAt(std::max(retry, last_send_ + cfg_.min_gap));
  } else if (!in_send_) {
    Settled();  // it may have been the last one anything waited for
  }
}

void ProbeSession::OnTransmitTimestamp(SocketId, uint64_t tag, WallTime t) noexcept {
  const uint32_t seq = static_cast<uint32_t>(tag);
  Sent& s = sent_[seq % sent_.size()];
  if (s.seq != seq || s.kernel_wall.nanos() != 0) return;
  const Nanos delay = t - s.wall;
  if (delay >= 0 && delay < kMaxTransmitDelay) s.kernel_wall = t;
}

}  // namespace udpbeat::engine
