// Measurements: everything one probe session records — the statistics engine, the STAMP
// state, how late its sends left (send lag), ICMP unreachable reports, local drops, the
// late replies' RTTs and the newest RTT. Results (run_result.h) are computed from it;
// sessions combine into a target's, and targets into a run's, with Combine().
//
// A pure value (no I/O, no clock reads); one writer.
#ifndef UDPBEAT_MEASURE_MEASUREMENTS_H_
#define UDPBEAT_MEASURE_MEASUREMENTS_H_

#include <cstdint>
#include <span>

#include "udpbeat/measure/stamp_state.h"
#include "udpbeat/stats/histogram.h"
#include "udpbeat/stats/session_stats.h"

namespace udpbeat::measure {

struct Measurements {
  // `window`: the sequence tracker's (see SequenceTracker); a combination needs only 1.
  explicit Measurements(uint32_t window = 1) : stats(window) {}

  stats::SessionStats stats;
  StampState stamp;
  // How late probes left against their schedule (actual − scheduled send time): a
  // generator that falls behind shows here instead of hiding it (coordinated omission).
  stats::DelayStats send_lag;
  uint64_t unreachable = 0;  // ICMP port unreachable reports
  // Replies the kernel dropped on our side (socket receive buffer full): part of `lost`,
  // but lost here, not in the network. Set when the run ends.
  uint64_t local_drops = 0;
  // Probes of the schedule that never went out because the sender had fallen behind it:
  // those due when the sending stopped, and those more than a timeout (an interval, a
  // second, whichever is longest) late, skipped so that the rest leave on time. Neither
  // sent nor lost; the schedule's count is sent + skipped.
  uint64_t skipped = 0;
  // Probes whose datagram never left this host: the loop could not queue it or the
  // kernel refused it (a firewall's output rule, no route, a full send buffer). The rule,
  // the one every figure follows: a send error is settled at once and is NOT sent (the
  // tracker takes it back, SequenceTracker::Unsend), so neither received, nor lost, nor
  // in flight: sent = received + lost + in flight still holds, and the schedule's count
  // is sent + send_errors + skipped. ECONNREFUSED on a send is not one: it is the
  // network's answer to an earlier probe (ICMP port unreachable), counted in
  // `unreachable`.
  uint64_t send_errors = 0;
  Nanos last_rtt = -1;  // the newest reply's RTT; -1 before the first
  // The late replies' RTTs, which stats.rtt() holds too: the distribution tells late
  // from on-time replies as the sequence tracker classified each (Summarize).
  stats::LogHistogram late_rtt;
  uint64_t kernel_t1 = 0;  // replies whose T1 was the kernel's transmit timestamp
  // Exchanges whose reflector transmit time T3 is the exact one a later reply reported
  // (RFC 8972 Follow-Up Telemetry), not the estimate written into the reply itself.
  uint64_t follow_up_t3 = 0;
  // Replies whose follow-up report could not be used: the TLV came back unrecognised
  // (a reflector without RFC 8972 follow-up, or a stateless one), not at all (one that
  // knows no TLVs), or, authenticated, without a valid HMAC TLV over it.
  uint64_t follow_up_refused = 0;
  // Replies (first ones) whose DSCP is not the one the probe was sent with: remarked on
  // the way there or back, or a reflector that does not return the request's DSCP.
  uint64_t dscp_changed = 0;

  // A reply's RTT, `late` when the tracker classified the reply late: into the
  // statistics, the late ones also apart, and as the newest.
  void RecordRtt(Nanos rtt, bool late) noexcept {
    stats.RecordRtt(rtt);
    if (late) late_rtt.Record(rtt);
    last_rtt = rtt;
  }

  // Merges `parts` into one, as one session's would read. STAMP one-way delays recorded
  // against different references are shifted onto common ones (StampState::Combine).
  // Sessions should be finished first when their loss must be final.
  static Measurements Combine(std::span<const Measurements* const> parts);
};

}  // namespace udpbeat::measure

#endif  // UDPBEAT_MEASURE_MEASUREMENTS_H_
