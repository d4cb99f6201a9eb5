#include "udpbeat/time/timer_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace udpbeat {
namespace {

MonoTime At(Nanos ms) { return MonoTime::FromNanos(ms * kNanosPerMilli); }

TEST(TimerQueue, FiresInDeadlineOrderThenFifo) {
  TimerQueue q;
  std::vector<int> fired;
  Timer t3(q, [&] { fired.push_back(3); });
  Timer t1(q, [&] { fired.push_back(1); });
  Timer t2(q, [&] { fired.push_back(2); });
  Timer t22(q, [&] { fired.push_back(22); });
  t3.ArmAt(At(30));
  t1.ArmAt(At(10));
  t2.ArmAt(At(20));
  t22.ArmAt(At(20));
  EXPECT_EQ(q.NextDeadline(), At(10));
  EXPECT_EQ(q.RunDue(At(20)), 3u);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 22}));
  EXPECT_EQ(q.armed(), 1u);
  EXPECT_EQ(q.RunDue(At(29)), 0u);
  EXPECT_EQ(q.RunDue(At(30)), 1u);
  EXPECT_FALSE(q.NextDeadline().has_value());
  EXPECT_FALSE(t3.armed());
}

TEST(TimerQueue, CancelAndRearmMoveTheTimer) {
  TimerQueue q;
  int a = 0, b = 0;
  Timer ta(q, [&] { ++a; });
  Timer tb(q, [&] { ++b; });
  ta.ArmAt(At(1));
  tb.ArmAt(At(2));
  ta.Cancel();
  EXPECT_EQ(q.NextDeadline(), At(2));
  tb.ArmAt(At(7));  // moved later: the entry at 2 is stale
  EXPECT_EQ(q.NextDeadline(), At(7));
  EXPECT_EQ(q.RunDue(At(5)), 0u);
  EXPECT_EQ(q.RunDue(At(7)), 1u);
  ta.Cancel();  // not armed: a no-op
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
}

TEST(TimerQueue, DestroyingATimerCancelsIt) {
  TimerQueue q;
  int fired = 0;
  auto t = std::make_unique<Timer>(q, [&] { ++fired; });
  t->ArmAt(At(1));
  t.reset();
  EXPECT_FALSE(q.NextDeadline().has_value());
  EXPECT_EQ(q.RunDue(At(10)), 0u);
  EXPECT_EQ(fired, 0);
  // The slot is reused by the next timer without confusing the two.
  Timer again(q, [&] { fired += 10; });
  again.ArmAt(At(2));
  EXPECT_EQ(q.RunDue(At(10)), 1u);
  EXPECT_EQ(fired, 10);
}

// A schedule that is far behind (every re-arm already due) must not keep one RunDue
// call busy forever: re-arms fire at the next call, and timers due meanwhile still fire.
TEST(TimerQueue, RearmsForThePastWaitForTheNextCall) {
  TimerQueue q;
  int sends = 0, stops = 0;
  Timer send(q, [&] {
    ++sends;
    send.ArmAt(At(0));  // still due
  });
  Timer stop(q, [&] { ++stops; });
  send.ArmAt(At(0));
  stop.ArmAt(At(5));
  EXPECT_EQ(q.RunDue(At(10)), 2u);
  EXPECT_EQ(sends, 1);
  EXPECT_EQ(stops, 1);
  EXPECT_EQ(q.RunDue(At(10)), 1u);
  EXPECT_EQ(sends, 2);
}

TEST(TimerQueue, CallbackMayDestroyAnotherTimerDueInTheSameCall) {
  TimerQueue q;
  int second = 0;
  auto victim = std::make_unique<Timer>(q, [&] { ++second; });
  Timer killer(q, [&] { victim.reset(); });
  killer.ArmAt(At(1));
  victim->ArmAt(At(2));
  EXPECT_EQ(q.RunDue(At(3)), 1u);
  EXPECT_EQ(second, 0);
}

// Memory is bounded by live timers, however often they are re-armed.
TEST(TimerQueue, ReArmingKeepsTheHeapBounded) {
  TimerQueue q;
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < 100; ++i) timers.push_back(std::make_unique<Timer>(q, [] {}));
  for (int round = 0; round < 1000; ++round) {
    for (auto& t : timers) t->ArmAt(At(1000 + round));
  }
  EXPECT_EQ(q.armed(), 100u);
  EXPECT_LE(q.heap_size(), 2 * 100u + 64u + 1u);
}

}  // namespace
}  // namespace udpbeat
