#include "udpbeat/report/ping_reporter.h"

#include <ostream>

#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace udpbeat {
namespace {

double Ms(double ns) { return ns / 1e6; }
double Sec(double ns) { return ns / 1e9; }

// Payloads are printed as text: trailing padding trimmed, anything unprintable as '.'.
std::string Printable(std::string_view payload) {
  while (!payload.empty() && payload.back() == ' ') payload.remove_suffix(1);
  std::string s(payload.substr(0, 256));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '.';
  return s;
}

class TextPingReporter final : public PingReporter {
 public:
  TextPingReporter(std::string host, bool quiet, std::ostream& out, std::ostream& err)
      : host_(std::move(host)), quiet_(quiet), out_(out), err_(err) {}

  void OnReply(const ReplyEvent& e) override {
    if (quiet_) return;
    switch (e.kind) {
      case ReplyEventKind::kOnTime:
        out_ << "Reply from " << host_ << ": " << Printable(e.payload) << "\n"
             << absl::StrFormat("RTT: %.6f seconds", Sec(e.rtt))
             << (e.reordered ? " (reordered)" : "") << "\n";
        break;
      case ReplyEventKind::kLate:
        out_ << absl::StrFormat("Late reply from %s: seq %d after %.6f seconds (timed out)\n",
                                host_, e.seq, Sec(e.rtt));
        break;
      case ReplyEventKind::kDuplicate:
        out_ << absl::StrFormat("Duplicate reply from %s: seq %d\n", host_, e.seq);
        break;
    }
    out_.flush();
  }

  void OnTimeout(uint32_t) override {
    if (quiet_) return;
    out_ << "Request timed out" << std::endl;
  }

  void OnUnreachable(uint32_t seq) override {
    if (quiet_) return;
    out_ << absl::StrFormat("From %s: seq %d: port unreachable (nothing listening)", host_, seq)
         << std::endl;
  }

  void OnSummary(const PingSummary& p) override {
    const stats::SessionStats& s = *p.stats;
    const uint64_t sent = s.sent();
    out_ << "\n--- Ping statistics ---\n"
         << absl::StrFormat("Packets: Sent = %d, Received = %d, Lost = %d (%.1f%% packet loss)",
                            sent, s.received(), s.lost(), 100.0 * s.loss_ratio());
    if (p.unreachable > 0) out_ << absl::StrFormat(", +%d port unreachable", p.unreachable);
    out_ << "\n";
    const auto& rtt = s.rtt().summary();
    if (rtt.count() > 0) {
      out_ << absl::StrFormat("RTTs: Min = %.6fs, Max = %.6fs, Avg = %.6fs\n", Sec(rtt.min()),
                              Sec(rtt.max()), Sec(rtt.mean()));
    }
    WriteRichStatistics(s, out_);
    out_.flush();
  }

  void OnInterim(const PingSummary& p) override { err_ << InterimLine(*p.stats) << std::endl; }

 private:
  std::string host_;
  bool quiet_;
  std::ostream& out_;
  std::ostream& err_;
};

class JsonPingReporter final : public PingReporter {
 public:
  JsonPingReporter(std::string target, std::ostream& out, std::ostream& err)
      : target_(std::move(target)), out_(out), err_(err) {}

  void OnReply(const ReplyEvent& e) override {
    static constexpr const char* kNames[] = {"reply", "late", "duplicate"};
    nlohmann::json j = {{"event", kNames[static_cast<int>(e.kind)]},
                        {"seq", e.seq},
                        {"rtt_ns", e.rtt},
                        {"bytes", e.bytes},
                        {"reordered", e.reordered},
                        {"received_unix_ns", e.received.nanos()},
                        {"target", target_}};
    if (e.ttl >= 0) j["ttl"] = e.ttl;
    Emit(j);
  }

  void OnTimeout(uint32_t seq) override {
    Emit({{"event", "timeout"}, {"seq", seq}, {"target", target_}});
  }

  void OnUnreachable(uint32_t seq) override {
    Emit({{"event", "unreachable"}, {"seq", seq}, {"target", target_}});
  }

  void OnSummary(const PingSummary& p) override {
    const stats::SessionStats& s = *p.stats;
    const auto& rtt = s.rtt().summary();
    const auto& hist = s.rtt().histogram();
    nlohmann::json j = {{"event", "summary"},
                        {"target", target_},
                        {"sent", s.sent()},
                        {"received", s.received()},
                        {"lost", s.lost()},
                        {"loss_ratio", s.loss_ratio()},
                        {"late", s.late()},
                        {"duplicate", s.duplicate()},
                        {"reordered", s.reordered()},
                        {"malformed", s.malformed()},
                        {"unreachable", p.unreachable},
                        {"longest_loss_burst", s.longest_loss_burst()},
                        {"elapsed_ns", p.elapsed}};
    if (rtt.count() > 0) {
      j["rtt_min_ns"] = static_cast<int64_t>(rtt.min());
      j["rtt_avg_ns"] = rtt.mean();
      j["rtt_max_ns"] = static_cast<int64_t>(rtt.max());
      j["rtt_mdev_ns"] = rtt.mdev();
      j["rtt_p50_ns"] = hist.Percentile(50);
      j["rtt_p90_ns"] = hist.Percentile(90);
      j["rtt_p99_ns"] = hist.Percentile(99);
      j["rtt_p999_ns"] = hist.Percentile(99.9);
      j["jitter_ns"] = s.rtt().jitter().jitter_ns();
    }
    Emit(j);
  }

  void OnInterim(const PingSummary& p) override { err_ << InterimLine(*p.stats) << std::endl; }

 private:
  void Emit(const nlohmann::json& j) { out_ << j.dump() << std::endl; }

  std::string target_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

std::unique_ptr<PingReporter> MakeTextPingReporter(std::string host, bool quiet,
                                                   std::ostream& out, std::ostream& err) {
  return std::make_unique<TextPingReporter>(std::move(host), quiet, out, err);
}

std::unique_ptr<PingReporter> MakeJsonPingReporter(std::string target, std::ostream& out,
                                                   std::ostream& err) {
  return std::make_unique<JsonPingReporter>(std::move(target), out, err);
}

void WriteRichStatistics(const stats::SessionStats& s, std::ostream& out) {
  const auto& rtt = s.rtt().summary();
  if (rtt.count() > 0) {
    const auto& h = s.rtt().histogram();
    out << absl::StrFormat("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", Ms(rtt.min()),
                           Ms(rtt.mean()), Ms(rtt.max()), Ms(rtt.mdev()))
        << absl::StrFormat("rtt p50/p90/p99/p99.9 = %.3f/%.3f/%.3f/%.3f ms\n",
                           Ms(h.Percentile(50)), Ms(h.Percentile(90)), Ms(h.Percentile(99)),
                           Ms(h.Percentile(99.9)))
        << absl::StrFormat("jitter = %.3f ms (RFC 3550)\n", Ms(s.rtt().jitter().jitter_ns()));
  }
  out << absl::StrFormat("late %d, duplicate %d, reordered %d, malformed %d, longest loss burst %d\n",
                         s.late(), s.duplicate(), s.reordered(), s.malformed(),
                         s.longest_loss_burst());
}

std::string InterimLine(const stats::SessionStats& s) {
  const auto& h = s.rtt().histogram();
  return absl::StrFormat("sent %d, received %d, lost %d (%.1f%%), rtt p50 %.3f ms, p99 %.3f ms",
                         s.sent(), s.received(), s.lost(), 100.0 * s.loss_ratio(),
                         Ms(h.Percentile(50)), Ms(h.Percentile(99)));
}

}  // namespace udpbeat
