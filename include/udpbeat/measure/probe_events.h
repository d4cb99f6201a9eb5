// What one probe's fate was, as the reporters print it: a reply (on time, late or a
// duplicate) with its measured figures, a timeout, or a send error.
#ifndef UDPBEAT_MEASURE_PROBE_EVENTS_H_
#define UDPBEAT_MEASURE_PROBE_EVENTS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "udpbeat/stats/sequence_tracker.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::measure {

struct ReplyEvent {
  stats::ReplyClass kind = stats::ReplyClass::kOnTime;  // never kUnknown
  uint32_t seq = 0;
  Nanos rtt = 0;
  size_t bytes = 0;
  int ttl = -1;             // of the reply; -1 unknown
  int tos = -1;             // TOS / traffic class of the reply; -1 unknown
  bool reordered = false;
  WallTime sent;            // when the probe left (T1)
  WallTime received;        // when the reply arrived (T4)
  std::string_view payload;  // valid during the call only
  // STAMP replies.
  bool has_timestamps = false;
  Nanos residence = 0;     // T3 − T2
  Nanos clock_offset = 0;  // reflector clock − ours
  Nanos forward = 0;       // T2 − T1, raw
  Nanos backward = 0;      // T4 − T3, raw
  uint32_t reflector_seq = 0;
  int reflector_ttl = -1;  // the TTL our request arrived with at the reflector
  // The lab's heartbeat replies: the server's receive time − our send time (seconds).
  bool has_time_difference = false;
  double time_difference = 0;
};

// RFC 8972 Follow-Up Telemetry completed an exchange: a later reply reported the exact
// transmit time of this exchange's reply, which replaces the reflector's estimate (the T3
// it wrote into the reply, which ReplyEvent showed) in the exchange's delays.
struct FollowUpEvent {
  uint32_t seq = 0;            // the probe's
  uint32_t reflector_seq = 0;  // the reply's, as numbered by the reflector
  WallTime sent;               // T1
  WallTime t3;                 // the reported transmit time (reflector's clock)
  WallTime t3_estimate;        // the T3 written into the reply
  Nanos rtt = 0;               // recomputed with the exact residence
  Nanos residence = 0;         // exact T3 − T2
  Nanos backward = 0;          // T4 − exact T3, raw
};

// A probe settled without a reply: it timed out, or its send failed. Both reach the
// observers by the same path; `send_error` tells them apart.
struct TimeoutEvent {
  uint32_t seq = 0;
  WallTime sent;
  WallTime at;               // when the timeout (or the send error) was declared
  bool unreachable = false;  // an ICMP port unreachable came meanwhile
  // Nonzero: no timeout, the probe's datagram never left this host, refused with this
  // errno (Measurements::send_errors); `sent` is when it was handed to the loop.
  int send_error = 0;
};

}  // namespace udpbeat::measure

#endif  // UDPBEAT_MEASURE_PROBE_EVENTS_H_
