#include "udpbeat/engine/serve_worker.h"

#include <algorithm>
#include <atomic>

#include "absl/random/random.h"
#include "udpbeat/proto/stamp.h"

namespace udpbeat {
namespace {

// Delayed replies wait here; beyond this many the simulation drops (bounded memory).
constexpr size_t kMaxDelayedReplies = 65536;

constexpr uint64_t kDelayTimer = 0;
constexpr uint64_t kSweepTimer = 1;
constexpr Nanos kSweepPeriod = kNanosPerSecond;
constexpr size_t kSweepSteps = 4096;

// Counters have one writer (the worker's thread) and are read by the thread that prints
// them: relaxed atomic stores and loads, which on x86 are plain moves.
void Bump(uint64_t& c, uint64_t by = 1) {
  std::atomic_ref<uint64_t>(c).store(c + by, std::memory_order_relaxed);
}
void Set(uint64_t& c, uint64_t v) { std::atomic_ref<uint64_t>(c).store(v, std::memory_order_relaxed); }
uint64_t Load(const uint64_t& c) {
  return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(c)).load(std::memory_order_relaxed);
}

}  // namespace

void ServeCounters::Merge(const ServeCounters& o) {
  received += o.received;
  replied += o.replied;
  dropped += o.dropped;
  malformed += o.malformed;
  rate_limited += o.rate_limited;
  send_errors += o.send_errors;
  kernel_drops += o.kernel_drops;
  peers += o.peers;
  peer_evictions += o.peer_evictions;
}

ServeWorker::ServeWorker(const ServeOptions& opts, uring::EventLoop& loop, uint64_t seed_offset)
    : opts_(opts),
      loop_(loop),
      rng_((opts.seed ? *opts.seed : absl::Uniform<uint64_t>(absl::BitGen())) + seed_offset),
      reply_buf_(opts.max_datagram),
      peers_(opts.max_peers, opts.peer_idle) {}

void ServeWorker::StartTimers() {
  loop_.ScheduleAt(loop_.clock().Now() + kSweepPeriod, this, kSweepTimer);
}

ServeCounters ServeWorker::Snapshot() const {
  ServeCounters c;
  c.received = Load(counters_.received);
  c.replied = Load(counters_.replied);
  c.dropped = Load(counters_.dropped);
  c.malformed = Load(counters_.malformed);
  c.rate_limited = Load(counters_.rate_limited);
  c.send_errors = Load(counters_.send_errors);
  c.kernel_drops = Load(counters_.kernel_drops);
  c.peers = Load(peers_now_);
  c.peer_evictions = Load(peer_evictions_);
  return c;
}

bool ServeWorker::RateLimited(const uring::Datagram& d) {
  const MonoTime now = d.loop_mono;
  PeerState& p = peers_.FindOrInsert(MakePeerKey(*d.from, 0), now);
  const double burst = std::max(1.0, opts_.max_rate);  // one second's worth
  if (p.tokens < 0) {
    p.tokens = burst;
  } else {
    p.tokens = std::min(burst, p.tokens + static_cast<double>(now - p.refilled) * 1e-9 *
                                              opts_.max_rate);
  }
  p.refilled = now;
  Set(peers_now_, peers_.size());
  Set(peer_evictions_, peers_.evictions());
  if (p.tokens < 1) return true;
  p.tokens -= 1;
  return false;
}

void ServeWorker::OnDatagram(const uring::Datagram& d) noexcept {
  Bump(counters_.received);
  Set(counters_.kernel_drops, loop_.counters().kernel_drops);
  if (d.truncated) {
    Bump(counters_.malformed);
    return;
  }
  if (opts_.max_rate > 0 && RateLimited(d)) {
    Bump(counters_.rate_limited);
    return;
  }
  if (opts_.delay == 0 && opts_.jitter == 0) {
    // Built straight into the send slot: no copy between reply and send.
    sending_ = true;
    answered_ = false;
    loop_.SendWith(d.socket, d.from, d.payload.size(), [&](std::span<uint8_t> out) {
      const int64_t len = Answer(d, out);
      answered_ = len >= 0;
      if (answered_ && reply_is_stamp_) late_stamps_.push_back(out.data());
      return len;
    });
    sending_ = false;
    return;
  }
  const int64_t len = Answer(d, reply_buf_);
  if (len >= 0) Delay(d, std::span<const uint8_t>(reply_buf_.data(), static_cast<size_t>(len)));
}

void ServeWorker::BeforeSubmit(WallTime now) noexcept {
  // T3 as late as user space can stamp it: microseconds before the kernel sends the
  // reply, however many requests this loop turn answered before it.
  for (uint8_t* reply : late_stamps_) stamp::SetReflectorTimestamp(ToNtp(now), reply);
  late_stamps_.clear();
}

int64_t ServeWorker::Answer(const uring::Datagram& d, std::span<uint8_t> out) {
  RequestContext ctx;
  ctx.received = d.rx_wall.nanos() != 0 ? d.rx_wall : d.loop_wall;
  ctx.clock = &loop_.clock();  // T3 read only for STAMP, as late as it can be
  ctx.ttl = d.ttl;
  // Stateless first: a stateful reflector numbers only what it reflects, so a request
  // the loss simulation drops must not consume a number (it then reads as forward loss).
  const Reply reply = BuildReply(opts_.reply, d.payload, ctx, out);
  reply_is_stamp_ = reply.ok() && reply.kind == ReplyKind::kStamp;
  if (!reply.ok()) {
    Bump(counters_.malformed);
    return -1;
  }
  if (opts_.loss > 0 && Uniform01() < opts_.loss) {
    Bump(counters_.dropped);
    return -1;
  }
  if (opts_.stamp_stateful && reply.kind == ReplyKind::kStamp) {
    current_ = &d;
    stamp::SetReflectorSeq(NextSeq(stamp::SenderSsid(d.payload)), out);
  }
  if (opts_.delay == 0 && opts_.jitter == 0) Bump(counters_.replied);
  return static_cast<int64_t>(reply.length);
}

uint32_t ServeWorker::NextSeq(uint16_t ssid) noexcept {
  PeerState& p = peers_.FindOrInsert(MakePeerKey(*current_->from, ssid), current_->loop_mono);
  Set(peers_now_, peers_.size());
  Set(peer_evictions_, peers_.evictions());
  return p.stamp_seq++;
}

void ServeWorker::OnSendError(uring::SocketId, int) noexcept {
  // A reply counted as replied when it was built moves over, so the counters still add
  // up; a request refused before its reply was built (no send slot) was never counted.
  if (!sending_ || answered_) Set(counters_.replied, counters_.replied - 1);
  Bump(counters_.send_errors);
}

void ServeWorker::OnTimer(uint64_t cookie) noexcept {
  if (cookie == kSweepTimer) {
    peers_.SweepIdle(loop_.clock().Now(), kSweepSteps);
    Set(peers_now_, peers_.size());
    Set(peer_evictions_, peers_.evictions());
    loop_.ScheduleAt(loop_.clock().Now() + kSweepPeriod, this, kSweepTimer);
    return;
  }
  delay_timer_ = 0;
  const MonoTime now = loop_.clock().Now();
  while (!delayed_.empty() && delayed_.top().due <= now) SendTop();
  ArmDelayTimer();
}

void ServeWorker::Delay(const uring::Datagram& d, std::span<const uint8_t> bytes) {
  if (delayed_.size() >= kMaxDelayedReplies) {
    Bump(counters_.dropped);
    return;
  }
  Nanos wait = opts_.delay;
  if (opts_.jitter > 0)
    wait += static_cast<Nanos>((Uniform01() * 2 - 1) * static_cast<double>(opts_.jitter));
  if (wait < 0) wait = 0;
  delayed_.push(Delayed{d.loop_mono + wait, next_order_++, d.socket, *d.from,
                        std::vector<uint8_t>(bytes.begin(), bytes.end())});
  ArmDelayTimer();
}

void ServeWorker::SendTop() {
  const Delayed& top = delayed_.top();
  Bump(counters_.replied);
  // A delayed STAMP reply keeps the T3 it was built with: the simulated delay stands
  // for the network's, so it must not show as the reflector's residence.
  loop_.Send(top.socket, &top.to, top.bytes);
  delayed_.pop();
}

void ServeWorker::ArmDelayTimer() {
  if (delayed_.empty()) return;
  const MonoTime due = delayed_.top().due;
  if (delay_timer_ != 0 && delay_timer_due_ <= due) return;
  if (delay_timer_ != 0) loop_.CancelTimer(delay_timer_);
  delay_timer_ = loop_.ScheduleAt(due, this, kDelayTimer);
  delay_timer_due_ = due;
}

void ServeWorker::FlushDelayed() {
  while (!delayed_.empty()) SendTop();
}

}  // namespace udpbeat
