#include "udpbeat/modes/ping.h"

#include <algorithm>
#include <numeric>
#include <ostream>
#include <vector>

#include "absl/strings/str_format.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/session_aggregate.h"
#include "udpbeat/engine/session_group.h"
#include "udpbeat/report/ping_reporter.h"
#include "udpbeat/report/svg_plot.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

// After the last probe settled with some timed out, wait for their late replies (so a
// late reply is reported late, not lost) for the timeout or twice the slowest RTT seen,
// as ping(8) waits two RTTs, but never longer than this; stop early once all came.
constexpr Nanos kMaxLinger = 10 * kNanosPerSecond;
constexpr Nanos kProgressPeriod = kNanosPerSecond;
constexpr size_t kWorstShown = 5;

enum TimerCookie : uint64_t { kLingerTimer = 1, kProgressTimer = 2, kDurationTimer = 3 };

class Pinger final : public ProbeObserver, public uring::SignalHandler, public TimerHandler {
 public:
  Pinger(const PingOptions& opts, uring::EventLoop& loop, PingReporter& reporter,
         std::ostream& out)
      : opts_(opts), loop_(loop), reporter_(reporter), out_(out) {}

  void set_group(SessionGroup* g) { group_ = g; }

  void Start() {
    start_ = loop_.clock().Now();
    if (opts_.duration > 0) loop_.ScheduleAt(start_ + opts_.duration, this, kDurationTimer);
    if (opts_.progress) loop_.ScheduleAt(start_ + kProgressPeriod, this, kProgressTimer);
    group_->Start();
  }

  // ProbeObserver: per-event output only when there is one session to follow.
  void OnReply(ProbeSession&, const ReplyInfo& r) override {
    if (!opts_.plot_file.empty() && r.kind != ReplyClass::kDuplicate)
      plot_.AddRtt(loop_.clock().Now() - start_, r.rtt);
    if (single()) reporter_.OnReply(r);
    if (lingering_ && r.kind == ReplyClass::kLate && AllLateRepliesIn()) Stop();
  }

  void OnTimeout(ProbeSession&, uint32_t seq, bool unreachable) override {
    if (!opts_.plot_file.empty()) plot_.AddTimeout(loop_.clock().Now() - start_);
    if (!single()) return;
    if (unreachable) {
      reporter_.OnUnreachable(seq);
    } else {
      reporter_.OnTimeout(seq);
    }
  }

  void OnDone(ProbeSession&) override {
    if (++done_ < group_->size()) return;
    uint64_t timed_out = 0, late = 0, unreachable = 0;
    for (size_t i = 0; i < group_->size(); ++i) {
      const ProbeSession& s = group_->session(i);
      timed_out += s.stats().timed_out();
      late += s.stats().late();
      unreachable += s.unreachable();
    }
    if (timed_out > late && unreachable == 0) {
      Nanos max_rtt = 0;
      for (size_t i = 0; i < group_->size(); ++i) {
        max_rtt = std::max(max_rtt, static_cast<Nanos>(group_->session(i).stats().rtt().summary().max()));
      }
      lingering_ = true;
      loop_.ScheduleAt(loop_.clock().Now() + std::min(std::max(opts_.timeout, 2 * max_rtt), kMaxLinger),
                       this, kLingerTimer);
      return;
    }
    Stop();
  }

  void OnTimer(uint64_t cookie) noexcept override {
    switch (cookie) {
      case kProgressTimer:
        if (!loop_.stopping()) {
          PrintProgress();
          loop_.ScheduleAt(loop_.clock().Now() + kProgressPeriod, this, kProgressTimer);
        }
        break;
      case kDurationTimer:
        StopSending();
        break;
      default:
        Stop();
        break;
    }
  }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      SessionAggregate a = Collect(false);
      PingSummary p = Summary(a);
      reporter_.OnInterim(p);
      return;
    }
    Stop();
  }

  // Merges every session (finishing them first when `finish`).
  SessionAggregate Collect(bool finish) const { return SessionAggregate::Of(*group_, finish); }

  PingSummary Summary(const SessionAggregate& a) const {
    PingSummary p;
    p.stats = &a.stats;
    p.stamp = opts_.proto == ProbeProto::kStamp ? &a.stamp : nullptr;
    p.unreachable = a.unreachable;
    p.local_drops = loop_.counters().kernel_drops;
    p.send_lag = &a.send_lag;
    p.elapsed = loop_.clock().Now() - start_;
    return p;
  }

  const PlotRecorder& plot() const { return plot_; }

  void ClearProgress() {
    if (progress_shown_) out_ << "\r\033[K" << std::flush;
  }

 private:
  bool single() const { return group_->size() == 1; }

  bool AllLateRepliesIn() const {
    for (size_t i = 0; i < group_->size(); ++i) {
      const auto& st = group_->session(i).stats();
      if (st.timed_out() > st.late()) return false;
    }
    return true;
  }

  // --duration reached: no new probes; what is in flight settles (or times out).
  void StopSending() {
    bool any_pending = false;
    for (size_t i = 0; i < group_->size(); ++i)
      any_pending |= group_->session(i).stats().in_flight() > 0;
    loop_.ScheduleAt(loop_.clock().Now() + (any_pending ? opts_.timeout : 0), this, kLingerTimer);
    for (size_t i = 0; i < group_->size(); ++i) group_->session(i).StopSending();
  }

  void Stop() {
    group_->FinishAll();
    loop_.Stop();
  }

  void PrintProgress() {
    uint64_t sent = 0, received = 0;
    stats::LogHistogram h;
    for (size_t i = 0; i < group_->size(); ++i) {
      const auto& s = group_->session(i).stats();
      sent += s.sent();
      received += s.received();
      h.Merge(s.rtt().histogram());
    }
    const double secs = static_cast<double>(loop_.clock().Now() - start_) / 1e9;
    const double dt = secs - last_progress_secs_;
    out_ << absl::StrFormat(
                "\r\033[K%6.1fs  sent %.0f/s  received %.0f/s  loss %.2f%%  rtt p50 %.3f ms  "
                "p99 %.3f ms",
                secs, dt > 0 ? static_cast<double>(sent - last_sent_) / dt : 0,
                dt > 0 ? static_cast<double>(received - last_received_) / dt : 0,
                sent > 0 ? 100.0 * static_cast<double>(sent - received) / static_cast<double>(sent)
                         : 0.0,
                static_cast<double>(h.Percentile(50)) / 1e6,
                static_cast<double>(h.Percentile(99)) / 1e6)
         << std::flush;
    progress_shown_ = true;
    last_sent_ = sent;
    last_received_ = received;
    last_progress_secs_ = secs;
  }

  const PingOptions& opts_;
  uring::EventLoop& loop_;
  PingReporter& reporter_;
  std::ostream& out_;
  SessionGroup* group_ = nullptr;
  PlotRecorder plot_;
  MonoTime start_;
  size_t done_ = 0;
  bool lingering_ = false;
  bool progress_shown_ = false;
  uint64_t last_sent_ = 0, last_received_ = 0;
  double last_progress_secs_ = 0;
};

void WriteSessionReport(const SessionGroup& g, const SessionAggregate& a, std::ostream& out) {
  const auto& lag = a.send_lag;
  if (lag.count() > 0) {
    const auto& h = lag.histogram();
    out << absl::StrFormat("send lag p50/p99/p99.9/max = %.3f/%.3f/%.3f/%.3f ms (%d sessions)\n",
                           static_cast<double>(h.Percentile(50)) / 1e6,
                           static_cast<double>(h.Percentile(99)) / 1e6,
                           static_cast<double>(h.Percentile(99.9)) / 1e6,
                           lag.summary().max() / 1e6, g.size());
  }
  std::vector<size_t> order(g.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t shown = std::min(kWorstShown, order.size());
  std::partial_sort(order.begin(), order.begin() + shown, order.end(), [&](size_t x, size_t y) {
    return g.session(x).stats().loss_ratio() > g.session(y).stats().loss_ratio();
  });
  out << "worst sessions by loss:";
  size_t listed = 0;
  for (size_t k = 0; k < shown; ++k) {
    const auto& s = g.session(order[k]).stats();
    if (s.lost() == 0) break;
    out << absl::StrFormat(" #%d %.1f%% (%d/%d)", order[k], 100 * s.loss_ratio(), s.lost(),
                           s.sent());
    ++listed;
  }
  if (listed == 0) out << " none lost a probe";
  std::partial_sort(order.begin(), order.begin() + shown, order.end(), [&](size_t x, size_t y) {
    return g.session(x).stats().rtt().histogram().Percentile(99) >
           g.session(y).stats().rtt().histogram().Percentile(99);
  });
  out << "\nworst sessions by rtt p99:";
  for (size_t k = 0; k < shown; ++k) {
    out << absl::StrFormat(
        " #%d %.3f ms", order[k],
        static_cast<double>(g.session(order[k]).stats().rtt().histogram().Percentile(99)) / 1e6);
  }
  out << "\n";
}

}  // namespace

absl::StatusOr<ExitCode> RunPing(const PingOptions& opts, std::ostream& out, std::ostream& err) {
  const uint16_t default_port = DefaultPort(opts.proto);
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress peer,
                           ResolveUdp(opts.target, default_port, opts.family));
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, uring::EventLoop::Create(ClientLoopOptions(opts.sessions, opts.size),
                                                             SystemClock::Get()));
  auto hp = SplitHostPort(opts.target, default_port);
  std::unique_ptr<PingReporter> reporter =
      opts.json ? MakeJsonPingReporter(peer.ToString(), out, err)
                : MakeTextPingReporter(hp.ok() ? hp->host : opts.target, opts.quiet, out, err);

  SessionGroupOptions go;
  go.sessions = std::max<uint32_t>(opts.sessions, 1);
  go.sockets = opts.sockets;
  ProbeSessionConfig& cfg = go.session;
  cfg.proto = opts.proto;
  cfg.size = opts.size;
  cfg.timeout = opts.timeout;
  cfg.interval = opts.interval;
  cfg.count = opts.duration > 0 ? 0 : opts.count;
  // STAMP numbers from 0 (RFC 8762 §4.2.1); the lab numbers pings from 1.
  cfg.first_seq = opts.proto == ProbeProto::kStamp ? 0 : 1;

  Pinger pinger(opts, *loop, *reporter, out);
  UDPBEAT_ASSIGN_OR_RETURN(auto group, SessionGroup::Create(go, peer, *loop, pinger));
  pinger.set_group(group.get());
  loop->SetSignalHandler(&pinger);
  pinger.Start();
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  pinger.ClearProgress();
  const SessionAggregate agg = pinger.Collect(true);
  const PingSummary summary = pinger.Summary(agg);
  if (opts.json && group->size() > 1) {
    for (size_t i = 0; i < group->size(); ++i) {
      const ProbeSession& s = group->session(i);
      PingSummary ps;
      ps.stats = &s.stats();
      ps.stamp = opts.proto == ProbeProto::kStamp ? &s.stamp() : nullptr;
      ps.unreachable = s.unreachable();
      ps.elapsed = summary.elapsed;
      ps.send_lag = &s.send_lag();
      nlohmann::json j = SummaryJson(ps, peer.ToString());
      j["event"] = "session";
      j["session"] = i;
      j["local_port"] = group->local_port(i);
      out << j.dump() << "\n";
    }
  }
  reporter->OnSummary(summary);
  if (!opts.json && group->size() > 1) WriteSessionReport(*group, agg, out);
  if (!opts.plot_file.empty()) {
    UDPBEAT_RETURN_IF_ERROR(pinger.plot().WriteSvg(
        opts.plot_file, absl::StrFormat("udpbeat ping %s (%s)", peer.ToString(), ProbeProtoName(opts.proto)),
        agg.stats.rtt().histogram()));
  }
  if (summary.stats->received() == 0 && summary.unreachable > 0) {
    err << "udpbeat: " << peer.ToString() << ": port unreachable: nothing is listening"
        << (opts.proto == ProbeProto::kStamp && peer.port() == stamp::kDefaultPort
                ? " (STAMP's port is 862; udpbeat serve listens on 12000 unless --bind says "
                  "otherwise)"
                : "")
        << std::endl;
  }
  return summary.stats->received() > 0 ? kExitOk : kExitBadOutcome;
}

}  // namespace udpbeat
