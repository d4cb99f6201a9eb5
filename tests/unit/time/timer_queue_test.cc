#include "udpbeat/time/timer_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace udpbeat {
namespace {

class Recorder : public TimerHandler {
 public:
  void OnTimer(uint64_t cookie) noexcept override { fired.push_back(cookie); }
  std::vector<uint64_t> fired;
};

MonoTime At(Nanos ms) { return MonoTime::FromNanos(ms * kNanosPerMilli); }

TEST(TimerQueue, FiresInDeadlineOrderThenFifo) {
  TimerQueue q;
  Recorder r;
  q.Schedule(At(30), &r, 3);
  q.Schedule(At(10), &r, 1);
  q.Schedule(At(20), &r, 2);
  q.Schedule(At(20), &r, 22);
  EXPECT_EQ(q.NextDeadline(), At(10));
  EXPECT_EQ(q.RunDue(At(20)), 3u);
  EXPECT_EQ(r.fired, (std::vector<uint64_t>{1, 2, 22}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.RunDue(At(29)), 0u);
  EXPECT_EQ(q.RunDue(At(30)), 1u);
  EXPECT_FALSE(q.NextDeadline().has_value());
}

TEST(TimerQueue, CancelSkipsAndIgnoresFiredIds) {
  TimerQueue q;
  Recorder r;
  const TimerId a = q.Schedule(At(1), &r, 1);
  const TimerId b = q.Schedule(At(2), &r, 2);
  q.Cancel(a);
  EXPECT_EQ(q.NextDeadline(), At(2));
  q.RunDue(At(5));
  q.Cancel(b);  // already fired: a no-op
  q.Cancel(12345);
  EXPECT_EQ(r.fired, std::vector<uint64_t>{2});
  EXPECT_EQ(q.size(), 0u);
}

class Rescheduler : public TimerHandler {
 public:
  explicit Rescheduler(TimerQueue& q) : q_(q) {}
  void OnTimer(uint64_t cookie) noexcept override {
    ++count;
    if (cookie < 3) q_.Schedule(At(static_cast<Nanos>(cookie)), this, cookie + 1);
  }
  int count = 0;

 private:
  TimerQueue& q_;
};

TEST(TimerQueue, HandlerMaySchedulePastDueTimers) {
  TimerQueue q;
  Rescheduler r(q);
  q.Schedule(At(0), &r, 0);
  EXPECT_EQ(q.RunDue(At(10)), 4u);
  EXPECT_EQ(r.count, 4);
}

}  // namespace
}  // namespace udpbeat
