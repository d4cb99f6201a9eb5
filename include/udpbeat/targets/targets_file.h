// The targets of a client run as the user wrote them: positional HOST[:PORT] arguments
// and the lines of a targets file (`--targets FILE`, re-read by heartbeat on SIGHUP),
// checked for form only. No name is looked up here; the modes resolve the targets.
//
// File format (contrib/targets.example documents it for users):
//     HOST[:PORT] [key=value ...]      one target a line
//   - fields are separated by spaces or tabs; a field that starts with '#' starts a
//     comment, to the end of the line; blank lines are skipped; a trailing CR is ignored;
//   - HOST is a host name, an IPv4 address, or an IPv6 address (in brackets when a port
//     follows, as [2001:db8::1]:862); PORT is 1 to 65535, digits only;
//   - key is a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), not starting with "__"
//     and not one of the names udpbeat or Prometheus set themselves (target, state,
//     direction, path, src_port, le, job, instance); value is non-empty UTF-8 without
//     spaces or control characters; a key appears at most once on a line;
//   - a target appears once (as written: "db1" and "db1:862" are two targets).
#ifndef UDPBEAT_TARGETS_TARGETS_FILE_H_
#define UDPBEAT_TARGETS_TARGETS_FILE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "udpbeat/measure/run_result.h"

namespace udpbeat {

// One target and its labels.
struct TargetLine {
  std::string target;      // "HOST[:PORT]" exactly as written
  measure::Labels labels;  // key=value pairs in the order written
  int line = 0;            // 1-based line of its file; 0 for a command-line argument

  friend bool operator==(const TargetLine&, const TargetLine&) = default;
};

// The largest targets file LoadTargetsFile reads (about a million targets).
inline constexpr size_t kMaxTargetsFileBytes = 64 << 20;

// Checks the form of one HOST[:PORT]. InvalidArgument quotes it and says what is wrong,
// e.g. "target '127.0.0.1:0': port 0 is out of range: give 1 to 65535".
absl::Status CheckTarget(std::string_view target);

// Checks a label key against the rules above. InvalidArgument quotes it.
absl::Status CheckLabelKey(std::string_view key);

// Parses a targets file's text. `origin` (the file's path) starts every message:
// "ORIGIN:LINE: ..." (kInvalidArgument). An empty result is no error: the file may list
// no target (the caller decides whether that is enough).
absl::StatusOr<std::vector<TargetLine>> ParseTargets(std::string_view text,
                                                     std::string_view origin);

// Reads `path` (at most kMaxTargetsFileBytes; a FIFO or /dev/stdin is read too) and
// parses it with `path` as origin. Read errors name the file, as
// "targets file /etc/udpbeat/targets: No such file or directory" (code from errno).
// Blocking: call it outside an event loop's hot path (startup, SIGHUP).
absl::StatusOr<std::vector<TargetLine>> LoadTargetsFile(const std::string& path);

// Appends `more` to `targets`, refusing a target already there (InvalidArgument:
// "ORIGIN:LINE: target 'X' is also given on the command line" or "... on line N").
// `origin` names where `more` comes from (its file).
absl::Status AppendTargets(std::vector<TargetLine>& targets, std::vector<TargetLine> more,
                           std::string_view origin);

}  // namespace udpbeat

#endif  // UDPBEAT_TARGETS_TARGETS_FILE_H_
