// `udpbeat heartbeat`: heartbeats on a fixed schedule, a failure detector (K consecutive
// misses, optionally phi accrual), state transitions up → suspect → down → up, and
// monitoring output (text, JSON Lines, a Prometheus textfile).
#ifndef UDPBEAT_MODES_HEARTBEAT_H_
#define UDPBEAT_MODES_HEARTBEAT_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "udpbeat/base/exit_code.h"
#include "udpbeat/detect/phi_accrual.h"
#include "udpbeat/modes/client_options.h"

namespace udpbeat {

struct HeartbeatOptions : ClientOptions {
  static constexpr Nanos kDefaultInterval = kNanosPerSecond;
  static constexpr int kDefaultMisses = 3;

  Nanos interval = kDefaultInterval;
  int64_t count = 0;                  // 0: until interrupted
  std::optional<Nanos> timeout;       // unset: the interval
  int misses = kDefaultMisses;        // K consecutive misses: down
  std::optional<double> phi;          // phi-accrual threshold, when enabled
  // Phi accrual's acceptable pause; unset: 3 × the interval. Its minimum standard
  // deviation is the interval / 10. At -i 1s both are Akka's defaults (3 s, 100 ms).
  std::optional<Nanos> phi_pause;
  bool exit_on_down = false;
  // GET /metrics on this ADDR:PORT ("" = none), from a snapshot the loop publishes every
  // metrics_period.
  std::string metrics_listen;
};

// kExitOk when the run ends with every target up, kExitBadOutcome when any is down (as
// fping) or left out. SIGHUP re-reads opts.targets_file: new targets start, removed ones
// stop, unchanged ones keep their statistics and detector state. A name of the file that
// does not resolve is said on `err` and left out until the next read; a Status when none
// resolves.
absl::StatusOr<ExitCode> RunHeartbeat(const HeartbeatOptions& opts, std::ostream& out,
                                      std::ostream& err);

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_HEARTBEAT_H_
