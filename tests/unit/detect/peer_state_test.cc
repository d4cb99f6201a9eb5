#include "udpbeat/detect/peer_state.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "udpbeat/detect/miss_detector.h"
#include "udpbeat/detect/phi_accrual.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::detect {
namespace {

constexpr Nanos kMs = kNanosPerMilli;
constexpr Nanos kSec = kNanosPerSecond;

MonoTime At(Nanos ns) { return MonoTime::FromNanos(ns); }

Verdicts Misses(int n, int k) {
  Verdicts v;
  v.consecutive_misses = n;
  v.misses_for_down = k;
  return v;
}

Verdicts Phi(double phi, double threshold = 8.0, int misses = 0, int k = 3) {
  Verdicts v = Misses(misses, k);
  v.phi_enabled = true;
  v.phi = phi;
  v.phi_threshold = threshold;
  return v;
}

TEST(PeerStateTest, StateNames) {
  EXPECT_EQ(StateName(State::kUp), "up");
  EXPECT_EQ(StateName(State::kSuspect), "suspect");
  EXPECT_EQ(StateName(State::kDown), "down");
}

TEST(PeerStateTest, StartsUpWithNoOutages) {
  PeerStateMachine p(At(kSec));
  EXPECT_EQ(p.state(), State::kUp);
  EXPECT_EQ(p.since(), At(kSec));
  EXPECT_EQ(p.outages(), 0);
  EXPECT_EQ(p.TimeDown(At(100 * kSec)), 0);
  EXPECT_FALSE(p.OnReply(At(2 * kSec)).has_value());  // already up
  EXPECT_FALSE(p.Evaluate(Misses(0, 3), At(2 * kSec)).has_value());
}

// One step of a scripted run through real detectors: a heartbeat outcome at
// time `t` ('R' on-time reply, 'M' miss) and the transition it must report,
// if any ("" = none).
struct Step {
  Nanos t;
  char event;
  std::string expect;  // "from->to: reason"
};

std::string Describe(const std::optional<Transition>& t) {
  if (!t) return "";
  return std::string(StateName(t->from)) + "->" +
         std::string(StateName(t->to)) + ": " + t->reason();
}

struct ScriptCase {
  std::string name;
  int k;
  std::vector<Step> steps;
  int outages;
  Nanos end;        // TimeDown is read here
  Nanos time_down;  // expected
};

class PeerStateScriptTest : public testing::TestWithParam<ScriptCase> {};

TEST_P(PeerStateScriptTest, ReportsEachTransitionOnce) {
  const ScriptCase& c = GetParam();
  FakeClock clock;
  const MonoTime start = clock.Now();
  MissDetector misses(c.k);
  PeerStateMachine peer(start);
  for (const Step& s : c.steps) {
    clock.Set(start + s.t);
    const MonoTime now = clock.Now();
    std::optional<Transition> t;
    if (s.event == 'R') {
      misses.OnReply();
      t = peer.OnReply(now);
    } else {
      misses.OnMiss();
      t = peer.Evaluate(Verdicts::Read(misses, nullptr, now), now);
    }
    EXPECT_EQ(Describe(t), s.expect) << "at " << s.t << " ns";
    if (t) {
      EXPECT_EQ(t->at, now);
      EXPECT_EQ(peer.state(), t->to);
      EXPECT_EQ(peer.since(), now);
    }
    // Evaluating again at once never repeats a report.
    EXPECT_FALSE(
        peer.Evaluate(Verdicts::Read(misses, nullptr, now), now).has_value());
  }
  EXPECT_EQ(peer.outages(), c.outages);
  clock.Set(start + c.end);
  EXPECT_EQ(peer.TimeDown(clock.Now()), c.time_down);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PeerStateScriptTest,
    testing::Values(
        // K = 3, 1 s heartbeats: suspect on the first miss, down on exactly
        // the third, up on the next reply; then an outage still going on.
        // Down 3 s..5 s (2 s) + 9 s..12 s (ongoing up to 12 s) = 5 s.
        ScriptCase{
            "LabK3",
            3,
            {{0, 'R', ""},
             {1 * kSec, 'M', "up->suspect: 1 heartbeat missed"},
             {2 * kSec, 'M', ""},
             {3 * kSec, 'M', "suspect->down: 3 consecutive heartbeats missed"},
             {4 * kSec, 'M', ""},
             {5 * kSec, 'R', "down->up: on-time reply"},
             {6 * kSec, 'R', ""},
             {7 * kSec, 'M', "up->suspect: 1 heartbeat missed"},
             {8 * kSec, 'M', ""},
             {9 * kSec, 'M', "suspect->down: 3 consecutive heartbeats missed"},
             {10 * kSec, 'M', ""}},
            2,
            12 * kSec,
            5 * kSec},
        // Suspect, then a reply before K: no outage.
        ScriptCase{"SuspectOnly",
                   3,
                   {{1 * kSec, 'M', "up->suspect: 1 heartbeat missed"},
                    {2 * kSec, 'M', ""},
                    {3 * kSec, 'R', "suspect->up: on-time reply"},
                    {4 * kSec, 'M', "up->suspect: 1 heartbeat missed"},
                    {5 * kSec, 'R', "suspect->up: on-time reply"}},
                   0,
                   10 * kSec,
                   0},
        // K = 1: straight from up to down, one report.
        ScriptCase{"K1",
                   1,
                   {{20 * kMs, 'M', "up->down: 1 heartbeat missed"},
                    {40 * kMs, 'M', ""},
                    {60 * kMs, 'R', "down->up: on-time reply"},
                    {80 * kMs, 'M', "up->down: 1 heartbeat missed"},
                    {100 * kMs, 'R', "down->up: on-time reply"}},
                   2,
                   200 * kMs,
                   60 * kMs},
        // K = 5 at 20 ms: down on exactly the fifth miss.
        ScriptCase{
            "K5At20ms",
            5,
            {{20 * kMs, 'R', ""},
             {40 * kMs, 'M', "up->suspect: 1 heartbeat missed"},
             {60 * kMs, 'M', ""},
             {80 * kMs, 'M', ""},
             {100 * kMs, 'M', ""},
             {120 * kMs, 'M', "suspect->down: 5 consecutive heartbeats missed"},
             {140 * kMs, 'M', ""},
             {160 * kMs, 'R', "down->up: on-time reply"}},
            1,
            1 * kSec,
            40 * kMs}),
    [](const testing::TestParamInfo<ScriptCase>& info) {
      return info.param.name;
    });

TEST(PeerStateTest, TransitionCarriesTimeInPreviousState) {
  FakeClock clock;
  const MonoTime start = clock.Now();
  PeerStateMachine p(start);
  clock.Advance(1 * kSec);
  auto s = p.Evaluate(Misses(1, 3), clock.Now());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->time_in_from, 1 * kSec);
  clock.Advance(2 * kSec);
  auto d = p.Evaluate(Misses(3, 3), clock.Now());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->time_in_from, 2 * kSec);
  EXPECT_EQ(d->consecutive_misses, 3);
  EXPECT_EQ(d->cause, Cause::kMisses);
  clock.Advance(4500 * kMs);
  auto u = p.OnReply(clock.Now());
  ASSERT_TRUE(u);
  EXPECT_EQ(u->time_in_from, 4500 * kMs);  // the outage's length
  EXPECT_EQ(u->cause, Cause::kReply);
  clock.Advance(100 * kSec);
  EXPECT_EQ(p.TimeDown(clock.Now()), 4500 * kMs);
}

TEST(PeerStateTest, OngoingOutageCountsUpToNow) {
  FakeClock clock;
  const MonoTime start = clock.Now();
  PeerStateMachine p(start);
  clock.Advance(10 * kSec);
  ASSERT_TRUE(p.Evaluate(Misses(3, 3), clock.Now()));
  EXPECT_EQ(p.TimeDown(clock.Now()), 0);
  clock.Advance(2 * kSec);
  EXPECT_EQ(p.TimeDown(clock.Now()), 2 * kSec);
  clock.Advance(3 * kSec);
  EXPECT_EQ(p.TimeDown(clock.Now()), 5 * kSec);
  EXPECT_EQ(p.TimeDown(start + 9 * kSec), 0);  // asked for an earlier time: never negative
  EXPECT_EQ(p.outages(), 1);
}

TEST(PeerStateTest, NeverDeescalatesWithoutAReply) {
  FakeClock clock;
  PeerStateMachine p(clock.Now());
  clock.Advance(1 * kSec);
  const MonoTime down = clock.Now();
  ASSERT_TRUE(p.Evaluate(Phi(9.0), clock.Now()));
  EXPECT_EQ(p.state(), State::kDown);
  // Readings that fell back (a late reply fed phi): still down.
  clock.Advance(1 * kSec);
  EXPECT_FALSE(p.Evaluate(Phi(0.1), clock.Now()));
  clock.Advance(1 * kSec);
  EXPECT_FALSE(p.Evaluate(Phi(5.0), clock.Now()));
  EXPECT_FALSE(p.Evaluate(Misses(1, 3), clock.Now()));
  EXPECT_EQ(p.state(), State::kDown);
  EXPECT_EQ(p.since(), down);
  EXPECT_EQ(p.outages(), 1);
}

struct PhiRuleCase {
  std::string name;
  Verdicts verdicts;
  State to;
  Cause cause;
  std::string reason;
};

class PeerStatePhiRuleTest : public testing::TestWithParam<PhiRuleCase> {};

TEST_P(PeerStatePhiRuleTest, FromUp) {
  const PhiRuleCase& c = GetParam();
  PeerStateMachine p(At(0));
  std::optional<Transition> t = p.Evaluate(c.verdicts, At(kSec));
  if (c.to == State::kUp) {
    EXPECT_FALSE(t.has_value()) << Describe(t);
    return;
  }
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to, c.to);
  EXPECT_EQ(t->cause, c.cause);
  EXPECT_EQ(t->reason(), c.reason);
}

Verdicts PhiOff(double phi) {
  Verdicts v = Phi(phi);
  v.phi_enabled = false;
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PeerStatePhiRuleTest,
    testing::Values(
        PhiRuleCase{"BelowHalf", Phi(3.99), State::kUp, Cause::kPhi, ""},
        PhiRuleCase{"HalfIsSuspect", Phi(4.1), State::kSuspect, Cause::kPhi,
                    "phi 4.1 >= 4"},
        PhiRuleCase{"ThresholdIsDown", Phi(8.4), State::kDown, Cause::kPhi,
                    "phi 8.4 >= 8"},
        PhiRuleCase{"ExactlyThreshold", Phi(8.0), State::kDown, Cause::kPhi,
                    "phi 8.0 >= 8"},
        PhiRuleCase{"RoundingNeverPrintsBelowLimit", Phi(8.444, 8.44),
                    State::kDown, Cause::kPhi, "phi 8.44 >= 8.44"},
        PhiRuleCase{"DisabledPhiIgnored", PhiOff(100.0), State::kUp,
                    Cause::kPhi, ""},
        PhiRuleCase{"BothSuspect", Phi(4.5, 8.0, 1), State::kSuspect,
                    Cause::kMissesAndPhi, "1 heartbeat missed, phi 4.5 >= 4"},
        // Down by misses while phi is only suspicious: misses alone named.
        PhiRuleCase{"DownByMissesOnly", Phi(5.0, 8.0, 3), State::kDown,
                    Cause::kMisses, "3 consecutive heartbeats missed"},
        PhiRuleCase{"DownByPhiOnly", Phi(12.0, 8.0, 1), State::kDown,
                    Cause::kPhi, "phi 12.0 >= 8"},
        PhiRuleCase{"DownByBoth", Phi(8.4, 8.0, 3), State::kDown,
                    Cause::kMissesAndPhi,
                    "3 consecutive heartbeats missed, phi 8.4 >= 8"}),
    [](const testing::TestParamInfo<PhiRuleCase>& info) {
      return info.param.name;
    });

TEST(PeerStateTest, WithRealPhiDetectorAt20ms) {
  // The fast configuration: 20 ms heartbeats, no pause, min sd 5 ms. Phi
  // reaches 4 (suspect) at 20 + 3.638 * 5 = 38.2 ms of silence and 8 (down)
  // at 20 + 5.226 * 5 = 46.1 ms; misses (K = 3, a miss per 20 ms tick after
  // a 20 ms timeout) would need 60+ ms, so phi decides first here.
  PhiAccrualOptions o;
  o.acceptable_heartbeat_pause = 0;
  o.min_std_deviation = 5 * kMs;
  o.first_heartbeat_estimate = 20 * kMs;
  absl::StatusOr<PhiAccrualDetector> phi = PhiAccrualDetector::Create(o);
  ASSERT_TRUE(phi.ok()) << phi.status();
  FakeClock clock;
  MissDetector misses(3);
  PeerStateMachine peer(clock.Now());
  for (int i = 0; i < 50; ++i) {
    if (i > 0) clock.Advance(20 * kMs);
    const MonoTime t = clock.Now();
    misses.OnReply();
    phi->Heartbeat(t);
    EXPECT_FALSE(peer.OnReply(t));
    EXPECT_FALSE(peer.Evaluate(Verdicts::Read(misses, &*phi, t), t));
  }
  const MonoTime last = clock.Now();
  std::vector<Transition> seen;
  // A millisecond tick; a miss every 20 ms (each heartbeat's 20 ms timeout).
  for (Nanos e = 1 * kMs; e <= 200 * kMs; e += 1 * kMs) {
    clock.Advance(1 * kMs);
    const MonoTime now = clock.Now();
    if (e % (20 * kMs) == 0) misses.OnMiss();
    if (auto tr = peer.Evaluate(Verdicts::Read(misses, &*phi, now), now))
      seen.push_back(*tr);
  }
  ASSERT_EQ(seen.size(), 2u);
  // The first miss (at 20 ms) comes before phi reaches 4.
  EXPECT_EQ(seen[0].to, State::kSuspect);
  EXPECT_EQ(seen[0].at, last + 20 * kMs);
  EXPECT_EQ(seen[0].cause, Cause::kMisses);
  EXPECT_EQ(seen[1].to, State::kDown);
  EXPECT_EQ(seen[1].at, last + 47 * kMs);  // first whole ms past 46.13
  EXPECT_EQ(seen[1].cause, Cause::kPhi);
  EXPECT_EQ(seen[1].reason().rfind("phi 8.", 0), 0u) << seen[1].reason();

  clock.Set(last + 250 * kMs);
  const MonoTime back = clock.Now();
  misses.OnReply();
  phi->Heartbeat(back);
  auto up = peer.OnReply(back);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->from, State::kDown);
  EXPECT_EQ(up->to, State::kUp);
  clock.Advance(kSec);
  EXPECT_EQ(peer.TimeDown(clock.Now()), 250 * kMs - 47 * kMs);
  EXPECT_EQ(peer.outages(), 1);
  EXPECT_FALSE(peer.Evaluate(Verdicts::Read(misses, &*phi, back), back));
}

}  // namespace
}  // namespace udpbeat::detect
