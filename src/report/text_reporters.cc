#include "udpbeat/report/text_reporters.h"

#include <algorithm>
#include <numeric>
#include <ostream>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "udpbeat/report/statistics_text.h"

namespace udpbeat::report {
namespace {

constexpr size_t kWorstShown = 5;

double Sec(double ns) { return ns / 1e9; }
double Ms(double ns) { return ns / 1e6; }

// Payloads are printed as text: trailing padding trimmed, anything unprintable as '.'.
std::string Printable(std::string_view payload) {
  while (!payload.empty() && payload.back() == ' ') payload.remove_suffix(1);
  std::string s(payload.substr(0, 256));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '.';
  return s;
}

std::string Timestamp(WallTime t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixNanos(t.nanos()),
                          absl::UTCTimeZone());
}

class PingText final : public RunReporter {
 public:
  PingText(const TextOptions& o, std::ostream& out, std::ostream& err)
      : opts_(o), out_(out), err_(err) {}

  void Reply(const measure::TargetInfo& t, const measure::ReplyEvent& r) override {
    if (opts_.quiet) return;
    switch (r.kind) {
      case stats::ReplyClass::kOnTime:
        out_ << "Reply from " << t.host << ": " << ReplyText(r) << "\n"
             << absl::StrFormat("RTT: %.6f seconds", Sec(static_cast<double>(r.rtt)))
             << (r.reordered ? " (reordered)" : "") << "\n";
        break;
      case stats::ReplyClass::kLate:
        out_ << absl::StrFormat("Late reply from %s: seq %d after %.6f seconds (timed out)\n",
                                t.host, r.seq, Sec(static_cast<double>(r.rtt)));
        break;
      default:
        out_ << absl::StrFormat("Duplicate reply from %s: seq %d\n", t.host, r.seq);
        break;
    }
    out_.flush();
  }

  void Timeout(const measure::TargetInfo& t, const measure::TimeoutEvent& e) override {
    if (opts_.quiet) return;
    if (e.unreachable) {
      out_ << absl::StrFormat("From %s: seq %d: port unreachable (nothing listening)", t.host,
                              e.seq)
           << std::endl;
    } else {
      out_ << "Request timed out" << std::endl;
    }
  }

  void Interim(const measure::RunResult& r) override {
    err_ << InterimLine(r.total) << std::endl;
  }

  void Summary(const measure::RunResult& r) override {
    out_ << "\n--- Ping statistics ---\n";
    WritePacketsLines(r.total, true, out_);
    const measure::DelayFigures& rtt = r.total.rtt;
    if (rtt.count > 0) {
      out_ << absl::StrFormat("RTTs: Min = %.6fs, Max = %.6fs, Avg = %.6fs\n",
                              Sec(static_cast<double>(rtt.min)), Sec(static_cast<double>(rtt.max)),
                              Sec(rtt.avg));
    }
    WriteRichStatistics(r.total, out_);
    out_.flush();
  }

 private:
  static std::string ReplyText(const measure::ReplyEvent& r) {
    if (!r.has_timestamps) return Printable(r.payload);
    return absl::StrFormat("STAMP seq %d, reflector seq %d, ttl %d, offset %+.3f ms", r.seq,
                           r.reflector_seq, r.reflector_ttl,
                           Ms(static_cast<double>(r.clock_offset)));
  }

  TextOptions opts_;
  std::ostream& out_;
  std::ostream& err_;
};

class HeartbeatText final : public RunReporter {
 public:
  HeartbeatText(const TextOptions& o, std::ostream& out, std::ostream& err)
      : opts_(o), out_(out), err_(err) {}

  void Reply(const measure::TargetInfo&, const measure::ReplyEvent& r) override {
    if (opts_.quiet || r.kind != stats::ReplyClass::kOnTime) return;
    // The lab's line. Its "time difference" is the server's receive time minus our send
    // time, which includes the clock offset between the hosts; STAMP separates them.
    const double diff = r.has_time_difference ? r.time_difference
                        : r.has_timestamps    ? Sec(static_cast<double>(r.forward))
                                              : Sec(static_cast<double>(r.rtt));
    out_ << absl::StrFormat("Received heartbeat response %d: Time difference = %.6f seconds",
                            r.seq, diff);
    if (r.has_timestamps) {
      out_ << absl::StrFormat(" (rtt %.6f s, clock offset %+.6f s)",
                              Sec(static_cast<double>(r.rtt)),
                              Sec(static_cast<double>(r.clock_offset)));
    }
    out_ << std::endl;
  }

  void Timeout(const measure::TargetInfo&, const measure::TimeoutEvent& e) override {
    if (opts_.quiet) return;
    out_ << absl::StrFormat("Heartbeat %d: Request timed out%s", e.seq,
                            e.unreachable ? " (port unreachable)" : "")
         << std::endl;
  }

  void Transition(const measure::TargetInfo& t, const detect::Transition& tr,
                  WallTime when) override {
    out_ << absl::StrFormat("%s peer %s is %s (%s)", Timestamp(when), t.address,
                            detect::StateName(tr.to), tr.reason());
    if (tr.to == detect::State::kUp && tr.from == detect::State::kDown)
      out_ << absl::StrFormat(" after %.3f s down", Sec(static_cast<double>(tr.time_in_from)));
    out_ << std::endl;
    if (tr.to != detect::State::kDown) return;
    // The lab's line when the lab's rule fired; phi's own reason otherwise.
    if (tr.cause == detect::Cause::kPhi) {
      out_ << absl::StrFormat("Server is down! %s after %d missed heartbeat responses.",
                              tr.reason(), tr.consecutive_misses);
    } else {
      out_ << absl::StrFormat("Server is down! %d consecutive heartbeat responses were missed.",
                              tr.consecutive_misses);
    }
    out_ << std::endl;
  }

  void Interim(const measure::RunResult& r) override {
    const measure::HeartbeatFigures& h = *r.total_heartbeat;
    err_ << InterimLine(r.total) << ", peers down " << h.sessions_down << "/" << h.sessions
         << std::endl;
  }

  void Summary(const measure::RunResult& r) override {
    // The lab's statistics lines (its percentage is Python's float repr; ours %.1f).
    out_ << "\n--- Heartbeat statistics ---\n";
    WritePacketsLines(r.total, false, out_);
    WriteRichStatistics(r.total, out_);
    const measure::HeartbeatFigures& h = *r.total_heartbeat;
    if (h.sessions == 1) {
      out_ << absl::StrFormat("peer %s at the end, %d outages, %.3f s down\n",
                              detect::StateName(h.state), h.outages,
                              Sec(static_cast<double>(h.time_down)));
    } else {
      out_ << absl::StrFormat("%d sessions, %d down at the end, %d outages, %.3f s down in all\n",
                              h.sessions, h.sessions_down, h.outages,
                              Sec(static_cast<double>(h.time_down)));
    }
    out_.flush();
  }

 private:
  TextOptions opts_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

std::unique_ptr<RunReporter> MakePingTextReporter(const TextOptions& opts, std::ostream& out,
                                                  std::ostream& err) {
  return std::make_unique<PingText>(opts, out, err);
}

std::unique_ptr<RunReporter> MakeHeartbeatTextReporter(const TextOptions& opts,
                                                       std::ostream& out, std::ostream& err) {
  return std::make_unique<HeartbeatText>(opts, out, err);
}

void WriteSessionReport(const measure::RunResult& r, std::ostream& out) {
  const measure::DelayFigures& lag = r.total.send_lag;
  const std::vector<measure::SessionResult>& s = r.sessions;
  if (lag.count > 0) {
    out << absl::StrFormat("send lag p50/p99/p99.9/max = %.3f/%.3f/%.3f/%.3f ms (%d sessions)\n",
                           Ms(static_cast<double>(lag.p50)), Ms(static_cast<double>(lag.p99)),
                           Ms(static_cast<double>(lag.p999)), Ms(static_cast<double>(lag.max)),
                           s.size());
  }
  std::vector<size_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t shown = std::min(kWorstShown, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(shown), order.end(),
                    [&](size_t x, size_t y) {
                      return s[x].figures.loss_ratio > s[y].figures.loss_ratio;
                    });
  out << "worst sessions by loss:";
  size_t listed = 0;
  for (size_t k = 0; k < shown; ++k) {
    const measure::Figures& f = s[order[k]].figures;
    if (f.lost == 0) break;
    out << absl::StrFormat(" #%d %.1f%% (%d/%d)", order[k], 100 * f.loss_ratio, f.lost, f.sent);
    ++listed;
  }
  if (listed == 0) out << " none lost a probe";
  std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(shown), order.end(),
                    [&](size_t x, size_t y) { return s[x].figures.rtt.p99 > s[y].figures.rtt.p99; });
  out << "\nworst sessions by rtt p99:";
  for (size_t k = 0; k < shown; ++k)
    out << absl::StrFormat(" #%d %.3f ms", order[k], Ms(static_cast<double>(s[order[k]].figures.rtt.p99)));
  out << "\n";
}

}  // namespace udpbeat::report
