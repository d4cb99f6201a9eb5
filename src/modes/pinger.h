// Pinger: what `udpbeat ping` does while its loop runs. It hears every target's replies
// and timeouts (and passes them to the reporter, the plot and the progress line), ends
// the sending at --duration, lingers for late replies once every probe settled, and
// answers signals (SIGQUIT: an interim line; SIGINT/SIGTERM: stop). Private to the modes
// library.
#ifndef UDPBEAT_SRC_MODES_PINGER_H_
#define UDPBEAT_SRC_MODES_PINGER_H_

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "plot_feed.h"
#include "udpbeat/engine/target_set.h"
#include "udpbeat/measure/live_figures.h"
#include "udpbeat/modes/ping.h"
#include "udpbeat/report/progress_line.h"
#include "udpbeat/report/reporter.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

class Pinger final : public engine::TargetObserver, public uring::SignalHandler {
 public:
  Pinger(const PingOptions& opts, uring::EventLoop& loop, report::RunReporter& reporter,
         std::ostream& out);

  void Start(engine::TargetSet& targets, measure::RunInfo info);
  // `final`: the run is over (per-session results are added for load tests).
  measure::RunResult Result(bool final) const;
  absl::Status WritePlot(const std::string& title, const measure::RunResult& result);
  void ClearProgress() { progress_.Clear(out_); }

  // Per-probe output only when each target has one session to follow.
  void OnReply(engine::Target& t, engine::ProbeSession& s, const measure::ReplyEvent& r) override;
  void OnFollowUp(engine::Target& t, engine::ProbeSession& s,
                  const measure::FollowUpEvent& e) override;
  void OnTimeout(engine::Target& t, engine::ProbeSession& s,
                 const measure::TimeoutEvent& e) override;
  void OnDone(engine::Target&) override;
  void OnSignal(int signo) noexcept override;

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

  bool AllLateRepliesIn() const;
  void StopSending();
  void Stop();
  void Progress();

  const PingOptions& opts_;
  uring::EventLoop& loop_;
  const Clock& clock_;
  engine::TargetSet* targets_ = nullptr;
  size_t done_reports_ = 0;  // OnDone calls so far
  report::RunReporter& reporter_;
  std::ostream& out_;
  measure::RunInfo info_;
  std::optional<PlotFeed> plot_;
  measure::LiveMeter live_;
  report::ProgressLine progress_;
  MonoTime start_;
  Timer linger_timer_;
  Timer duration_timer_;
  Timer progress_timer_;
};

}  // namespace udpbeat

#endif  // UDPBEAT_SRC_MODES_PINGER_H_
