#include "udpbeat/stats/sequence_tracker.h"

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace udpbeat::stats {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kTimeout = 1000 * kMs;

// Probe `seq` goes out at seq-independent time t (ms); deadline t + 1 s.
void Send(SequenceTracker& t, uint32_t seq, int64_t at_ms) {
  t.OnSent(seq, at_ms * kMs, at_ms * kMs + kTimeout);
}

std::vector<uint32_t> ExpireAt(SequenceTracker& t, int64_t at_ms) {
  std::vector<uint32_t> timed_out;
  t.Expire(at_ms * kMs, [&](uint32_t seq) { timed_out.push_back(seq); });
  return timed_out;
}

void ExpectBalanced(const SequenceTracker& t) {
  EXPECT_EQ(t.sent(), t.on_time() + t.late() + t.lost());
  EXPECT_EQ(t.in_flight(), 0u);
}

TEST(SequenceTrackerTest, WindowIsRoundedToPowerOfTwo) {
  EXPECT_EQ(SequenceTracker().window(), 1024u);
  EXPECT_EQ(SequenceTracker(1000).window(), 1024u);
  EXPECT_EQ(SequenceTracker(1).window(), 1u);
  EXPECT_EQ(SequenceTracker(0).window(), 1u);
  EXPECT_EQ(SequenceTracker(4096).window(), 4096u);
  EXPECT_EQ(SequenceTracker(1024).MemoryBytes(),
            sizeof(SequenceTracker) + 1024 * 16);
}

TEST(SequenceTrackerTest, InOrderReplies) {
  SequenceTracker t;
  for (uint32_t seq = 1; seq <= 5; ++seq) {
    Send(t, seq, seq * 100);
    const ReplyResult r = t.OnReply(seq, (seq * 100 + 7) * kMs);
    EXPECT_EQ(r.kind, ReplyClass::kOnTime);
    EXPECT_FALSE(r.reordered);
    EXPECT_EQ(r.rtt_ns, 7 * kMs);
  }
  EXPECT_EQ(t.on_time(), 5u);
  EXPECT_EQ(t.received(), 5u);
  EXPECT_THAT(ExpireAt(t, 100'000), IsEmpty());
  t.Finish();
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.reordered(), 0u);
  EXPECT_EQ(t.longest_loss_burst(), 0u);
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, ReorderThreeBeforeTwo) {
  SequenceTracker t;
  for (uint32_t seq = 1; seq <= 3; ++seq) Send(t, seq, 0);
  EXPECT_FALSE(t.OnReply(1, 10 * kMs).reordered);
  EXPECT_FALSE(t.OnReply(3, 11 * kMs).reordered);
  const ReplyResult two = t.OnReply(2, 12 * kMs);
  EXPECT_EQ(two.kind, ReplyClass::kOnTime);
  EXPECT_TRUE(two.reordered);
  EXPECT_EQ(t.reordered(), 1u);
  EXPECT_EQ(t.on_time(), 3u);
  t.Finish();
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, DuplicateReply) {
  SequenceTracker t;
  Send(t, 1, 0);
  EXPECT_EQ(t.OnReply(1, 5 * kMs).kind, ReplyClass::kOnTime);
  const ReplyResult dup = t.OnReply(1, 9 * kMs);
  EXPECT_EQ(dup.kind, ReplyClass::kDuplicate);
  EXPECT_FALSE(dup.reordered);
  EXPECT_EQ(dup.rtt_ns, 9 * kMs);
  EXPECT_EQ(t.duplicate(), 1u);
  EXPECT_EQ(t.on_time(), 1u);
  EXPECT_EQ(t.received(), 1u);
  t.Finish();
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, LateReplyAfterTimeoutIsReceivedNotLost) {
  SequenceTracker t;
  Send(t, 1, 0);  // deadline 1000 ms
  Send(t, 2, 500);
  EXPECT_THAT(ExpireAt(t, 999), IsEmpty());
  EXPECT_THAT(ExpireAt(t, 1000), IsEmpty());  // at the deadline: not past
  EXPECT_THAT(ExpireAt(t, 1001), ElementsAre(1u));
  EXPECT_THAT(ExpireAt(t, 1200), IsEmpty());  // reported once
  EXPECT_EQ(t.timed_out(), 1u);
  EXPECT_EQ(t.in_flight(), 2u);

  const ReplyResult late = t.OnReply(1, 1300 * kMs);
  EXPECT_EQ(late.kind, ReplyClass::kLate);
  EXPECT_EQ(late.rtt_ns, 1300 * kMs);
  // Exactly at its deadline is on time; never credited to probe 1.
  const ReplyResult two = t.OnReply(2, 1500 * kMs);
  EXPECT_EQ(two.kind, ReplyClass::kOnTime);
  EXPECT_EQ(two.rtt_ns, 1000 * kMs);
  EXPECT_THAT(ExpireAt(t, 5000), IsEmpty());
  t.Finish();
  EXPECT_EQ(t.late(), 1u);
  EXPECT_EQ(t.on_time(), 1u);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.timed_out(), 1u);
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, LateIsDecidedByDeadlineEvenWithoutExpire) {
  SequenceTracker t;
  Send(t, 7, 0);
  EXPECT_EQ(t.OnReply(7, 1001 * kMs).kind, ReplyClass::kLate);
  EXPECT_EQ(t.timed_out(), 0u);
  EXPECT_THAT(ExpireAt(t, 9000), IsEmpty());
}

TEST(SequenceTrackerTest, ExpireReportsInSequenceOrderAndStopsAtFirstPending) {
  SequenceTracker t;
  for (uint32_t seq = 10; seq < 15; ++seq) Send(t, seq, (seq - 10) * 100);
  t.OnReply(11, 50 * kMs);
  EXPECT_THAT(ExpireAt(t, 1250), ElementsAre(10u, 12u));
  EXPECT_THAT(ExpireAt(t, 5000), ElementsAre(13u, 14u));
  EXPECT_EQ(t.timed_out(), 4u);
}

TEST(SequenceTrackerTest, LossBursts) {
  // Lost 2, 3, 4 then 7: longest burst 3.
  SequenceTracker t;
  for (uint32_t seq = 1; seq <= 8; ++seq) Send(t, seq, seq);
  for (uint32_t seq : {1u, 5u, 6u, 8u}) {
    EXPECT_EQ(t.OnReply(seq, 100 * kMs).kind, ReplyClass::kOnTime);
  }
  EXPECT_EQ(t.lost(), 0u);  // not final yet
  EXPECT_EQ(t.in_flight(), 4u);
  t.Finish();
  EXPECT_EQ(t.lost(), 4u);
  EXPECT_EQ(t.longest_loss_burst(), 3u);
  ExpectBalanced(t);
  EXPECT_EQ(t.OnReply(3, 200 * kMs).kind, ReplyClass::kUnknown);  // stays lost
  EXPECT_EQ(t.lost(), 4u);
}

TEST(SequenceTrackerTest, WrapAt2To32WithReorderAndLoss) {
  SequenceTracker t(8);
  const uint32_t seqs[] = {0xFFFFFFFEu, 0xFFFFFFFFu, 0u, 1u, 2u};
  for (int i = 0; i < 5; ++i) Send(t, seqs[i], i * 10);
  EXPECT_FALSE(t.OnReply(0u, 100 * kMs).reordered);
  EXPECT_TRUE(t.OnReply(0xFFFFFFFFu, 101 * kMs).reordered);  // before 0
  EXPECT_TRUE(t.OnReply(0xFFFFFFFEu, 102 * kMs).reordered);
  const ReplyResult two = t.OnReply(2u, 103 * kMs);
  EXPECT_FALSE(two.reordered);
  EXPECT_EQ(two.rtt_ns, 63 * kMs);
  EXPECT_EQ(t.OnReply(0xFFFFFFFEu, 104 * kMs).kind, ReplyClass::kDuplicate);
  EXPECT_EQ(t.OnReply(3u, 104 * kMs).kind, ReplyClass::kUnknown);  // not sent
  t.Finish();
  EXPECT_EQ(t.reordered(), 2u);
  EXPECT_EQ(t.lost(), 1u);  // seq 1
  EXPECT_EQ(t.longest_loss_burst(), 1u);
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, LossBurstAcrossTheWrap) {
  SequenceTracker t(8);
  const uint32_t seqs[] = {0xFFFFFFFDu, 0xFFFFFFFEu, 0xFFFFFFFFu, 0u, 1u};
  for (uint32_t seq : seqs) Send(t, seq, 0);
  t.OnReply(0xFFFFFFFDu, kMs);
  t.OnReply(1u, kMs);
  EXPECT_THAT(ExpireAt(t, 2000), ElementsAre(0xFFFFFFFEu, 0xFFFFFFFFu, 0u));
  t.Finish();
  EXPECT_EQ(t.lost(), 3u);
  EXPECT_EQ(t.longest_loss_burst(), 3u);
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, WindowOverflowRetiresAsLost) {
  SequenceTracker t(4);
  for (uint32_t seq = 0; seq < 4; ++seq) Send(t, seq, seq);
  EXPECT_EQ(t.lost(), 0u);
  Send(t, 4, 4);  // needs seq 0's slot
  EXPECT_EQ(t.lost(), 1u);
  Send(t, 5, 5);
  EXPECT_EQ(t.lost(), 2u);
  EXPECT_EQ(t.in_flight(), 4u);
  EXPECT_EQ(t.OnReply(0, 10 * kMs).kind, ReplyClass::kUnknown);  // left window
  EXPECT_EQ(t.OnReply(2, 10 * kMs).kind, ReplyClass::kOnTime);
  // Only probes still in the window can time out.
  EXPECT_THAT(ExpireAt(t, 9000), ElementsAre(3u, 4u, 5u));
  t.Finish();
  EXPECT_EQ(t.lost(), 5u);                // 0, 1, 3, 4, 5
  EXPECT_EQ(t.longest_loss_burst(), 3u);  // 3, 4, 5
  EXPECT_EQ(t.unknown(), 1u);
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, WindowOverflowBeforeExpireSkipsRetired) {
  SequenceTracker t(4);
  for (uint32_t seq = 0; seq < 10; ++seq) Send(t, seq, 0);
  EXPECT_THAT(ExpireAt(t, 9000), ElementsAre(6u, 7u, 8u, 9u));
}

TEST(SequenceTrackerTest, UnknownReplies) {
  SequenceTracker t;
  EXPECT_EQ(t.OnReply(1, 0).kind, ReplyClass::kUnknown);  // nothing sent
  Send(t, 1, 0);
  Send(t, 3, 0);  // 2 never sent
  const ReplyResult r = t.OnReply(2, kMs);
  EXPECT_EQ(r.kind, ReplyClass::kUnknown);
  EXPECT_FALSE(r.reordered);
  EXPECT_EQ(r.rtt_ns, 0);
  EXPECT_EQ(t.OnReply(4, kMs).kind, ReplyClass::kUnknown);            // future
  EXPECT_EQ(t.OnReply(0x80000003u, kMs).kind, ReplyClass::kUnknown);  // far
  EXPECT_EQ(t.unknown(), 4u);
  EXPECT_EQ(t.received(), 0u);
  t.Finish();
  EXPECT_EQ(t.OnReply(3, kMs).kind, ReplyClass::kUnknown);
  EXPECT_EQ(t.lost(), 2u);
  EXPECT_EQ(t.longest_loss_burst(), 2u);  // the unsent 2 does not break it
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, SendsNotAfterTheHighestAreRejected) {
  SequenceTracker t;
  Send(t, 5, 0);
  Send(t, 5, 1);
  Send(t, 3, 2);
  EXPECT_EQ(t.sent(), 1u);
  EXPECT_EQ(t.rejected_sends(), 2u);
}

TEST(SequenceTrackerTest, GapOfAWindowOrMoreRetiresEverything) {
  SequenceTracker t(4);
  Send(t, 0, 0);
  Send(t, 1, 0);
  Send(t, 100, 10);
  EXPECT_EQ(t.lost(), 2u);
  EXPECT_EQ(t.longest_loss_burst(), 2u);
  EXPECT_EQ(t.OnReply(1, kMs).kind, ReplyClass::kUnknown);
  EXPECT_EQ(t.OnReply(100, 20 * kMs).kind, ReplyClass::kOnTime);
  t.Finish();
  ExpectBalanced(t);
}

TEST(SequenceTrackerTest, HugeAndPastDeadlines) {
  SequenceTracker t;
  t.OnSent(1, 0, INT64_MAX);  // clamped to kMaxTimeoutNs: about 2.3 years
  t.OnSent(2, 100, 50);       // deadline before send: any later reply is late
  EXPECT_EQ(t.OnReply(1, 365 * 86'400 * 1'000'000'000LL).kind,
            ReplyClass::kOnTime);
  EXPECT_EQ(t.OnReply(2, 100).kind, ReplyClass::kOnTime);  // at the send time
  t.OnSent(3, 100, 50);
  EXPECT_EQ(t.OnReply(3, 101).kind, ReplyClass::kLate);
  t.OnSent(4, 0, INT64_MAX);
  EXPECT_EQ(t.OnReply(4, INT64_MAX).kind, ReplyClass::kLate);
  t.OnSent(5, INT64_MIN, INT64_MAX);  // no overflow anywhere
  EXPECT_EQ(t.OnReply(5, INT64_MAX).kind, ReplyClass::kLate);
}

TEST(SequenceTrackerTest, CopyIsIndependent) {
  SequenceTracker a(16);
  Send(a, 1, 0);
  SequenceTracker b = a;
  EXPECT_EQ(b.OnReply(1, kMs).kind, ReplyClass::kOnTime);
  EXPECT_EQ(a.received(), 0u);
  EXPECT_EQ(a.OnReply(1, kMs).kind, ReplyClass::kOnTime);
  SequenceTracker c(4);
  c = b;
  EXPECT_EQ(c.window(), 16u);
  EXPECT_EQ(c.OnReply(1, kMs).kind, ReplyClass::kDuplicate);
}

TEST(SequenceCountersTest, MergeSumsAndTakesMaxBurst) {
  SequenceCounters a{10, 6, 1, 2, 1, 3, 2, 3, 2, 0};
  const SequenceCounters b{5, 2, 0, 0, 0, 1, 3, 3, 3, 1};
  a.Merge(b);
  EXPECT_EQ(a.sent, 15u);
  EXPECT_EQ(a.on_time, 8u);
  EXPECT_EQ(a.late, 1u);
  EXPECT_EQ(a.duplicate, 2u);
  EXPECT_EQ(a.reordered, 1u);
  EXPECT_EQ(a.unknown, 4u);
  EXPECT_EQ(a.timed_out, 5u);
  EXPECT_EQ(a.lost, 6u);
  EXPECT_EQ(a.longest_loss_burst, 3u);
  EXPECT_EQ(a.rejected_sends, 1u);
  EXPECT_EQ(a.received(), 9u);
}

// A straightforward model over unwrapped 64-bit sequence numbers, checked
// against the tracker on a long random script that crosses 2^32.
class Model {
 public:
  explicit Model(uint64_t window) : window_(window) {}

  void Send(uint64_t u, int64_t sent, int64_t deadline) {
    while (!probes_.empty() && probes_.begin()->first + window_ <= u) {
      Retire(probes_.begin()->second);
      probes_.erase(probes_.begin());
    }
    probes_[u] = Probe{sent, deadline};
    highest_sent_ = u;
    ++c.sent;
  }

  ReplyResult Reply(uint64_t u, int64_t now) {
    auto it = probes_.find(u);
    if (it == probes_.end()) {
      ++c.unknown;
      return {ReplyClass::kUnknown, false, 0};
    }
    Probe& p = it->second;
    const int64_t rtt = now - p.sent;
    if (p.answered) {
      ++c.duplicate;
      return {ReplyClass::kDuplicate, false, rtt};
    }
    p.answered = true;
    const ReplyClass kind =
        now > p.deadline ? ReplyClass::kLate : ReplyClass::kOnTime;
    ++(kind == ReplyClass::kLate ? c.late : c.on_time);
    const bool reordered = has_answered_ &&
                           highest_sent_ - highest_answered_ < window_ &&
                           u < highest_answered_;
    if (reordered) {
      ++c.reordered;
    } else {
      highest_answered_ = u;
      has_answered_ = true;
    }
    return {kind, reordered, rtt};
  }

  std::vector<uint32_t> Expire(int64_t now) {
    std::vector<uint32_t> out;
    for (auto& [u, p] : probes_) {
      if (!p.answered && !p.timed_out && now > p.deadline) {
        p.timed_out = true;
        ++c.timed_out;
        out.push_back(static_cast<uint32_t>(u));
      }
    }
    return out;
  }

  void Finish() {
    for (auto& [u, p] : probes_) Retire(p);
    probes_.clear();
  }

  SequenceCounters c;

 private:
  struct Probe {
    int64_t sent;
    int64_t deadline;
    bool answered = false;
    bool timed_out = false;
  };
  void Retire(const Probe& p) {
    if (p.answered) {
      burst_ = 0;
      return;
    }
    ++c.lost;
    ++burst_;
    if (burst_ > c.longest_loss_burst) c.longest_loss_burst = burst_;
  }

  uint64_t window_;
  std::map<uint64_t, Probe> probes_;
  uint64_t highest_sent_ = 0;
  uint64_t highest_answered_ = 0;
  bool has_answered_ = false;
  uint64_t burst_ = 0;
};

void ExpectSameCounters(const SequenceCounters& a, const SequenceCounters& b) {
  EXPECT_EQ(a.sent, b.sent);
  EXPECT_EQ(a.on_time, b.on_time);
  EXPECT_EQ(a.late, b.late);
  EXPECT_EQ(a.duplicate, b.duplicate);
  EXPECT_EQ(a.reordered, b.reordered);
  EXPECT_EQ(a.unknown, b.unknown);
  EXPECT_EQ(a.timed_out, b.timed_out);
  EXPECT_EQ(a.lost, b.lost);
  EXPECT_EQ(a.longest_loss_burst, b.longest_loss_burst);
}

TEST(SequenceTrackerTest, MatchesReferenceModelOnRandomScript) {
  constexpr uint64_t kWindow = 64;
  constexpr int64_t kStep = 10, kDeadline = 150;
  SequenceTracker tracker(kWindow);
  Model model(kWindow);
  std::mt19937_64 rng(20240601);
  uint64_t next = (uint64_t{1} << 32) - 20'000;  // crosses the wrap
  int64_t now = 0;
  std::vector<uint64_t> sent;
  for (int op = 0; op < 200'000; ++op) {
    now += static_cast<int64_t>(rng() % 4);
    switch (rng() % 8) {
      case 0:
      case 1:
      case 2: {
        next += (rng() % 16 == 0) ? 2 + rng() % 3 : 1;  // occasional gap
        if (rng() % 5000 == 0) next += kWindow + rng() % 10;
        tracker.OnSent(static_cast<uint32_t>(next), now, now + kDeadline);
        model.Send(next, now, now + kDeadline);
        sent.push_back(next);
        now += kStep;
        break;
      }
      case 3:
      case 4:
      case 5:
      case 6: {
        if (sent.empty()) break;
        // Mostly recent probes, some older than the window, some never sent.
        const uint64_t back = rng() % 3 == 0 ? rng() % 100 : rng() % 8;
        const uint64_t u = next + 2 - back;  // up to 2 ahead of the last sent
        const ReplyResult want = model.Reply(u, now);
        const ReplyResult got = tracker.OnReply(static_cast<uint32_t>(u), now);
        ASSERT_EQ(got.kind, want.kind) << "op " << op << " seq " << u;
        ASSERT_EQ(got.reordered, want.reordered) << "op " << op;
        ASSERT_EQ(got.rtt_ns, want.rtt_ns) << "op " << op;
        break;
      }
      case 7: {
        std::vector<uint32_t> got;
        tracker.Expire(now, [&](uint32_t seq) { got.push_back(seq); });
        ASSERT_EQ(got, model.Expire(now)) << "op " << op;
        break;
      }
    }
  }
  ExpectSameCounters(tracker.counters(), model.c);
  tracker.Finish();
  model.Finish();
  ExpectSameCounters(tracker.counters(), model.c);
  ExpectBalanced(tracker);
  EXPECT_GT(tracker.late(), 0u);
  EXPECT_GT(tracker.lost(), 0u);
  EXPECT_GT(tracker.reordered(), 0u);
  EXPECT_GT(tracker.duplicate(), 0u);
  EXPECT_GT(tracker.unknown(), 0u);
  EXPECT_GT(tracker.longest_loss_burst(), 1u);
}

}  // namespace
}  // namespace udpbeat::stats

namespace udpbeat::stats {
namespace {

// A run stopped while probes could still be answered: those stay in flight (neither lost
// nor received, and they do not end a loss burst); those past their deadline are lost.
TEST(SequenceTrackerFinishAt, ProbesWithinTheirDeadlineStayInFlight) {
  SequenceTracker t(16);
  t.OnSent(0, 0, 100);
  t.OnSent(1, 10, 110);
  t.OnSent(2, 20, 120);
  t.OnSent(3, 30, 130);
  EXPECT_EQ(t.OnReply(2, 50).kind, ReplyClass::kOnTime);
  t.FinishAt(115);  // 0 and 1 are past their deadlines; 3 is not
  EXPECT_EQ(t.lost(), 2u);
  EXPECT_EQ(t.in_flight(), 1u);
  EXPECT_EQ(t.counters().stopped_in_flight, 1u);
  EXPECT_EQ(t.awaiting(), 0u);
  EXPECT_EQ(t.sent(), t.received() + t.lost() + t.in_flight());
  EXPECT_EQ(t.OnReply(3, 140).kind, ReplyClass::kUnknown);  // the run is over
}

// A probe whose send failed is taken back: a number never sent, neither lost nor in
// flight, breaking no loss burst; a reply to it is unknown; taken back once only.
TEST(SequenceTrackerTest, AnUnsentProbeIsANumberNeverSent) {
  SequenceTracker t(16);
  Send(t, 1, 0);
  Send(t, 2, 1);
  Send(t, 3, 2);
  Send(t, 4, 3);
  EXPECT_EQ(t.awaiting(), 4u);
  EXPECT_TRUE(t.Unsend(2));
  EXPECT_FALSE(t.Unsend(2));   // once
  EXPECT_FALSE(t.Unsend(9));   // never sent
  EXPECT_EQ(t.sent(), 3u);
  EXPECT_EQ(t.awaiting(), 3u);
  EXPECT_EQ(t.OnReply(2, 5 * kMs).kind, ReplyClass::kUnknown);
  EXPECT_EQ(t.OnReply(4, 5 * kMs).kind, ReplyClass::kOnTime);
  EXPECT_FALSE(t.Unsend(4));   // answered: it did leave
  EXPECT_THAT(ExpireAt(t, 2000), ElementsAre(1, 3));
  EXPECT_TRUE(t.Unsend(3));    // timed out already: still taken back
  t.Finish();
  EXPECT_EQ(t.sent(), 2u);
  EXPECT_EQ(t.lost(), 1u);
  EXPECT_EQ(t.received(), 1u);
  EXPECT_EQ(t.longest_loss_burst(), 1u);
  ExpectBalanced(t);
}

}  // namespace
}  // namespace udpbeat::stats
