// Target driven by a FakeTransport, FakeSockets and a FakeClock: no io_uring, no
// sockets. A FakePeer echoes probes 1 ms after they leave unless a socket is silenced, so
// every timeout and state change happens at a time the test states exactly.
#include "udpbeat/engine/target.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "fake_peer.h"
#include "fake_sockets.h"
#include "fake_transport.h"

namespace udpbeat::engine {
namespace {

constexpr Nanos kMs = kNanosPerMilli;

// "@400ms" or, for a timeout (deadline + 1 ns), "@400ms+1ns": times since the run began.
std::string Since(MonoTime start, MonoTime t) {
  const Nanos d = t - start;
  if (d % kMs == 0) return absl::StrFormat("@%dms", d / kMs);
  return absl::StrFormat("@%dms+%dns", d / kMs, d % kMs);
}

std::string Change(const detect::Transition& t) {
  return absl::StrFormat("%s->%s", detect::StateName(t.from), detect::StateName(t.to));
}

// What the target tells its observer, one line an event, in order. On-time replies are
// only counted.
class Recorder final : public TargetObserver {
 public:
  explicit Recorder(const Clock& clock) : clock_(clock), start_(clock.Now()) {}

  void OnReply(Target&, ProbeSession& s, const measure::ReplyEvent& r) override {
    ++replies;
    if (r.kind != stats::ReplyClass::kOnTime)
      log.push_back(absl::StrFormat("late s%d #%d %s", s.index(), r.seq, Now()));
  }
  void OnTimeout(Target&, ProbeSession& s, const measure::TimeoutEvent& e) override {
    log.push_back(absl::StrFormat("timeout s%d #%d %s", s.index(), e.seq, Now()));
  }
  void OnTransition(Target&, const detect::Transition& t) override {
    EXPECT_EQ(t.at, clock_.Now());
    transitions.push_back(t);
    log.push_back(absl::StrFormat("target %s %s", Change(t), Now()));
  }
  void OnSessionTransition(Target&, size_t session, const detect::Transition& t) override {
    EXPECT_EQ(t.at, clock_.Now());
    log.push_back(absl::StrFormat("s%d %s %s", session, Change(t), Now()));
  }
  void OnDone(Target&) override { log.push_back("done " + Now()); }

  std::string Now() const { return Since(start_, clock_.Now()); }

  std::vector<std::string> log;
  std::vector<detect::Transition> transitions;
  int replies = 0;

 private:
  const Clock& clock_;
  MonoTime start_;
};

class TargetTest : public testing::Test {
 protected:
  TargetTest() : rec_(t_.clock()) {}

  // Heartbeat over the lab protocol: a probe every `interval`, each timing out after
  // `timeout`, `sessions` sessions with a socket each.
  SessionGroupOptions Options(Nanos interval, Nanos timeout, uint32_t sessions = 1) {
    SessionGroupOptions o;
    o.session.proto = ProbeProto::kLab;
    o.session.heartbeat = true;
    o.session.interval = interval;
    o.session.timeout = timeout;
    o.session.first_seq = 1;
    o.sessions = sessions;
    return o;
  }

  std::unique_ptr<Target> Make(const SessionGroupOptions& o,
                               const std::optional<DetectorConfig>& detectors) {
    measure::TargetInfo info;
    info.name = "peer";
    auto t = Target::Create(info, *SocketAddress::ParseNumeric("127.0.0.1:12000"), o, detectors,
                            t_, sockets_, rec_);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? std::move(*t) : nullptr;
  }

  DetectorConfig Misses(int k) {
    DetectorConfig d;
    d.misses = k;
    return d;
  }

  FakeTransport t_;
  FakeSockets sockets_;
  FakePeer peer_{t_, sockets_, 1 * kMs};
  Recorder rec_;
};

// One session, K = 3, a heartbeat every 100 ms timing out after 100 ms (a timeout fires 1 ns
// past its deadline). Heartbeats 4..6 (sent at 300, 400, 500 ms) go unanswered.
TEST_F(TargetTest, MissDetectorGoesSuspectDownAndUpAtTheExactTimes) {
  auto target = Make(Options(100 * kMs, 100 * kMs), Misses(3));
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(target->heartbeat());
  target->Start();
  peer_.RunUntilMs(250);
  peer_.SilenceAll();
  peer_.RunUntilMs(550);
  peer_.AnswerAll();  // heartbeat 7, sent at 600 ms, is answered at 601 ms
  peer_.RunUntilMs(1000);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{
                          "timeout s0 #4 @400ms+1ns",
                          "target up->suspect @400ms+1ns",
                          "timeout s0 #5 @500ms+1ns",
                          "timeout s0 #6 @600ms+1ns",
                          "target suspect->down @600ms+1ns",
                          "target down->up @601ms",
                      }));
  ASSERT_EQ(rec_.transitions.size(), 3u);
  EXPECT_EQ(rec_.transitions[0].cause, detect::Cause::kMisses);
  EXPECT_EQ(rec_.transitions[0].consecutive_misses, 1);
  EXPECT_EQ(rec_.transitions[0].time_in_from, 400 * kMs + 1);
  EXPECT_EQ(rec_.transitions[1].consecutive_misses, 3);
  EXPECT_EQ(rec_.transitions[1].time_in_from, 200 * kMs);
  EXPECT_EQ(rec_.transitions[2].cause, detect::Cause::kReply);
  EXPECT_EQ(rec_.transitions[2].time_in_from, 1 * kMs - 1);
  EXPECT_EQ(target->state(), detect::State::kUp);
  const measure::HeartbeatFigures h = target->Heartbeat(peer_.At(1000));
  EXPECT_EQ(h.state, detect::State::kUp);
  EXPECT_EQ(h.outages, 1);
  EXPECT_EQ(h.state_changes, 3u);
  EXPECT_EQ(h.time_down, 1 * kMs - 1);
  EXPECT_EQ(h.sessions, 1u);
  EXPECT_EQ(h.sessions_down, 0u);
  // 11 heartbeats (0..1000 ms), the last still in flight; 3 timed out, lost once the
  // run ends.
  measure::Figures f = target->Figures(measure::Detail::kFull);
  EXPECT_EQ(f.sent, 11u);
  EXPECT_EQ(f.timed_out, 3u);
  target->Finish();
  f = target->Figures(measure::Detail::kFull);
  EXPECT_EQ(f.lost, 3u);
  EXPECT_EQ(f.in_flight, 1u);
  EXPECT_EQ(static_cast<uint64_t>(rec_.replies), 7u);
}

// An ongoing outage counts up to the time asked for.
TEST_F(TargetTest, TimeDownCountsAnOngoingOutageUpToNow) {
  auto target = Make(Options(100 * kMs, 100 * kMs), Misses(1));
  target->Start();
  peer_.SilenceAll();
  peer_.RunUntilMs(150);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{"timeout s0 #1 @100ms+1ns",
                                                "target up->down @100ms+1ns"}));
  EXPECT_EQ(target->Heartbeat(peer_.At(150)).time_down, 50 * kMs - 1);
  EXPECT_EQ(target->Heartbeat(peer_.At(400)).time_down, 300 * kMs - 1);
  EXPECT_EQ(target->Heartbeat(peer_.At(400)).outages, 1);
  EXPECT_EQ(target->SessionsDown(), 1u);
}

// Phi alone (K too large to matter): heartbeats every 100 ms answered 1 ms after they
// leave, so the history is 100 ms intervals (sd 0, raised to the 10 ms floor). Phi
// reaches 4 after 136.38 ms of silence and 8 after 152.26 ms; the target is ticked
// every millisecond, so it turns suspect 137 ms and down 153 ms after the last reply
// (at 901 ms), and up at the first reply after.
TEST_F(TargetTest, PhiDetectorTurnsSuspectAndDownOnTicksAndUpOnAReply) {
  detect::PhiAccrualOptions po;
  po.threshold = 8;
  po.max_sample_size = 4;  // only recent intervals: the seeded ones age out
  po.acceptable_heartbeat_pause = 0;
  po.min_std_deviation = 10 * kMs;
  po.first_heartbeat_estimate = 100 * kMs;
  auto phi = detect::PhiAccrualDetector::Create(po);
  ASSERT_TRUE(phi.ok()) << phi.status();
  DetectorConfig d = Misses(1000);
  d.phi = *phi;
  // Timeouts long enough that none fires before phi has spoken.
  auto target = Make(Options(100 * kMs, 400 * kMs), d);
  target->Start();
  for (Nanos ms = 1; ms <= 1310; ++ms) {
    if (ms == 950) peer_.SilenceAll();  // heartbeats 11..13 (1000..1200 ms) unanswered
    if (ms == 1250) peer_.AnswerAll();  // heartbeat 14 (1300 ms) is answered at 1301 ms
    peer_.RunUntilMs(ms);
    target->Tick();
  }
  // No timeout yet (heartbeat 11's is at 1400 ms): phi alone decided.
  EXPECT_EQ(rec_.log, (std::vector<std::string>{
                          "target up->suspect @1038ms",
                          "target suspect->down @1054ms",
                          "target down->up @1301ms",
                      }));
  ASSERT_EQ(rec_.transitions.size(), 3u);
  EXPECT_EQ(rec_.transitions[0].cause, detect::Cause::kPhi);
  EXPECT_GE(rec_.transitions[0].phi, 4.0);
  EXPECT_EQ(rec_.transitions[1].cause, detect::Cause::kPhi);
  EXPECT_GE(rec_.transitions[1].phi, 8.0);
  EXPECT_LT(rec_.transitions[1].phi, 8.5);
  EXPECT_EQ(rec_.transitions[2].cause, detect::Cause::kReply);
  EXPECT_EQ(rec_.transitions[2].time_in_from, 247 * kMs);
}

// Three sessions, each its own socket (source port), K = 2, a heartbeat every 90 ms
// staggered by 30 ms (session i sends at 30 i + 90 k ms). Session 1's path dies: its own
// state goes suspect, down and back up, reported as its own; the target, up through the
// others, never changes.
TEST_F(TargetTest, OneSessionOfThreeDownIsThatSessionsNewsNotTheTargets) {
  auto target = Make(Options(90 * kMs, 90 * kMs, 3), Misses(2));
  target->Start();
  ASSERT_EQ(sockets_.sockets.size(), 3u);
  const SocketId path1 = target->group().session(1).socket();
  peer_.RunUntilMs(100);
  peer_.Silence(path1);  // session 1's heartbeats 2..4 (120, 210, 300 ms) go unanswered
  peer_.RunUntilMs(350);
  EXPECT_EQ(target->state(), detect::State::kUp);
  EXPECT_EQ(target->SessionsDown(), 1u);
  EXPECT_EQ(target->Heartbeat(peer_.At(350)).sessions_down, 1u);
  EXPECT_EQ(target->Heartbeat(peer_.At(350)).sessions, 3u);
  peer_.Answer(path1);  // heartbeat 5 (390 ms) is answered at 391 ms
  peer_.RunUntilMs(400);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{
                          "timeout s1 #2 @210ms+1ns",
                          "s1 up->suspect @210ms+1ns",
                          "timeout s1 #3 @300ms+1ns",
                          "s1 suspect->down @300ms+1ns",
                          "timeout s1 #4 @390ms+1ns",
                          "s1 down->up @391ms",
                      }));
  EXPECT_TRUE(rec_.transitions.empty());
  EXPECT_EQ(target->SessionsDown(), 0u);
  const measure::HeartbeatFigures h = target->Heartbeat(peer_.At(400));
  EXPECT_EQ(h.outages, 0);
  EXPECT_EQ(h.time_down, 0);
  // The dead path is that source port's loss.
  target->Finish();
  const std::vector<measure::PathFigures> paths = target->Paths();
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[1].src_port, sockets_.sockets.at(path1).local_port);
  EXPECT_EQ(paths[0].lost, 0u);
  EXPECT_EQ(paths[1].lost, 3u);
  EXPECT_EQ(paths[2].lost, 0u);
}

// The target is the best of its sessions: down only once the last one is, up with the
// first to answer. Each session's change comes before the target's it causes.
TEST_F(TargetTest, TheTargetIsDownOnlyWhenEverySessionIs) {
  auto target = Make(Options(90 * kMs, 90 * kMs, 3), Misses(1));
  peer_.SilenceAll();
  target->Start();
  peer_.RunUntilMs(155);
  EXPECT_EQ(target->state(), detect::State::kDown);
  peer_.AnswerAll();  // session 0's heartbeat 3 (180 ms) is answered at 181 ms
  peer_.RunUntilMs(200);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{
                          "timeout s0 #1 @90ms+1ns",
                          "s0 up->down @90ms+1ns",
                          "timeout s1 #1 @120ms+1ns",
                          "s1 up->down @120ms+1ns",
                          "timeout s2 #1 @150ms+1ns",
                          "s2 up->down @150ms+1ns",
                          "target up->down @150ms+1ns",
                          "timeout s0 #2 @180ms+1ns",
                          "s0 down->up @181ms",
                          "target down->up @181ms",
                      }));
  EXPECT_EQ(target->state(), detect::State::kUp);
  EXPECT_EQ(target->SessionsDown(), 2u);
  const measure::HeartbeatFigures h = target->Heartbeat(peer_.At(200));
  EXPECT_EQ(h.outages, 1);
  EXPECT_EQ(h.state_changes, 2u);
  EXPECT_EQ(h.time_down, 31 * kMs - 1);
}

// Timeouts longer than the interval: heartbeats 4..8 (300..700 ms) go unanswered, and 7
// and 8 time out after heartbeat 9 (800 ms) was answered. Sent while the peer was down,
// they say nothing about it now: the target stays up. A fresh miss after that counts.
TEST_F(TargetTest, StaleTimeoutsAfterRecoveryDoNotMakeTheTargetSuspect) {
  auto target = Make(Options(100 * kMs, 250 * kMs), Misses(3));
  target->Start();
  peer_.RunUntilMs(250);
  peer_.SilenceAll();
  peer_.RunUntilMs(750);
  peer_.AnswerAll();
  peer_.RunUntilMs(1010);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{
                          "timeout s0 #4 @550ms+1ns",
                          "target up->suspect @550ms+1ns",
                          "timeout s0 #5 @650ms+1ns",
                          "timeout s0 #6 @750ms+1ns",
                          "target suspect->down @750ms+1ns",
                          "target down->up @801ms",
                          "timeout s0 #7 @850ms+1ns",
                          "timeout s0 #8 @950ms+1ns",
                      }));
  EXPECT_EQ(target->state(), detect::State::kUp);
  rec_.log.clear();
  peer_.SilenceAll();  // heartbeat 12 (1100 ms) is a fresh miss
  peer_.RunUntilMs(1360);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{
                          "timeout s0 #12 @1350ms+1ns",
                          "target up->suspect @1350ms+1ns",
                      }));
  EXPECT_EQ(rec_.transitions.back().consecutive_misses, 1);
}

// Every reply comes 150 ms after its heartbeat, past the 100 ms timeout: late replies
// are counted but are not heard in time, so they never bring the target back up.
TEST_F(TargetTest, LateRepliesDoNotBringTheTargetUp) {
  peer_.SilenceAll();
  FakePeer slow(t_, sockets_, 150 * kMs);
  auto target = Make(Options(100 * kMs, 100 * kMs), Misses(2));
  target->Start();
  slow.RunUntilMs(400);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{
                          "timeout s0 #1 @100ms+1ns",
                          "target up->suspect @100ms+1ns",
                          "late s0 #1 @150ms",
                          "timeout s0 #2 @200ms+1ns",
                          "target suspect->down @200ms+1ns",
                          "late s0 #2 @250ms",
                          "timeout s0 #3 @300ms+1ns",
                          "late s0 #3 @350ms",
                      }));
  EXPECT_EQ(target->state(), detect::State::kDown);
}

// Stopped with heartbeats unanswered but not yet past their timeout: they are in
// flight, not lost, and not misses: no timeout is reported and the target stays up,
// however long the loop runs after.
TEST_F(TargetTest, HeartbeatsUnansweredAtStopAreInFlightNotTimeouts) {
  auto target = Make(Options(100 * kMs, 250 * kMs), Misses(1));
  target->Start();
  peer_.RunUntilMs(50);
  peer_.SilenceAll();  // heartbeats 2..4 (100..300 ms); 2's deadline is 350 ms
  peer_.RunUntilMs(320);
  target->StopSending();
  target->Finish();
  peer_.RunUntilMs(2000);
  EXPECT_TRUE(rec_.log.empty()) << rec_.log.front();
  EXPECT_EQ(target->state(), detect::State::kUp);
  const measure::Figures f = target->Figures(measure::Detail::kFull);
  EXPECT_EQ(f.sent, 4u);
  EXPECT_EQ(f.received, 1u);
  EXPECT_EQ(f.in_flight, 3u);
  EXPECT_EQ(f.lost, 0u);
  EXPECT_EQ(f.timed_out, 0u);
}

// A count-bounded target is done once every session has settled its heartbeats.
TEST_F(TargetTest, DoneOnceEverySessionSettled) {
  SessionGroupOptions o = Options(90 * kMs, 90 * kMs, 3);
  o.session.count = 2;
  auto target = Make(o, Misses(3));
  target->Start();
  peer_.RunUntilMs(1000);
  EXPECT_EQ(rec_.log, (std::vector<std::string>{"done @151ms"}));
  EXPECT_TRUE(target->done());
}

// Ping's targets have no detectors: no state, no transitions.
TEST_F(TargetTest, WithoutDetectorsThereIsNoHeartbeatState) {
  auto target = Make(Options(100 * kMs, 100 * kMs, 2), std::nullopt);
  peer_.SilenceAll();
  target->Start();
  target->Tick();
  peer_.RunUntilMs(500);
  EXPECT_FALSE(target->heartbeat());
  EXPECT_EQ(target->state(), detect::State::kUp);
  EXPECT_TRUE(rec_.transitions.empty());
  EXPECT_EQ(target->Figures(measure::Detail::kFull).timed_out, 8u);
  EXPECT_FALSE(target->Result(measure::Detail::kFull, peer_.At(500), false).heartbeat.has_value());
}

}  // namespace
}  // namespace udpbeat::engine
