// Writes the SVG plot of a synthetic run, for plot_render_test.py.
//
//   plot_render_gen ping|heartbeat|long|lossy|empty OUT.svg
//
// Prints the run's facts as one JSON object on stdout (times in seconds), so the test
// knows where each mark must be without repeating the scenario.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "../unit/report/svg_plot_result.h"
#include "udpbeat/report/svg_plot.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {
namespace {

constexpr Nanos kMs = kNanosPerMilli;
constexpr Nanos kUs = kNanosPerMicro;

// A fixed LCG: the same plot on every machine.
struct Lcg {
  uint64_t s = 12345;
  uint32_t Next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s >> 33);
  }
};

struct Facts {
  std::vector<double> losses, late_sent, late_rtt;
  std::vector<std::pair<double, double>> down;
  // When losses are sampled: every loss was sent within [first, second] s.
  std::pair<double, double> loss_range{-1, -1};
};

double Sec(Nanos t) { return static_cast<double>(t) / 1e9; }

std::string List(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.6f", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

// ping: 6 s at 20 ms, timeout 100 ms, RTT 20..35 ms; 10 late replies sent at
// 1.00..1.18 s; 20 losses sent at 2.00..2.38 s, one at 4.50 s, 20 at 5.60..5.98 s (the
// last probes: their timeouts expire after sending stopped).
// heartbeat: 6 s at 100 ms, timeout 500 ms, RTT 40..80 us; the peer is down 3.0..4.5 s
// (the 15 heartbeats sent then are missed); one late reply sent at 2.0 s, RTT 700 ms.
void Scenario(std::string_view name, RecordedRun& rec, PlotOptions& opt, Facts& f) {
  Lcg rng;
  opt.duration = 6 * kNanosPerSecond;
  if (name == "ping") {
    opt.title = "udpbeat ping 127.0.0.1:12000 (stamp) - synthetic";
    opt.timeout = 100 * kMs;
    for (Nanos t = 0; t < opt.duration; t += 20 * kMs) {
      const bool late = t >= 1000 * kMs && t < 1200 * kMs;
      const bool lost = (t >= 2000 * kMs && t < 2400 * kMs) || t == 4500 * kMs || t >= 5600 * kMs;
      if (late) {
        const Nanos rtt = 120 * kMs + (t - 1000 * kMs) / 4;
        rec.AddLate(t, rtt);
        f.late_sent.push_back(Sec(t));
        f.late_rtt.push_back(Sec(rtt));
      } else if (lost) {
        rec.AddLoss(t);
        f.losses.push_back(Sec(t));
      } else {
        const Nanos rtt = 20 * kMs + static_cast<Nanos>(rng.Next() % 15000) * kUs;
        rec.AddReply(t, rtt);
      }
    }
  } else if (name == "heartbeat") {
    opt.title = "udpbeat heartbeat 127.0.0.1:12000 (lab) - synthetic";
    opt.timeout = 500 * kMs;
    opt.heartbeat = true;
    for (Nanos t = 0; t < opt.duration; t += 100 * kMs) {
      if (t >= 3000 * kMs && t < 4500 * kMs) {
        rec.AddLoss(t);
        f.losses.push_back(Sec(t));
      } else if (t == 2000 * kMs) {
        rec.AddLate(t, 700 * kMs);
        f.late_sent.push_back(Sec(t));
        f.late_rtt.push_back(0.7);
      } else {
        const Nanos rtt = 40 * kUs + static_cast<Nanos>(rng.Next() % 40000);
        rec.AddReply(t, rtt);
      }
    }
    rec.AddDownPeriod(3000 * kMs, 4500 * kMs);
    f.down.push_back({3.0, 4.5});
  } else if (name == "long") {
    // An hour at 10 ms (360,000 probes: the recorder thins them), timeout 1 s: RTT
    // 20..30 ms drifting up to 45 ms in the second half hour; an outage 20:00..22:00
    // (every probe lost); 200 late replies sent 40:00..40:02, RTT 1.2..1.4 s.
    opt.title = "udpbeat ping 192.0.2.1:12000 (stamp) - synthetic hour";
    opt.duration = 3600 * kNanosPerSecond;
    opt.timeout = 1000 * kMs;
    for (Nanos t = 0; t < opt.duration; t += 10 * kMs) {
      if (t >= 1200 * kNanosPerSecond && t < 1320 * kNanosPerSecond) {
        rec.AddLoss(t);
        if (t % (500 * kMs) == 0) f.losses.push_back(Sec(t));  // a sample for the checks
      } else if (t >= 2400 * kNanosPerSecond && t < 2402 * kNanosPerSecond) {
        const Nanos rtt = 1200 * kMs + (t - 2400 * kNanosPerSecond) / 10;
        rec.AddLate(t, rtt);
        if (t % (500 * kMs) == 0) {
          f.late_sent.push_back(Sec(t));
          f.late_rtt.push_back(Sec(rtt));
        }
      } else {
        const Nanos drift = t > 1800 * kNanosPerSecond ? (t - 1800 * kNanosPerSecond) / 120'000 : 0;
        const Nanos rtt = 20 * kMs + drift + static_cast<Nanos>(rng.Next() % 10000) * kUs;
        rec.AddReply(t, rtt);
      }
    }
    f.loss_range = {1200, 1320};
  } else if (name == "lossy") {
    // `udpbeat ping -c 3 -W 1s` against a peer that answered none: the y axis tops out at
    // the timeout, so its line is the top of the plot, just under the lost lane.
    opt.title = "udpbeat ping 127.0.0.1:12000 (stamp) - synthetic, every probe lost";
    opt.duration = 2 * kNanosPerSecond;
    opt.timeout = 1000 * kMs;
    for (Nanos t = 0; t <= opt.duration; t += kNanosPerSecond) {
      rec.AddLoss(t);
      f.losses.push_back(Sec(t));
    }
  } else {  // "empty": nothing answered, nothing recorded but the run's length
    opt.title = "udpbeat ping 127.0.0.1:9 (lab) - synthetic, nothing recorded";
  }
}

}  // namespace
}  // namespace udpbeat

int main(int argc, char** argv) {
  using namespace udpbeat;
  if (argc != 3) {
    std::fprintf(stderr, "usage: plot_render_gen ping|heartbeat|long|lossy|empty OUT.svg\n");
    return 2;
  }
  const std::string_view name = argv[1];
  if (name != "ping" && name != "heartbeat" && name != "long" && name != "lossy" &&
      name != "empty") {
    std::fprintf(stderr, "plot_render_gen: unknown scenario %s\n", argv[1]);
    return 2;
  }
  RecordedRun rec;
  PlotOptions opt;
  Facts f;
  Scenario(name, rec, opt, f);
  if (absl::Status s = WritePlotSvg(argv[2], rec, ResultOf(rec, opt.heartbeat), opt); !s.ok()) {
    std::fprintf(stderr, "plot_render_gen: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::string down = "[";
  for (size_t i = 0; i < f.down.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s[%.6f, %.6f]", i ? ", " : "", f.down[i].first,
                  f.down[i].second);
    down += buf;
  }
  down += "]";
  std::printf(
      "{\"duration\": %.6f, \"timeout\": %.6f, \"replies\": %" PRIu64 ", \"losses\": %s, "
      "\"late_sent\": %s, \"late_rtt\": %s, \"down\": %s, \"loss_range\": [%.6f, %.6f]}\n",
      Sec(opt.duration), Sec(opt.timeout), rec.replies().total(), List(f.losses).c_str(),
      List(f.late_sent).c_str(), List(f.late_rtt).c_str(), down.c_str(), f.loss_range.first,
      f.loss_range.second);
  return 0;
}
