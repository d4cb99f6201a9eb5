#include "udpbeat/modes/heartbeat.h"

#include <signal.h>

#include <ostream>

#include "absl/strings/str_format.h"
#include "client_setup.h"
#include "plot_feed.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/loop_transport.h"
#include "udpbeat/report/json_reporter.h"
#include "udpbeat/base/output_file.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/report/svg_plot.h"
#include "udpbeat/report/text_reporters.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

class HeartbeatMonitor final : public engine::TargetObserver, public uring::SignalHandler {
 public:
  HeartbeatMonitor(const HeartbeatOptions& opts, uring::EventLoop& loop,
                   report::RunReporter& reporter, std::ostream& err)
      : opts_(opts),
        loop_(loop),
        clock_(loop.clock()),
        reporter_(reporter),
        err_(err),
        metrics_timer_(loop.timers(), [this] { OnMetricsTimer(); }),
        phi_timer_(loop.timers(), [this] { OnPhiTimer(); }) {}

  void Start(engine::TargetSet& targets, measure::RunInfo info) {
    targets_ = &targets;
    info_ = std::move(info);
    start_ = clock_.Now();
    if (!opts_.plot_file.empty()) plot_.emplace(info_.start);
    if (!opts_.metrics_file.empty()) {
      WriteMetrics();
      metrics_timer_.ArmAt(clock_.Now() + opts_.metrics_period);
    }
    if (opts_.phi) phi_timer_.ArmAt(clock_.Now() + opts_.interval);
    targets.Start();
  }

  void OnReply(engine::Target& t, engine::ProbeSession& s, const measure::ReplyEvent& r) override {
    if (plot_) plot_->Reply(s, r);
    if (single()) reporter_.Reply(t.info(), r);
  }

  void OnTimeout(engine::Target& t, engine::ProbeSession& s, const measure::TimeoutEvent& e) override {
    if (plot_) plot_->Timeout(s, e);
    if (single()) reporter_.Timeout(t.info(), e);
  }

  void OnTransition(engine::Target& t, const detect::Transition& tr) override {
    reporter_.Transition(t.info(), tr, clock_.NowWall());
    if (plot_) plot_->Transition(tr, clock_.NowWall());
    if (tr.to == detect::State::kDown && opts_.exit_on_down) Stop();
  }

  void OnDone(engine::Target&) override {
    if (targets_->AllDone()) Stop();
  }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      reporter_.Interim(Result());
    } else if (signo != SIGHUP) {
      Stop();
    }
  }

  void Finish() {
    targets_->Finish();
    if (!opts_.metrics_file.empty()) WriteMetrics();
  }

  measure::RunResult Result() const {
    return targets_->Result(info_, measure::Detail::kFull, clock_.Now() - start_, false, false,
                            true);
  }

  absl::Status WritePlot(const std::string& title, Nanos timeout) {
    stats::LogHistogram h;
    for (size_t i = 0; i < targets_->size(); ++i) {
      const engine::SessionGroup& g = targets_->at(i).group();
      for (size_t k = 0; k < g.size(); ++k) h.Merge(g.session(k).stats().rtt().histogram());
    }
    return plot_->Write(opts_.plot_file, title, clock_.NowWall(), timeout, true, h);
  }

 private:
  bool single() const { return targets_->SessionCount() == targets_->size(); }

  void OnMetricsTimer() {
    if (loop_.stopping()) return;
    WriteMetrics();
    metrics_timer_.ArmAt(clock_.Now() + opts_.metrics_period);
  }

  // Phi grows continuously between heartbeats: look at it a few times per interval.
  void OnPhiTimer() {
    if (loop_.stopping()) return;
    targets_->Tick();
    phi_timer_.ArmAt(clock_.Now() + opts_.interval / 4);
  }

  void WriteMetrics() {
    const std::string text = report::HeartbeatMetrics(Result());
    if (auto st = WriteOutputFile(opts_.metrics_file, text); !st.ok() && !metrics_warned_) {
      err_ << "udpbeat: " << st.message() << std::endl;
      metrics_warned_ = true;
    }
  }

  void Stop() {
    targets_->StopSending();
    loop_.Stop();
  }

  const HeartbeatOptions& opts_;
  uring::EventLoop& loop_;
  const Clock& clock_;
  report::RunReporter& reporter_;
  std::ostream& err_;
  engine::TargetSet* targets_ = nullptr;
  measure::RunInfo info_;
  std::optional<PlotFeed> plot_;
  MonoTime start_;
  Timer metrics_timer_;
  Timer phi_timer_;
  bool metrics_warned_ = false;
};

absl::StatusOr<engine::DetectorConfig> Detectors(const HeartbeatOptions& opts) {
  engine::DetectorConfig d;
  d.misses = opts.misses;
  if (!opts.phi) return d;
  detect::PhiAccrualOptions po;
  po.threshold = *opts.phi;
  // Akka's defaults are for 1 s heartbeats; they scale with the interval so that a
  // 20 ms heartbeat is judged on its own time scale (first estimate = the interval).
  po.acceptable_heartbeat_pause = opts.phi_pause ? *opts.phi_pause : 3 * opts.interval;
  po.min_std_deviation = std::max<Nanos>(opts.interval / 10, 1);
  po.first_heartbeat_estimate = opts.interval;
  UDPBEAT_ASSIGN_OR_RETURN(d.phi, detect::PhiAccrualDetector::Create(po));
  return d;
}

}  // namespace

absl::StatusOr<ExitCode> RunHeartbeat(const HeartbeatOptions& opts, std::ostream& out,
                                      std::ostream& err) {
  UDPBEAT_ASSIGN_OR_RETURN(std::vector<engine::TargetSpec> specs, ResolveTargets(opts));
  UDPBEAT_ASSIGN_OR_RETURN(engine::DetectorConfig detectors, Detectors(opts));
  const uint64_t sessions = std::max<uint32_t>(opts.sessions, 1) * specs.size();
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, uring::EventLoop::Create(
                                          engine::ClientLoopOptions(sessions, opts.size),
                                          SystemClock::Get()));
  engine::LoopTransport transport(*loop);
  std::unique_ptr<report::RunReporter> reporter =
      opts.json ? report::MakeJsonReporter(out, err)
                : report::MakeHeartbeatTextReporter({opts.quiet}, out, err);
  HeartbeatMonitor monitor(opts, *loop, *reporter, err);
  const Nanos timeout = opts.timeout ? *opts.timeout : opts.interval;
  // A fixed schedule whatever the replies do.
  engine::TargetSet targets(transport, monitor,
                            GroupOptions(opts, opts.interval, timeout, opts.count, true),
                            detectors);
  UDPBEAT_RETURN_IF_ERROR(targets.Create(specs));
  loop->SetSignalHandler(&monitor);
  monitor.Start(targets,
                MakeRunInfo(opts, "heartbeat", opts.interval, timeout, loop->clock().NowWall()));
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  monitor.Finish();
  reporter->Summary(monitor.Result());
  if (!opts.plot_file.empty()) {
    UDPBEAT_RETURN_IF_ERROR(monitor.WritePlot(
        absl::StrFormat("udpbeat heartbeat %s (%s)", specs[0].info.address,
                        ProbeProtoName(opts.proto)),
        timeout));
  }
  return targets.AnyDown() ? kExitBadOutcome : kExitOk;
}

}  // namespace udpbeat
