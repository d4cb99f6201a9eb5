// Prometheus text exposition format (version 0.0.4), for the node_exporter textfile
// collector. Writing it is base/output_file.h's job.
#ifndef UDPBEAT_REPORT_METRICS_FILE_H_
#define UDPBEAT_REPORT_METRICS_FILE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace udpbeat {

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

// Same as WriteOutputFile (base/output_file.h): a regular file is replaced atomically, a
// device or FIFO written in place, a symlink refused. Kept so callers compile until they
// call WriteOutputFile themselves.
absl::Status WriteFileAtomically(const std::string& path, std::string_view text);

}  // namespace udpbeat

#endif  // UDPBEAT_REPORT_METRICS_FILE_H_
