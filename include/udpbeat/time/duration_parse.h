// Parsing of user-supplied durations ("250ms", "1.5s", "2m", bare seconds "0.2").
#ifndef UDPBEAT_TIME_DURATION_PARSE_H_
#define UDPBEAT_TIME_DURATION_PARSE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

// Accepts absl::ParseDuration's syntax ("250ms", "1.5s", "1m30s", "10us") or a bare
// non-negative number of seconds. Negative or non-finite values are InvalidArgument.
absl::StatusOr<Nanos> ParseDurationArg(std::string_view text);

// Formats ns for humans and for --help defaults: "1s", "250ms", "1.5s".
std::string FormatDuration(Nanos ns);

}  // namespace udpbeat

#endif  // UDPBEAT_TIME_DURATION_PARSE_H_
