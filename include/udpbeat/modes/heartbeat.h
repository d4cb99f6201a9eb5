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
  static constexpr Nanos kDefaultMetricsPeriod = 5 * kNanosPerSecond;

  Nanos interval = kDefaultInterval;
  int64_t count = 0;                  // 0: until interrupted
  std::optional<Nanos> timeout;       // unset: the interval
  int misses = kDefaultMisses;        // K consecutive misses: down
  std::optional<double> phi;          // phi-accrual threshold, when enabled
  // Phi accrual's acceptable pause; unset: 3 × the interval. Its minimum standard
  // deviation is the interval / 10. At -i 1s both are Akka's defaults (3 s, 100 ms).
  std::optional<Nanos> phi_pause;
  bool exit_on_down = false;
  std::string metrics_file;
  Nanos metrics_period = kDefaultMetricsPeriod;
};

// kExitOk when the run ends with the peer up (in every session), kExitBadOutcome when
// it ends down.
absl::StatusOr<ExitCode> RunHeartbeat(const HeartbeatOptions& opts, std::ostream& out,
                                      std::ostream& err);

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_HEARTBEAT_H_
