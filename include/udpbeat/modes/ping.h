// `udpbeat ping`: round-trip time and loss against a server.
#ifndef UDPBEAT_MODES_PING_H_
#define UDPBEAT_MODES_PING_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "udpbeat/base/exit_code.h"
#include "udpbeat/modes/probe_codec.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

struct PingOptions {
  static constexpr int64_t kDefaultCount = 10;
  static constexpr Nanos kDefaultTimeout = kNanosPerSecond;
  static constexpr size_t kMaxSize = 65507;  // largest UDP payload over IPv4

  std::string target;                 // HOST[:PORT]
  int64_t count = kDefaultCount;      // 0: until interrupted
  std::optional<Nanos> interval;      // unset: the lab's rhythm (next after reply/timeout)
  Nanos timeout = kDefaultTimeout;    // a reply after this is late
  size_t size = 0;                    // pad requests to this many bytes (0: no padding)
  ProbeProto proto = ProbeProto::kStamp;  // default port: 862 (STAMP), 12000 (seed)
  bool quiet = false;                 // only the statistics
  bool json = false;                  // JSON Lines on stdout, human text suppressed
  AddressFamily family = AddressFamily::kAny;
  // Load tests: N concurrent sessions over M sockets (0: one socket per session), for
  // `duration` (0: use count), with a live progress line when stdout is a terminal.
  uint32_t sessions = 1;
  uint32_t sockets = 0;
  Nanos duration = 0;
  bool progress = false;
  std::string plot_file;  // --plot: an SVG of RTT over time and its distribution
};

// Runs the pings and prints per-reply lines (one session only) and statistics to `out` (diagnostics and
// SIGQUIT interim lines to `err`). Returns kExitOk when at least one reply came back,
// kExitBadOutcome when none did; a Status for setup errors (unresolvable host, ...).
absl::StatusOr<ExitCode> RunPing(const PingOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_PING_H_
