// Deadline-ordered one-shot timers for the event loop: no threads, no sleeps. The loop
// waits until NextDeadline() and then calls RunDue(now).
//
// A Timer is an RAII object with its callback bound once, at construction: arming it
// never allocates, re-arming moves it, and destroying it cancels it. Timers of one queue
// live on the queue's thread.
//
// RunDue(now) fires the timers that were due at `now` when it was called, earliest first
// (FIFO among equal deadlines). A timer a callback (re)arms for a time ≤ now fires at the
// next RunDue, not in this one: however far behind a schedule runs, one call ends, so the
// loop gets back to its completions and signals between calls.
//
// Memory: one slot per Timer object plus the heap. Re-arming leaves the old heap entry
// behind (skipped when it surfaces); the heap is compacted when stale entries outnumber
// live ones, so it stays within 2 × live timers + a small constant.
#ifndef UDPBEAT_TIME_TIMER_QUEUE_H_
#define UDPBEAT_TIME_TIMER_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

class TimerQueue;

class Timer {
 public:
  using Callback = absl::AnyInvocable<void()>;

  // The callback runs on the queue's thread; it may arm, cancel or destroy other timers
  // and re-arm its own, but must not destroy its own Timer.
  Timer(TimerQueue& queue, Callback callback);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fires at `when` (once); arming an armed timer moves it.
  void ArmAt(MonoTime when);
  void Cancel();
  bool armed() const;
  MonoTime deadline() const;  // valid while armed()

 private:
  friend class TimerQueue;
  TimerQueue& queue_;
  Callback callback_;
  uint32_t slot_;
};

class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
  ~TimerQueue();

  // The earliest armed deadline, if any.
  std::optional<MonoTime> NextDeadline();
  // Fires the timers due at `now` that were armed before this call (see above);
  // returns how many fired.
  size_t RunDue(MonoTime now);

  size_t armed() const { return armed_; }
  size_t heap_size() const { return heap_.size(); }

 private:
  friend class Timer;
  struct Slot {
    Timer* timer = nullptr;
    MonoTime when;
    uint32_t generation = 0;  // bumped on every arm, cancel and release
    bool armed = false;
  };
  struct Entry {
    MonoTime when;
    uint64_t order;  // arm order: FIFO among equal deadlines, and "armed before RunDue"
    uint32_t slot;
    uint32_t generation;
  };

  uint32_t Acquire(Timer* timer);
  void Release(uint32_t slot);
  void Arm(uint32_t slot, MonoTime when);
  void Disarm(uint32_t slot);
  bool Live(const Entry& e) const {
    const Slot& s = slots_[e.slot];
    return s.armed && s.generation == e.generation;
  }
  void Push(const Entry& e);
  Entry Pop();
  void DropStaleTop();
  void CompactIfStale();

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<Entry> heap_;  // min-heap on (when, order)
  std::vector<Entry> deferred_;
  uint64_t next_order_ = 0;
  size_t armed_ = 0;
};

}  // namespace udpbeat

#endif  // UDPBEAT_TIME_TIMER_QUEUE_H_
