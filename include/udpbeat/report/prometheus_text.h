// The Prometheus text exposition format (version 0.0.4): what --metrics-file writes and
// what --metrics-listen serves, rendered from a run's result or serve's counters. The
// names follow Prometheus' conventions (base units, _total counters); every per-target
// series is labelled `target` (as the user wrote it) plus the targets file's labels.
//
// Per target: udpbeat_up, udpbeat_state{state}, udpbeat_probes_sent_total,
// udpbeat_replies_total, udpbeat_probes_lost_total, udpbeat_replies_late_total,
// udpbeat_replies_duplicate_total, udpbeat_replies_reordered_total, udpbeat_rtt_seconds
// (histogram: fixed buckets from 10 µs to 10 s, so quantiles aggregate across agents),
// udpbeat_last_rtt_seconds, udpbeat_one_way_delay_seconds{direction} and
// udpbeat_clock_offset_seconds (STAMP), udpbeat_state_changes_total and
// udpbeat_down_seconds_total (heartbeat); per path (--src-ports), labelled path="0".."N-1"
// as well, udpbeat_path_probes_{sent,lost}_total and udpbeat_path_info{src_port}, always 1:
// the port changes on every start, the path index does not. Process:
// udpbeat_build_info{version}, udpbeat_targets.
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
  // Starts a family: "# HELP name help" and "# TYPE name type".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family (or of `name` with a suffix such as _sum).
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  // The same with the label set already rendered ("" or `{a="b",c="d"}`).
  void Sample(std::string_view name, std::string_view rendered_labels, double value);
  void Sample(std::string_view name, std::string_view rendered_labels, uint64_t value);
  // The same with one more label, `key="label_value"` (value escaped), after the others.
  // Written straight into the text: a fleet's histogram has 21 such samples per target.
  void Sample(std::string_view name, std::string_view rendered_labels, std::string_view key,
              std::string_view label_value, double value);
  void Sample(std::string_view name, std::string_view rendered_labels, std::string_view key,
              std::string_view label_value, uint64_t value);
  std::string& text() { return text_; }

  // `{k="v",...}` with values escaped (backslash, double quote, newline).
  static std::string RenderLabels(const MetricLabels& labels);

 private:
  void Series(std::string_view name, std::string_view rendered_labels, std::string_view key,
              std::string_view label_value);
  std::string text_;
};

// A client run's metrics (heartbeat live and at the end, ping at the end).
std::string ClientMetrics(const measure::RunResult& r);
// serve's metrics.
std::string ServeMetrics(const measure::ServeCounters& c, std::string_view version);

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_PROMETHEUS_TEXT_H_
