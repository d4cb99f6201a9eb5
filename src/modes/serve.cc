#include "udpbeat/modes/serve.h"

#include <ostream>
#include <queue>
#include <random>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/session/peer_table.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

using uring::Datagram;
using uring::EventLoop;
using uring::SocketId;

// Delayed replies wait here; beyond this many the simulation drops (bounded memory).
constexpr size_t kMaxDelayedReplies = 65536;

std::string FormatCounters(const ServeCounters& c) {
  return absl::StrFormat(
      "received %d, replied %d, dropped %d, malformed %d, send errors %d, kernel drops %d, "
      "peers %d, peer evictions %d",
      c.received, c.replied, c.dropped, c.malformed, c.send_errors, c.kernel_drops, c.peers,
      c.peer_evictions);
}

// What the server remembers per peer.
struct PeerState {
  uint32_t stamp_seq = 0;  // next reflector sequence number (--stamp-stateful)
};

class Server final : public uring::DatagramHandler,
                     public uring::SignalHandler,
                     public StampSessions,
                     public TimerHandler {
 public:
  Server(const ServeOptions& opts, EventLoop& loop, std::ostream& out, std::ostream& err)
      : opts_(opts),
        loop_(loop),
        out_(out),
        err_(err),
        rng_(opts.seed ? *opts.seed : absl::Uniform<uint64_t>(absl::BitGen())),
        reply_buf_(opts.max_datagram),
        peers_(opts.max_peers, opts.peer_idle) {}

  void OnDatagram(const Datagram& d) noexcept override {
    ++counters_.received;
    if (d.truncated) {
      ++counters_.malformed;
      return;
    }
    RequestContext ctx;
    ctx.received = d.rx_wall.nanos() != 0 ? d.rx_wall : d.loop_wall;
    ctx.now = loop_.clock().NowWall();
    ctx.ttl = d.ttl;
    ctx.sessions = opts_.stamp_stateful ? this : nullptr;
    current_ = &d;
    const Reply reply = BuildReply(opts_.reply, d.payload, ctx, reply_buf_);
    if (!reply.ok()) {
      ++counters_.malformed;
      return;
    }
    if (opts_.loss > 0 && Uniform01() < opts_.loss) {
      ++counters_.dropped;
      return;
    }
    const std::span<const uint8_t> bytes(reply_buf_.data(), reply.length);
    if (opts_.delay == 0 && opts_.jitter == 0) {
      SendReply(d.socket, *d.from, bytes);
    } else {
      Delay(d, bytes);
    }
  }

  uint32_t NextSeq(uint16_t ssid) noexcept override {
    PeerState& p = peers_.FindOrInsert(MakePeerKey(*current_->from, ssid), current_->loop_mono);
    return p.stamp_seq++;
  }

  void OnSendError(SocketId, int) noexcept override {
    // Counted as replied when queued; move it over so the counters still add up.
    --counters_.replied;
    ++counters_.send_errors;
  }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      err_ << FormatCounters(Snapshot()) << std::endl;
      return;
    }
    FlushDelayed();
    loop_.Stop();
  }

  void OnTimer(uint64_t cookie) noexcept override {
    if (cookie == kSweepTimer) {
      peers_.SweepIdle(loop_.clock().Now(), kSweepSteps);
      loop_.ScheduleAt(loop_.clock().Now() + kSweepPeriod, this, kSweepTimer);
      return;
    }
    timer_ = 0;
    const MonoTime now = loop_.clock().Now();
    while (!delayed_.empty() && delayed_.top().due <= now) SendTop();
    ArmTimer();
  }

  ServeCounters Snapshot() const {
    ServeCounters c = counters_;
    c.kernel_drops = loop_.counters().kernel_drops;
    c.peers = peers_.size();
    c.peer_evictions = peers_.evictions();
    return c;
  }

  void StartSweeping() { loop_.ScheduleAt(loop_.clock().Now() + kSweepPeriod, this, kSweepTimer); }

 private:
  static constexpr uint64_t kSweepTimer = 1;
  static constexpr Nanos kSweepPeriod = kNanosPerSecond;
  static constexpr size_t kSweepSteps = 4096;

  struct Delayed {
    MonoTime due;
    uint64_t order;  // FIFO among equal due times
    SocketId socket;
    SocketAddress to;
    std::vector<uint8_t> bytes;
    bool operator>(const Delayed& o) const {
      return due != o.due ? due > o.due : order > o.order;
    }
  };

  double Uniform01() noexcept { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

  void SendReply(SocketId s, const SocketAddress& to, std::span<const uint8_t> bytes) {
    ++counters_.replied;
    loop_.Send(s, &to, bytes);
  }

  void Delay(const Datagram& d, std::span<const uint8_t> bytes) {
    if (delayed_.size() >= kMaxDelayedReplies) {
      ++counters_.dropped;
      return;
    }
    Nanos wait = opts_.delay;
    if (opts_.jitter > 0)
      wait += static_cast<Nanos>((Uniform01() * 2 - 1) * static_cast<double>(opts_.jitter));
    if (wait < 0) wait = 0;
    delayed_.push(Delayed{d.loop_mono + wait, next_order_++, d.socket, *d.from,
                          std::vector<uint8_t>(bytes.begin(), bytes.end())});
    ArmTimer();
  }

  void SendTop() {
    const Delayed& top = delayed_.top();
    SendReply(top.socket, top.to, top.bytes);
    delayed_.pop();
  }

  void ArmTimer() {
    if (delayed_.empty()) return;
    const MonoTime due = delayed_.top().due;
    if (timer_ != 0 && timer_due_ <= due) return;
    if (timer_ != 0) loop_.CancelTimer(timer_);
    timer_ = loop_.ScheduleAt(due, this);
    timer_due_ = due;
  }

  void FlushDelayed() {
    while (!delayed_.empty()) SendTop();
  }

  const ServeOptions& opts_;
  EventLoop& loop_;
  std::ostream& out_;
  std::ostream& err_;
  std::mt19937_64 rng_;  // std's engine: reproducible with --seed across builds
  std::vector<uint8_t> reply_buf_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
  uint64_t next_order_ = 0;
  TimerId timer_ = 0;
  MonoTime timer_due_;
  PeerTable<PeerState> peers_;
  const Datagram* current_ = nullptr;  // the datagram being answered (for NextSeq)
  ServeCounters counters_;
};

}  // namespace

absl::Status RunServe(const ServeOptions& opts, std::ostream& out, std::ostream& err) {
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress local, SocketAddress::ParseNumeric(opts.bind, ServeOptions::kDefaultPort));
  uring::LoopOptions lo;
  lo.max_datagram = opts.max_datagram;
  lo.receive_buffers = 512;
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, EventLoop::Create(lo, SystemClock::Get()));
  UdpSocketOptions so;
  so.receive_buffer = opts.receive_buffer;
  so.send_buffer = opts.receive_buffer;
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, BindUdp(local, so));
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress bound, LocalAddress(fd.get()));
  Server server(opts, *loop, out, err);
  UDPBEAT_RETURN_IF_ERROR(loop->AddSocket(std::move(fd), &server).status());
  loop->SetSignalHandler(&server);
  server.StartSweeping();
  if (!opts.quiet) {
    out << "udpbeat serve: listening on " << bound.ToString() << " (reply "
        << ReplyModeName(opts.reply) << ")" << std::endl;
  }
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  if (!opts.quiet) {
    out << "\n--- udpbeat serve statistics ---\n" << FormatCounters(server.Snapshot()) << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace udpbeat
