// Files written the node_exporter textfile-collector way: to a temporary file in the same
// directory, then renamed over the target, so a reader never sees a half-written file.
#ifndef UDPBEAT_REPORT_METRICS_FILE_H_
#define UDPBEAT_REPORT_METRICS_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace udpbeat {

// Writes `text` to PATH.tmp.PID and renames it to `path`. Errors name the path.
absl::Status WriteFileAtomically(const std::string& path, std::string_view text);

}  // namespace udpbeat

#endif  // UDPBEAT_REPORT_METRICS_FILE_H_
