// What a heartbeat run publishes while it runs: the metrics file, rewritten every
// metrics_period, and the snapshot a /metrics scrape renders, published every second and
// soon after a state change. Both are the run's counters-only result, asked for each
// time. Private to the modes library.
#ifndef UDPBEAT_SRC_MODES_METRICS_PUBLISHER_H_
#define UDPBEAT_SRC_MODES_METRICS_PUBLISHER_H_

#include "absl/functional/any_invocable.h"
#include "client_setup.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/modes/heartbeat.h"
#include "udpbeat/report/reporter.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

class MetricsPublisher {
 public:
  // `result`: the run's result now, at measure::Detail::kCounters.
  MetricsPublisher(const HeartbeatOptions& opts, uring::EventLoop& loop,
                   report::RunReporter& reporter, absl::AnyInvocable<measure::RunResult()> result);

  // Writes and publishes the first time, then on their timers; `snapshot` may be null
  // (no /metrics endpoint).
  void Start(MetricsSnapshot* snapshot);
  // A verdict changed: scrapes see it soon, not a period later.
  void Soon();
  // The targets changed (a reload): the snapshot says so now.
  void Now();
  // After the loop: the metrics file a last time. Its failure is the run's (exit 2, as
  // ping's), returned marked as told.
  absl::Status Finish();

 private:
  void OnMetricsTimer();
  void OnSnapshotTimer();
  absl::Status WriteFile();

  const HeartbeatOptions& opts_;
  uring::EventLoop& loop_;
  report::RunReporter& reporter_;
  absl::AnyInvocable<measure::RunResult()> result_;
  MetricsSnapshot* snapshot_ = nullptr;
  Timer metrics_timer_;
  Timer snapshot_timer_;
  MonoTime published_;  // when the snapshot was last published
};

}  // namespace udpbeat

#endif  // UDPBEAT_SRC_MODES_METRICS_PUBLISHER_H_
