// Deadline-ordered one-shot timers for the event loop: no threads, no sleeps. The loop
// waits in io_uring until NextDeadline() and then calls RunDue(now).
//
// Thread: the owning loop's. Cancel is O(1): the entry stays in the heap and is skipped
// when it reaches the top; cancelling a fired or unknown id is a no-op. Handlers may schedule and cancel timers from inside OnTimer.
#ifndef UDPBEAT_TIME_TIMER_QUEUE_H_
#define UDPBEAT_TIME_TIMER_QUEUE_H_

#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

class TimerHandler {
 public:
  virtual ~TimerHandler() = default;
  // `cookie` is the value given to Schedule; lets one handler own many timers.
  virtual void OnTimer(uint64_t cookie) noexcept = 0;
};

using TimerId = uint64_t;

class TimerQueue {
 public:
  TimerId Schedule(MonoTime when, TimerHandler* handler, uint64_t cookie = 0);
  void Cancel(TimerId id);
  std::optional<MonoTime> NextDeadline();
  // Fires every timer due at or before `now`, earliest first; returns how many fired.
  // Timers scheduled by a handler for a time ≤ now fire in the same call.
  size_t RunDue(MonoTime now);
  size_t size() const { return live_.size(); }

 private:
  struct Entry {
    MonoTime when;
    TimerId id;
    TimerHandler* handler;
    uint64_t cookie;
    bool operator>(const Entry& o) const {
      return when != o.when ? when > o.when : id > o.id;  // FIFO among equal deadlines
    }
  };
  void DropDeadTop();

  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  absl::flat_hash_set<TimerId> live_;  // scheduled, not yet fired or cancelled
  TimerId next_id_ = 1;
};

}  // namespace udpbeat

#endif  // UDPBEAT_TIME_TIMER_QUEUE_H_
