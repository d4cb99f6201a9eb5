#include "serve_supervisor.h"

#include <signal.h>

#include "udpbeat/base/output_file.h"
#include "udpbeat/base/reported_status.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/report/serve_text.h"

namespace udpbeat::serve_workers {

Supervisor::Supervisor(const ServeOptions& opts, std::vector<Worker>& workers, std::ostream& err)
    : opts_(opts),
      workers_(workers),
      err_(err),
      metrics_timer_(workers[0].loop->timers(), [this] { OnMetricsTimer(); }) {}

measure::ServeCounters Supervisor::Total() const {
  measure::ServeCounters total;
  for (const Worker& w : workers_) total.Merge(w.server->Snapshot());
  return total;
}

std::string Supervisor::Render() const { return report::ServeMetrics(Total(), UDPBEAT_VERSION); }

void Supervisor::OnSignal(int signo) noexcept {
  if (signo == SIGQUIT) {
    // This thread's worker reads its drops now; the others' sweeps did within a second.
    workers_[0].server->RefreshKernelDrops();
    err_ << report::FormatServeCounters(Total()) << std::endl;
    return;
  }
  if (signo == SIGHUP) return;
  workers_[0].server->FlushDelayed();
  for (size_t i = 1; i < workers_.size(); ++i) workers_[i].loop->StopFromAnotherThread();
  workers_[0].loop->Stop();
}

void Supervisor::StartMetrics() {
  if (opts_.metrics_file.empty()) return;
  OnMetricsTimer();
}

absl::Status Supervisor::WriteMetrics() {
  if (opts_.metrics_file.empty()) return absl::OkStatus();
  absl::Status st =
      WriteOutputFile(opts_.metrics_file, report::ServeMetrics(Total(), UDPBEAT_VERSION));
  if (st.ok()) return st;
  // Told once: a full disk mid-run is not a line a second.
  if (!warned_) err_ << "udpbeat: " << st.message() << std::endl;
  warned_ = true;
  return MarkReported(std::move(st));
}

void Supervisor::PrintStatistics(std::ostream& out) const {
  measure::LoopCounters loops;
  std::vector<measure::ServeCounters> per_worker;
  for (const Worker& w : workers_) {
    loops.turns += w.loop->counters().turns;
    loops.datagrams += w.loop->counters().datagrams;
    loops.submit_calls += w.loop->counters().submit_calls;
    per_worker.push_back(w.server->Snapshot());
  }
  report::WriteServeStatistics(Total(), loops, per_worker, out);
}

void Supervisor::OnMetricsTimer() {
  WriteMetrics().IgnoreError();  // serving goes on; the write at the stop decides the exit
  metrics_timer_.ArmAt(workers_[0].loop->clock().Now() + opts_.metrics_period);
}

}  // namespace udpbeat::serve_workers
