#include "udpbeat/engine/serve_worker.h"

#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "udpbeat/proto/stamp.h"

namespace udpbeat::engine {
namespace {

// Delayed replies wait here; beyond this many, or beyond the configured bytes, the
// simulation drops (bounded memory).
constexpr size_t kMaxDelayedReplies = 65536;
constexpr Nanos kSweepPeriod = kNanosPerSecond;
constexpr size_t kSweepSteps = 4096;
// The ECN field: the low two bits of the IPv4 TOS / IPv6 traffic class (RFC 3168).
constexpr int kEcnMask = 0x03;

// Counters have one writer (the worker's thread) and are read by the thread that prints
// them: relaxed atomic stores and loads, which on x86 are plain moves.
void Bump(uint64_t& c, int64_t by = 1) {
  std::atomic_ref<uint64_t>(c).store(c + static_cast<uint64_t>(by), std::memory_order_relaxed);
}
void Set(uint64_t& c, uint64_t v) { std::atomic_ref<uint64_t>(c).store(v, std::memory_order_relaxed); }
uint64_t Load(const uint64_t& c) {
  return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(c)).load(std::memory_order_relaxed);
}

// Who a peer is in the per-peer table: source address, port and STAMP SSID.
PeerKey KeyOf(const SocketAddress& a, uint16_t ssid) noexcept {
  PeerKey k;
  k.family = static_cast<uint8_t>(a.family());
  k.port = a.port();
  k.ssid = ssid;
  if (a.family() == AF_INET) {
    std::memcpy(k.address.data(), &reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr, 4);
  } else if (a.family() == AF_INET6) {
    std::memcpy(k.address.data(), &reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr,
                16);
  }
  return k;
}

// An address in IPv6 form (IPv4 as ::ffff:a.b.c.d), so that an IPv4 source reaching a
// [::] socket compares equal to the host's IPv4 address.
std::array<uint8_t, 16> V6Form(const SocketAddress& a) noexcept {
  std::array<uint8_t, 16> v{};
  if (a.family() == AF_INET) {
    v[10] = v[11] = 0xff;
    std::memcpy(&v[12], &reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr, 4);
  } else if (a.family() == AF_INET6) {
    std::memcpy(v.data(), &reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr, 16);
  }
  return v;
}

// The port in network order, read in place: sin_port and sin6_port share their offset
// (SocketAddress::port() is a call, on every datagram).
uint16_t RawPort(const SocketAddress& a) noexcept {
  return reinterpret_cast<const sockaddr_in*>(a.data())->sin_port;
}

// A 64-bit fingerprint of a datagram, one multiply per 8 octets (std::hash of the bytes
// cost twice the instructions of the rest of an echo). Not cryptographic: a collision
// only makes a source's own datagram look like the reply it just got. Never 0, which
// marks "nothing remembered".
uint64_t Digest(std::span<const uint8_t> b) noexcept {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15u;
  uint64_t h = (b.size() + 1) * kMul;
  size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  if (i < b.size()) {
    uint64_t w = 0;
    std::memcpy(&w, b.data() + i, b.size() - i);
    h = (h ^ w) * kMul;
  }
  h ^= h >> 32;
  return h | 1;
}

// The TOS of the reply to a request that came with `request_tos` (-1: not known): the
// request's DSCP, so a sender that marks its probes sees in each reply's TOS whether the
// path remarked them, not this reflector's 0. ECN is not copied: the reply goes out
// Not-ECT. Copying a CE mark would claim congestion on the reply's path, which never saw
// it, and an ECT mark would promise ECN feedback nobody gives; RFC 8972's Class of
// Service TLV likewise reflects the DSCP only.
int ReplyTos(int request_tos) noexcept {
  return request_tos > 0 ? request_tos & ~kEcnMask : 0;
}

}  // namespace

ServeWorker::ServeWorker(const ServeWorkerConfig& cfg, uring::EventLoop& loop,
                         uint64_t seed_offset, const SocketAddress& local)
    : cfg_(cfg),
      loop_(loop),
      local_(local),
      rng_((cfg.rng_seed ? *cfg.rng_seed : absl::Uniform<uint64_t>(absl::BitGen())) + seed_offset),
      reply_buf_(cfg.max_datagram),
      // Its own seed: a draw from rng_ would shift the seeded loss simulation.
      reflections_(ReflectionMemory::WindowFor(cfg.delay, cfg.jitter),
                   absl::Uniform<uint64_t>(absl::BitGen())),
      delay_timer_(loop.timers(), [this] { SendDelayed(); }),
      sweep_timer_(loop.timers(), [this] { Sweep(); }),
      peers_(cfg.max_peers, cfg.peer_idle),
      awaited_(kAwaitedTimestamps) {
  delay_pool_ = cfg.delay_pool != nullptr ? cfg.delay_pool : &own_delay_pool_;
}

ServeWorker::~ServeWorker() {
  // Replies still waiting give their bytes back to the tally other workers share.
  delay_pool_->fetch_sub(delayed_bytes_, std::memory_order_relaxed);
}

bool ServeWorker::ChargeDelay(uint64_t bytes) noexcept {
  // Relaxed: the tally guards memory, not data; no other access is ordered by it.
  uint64_t held = delay_pool_->load(std::memory_order_relaxed);
  do {
    if (held + bytes > cfg_.max_delay_bytes) return false;
  } while (!delay_pool_->compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
  delayed_bytes_ += bytes;
  return true;
}

void ServeWorker::WatchSocket(SocketId s) noexcept { socket_ = s; }

void ServeWorker::StartTimers() { sweep_timer_.ArmAt(loop_.clock().Now() + kSweepPeriod); }

void ServeWorker::PublishKernelDrops(uint64_t drops) noexcept {
  // The only writer reads its own counter: no atomic load needed.
  if (drops > counters_.kernel_drops) Set(counters_.kernel_drops, drops);
}

void ServeWorker::RefreshKernelDrops() noexcept {
  if (socket_.has_value()) {
    // 0 is also what an unreadable count reads as: it adds nothing, and a later reading
    // still adds exactly what is new (the difference is taken modulo 2^32).
    const auto now = static_cast<uint32_t>(loop_.SocketDrops(*socket_));
    if (now != 0) {
      meminfo_drops_ += static_cast<uint32_t>(now - meminfo_drops_seen_);
      meminfo_drops_seen_ = now;
    }
  }
  PublishKernelDrops(std::max(meminfo_drops_, loop_.counters().kernel_drops));
}

measure::ServeCounters ServeWorker::Snapshot() const {
  measure::ServeCounters c;
  c.received = Load(counters_.received);
  c.replied = Load(counters_.replied);
  c.dropped = Load(counters_.dropped);
  c.delay_full = Load(counters_.delay_full);
  c.malformed = Load(counters_.malformed);
  c.rate_limited = Load(counters_.rate_limited);
  c.refused = Load(counters_.refused);
  c.unauthenticated = Load(counters_.unauthenticated);
  c.send_errors = Load(counters_.send_errors);
  c.kernel_drops = Load(counters_.kernel_drops);
  c.peers = Load(counters_.peers);
  c.peer_evictions = Load(counters_.peer_evictions);
  return c;
}

void ServeWorker::PublishPeers() {
  Set(counters_.peers, peers_.size());
  Set(counters_.peer_evictions, peers_.evictions());
}

void ServeWorker::Sweep() {
  peers_.SweepIdle(loop_.clock().Now(), kSweepSteps);
  PublishPeers();
  // A live /metrics scrape then lags the kernel's drops by a second at most.
  RefreshKernelDrops();
  sweep_timer_.ArmAt(loop_.clock().Now() + kSweepPeriod);
}

bool ServeWorker::RateLimited(const PeerKey& source, MonoTime now) {
  PeerState& p = peers_.FindOrInsert(source, now);
  const double burst = std::max(1.0, cfg_.max_rate);  // one second's worth
  if (p.tokens < 0) {
    p.tokens = burst;
  } else {
    p.tokens = std::min(burst, p.tokens + static_cast<double>(now - p.refilled) * 1e-9 *
                                              cfg_.max_rate);
  }
  p.refilled = now;
  PublishPeers();
  if (p.tokens < 1) return true;
  p.tokens -= 1;
  return false;
}

bool ServeWorker::FromOwnAddress(const Datagram& d) const noexcept {
  const SocketAddress& from = *d.from;
  const SocketAddress& here = d.to != nullptr ? *d.to : local_;
  // The port first: almost every datagram leaves here.
  if (RawPort(from) != RawPort(here)) return false;
  // Not every address that routes here (all of 127.0.0.0/8 does): a client may have a
  // loopback alias and, by chance, the server's port. A reply sent to such an alias
  // comes back from a listed address, and is refused then.
  const std::array<uint8_t, 16> a = V6Form(from);
  if (a == V6Form(here)) return true;
  return std::binary_search(cfg_.host_addresses.begin(), cfg_.host_addresses.end(), a);
}

bool ServeWorker::ToBroadcast(const Datagram& d) const noexcept {
  if (d.to == nullptr) return false;  // a socket bound to one unicast address
  const std::array<uint8_t, 16> a = V6Form(*d.to);
  if (a[0] == 0xff) return true;  // IPv6 multicast
  static constexpr std::array<uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!std::equal(kMapped.begin(), kMapped.end(), a.begin())) return false;
  // IPv4 multicast (224.0.0.0/4), the limited broadcast, or a directed one.
  if ((a[12] & 0xf0) == 0xe0) return true;
  if (a[12] == 0xff && a[13] == 0xff && a[14] == 0xff && a[15] == 0xff) return true;
  return std::binary_search(cfg_.broadcast_addresses.begin(), cfg_.broadcast_addresses.end(), a);
}

bool ServeWorker::IsReflection(uint64_t source_hash, const Datagram& d) noexcept {
  // A server that never sent an echo reply (mode stamp) computes no fingerprint.
  return !reflections_.empty() &&
         reflections_.TakeReflection(source_hash, Digest(d.payload), d.loop_mono);
}

void ServeWorker::OnDatagram(const Datagram& d) noexcept {
  Bump(counters_.received);
  PublishKernelDrops(loop_.counters().kernel_drops);
  if (d.truncated) {
    Bump(counters_.malformed);
    return;
  }
  if (ToBroadcast(d) || FromOwnAddress(d) || IsServerReply(cfg_.reply, d.payload, d.loop_wall) ||
      (cfg_.hmac != nullptr && IsAuthReflectorPacket(d.payload))) {
    Bump(counters_.refused);
    return;
  }
  const PeerKey source = KeyOf(*d.from, 0);
  const uint64_t source_hash = absl::HashOf(source);
  if (IsReflection(source_hash, d)) {
    Bump(counters_.refused);
    return;
  }
  uring::SendSpec spec;
  spec.to = d.from;
  if (cfg_.reply_from_destination) spec.from = d.to;
  // A request without a DSCP costs no control message: the socket's TOS is 0.
  if (const int tos = ReplyTos(d.tos); tos != 0) spec.tos = tos;
  if (AsksFollowUp(d.payload)) {
    // Its exact send time goes into the session's next reply (RFC 8972 §4.7).
    spec.tx_timestamp = true;
    spec.tag = next_tag_++;
  }
  if (cfg_.delay == 0 && cfg_.jitter == 0) {
    // Built straight into the send slot: no copy between reply and send.
    loop_.SendWith(d.socket, spec, d.payload.size(), [&](std::span<uint8_t> out) {
      const int64_t len = Answer(d, source, out, spec.tag);
      if (len >= 0) {
        Await(numbered_);
        Bump(counters_.replied);
        if (reply_format_ == ReplyFormat::kStamp)
          late_stamps_.push_back({out.data(), static_cast<size_t>(len)});
        if (reply_format_ == ReplyFormat::kEcho) {
          const auto reply = out.first(static_cast<size_t>(len));
          reflections_.Remember(source_hash, Digest(reply), d.loop_mono);
        }
      }
      return len;
    });
    return;
  }
  const int64_t len = Answer(d, source, reply_buf_, spec.tag);
  if (len >= 0)
    Delay(d, source_hash, std::span<const uint8_t>(reply_buf_.data(), static_cast<size_t>(len)),
          numbered_);
}

void ServeWorker::BeforeSubmit(WallTime now) noexcept {
  // T3 as late as user space can stamp it: microseconds before the kernel sends the
  // reply, however many requests this loop turn answered before it. An authenticated
  // reply is signed again over its new T3.
  const NtpTimestamp t3 = ToNtp(now);
  for (const LateStamp& r : late_stamps_) {
    if (cfg_.hmac != nullptr) {
      stamp::SetAuthReflectorTimestamp(t3, {r.packet, r.length}, *cfg_.hmac);
    } else {
      stamp::SetReflectorTimestamp(t3, r.packet);
    }
  }
  late_stamps_.clear();
}

bool ServeWorker::AsksFollowUp(std::span<const uint8_t> request) const noexcept {
  // RFC 8972 §4.7: a stateless reflector reports nothing, so asks nothing of the kernel.
  if (!cfg_.stamp_stateful) return false;
  const size_t base = cfg_.hmac != nullptr ? stamp::kAuthPacketSize : stamp::kMinPacketSize;
  if (request.size() < base + stamp::kFollowUpTelemetryTlvSize) return false;
  stamp::TlvReader tlvs(request.subspan(base));
  stamp::Tlv t;
  while (tlvs.Next(&t) == stamp::TlvStatus::kOk)
    if (t.type == stamp::kTlvTypeFollowUpTelemetry) return true;
  return false;
}

void ServeWorker::NumberReply(const Datagram& d, std::span<uint8_t> out, const Reply& reply,
                              uint64_t tag) noexcept {
  const size_t length = reply.length;
  const size_t follow_up_offset = reply.follow_up_offset;
  const PeerKey session = KeyOf(*d.from, stamp::PeekSsid(d.payload, cfg_.hmac != nullptr));
  PeerState& p = peers_.FindOrInsert(session, d.loop_mono);
  PublishPeers();
  const uint32_t seq = p.stamp_seq++;
  stamp::SetReflectorSeq(seq, out);
  if (cfg_.hmac != nullptr) stamp::SignAuthPacket(out.first(length), *cfg_.hmac);
  if (follow_up_offset == stamp::kNoTlv || follow_up_offset >= length) return;
  stamp::FollowUpTelemetry f;
  if (p.sent_known) {
    f.seq = p.sent_seq;
    f.timestamp = ToNtp(p.sent_at);
    f.timestamp_mode = stamp::kTimestampModeSwLocal;
  }
  stamp::FillFollowUpTelemetry(f, out.subspan(follow_up_offset, length - follow_up_offset));
  // The report and the new number are what the HMAC TLV must vouch for.
  if (reply.signed_tlvs) stamp::SignTlvHmac(out.first(length), stamp::kAuthPacketSize, *cfg_.hmac);
  if (tag != 0) numbered_ = {tag, session, seq};
}

void ServeWorker::Await(const AwaitedTimestamp& a) noexcept {
  if (a.tag != 0) awaited_[a.tag & (kAwaitedTimestamps - 1)] = a;
}

void ServeWorker::OnTransmitTimestamp(SocketId, uint64_t tag, WallTime sent) noexcept {
  const AwaitedTimestamp& a = awaited_[tag & (kAwaitedTimestamps - 1)];
  if (a.tag != tag) return;  // forgotten: the ring moved on
  PeerState* p = peers_.Find(a.session);
  // Only the session's newest reply is worth reporting.
  if (p == nullptr || (p->sent_known && static_cast<int32_t>(a.seq - p->sent_seq) < 0)) return;
  p->sent_known = true;
  p->sent_seq = a.seq;
  p->sent_at = sent;
}

int64_t ServeWorker::Answer(const Datagram& d, const PeerKey& source, std::span<uint8_t> out,
                            uint64_t tag) {
  numbered_ = {};
  RequestContext ctx;
  ctx.received = d.rx_wall.nanos() != 0 ? d.rx_wall : d.loop_wall;
  ctx.clock = &loop_.clock();  // T3 read only for STAMP, as late as it can be
  ctx.ttl = d.ttl;
  ctx.hmac = cfg_.hmac;
  ctx.follow_up = cfg_.stamp_stateful;
  // Stateless first: a stateful reflector numbers only what it reflects, so a request
  // the loss simulation drops must not consume a number (it then reads as forward loss).
  const Reply reply = BuildReply(cfg_.reply, d.payload, ctx, out);
  reply_format_ = reply.format;
  if (!reply.ok()) {
    Bump(reply.error == DecodeError::kBadHmac ? counters_.unauthenticated : counters_.malformed);
    return -1;
  }
  if (cfg_.loss > 0 && Uniform01() < cfg_.loss) {
    Bump(counters_.dropped);
    return -1;
  }
  // The budget counts what would be answered: garbage costs a source nothing, and
  // creates no entry in the peer table.
  if (cfg_.max_rate > 0 && RateLimited(source, d.loop_mono)) {
    Bump(counters_.rate_limited);
    return -1;
  }
  if (cfg_.stamp_stateful && reply.format == ReplyFormat::kStamp)
    NumberReply(d, out, reply, tag);
  return static_cast<int64_t>(reply.length);
}

void ServeWorker::OnSendError(SocketId, uint64_t, int) noexcept {
  // Every reply was counted replied when it was handed to the loop: it moves over, so
  // the counters still add up.
  Bump(counters_.replied, -1);
  Bump(counters_.send_errors);
}

void ServeWorker::Delay(const Datagram& d, uint64_t source_hash, std::span<const uint8_t> bytes,
                        const AwaitedTimestamp& awaited) {
  // Bounded in bytes as well as in count: 65,536 replies of 64 KiB would be 4 GiB.
  const uint64_t charge = bytes.size() + kDelayedOverhead;
  if (delayed_.size() >= kMaxDelayedReplies || !ChargeDelay(charge)) {
    Bump(counters_.delay_full);
    return;
  }
  Nanos wait = cfg_.delay;
  if (cfg_.jitter > 0)
    wait += static_cast<Nanos>((Uniform01() * 2 - 1) * static_cast<double>(cfg_.jitter));
  if (wait < 0) wait = 0;
  const uint64_t digest = reply_format_ == ReplyFormat::kEcho ? Digest(bytes) : 0;
  delayed_.push(Delayed{d.loop_mono + wait, next_order_++, d.socket, *d.from,
                        cfg_.reply_from_destination && d.to != nullptr ? *d.to : SocketAddress(),
                        source_hash, digest, ReplyTos(d.tos), awaited,
                        std::vector<uint8_t>(bytes.begin(), bytes.end())});
  ArmDelayTimer();
}

void ServeWorker::SendTop() {
  const Delayed& top = delayed_.top();
  Bump(counters_.replied);
  // A delayed STAMP reply keeps the T3 it was built with, so to a sender that reads T3
  // the simulated delay shows as network delay. Its follow-up report, though, is the
  // kernel's transmit time, as RFC 8972 §4.7 defines it: when the reply really left,
  // after its wait here, so to a sender that uses the report the delay shows as what it
  // is, time spent in the reflector (residence), and the backward delay is the path's.
  uring::SendSpec spec;
  spec.to = &top.to;
  if (!top.from.empty()) spec.from = &top.from;
  if (top.tos != 0) spec.tos = top.tos;
  if (top.awaited.tag != 0) {
    spec.tx_timestamp = true;
    spec.tag = top.awaited.tag;
    Await(top.awaited);
  }
  loop_.Send(top.socket, spec, top.bytes);
  // The reflection window starts when the reply leaves, however long it waited.
  if (top.digest != 0)
    reflections_.Remember(top.source_hash, top.digest, loop_.clock().Now());
  const uint64_t charge = top.bytes.size() + kDelayedOverhead;
  delayed_bytes_ -= charge;
  delay_pool_->fetch_sub(charge, std::memory_order_relaxed);
  delayed_.pop();
}

void ServeWorker::SendDelayed() {
  const MonoTime now = loop_.clock().Now();
  while (!delayed_.empty() && delayed_.top().due <= now) SendTop();
  ArmDelayTimer();
}

void ServeWorker::ArmDelayTimer() {
  if (delayed_.empty()) return;
  const MonoTime due = delayed_.top().due;
  if (!delay_timer_.armed() || due < delay_timer_.deadline()) delay_timer_.ArmAt(due);
}

void ServeWorker::FlushDelayed() {
  while (!delayed_.empty()) SendTop();
}

}  // namespace udpbeat::engine
