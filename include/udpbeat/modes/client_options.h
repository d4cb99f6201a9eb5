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

namespace udpbeat {

// One target as the user gave it: "HOST[:PORT]" and its labels.
struct TargetArg {
  std::string target;
  measure::Labels labels;
};

struct ClientOptions {
  static constexpr size_t kMaxSize = 65507;  // largest UDP payload over IPv4

  std::vector<TargetArg> targets;
  ProbeProto proto = ProbeProto::kStamp;  // default port: 862 (STAMP), 12000 (lab)
  size_t size = 0;                        // pad requests to this many bytes (0: no padding)
  bool quiet = false;
  bool json = false;                      // JSON Lines on stdout, human text suppressed
  AddressFamily family = AddressFamily::kAny;
  // Load tests: N concurrent sessions per target over M sockets (0: one per session).
  uint32_t sessions = 1;
  uint32_t sockets = 0;
  std::string plot_file;  // an SVG of RTT over time and its distribution
};

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_CLIENT_OPTIONS_H_
