#include "pinger.h"

#include <signal.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace udpbeat {
namespace {

// After the last probe settled with some timed out, wait for their late replies (so a
// late reply is reported late, not lost) for the timeout or twice the slowest RTT seen,
// as ping(8) waits two RTTs, but never longer than this; stop early once all came.
constexpr Nanos kMaxLinger = 10 * kNanosPerSecond;
constexpr Nanos kProgressPeriod = kNanosPerSecond;

}  // namespace

Pinger::Pinger(const PingOptions& opts, uring::EventLoop& loop, report::RunReporter& reporter,
               std::ostream& out)
    : opts_(opts),
      loop_(loop),
      clock_(loop.clock()),
      reporter_(reporter),
      out_(out),
      linger_timer_(loop.timers(), [this] { Stop(); }),
      duration_timer_(loop.timers(), [this] { StopSending(); }),
      progress_timer_(loop.timers(), [this] { Progress(); }) {}

void Pinger::Start(engine::TargetSet& targets, measure::RunInfo info) {
  targets_ = &targets;
  info_ = std::move(info);
  start_ = clock_.Now();
  if (!opts_.plot_file.empty()) plot_.emplace(info_.start);
  if (opts_.duration > 0) duration_timer_.ArmAt(start_ + opts_.duration);
  if (opts_.progress) progress_timer_.ArmAt(start_ + kProgressPeriod);
  targets_->Start();
}

void Pinger::OnReply(engine::Target& t, engine::ProbeSession& s, const measure::ReplyEvent& r) {
  if (plot_) plot_->Reply(s, r);
  if (single()) Print([&] { reporter_.Reply(t.info(), r); });
  if (linger_timer_.armed() && r.kind == stats::ReplyClass::kLate && AllLateRepliesIn()) Stop();
}

void Pinger::OnFollowUp(engine::Target& t, engine::ProbeSession&, const measure::FollowUpEvent& e) {
  if (single()) Print([&] { reporter_.FollowUp(t.info(), e); });
}

void Pinger::OnTimeout(engine::Target& t, engine::ProbeSession& s, const measure::TimeoutEvent& e) {
  if (plot_) plot_->Timeout(s, e);
  if (single()) Print([&] { reporter_.Timeout(t.info(), e); });
}

void Pinger::OnDone(engine::Target&) {
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

void Pinger::OnSignal(int signo) noexcept {
  if (signo == SIGQUIT) {
    Print([&] { reporter_.Interim(Result(false)); });
  } else if (signo != SIGHUP) {
    Stop();
  }
}

measure::RunResult Pinger::Result(bool final) const {
  // The plot draws the RTT distribution of the final result.
  const measure::Detail detail =
      final && plot_ ? measure::Detail::kPlot : measure::Detail::kFull;
  return targets_->Result(
      info_, detail, clock_.Now() - start_,
      final && targets_->SessionCount() > targets_->size() && opts_.src_ports == 0,
      opts_.src_ports > 0, true);
}

absl::Status Pinger::WritePlot(const std::string& title, const measure::RunResult& result) {
  return plot_->Write(opts_.plot_file, title, clock_.NowWall(), opts_.timeout, false, result);
}

bool Pinger::AllLateRepliesIn() const {
  bool in = true;
  ForEachSession(
      [&](const engine::ProbeSession& s) { in &= s.stats().timed_out() <= s.stats().late(); });
  return in;
}

// The run's length is reached: no new probes; what is in flight settles (or times out).
void Pinger::StopSending() {
  bool any_pending = false;
  ForEachSession([&](const engine::ProbeSession& s) { any_pending |= s.stats().awaiting() > 0; });
  linger_timer_.ArmAt(clock_.Now() + (any_pending ? opts_.timeout : 0));
  targets_->StopSending();
}

void Pinger::Stop() {
  targets_->Finish();
  loop_.Stop();
}

void Pinger::Progress() {
  if (loop_.stopping()) return;
  std::vector<const measure::Measurements*> sessions;
  sessions.reserve(targets_->SessionCount());
  ForEachSession([&](const engine::ProbeSession& s) { sessions.push_back(&s.measurements()); });
  progress_.Show(out_, live_.Take(sessions, clock_.Now() - start_));
  progress_timer_.ArmAt(clock_.Now() + kProgressPeriod);
}

}  // namespace udpbeat
