#include "udpbeat/time/timer_queue.h"

namespace udpbeat {

TimerId TimerQueue::Schedule(MonoTime when, TimerHandler* handler, uint64_t cookie) {
  const TimerId id = next_id_++;
  heap_.push(Entry{when, id, handler, cookie});
  live_.insert(id);
  return id;
}

void TimerQueue::Cancel(TimerId id) { live_.erase(id); }

void TimerQueue::DropDeadTop() {
  while (!heap_.empty() && !live_.contains(heap_.top().id)) heap_.pop();
}

std::optional<MonoTime> TimerQueue::NextDeadline() {
  DropDeadTop();
  if (heap_.empty()) return std::nullopt;
  return heap_.top().when;
}

size_t TimerQueue::RunDue(MonoTime now) {
  size_t fired = 0;
  for (;;) {
    DropDeadTop();
    if (heap_.empty() || heap_.top().when > now) return fired;
    const Entry e = heap_.top();
    heap_.pop();
    live_.erase(e.id);
    ++fired;
    e.handler->OnTimer(e.cookie);
  }
}

}  // namespace udpbeat
