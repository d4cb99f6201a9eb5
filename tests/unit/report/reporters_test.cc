// Golden text and JSON from the reporters, on a hand-made result: the reporters only
// format, so every figure here is what the result says.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "nlohmann/json.hpp"
#include "udpbeat/report/json_reporter.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/report/text_reporters.h"

namespace udpbeat::report {
namespace {

constexpr Nanos kUs = kNanosPerMicro;

measure::TargetInfo Target() {
  measure::TargetInfo t;
  t.name = "localhost:12000";
  t.address = "127.0.0.1:12000";
  t.host = "localhost";
  return t;
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

measure::RunResult Result() {
  measure::RunResult r;
  r.elapsed = 2 * kNanosPerSecond;
  measure::TargetResult t;
  t.info = Target();
  measure::Figures& f = t.figures;
  f.sent = 4;
  f.received = 3;
  f.on_time = 3;
  f.lost = 1;
  f.loss_ratio = 0.25;
  f.longest_loss_burst = 1;
  f.rtt = Delays(20 * kUs, 30 * kUs, 40 * kUs);
  r.targets.push_back(t);
  r.total = f;
  return r;
}

measure::ReplyEvent Reply(uint32_t seq, std::string_view payload) {
  measure::ReplyEvent e;
  e.seq = seq;
  e.rtt = 31 * kUs;
  e.bytes = payload.size();
  e.ttl = 64;
  e.payload = payload;
  e.received = WallTime::FromNanos(1'700'000'000'000'031'000);
  return e;
}

TEST(PingText, TheLabsLinesThenUdpbeatsStatistics) {
  std::ostringstream out, err;
  auto rep = MakePingTextReporter({}, out, err);
  rep->Reply(Target(), Reply(1, "PING 1 1700000000.000000000  "));
  rep->Timeout(Target(), {2, WallTime(), false});
  rep->Timeout(Target(), {3, WallTime(), true});
  rep->Summary(Result());
  EXPECT_EQ(out.str(),
            "Reply from localhost: PING 1 1700000000.000000000\n"
            "RTT: 0.000031 seconds\n"
            "Request timed out\n"
            "From localhost: seq 3: port unreachable (nothing listening)\n"
            "\n--- Ping statistics ---\n"
            "Packets: Sent = 4, Received = 3, Lost = 1 (25.0% packet loss)\n"
            "RTTs: Min = 0.000020s, Max = 0.000040s, Avg = 0.000030s\n"
            "rtt min/avg/max/mdev = 0.020/0.030/0.040/0.005 ms\n"
            "rtt p50/p90/p99/p99.9 = 0.030/0.040/0.040/0.040 ms\n"
            "jitter = 0.002 ms (RFC 3550)\n"
            "late 0, duplicate 0, reordered 0, malformed 0, longest loss burst 1\n");
  EXPECT_EQ(err.str(), "");
}

TEST(PingText, StampLossSplitNamesTheUnattributed) {
  measure::RunResult r = Result();
  measure::StampFigures st;
  st.forward = st.backward = st.forward_raw = st.backward_raw = Delays(10 * kUs, 15 * kUs, 20 * kUs);
  st.reflector_stateful = true;
  st.loss = {0, 0, 1};
  r.total.stamp = st;
  std::ostringstream out, err;
  MakePingTextReporter({true}, out, err)->Summary(r);
  EXPECT_NE(out.str().find("loss forward 0, backward 0, unattributed 1 (after the last reply: "
                           "either way) (stateful reflector)\n"),
            std::string::npos)
      << out.str();
}

TEST(HeartbeatText, TransitionsAndTheLabsDownLine) {
  std::ostringstream out, err;
  auto rep = MakeHeartbeatTextReporter({}, out, err);
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

TEST(JsonLines, EventsAndSummaryCarryTheirFields) {
  std::ostringstream out, err;
  auto rep = MakeJsonReporter(out, err);
  rep->Reply(Target(), Reply(1, "PING 1 x"));
  rep->Timeout(Target(), {2, WallTime(), false});
  rep->Summary(Result());
  std::istringstream lines(out.str());
  std::string line;
  std::vector<nlohmann::json> events;
  while (std::getline(lines, line)) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["event"], "reply");
  EXPECT_EQ(events[0]["rtt_ns"], 31000);
  EXPECT_EQ(events[0]["ttl"], 64);
  EXPECT_EQ(events[0]["target"], "127.0.0.1:12000");
  EXPECT_EQ(events[1]["event"], "timeout");
  EXPECT_EQ(events[1]["seq"], 2);
  const nlohmann::json& s = events[2];
  EXPECT_EQ(s["event"], "summary");
  EXPECT_EQ(s["sent"], 4);
  EXPECT_EQ(s["lost"], 1);
  EXPECT_EQ(s["loss_ratio"], 0.25);
  EXPECT_EQ(s["rtt_min_ns"], 20000);
  EXPECT_TRUE(s["rtt_min_ns"].is_number_integer());
  EXPECT_EQ(s["elapsed_ns"], 2000000000);
}

TEST(Prometheus, SamplesAreEscapedAndTyped) {
  MetricsText m;
  m.Family("udpbeat_x_total", "counter", "X.");
  m.Sample("udpbeat_x_total", {{"target", "a\"b\\c\nd"}}, 3);
  EXPECT_EQ(m.text(),
            "# HELP udpbeat_x_total X.\n# TYPE udpbeat_x_total counter\n"
            "udpbeat_x_total{target=\"a\\\"b\\\\c\\nd\"} 3\n");
}

}  // namespace
}  // namespace udpbeat::report
