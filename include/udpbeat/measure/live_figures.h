// The figures of a run while it goes on, for the progress line: what RunResult says,
// computed the same way (every session's Measurements combined, then Summarize), plus what
// only a live view needs: the probes still awaiting their reply, and the rates since the
// view before.
//
// Loss counts only probes whose fate is known: a probe past its timeout is lost until a
// late reply says otherwise (the result's `lost` waits for the tracker to retire it); one
// still within its timeout is in flight, never lost.
//
// A pure value and its maker (no I/O, no clock reads); one writer.
#ifndef UDPBEAT_MEASURE_LIVE_FIGURES_H_
#define UDPBEAT_MEASURE_LIVE_FIGURES_H_

#include <cstdint>
#include <span>

#include "udpbeat/measure/measurements.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::measure {

struct LiveFigures {
  Nanos elapsed = 0;         // since the start
  uint64_t sent = 0;
  uint64_t received = 0;     // on time + late
  uint64_t in_flight = 0;    // sent, neither answered nor timed out
  double loss_ratio = 0;     // unanswered past their timeout / (sent − in flight)
  double send_rate = 0;      // probes per second since the view before
  double receive_rate = 0;   // replies per second since the view before
  Nanos rtt_p50 = 0, rtt_p99 = 0;
};

// Successive views of one run; each one's rates are since the one before (the first:
// since the start).
class LiveMeter {
 public:
  // `sessions`: every session of the run, as it is now; `elapsed` since the start.
  LiveFigures Take(std::span<const Measurements* const> sessions, Nanos elapsed);

 private:
  uint64_t last_sent_ = 0;
  uint64_t last_received_ = 0;
  Nanos last_elapsed_ = 0;
};

}  // namespace udpbeat::measure

#endif  // UDPBEAT_MEASURE_LIVE_FIGURES_H_
