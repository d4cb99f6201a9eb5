// SequenceTracker: per-session accounting of probes by 32-bit sequence number.
//
// Sequence numbers wrap at 2^32 and are compared with serial-number arithmetic
// (RFC 1982 style): a is before b when int32_t(a - b) < 0. Memory is fixed: a
// circular window of W slots (W a power of two), one per probe, each holding
// the probe's send time and deadline (16 B/slot: 16 KiB at the default W of
// 1024). The window holds the W most recent sequence numbers sent.
//
// Definitions (these are the man page's):
//   sent       probes passed to OnSent(), less those Unsend() took back.
//   on time    first reply for a probe, received at or before its deadline.
//   late       first reply for a probe, received after its deadline (the probe
//              was, or could have been, reported "Request timed out"). A late
//              probe is RECEIVED, not lost, and its reply is never credited to
//              another probe. Late is decided by the deadline, whether or not
//              Expire() already ran.
//   received   on time + late.
//   duplicate  any reply after the first for the same probe (while the probe
//              is still in the window). Its RTT is computed but not recorded.
//   unknown    a reply whose sequence number was never sent, or is older than
//              the window (it can no longer be told from a duplicate). Counted
//              apart; it is not a reply.
//   reordered  a first reply whose sequence number is lower (serial order)
//              than the highest sequence number already answered (RFC 4737's
//              reordering). irtt calls these "late packets"; we keep "late" for
//              "after its timeout", as ping(8) users expect. iperf3 counts
//              out-of-order packets by the same lower-than-highest rule but
//              also subtracts them from its loss count; we never count a probe
//              as lost once any reply for it arrived, so nothing to subtract.
//              A reordered reply is also on time or late.
//   timed out  "Request timed out" events: Expire() reports each probe whose
//              deadline passed with no reply, once. The probe stays pending,
//              so a later reply is classified late.
//   lost       final: a probe leaves the window (a newer send needs its slot)
//              with no reply, or is still unanswered at Finish(). A reply
//              arriving after that is unknown, and the probe stays lost.
//   longest loss burst
//              the longest run of consecutive lost probes in sequence order
//              (sequence numbers never sent do not break a run), computed as
//              probes retire in sequence order.
//   unsent     a probe passed to OnSent() whose datagram never left (the local
//              send failed: Unsend()): it leaves the window as a number never
//              sent. It is not sent, so neither received nor lost nor in flight,
//              and it neither extends nor breaks a loss burst; a reply to it is
//              unknown. Counted by the caller (Measurements::send_errors).
//   in flight  sent, unanswered, not yet retired. FinishAt(now) leaves a probe
//              whose deadline has not passed in flight for good (a run stopped
//              while it could still be answered): it is neither lost nor
//              received, and does not break or extend a loss burst.
// Invariant after Finish(): sent == on_time + late + lost; after FinishAt():
// sent == on_time + late + lost + in_flight(). Before either, the difference
// is in_flight().
//
// Sends are expected in increasing serial order (gaps allowed: a skipped
// number is simply never sent). A send whose number is not after the highest
// sent is ignored and counted in rejected_sends. A gap of W or more retires the
// whole window first.
//
// A pure value: no I/O, no clock reads (times are caller-supplied int64 ns of
// one clock), never throws; only the constructor allocates. One writer.
#ifndef UDPBEAT_STATS_SEQUENCE_TRACKER_H_
#define UDPBEAT_STATS_SEQUENCE_TRACKER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace udpbeat::stats {

enum class ReplyClass : uint8_t { kOnTime, kLate, kDuplicate, kUnknown };

struct ReplyResult {
  ReplyClass kind;
  // A first reply (kOnTime/kLate) below the highest seq already answered.
  bool reordered;
  // received_ns - sent_ns for kOnTime, kLate and kDuplicate; 0 for kUnknown.
  int64_t rtt_ns;
};

// The tracker's counters; see the definitions above. Mergeable.
struct SequenceCounters {
  uint64_t sent = 0;
  uint64_t on_time = 0;
  uint64_t late = 0;
  uint64_t duplicate = 0;
  uint64_t reordered = 0;
  uint64_t unknown = 0;
  uint64_t timed_out = 0;
  uint64_t lost = 0;
  uint64_t longest_loss_burst = 0;
  uint64_t rejected_sends = 0;
  uint64_t stopped_in_flight = 0;  // left in flight by FinishAt()

  uint64_t received() const { return on_time + late; }
  // Sums every counter except longest_loss_burst, which takes the max.
  void Merge(const SequenceCounters& other) noexcept;
};

class SequenceTracker {
 public:
  static constexpr uint32_t kDefaultWindow = 1024;
  static constexpr uint32_t kMaxWindow = uint32_t{1} << 24;
  // Deadlines further than this after the send time are treated as this far
  // (about 2.3 years: in effect, never).
  static constexpr int64_t kMaxTimeoutNs = (int64_t{1} << 56) - 1;

  // `window` is rounded up to a power of two in [1, kMaxWindow]. Allocates
  // 16 * window bytes.
  explicit SequenceTracker(uint32_t window = kDefaultWindow);

  SequenceTracker(SequenceTracker&&) noexcept = default;
  SequenceTracker& operator=(SequenceTracker&&) noexcept = default;
  SequenceTracker(const SequenceTracker& other);
  SequenceTracker& operator=(const SequenceTracker& other);

  // Probe `seq` went out at sent_ns; a reply after deadline_ns is late. If
  // its slot still holds an unanswered probe (window full), that probe is
  // retired as lost.
  void OnSent(uint32_t seq, int64_t sent_ns, int64_t deadline_ns) noexcept;

  // Probe `seq` was never sent after all (its send failed): it becomes a number never
  // sent, and sent() goes down by one. Returns false, changing nothing, when `seq` is
  // not an unanswered probe in the window (answered, retired as lost, never sent).
  bool Unsend(uint32_t seq) noexcept;

  // Classifies a reply to `seq` received at received_ns; see the definitions.
  ReplyResult OnReply(uint32_t seq, int64_t received_ns) noexcept;

  // Calls on_timeout(uint32_t seq) once for every probe whose deadline is
  // before now_ns (deadline < now_ns) with no reply yet, in sequence order.
  // Those probes stay pending. Amortized O(1) per probe: it assumes deadlines
  // are non-decreasing in sequence order (a fixed timeout); a probe whose
  // deadline is earlier than an older pending probe's is reported together
  // with that older one. on_timeout must not call into this tracker.
  template <typename F>
  void Expire(int64_t now_ns, F&& on_timeout) {
    while (expire_seq_ != next_seq_) {
      Slot& slot = slots_[expire_seq_ & mask_];
      if (StateOf(slot) == State::kPending) {
        if (!IsPast(now_ns, slot)) break;
        SetState(slot, State::kTimedOut);
        ++counters_.timed_out;
        --awaiting_;
        on_timeout(expire_seq_);
      }
      ++expire_seq_;
    }
  }

  // The deadline of the oldest probe still awaiting its reply (neither answered nor timed
  // out), the next one Expire() reports; nullopt when none awaits. Amortized O(1).
  std::optional<int64_t> NextDeadline() noexcept;

  // Probes sent and neither answered, timed out nor retired: what can still time out.
  uint64_t awaiting() const { return awaiting_; }

  // Ends the session: every probe still unanswered is lost (in sequence
  // order, for loss bursts) and the window empties. Later replies are
  // unknown. Sending may continue afterwards; Finish() may be called again.
  void Finish() noexcept;
  // Like Finish(), but a probe whose deadline is not before `now_ns` (it could still
  // be answered) is left in flight instead of lost.
  void FinishAt(int64_t now_ns) noexcept;

  // Adds another session's counters (window state is not merged).
  void MergeCounters(const SequenceCounters& other) noexcept {
    counters_.Merge(other);
  }

  const SequenceCounters& counters() const { return counters_; }
  uint64_t sent() const { return counters_.sent; }
  uint64_t on_time() const { return counters_.on_time; }
  uint64_t late() const { return counters_.late; }
  uint64_t received() const { return counters_.received(); }
  uint64_t duplicate() const { return counters_.duplicate; }
  uint64_t reordered() const { return counters_.reordered; }
  uint64_t unknown() const { return counters_.unknown; }
  uint64_t timed_out() const { return counters_.timed_out; }
  uint64_t lost() const { return counters_.lost; }
  uint64_t longest_loss_burst() const { return counters_.longest_loss_burst; }
  uint64_t rejected_sends() const { return counters_.rejected_sends; }
  // Sent, not answered, not yet retired (reported lost at the latest by
  // Finish()).
  uint64_t in_flight() const {
    return counters_.sent - counters_.received() - counters_.lost;
  }
  uint32_t window() const { return mask_ + 1; }
  size_t MemoryBytes() const { return sizeof(*this) + window() * sizeof(Slot); }

 private:
  enum class State : uint8_t { kEmpty, kPending, kTimedOut, kAnswered };

  // 16 B: the deadline is stored as (deadline - sent) in the top 56 bits and
  // the state in the low 8, which halves the window next to two int64s+state.
  struct Slot {
    int64_t sent_ns = 0;
    uint64_t timeout_and_state = 0;
  };

  static State StateOf(const Slot& slot) {
    return static_cast<State>(slot.timeout_and_state & 0xFF);
  }
  static void SetState(Slot& slot, State state) {
    slot.timeout_and_state = (slot.timeout_and_state & ~uint64_t{0xFF}) |
                             static_cast<uint8_t>(state);
  }
  // True when t is after the slot's deadline.
  static bool IsPast(int64_t t, const Slot& slot) {
    return t > slot.sent_ns &&
           static_cast<uint64_t>(t) - static_cast<uint64_t>(slot.sent_ns) >
               (slot.timeout_and_state >> 8);
  }

  // Ends the slot's probe: counts it lost if unanswered; leaves it empty.
  void Retire(Slot& slot) noexcept;
  void RetireAll() noexcept;

  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_;
  uint32_t next_seq_ = 0;    // one past the highest seq sent
  uint32_t expire_seq_ = 0;  // Expire()'s scan position, in [next - W, next]
  uint32_t highest_answered_ = 0;
  bool has_sent_ = false;
  bool has_answered_ = false;
  uint64_t current_loss_burst_ = 0;
  uint64_t awaiting_ = 0;
  SequenceCounters counters_;
};

}  // namespace udpbeat::stats

#endif  // UDPBEAT_STATS_SEQUENCE_TRACKER_H_
