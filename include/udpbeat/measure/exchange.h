// The arithmetic of one probe exchange: RTT, and for STAMP the reflector's residence, the
// clock offset and the raw one-way delays, from the four timestamps
//   T1 the probe left (the kernel's transmit stamp where there is one, else user space),
//   T2 the reflector received it, T3 the reflector sent its reply (reflector's clock),
//   T4 the reply arrived (the kernel's receive stamp, else the loop's wake-up time).
// Pure functions of their inputs: no clock reads, no I/O.
#ifndef UDPBEAT_MEASURE_EXCHANGE_H_
#define UDPBEAT_MEASURE_EXCHANGE_H_

#include <optional>

#include "udpbeat/time/clock.h"

namespace udpbeat::measure {

// When a probe left, on both clocks.
struct SendTimes {
  MonoTime mono;
  WallTime wall;
};

struct ReflectorTimes {
  WallTime receive;   // T2
  WallTime transmit;  // T3
};

struct ExchangeInput {
  SendTimes sent;              // T1
  WallTime rx_wall;            // kernel receive stamp; 0 when there was none
  MonoTime loop_mono;          // both clocks, read together when the loop woke
  WallTime loop_wall;
  std::optional<ReflectorTimes> reflector;  // STAMP replies
};

struct Exchange {
  MonoTime received;  // T4 on the monotonic axis (classifies late replies)
  WallTime t4;
  Nanos rtt = 0;      // the network's round trip: T4 − T1, minus the residence when plausible
  bool has_timestamps = false;
  Nanos residence = 0;     // T3 − T2
  Nanos clock_offset = 0;  // ((T2 − T1) + (T3 − T4)) / 2: reflector's clock − ours
  Nanos forward = 0;       // T2 − T1, raw (includes the clock offset)
  Nanos backward = 0;      // T4 − T3, raw
};

// The kernel stamps datagrams with CLOCK_REALTIME; probes are scheduled on
// CLOCK_MONOTONIC. Both clocks were read together when the loop woke, so their difference
// maps the kernel stamp onto the monotonic axis without losing its precision. A stamp
// that maps outside [sent, wake] (a clock step) is not trusted: the wake time is used.
MonoTime ReceiveTimeOnMono(WallTime rx_wall, MonoTime loop_mono, WallTime loop_wall,
                           MonoTime sent);

// The RTT is T4 − T1 on one clock (the kernel's receive stamp minus the wall time the
// probe left at, as the STAMP fields are), not a difference of two mono/wall reading
// pairs, which a preemption between the reads of a pair would skew by microseconds. The
// monotonic RTT only guards against a wall-clock step (more than 1 ms apart: it wins).
// Residence is the reflector's own delay, not the network's: it is taken off only when
// plausible (0 ≤ residence < RTT; a reflector clock step could make it anything).
Exchange MeasureExchange(const ExchangeInput& in);

}  // namespace udpbeat::measure

#endif  // UDPBEAT_MEASURE_EXCHANGE_H_
