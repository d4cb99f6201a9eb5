// What `udpbeat serve` did with every datagram, summed over its workers.
#ifndef UDPBEAT_MEASURE_SERVE_COUNTERS_H_
#define UDPBEAT_MEASURE_SERVE_COUNTERS_H_

#include <cstdint>

namespace udpbeat::measure {

// received == replied + dropped + malformed + rate_limited + refused + unauthenticated
// + delay_full + send_errors once no reply is pending (delayed replies are in none of them
// until sent).
struct ServeCounters {
  uint64_t received = 0;
  uint64_t replied = 0;
  uint64_t dropped = 0;      // by the loss simulation
  // Not answered because the delayed replies waiting filled their bound (bytes or count):
  // apart from `dropped`, so an operator sees the bound at work, not the simulated loss.
  uint64_t delay_full = 0;
  uint64_t malformed = 0;
  uint64_t rate_limited = 0; // over the per-source rate: not answered
  uint64_t refused = 0;      // not answered lest two servers answer each other forever
  uint64_t unauthenticated = 0;  // authenticated mode: a request without a verified HMAC
  uint64_t send_errors = 0;
  // Never reached us: socket buffer overflow (SO_RXQ_OVFL, and SO_MEMINFO for those after
  // the last datagram read). Not part of received.
  uint64_t kernel_drops = 0;
  uint64_t peers = 0;        // entries in the per-peer table now
  uint64_t peer_evictions = 0;  // peers forgotten because the table was full

  void Merge(const ServeCounters& o) {
    received += o.received;
    replied += o.replied;
    dropped += o.dropped;
    delay_full += o.delay_full;
    malformed += o.malformed;
    rate_limited += o.rate_limited;
    refused += o.refused;
    unauthenticated += o.unauthenticated;
    send_errors += o.send_errors;
    kernel_drops += o.kernel_drops;
    peers += o.peers;
    peer_evictions += o.peer_evictions;
  }
};

// The event loops' own figures, summed over workers (uring::LoopCounters, copied out so
// that reporters need not see io_uring).
struct LoopCounters {
  uint64_t turns = 0;
  uint64_t datagrams = 0;
  uint64_t submit_calls = 0;
};

}  // namespace udpbeat::measure

#endif  // UDPBEAT_MEASURE_SERVE_COUNTERS_H_
