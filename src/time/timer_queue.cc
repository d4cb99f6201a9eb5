#include "udpbeat/time/timer_queue.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace udpbeat {
namespace {

// std::*_heap builds a max-heap; this order puts the earliest (when, order) on top.
struct Later {
  template <typename E>
  bool operator()(const E& a, const E& b) const {
    return a.when != b.when ? a.when > b.when : a.order > b.order;
  }
};

// Stale entries tolerated before a compaction, beyond one per live timer.
constexpr size_t kStaleSlack = 64;

}  // namespace

Timer::Timer(TimerQueue& queue, Callback callback)
    : queue_(queue), callback_(std::move(callback)), slot_(queue.Acquire(this)) {}

Timer::~Timer() { queue_.Release(slot_); }

void Timer::ArmAt(MonoTime when) { queue_.Arm(slot_, when); }
void Timer::Cancel() { queue_.Disarm(slot_); }
bool Timer::armed() const { return queue_.slots_[slot_].armed; }
MonoTime Timer::deadline() const { return queue_.slots_[slot_].when; }

TimerQueue::~TimerQueue() {
  // Timers must not outlive their queue; a leftover one would dangle.
  assert(free_slots_.size() == slots_.size());
}

uint32_t TimerQueue::Acquire(Timer* timer) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot].timer = timer;
  return slot;
}

void TimerQueue::Release(uint32_t slot) {
  Disarm(slot);
  slots_[slot].timer = nullptr;
  free_slots_.push_back(slot);
}

void TimerQueue::Arm(uint32_t slot, MonoTime when) {
  Slot& s = slots_[slot];
  if (!s.armed) ++armed_;
  s.armed = true;
  s.when = when;
  ++s.generation;
  Push(Entry{when, next_order_++, slot, s.generation});
  CompactIfStale();
}

void TimerQueue::Disarm(uint32_t slot) {
  Slot& s = slots_[slot];
  if (!s.armed) return;
  s.armed = false;
  ++s.generation;
  --armed_;
}

void TimerQueue::Push(const Entry& e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

TimerQueue::Entry TimerQueue::Pop() {
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  const Entry e = heap_.back();
  heap_.pop_back();
  return e;
}

void TimerQueue::DropStaleTop() {
  while (!heap_.empty() && !Live(heap_.front())) Pop();
}

void TimerQueue::CompactIfStale() {
  if (heap_.size() <= 2 * armed_ + kStaleSlack) return;
  std::erase_if(heap_, [this](const Entry& e) { return !Live(e); });
  std::make_heap(heap_.begin(), heap_.end(), Later{});
}

std::optional<MonoTime> TimerQueue::NextDeadline() {
  DropStaleTop();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().when;
}

size_t TimerQueue::RunDue(MonoTime now) {
  // Entries armed from here on (order >= limit) wait for the next call.
  const uint64_t limit = next_order_;
  size_t fired = 0;
  deferred_.clear();
  for (;;) {
    DropStaleTop();
    if (heap_.empty() || heap_.front().when > now) break;
    const Entry e = Pop();
    if (e.order >= limit) {
      deferred_.push_back(e);
      continue;
    }
    Slot& s = slots_[e.slot];
    s.armed = false;
    ++s.generation;
    --armed_;
    ++fired;
    s.timer->callback_();  // may arm, cancel or release slots: `s` is not used after this
  }
  for (const Entry& e : deferred_) {
    if (Live(e)) Push(e);
  }
  return fired;
}

}  // namespace udpbeat
