// TargetSet driven by a FakeTransport, FakeSockets and a FakeClock: targets created,
// staggered, reloaded (heartbeat's SIGHUP) and counted down, with no io_uring.
#include "udpbeat/engine/socket_budget.h"
#include "udpbeat/engine/target_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_peer.h"
#include "fake_sockets.h"
#include "fake_transport.h"

namespace udpbeat::engine {
namespace {

constexpr Nanos kMs = kNanosPerMilli;

class Recorder final : public TargetObserver {
 public:
  void OnReply(Target&, ProbeSession&, const measure::ReplyEvent&) override {}
  void OnTimeout(Target&, ProbeSession&, const measure::TimeoutEvent&) override {}
  void OnTransition(Target& t, const detect::Transition& tr) override {
    changes.push_back(t.info().name + " " + std::string(detect::StateName(tr.to)));
  }
  void OnDone(Target&) override {}
  std::vector<std::string> changes;
};

TargetSpec Spec(const std::string& name, const std::string& address) {
  TargetSpec s;
  s.info.name = name;
  s.info.address = address;
  s.peer = *SocketAddress::ParseNumeric(address);
  return s;
}

class TargetSetTest : public testing::Test {
 protected:
  // Heartbeat, lab protocol, a probe every 100 ms timing out after 100 ms, K = 1: a
  // target is down 1 ns past its first unanswered heartbeat's deadline.
  TargetSet MakeSet(uint32_t sessions = 1) {
    SessionGroupOptions o;
    o.session.proto = ProbeProto::kLab;
    o.session.heartbeat = true;
    o.session.interval = 100 * kMs;
    o.session.timeout = 100 * kMs;
    o.session.first_seq = 1;
    o.sessions = sessions;
    DetectorConfig d;
    d.misses = 1;
    return TargetSet(t_, sockets_, rec_, o, d);
  }

  FakeTransport t_;
  FakeSockets sockets_;
  FakePeer peer_{t_, sockets_, 1 * kMs};
  Recorder rec_;
};

// Two targets spread over the interval: the second sends half an interval after the
// first.
TEST_F(TargetSetTest, TargetsAreStaggeredOverTheInterval) {
  TargetSet set = MakeSet();
  ASSERT_TRUE(set.Create({Spec("a", "127.0.0.1:10001"), Spec("b", "127.0.0.2:10002")}).ok());
  EXPECT_EQ(set.SessionCount(), 2u);
  set.Start();
  ASSERT_EQ(t_.sent.size(), 1u);
  EXPECT_EQ(t_.sent[0].socket, set.at(0).group().session(0).socket());
  peer_.RunUntilMs(49);
  EXPECT_EQ(t_.sent.size(), 1u);
  peer_.RunUntilMs(50);
  ASSERT_EQ(t_.sent.size(), 2u);
  EXPECT_EQ(t_.sent[1].socket, set.at(1).group().session(0).socket());
}

// Reload: the unchanged target keeps its object, sessions, statistics and detector state
// (here: down), with its labels updated; the removed one's socket is closed; the new one
// starts at once (on its stagger); a changed address is a new target.
TEST_F(TargetSetTest, ReloadKeepsAnUnchangedTargetsStatisticsAndState) {
  TargetSet set = MakeSet();
  ASSERT_TRUE(set.Create({Spec("a", "127.0.0.1:10001"), Spec("b", "127.0.0.2:10002")}).ok());
  Target* a = &set.at(0);
  const SocketId a_socket = a->group().session(0).socket();
  const SocketId b_socket = set.at(1).group().session(0).socket();
  peer_.Silence(a_socket);
  set.Start();
  peer_.RunUntilMs(120);  // a's heartbeat 1 timed out at 100 ms: a is down
  EXPECT_EQ(rec_.changes, std::vector<std::string>{"a down"});
  EXPECT_EQ(set.DownCount(), 1u);
  EXPECT_TRUE(set.AnyDown());
  const uint64_t a_sent = a->group().session(0).stats().sent();
  EXPECT_EQ(a_sent, 2u);

  TargetSpec a2 = Spec("a", "127.0.0.1:10001");
  a2.info.labels = {{"site", "lab"}};
  auto counts = set.Reload({a2, Spec("c", "127.0.0.3:10003")});
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->kept, 1u);
  EXPECT_EQ(counts->added, 1u);
  EXPECT_EQ(counts->removed, 1u);
  ASSERT_EQ(set.size(), 2u);
  ASSERT_EQ(&set.at(0), a);
  EXPECT_EQ(a->info().labels, a2.info.labels);
  EXPECT_EQ(a->state(), detect::State::kDown);
  EXPECT_EQ(a->group().session(0).stats().sent(), a_sent);
  EXPECT_EQ(a->Heartbeat(peer_.At(120)).outages, 1);
  EXPECT_EQ(set.DownCount(), 1u);
  EXPECT_EQ(set.SessionCount(), 2u);
  EXPECT_EQ(sockets_.sockets.at(b_socket).handler, nullptr);  // b is gone
  EXPECT_EQ(sockets_.open_count(), 2u);

  // c is the second of two: it sends half an interval after the reload.
  const SocketId c_socket = set.at(1).group().session(0).socket();
  const size_t before = t_.sent.size();
  peer_.RunUntilMs(169);
  for (size_t i = before; i < t_.sent.size(); ++i) EXPECT_NE(t_.sent[i].socket, c_socket);
  peer_.RunUntilMs(170);
  EXPECT_EQ(t_.sent.back().socket, c_socket);

  // a answers again: heartbeat 3 (200 ms) at 201 ms; nothing is down.
  peer_.Answer(a_socket);
  peer_.RunUntilMs(210);
  EXPECT_EQ(rec_.changes, (std::vector<std::string>{"a down", "a up"}));
  EXPECT_EQ(set.DownCount(), 0u);
  EXPECT_FALSE(set.AnyDown());
  EXPECT_EQ(a->Heartbeat(peer_.At(210)).time_down, 101 * kMs - 1);

  // Same name, another address: replaced, statistics and all.
  counts = set.Reload({Spec("a", "127.0.0.1:10009"), Spec("c", "127.0.0.3:10003")});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->kept, 1u);
  EXPECT_EQ(counts->added, 1u);
  EXPECT_EQ(counts->removed, 1u);
  EXPECT_NE(&set.at(0), a);
  EXPECT_EQ(set.at(0).group().session(0).stats().sent(), 1u);
  EXPECT_EQ(sockets_.sockets.at(a_socket).handler, nullptr);
}

// A new target that cannot be set up (no descriptor left): the reload fails and the old
// targets all stay, in their order, with their labels, still running; the new one set up
// before the failure goes.
TEST_F(TargetSetTest, AFailedReloadLeavesTheOldSetWhole) {
  TargetSet set = MakeSet();
  ASSERT_TRUE(set.Create({Spec("a", "127.0.0.1:10001"), Spec("b", "127.0.0.2:10002")}).ok());
  set.Start();
  peer_.RunUntilMs(60);
  sockets_.fail_open_after = 1;  // c's socket opens, d's does not
  TargetSpec a2 = Spec("a", "127.0.0.1:10001");
  a2.info.labels = {{"site", "lab"}};
  auto counts = set.Reload({a2, Spec("c", "127.0.0.3:10003"), Spec("d", "127.0.0.4:10004")});
  EXPECT_FALSE(counts.ok());
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set.at(0).info().name, "a");
  EXPECT_EQ(set.at(1).info().name, "b");
  EXPECT_TRUE(set.at(0).info().labels.empty());
  EXPECT_EQ(set.SessionCount(), 2u);
  ASSERT_EQ(sockets_.sockets.size(), 3u);
  EXPECT_EQ(sockets_.open_count(), 2u);  // c's is closed again
  peer_.RunUntilMs(260);
  EXPECT_EQ(set.at(0).group().session(0).stats().sent(), 3u);
  EXPECT_EQ(set.at(1).group().session(0).stats().sent(), 3u);
  EXPECT_EQ(set.at(1).group().session(0).stats().received(), 3u);
}

// A reload whose new targets cannot fit in the descriptors free now is refused before any
// socket opens, with the figures; the set goes on as it was.
TEST_F(TargetSetTest, AReloadPastTheFreeDescriptorsIsRefusedBeforeAnySocketOpens) {
  TargetSet set = MakeSet(1);
  ASSERT_TRUE(set.Create({Spec("a", "127.0.0.1:10001")}).ok());
  set.Start();
  const size_t opened = sockets_.sockets.size();
  sockets_.free_descriptors = engine::kReservedFds + 1;  // room for one socket, not two
  auto counts = set.Reload({Spec("a", "127.0.0.1:10001"), Spec("b", "127.0.0.2:10002"),
                            Spec("c", "127.0.0.3:10003")});
  ASSERT_FALSE(counts.ok());
  EXPECT_EQ(counts.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(counts.status().message(),
            "2 new targets need 2 sockets and 33 descriptors are free (32 kept in reserve); "
            "raise the open-file limit (ulimit -n)");
  EXPECT_EQ(sockets_.sockets.size(), opened);  // nothing opened
  ASSERT_EQ(set.size(), 1u);
  // Removing a target too: its sockets close only after the new ones open, and it says so.
  auto shrink = set.Reload({Spec("b", "127.0.0.2:10002"), Spec("c", "127.0.0.3:10003")});
  ASSERT_FALSE(shrink.ok());
  EXPECT_NE(shrink.status().message().find("removed targets close only after the new ones"),
            absl::string_view::npos);
  sockets_.free_descriptors = engine::kReservedFds + 2;
  EXPECT_TRUE(set.Reload({Spec("a", "127.0.0.1:10001"), Spec("b", "127.0.0.2:10002"),
                          Spec("c", "127.0.0.3:10003")})
                  .ok());
  EXPECT_EQ(set.size(), 3u);
}

// DownCount counts targets, not sessions; the run's result carries every target's state.
TEST_F(TargetSetTest, DownCountCountsTargetsThatAreDown) {
  TargetSet set = MakeSet(2);
  ASSERT_TRUE(set.Create({Spec("a", "127.0.0.1:10001"), Spec("b", "127.0.0.2:10002"),
                          Spec("c", "127.0.0.3:10003")})
                  .ok());
  EXPECT_EQ(set.SessionCount(), 6u);
  // a: both sessions dead; b: one of two; c: answers.
  peer_.Silence(set.at(0).group().session(0).socket());
  peer_.Silence(set.at(0).group().session(1).socket());
  peer_.Silence(set.at(1).group().session(0).socket());
  set.Start();
  peer_.RunUntilMs(300);
  EXPECT_EQ(set.DownCount(), 1u);
  EXPECT_EQ(set.at(0).state(), detect::State::kDown);
  EXPECT_EQ(set.at(1).state(), detect::State::kUp);
  EXPECT_EQ(set.at(1).SessionsDown(), 1u);
  measure::RunInfo info;
  const measure::RunResult r = set.Result(info, measure::Detail::kFull, 300 * kMs, false,
                                          false, true);
  ASSERT_EQ(r.targets.size(), 3u);
  EXPECT_EQ(r.targets[0].heartbeat->state, detect::State::kDown);
  ASSERT_TRUE(r.total_heartbeat.has_value());
  EXPECT_EQ(r.total_heartbeat->state, detect::State::kDown);
  EXPECT_EQ(r.total_heartbeat->sessions, 6u);
  EXPECT_EQ(r.total_heartbeat->sessions_down, 3u);
  EXPECT_EQ(r.total_heartbeat->outages, 1);
}

}  // namespace
}  // namespace udpbeat::engine
