// The Prometheus text exposition format (version 0.0.4): what --metrics-file writes and
// what a /metrics endpoint serves, rendered from a run's result or serve's counters.
#ifndef UDPBEAT_REPORT_PROMETHEUS_TEXT_H_
#define UDPBEAT_REPORT_PROMETHEUS_TEXT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "udpbeat/measure/run_result.h"
#include "udpbeat/measure/serve_counters.h"

namespace udpbeat::report {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsText {
 public:
  // Starts a family: "# HELP name help" and "# TYPE name type" (counter, gauge, summary).
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family (or of `name` with a suffix such as _sum).
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// heartbeat's metrics.
std::string HeartbeatMetrics(const measure::RunResult& r);
// serve's metrics.
std::string ServeMetrics(const measure::ServeCounters& c);

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_PROMETHEUS_TEXT_H_
