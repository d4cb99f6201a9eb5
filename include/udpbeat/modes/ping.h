// `udpbeat ping`: round-trip time and loss against a server.
#ifndef UDPBEAT_MODES_PING_H_
#define UDPBEAT_MODES_PING_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "udpbeat/base/exit_code.h"
#include "udpbeat/modes/client_options.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

struct PingOptions : ClientOptions {
  static constexpr int64_t kDefaultCount = 10;
  static constexpr Nanos kDefaultInterval = kNanosPerSecond;  // ping(8)'s
  static constexpr Nanos kDefaultTimeout = kNanosPerSecond;

  int64_t count = kDefaultCount;      // 0: until interrupted
  // Unset (-i 0): the lab's rhythm, the next probe as soon as the last is answered or
  // timed out. The command line's default is kDefaultInterval, as ping(8)'s.
  std::optional<Nanos> interval;
  Nanos timeout = kDefaultTimeout;    // a reply after this is late
  Nanos duration = 0;                 // send for this long instead of `count` (0: count)
};

// Runs the pings and prints per-reply lines (one session per target only) and statistics
// to `out` (diagnostics and SIGQUIT interim lines to `err`). Returns kExitOk when every
// target answered at least once, kExitBadOutcome when any did not (as fping) or was left
// out (a name of the targets file that does not resolve, said on `err`); a Status for
// setup errors (a command-line host that does not resolve, no target resolving, ...).
absl::StatusOr<ExitCode> RunPing(const PingOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_PING_H_
