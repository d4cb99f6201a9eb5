#include "udpbeat/stats/sequence_tracker.h"

#include <algorithm>
#include <bit>

namespace udpbeat::stats {
namespace {

uint32_t WindowSize(uint32_t requested) {
  return std::bit_ceil(
      std::clamp(requested, uint32_t{1}, SequenceTracker::kMaxWindow));
}

}  // namespace

void SequenceCounters::Merge(const SequenceCounters& other) noexcept {
  sent += other.sent;
  on_time += other.on_time;
  late += other.late;
  duplicate += other.duplicate;
  reordered += other.reordered;
  unknown += other.unknown;
  timed_out += other.timed_out;
  lost += other.lost;
  longest_loss_burst = std::max(longest_loss_burst, other.longest_loss_burst);
  rejected_sends += other.rejected_sends;
  stopped_in_flight += other.stopped_in_flight;
}

SequenceTracker::SequenceTracker(uint32_t window)
    : slots_(new Slot[WindowSize(window)]), mask_(WindowSize(window) - 1) {}

SequenceTracker::SequenceTracker(const SequenceTracker& other)
    : slots_(new Slot[other.window()]), mask_(other.mask_) {
  *this = other;
}

SequenceTracker& SequenceTracker::operator=(const SequenceTracker& other) {
  if (this == &other) return *this;
  if (slots_ == nullptr || window() != other.window()) {
    slots_.reset(new Slot[other.window()]);
  }
  std::copy(other.slots_.get(), other.slots_.get() + other.window(),
            slots_.get());
  mask_ = other.mask_;
  next_seq_ = other.next_seq_;
  expire_seq_ = other.expire_seq_;
  highest_answered_ = other.highest_answered_;
  has_sent_ = other.has_sent_;
  has_answered_ = other.has_answered_;
  current_loss_burst_ = other.current_loss_burst_;
  awaiting_ = other.awaiting_;
  counters_ = other.counters_;
  return *this;
}

void SequenceTracker::Retire(Slot& slot) noexcept {
  switch (StateOf(slot)) {
    case State::kEmpty:
      // Never sent (a gap in the sequence): neither lost nor received, so it
      // neither extends nor breaks a loss burst.
      return;
    case State::kAnswered:
      current_loss_burst_ = 0;
      break;
    case State::kPending:
      --awaiting_;
      [[fallthrough]];
    case State::kTimedOut:
      ++counters_.lost;
      ++current_loss_burst_;
      counters_.longest_loss_burst =
          std::max(counters_.longest_loss_burst, current_loss_burst_);
      break;
  }
  slot.timeout_and_state = 0;  // kEmpty
}

void SequenceTracker::RetireAll() noexcept {
  // Oldest first, so loss bursts see probes in sequence order.
  const uint32_t w = window();
  for (uint32_t i = 0; i < w; ++i) {
    Retire(slots_[(next_seq_ - w + i) & mask_]);
  }
}

void SequenceTracker::OnSent(uint32_t seq, int64_t sent_ns,
                             int64_t deadline_ns) noexcept {
  if (!has_sent_) {
    has_sent_ = true;
    next_seq_ = expire_seq_ = seq;
  }
  const uint32_t gap = seq - next_seq_;
  if (static_cast<int32_t>(gap) < 0) {
    ++counters_.rejected_sends;
    return;
  }
  if (gap >= window()) {
    RetireAll();
    next_seq_ = expire_seq_ = seq;
  }
  // Each slot from next_seq_ to seq holds the probe W numbers earlier, which
  // now leaves the window.
  for (uint32_t s = next_seq_; s != seq; ++s) Retire(slots_[s & mask_]);
  Slot& slot = slots_[seq & mask_];
  Retire(slot);

  uint64_t timeout = 0;
  if (deadline_ns > sent_ns) {
    timeout = std::min(
        static_cast<uint64_t>(deadline_ns) - static_cast<uint64_t>(sent_ns),
        static_cast<uint64_t>(kMaxTimeoutNs));
  }
  slot.sent_ns = sent_ns;
  slot.timeout_and_state =
      (timeout << 8) | static_cast<uint8_t>(State::kPending);
  next_seq_ = seq + 1;
  ++counters_.sent;
  ++awaiting_;
  if (next_seq_ - expire_seq_ > window()) expire_seq_ = next_seq_ - window();
}

bool SequenceTracker::Unsend(uint32_t seq) noexcept {
  const uint32_t age = next_seq_ - 1 - seq;
  if (!has_sent_ || age >= window()) return false;
  Slot& slot = slots_[seq & mask_];
  switch (StateOf(slot)) {
    case State::kPending:
      --awaiting_;
      break;
    case State::kTimedOut:
      break;  // its "Request timed out" was told; the event stays counted
    default:
      return false;
  }
  slot.timeout_and_state = 0;  // kEmpty: a gap, as if the number had been skipped
  --counters_.sent;
  return true;
}

ReplyResult SequenceTracker::OnReply(uint32_t seq,
                                     int64_t received_ns) noexcept {
  const uint32_t age = next_seq_ - 1 - seq;
  Slot* slot = has_sent_ && age < window() ? &slots_[seq & mask_] : nullptr;
  if (slot == nullptr || StateOf(*slot) == State::kEmpty) {
    ++counters_.unknown;
    return {ReplyClass::kUnknown, false, 0};
  }
  // Wrapping subtraction: a bogus timestamp must not be undefined behaviour.
  const int64_t rtt =
      static_cast<int64_t>(static_cast<uint64_t>(received_ns) -
                           static_cast<uint64_t>(slot->sent_ns));
  if (StateOf(*slot) == State::kAnswered) {
    ++counters_.duplicate;
    return {ReplyClass::kDuplicate, false, rtt};
  }
  const ReplyClass kind =
      IsPast(received_ns, *slot) ? ReplyClass::kLate : ReplyClass::kOnTime;
  if (StateOf(*slot) == State::kPending) --awaiting_;
  SetState(*slot, State::kAnswered);
  if (kind == ReplyClass::kLate) {
    ++counters_.late;
  } else {
    ++counters_.on_time;
  }
  // Serial comparison is only meaningful while the highest answered number is
  // inside the window; once it has left, every in-window number is newer.
  const bool highest_in_window =
      has_answered_ && next_seq_ - 1 - highest_answered_ < window();
  const bool reordered =
      highest_in_window && static_cast<int32_t>(seq - highest_answered_) < 0;
  if (reordered) {
    ++counters_.reordered;
  } else {
    highest_answered_ = seq;
    has_answered_ = true;
  }
  return {kind, reordered, rtt};
}

std::optional<int64_t> SequenceTracker::NextDeadline() noexcept {
  // Expire()'s scan position only moves forward; answered probes in front of it are
  // skipped for good.
  while (expire_seq_ != next_seq_) {
    const Slot& slot = slots_[expire_seq_ & mask_];
    if (StateOf(slot) == State::kPending)
      return slot.sent_ns + static_cast<int64_t>(slot.timeout_and_state >> 8);
    ++expire_seq_;
  }
  return std::nullopt;
}

void SequenceTracker::Finish() noexcept {
  if (!has_sent_) return;
  RetireAll();
  expire_seq_ = next_seq_;
}

void SequenceTracker::FinishAt(int64_t now_ns) noexcept {
  if (!has_sent_) return;
  const uint32_t w = window();
  for (uint32_t i = 0; i < w; ++i) {
    Slot& slot = slots_[(next_seq_ - w + i) & mask_];
    if (StateOf(slot) == State::kPending && !IsPast(now_ns, slot)) {
      --awaiting_;
      ++counters_.stopped_in_flight;
      slot.timeout_and_state = 0;  // out of the window, neither lost nor received
      continue;
    }
    Retire(slot);
  }
  expire_seq_ = next_seq_;
}

}  // namespace udpbeat::stats
