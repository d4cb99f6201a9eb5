#include "udpbeat/modes/ping.h"

#include <signal.h>

#include <algorithm>
#include <optional>
#include <ostream>

#include "absl/strings/str_format.h"
#include "client_setup.h"
#include "plot_feed.h"
#include "udpbeat/base/output_file.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/loop_transport.h"
#include "udpbeat/report/json_reporter.h"
#include "udpbeat/report/progress_line.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/report/text_reporters.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

// After the last probe settled with some timed out, wait for their late replies (so a
// late reply is reported late, not lost) for the timeout or twice the slowest RTT seen,
// as ping(8) waits two RTTs, but never longer than this; stop early once all came.
constexpr Nanos kMaxLinger = 10 * kNanosPerSecond;
constexpr Nanos kProgressPeriod = kNanosPerSecond;

class Pinger final : public engine::TargetObserver, public uring::SignalHandler {
 public:
  Pinger(const PingOptions& opts, uring::EventLoop& loop, report::RunReporter& reporter,
         std::ostream& out)
      : opts_(opts),
        loop_(loop),
        clock_(loop.clock()),
        reporter_(reporter),
        out_(out),
        linger_timer_(loop.timers(), [this] { Stop(); }),
        duration_timer_(loop.timers(), [this] { StopSending(); }),
        progress_timer_(loop.timers(), [this] { Progress(); }) {}

  void Start(engine::TargetSet& targets, measure::RunInfo info) {
    targets_ = &targets;
    info_ = std::move(info);
    start_ = clock_.Now();
    if (!opts_.plot_file.empty()) plot_.emplace(info_.start);
    if (opts_.duration > 0) duration_timer_.ArmAt(start_ + opts_.duration);
    if (opts_.progress) progress_timer_.ArmAt(start_ + kProgressPeriod);
    targets_->Start();
  }

  // Per-probe output only when each target has one session to follow.
  void OnReply(engine::Target& t, engine::ProbeSession& s, const measure::ReplyEvent& r) override {
    if (plot_) plot_->Reply(s, r);
    if (single()) Print([&] { reporter_.Reply(t.info(), r); });
    if (linger_timer_.armed() && r.kind == stats::ReplyClass::kLate && AllLateRepliesIn()) Stop();
  }

  void OnTimeout(engine::Target& t, engine::ProbeSession& s, const measure::TimeoutEvent& e) override {
    if (plot_) plot_->Timeout(s, e);
    if (single()) Print([&] { reporter_.Timeout(t.info(), e); });
  }

  void OnDone(engine::Target&) override {
    // Every target reports once: only the last report pays for AllDone's walk (10,000
    // targets would otherwise walk 10^8 steps to end a -c run).
    if (++done_reports_ < targets_->size() || !targets_->AllDone()) return;
    uint64_t timed_out = 0, late = 0, unreachable = 0;
    Nanos max_rtt = 0;
    ForEachSession([&](const engine::ProbeSession& s) {
      timed_out += s.stats().timed_out();
      late += s.stats().late();
      unreachable += s.measurements().unreachable;
      max_rtt = std::max(max_rtt, static_cast<Nanos>(s.stats().rtt().summary().max()));
    });
    if (timed_out > late && unreachable == 0) {
      linger_timer_.ArmAt(clock_.Now() + std::min(std::max(opts_.timeout, 2 * max_rtt), kMaxLinger));
      return;
    }
    Stop();
  }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      Print([&] { reporter_.Interim(Result(false)); });
    } else if (signo != SIGHUP) {
      Stop();
    }
  }

  measure::RunResult Result(bool final) const {
    return targets_->Result(info_, measure::Detail::kFull, clock_.Now() - start_,
                           final && targets_->SessionCount() > targets_->size() &&
                               opts_.src_ports == 0,
                           opts_.src_ports > 0, true);
  }

  absl::Status WritePlot(const std::string& title, const measure::RunResult& result) {
    return plot_->Write(opts_.plot_file, title, clock_.NowWall(), opts_.timeout, false, result);
  }

  void ClearProgress() { progress_.Clear(out_); }

 private:
  bool single() const { return targets_->SessionCount() == targets_->size(); }

  // Event lines go out with the progress line out of their way; a stdout that fails
  // (a full disk, a closed pipe) ends the run: the command line reports it.
  template <typename F>
  void Print(F&& f) {
    progress_.Clear(out_);
    f();
    if (!out_.good()) Stop();
  }

  template <typename F>
  void ForEachSession(F&& f) const {
    for (size_t i = 0; i < targets_->size(); ++i) {
      const engine::SessionGroup& g = targets_->at(i).group();
      for (size_t k = 0; k < g.size(); ++k) f(g.session(k));
    }
  }

  bool AllLateRepliesIn() const {
    bool in = true;
    ForEachSession([&](const engine::ProbeSession& s) {
      in &= s.stats().timed_out() <= s.stats().late();
    });
    return in;
  }

  // The run's length is reached: no new probes; what is in flight settles (or times out).
  void StopSending() {
    bool any_pending = false;
    ForEachSession([&](const engine::ProbeSession& s) { any_pending |= s.stats().awaiting() > 0; });
    linger_timer_.ArmAt(clock_.Now() + (any_pending ? opts_.timeout : 0));
    targets_->StopSending();
  }

  void Stop() {
    targets_->Finish();
    loop_.Stop();
  }

  void Progress() {
    if (loop_.stopping()) return;
    uint64_t sent = 0, received = 0, in_flight = 0;
    stats::LogHistogram h;
    ForEachSession([&](const engine::ProbeSession& s) {
      sent += s.stats().sent();
      received += s.stats().received();
      in_flight += s.stats().awaiting();
      h.Merge(s.stats().rtt().histogram());
    });
    progress_.Show(out_, clock_.Now() - start_, sent, received, in_flight, h);
    progress_timer_.ArmAt(clock_.Now() + kProgressPeriod);
  }

  const PingOptions& opts_;
  uring::EventLoop& loop_;
  const Clock& clock_;
  engine::TargetSet* targets_ = nullptr;
  size_t done_reports_ = 0;  // OnDone calls so far
  report::RunReporter& reporter_;
  std::ostream& out_;
  measure::RunInfo info_;
  std::optional<PlotFeed> plot_;
  report::ProgressLine progress_;
  MonoTime start_;
  Timer linger_timer_;
  Timer duration_timer_;
  Timer progress_timer_;
};

}  // namespace

absl::StatusOr<ExitCode> RunPing(const PingOptions& opts, std::ostream& out, std::ostream& err) {
  UDPBEAT_ASSIGN_OR_RETURN(std::optional<SocketAddress> source, SourceAddress(opts));
  UDPBEAT_ASSIGN_OR_RETURN(std::unique_ptr<stamp::HmacSha256> hmac, LoadHmac(opts.auth_key_file));
  UDPBEAT_ASSIGN_OR_RETURN(std::vector<engine::TargetSpec> specs, ResolveTargets(opts, opts.targets));
  engine::SessionGroupOptions go =
      GroupOptions(opts, opts.interval, opts.timeout, opts.duration > 0 ? 0 : opts.count, false,
                   source ? &*source : nullptr, hmac.get());
  // The duration timer ends the sending; the sessions also bound their own schedules by
  // it, so a loop that wakes late and catches up cannot overshoot.
  go.session.duration = opts.duration;
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, uring::EventLoop::Create(
                                          engine::ClientLoopOptions(go.sessions * specs.size(),
                                                                    opts.size),
                                          SystemClock::Get()));
  engine::LoopTransport transport(*loop);
  std::unique_ptr<report::RunReporter> reporter =
      opts.json ? report::MakeJsonReporter(out, err)
                : report::MakePingTextReporter({opts.quiet, opts.unix_times, opts.tos >= 0}, out,
                                               err);
  Pinger pinger(opts, *loop, *reporter, out);
  engine::TargetSet targets(transport, pinger, go, std::nullopt);
  UDPBEAT_RETURN_IF_ERROR(targets.Create(specs));
  loop->SetSignalHandler(&pinger);
  const measure::RunInfo info = MakeRunInfo(opts, "ping", opts.interval, opts.timeout,
                                            loop->clock().NowWall(), targets.kernel_timestamps());
  reporter->Start(info, TargetInfos(specs));
  pinger.Start(targets, info);
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  pinger.ClearProgress();
  targets.Finish();
  const measure::RunResult result = pinger.Result(true);
  reporter->Summary(result);
  if (!opts.json && !result.sessions.empty()) report::WriteSessionReport(result, out);
  const measure::TargetInfo& first = result.targets[0].info;
  if (!opts.plot_file.empty()) {
    UDPBEAT_RETURN_IF_ERROR(pinger.WritePlot(
        absl::StrFormat("udpbeat ping %s (%s)", first.name, ProbeProtoName(opts.proto)), result));
  }
  if (!opts.metrics_file.empty())
    UDPBEAT_RETURN_IF_ERROR(WriteOutputFile(opts.metrics_file, report::ClientMetrics(result)));
  bool every_target_answered = true;
  for (size_t i = 0; i < result.targets.size(); ++i) {
    const measure::Figures& f = result.targets[i].figures;
    every_target_answered &= f.received > 0;
    if (f.received == 0 && f.unreachable > 0) {
      err << "udpbeat: " << result.targets[i].info.name << ": port unreachable: nothing is listening"
          << (opts.proto == ProbeProto::kStamp && specs[i].peer.port() == stamp::kDefaultPort
                  ? " (STAMP's port is 862; udpbeat serve listens on 12000 unless told otherwise)"
                  : "")
          << std::endl;
    } else if (f.received == 0 && f.send_errors > 0 && f.sent == 0) {
      // Nothing ever left this host: say so, or an exit status of 1 reads as a dead peer.
      err << "udpbeat: " << result.targets[i].info.name << ": every send failed ("
          << f.send_errors << (f.send_errors == 1 ? " probe" : " probes")
          << "): nothing left this host"
          << std::endl;
    }
  }
  return every_target_answered ? kExitOk : kExitBadOutcome;
}

}  // namespace udpbeat
