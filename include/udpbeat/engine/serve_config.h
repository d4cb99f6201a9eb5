// What `udpbeat serve` is configured with, and the counters its workers keep: shared by
// the engine's workers and the serve mode that runs them.
#ifndef UDPBEAT_ENGINE_SERVE_CONFIG_H_
#define UDPBEAT_ENGINE_SERVE_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "udpbeat/proto/responder.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

struct ServeOptions {
  static constexpr const char* kDefaultBind = "0.0.0.0:12000";
  static constexpr uint16_t kDefaultPort = 12000;  // when --bind gives none
  static constexpr size_t kDefaultMaxDatagram = 65535;
  static constexpr int kDefaultReceiveBuffer = 8 << 20;
  static constexpr size_t kDefaultMaxPeers = 65536;
  static constexpr Nanos kDefaultPeerIdle = 60 * kNanosPerSecond;

  std::string bind = kDefaultBind;
  ReplyMode reply = ReplyMode::kAuto;
  double loss = 0;                  // probability a valid request goes unanswered
  std::optional<uint64_t> seed;     // loss/jitter RNG seed; random when unset
  Nanos delay = 0;                  // added before each reply
  Nanos jitter = 0;                 // reply delay varies uniformly by ±jitter
  bool quiet = false;
  size_t max_datagram = kDefaultMaxDatagram;
  int receive_buffer = kDefaultReceiveBuffer;
  bool stamp_stateful = false;      // per-session reflector sequence numbers
  double max_rate = 0;              // per-source requests/s answered (token bucket); 0: off
  int threads = 1;                  // one event loop and SO_REUSEPORT socket per thread
  std::string metrics_file;         // Prometheus textfile, rewritten every metrics_period
  Nanos metrics_period = 5 * kNanosPerSecond;
  size_t max_peers = kDefaultMaxPeers;  // bound of the per-peer table
  Nanos peer_idle = kDefaultPeerIdle;   // a peer silent this long is forgotten
};

// What happened to every datagram. received == replied + dropped + malformed +
// rate_limited + send_errors once no reply is pending.
struct ServeCounters {
  uint64_t received = 0;
  uint64_t replied = 0;
  uint64_t dropped = 0;      // by the --loss simulation (or the delay queue's bound)
  uint64_t malformed = 0;
  uint64_t rate_limited = 0; // over --max-rate for their source: not answered
  uint64_t send_errors = 0;
  uint64_t kernel_drops = 0; // never reached us: socket buffer overflow (SO_RXQ_OVFL)
  uint64_t peers = 0;        // entries in the per-peer table now
  uint64_t peer_evictions = 0;  // peers forgotten because the table was full

  void Merge(const ServeCounters& o);
};

}  // namespace udpbeat

#endif  // UDPBEAT_ENGINE_SERVE_CONFIG_H_
