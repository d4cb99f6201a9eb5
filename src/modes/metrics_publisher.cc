#include "metrics_publisher.h"

#include <algorithm>
#include <string>
#include <utility>

#include "udpbeat/base/output_file.h"
#include "udpbeat/report/prometheus_text.h"

namespace udpbeat {
namespace {

// How often the loop publishes the snapshot a /metrics scrape renders, and how soon after
// a state change at the latest (changes close together share one snapshot: a fleet whose
// targets all go down at once costs ten snapshots a second, not one per target).
constexpr Nanos kSnapshotPeriod = kNanosPerSecond;
constexpr Nanos kSnapshotAfterChange = 100 * kNanosPerMilli;

}  // namespace

MetricsPublisher::MetricsPublisher(const HeartbeatOptions& opts, uring::EventLoop& loop,
                                   report::RunReporter& reporter,
                                   absl::AnyInvocable<measure::RunResult()> result)
    : opts_(opts),
      loop_(loop),
      reporter_(reporter),
      result_(std::move(result)),
      metrics_timer_(loop.timers(), [this] { OnMetricsTimer(); }),
      snapshot_timer_(loop.timers(), [this] { OnSnapshotTimer(); }) {}

void MetricsPublisher::Start(MetricsSnapshot* snapshot) {
  snapshot_ = snapshot;
  if (!opts_.metrics_file.empty()) OnMetricsTimer();
  if (snapshot_ != nullptr) OnSnapshotTimer();
}

void MetricsPublisher::Soon() {
  if (snapshot_ == nullptr) return;
  const MonoTime at = std::max(loop_.clock().Now(), published_ + kSnapshotAfterChange);
  if (!snapshot_timer_.armed() || at < snapshot_timer_.deadline()) snapshot_timer_.ArmAt(at);
}

void MetricsPublisher::Now() {
  if (snapshot_ != nullptr) snapshot_->Publish(result_());
}

absl::Status MetricsPublisher::Finish() {
  return opts_.metrics_file.empty() ? absl::OkStatus() : WriteFile();
}

void MetricsPublisher::OnMetricsTimer() {
  if (loop_.stopping()) return;
  WriteFile().IgnoreError();  // the run goes on; the write at the stop decides the exit
  metrics_timer_.ArmAt(loop_.clock().Now() + opts_.metrics_period);
}

void MetricsPublisher::OnSnapshotTimer() {
  if (loop_.stopping()) return;
  snapshot_->Publish(result_());
  published_ = loop_.clock().Now();
  snapshot_timer_.ArmAt(published_ + kSnapshotPeriod);
}

absl::Status MetricsPublisher::WriteFile() {
  const std::string text = report::ClientMetrics(result_());
  absl::Status st = WriteOutputFile(opts_.metrics_file, text);
  return st.ok() ? st : reporter_.MetricsFileFailed(std::move(st));
}

}  // namespace udpbeat
