// What every client mode (ping, heartbeat) takes besides its own options.
#ifndef UDPBEAT_MODES_CLIENT_OPTIONS_H_
#define UDPBEAT_MODES_CLIENT_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "udpbeat/measure/run_result.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/proto/probe_codec.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

// One target as the user gave it: "HOST[:PORT]", its labels and its line of the targets
// file (0: the command line's).
struct TargetArg {
  std::string target;
  measure::Labels labels;
  int line = 0;
};

struct ClientOptions {
  static constexpr size_t kMaxSize = 65507;  // largest UDP payload over IPv4
  static constexpr uint32_t kMaxSrcPorts = 1024;
  // Intervals below this are refused to non-root users, as ping(8) does (root may go
  // lower).
  static constexpr Nanos kMinUserInterval = 2 * kNanosPerMilli;

  // Positional targets, then the targets file's, in order.
  std::vector<TargetArg> targets;
  size_t command_line_targets = 0;        // how many of `targets` came from the command line
  std::string targets_file;               // re-read by heartbeat on SIGHUP
  ProbeProto proto = ProbeProto::kStamp;  // default port: 862 (STAMP), 12000 (lab)
  size_t size = 0;                        // pad requests to this many bytes (0: no padding)
  bool quiet = false;
  bool json = false;                      // JSON Lines on stdout, human text suppressed
  bool unix_times = false;                // -D: each line starts with [unix time]
  AddressFamily family = AddressFamily::kAny;
  // Load tests: N concurrent sessions per target over M sockets (0: one per session).
  uint32_t sessions = 1;
  uint32_t sockets = 0;
  // ECMP spreading: each target probed from N source ports (N sessions, one socket
  // each), with loss per source port. 0: off.
  uint32_t src_ports = 0;
  int tos = -1;             // IP TOS / IPv6 traffic class of probes; -1: the default
  std::string source;       // -I: local address to send from ("" = the kernel's choice)
  std::string plot_file;    // an SVG of RTT over time and its distribution
  std::string auth_key_file;  // STAMP authenticated mode (RFC 8762 §4.2.2)
  bool follow_up = false;     // ask reflectors for RFC 8972 Follow-Up Telemetry
  std::string metrics_file;   // Prometheus textfile (ping: at the end; heartbeat: every period)
  Nanos metrics_period = 5 * kNanosPerSecond;
  bool progress = false;      // a live progress line (the cli decides: a terminal, many sessions)
  // Without an interval (-i 0): the least time between one session's sends. The cli sets
  // kMinUserInterval for users other than root, as ping -A does.
  Nanos min_gap = 0;
};

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_CLIENT_OPTIONS_H_
