// SessionStats: the statistics engine one session records into, shared by
// every mode (ping, heartbeat, serve). It combines:
//   - a SequenceTracker (sent / on time / late / lost / duplicate / reordered /
//     unknown / timed out, longest loss burst; definitions in
//     sequence_tracker.h),
//   - RTT distribution: RunningSummary (min/mean/max/mdev), LogHistogram
//     (percentiles), InterarrivalJitter (RFC 3550 jitter of successive RTTs),
//   - the same three for each one-way direction, for protocols that give
//     one-way delays (STAMP), and a RunningSummary of clock-offset estimates,
//   - a count of malformed packets.
// SessionStats of many sessions (or threads) merge into one aggregate.
//
// A pure value: no I/O, no clock reads (all times are caller-supplied int64 ns
// of one clock), never throws. The hot-path calls are noexcept and O(1); they
// allocate only when a histogram first sees a new octave (see histogram.h).
// The constructor allocates the sequence window (16 B per slot). Not
// thread-safe: one owner writes; merge copies across threads.
#ifndef UDPBEAT_STATS_SESSION_STATS_H_
#define UDPBEAT_STATS_SESSION_STATS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "udpbeat/stats/bucket_counts.h"
#include "udpbeat/stats/histogram.h"
#include "udpbeat/stats/jitter.h"
#include "udpbeat/stats/sequence_tracker.h"
#include "udpbeat/stats/summary.h"

namespace udpbeat::stats {

enum class Direction : uint8_t {
  kForward,   // sender -> reflector
  kBackward,  // reflector -> sender
};

// One stream of delays (RTTs or one-way delays), int64 ns: summary,
// percentiles and jitter, fed the same samples. The summary keeps negative
// values as they are (an offset-corrected one-way delay can be < 0); the
// histogram clamps them to 1 ns and counts them in underflow_count().
class DelayStats {
 public:
  void Record(int64_t delay_ns) noexcept {
    summary_.Add(static_cast<double>(delay_ns));
    histogram_.Record(delay_ns);
    jitter_.Add(delay_ns);
  }
  void Merge(const DelayStats& other) noexcept {
    summary_.Merge(other.summary_);
    histogram_.Merge(other.histogram_);
    jitter_.Merge(other.jitter_);
  }

  // Merges `other` as if each of its samples had been `shift` larger. The histogram
  // part is re-recorded from bucket midpoints (within its 1% bound); jitter is
  // unaffected by a constant shift.
  void MergeShifted(const DelayStats& other, int64_t shift) {
    if (shift == 0) return Merge(other);
    RunningSummary s = other.summary_;
    s.Shift(static_cast<double>(shift));
    summary_.Merge(s);
    other.histogram_.ForEachBucket([&](int64_t low, int64_t high, uint64_t n) {
      histogram_.Record(low + (high - low) / 2 + shift, n);
    });
    jitter_.Merge(other.jitter_);
  }

  uint64_t count() const { return summary_.count(); }
  const RunningSummary& summary() const { return summary_; }
  const LogHistogram& histogram() const { return histogram_; }
  const InterarrivalJitter& jitter() const { return jitter_; }
  size_t MemoryBytes() const {
    return sizeof(*this) - sizeof(histogram_) + histogram_.MemoryBytes();
  }

 private:
  RunningSummary summary_;
  LogHistogram histogram_;
  InterarrivalJitter jitter_;
};

class SessionStats {
 public:
  // `window`: the sequence tracker's window (see SequenceTracker). An
  // aggregate that only receives Merge() can use window 1.
  explicit SessionStats(uint32_t window = SequenceTracker::kDefaultWindow)
      : tracker_(window) {}

  // A probe went out; see SequenceTracker::OnSent.
  void OnSent(uint32_t seq, int64_t sent_ns, int64_t deadline_ns) noexcept {
    tracker_.OnSent(seq, sent_ns, deadline_ns);
  }

  // The probe's send failed: it was never sent after all (SequenceTracker::Unsend).
  bool Unsend(uint32_t seq) noexcept { return tracker_.Unsend(seq); }

  // Classifies a reply (SequenceTracker::OnReply) and, for kOnTime and kLate
  // only, records its RTT (received_ns - sent_ns) into rtt().
  ReplyResult OnReply(uint32_t seq, int64_t received_ns) noexcept {
    const ReplyResult r = tracker_.OnReply(seq, received_ns);
    if (r.kind == ReplyClass::kOnTime || r.kind == ReplyClass::kLate) RecordRtt(r.rtt_ns);
    return r;
  }

  // Classifies a reply (SequenceTracker::OnReply) without recording an RTT: the
  // caller records it later with RecordRtt (when it waits for a better timestamp).
  ReplyResult Classify(uint32_t seq, int64_t received_ns) noexcept {
    return tracker_.OnReply(seq, received_ns);
  }

  // Records an RTT sample computed elsewhere into rtt() only; no counter
  // changes. Use it with SequenceTracker-free protocols or corrected RTTs.
  void RecordRtt(int64_t rtt_ns) noexcept {
    rtt_.Record(rtt_ns);
    rtt_buckets_.Record(rtt_ns);
  }

  // Records a one-way delay (STAMP: forward = t2 - t1, backward = t4 - t3,
  // offset-corrected by the caller).
  void RecordOneWay(Direction dir, int64_t delay_ns) noexcept {
    (dir == Direction::kForward ? forward_ : backward_).Record(delay_ns);
  }

  // Records one clock-offset estimate (STAMP: ((t2 - t1) + (t3 - t4)) / 2).
  void RecordClockOffset(int64_t offset_ns) noexcept {
    clock_offset_.Add(static_cast<double>(offset_ns));
  }

  // A packet that failed to decode was dropped.
  void CountMalformed() noexcept { ++malformed_; }

  // Calls on_timeout(uint32_t seq) for each probe whose deadline passed with
  // no reply; see SequenceTracker::Expire.
  template <typename F>
  void Expire(int64_t now_ns, F&& on_timeout) {
    tracker_.Expire(now_ns, std::forward<F>(on_timeout));
  }

  // See SequenceTracker::NextDeadline and awaiting().
  std::optional<int64_t> NextDeadline() noexcept { return tracker_.NextDeadline(); }
  uint64_t awaiting() const { return tracker_.awaiting(); }

  // Ends the session: unanswered probes become lost (SequenceTracker::Finish).
  void Finish() noexcept { tracker_.Finish(); }
  // Ends it at `now_ns`: probes that could still be answered stay in flight, not lost
  // (SequenceTracker::FinishAt).
  void FinishAt(int64_t now_ns) noexcept { tracker_.FinishAt(now_ns); }

  // Folds another session into this one: counters add, longest_loss_burst is
  // the max, summaries/histograms merge exactly, jitter is the count-weighted
  // mean (jitter.h). The other's sequence window is not merged: Finish()
  // sessions before merging them when their loss must be final.
  // The shifts are added to the other's forward and backward one-way delays: sessions
  // that recorded them against different references merge onto this one's.
  void Merge(const SessionStats& other, int64_t forward_shift = 0,
             int64_t backward_shift = 0) noexcept {
    tracker_.MergeCounters(other.tracker_.counters());
    rtt_.Merge(other.rtt_);
    rtt_buckets_.Merge(other.rtt_buckets_);
    forward_.MergeShifted(other.forward_, forward_shift);
    backward_.MergeShifted(other.backward_, backward_shift);
    clock_offset_.Merge(other.clock_offset_);
    malformed_ += other.malformed_;
  }

  // Counters (definitions in sequence_tracker.h).
  const SequenceCounters& counters() const { return tracker_.counters(); }
  uint64_t sent() const { return tracker_.sent(); }
  uint64_t received() const { return tracker_.received(); }
  uint64_t on_time() const { return tracker_.on_time(); }
  uint64_t late() const { return tracker_.late(); }
  uint64_t lost() const { return tracker_.lost(); }
  uint64_t duplicate() const { return tracker_.duplicate(); }
  uint64_t reordered() const { return tracker_.reordered(); }
  uint64_t unknown() const { return tracker_.unknown(); }
  uint64_t timed_out() const { return tracker_.timed_out(); }
  uint64_t longest_loss_burst() const { return tracker_.longest_loss_burst(); }
  uint64_t in_flight() const { return tracker_.in_flight(); }
  uint64_t malformed() const { return malformed_; }
  // lost / (sent − in flight): the share of the probes whose fate is known; 0 when
  // none is. Final only after Finish().
  double loss_ratio() const {
    const uint64_t s = sent() - in_flight();
    return s == 0 ? 0.0 : static_cast<double>(lost()) / static_cast<double>(s);
  }

  // Components.
  const SequenceTracker& tracker() const { return tracker_; }
  const DelayStats& rtt() const { return rtt_; }
  // The same RTTs in Prometheus' fixed buckets.
  const BucketCounts& rtt_buckets() const { return rtt_buckets_; }
  const DelayStats& one_way(Direction dir) const {
    return dir == Direction::kForward ? forward_ : backward_;
  }
  const RunningSummary& clock_offset() const { return clock_offset_; }

  // Bytes used now, heap included.
  size_t MemoryBytes() const {
    return sizeof(*this) - sizeof(tracker_) + tracker_.MemoryBytes() -
           3 * sizeof(DelayStats) + rtt_.MemoryBytes() +
           forward_.MemoryBytes() + backward_.MemoryBytes();
  }

 private:
  SequenceTracker tracker_;
  DelayStats rtt_;
  BucketCounts rtt_buckets_;
  DelayStats forward_;
  DelayStats backward_;
  RunningSummary clock_offset_;
  uint64_t malformed_ = 0;
};

}  // namespace udpbeat::stats

#endif  // UDPBEAT_STATS_SESSION_STATS_H_
