// Golden text, JSON and Prometheus output from the reporters, on hand-made results: the
// reporters only format, so every figure here is what the result says.
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "udpbeat/base/reported_status.h"
#include "udpbeat/report/json_reporter.h"
#include "udpbeat/report/progress_line.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/report/serve_text.h"
#include "udpbeat/report/text_reporters.h"

namespace udpbeat::report {
namespace {

constexpr Nanos kUs = kNanosPerMicro;
const WallTime kT0 = WallTime::FromNanos(1'700'000'000'000'000'000);

measure::TargetInfo Target(std::string name = "localhost:12000") {
  measure::TargetInfo t;
  t.name = name;
  t.address = "127.0.0.1:12000";
  t.host = name.substr(0, name.find(':'));
  return t;
}

measure::RunInfo Info(std::string protocol) {
  measure::RunInfo i;
  i.mode = "ping";
  i.proto = protocol == "seed" ? ProbeProto::kLab : ProbeProto::kStamp;
  i.version = "9.9.9";
  i.interval = kNanosPerSecond;
  i.timeout = kNanosPerSecond;
  i.start = kT0;
  i.timestamps = "kernel";
  return i;
}

measure::DelayFigures Delays(Nanos min, double avg, Nanos max) {
  measure::DelayFigures d;
  d.count = 3;
  d.min = min;
  d.avg = avg;
  d.max = max;
  d.mdev = 5 * kUs;
  d.p50 = 30 * kUs;
  d.p90 = max;
  d.p99 = max;
  d.p999 = max;
  d.jitter = 2 * kUs;
  return d;
}

measure::Figures Figures() {
  measure::Figures f;
  f.sent = 4;
  f.received = 3;
  f.on_time = 3;
  f.lost = 1;
  f.loss_ratio = 0.25;
  f.longest_loss_burst = 1;
  f.kernel_t1 = 3;
  f.rtt = Delays(20 * kUs, 30 * kUs, 40 * kUs);
  f.rtt_buckets.Record(20 * kUs);
  f.rtt_buckets.Record(30 * kUs);
  f.rtt_buckets.Record(40 * kUs);
  f.last_rtt = 40 * kUs;
  return f;
}

measure::RunResult Result(std::string protocol) {
  measure::RunResult r;
  r.info = Info(protocol);
  r.elapsed = 3004 * kNanosPerMilli;
  measure::TargetResult t;
  t.info = Target();
  t.figures = Figures();
  r.targets.push_back(t);
  r.total = t.figures;
  return r;
}

measure::ReplyEvent Reply(uint32_t seq, std::string_view payload) {
  measure::ReplyEvent e;
  e.seq = seq;
  e.rtt = 31 * kUs;
  e.bytes = payload.size();
  e.ttl = 64;
  e.payload = payload;
  e.sent = kT0;
  e.received = kT0 + 31 * kUs;
  return e;
}

measure::TimeoutEvent Timeout(uint32_t seq, bool unreachable) {
  return {seq, kT0, kT0 + kNanosPerSecond, unreachable};
}

TEST(ServeText, TheCountersThenTheLoopsThenEachWorker) {
  measure::ServeCounters a, b;
  a.received = 10;
  a.replied = 9;
  a.dropped = 1;
  b.received = 5;
  b.replied = 5;
  measure::ServeCounters total = a;
  total.Merge(b);
  measure::LoopCounters loops{4, 15, 6};
  std::ostringstream out;
  const std::vector<measure::ServeCounters> workers = {a, b};
  WriteServeStatistics(total, loops, workers, out);
  EXPECT_EQ(out.str(),
            "\n--- udpbeat serve statistics ---\n"
            "received 15, replied 14, dropped 1, malformed 0, send errors 0, kernel drops 0, "
            "rate limited 0, peers 0, peer evictions 0, refused 0, unauthenticated 0, "
            "delay queue full 0\n"
            "event loop: 4 turns, 3.8 datagrams per turn, 6 io_uring_enter calls\n"
            "thread 0: received 10, replied 9\n"
            "thread 1: received 5, replied 5\n");
  std::ostringstream one;
  WriteServeStatistics(a, loops, std::span(workers).first(1), one);
  EXPECT_EQ(one.str().find("thread"), std::string::npos) << "one worker: no per-thread lines";
}

TEST(PingText, TheLabsLinesForTheLabProtocol) {
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({}, out, err);
  rep->Start(Info("seed"), {Target()});
  rep->Reply(Target(), Reply(1, "PING 1 1700000000.000000000  "));
  rep->Timeout(Target(), Timeout(2, false));
  rep->Timeout(Target(), Timeout(3, true));
  rep->Summary(Result("seed"));
  EXPECT_EQ(out.str(),
            "Reply from localhost: PING 1 1700000000.000000000\n"
            "RTT: 0.000031 seconds\n"
            "Request timed out\n"
            "From localhost: seq=3 Destination Port Unreachable\n"
            "\n--- Ping statistics ---\n"
            "Packets: Sent = 4, Received = 3, Lost = 1 (25.0% packet loss)\n"
            "4 packets transmitted, 3 received, 25% packet loss, time 3004ms\n"
            "RTTs: Min = 0.000020s, Max = 0.000040s, Avg = 0.000030s\n"
            "rtt min/avg/max/mdev = 0.020/0.030/0.040/0.005 ms\n"
            "rtt p50/p90/p99/p99.9 = 0.030/0.040/0.040/0.040 ms\n"
            "jitter = 0.002 ms (RFC 3550)\n"
            "late 0, duplicate 0, reordered 0, malformed 0, longest loss burst 1\n"
            "send times: kernel for 3 of 3 replies\n");
  EXPECT_EQ(err.str(), "");
}

TEST(PingText, TheLabsLinesNameTheTargetWhenThereAreSeveral) {
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({}, out, err);
  const measure::TargetInfo a = Target("localhost:12000"), b = Target("localhost:12001");
  rep->Start(Info("seed"), {a, b});
  rep->Reply(a, Reply(1, "PING 1 1700000000.000000000"));
  rep->Reply(b, Reply(1, "PING 1 1700000000.000000000"));
  measure::ReplyEvent late = Reply(2, "PING 2 1700000001.000000000");
  late.kind = stats::ReplyClass::kLate;
  rep->Reply(b, late);
  late.kind = stats::ReplyClass::kDuplicate;
  rep->Reply(b, late);
  EXPECT_EQ(out.str(),
            "Reply from localhost:12000: PING 1 1700000000.000000000\n"
            "RTT: 0.000031 seconds\n"
            "Reply from localhost:12001: PING 1 1700000000.000000000\n"
            "RTT: 0.000031 seconds\n"
            "Late reply from localhost:12001: seq 2 after 0.000031 seconds (timed out)\n"
            "Duplicate reply from localhost:12001: seq 2\n");
}

TEST(PingText, StampRepliesInPingsOneLineFormWithUnixTimes) {
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({false, true, true}, out, err);
  rep->Start(Info("stamp"), {Target()});
  measure::ReplyEvent r = Reply(0, "");
  r.bytes = 44;
  r.tos = 0x28;
  r.has_timestamps = true;
  r.clock_offset = 14 * kUs;
  r.residence = 5 * kUs;
  rep->Reply(Target(), r);
  r.kind = stats::ReplyClass::kDuplicate;
  rep->Reply(Target(), r);
  rep->Timeout(Target(), Timeout(1, false));
  EXPECT_EQ(out.str(),
            "[1700000000.000031] 44 bytes from localhost: seq=0 ttl=64 tos=0x28 time=0.031 ms "
            "offset=+0.014 ms residence=0.005 ms\n"
            "[1700000000.000031] 44 bytes from localhost: seq=0 ttl=64 tos=0x28 time=0.031 ms "
            "offset=+0.014 ms residence=0.005 ms (DUP!)\n"
            "[1700000001.000000] no answer yet for localhost seq=1\n");
}

TEST(PingText, ProbesStillInFlightAreNotLost) {
  measure::RunResult r = Result("stamp");
  r.total.lost = 0;
  r.total.in_flight = 1;
  r.total.loss_ratio = 0;
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({true}, out, err);
  rep->Start(r.info, {Target()});
  rep->Summary(r);
  EXPECT_NE(out.str().find("Packets: Sent = 4, Received = 3, Lost = 0 (0.0% packet loss), "
                           "1 in flight\n4 packets transmitted, 3 received, 1 in flight, 0% "
                           "packet loss, time 3004ms\n"),
            std::string::npos)
      << out.str();
}

// Probes that never left this host: a line each at once, with the kernel's reason, and
// in the summary next to the loss, never in it.
TEST(PingText, SendErrorsAreNamedAtOnceAndCountedApartFromLoss) {
  measure::RunResult r = Result("stamp");
  r.total.sent = 3;
  r.total.lost = 0;
  r.total.loss_ratio = 0;
  r.total.send_errors = 2;
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({}, out, err);
  rep->Start(r.info, {Target()});
  measure::TimeoutEvent e = Timeout(2, false);
  e.send_error = EPERM;
  rep->Timeout(Target(), e);
  rep->Summary(r);
  const std::string text = out.str();
  for (const char* want :
       {"send error for localhost seq=2: Operation not permitted\n",
        "Packets: Sent = 3, Received = 3, Lost = 0 (0.0% packet loss), 2 send errors\n"
        "2 probes never left this host (send errors: refused locally), neither sent nor lost\n"
        "3 packets transmitted, 3 received, +2 send errors, 0% packet loss, time 3004ms\n"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\nin\n" << text;
  }
}

TEST(PingText, StampLossSplitNamesTheUnattributed) {
  measure::RunResult r = Result("stamp");
  measure::StampFigures st;
  st.forward = st.backward = st.forward_raw = st.backward_raw = Delays(10 * kUs, 15 * kUs, 20 * kUs);
  st.reflector_stateful = true;
  st.loss = {0, 0, 1};
  r.total.stamp = st;
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({true}, out, err);
  rep->Start(r.info, {Target()});
  rep->Summary(r);
  EXPECT_NE(out.str().find("loss forward 0, backward 0, unattributed 1 (after the last reply: "
                           "either way) (stateful reflector)\n"),
            std::string::npos)
      << out.str();
}

TEST(PingText, FollowUpSaysHowOftenTheExactT3CameAndWhyNot) {
  struct Case {
    uint64_t exact, refused;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {2, 1,
            "reflector send times: exact (follow-up) for 2 of 3 replies, the reflector's own "
            "T3 for the rest\n"},
           // A stateless or follow-up-unaware reflector: the TLV came back unrecognised.
           {0, 3,
            "reflector send times: exact (follow-up) for 0 of 3 replies; the reflector did not "
            "take the request up (3 replies returned it unrecognised, left it out or did not "
            "sign it: a stateless reflector, or one without RFC 8972 follow-up), its own T3 "
            "used\n"},
           // Understood, but zeros every time: not the reflector's statefulness at fault.
           {0, 0,
            "reflector send times: exact (follow-up) for 0 of 3 replies; the reflector "
            "understood the request but reported no send time, its own T3 used\n"},
       }) {
    measure::RunResult r = Result("stamp");
    r.info.follow_up = true;
    r.total.follow_up_t3 = c.exact;
    r.total.follow_up_refused = c.refused;
    std::ostringstream out, err;
    auto rep = MakePingTextReporter({}, out, err);
    rep->Start(r.info, {Target()});
    rep->Summary(r);
    EXPECT_NE(out.str().find(c.want), std::string::npos) << out.str();
  }
  measure::RunResult r = Result("stamp");
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({}, out, err);
  rep->Summary(r);
  EXPECT_EQ(out.str().find("follow-up"), std::string::npos) << "not asked for, not named";
}

TEST(PingText, SkippedProbesAreNamedInWords) {
  measure::RunResult r = Result("stamp");
  r.total.skipped = 5;
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({}, out, err);
  rep->Summary(r);
  EXPECT_NE(out.str().find("5 probes skipped: this host fell behind the schedule"),
            std::string::npos)
      << out.str();
}

TEST(PingText, SeveralTargetsGetATableAndTheAggregate) {
  measure::RunResult r = Result("stamp");
  measure::TargetResult b = r.targets[0];
  b.info = Target("db1:862");
  b.figures.received = 0;
  b.figures.lost = 4;
  b.figures.loss_ratio = 1;
  b.figures.rtt = {};
  r.targets.push_back(b);
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({true}, out, err);
  rep->Start(r.info, {r.targets[0].info, r.targets[1].info});
  rep->Summary(r);
  EXPECT_NE(out.str().find(
                "target              sent received  loss%   min ms   avg ms   p50 ms   p99 ms "
                "  max ms\n"
                "localhost:12000        4        3   25.0    0.020    0.030    0.030    0.040 "
                "   0.040\n"
                "db1:862                4        0  100.0        -        -        -        - "
                "       -\n"
                "all                    4        3   25.0    0.020    0.030    0.030    0.040 "
                "   0.040\n"),
            std::string::npos)
      << out.str();
}

// Sessions of --sessions: the worst by loss, then the worst by RTT p99 among those with
// a reply (a session with none has no RTT to rank).
TEST(SessionReport, SessionsWithoutAReplyAreNotRankedByRtt) {
  measure::RunResult r = Result("stamp");
  const Nanos p99s[] = {16 * kUs, 16 * kUs, 12 * kUs, 0, 0};
  for (uint32_t i = 0; i < 5; ++i) {
    measure::SessionResult s;
    s.index = i;
    s.target = i < 3 ? 0 : 1;
    s.figures = Figures();
    s.figures.rtt.p99 = p99s[i];
    if (i >= 3) {
      s.figures.received = s.figures.on_time = 0;
      s.figures.lost = 4;
      s.figures.loss_ratio = 1;
      s.figures.rtt = {};
    }
    r.sessions.push_back(s);
  }
  r.sessions[1].figures.rtt.p99 = 17 * kUs;
  std::ostringstream out;
  WriteSessionReport(r, out);
  EXPECT_NE(out.str().find("worst sessions by rtt p99: #1 0.017 ms #0 0.016 ms #2 0.012 ms; "
                           "2 without a reply\n"),
            std::string::npos)
      << out.str();

  for (measure::SessionResult& s : r.sessions) s.figures.rtt = {};
  out.str("");
  WriteSessionReport(r, out);
  EXPECT_NE(out.str().find("worst sessions by rtt p99: no session had a reply\n"),
            std::string::npos)
      << out.str();

  // Every session answered: the five worst, nothing more said.
  r = Result("stamp");
  for (uint32_t i = 0; i < 7; ++i) {
    measure::SessionResult s;
    s.index = i;
    s.figures = Figures();
    s.figures.rtt.p99 = (10 + i) * kUs;
    r.sessions.push_back(s);
  }
  out.str("");
  WriteSessionReport(r, out);
  EXPECT_NE(out.str().find("worst sessions by rtt p99: #6 0.016 ms #5 0.015 ms #4 0.014 ms "
                           "#3 0.013 ms #2 0.012 ms\n"),
            std::string::npos)
      << out.str();
}

// STAMP: heartbeat prints each reply as ping does (one formatter), in ms; the lab
// protocol keeps the lab heartbeat client's line, which its graders parse.
TEST(HeartbeatText, StampRepliesAsPingPrintsThemTheLabsLineForTheLab) {
  measure::ReplyEvent r = Reply(0, "");
  r.bytes = 44;
  r.has_timestamps = true;
  r.clock_offset = -7 * kUs;
  r.residence = 5 * kUs;
  r.forward = 1 * kUs;
  std::ostringstream ping_out, hb_out, err;
  auto ping = MakePingTextReporter({}, ping_out, err);
  auto hb = MakeHeartbeatTextReporter({}, hb_out, err);
  measure::RunInfo info = Info("stamp");
  ping->Start(info, {Target()});
  info.mode = "heartbeat";
  hb->Start(info, {Target()});
  for (stats::ReplyClass k : {stats::ReplyClass::kOnTime, stats::ReplyClass::kLate}) {
    r.kind = k;
    ping->Reply(Target(), r);
    hb->Reply(Target(), r);
  }
  EXPECT_EQ(hb_out.str(),
            "44 bytes from localhost: seq=0 ttl=64 time=0.031 ms offset=-0.007 ms "
            "residence=0.005 ms\n"
            "44 bytes from localhost: seq=0 ttl=64 time=0.031 ms offset=-0.007 ms "
            "residence=0.005 ms (late)\n");
  EXPECT_EQ(hb_out.str(), ping_out.str());

  std::ostringstream lab_out;
  auto lab = MakeHeartbeatTextReporter({}, lab_out, err);
  lab->Start(Info("seed"), {Target()});
  measure::ReplyEvent l = Reply(1, "1 0.000123");
  l.has_time_difference = true;
  l.time_difference = 0.000123;
  lab->Reply(Target(), l);
  l.kind = stats::ReplyClass::kLate;
  lab->Reply(Target(), l);  // the lab's client says nothing of a late one
  EXPECT_EQ(lab_out.str(), "Received heartbeat response 1: Time difference = 0.000123 seconds\n");
  EXPECT_EQ(err.str(), "");
}

// The error stream's lines are every reporter's, the same in text and JSON runs.
TEST(RunReporter, ErrorStreamLinesAreTheSameWhateverTheFormat) {
  for (bool json : {false, true}) {
    std::ostringstream out, err;
    std::unique_ptr<RunReporter> rep =
        json ? MakeJsonReporter(out, err) : MakeHeartbeatTextReporter({}, out, err);
    rep->Start(Info("stamp"), {Target()});
    rep->NothingToReload();
    rep->ReloadRefused(absl::NotFoundError("open targets: No such file or directory"));
    // Told once; each failure comes back marked as told, so the exit adds no line.
    for (int i = 0; i < 2; ++i) {
      const absl::Status st =
          rep->MetricsFileFailed(absl::PermissionDeniedError("write m.prom: Permission denied"));
      EXPECT_TRUE(IsReported(st));
      EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
    }
    measure::TargetResult t;
    t.info = Target("localhost:862");
    t.figures.sent = 3;
    t.figures.unreachable = 3;
    rep->Unanswered(t, true);
    t.figures = {};
    t.figures.send_errors = 1;
    rep->Unanswered(t, false);
    t.figures.received = 1;
    rep->Unanswered(t, false);  // it answered: nothing to explain
    EXPECT_EQ(err.str(),
              "udpbeat: SIGHUP: no targets file to read again\n"
              "udpbeat: reload: open targets: No such file or directory (targets unchanged)\n"
              "udpbeat: write m.prom: Permission denied\n"
              "udpbeat: localhost:862: port unreachable: nothing is listening (STAMP's port "
              "is 862; udpbeat serve listens on 12000 unless told otherwise)\n"
              "udpbeat: localhost:862: every send failed (1 probe): nothing left this host\n")
        << (json ? "json" : "text");
  }
}

TEST(ServeText, TheListeningLine) {
  EXPECT_EQ(ListeningLine("127.0.0.1:12000", "auto", 1),
            "udpbeat serve: listening on 127.0.0.1:12000 (reply auto)");
  EXPECT_EQ(ListeningLine("[::1]:862", "stamp", 4),
            "udpbeat serve: listening on [::1]:862 (reply stamp, 4 threads)");
}

TEST(HeartbeatText, TransitionsAndTheLabsDownLine) {
  std::ostringstream out, err;
  auto rep = MakeHeartbeatTextReporter({}, out, err);
  rep->Start(Info("stamp"), {Target()});
  detect::Transition t;
  t.from = detect::State::kSuspect;
  t.to = detect::State::kDown;
  t.cause = detect::Cause::kMisses;
  t.consecutive_misses = 3;
  rep->Transition(Target(), t, WallTime::FromNanos(1'700'000'000'123'000'000));
  EXPECT_EQ(out.str(),
            "2023-11-14T22:13:20.123Z peer 127.0.0.1:12000 is down (3 consecutive heartbeats "
            "missed)\nServer is down! 3 consecutive heartbeat responses were missed.\n");
}

std::vector<nlohmann::json> Lines(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::vector<nlohmann::json> events;
  while (std::getline(lines, line)) events.push_back(nlohmann::json::parse(line));
  return events;
}

// The exact lines, keys sorted as nlohmann prints them: a change to any field shows here
// (and must be made in the schema and udpbeat(7) too).
TEST(JsonLines, GoldenLines) {
  std::ostringstream out, err;
  auto rep = MakeJsonReporter(out, err);
  const measure::TargetInfo t = Target();
  rep->Start(Info("seed"), {t});
  rep->Reply(t, Reply(1, "PING 1"));
  rep->Timeout(t, Timeout(2, true));
  EXPECT_EQ(out.str(),
            R"({"event":"start","follow_up":false,"interval_ns":1000000000,"mode":"ping",)"
            R"("protocol":"seed","sessions":1,"size":0,"start_unix_ns":1700000000000000000,)"
            R"("targets":[{"address":"127.0.0.1:12000","target":"localhost:12000"}],)"
            R"("timeout_ns":1000000000,"timestamps":"kernel","version":"9.9.9"})"
            "\n"
            R"({"address":"127.0.0.1:12000","bytes":6,"event":"reply",)"
            R"("received_unix_ns":1700000000000031000,"reordered":false,"rtt_ns":31000,)"
            R"("sent_unix_ns":1700000000000000000,"seq":1,"target":"localhost:12000","ttl":64})"
            "\n"
            R"({"address":"127.0.0.1:12000","event":"unreachable",)"
            R"("sent_unix_ns":1700000000000000000,"seq":2,"target":"localhost:12000",)"
            R"("time_unix_ns":1700000001000000000})"
            "\n");
}

TEST(JsonLines, AStartObjectThenEventsWithTimesThenTheSummary) {
  std::ostringstream out, err;
  auto rep = MakeJsonReporter(out, err);
  measure::TargetInfo t = Target();
  t.labels = {{"site", "ams"}};
  rep->Start(Info("stamp"), {t});
  measure::ReplyEvent r = Reply(1, "x");
  r.has_time_difference = true;
  r.time_difference = 0.0000125;
  rep->Reply(t, r);
  rep->Timeout(t, Timeout(2, false));
  rep->Summary(Result("stamp"));
  const std::vector<nlohmann::json> e = Lines(out.str());
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0]["event"], "start");
  EXPECT_EQ(e[0]["protocol"], "stamp");
  EXPECT_EQ(e[0]["interval_ns"], 1000000000);
  EXPECT_EQ(e[0]["timestamps"], "kernel");
  EXPECT_EQ(e[0]["start_unix_ns"], kT0.nanos());
  EXPECT_EQ(e[0]["targets"][0]["labels"]["site"], "ams");
  EXPECT_EQ(e[1]["event"], "reply");
  EXPECT_EQ(e[1]["rtt_ns"], 31000);
  EXPECT_EQ(e[1]["sent_unix_ns"], kT0.nanos());
  EXPECT_EQ(e[1]["received_unix_ns"], (kT0 + 31 * kUs).nanos());
  EXPECT_EQ(e[1]["time_difference_ns"], 12500);
  EXPECT_EQ(e[1]["target"], "localhost:12000");
  EXPECT_EQ(e[1]["address"], "127.0.0.1:12000");
  EXPECT_EQ(e[1]["labels"]["site"], "ams");
  EXPECT_EQ(e[2]["event"], "timeout");
  EXPECT_EQ(e[2]["sent_unix_ns"], kT0.nanos());
  const nlohmann::json& s = e[3];
  EXPECT_EQ(s["event"], "summary");
  EXPECT_EQ(s["sent"], 4);
  EXPECT_EQ(s["in_flight"], 0);
  EXPECT_EQ(s["loss_ratio"], 0.25);
  EXPECT_TRUE(s["rtt_avg_ns"].is_number_integer());
  EXPECT_TRUE(s["rtt_mdev_ns"].is_number_integer());
  EXPECT_EQ(s["elapsed_ns"], 3004000000);
}

TEST(Prometheus, SamplesAreEscapedAndTyped) {
  MetricsText m;
  m.Family("udpbeat_x_total", "counter", "X.");
  m.Sample("udpbeat_x_total", {{"target", "a\"b\\c\nd"}}, 3.0);
  EXPECT_EQ(m.text(),
            "# HELP udpbeat_x_total X.\n# TYPE udpbeat_x_total counter\n"
            "udpbeat_x_total{target=\"a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(Prometheus, ClientMetricsCarryTargetLabelsAndACumulativeHistogram) {
  measure::RunResult r = Result("stamp");
  r.targets[0].info.labels = {{"site", "ams"}};
  r.targets[0].heartbeat = measure::HeartbeatFigures{};
  r.total_heartbeat = measure::HeartbeatFigures{};
  const std::string text = ClientMetrics(r);
  const std::string l = "{target=\"localhost:12000\",site=\"ams\"";
  for (const std::string& want : std::vector<std::string>{
           "udpbeat_build_info{version=\"9.9.9\"} 1\n", "udpbeat_targets 1\n",
        "udpbeat_up" + l + "} 1\n", "udpbeat_state" + l + ",state=\"up\"} 1\n",
        "udpbeat_state" + l + ",state=\"down\"} 0\n", "udpbeat_probes_sent_total" + l + "} 4\n",
        "udpbeat_replies_total" + l + "} 3\n", "udpbeat_probes_lost_total" + l + "} 1\n",
        "udpbeat_rtt_seconds_bucket" + l + ",le=\"1e-05\"} 0\n",
        "udpbeat_rtt_seconds_bucket" + l + ",le=\"2.5e-05\"} 1\n",
        "udpbeat_rtt_seconds_bucket" + l + ",le=\"5e-05\"} 3\n",
        // The Go client's text for these bounds (strconv 'g'), which selectors match:
        // never "1e-04" or "1e+01".
        "udpbeat_rtt_seconds_bucket" + l + ",le=\"0.0001\"} 3\n",
        "udpbeat_rtt_seconds_bucket" + l + ",le=\"0.00025\"} 3\n",
        "udpbeat_rtt_seconds_bucket" + l + ",le=\"10\"} 3\n",
        "udpbeat_rtt_seconds_bucket" + l + ",le=\"+Inf\"} 3\n",
        "udpbeat_rtt_seconds_sum" + l + "} 9e-05\n",
        "udpbeat_rtt_seconds_count" + l + "} 3\n",
        "udpbeat_last_rtt_seconds" + l + "} 4e-05\n",
        "# TYPE udpbeat_rtt_seconds histogram\n"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\nin\n" << text;
  }
}

TEST(ProgressLine, PrintsTheLiveFiguresAndClears) {
  std::ostringstream out;
  ProgressLine p;
  measure::LiveFigures f;
  f.elapsed = kNanosPerSecond;
  f.sent = 3;
  f.received = 2;
  f.in_flight = 1;
  f.send_rate = 3;
  f.receive_rate = 2;
  f.rtt_p50 = f.rtt_p99 = 50 * kUs;
  p.Show(out, f);
  EXPECT_EQ(out.str(),
            "\r\033[K   1.0s  sent 3/s  received 2/s  in flight 1  loss 0.00%  rtt p50 0.050 ms  "
            "p99 0.050 ms");
  out.str("");
  p.Clear(out);
  EXPECT_EQ(out.str(), "\r\033[K");
  out.str("");
  p.Clear(out);  // already clear: nothing
  EXPECT_EQ(out.str(), "");
}

TEST(JsonLines, ASendErrorIsItsOwnEventAndAFigure) {
  std::ostringstream out, err;
  auto rep = MakeJsonReporter(out, err);
  rep->Start(Info("stamp"), {Target()});
  measure::TimeoutEvent e = Timeout(2, false);
  e.send_error = ENETUNREACH;
  rep->Timeout(Target(), e);
  measure::RunResult r = Result("stamp");
  r.total.send_errors = 1;
  rep->Summary(r);
  const std::vector<nlohmann::json> ev = Lines(out.str());
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1]["event"], "send_error");
  EXPECT_EQ(ev[1]["seq"], 2);
  EXPECT_EQ(ev[1]["errno"], ENETUNREACH);
  EXPECT_EQ(ev[1]["error"], "Network is unreachable");
  EXPECT_EQ(ev[2]["send_errors"], 1);
  EXPECT_EQ(ev[2]["lost"], 1);
}

TEST(Prometheus, SendErrorsAreACounterPerTarget) {
  measure::RunResult r = Result("stamp");
  r.targets[0].figures.send_errors = 5;
  const std::string text = ClientMetrics(r);
  for (const char* want : {"# TYPE udpbeat_send_errors_total counter\n",
                           "udpbeat_send_errors_total{target=\"localhost:12000\"} 5\n",
                           "# HELP udpbeat_send_errors_total Probes that never left this host"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\nin\n" << text;
  }
}

TEST(Prometheus, RepliesWithAnotherDscpAreACounterAndALine) {
  measure::RunResult r = Result("stamp");
  r.targets[0].figures.dscp_changed = 2;
  r.total.dscp_changed = 2;
  const std::string text = ClientMetrics(r);
  for (const char* want : {"# TYPE udpbeat_replies_dscp_changed_total counter\n",
                           "udpbeat_replies_dscp_changed_total{target=\"localhost:12000\"} 2\n"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\nin\n" << text;
  }
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({}, out, err);
  rep->Summary(r);
  EXPECT_NE(out.str().find("2 of 3 replies came back with another DSCP than the probes'"),
            std::string::npos)
      << out.str();
}

// --src-ports: the per-path series are labelled by the path's index, which a restart keeps;
// the kernel's ephemeral source port, which a restart changes, is only in an info metric.
TEST(Prometheus, PathsAreLabelledByIndexAndTheirPortIsAnInfoMetric) {
  measure::RunResult r = Result("stamp");
  r.targets[0].paths = {{47168, 5, 4, 1, 0.2}, {51000, 5, 5, 0, 0}};
  const std::string text = ClientMetrics(r);
  const std::string l = "{target=\"localhost:12000\"";
  for (const std::string& want : std::vector<std::string>{
           "# TYPE udpbeat_path_info gauge\n",
           "udpbeat_path_info" + l + ",path=\"0\",src_port=\"47168\"} 1\n",
           "udpbeat_path_info" + l + ",path=\"1\",src_port=\"51000\"} 1\n",
           "udpbeat_path_probes_sent_total" + l + ",path=\"0\"} 5\n",
           "udpbeat_path_probes_sent_total" + l + ",path=\"1\"} 5\n",
           "udpbeat_path_probes_lost_total" + l + ",path=\"0\"} 1\n",
           "udpbeat_path_probes_lost_total" + l + ",path=\"1\"} 0\n"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\nin\n" << text;
  }
  // A restart: new ports, the same series but for the info metric's.
  measure::RunResult again = r;
  again.targets[0].paths[0].src_port = 40001;
  again.targets[0].paths[1].src_port = 40002;
  const auto without_info = [](const std::string& t) {
    std::string out;
    for (size_t at = 0, end; at < t.size(); at = end + 1) {
      end = t.find('\n', at);
      const std::string line = t.substr(at, end - at + 1);
      if (line.find("src_port") == std::string::npos) out += line;
    }
    return out;
  };
  EXPECT_NE(ClientMetrics(again), text);
  EXPECT_EQ(without_info(ClientMetrics(again)), without_info(text));
  for (size_t at = 0, end; at < text.size(); at = end + 1) {
    end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line[0] != '#' && line.find("src_port") != std::string::npos) {
      EXPECT_EQ(line.rfind("udpbeat_path_info{", 0), 0u) << "src_port outside the info: " << line;
    }
  }
}

TEST(JsonLines, PathsCarryTheirIndexAndPort) {
  std::ostringstream out, err;
  auto rep = MakeJsonReporter(out, err);
  measure::RunResult r = Result("stamp");
  r.targets[0].paths = {{47168, 5, 4, 1, 0.2}, {51000, 5, 5, 0, 0}};
  rep->Start(Info("stamp"), {Target()});
  rep->Summary(r);
  const std::vector<nlohmann::json> ev = Lines(out.str());
  ASSERT_EQ(ev.size(), 2u);
  const nlohmann::json& paths = ev[1]["paths"];
  ASSERT_EQ(paths.size(), 2u) << ev[1];
  EXPECT_EQ(paths[0]["path"], 0);
  EXPECT_EQ(paths[0]["src_port"], 47168);
  EXPECT_EQ(paths[0]["lost"], 1);
  EXPECT_EQ(paths[1]["path"], 1);
  EXPECT_EQ(paths[1]["src_port"], 51000);
}

}  // namespace
}  // namespace udpbeat::report
