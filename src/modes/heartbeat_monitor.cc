#include "heartbeat_monitor.h"

#include <signal.h>

#include <utility>
#include <vector>

namespace udpbeat {
namespace {

// How often the loop looks whether a SIGHUP's read of the targets file is done.
constexpr Nanos kReloadPoll = 10 * kNanosPerMilli;

}  // namespace

HeartbeatMonitor::HeartbeatMonitor(const HeartbeatOptions& opts, uring::EventLoop& loop,
                                   report::RunReporter& reporter, std::ostream& out)
    : opts_(opts),
      loop_(loop),
      clock_(loop.clock()),
      reporter_(reporter),
      out_(out),
      metrics_(opts, loop, reporter, [this] { return Result(measure::Detail::kCounters); }),
      phi_timer_(loop.timers(), [this] { OnPhiTimer(); }),
      reload_timer_(loop.timers(), [this] { OnReloadTimer(); }) {}

void HeartbeatMonitor::Start(engine::TargetSet& targets, measure::RunInfo info,
                             MetricsSnapshot* snapshot) {
  targets_ = &targets;
  info_ = std::move(info);
  start_ = clock_.Now();
  reload_.last_success = info_.start;  // the read at start counts, as Prometheus' does
  if (!opts_.plot_file.empty()) plot_.emplace(info_.start);
  metrics_.Start(snapshot);
  if (opts_.phi) phi_timer_.ArmAt(clock_.Now() + opts_.interval);
  targets.Start();
}

void HeartbeatMonitor::OnReply(engine::Target& t, engine::ProbeSession& s,
                               const measure::ReplyEvent& r) {
  if (plot_) plot_->Reply(s, r);
  if (single()) Print([&] { reporter_.Reply(t.info(), r); });
}

void HeartbeatMonitor::OnTimeout(engine::Target& t, engine::ProbeSession& s,
                                 const measure::TimeoutEvent& e) {
  if (plot_) plot_->Timeout(s, e);
  if (single()) Print([&] { reporter_.Timeout(t.info(), e); });
}

void HeartbeatMonitor::OnTransition(engine::Target& t, const detect::Transition& tr) {
  Print([&] { reporter_.Transition(t.info(), tr, clock_.NowWall()); });
  metrics_.Soon();
  if (plot_) plot_->Transition(tr, clock_.NowWall());
  if (tr.to == detect::State::kDown && opts_.exit_on_down) Stop();
}

void HeartbeatMonitor::OnSessionTransition(engine::Target& t, size_t session,
                                           const detect::Transition& tr) {
  const measure::SessionRef ref{static_cast<uint32_t>(session), t.group().local_port(session),
                                opts_.src_ports > 0};
  Print([&] { reporter_.SessionTransition(t.info(), ref, tr, clock_.NowWall()); });
}

void HeartbeatMonitor::OnDone(engine::Target&) {
  // Every target reports once (a reload may remove reported ones: then the walk
  // decides): only then is AllDone's walk over 10,000 targets worth it.
  if (++done_reports_ >= targets_->size() && targets_->AllDone()) Stop();
}

void HeartbeatMonitor::OnSignal(int signo) noexcept {
  if (signo == SIGQUIT) {
    Print([&] { reporter_.Interim(Result(measure::Detail::kFull)); });
  } else if (signo == SIGHUP) {
    Reload();
  } else {
    Stop();
  }
}

absl::Status HeartbeatMonitor::Finish() {
  targets_->Finish();
  return metrics_.Finish();
}

measure::RunResult HeartbeatMonitor::Result(measure::Detail detail) const {
  const bool total = detail != measure::Detail::kCounters;
  measure::RunResult r = targets_->Result(info_, detail, clock_.Now() - start_, false,
                                          opts_.src_ports > 0, total);
  if (!opts_.targets_file.empty()) {
    r.targets_unresolved = unresolved_;
    r.reload = reload_;
  }
  return r;
}

absl::Status HeartbeatMonitor::WritePlot(const std::string& title, Nanos timeout,
                                         const measure::RunResult& result) {
  return plot_->Write(opts_.plot_file, title, clock_.NowWall(), timeout, true, result);
}

// SIGHUP: the targets file again, read and resolved on a thread of its own (a slow
// resolver must not stall the probing); the loop applies it when it is ready. New
// targets start, removed ones stop, unchanged ones keep their statistics and detector
// state. A file that does not load leaves the targets as they were. A SIGHUP during a
// read asks for one more read after it (the file may have changed since it was opened).
void HeartbeatMonitor::Reload() {
  if (opts_.targets_file.empty()) {
    reporter_.NothingToReload();
    return;
  }
  absl::StatusOr<bool> started = reader_.Start(opts_);
  if (!started.ok()) {
    reporter_.ReloadRefused(started.status());
  } else if (!*started) {
    read_again_ = true;
  } else {
    reload_timer_.ArmAt(clock_.Now() + kReloadPoll);
  }
}

void HeartbeatMonitor::OnReloadTimer() {
  std::optional<TargetFileReader::Result> specs = reader_.Take();
  if (!specs) {
    reload_timer_.ArmAt(clock_.Now() + kReloadPoll);
    return;
  }
  const size_t before = targets_->size();
  absl::Status st = specs->status();
  if (specs->ok()) {
    for (const measure::UnresolvedTarget& u : (*specs)->unresolved)
      Print([&] { reporter_.ReloadUnresolved(u, clock_.NowWall()); });
    st = (*specs)->specs.empty() ? NoTargetResolves(opts_, (*specs)->unresolved.size())
                                 : targets_->Reload((*specs)->specs).status();
  }
  if (!st.ok()) {
    reporter_.ReloadRefused(st);
    reload_.last_ok = false;
    ++reload_.failures;
  } else {
    unresolved_ = (*specs)->unresolved.size();
    if (plot_) plot_->Watching(static_cast<int>(targets_->DownCount()), clock_.NowWall());
    reload_.last_ok = true;
    reload_.last_success = clock_.NowWall();
    std::vector<measure::TargetInfo> now;
    for (size_t i = 0; i < targets_->size(); ++i) now.push_back(targets_->at(i).info());
    Print([&] {
      reporter_.Reloaded(opts_.targets_file, now, before, unresolved_, clock_.NowWall());
    });
  }
  metrics_.Now();
  if (read_again_) {
    read_again_ = false;
    Reload();
  }
}

// Phi grows continuously between heartbeats: look at it a few times per interval.
void HeartbeatMonitor::OnPhiTimer() {
  if (loop_.stopping()) return;
  targets_->Tick();
  phi_timer_.ArmAt(clock_.Now() + opts_.interval / 4);
}

void HeartbeatMonitor::Stop() {
  targets_->StopSending();
  loop_.Stop();
}

}  // namespace udpbeat
