#include "udpbeat/modes/ping.h"

#include <ostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/proto/seed.h"
#include "udpbeat/report/ping_reporter.h"
#include "udpbeat/stats/session_stats.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

using uring::Datagram;
using uring::EventLoop;
using uring::SocketId;

// Timer cookies: what the timer is for, in the high half; the probe's seq in the low.
enum TimerKind : uint64_t { kSendTimer = 1, kTimeoutTimer = 2 };
constexpr uint64_t Cookie(TimerKind kind, uint32_t seq) { return uint64_t{kind} << 32 | seq; }

// The kernel stamps datagrams with CLOCK_REALTIME; we measure in CLOCK_MONOTONIC. Both
// clocks were read together when the loop woke, so their offset maps the kernel stamp
// onto the monotonic axis without losing its precision. A stamp that maps outside
// [sent, wake] (a clock step) is not trusted: the wake time is used instead.
MonoTime ReceiveTime(const Datagram& d, MonoTime sent) {
  if (d.rx_wall.nanos() == 0) return d.loop_mono;
  const MonoTime rx = d.loop_mono - (d.loop_wall - d.rx_wall);
  if (rx < sent || rx > d.loop_mono) return d.loop_mono;
  return rx;
}

class Pinger final : public uring::DatagramHandler,
                     public uring::SignalHandler,
                     public TimerHandler {
 public:
  Pinger(const PingOptions& opts, EventLoop& loop, PingReporter& reporter)
      : opts_(opts),
        loop_(loop),
        clock_(loop.clock()),
        reporter_(reporter),
        send_buf_(std::max<size_t>(opts.size, 128)) {}

  void Start(SocketId socket) {
    socket_ = socket;
    start_ = clock_.Now();
    SendProbe();
  }

  // DatagramHandler
  void OnDatagram(const Datagram& d) noexcept override {
    uint64_t seq = 0;
    if (!DecodeReply(d, &seq)) {
      stats_.CountMalformed();
      return;
    }
    const uint32_t seq32 = static_cast<uint32_t>(seq);
    const MonoTime sent = SentTime(seq32);
    const MonoTime received = ReceiveTime(d, sent);
    const stats::ReplyResult r = stats_.OnReply(seq32, received.nanos());
    if (r.kind == stats::ReplyKind::kUnknown) {
      stats_.CountMalformed();
      return;
    }
    ReplyEvent e;
    e.kind = r.kind == stats::ReplyKind::kOnTime ? ReplyEventKind::kOnTime
             : r.kind == stats::ReplyKind::kLate ? ReplyEventKind::kLate
                                                  : ReplyEventKind::kDuplicate;
    e.seq = seq32;
    e.rtt = r.rtt_ns;
    e.bytes = d.payload.size();
    e.ttl = d.ttl;
    e.reordered = r.reordered;
    e.received = d.rx_wall.nanos() != 0 ? d.rx_wall : d.loop_wall;
    e.payload = {reinterpret_cast<const char*>(d.payload.data()), d.payload.size()};
    reporter_.OnReply(e);
    if (r.kind == stats::ReplyKind::kOnTime) Resolved();
  }

  void OnReceiveError(SocketId, int error) noexcept override {
    // On a connected socket ECONNREFUSED is the kernel relaying ICMP port unreachable.
    if (error == ECONNREFUSED) {
      ++unreachable_;
      unreachable_since_last_timeout_ = true;
    } else {
      last_error_ = error;
    }
  }

  void OnSendError(SocketId, int error) noexcept override {
    if (error == ECONNREFUSED) {
      ++unreachable_;
      unreachable_since_last_timeout_ = true;
    } else {
      last_error_ = error;
    }
  }

  // SignalHandler
  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      reporter_.OnInterim(Summary());
      return;
    }
    Finish();
  }

  // TimerHandler
  void OnTimer(uint64_t cookie) noexcept override {
    if (finished_) return;
    if ((cookie >> 32) == kSendTimer) {
      SendProbe();
      return;
    }
    // Collected first: settling a probe may send the next one, which must not happen
    // while the tracker is iterating.
    expired_.clear();
    stats_.Expire(clock_.Now().nanos(), [this](uint32_t seq) { expired_.push_back(seq); });
    for (uint32_t seq : expired_) {
      if (unreachable_since_last_timeout_) {
        reporter_.OnUnreachable(seq);
      } else {
        reporter_.OnTimeout(seq);
      }
      Resolved();
    }
    if (!expired_.empty()) unreachable_since_last_timeout_ = false;
  }

  PingSummary Summary() const {
    PingSummary s;
    s.stats = &stats_;
    s.unreachable = unreachable_;
    s.elapsed = clock_.Now() - start_;
    return s;
  }

  bool finished() const { return finished_; }
  int last_error() const { return last_error_; }

 private:
  bool DecodeReply(const Datagram& d, uint64_t* seq) const {
    if (d.truncated) return false;
    seed::Request echo;
    if (seed::ParseRequest(d.payload, &echo) == DecodeError::kNone) {
      *seq = echo.seq;
      return true;
    }
    // A heartbeat server's "<seq> <time difference>" answers a ping as well.
    seed::HeartbeatReply hb;
    if (seed::ParseHeartbeatReply(d.payload, &hb) == DecodeError::kNone) {
      *seq = hb.seq;
      return true;
    }
    return false;
  }

  MonoTime SentTime(uint32_t seq) const {
    return send_times_[seq % send_times_.size()];
  }

  void SendProbe() {
    if (finished_ || AllSent()) return;
    const uint32_t seq = next_seq_++;
    const MonoTime now = clock_.Now();
    const size_t len = seed::EncodeRequest(seed::Keyword::kPing, seq, clock_.NowWall(),
                                           opts_.size, send_buf_);
    send_times_[seq % send_times_.size()] = now;
    stats_.OnSent(seq, now.nanos(), (now + opts_.timeout).nanos());
    ++sent_;
    ++unresolved_;
    loop_.Send(socket_, nullptr, std::span<const uint8_t>(send_buf_.data(), len));
    loop_.ScheduleAt(now + opts_.timeout, this, Cookie(kTimeoutTimer, seq));
    if (opts_.interval && !AllSent()) {
      // A fixed schedule anchored at the start: lateness of one send does not shift
      // the rest (no drift).
      const MonoTime next = start_ + static_cast<Nanos>(sent_) * *opts_.interval;
      loop_.ScheduleAt(next, this, Cookie(kSendTimer, 0));
    }
  }

  // A probe was answered on time or timed out.
  void Resolved() {
    if (unresolved_ > 0) --unresolved_;
    if (AllSent()) {
      if (unresolved_ == 0) Finish();
    } else if (!opts_.interval) {
      SendProbe();  // the lab's rhythm: next ping as soon as this one is settled
    }
  }

  bool AllSent() const { return opts_.count > 0 && sent_ >= static_cast<uint64_t>(opts_.count); }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    stats_.Finish();
    loop_.Stop();
  }

  const PingOptions& opts_;
  EventLoop& loop_;
  const Clock& clock_;
  PingReporter& reporter_;
  stats::SessionStats stats_;
  std::vector<uint8_t> send_buf_;
  std::vector<uint32_t> expired_;
  // Send time by seq, as wide as the tracker's window.
  std::vector<MonoTime> send_times_ = std::vector<MonoTime>(1024);
  SocketId socket_ = 0;
  MonoTime start_;
  uint32_t next_seq_ = 1;  // the lab numbers pings from 1
  uint64_t sent_ = 0;
  uint64_t unresolved_ = 0;
  uint64_t unreachable_ = 0;
  bool unreachable_since_last_timeout_ = false;
  int last_error_ = 0;
  bool finished_ = false;
};

}  // namespace

absl::StatusOr<ExitCode> RunPing(const PingOptions& opts, std::ostream& out, std::ostream& err) {
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress peer,
                           ResolveUdp(opts.target, PingOptions::kDefaultPort, opts.family));
  uring::LoopOptions lo;
  lo.max_datagram = std::max<size_t>(opts.size, 2048);
  lo.receive_buffers = 256;
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, EventLoop::Create(lo, SystemClock::Get()));
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, ConnectUdp(peer, UdpSocketOptions{}));
  auto hp = SplitHostPort(opts.target, PingOptions::kDefaultPort);
  std::unique_ptr<PingReporter> reporter =
      opts.json ? MakeJsonPingReporter(peer.ToString(), out, err)
                : MakeTextPingReporter(hp.ok() ? hp->host : opts.target, opts.quiet, out, err);
  Pinger pinger(opts, *loop, *reporter);
  UDPBEAT_ASSIGN_OR_RETURN(SocketId socket, loop->AddSocket(std::move(fd), &pinger));
  loop->SetSignalHandler(&pinger);
  pinger.Start(socket);
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  const PingSummary summary = pinger.Summary();
  reporter->OnSummary(summary);
  if (summary.stats->received() == 0 && summary.unreachable > 0 && !opts.json)
    err << "udpbeat: " << peer.ToString() << ": port unreachable: nothing is listening" << std::endl;
  return summary.stats->received() > 0 ? kExitOk : kExitBadOutcome;
}

}  // namespace udpbeat
