// ProbeSession driven by a fake transport and a FakeClock: no io_uring, no sockets, every
// time chosen by the test.
#include "udpbeat/engine/probe_session.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "fake_transport.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/proto/lab_protocol.h"
#include "udpbeat/proto/stamp.h"
#include "udpbeat/proto/stamp_auth.h"
#include "udpbeat/proto/stamp_tlv.h"

namespace udpbeat::engine {
namespace {

constexpr Nanos kMs = kNanosPerMilli;

class Recorder final : public ProbeObserver {
 public:
  void OnReply(ProbeSession&, const measure::ReplyEvent& r) override { replies.push_back(r); }
  void OnTimeout(ProbeSession&, const measure::TimeoutEvent& t) override {
    timeouts.push_back(t.seq);
    timeout_events.push_back(t);
  }
  void OnDone(ProbeSession&) override { ++done; }
  void OnMalformed(ProbeSession&) override { ++malformed; }
  void OnFollowUp(ProbeSession&, const measure::FollowUpEvent& f) override {
    follow_ups.push_back(f);
    replies_before_follow_up.push_back(replies.size());
  }
  std::vector<measure::ReplyEvent> replies;
  std::vector<measure::FollowUpEvent> follow_ups;
  std::vector<size_t> replies_before_follow_up;  // replies.size() at each follow_ups entry
  std::vector<uint32_t> timeouts;
  std::vector<measure::TimeoutEvent> timeout_events;
  int done = 0;
  int malformed = 0;
};

class ProbeSessionTest : public testing::Test {
 protected:
  ProbeSessionConfig LabConfig(int64_t count, std::optional<Nanos> interval) {
    ProbeSessionConfig c;
    c.proto = ProbeProto::kLab;
    c.count = count;
    c.interval = interval;
    c.timeout = 100 * kMs;
    c.first_seq = 1;
    return c;
  }

  // The lab server's answer to sent datagram `i`: the request uppercased.
  std::vector<uint8_t> EchoOf(size_t i) {
    std::vector<uint8_t> b = t_.sent.at(i).bytes;
    for (uint8_t& c : b)
      if (c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 32);
    return b;
  }

  // Delivers `payload` as if the kernel stamped it now (loop woke at the same instant).
  void Deliver(ProbeSession& s, const std::vector<uint8_t>& payload, int tos = -1) {
    const SocketAddress from = *SocketAddress::ParseNumeric("127.0.0.1:12000");
    Datagram d;
    d.from = &from;
    d.payload = payload;
    d.rx_wall = t_.clock().NowWall();
    d.loop_mono = t_.clock().Now();
    d.loop_wall = t_.clock().NowWall();
    d.ttl = 64;
    d.tos = tos;
    s.OnDatagram(d);
  }

  FakeTransport t_;
  Recorder r_;
};

TEST_F(ProbeSessionTest, RepliesAndALossAreCountedAndTheSessionEnds) {
  ProbeSession s(LabConfig(3, 10 * kMs), t_, r_);
  s.Start();
  ASSERT_EQ(t_.sent.size(), 1u);
  t_.Advance(2 * kMs);
  Deliver(s, EchoOf(0));
  t_.Advance(8 * kMs);  // probe 2 due
  t_.Advance(10 * kMs);  // probe 3 due
  ASSERT_EQ(t_.sent.size(), 3u);
  t_.Advance(1 * kMs);
  Deliver(s, EchoOf(2));
  EXPECT_EQ(r_.done, 0);
  t_.Advance(200 * kMs);  // probe 2 (seq 2) times out
  EXPECT_EQ(r_.timeouts, std::vector<uint32_t>{2});
  EXPECT_EQ(r_.done, 1);
  s.Finish();
  const stats::SessionStats& st = s.stats();
  EXPECT_EQ(st.sent(), 3u);
  EXPECT_EQ(st.received(), 2u);
  EXPECT_EQ(st.lost(), 1u);
  ASSERT_EQ(r_.replies.size(), 2u);
  EXPECT_EQ(r_.replies[0].rtt, 2 * kMs);
  EXPECT_EQ(r_.replies[1].rtt, 1 * kMs);
  EXPECT_EQ(r_.replies[0].kind, stats::ReplyClass::kOnTime);
}

TEST_F(ProbeSessionTest, AReplyAfterItsTimeoutIsLateNotLostAndNeverCreditedToAnother) {
  ProbeSession s(LabConfig(2, std::nullopt), t_, r_);  // the lab's rhythm
  s.Start();
  t_.Advance(150 * kMs);  // probe 1 times out; the next goes out at once
  EXPECT_EQ(r_.timeouts, std::vector<uint32_t>{1});
  ASSERT_EQ(t_.sent.size(), 2u);
  t_.Advance(5 * kMs);
  Deliver(s, EchoOf(0));  // probe 1's reply, 155 ms after it left
  ASSERT_EQ(r_.replies.size(), 1u);
  EXPECT_EQ(r_.replies[0].kind, stats::ReplyClass::kLate);
  EXPECT_EQ(r_.replies[0].seq, 1u);
  EXPECT_EQ(r_.replies[0].rtt, 155 * kMs);
  Deliver(s, EchoOf(1));
  EXPECT_EQ(r_.replies[1].kind, stats::ReplyClass::kOnTime);
  EXPECT_EQ(r_.replies[1].rtt, 5 * kMs);
  s.Finish();
  EXPECT_EQ(s.stats().late(), 1u);
  EXPECT_EQ(s.stats().lost(), 0u);
}

// -i 0 for users other than root: the next probe once the last is answered, but never
// sooner than the gap's floor after the last send (ping -A), however fast replies come.
// The loop woke late: the last probe's reply, stamped past its timeout, is handled in the
// turn before the timeout timer runs. It is late, it settles the probe, and the session
// ends (it once waited for a timeout that had nothing left to expire: the run hung).
TEST_F(ProbeSessionTest, ALateReplyHandledBeforeItsTimeoutFiresStillEndsTheSession) {
  ProbeSession s(LabConfig(1, 10 * kMs), t_, r_);
  s.Start();
  t_.fake_clock().Advance(150 * kMs);  // past the 100 ms timeout, no timer run yet
  Deliver(s, EchoOf(0));
  ASSERT_EQ(r_.replies.size(), 1u);
  EXPECT_EQ(r_.replies[0].kind, stats::ReplyClass::kLate);
  EXPECT_EQ(r_.done, 1);
  t_.Turn();
  EXPECT_TRUE(r_.timeouts.empty());
  EXPECT_EQ(r_.done, 1);
  EXPECT_EQ(s.stats().sent(), 1u);
  EXPECT_EQ(s.stats().late(), 1u);
}

TEST_F(ProbeSessionTest, TheLabsRhythmKeepsTheMinimumGapBetweenSends) {
  ProbeSessionConfig c = LabConfig(3, std::nullopt);
  c.min_gap = 2 * kMs;
  ProbeSession s(c, t_, r_);
  s.Start();
  ASSERT_EQ(t_.sent.size(), 1u);
  t_.Advance(kMs / 2);
  Deliver(s, EchoOf(0));  // answered after 0.5 ms: the next waits for the floor
  EXPECT_EQ(t_.sent.size(), 1u);
  t_.Advance(kMs);
  EXPECT_EQ(t_.sent.size(), 1u) << "1.5 ms after the first send";
  t_.Advance(kMs / 2);
  ASSERT_EQ(t_.sent.size(), 2u) << "2 ms after the first send";
  t_.Advance(3 * kMs);
  Deliver(s, EchoOf(1));  // answered after 3 ms, past the floor: at once
  ASSERT_EQ(t_.sent.size(), 3u);
  Deliver(s, EchoOf(2));
  EXPECT_EQ(r_.done, 1);
  EXPECT_EQ(s.stats().received(), 3u);
}

// A reply whose DSCP is not the probes' is counted (remarked on the path); the ECN bits
// are the network's and do not count, nor do duplicates.
TEST_F(ProbeSessionTest, RepliesWithAnotherDscpAreCounted) {
  ProbeSessionConfig c = LabConfig(4, kMs);
  c.tos = 0xb8;  // EF
  ProbeSession s(c, t_, r_);
  s.Start();
  t_.Advance(5 * kMs);
  ASSERT_EQ(t_.sent.size(), 4u);
  Deliver(s, EchoOf(0), 0xb8);
  Deliver(s, EchoOf(1), 0xb9);  // ECN ECT(1) set on the way: same DSCP
  Deliver(s, EchoOf(2), 0x00);  // remarked to best effort
  Deliver(s, EchoOf(2), 0x00);  // its duplicate
  Deliver(s, EchoOf(3));        // no TOS known
  EXPECT_EQ(s.measurements().dscp_changed, 1u);
}

TEST_F(ProbeSessionTest, DuplicatesAndReorderingAreToldApart) {
  ProbeSession s(LabConfig(3, kMs), t_, r_);
  s.Start();
  t_.Advance(2 * kMs);
  ASSERT_EQ(t_.sent.size(), 3u);
  Deliver(s, EchoOf(1));
  Deliver(s, EchoOf(0));  // lower than the highest answered: reordered
  Deliver(s, EchoOf(0));  // again: a duplicate
  Deliver(s, EchoOf(2));
  ASSERT_EQ(r_.replies.size(), 4u);
  EXPECT_FALSE(r_.replies[0].reordered);
  EXPECT_TRUE(r_.replies[1].reordered);
  EXPECT_EQ(r_.replies[2].kind, stats::ReplyClass::kDuplicate);
  EXPECT_EQ(s.stats().duplicate(), 1u);
  EXPECT_EQ(s.stats().reordered(), 1u);
  EXPECT_EQ(s.stats().received(), 3u);
}

TEST_F(ProbeSessionTest, GarbageAndRepliesToProbesNeverSentAreMalformed) {
  ProbeSession s(LabConfig(1, kMs), t_, r_);
  s.Start();
  Deliver(s, {'h', 'i'});
  const std::string stranger = "PING 77 1700000000.000000000";
  Deliver(s, std::vector<uint8_t>(stranger.begin(), stranger.end()));
  EXPECT_EQ(r_.malformed, 2);
  EXPECT_EQ(s.stats().malformed(), 2u);
  EXPECT_TRUE(r_.replies.empty());
}

// Stopping a run (Ctrl-C, --exit-on-down) while probes can still be answered leaves them
// in flight, never lost; probes already past their timeout are lost.
TEST_F(ProbeSessionTest, StoppingLeavesProbesWithinTheirTimeoutInFlight) {
  ProbeSession s(LabConfig(0, 40 * kMs), t_, r_);  // timeout 100 ms
  s.Start();
  t_.Advance(130 * kMs);  // probes at 0, 40, 80, 120 ms; the first timed out at 100
  ASSERT_EQ(t_.sent.size(), 4u);
  EXPECT_EQ(r_.timeouts, std::vector<uint32_t>{1});
  Deliver(s, EchoOf(1));
  s.StopSending();
  t_.Advance(5 * kMs);
  EXPECT_EQ(t_.sent.size(), 4u) << "a probe went out after StopSending";
  s.Finish();
  const stats::SessionStats& st = s.stats();
  EXPECT_EQ(st.sent(), 4u);
  EXPECT_EQ(st.received(), 1u);
  EXPECT_EQ(st.lost(), 1u);       // seq 1: past its timeout, unanswered
  EXPECT_EQ(st.in_flight(), 2u);  // seqs 3 and 4: could still be answered
  EXPECT_DOUBLE_EQ(st.loss_ratio(), 0.5);
}

// A wall-clock step between send and reply must not reach the RTT: the monotonic RTT
// guards it.
TEST_F(ProbeSessionTest, AWallClockStepDoesNotDistortTheRtt) {
  ProbeSession s(LabConfig(1, kMs), t_, r_);
  s.Start();
  t_.Advance(3 * kMs);
  t_.fake_clock().set_wall_offset(1'700'000'000 * kNanosPerSecond + 3600 * kNanosPerSecond);
  Deliver(s, EchoOf(0));
  ASSERT_EQ(r_.replies.size(), 1u);
  EXPECT_EQ(r_.replies[0].rtt, 3 * kMs);
}

// STAMP: a reflector whose clock is 5 ms ahead, holding each request 100 µs, 1 ms away
// each way. The RTT leaves out the residence; offset and one-way delays come out exact.
TEST_F(ProbeSessionTest, StampExchangeArithmetic) {
  ProbeSessionConfig c;
  c.proto = ProbeProto::kStamp;
  c.count = 1;
  c.interval = kMs;
  c.timeout = 100 * kMs;
  c.first_seq = 0;
  c.ssid = 7;
  ProbeSession s(c, t_, r_);
  s.Start();
  ASSERT_EQ(t_.sent.size(), 1u);
  stamp::SenderPacket req;
  ASSERT_EQ(stamp::DecodeSender(t_.sent[0].bytes, &req), DecodeError::kNone);
  const WallTime t1 = FromNtp(req.timestamp);
  constexpr Nanos kOffset = 5 * kMs, kOneWay = kMs, kResidence = 100 * kNanosPerMicro;
  stamp::ReflectorPacket rep;
  rep.seq = req.seq;
  rep.ssid = req.ssid;
  rep.sender_seq = req.seq;
  rep.sender_timestamp = req.timestamp;
  rep.receive_timestamp = ToNtp(t1 + kOneWay + kOffset);
  rep.timestamp = ToNtp(t1 + kOneWay + kResidence + kOffset);
  rep.sender_ttl = 61;
  std::vector<uint8_t> bytes(44);
  stamp::EncodeReflector(rep, 44, bytes);
  t_.Advance(2 * kOneWay + kResidence);
  Deliver(s, bytes);
  ASSERT_EQ(r_.replies.size(), 1u);
  const measure::ReplyEvent& e = r_.replies[0];
  EXPECT_EQ(e.rtt, 2 * kOneWay);
  EXPECT_EQ(e.residence, kResidence);
  EXPECT_EQ(e.clock_offset, kOffset);
  EXPECT_EQ(e.forward, kOneWay + kOffset);
  EXPECT_EQ(e.backward, kOneWay - kOffset);
  EXPECT_EQ(e.reflector_ttl, 61);
  const measure::StampState& st = s.measurements().stamp;
  EXPECT_EQ(st.best_offset(), kOffset);
  EXPECT_EQ(st.best_rtt(), 2 * kOneWay);
}

// More probes in flight than the tracker's window: those pushed out settle as lost, so
// the session still ends (it used to wait forever).
TEST_F(ProbeSessionTest, ProbesPushedOutOfTheWindowSettleAndTheRunEnds) {
  ProbeSessionConfig c = LabConfig(70000, 10 * kNanosPerMicro);
  c.timeout = kNanosPerSecond;
  ProbeSession s(c, t_, r_);
  s.Start();
  for (int i = 0; i < 200 && t_.sent.size() < 70000; ++i) t_.Advance(10 * kMs);
  ASSERT_EQ(t_.sent.size(), 70000u);
  t_.Advance(2 * kNanosPerSecond);
  EXPECT_EQ(r_.done, 1);
  s.Finish();
  EXPECT_EQ(s.stats().lost(), 70000u);
}

// One probe more than the window holds (65,536 slots at 10 µs with a 1 s timeout): the
// first is pushed out before its timeout and settles as lost at once, without a timeout
// event; the others time out; the session ends.
TEST_F(ProbeSessionTest, OneProbeMoreThanTheWindowSettlesAsLostAndTheSessionEnds) {
  constexpr uint32_t kWindow = 65536;
  ProbeSessionConfig c = LabConfig(kWindow + 1, 10 * kNanosPerMicro);
  c.timeout = kNanosPerSecond;
  ProbeSession s(c, t_, r_);
  s.Start();
  // Every 10 µs a probe is due; the fake loop wakes each ms (100 due, sent 64 a turn).
  for (int i = 0; i < 1000 && t_.sent.size() < kWindow + 1; ++i) t_.Advance(kMs);
  ASSERT_EQ(t_.sent.size(), kWindow + 1);
  EXPECT_EQ(s.stats().lost(), 1u) << "the first probe left the window unanswered";
  EXPECT_TRUE(r_.timeouts.empty() || r_.timeouts.front() != 1u);
  EXPECT_EQ(r_.done, 0);
  t_.Advance(2 * kNanosPerSecond);
  EXPECT_EQ(r_.done, 1);
  EXPECT_EQ(r_.timeouts.size(), kWindow);
  EXPECT_EQ(r_.timeouts.front(), 2u);
  s.Finish();
  EXPECT_EQ(s.stats().lost(), kWindow + 1u);
  EXPECT_EQ(s.stats().in_flight(), 0u);
}

// A heartbeat's timeout is its interval; a reply that comes after many later probes were
// sent is still matched (late, received), not taken for garbage with its probe lost.
TEST_F(ProbeSessionTest, AReplyFarBehindAFastScheduleIsLateNotUnknown) {
  ProbeSessionConfig c = LabConfig(0, 100 * kNanosPerMicro);
  c.timeout = 100 * kNanosPerMicro;
  ProbeSession s(c, t_, r_);
  s.Start();
  for (int i = 0; i < 500; ++i) t_.Advance(100 * kNanosPerMicro);  // 500 more sent
  ASSERT_GE(t_.sent.size(), 500u);
  Deliver(s, EchoOf(0));
  EXPECT_EQ(r_.malformed, 0);
  ASSERT_EQ(r_.replies.size(), 1u);
  EXPECT_EQ(r_.replies[0].kind, stats::ReplyClass::kLate);
  s.StopSending();
  s.Finish();
  EXPECT_EQ(s.stats().received(), 1u);
  EXPECT_EQ(s.stats().late(), 1u);
}

// A sender far behind its schedule (a loop that woke late, a machine asked for more than
// it can send) skips the probes more than a timeout (at least a second) late, counted,
// and sends the rest: the send lag stays bounded instead of growing as long as it runs.
TEST_F(ProbeSessionTest, ProbesMoreThanATimeoutLateAreSkippedAndTheLagStaysBounded) {
  ProbeSessionConfig c = LabConfig(200, 20 * kMs);  // timeout 100 ms: the floor, 1 s, rules
  ProbeSession s(c, t_, r_);
  s.Start();  // probe 0 at 0 ms
  t_.fake_clock().Advance(1505 * kMs);  // the loop stalled: 20 ... 1500 ms are due
  t_.Advance(0);
  // Due at 520 ms or later: kept (at most a second late); 20 ... 500 ms skipped.
  EXPECT_EQ(s.measurements().skipped, 25u);
  EXPECT_EQ(t_.sent.size(), 1u + 50u);
  EXPECT_LE(s.measurements().send_lag.summary().max(), kNanosPerSecond);
  for (int i = 0; i < 300; ++i) t_.Advance(10 * kMs);
  EXPECT_EQ(t_.sent.size() + s.measurements().skipped, 200u) << "the schedule's count";
  s.Finish();
  EXPECT_EQ(s.stats().sent(), 175u);
}

// A sender that fell behind and is stopped counts the probes due that never went out.
TEST_F(ProbeSessionTest, ProbesDueButNeverSentAreCountedSkipped) {
  ProbeSession s(LabConfig(0, kMs), t_, r_);
  s.Start();  // probe 1 at 0 ms
  t_.fake_clock().Advance(10 * kMs);  // the loop never woke: 10 more due (1..10 ms)
  s.StopSending();
  s.Finish();
  EXPECT_EQ(s.stats().sent(), 1u);
  EXPECT_EQ(s.measurements().skipped, 10u);
  ProbeSession f(LabConfig(0, kMs), t_, r_);  // stopped by Finish alone (Ctrl-C)
  f.Start();
  t_.fake_clock().Advance(5 * kMs);
  f.Finish();
  EXPECT_EQ(f.measurements().skipped, 5u);
}

// A schedule the machine cannot keep (1 ns apart) sends at most kMaxBurst per turn and
// records how late each probe left, instead of queueing work.
TEST_F(ProbeSessionTest, AnImpossibleScheduleSendsInBoundedBurstsWithSendLag) {
  ProbeSession s(LabConfig(0, 1), t_, r_);
  s.Start();
  t_.fake_clock().Advance(kMs);  // a millisecond behind: a million probes due
  EXPECT_EQ(t_.timers().RunDue(t_.clock().Now()), 1u);
  EXPECT_EQ(t_.sent.size(), 1u + ProbeSession::kMaxBurst);
  EXPECT_EQ(t_.timers().RunDue(t_.clock().Now()), 1u);
  EXPECT_EQ(t_.sent.size(), 1u + 2 * ProbeSession::kMaxBurst);
  EXPECT_GT(s.measurements().send_lag.summary().max(), 0.9 * static_cast<double>(kMs));
}

// Staggered sessions start on the send grid, so those due within one grid step send in
// one loop turn, round after round; the first session still sends at once.
TEST_F(ProbeSessionTest, StaggeredSessionsShareSendTimesOnTheGrid) {
  EXPECT_EQ(ProbeSession::SendGrid(kNanosPerSecond), kMs);
  EXPECT_EQ(ProbeSession::SendGrid(10 * kMs), 10 * kMs / 64);
  EXPECT_EQ(ProbeSession::SendGrid(10), 1);
  t_.fake_clock().Advance(123 * kNanosPerMicro);  // Start is off the grid
  const MonoTime t0 = t_.clock().Now();
  std::vector<std::unique_ptr<ProbeSession>> sessions;
  for (Nanos offset : {Nanos{0}, 100 * kNanosPerMicro, 400 * kNanosPerMicro, 1500 * kNanosPerMicro}) {
    ProbeSessionConfig c = LabConfig(0, kNanosPerSecond);
    c.start_offset = offset;
    sessions.push_back(std::make_unique<ProbeSession>(c, t_, r_, sessions.size()));
    sessions.back()->Start();
  }
  EXPECT_EQ(t_.sent.size(), 1u);  // offset 0: at once
  const auto sends_at = [&](MonoTime t) {
    t_.fake_clock().Set(t - 1);
    t_.Turn();
    const size_t before = t_.sent.size();
    t_.fake_clock().Set(t);
    t_.Turn();
    return t_.sent.size() - before;
  };
  const Nanos first_grid = 1000 * kNanosPerMicro - 123 * kNanosPerMicro;  // t0 + this: on the grid
  for (int round = 0; round < 3; ++round) {
    const MonoTime base = t0 + round * kNanosPerSecond;
    EXPECT_EQ(sends_at(base + first_grid), 2u) << round;  // offsets 100 and 400 us: together
    EXPECT_EQ(sends_at(base + first_grid + kMs), 1u) << round;  // 1.5 ms: the next step
    if (round < 2) {
      EXPECT_EQ(sends_at(t0 + (round + 1) * kNanosPerSecond), 1u) << round;  // offset 0
    }
  }
  for (const auto& s : sessions) EXPECT_EQ(s->measurements().send_lag.summary().max(), 0);
}

// Many sessions behind at once share the turn's send budget: the turn stays bounded, and
// the sessions left out go first on the next turn (their deadlines are the oldest).
TEST_F(ProbeSessionTest, SessionsBehindShareTheTurnsSendBudget) {
  t_.sends_per_turn = 100;
  std::vector<std::unique_ptr<ProbeSession>> sessions;
  for (uint32_t i = 0; i < 10; ++i) {
    sessions.push_back(std::make_unique<ProbeSession>(LabConfig(0, kNanosPerMicro), t_, r_, i));
    sessions.back()->Start();  // one probe each, at once
  }
  t_.fake_clock().Advance(kMs);  // a thousand probes due per session
  t_.sent.clear();
  t_.Turn();
  EXPECT_EQ(t_.sent.size(), 100u);
  t_.Turn();
  EXPECT_EQ(t_.sent.size(), 200u);
  for (int i = 0; i < 20; ++i) t_.Turn();
  // Every session got its share: none is starved by the others.
  for (const auto& s : sessions) EXPECT_GT(s->stats().sent(), 100u);
}

TEST_F(ProbeSessionTest, TheKernelTransmitTimestampIsT1WhenItArrives) {
  ProbeSession s(LabConfig(2, 10 * kMs), t_, r_);
  s.Start();
  // The kernel stamped probe 1 (tag: its seq) 30 µs after user space read the clock.
  s.OnTransmitTimestamp(0, 1, t_.clock().NowWall() + 30 * kNanosPerMicro);
  t_.Advance(kMs);
  Deliver(s, EchoOf(0));
  ASSERT_EQ(r_.replies.size(), 1u);
  EXPECT_EQ(r_.replies[0].rtt, kMs - 30 * kNanosPerMicro);
  EXPECT_EQ(s.measurements().kernel_t1, 1u);
}

// A stateful reflector's reply to sent datagram `i`, its T3 `t3_delay` after T1 (T2 = T1 +
// 1 ms, clocks in step), numbered `refl_seq`, reporting `follow_up` when given.
std::vector<uint8_t> StampReply(const std::vector<uint8_t>& request, uint32_t refl_seq,
                                Nanos t3_delay, const stamp::HmacSha256* hmac = nullptr,
                                const stamp::FollowUpTelemetry* follow_up = nullptr,
                                bool unrecognized = false) {
  stamp::SenderPacket req;
  if (hmac != nullptr) {
    EXPECT_EQ(stamp::DecodeAuthSender(request, *hmac, &req), DecodeError::kNone);
  } else {
    EXPECT_EQ(stamp::DecodeSender(request, &req), DecodeError::kNone);
  }
  const WallTime t1 = FromNtp(req.timestamp);
  stamp::ReflectorPacket rep;
  rep.seq = refl_seq;
  rep.ssid = req.ssid;
  rep.sender_seq = req.seq;
  rep.sender_timestamp = req.timestamp;
  rep.receive_timestamp = ToNtp(t1 + kMs);
  rep.timestamp = ToNtp(t1 + t3_delay);
  std::vector<uint8_t> out(request.size());
  if (hmac != nullptr) {
    stamp::EncodeAuthReflector(rep, *hmac, out.size(), out);
  } else {
    stamp::EncodeReflector(rep, out.size(), out);
  }
  const size_t base = hmac != nullptr ? stamp::kAuthPacketSize : stamp::kMinPacketSize;
  if (out.size() >= base + stamp::kFollowUpTelemetryTlvSize) {
    std::copy(request.begin() + static_cast<ptrdiff_t>(base), request.end(),
              out.begin() + static_cast<ptrdiff_t>(base));
    std::span<uint8_t> tlv(out.data() + base, stamp::kFollowUpTelemetryTlvSize);
    if (unrecognized) {
      tlv[0] |= stamp::kTlvFlagUnrecognized;
    } else {
      stamp::FillFollowUpTelemetry(follow_up != nullptr ? *follow_up : stamp::FollowUpTelemetry{},
                                   tlv);
    }
  }
  return out;
}

// The timeout event's send time is T1 as a reply would have used it: the kernel's
// transmit timestamp when it came, the user-space clock read otherwise.
TEST_F(ProbeSessionTest, ATimeoutCarriesTheKernelSendTimeWhenItCame) {
  ProbeSession s(LabConfig(2, 10 * kMs), t_, r_);
  const WallTime user_t1 = t_.clock().NowWall();
  s.Start();
  s.OnTransmitTimestamp(0, 1, user_t1 + 30 * kNanosPerMicro);
  t_.Advance(10 * kMs);  // probe 2: no kernel stamp comes for it
  const WallTime user_t2 = t_.clock().NowWall();
  t_.Advance(200 * kMs);
  ASSERT_EQ(r_.timeout_events.size(), 2u);
  EXPECT_EQ(r_.timeout_events[0].sent, user_t1 + 30 * kNanosPerMicro);
  EXPECT_EQ(r_.timeout_events[1].sent, user_t2);
}

// --duration with an interval: only the probes scheduled within it go out, even when the
// loop wakes long after the end and every later probe is already due.
TEST_F(ProbeSessionTest, ADurationBoundsTheScheduleWhateverTheLoopsLateness) {
  ProbeSessionConfig c = LabConfig(0, 50 * kMs);
  c.duration = 1000 * kMs;
  ProbeSession s(c, t_, r_);
  s.Start();
  t_.Advance(5 * kNanosPerSecond);  // one late wake-up: 100 probes due
  // 0, 50, ..., 950 ms: 20 in the schedule (not the one due at the end), the first sent
  // at once and the other 19, all more than a timeout late, skipped.
  EXPECT_EQ(t_.sent.size(), 1u);
  EXPECT_EQ(s.measurements().skipped, 19u);
  ProbeSessionConfig staggered = c;
  staggered.start_offset = 20 * kMs;  // 20, 70, ..., 970 ms
  EXPECT_EQ(ProbeSession::MaxProbes(staggered), 20u);
  staggered.start_offset = 0;
  staggered.duration = 1001 * kMs;  // 0, 50, ..., 1000 ms: the last before the end
  EXPECT_EQ(ProbeSession::MaxProbes(staggered), 21u);
  staggered.duration = 10 * kMs;  // shorter than the interval: the first probe
  EXPECT_EQ(ProbeSession::MaxProbes(staggered), 1u);
  staggered.duration = 1000 * kMs;
  staggered.count = 5;
  EXPECT_EQ(ProbeSession::MaxProbes(staggered), 5u);
}

ProbeSessionConfig StampConfig(int64_t count) {
  ProbeSessionConfig c;
  c.proto = ProbeProto::kStamp;
  c.count = count;
  c.interval = 10 * kMs;
  c.timeout = 100 * kMs;
  c.first_seq = 0;
  c.ssid = 3;
  return c;
}

// RFC 8972 follow-up telemetry: reply k+1 carries the exact transmit time of reply k, and
// exchange k's residence (so its RTT) is recorded with it.
TEST_F(ProbeSessionTest, FollowUpTelemetryGivesTheExactT3OfThePreviousReply) {
  ProbeSessionConfig c = StampConfig(2);
  c.follow_up = true;
  ProbeSession s(c, t_, r_);
  s.Start();
  ASSERT_EQ(t_.sent[0].bytes.size(), 64u) << "44 octets + the 20-octet TLV";
  // Reply 0: T3 written as T1 + 1.1 ms; it really left at T1 + 1.3 ms (follow-up below).
  t_.Advance(2500 * kNanosPerMicro);
  Deliver(s, StampReply(t_.sent[0].bytes, 0, 1100 * kNanosPerMicro));
  ASSERT_EQ(r_.replies.size(), 1u);
  EXPECT_EQ(r_.replies[0].rtt, 2400 * kNanosPerMicro) << "the event shows the reflector's T3";
  EXPECT_EQ(s.stats().rtt().count(), 0u) << "recorded once the exact T3 comes";
  t_.Advance(7500 * kNanosPerMicro);  // probe 1 due
  ASSERT_EQ(t_.sent.size(), 2u);
  stamp::SenderPacket first;
  stamp::DecodeSender(t_.sent[0].bytes, &first);
  stamp::FollowUpTelemetry fu;
  fu.seq = 0;
  fu.timestamp = ToNtp(FromNtp(first.timestamp) + 1300 * kNanosPerMicro);
  fu.timestamp_mode = stamp::kTimestampModeSwLocal;
  t_.Advance(2 * kMs);
  Deliver(s, StampReply(t_.sent[1].bytes, 1, 1100 * kNanosPerMicro, nullptr, &fu));
  ASSERT_EQ(s.stats().rtt().count(), 1u);
  // 2.5 ms round trip minus the exact residence, 1.3 − 1.0 = 0.3 ms.
  EXPECT_EQ(s.stats().rtt().summary().min(), 2200 * kNanosPerMicro);
  EXPECT_EQ(s.measurements().follow_up_t3, 1u);
  // The exchange's exact figures, per exchange: the follow-up event, before the reply
  // event of the reply that carried the report.
  ASSERT_EQ(r_.follow_ups.size(), 1u);
  const measure::FollowUpEvent& f = r_.follow_ups[0];
  EXPECT_EQ((std::pair{f.seq, f.reflector_seq}), (std::pair{0u, 0u}));
  EXPECT_EQ(f.sent, FromNtp(first.timestamp));
  EXPECT_EQ(f.t3, FromNtp(fu.timestamp));
  EXPECT_EQ(f.t3_estimate, FromNtp(first.timestamp) + 1100 * kNanosPerMicro);
  EXPECT_EQ(f.residence, 300 * kNanosPerMicro);
  EXPECT_EQ(f.backward, 1200 * kNanosPerMicro) << "T4 (T1 + 2.5 ms) − exact T3 (T1 + 1.3 ms)";
  EXPECT_EQ(f.rtt, 2200 * kNanosPerMicro);
  EXPECT_EQ(r_.replies_before_follow_up[0], 1u) << "before reply 1's own event";
  EXPECT_EQ(r_.replies.size(), 2u);
  s.Finish();  // the last exchange gets no follow-up: its own T3
  EXPECT_EQ(s.stats().rtt().count(), 2u);
  EXPECT_EQ(s.measurements().follow_up_t3, 1u) << "the summary's count of exact T3s";
  EXPECT_EQ(r_.follow_ups.size(), 1u) << "no event for an exchange kept with its own T3";
  EXPECT_EQ(s.measurements().follow_up_refused, 0u);
}

// A reflector that does not know the TLV returns it with U set (RFC 8972): after
// kFollowUpGiveUp such replies in a row the sender stops holding exchanges back, and
// records each with the reflector's T3 at once.
TEST_F(ProbeSessionTest, AReflectorWithoutFollowUpIsGivenUpOnAfterSeveralReplies) {
  constexpr int kGiveUp = ProbeSession::kFollowUpGiveUp;
  static_assert(kGiveUp > 1, "one altered reply must not end follow-up");
  ProbeSessionConfig c = StampConfig(kGiveUp + 1);
  c.follow_up = true;
  ProbeSession s(c, t_, r_);
  s.Start();
  for (int i = 0; i <= kGiveUp; ++i) {
    t_.Advance(2 * kMs);
    Deliver(s, StampReply(t_.sent[static_cast<size_t>(i)].bytes, static_cast<uint32_t>(i),
                          1100 * kNanosPerMicro, nullptr, nullptr, true));
    // Each refusal records the exchanges before it; the current one waits for the next
    // reply's report until the session gives up, then is recorded at once.
    EXPECT_EQ(s.stats().rtt().count(), static_cast<uint64_t>(i < kGiveUp - 1 ? i : i + 1))
        << "reply " << i;
    t_.Advance(8 * kMs);
  }
  EXPECT_EQ(s.stats().received(), static_cast<uint64_t>(kGiveUp + 1));
  EXPECT_EQ(s.measurements().follow_up_t3, 0u);
  EXPECT_EQ(s.measurements().follow_up_refused, static_cast<uint64_t>(kGiveUp + 1));
  EXPECT_TRUE(r_.follow_ups.empty());
}

// Issue 15 G3: one reply whose report cannot be used (here its TLV's U flag set on the
// way, which neither the base HMAC nor, in authenticated mode, anything covers when the
// HMAC TLV is what was altered) must not end follow-up for the session: the reports
// before and after it are still used.
TEST_F(ProbeSessionTest, OneUnusableReportDoesNotEndFollowUp) {
  ProbeSessionConfig c = StampConfig(4);
  c.follow_up = true;
  ProbeSession s(c, t_, r_);
  s.Start();
  // Reply k reports reply k − 1 as sent 200 µs after the T3 it carried.
  auto report_of = [&](size_t k) {
    stamp::SenderPacket prev;
    stamp::DecodeSender(t_.sent[k - 1].bytes, &prev);
    stamp::FollowUpTelemetry fu;
    fu.seq = static_cast<uint32_t>(k - 1);
    fu.timestamp = ToNtp(FromNtp(prev.timestamp) + 1300 * kNanosPerMicro);
    fu.timestamp_mode = stamp::kTimestampModeSwLocal;
    return fu;
  };
  for (size_t k = 0; k < 4; ++k) {
    t_.Advance(2 * kMs);
    const stamp::FollowUpTelemetry fu = k > 0 ? report_of(k) : stamp::FollowUpTelemetry{};
    Deliver(s, StampReply(t_.sent[k].bytes, static_cast<uint32_t>(k), 1100 * kNanosPerMicro,
                          nullptr, &fu, /*unrecognized=*/k == 1));
    t_.Advance(8 * kMs);
  }
  s.Finish();
  EXPECT_EQ(s.stats().rtt().count(), 4u);
  EXPECT_EQ(s.measurements().follow_up_refused, 1u);
  // Reply 1's report was unusable, so exchange 0 kept its own T3; reply 2 reported 1 and
  // reply 3 reported 2: follow-up went on after the bad reply.
  EXPECT_EQ(s.measurements().follow_up_t3, 2u);
  ASSERT_EQ(r_.follow_ups.size(), 2u);
  EXPECT_EQ(r_.follow_ups[0].seq, 1u);
  EXPECT_EQ(r_.follow_ups[1].seq, 2u);
}

// A reflector that holds its replies longer than the probe interval (serve --delay)
// knows a reply's transmit time only after the next request came: its reports lag two
// replies behind (the first two empty). Exchanges wait for their own report, not just
// the next reply's.
TEST_F(ProbeSessionTest, FollowUpReportsThatLagBehindStillComplete) {
  ProbeSessionConfig c = StampConfig(4);
  c.follow_up = true;
  ProbeSession s(c, t_, r_);
  s.Start();
  for (size_t k = 0; k < 4; ++k) {
    t_.Advance(2 * kMs);
    stamp::FollowUpTelemetry fu;  // empty for replies 0 and 1
    if (k >= 2) {
      stamp::SenderPacket reported;
      stamp::DecodeSender(t_.sent[k - 2].bytes, &reported);
      fu.seq = static_cast<uint32_t>(k - 2);
      fu.timestamp = ToNtp(FromNtp(reported.timestamp) + 1300 * kNanosPerMicro);
      fu.timestamp_mode = stamp::kTimestampModeSwLocal;
    }
    Deliver(s, StampReply(t_.sent[k].bytes, static_cast<uint32_t>(k), 1100 * kNanosPerMicro,
                          nullptr, &fu));
    EXPECT_EQ(s.stats().rtt().count(), k < 2 ? 0u : k - 1) << "after reply " << k;
    t_.Advance(8 * kMs);
  }
  EXPECT_EQ(s.measurements().follow_up_t3, 2u);
  ASSERT_EQ(r_.follow_ups.size(), 2u);
  EXPECT_EQ(r_.follow_ups[0].seq, 0u);
  EXPECT_EQ(r_.follow_ups[1].seq, 1u);
  EXPECT_EQ(r_.follow_ups[1].residence, 300 * kNanosPerMicro);
  s.Finish();  // 2 and 3 never got theirs: their own T3
  EXPECT_EQ(s.stats().rtt().count(), 4u);
  EXPECT_EQ(s.measurements().follow_up_t3, 2u);
}

// However far reports fall behind, a session holds at most kMaxPendingFollowUps
// exchanges: a reflector that understands the TLV but never reports a send time delays
// the figures, never loses them.
TEST_F(ProbeSessionTest, ExchangesHeldForReportsAreBounded) {
  constexpr size_t kMax = ProbeSession::kMaxPendingFollowUps;
  ProbeSessionConfig c = StampConfig(static_cast<int64_t>(kMax) + 5);
  c.follow_up = true;
  ProbeSession s(c, t_, r_);
  s.Start();
  for (size_t k = 0; k < kMax + 5; ++k) {
    t_.Advance(2 * kMs);
    Deliver(s, StampReply(t_.sent[k].bytes, static_cast<uint32_t>(k), 1100 * kNanosPerMicro));
    EXPECT_EQ(s.stats().rtt().count(), k < kMax ? 0u : k + 1 - kMax) << "after reply " << k;
    t_.Advance(8 * kMs);
  }
  s.Finish();
  EXPECT_EQ(s.stats().rtt().count(), kMax + 5);
  EXPECT_EQ(s.measurements().follow_up_t3, 0u);
  EXPECT_EQ(s.measurements().follow_up_refused, 0u);
}

// Loss by direction with a stateful reflector that drops requests only: those before the
// last answered probe were lost forward, and the trailing ones (after it) cannot be told
// apart: unattributed, never blamed on the return path.
TEST_F(ProbeSessionTest, TrailingLossesAreUnattributedNeverBackward) {
  ProbeSession s(StampConfig(10), t_, r_);
  s.Start();
  t_.Advance(95 * kMs);  // seqs 0..9 sent
  ASSERT_EQ(t_.sent.size(), 10u);
  // The reflector numbers what it reflects: seqs 0 1 3 4 6 7 get 0..5; 2, 5, 8, 9 dropped.
  uint32_t refl = 0;
  for (size_t i : {0, 1, 3, 4, 6, 7}) Deliver(s, StampReply(t_.sent[i].bytes, refl++, kMs));
  t_.Advance(200 * kMs);
  EXPECT_EQ(r_.done, 1);
  s.Finish();
  EXPECT_EQ(s.stats().lost(), 4u);
  const measure::LossSplit& split = s.measurements().stamp.settled_split();
  EXPECT_TRUE(s.measurements().stamp.reflector_stateful());
  EXPECT_EQ(split.forward, 2u);
  EXPECT_EQ(split.backward, 0u);
  EXPECT_EQ(split.unattributed, 2u);
}

// The same reflector losing a reply on the way back: the gap in its numbers shows it.
TEST_F(ProbeSessionTest, AGapInTheReflectorsNumbersIsBackwardLoss) {
  ProbeSession s(StampConfig(6), t_, r_);
  s.Start();
  t_.Advance(55 * kMs);
  ASSERT_EQ(t_.sent.size(), 6u);
  // seq 1 dropped forward (never numbered); seq 3 numbered 2 but its reply lost; seq 5
  // dropped (trailing).
  Deliver(s, StampReply(t_.sent[0].bytes, 0, kMs));
  Deliver(s, StampReply(t_.sent[2].bytes, 1, kMs));
  Deliver(s, StampReply(t_.sent[4].bytes, 3, kMs));
  t_.Advance(200 * kMs);
  s.Finish();
  const measure::LossSplit& split = s.measurements().stamp.settled_split();
  EXPECT_EQ(s.stats().lost(), 3u);
  EXPECT_EQ(split.forward, 1u);
  EXPECT_EQ(split.backward, 1u);
  EXPECT_EQ(split.unattributed, 1u);
}

// Authenticated mode: 112-octet requests signed with the key; a reply whose HMAC does not
// verify is malformed, never a reply.
TEST_F(ProbeSessionTest, AuthenticatedRepliesMustVerify) {
  const std::string key = "0123456789abcdef0123456789abcdef";
  const stamp::HmacSha256 hmac(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(key.data()), key.size()));
  ProbeSessionConfig c = StampConfig(2);
  c.hmac = &hmac;
  ProbeSession s(c, t_, r_);
  s.Start();
  ASSERT_EQ(t_.sent[0].bytes.size(), stamp::kAuthPacketSize);
  EXPECT_TRUE(stamp::VerifyAuthHmac(t_.sent[0].bytes, hmac));
  t_.Advance(2 * kMs);
  std::vector<uint8_t> forged = StampReply(t_.sent[0].bytes, 0, kMs, &hmac);
  forged[20] ^= 1;  // T3 altered after signing
  Deliver(s, forged);
  EXPECT_EQ(r_.malformed, 1);
  EXPECT_TRUE(r_.replies.empty());
  Deliver(s, StampReply(t_.sent[0].bytes, 0, kMs, &hmac));
  ASSERT_EQ(r_.replies.size(), 1u);
  EXPECT_EQ(r_.replies[0].kind, stats::ReplyClass::kOnTime);
}

// The lab server's answer to failed datagram `i` (a forgery: it never left).
std::vector<uint8_t> Upper(std::vector<uint8_t> b) {
  for (uint8_t& c : b)
    if (c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 32);
  return b;
}

// A send the kernel refuses (reported at its completion, the next turn) settles its
// probe at once as a send error: not sent, not lost, not in flight, and a reply to it
// is not credited; the others are untouched.
TEST_F(ProbeSessionTest, ASendTheKernelRefusesSettlesAtOnceAsASendError) {
  ProbeSession s(LabConfig(4, 10 * kMs), t_, r_);
  t_.handler = &s;
  t_.fail_tags = {{2, EPERM}};
  s.Start();
  t_.Advance(10 * kMs);  // probe 2 goes out and is refused
  ASSERT_EQ(t_.failed.size(), 1u);
  ASSERT_EQ(r_.timeout_events.size(), 1u);  // long before its 100 ms timeout
  EXPECT_EQ(r_.timeout_events[0].seq, 2u);
  EXPECT_EQ(r_.timeout_events[0].send_error, EPERM);
  EXPECT_FALSE(r_.timeout_events[0].unreachable);
  EXPECT_EQ(s.stats().sent(), 1u);
  EXPECT_EQ(s.stats().awaiting(), 1u);  // probe 1 only
  EXPECT_EQ(s.measurements().send_errors, 1u);
  Deliver(s, Upper(t_.failed[0].bytes));  // a forged reply to probe 2
  EXPECT_EQ(r_.malformed, 1);
  EXPECT_TRUE(r_.replies.empty());
  t_.Advance(20 * kMs);  // probes 3 and 4
  ASSERT_EQ(t_.sent.size(), 3u);
  for (size_t i = 0; i < 3; ++i) Deliver(s, EchoOf(i));
  ASSERT_EQ(r_.replies.size(), 3u);
  EXPECT_EQ(r_.replies[0].seq, 1u);
  EXPECT_EQ(r_.replies[1].seq, 3u);
  EXPECT_EQ(r_.replies[2].seq, 4u);
  EXPECT_FALSE(r_.replies[1].reordered);
  EXPECT_EQ(r_.done, 1);
  t_.Advance(500 * kMs);
  EXPECT_EQ(r_.timeout_events.size(), 1u);  // nothing ever timed out
  s.Finish();
  const measure::Figures f = measure::Summarize(s.measurements());
  EXPECT_EQ(f.sent, 3u);
  EXPECT_EQ(f.received, 3u);
  EXPECT_EQ(f.lost, 0u);
  EXPECT_EQ(f.in_flight, 0u);
  EXPECT_EQ(f.timed_out, 0u);
  EXPECT_EQ(f.send_errors, 1u);
  EXPECT_EQ(f.loss_ratio, 0.0);
  EXPECT_EQ(f.sent + f.send_errors, 4u);  // the schedule's count
}

// A send that cannot even be queued is reported from within Send: the same settling,
// without recursion, and in the lab's rhythm the next probe waits for the failed one's
// timeout instead of going out at once.
TEST_F(ProbeSessionTest, ASendFailingAtOnceInTheLabsRhythmWaitsOutItsTimeout) {
  ProbeSession s(LabConfig(3, std::nullopt), t_, r_);
  t_.handler = &s;
  t_.fail_at_once = true;
  t_.fail_tags = {{1, ENOBUFS}, {2, ENOBUFS}};
  s.Start();
  ASSERT_EQ(r_.timeout_events.size(), 1u);
  EXPECT_EQ(r_.timeout_events[0].send_error, ENOBUFS);
  EXPECT_EQ(t_.failed.size(), 1u);
  t_.Advance(99 * kMs);
  EXPECT_EQ(t_.failed.size(), 1u);
  t_.Advance(1 * kMs);  // probe 2, refused as well
  EXPECT_EQ(t_.failed.size(), 2u);
  EXPECT_TRUE(t_.sent.empty());
  t_.Advance(100 * kMs);  // probe 3 goes out
  ASSERT_EQ(t_.sent.size(), 1u);
  Deliver(s, EchoOf(0));
  EXPECT_EQ(r_.done, 1);
  s.Finish();
  EXPECT_EQ(s.stats().sent(), 1u);
  EXPECT_EQ(s.stats().received(), 1u);
  EXPECT_EQ(s.stats().lost(), 0u);
  EXPECT_EQ(s.measurements().send_errors, 2u);
  EXPECT_EQ(s.stats().timed_out(), 0u);
}

// The last probe's send failing ends the session at once: nothing waits for it.
TEST_F(ProbeSessionTest, TheLastProbeFailingToSendEndsTheSession) {
  ProbeSession s(LabConfig(2, 10 * kMs), t_, r_);
  t_.handler = &s;
  t_.fail_tags = {{2, ENETUNREACH}};
  s.Start();
  Deliver(s, EchoOf(0));
  EXPECT_EQ(r_.done, 0);
  t_.Advance(10 * kMs);
  EXPECT_EQ(r_.done, 1);
  EXPECT_EQ(s.measurements().send_errors, 1u);
}

// ECONNREFUSED on a send is the network's answer (ICMP port unreachable): it keeps
// that meaning, and the probe times out as unreachable, not as a send error.
TEST_F(ProbeSessionTest, ConnectionRefusedOnASendIsStillUnreachable) {
  ProbeSession s(LabConfig(1, 10 * kMs), t_, r_);
  t_.handler = &s;
  t_.fail_tags = {{1, ECONNREFUSED}};
  s.Start();
  t_.Advance(1 * kMs);
  EXPECT_TRUE(r_.timeout_events.empty());
  t_.Advance(200 * kMs);
  ASSERT_EQ(r_.timeout_events.size(), 1u);
  EXPECT_TRUE(r_.timeout_events[0].unreachable);
  EXPECT_EQ(r_.timeout_events[0].send_error, 0);
  EXPECT_EQ(s.measurements().unreachable, 1u);
  EXPECT_EQ(s.measurements().send_errors, 0u);
}

}  // namespace
}  // namespace udpbeat::engine
