// What `udpbeat serve` does while its workers run: worker 0 runs on the main thread and
// its loop's signals come here (SIGQUIT: the counters on the error stream; SIGINT and
// SIGTERM: stop every worker), as do the metrics file and /metrics scrapes, which read the
// workers' counters. Private to the modes library.
#ifndef UDPBEAT_SRC_MODES_SERVE_SUPERVISOR_H_
#define UDPBEAT_SRC_MODES_SERVE_SUPERVISOR_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "serve_workers.h"
#include "udpbeat/http/metrics_endpoint.h"
#include "udpbeat/measure/serve_counters.h"
#include "udpbeat/modes/serve.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat::serve_workers {

class Supervisor final : public uring::SignalHandler, public http::MetricsSource {
 public:
  Supervisor(const ServeOptions& opts, std::vector<Worker>& workers, std::ostream& err);

  // Every worker's counters together.
  measure::ServeCounters Total() const;
  // A scrape reads the workers' counters with relaxed atomic loads: it never waits for,
  // or slows, a loop.
  std::string Render() const override;
  void OnSignal(int signo) noexcept override;

  // The metrics file now and then every metrics_period, when there is one.
  void StartMetrics();
  // The metrics file now; a failure is told once on the error stream and returned
  // marked as told (base/reported_status.h). The write at the stop decides the exit.
  absl::Status WriteMetrics();
  // The closing statistics, after every worker stopped.
  void PrintStatistics(std::ostream& out) const;

 private:
  void OnMetricsTimer();

  const ServeOptions& opts_;
  std::vector<Worker>& workers_;
  std::ostream& err_;
  Timer metrics_timer_;
  bool warned_ = false;
};

}  // namespace udpbeat::serve_workers

#endif  // UDPBEAT_SRC_MODES_SERVE_SUPERVISOR_H_
