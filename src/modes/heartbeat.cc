#include "udpbeat/modes/heartbeat.h"

#include <signal.h>

#include <optional>
#include <ostream>

#include "absl/strings/str_format.h"
#include "client_setup.h"
#include "plot_feed.h"
#include "target_file_reader.h"
#include "udpbeat/base/output_file.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/loop_transport.h"
#include "udpbeat/report/json_reporter.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/report/text_reporters.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

// How often the loop publishes the snapshot a /metrics scrape renders, and how soon after
// a state change at the latest (changes close together share one snapshot: a fleet whose
// targets all go down at once costs ten snapshots a second, not one per target).
constexpr Nanos kSnapshotPeriod = kNanosPerSecond;
constexpr Nanos kSnapshotAfterChange = 100 * kNanosPerMilli;
// How often the loop looks whether a SIGHUP's read of the targets file is done.
constexpr Nanos kReloadPoll = 10 * kNanosPerMilli;

class HeartbeatMonitor final : public engine::TargetObserver, public uring::SignalHandler {
 public:
  HeartbeatMonitor(const HeartbeatOptions& opts, uring::EventLoop& loop,
                   report::RunReporter& reporter, std::ostream& out, std::ostream& err)
      : opts_(opts),
        loop_(loop),
        clock_(loop.clock()),
        reporter_(reporter),
        out_(out),
        err_(err),
        metrics_timer_(loop.timers(), [this] { OnMetricsTimer(); }),
        snapshot_timer_(loop.timers(), [this] { OnSnapshotTimer(); }),
        phi_timer_(loop.timers(), [this] { OnPhiTimer(); }),
        reload_timer_(loop.timers(), [this] { OnReloadTimer(); }) {}

  void Start(engine::TargetSet& targets, measure::RunInfo info, MetricsSnapshot* snapshot) {
    targets_ = &targets;
    info_ = std::move(info);
    snapshot_ = snapshot;
    start_ = clock_.Now();
    if (!opts_.plot_file.empty()) plot_.emplace(info_.start);
    if (!opts_.metrics_file.empty()) OnMetricsTimer();
    if (snapshot_ != nullptr) OnSnapshotTimer();
    if (opts_.phi) phi_timer_.ArmAt(clock_.Now() + opts_.interval);
    targets.Start();
  }

  void OnReply(engine::Target& t, engine::ProbeSession& s, const measure::ReplyEvent& r) override {
    if (plot_) plot_->Reply(s, r);
    if (single()) Print([&] { reporter_.Reply(t.info(), r); });
  }

  void OnTimeout(engine::Target& t, engine::ProbeSession& s, const measure::TimeoutEvent& e) override {
    if (plot_) plot_->Timeout(s, e);
    if (single()) Print([&] { reporter_.Timeout(t.info(), e); });
  }

  void OnTransition(engine::Target& t, const detect::Transition& tr) override {
    Print([&] { reporter_.Transition(t.info(), tr, clock_.NowWall()); });
    if (snapshot_ != nullptr) PublishSoon();
    if (plot_) plot_->Transition(tr, clock_.NowWall());
    if (tr.to == detect::State::kDown && opts_.exit_on_down) Stop();
  }

  void OnDone(engine::Target&) override {
    // Every target reports once (a reload may remove reported ones: then the walk
    // decides): only then is AllDone's walk over 10,000 targets worth it.
    if (++done_reports_ >= targets_->size() && targets_->AllDone()) Stop();
  }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      Print([&] { reporter_.Interim(Result(measure::Detail::kFull)); });
    } else if (signo == SIGHUP) {
      Reload();
    } else {
      Stop();
    }
  }

  void Finish() {
    targets_->Finish();
    if (!opts_.metrics_file.empty()) WriteMetrics();
  }

  measure::RunResult Result(measure::Detail detail) const {
    return targets_->Result(info_, detail, clock_.Now() - start_, false, opts_.src_ports > 0,
                            detail == measure::Detail::kFull);
  }

  absl::Status WritePlot(const std::string& title, Nanos timeout,
                         const measure::RunResult& result) {
    return plot_->Write(opts_.plot_file, title, clock_.NowWall(), timeout, true, result);
  }

 private:
  bool single() const { return targets_->SessionCount() == targets_->size(); }

  // A stdout that fails (a full disk, a closed pipe) ends the run: the command line
  // reports it.
  template <typename F>
  void Print(F&& f) {
    f();
    if (!out_.good()) Stop();
  }

  // SIGHUP: the targets file again, read and resolved on a thread of its own (a slow
  // resolver must not stall the probing); the loop applies it when it is ready. New
  // targets start, removed ones stop, unchanged ones keep their statistics and detector
  // state. A file that does not load leaves the targets as they were. A SIGHUP during a
  // read asks for one more read after it (the file may have changed since it was opened).
  void Reload() {
    if (opts_.targets_file.empty()) {
      err_ << "udpbeat: SIGHUP: no targets file to read again" << std::endl;
      return;
    }
    if (!reader_.Start(opts_)) {
      read_again_ = true;
      return;
    }
    reload_timer_.ArmAt(clock_.Now() + kReloadPoll);
  }

  void OnReloadTimer() {
    std::optional<TargetFileReader::Result> specs = reader_.Take();
    if (!specs) {
      reload_timer_.ArmAt(clock_.Now() + kReloadPoll);
      return;
    }
    const size_t before = targets_->size();
    absl::Status st = specs->ok() ? targets_->Reload(**specs).status() : specs->status();
    if (!st.ok()) {
      err_ << "udpbeat: reload: " << st.message() << " (targets unchanged)" << std::endl;
    } else if (!opts_.quiet) {
      std::vector<measure::TargetInfo> now;
      for (size_t i = 0; i < targets_->size(); ++i) now.push_back(targets_->at(i).info());
      Print([&] { reporter_.Reloaded(opts_.targets_file, now, before, clock_.NowWall()); });
    }
    if (snapshot_ != nullptr) snapshot_->Publish(Result(measure::Detail::kCounters));
    if (read_again_) {
      read_again_ = false;
      Reload();
    }
  }

  void OnMetricsTimer() {
    if (loop_.stopping()) return;
    WriteMetrics();
    metrics_timer_.ArmAt(clock_.Now() + opts_.metrics_period);
  }

  void OnSnapshotTimer() {
    if (loop_.stopping()) return;
    snapshot_->Publish(Result(measure::Detail::kCounters));
    published_ = clock_.Now();
    snapshot_timer_.ArmAt(published_ + kSnapshotPeriod);
  }

  // A verdict changed: scrapes see it within kSnapshotAfterChange, not a period later.
  void PublishSoon() {
    const MonoTime at = std::max(clock_.Now(), published_ + kSnapshotAfterChange);
    if (!snapshot_timer_.armed() || at < snapshot_timer_.deadline()) snapshot_timer_.ArmAt(at);
  }

  // Phi grows continuously between heartbeats: look at it a few times per interval.
  void OnPhiTimer() {
    if (loop_.stopping()) return;
    targets_->Tick();
    phi_timer_.ArmAt(clock_.Now() + opts_.interval / 4);
  }

  void WriteMetrics() {
    const std::string text = report::ClientMetrics(Result(measure::Detail::kCounters));
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
  std::ostream& out_;
  std::ostream& err_;
  engine::TargetSet* targets_ = nullptr;
  size_t done_reports_ = 0;  // OnDone calls so far
  MetricsSnapshot* snapshot_ = nullptr;
  measure::RunInfo info_;
  std::optional<PlotFeed> plot_;
  MonoTime start_;
  Timer metrics_timer_;
  Timer snapshot_timer_;
  TargetFileReader reader_;
  bool read_again_ = false;
  MonoTime published_;  // when the snapshot was last published
  Timer phi_timer_;
  Timer reload_timer_;
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
  UDPBEAT_ASSIGN_OR_RETURN(std::optional<SocketAddress> source, SourceAddress(opts));
  UDPBEAT_ASSIGN_OR_RETURN(std::unique_ptr<stamp::HmacSha256> hmac, LoadHmac(opts.auth_key_file));
  UDPBEAT_ASSIGN_OR_RETURN(std::vector<engine::TargetSpec> specs, ResolveTargets(opts, opts.targets));
  UDPBEAT_ASSIGN_OR_RETURN(engine::DetectorConfig detectors, Detectors(opts));
  const Nanos timeout = opts.timeout ? *opts.timeout : opts.interval;
  // A fixed schedule whatever the replies do.
  const engine::SessionGroupOptions go =
      GroupOptions(opts, opts.interval, timeout, opts.count, true, source ? &*source : nullptr,
                   hmac.get());
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, uring::EventLoop::Create(
                                          engine::ClientLoopOptions(go.sessions * specs.size(),
                                                                    opts.size),
                                          SystemClock::Get()));
  engine::LoopTransport transport(*loop);
  std::unique_ptr<report::RunReporter> reporter =
      opts.json ? report::MakeJsonReporter(out, err)
                : report::MakeHeartbeatTextReporter({opts.quiet, opts.unix_times, opts.tos >= 0},
                                                    out, err);
  HeartbeatMonitor monitor(opts, *loop, *reporter, out, err);
  engine::TargetSet targets(transport, monitor, go, detectors);
  UDPBEAT_RETURN_IF_ERROR(targets.Create(specs));
  // The endpoint's thread renders what the loop publishes; it never calls into the loop.
  MetricsSnapshot snapshot;
  std::unique_ptr<http::MetricsEndpoint> endpoint;
  if (!opts.metrics_listen.empty()) {
    UDPBEAT_ASSIGN_OR_RETURN(endpoint, StartMetricsEndpoint(opts.metrics_listen, snapshot));
  }
  loop->SetSignalHandler(&monitor);
  const measure::RunInfo info = MakeRunInfo(opts, "heartbeat", opts.interval, timeout,
                                            loop->clock().NowWall(), targets.kernel_timestamps());
  reporter->Start(info, TargetInfos(specs));
  monitor.Start(targets, info, endpoint != nullptr ? &snapshot : nullptr);
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  monitor.Finish();
  const measure::RunResult result = monitor.Result(measure::Detail::kFull);
  reporter->Summary(result);
  if (!opts.plot_file.empty()) {
    UDPBEAT_RETURN_IF_ERROR(monitor.WritePlot(
        absl::StrFormat("udpbeat heartbeat %s (%s)", specs[0].info.name,
                        ProbeProtoName(opts.proto)),
        timeout, result));
  }
  return targets.AnyDown() ? kExitBadOutcome : kExitOk;
}

}  // namespace udpbeat
