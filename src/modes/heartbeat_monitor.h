// HeartbeatMonitor: what `udpbeat heartbeat` does while its loop runs. It hears every
// target's replies, timeouts and state changes (and passes them to the reporter and the
// plot), answers signals (SIGQUIT: an interim line; SIGHUP: the targets file again;
// SIGINT/SIGTERM: stop), and has the metrics file and the /metrics snapshot kept up to
// date (MetricsPublisher). Private to the modes library.
#ifndef UDPBEAT_SRC_MODES_HEARTBEAT_MONITOR_H_
#define UDPBEAT_SRC_MODES_HEARTBEAT_MONITOR_H_

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "client_setup.h"
#include "metrics_publisher.h"
#include "plot_feed.h"
#include "target_file_reader.h"
#include "udpbeat/engine/target_set.h"
#include "udpbeat/modes/heartbeat.h"
#include "udpbeat/report/reporter.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

class HeartbeatMonitor final : public engine::TargetObserver, public uring::SignalHandler {
 public:
  // `out`: where the reporter writes its lines (a stdout that fails ends the run).
  HeartbeatMonitor(const HeartbeatOptions& opts, uring::EventLoop& loop,
                   report::RunReporter& reporter, std::ostream& out);

  // Targets of the targets file left out, their names not resolving: the start's count
  // (set before Start), then that of the last reload applied.
  void SetUnresolved(size_t n) { unresolved_ = n; }
  size_t unresolved() const { return unresolved_; }
  // Starts the targets, the timers and (with a snapshot) the publishing.
  void Start(engine::TargetSet& targets, measure::RunInfo info, MetricsSnapshot* snapshot);
  // After the loop: settles the targets and writes the metrics file a last time.
  absl::Status Finish();
  measure::RunResult Result(measure::Detail detail) const;
  absl::Status WritePlot(const std::string& title, Nanos timeout, const measure::RunResult& result);

  void OnReply(engine::Target& t, engine::ProbeSession& s, const measure::ReplyEvent& r) override;
  void OnTimeout(engine::Target& t, engine::ProbeSession& s,
                 const measure::TimeoutEvent& e) override;
  void OnTransition(engine::Target& t, const detect::Transition& tr) override;
  void OnSessionTransition(engine::Target& t, size_t session,
                           const detect::Transition& tr) override;
  void OnDone(engine::Target&) override;
  void OnSignal(int signo) noexcept override;

 private:
  bool single() const { return targets_->SessionCount() == targets_->size(); }

  // A stdout that fails (a full disk, a closed pipe) ends the run: the command line
  // reports it.
  template <typename F>
  void Print(F&& f) {
    f();
    if (!out_.good()) Stop();
  }

  void Reload();
  void OnReloadTimer();
  void OnPhiTimer();
  void Stop();

  const HeartbeatOptions& opts_;
  uring::EventLoop& loop_;
  const Clock& clock_;
  report::RunReporter& reporter_;
  std::ostream& out_;
  engine::TargetSet* targets_ = nullptr;
  size_t done_reports_ = 0;  // OnDone calls so far
  measure::RunInfo info_;
  std::optional<PlotFeed> plot_;
  MonoTime start_;
  MetricsPublisher metrics_;
  Timer phi_timer_;
  TargetFileReader reader_;
  Timer reload_timer_;
  bool read_again_ = false;  // a SIGHUP came during a read
  size_t unresolved_ = 0;
  measure::ReloadStatus reload_;
};

}  // namespace udpbeat

#endif  // UDPBEAT_SRC_MODES_HEARTBEAT_MONITOR_H_
