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

std::string ReplyText(const ReplyInfo& r) {
  if (!r.has_timestamps) return Printable(r.payload);
  return absl::StrFormat("STAMP seq %d, reflector seq %d, ttl %d, offset %+.3f ms", r.seq,
                         r.reflector_seq, r.reflector_ttl, Ms(r.clock_offset));
}

class TextPingReporter final : public PingReporter {
 public:
  TextPingReporter(std::string host, bool quiet, std::ostream& out, std::ostream& err)
      : host_(std::move(host)), quiet_(quiet), out_(out), err_(err) {}

  void OnReply(const ReplyInfo& r) override {
    if (quiet_) return;
    switch (r.kind) {
      case ReplyClass::kOnTime:
        out_ << "Reply from " << host_ << ": " << ReplyText(r) << "\n"
             << absl::StrFormat("RTT: %.6f seconds", Sec(r.rtt))
             << (r.reordered ? " (reordered)" : "") << "\n";
        break;
      case ReplyClass::kLate:
        out_ << absl::StrFormat("Late reply from %s: seq %d after %.6f seconds (timed out)\n",
                                host_, r.seq, Sec(r.rtt));
        break;
      case ReplyClass::kDuplicate:
        out_ << absl::StrFormat("Duplicate reply from %s: seq %d\n", host_, r.seq);
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
    out_ << "\n--- Ping statistics ---\n"
         << absl::StrFormat("Packets: Sent = %d, Received = %d, Lost = %d (%.1f%% packet loss)",
                            s.sent(), s.received(), s.lost(), 100.0 * s.loss_ratio());
    if (p.unreachable > 0) out_ << absl::StrFormat(", +%d port unreachable", p.unreachable);
    out_ << "\n";
    if (p.local_drops > 0) {
      out_ << absl::StrFormat(
          "of the lost, %d were dropped on this host (socket receive buffer full), not in the "
          "network\n",
          std::min(p.local_drops, s.lost()));
    }
    const auto& rtt = s.rtt().summary();
    if (rtt.count() > 0) {
      out_ << absl::StrFormat("RTTs: Min = %.6fs, Max = %.6fs, Avg = %.6fs\n", Sec(rtt.min()),
                              Sec(rtt.max()), Sec(rtt.mean()));
    }
    WriteRichStatistics(s, p.stamp, out_);
    out_.flush();
  }

  void OnInterim(const PingSummary& p) override { err_ << InterimLine(*p.stats) << std::endl; }

 private:
  std::string host_;
  bool quiet_;
  std::ostream& out_;
  std::ostream& err_;
};

void AddDelay(nlohmann::json& j, const char* prefix, const stats::DelayStats& d, Nanos shift) {
  if (d.count() == 0) return;
  const std::string p(prefix);
  const auto& h = d.histogram();
  j[p + "_min_ns"] = static_cast<int64_t>(d.summary().min()) + shift;
  j[p + "_avg_ns"] = d.summary().mean() + static_cast<double>(shift);
  j[p + "_max_ns"] = static_cast<int64_t>(d.summary().max()) + shift;
  j[p + "_mdev_ns"] = d.summary().mdev();
  j[p + "_p50_ns"] = h.Percentile(50) + shift;
  j[p + "_p90_ns"] = h.Percentile(90) + shift;
  j[p + "_p99_ns"] = h.Percentile(99) + shift;
  j[p + "_p999_ns"] = h.Percentile(99.9) + shift;
  j[p + "_jitter_ns"] = d.jitter().jitter_ns();
}

class JsonPingReporter final : public PingReporter {
 public:
  JsonPingReporter(std::string target, std::ostream& out, std::ostream& err)
      : target_(std::move(target)), out_(out), err_(err) {}

  void OnReply(const ReplyInfo& r) override { Emit(ReplyJson(r, target_)); }

  void OnTimeout(uint32_t seq) override {
    Emit({{"event", "timeout"}, {"seq", seq}, {"target", target_}});
  }

  void OnUnreachable(uint32_t seq) override {
    Emit({{"event", "unreachable"}, {"seq", seq}, {"target", target_}});
  }

  void OnSummary(const PingSummary& p) override { Emit(SummaryJson(p, target_)); }

  void OnInterim(const PingSummary& p) override { err_ << InterimLine(*p.stats) << std::endl; }

 private:
  void Emit(const nlohmann::json& j) { out_ << j.dump() << std::endl; }

  std::string target_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

nlohmann::json ReplyJson(const ReplyInfo& r, const std::string& target) {
  static constexpr const char* kNames[] = {"reply", "late", "duplicate"};
  nlohmann::json j = {{"event", kNames[static_cast<int>(r.kind)]},
                      {"seq", r.seq},
                      {"rtt_ns", r.rtt},
                      {"bytes", r.bytes},
                      {"reordered", r.reordered},
                      {"received_unix_ns", r.received.nanos()},
                      {"target", target}};
  if (r.ttl >= 0) j["ttl"] = r.ttl;
  if (r.has_time_difference) j["time_difference_s"] = r.time_difference;
  if (r.has_timestamps) {
    j["residence_ns"] = r.residence;
    j["clock_offset_ns"] = r.clock_offset;
    j["forward_ns"] = r.forward;
    j["backward_ns"] = r.backward;
    j["reflector_seq"] = r.reflector_seq;
    j["reflector_ttl"] = r.reflector_ttl;
  }
  return j;
}

nlohmann::json SummaryJson(const PingSummary& p, const std::string& target) {
  const stats::SessionStats& s = *p.stats;
  nlohmann::json j = {{"event", "summary"},
                      {"target", target},
                      {"sent", s.sent()},
                      {"received", s.received()},
                      {"lost", s.lost()},
                      {"loss_ratio", s.loss_ratio()},
                      {"late", s.late()},
                      {"duplicate", s.duplicate()},
                      {"reordered", s.reordered()},
                      {"malformed", s.malformed()},
                      {"unreachable", p.unreachable},
                      {"local_drops", p.local_drops},
                      {"longest_loss_burst", s.longest_loss_burst()},
                      {"elapsed_ns", p.elapsed}};
  AddDelay(j, "rtt", s.rtt(), 0);
  if (p.send_lag != nullptr) AddDelay(j, "send_lag", *p.send_lag, 0);
  if (p.stamp != nullptr && p.stamp->best_rtt >= 0) {
    const StampSummary& st = *p.stamp;
    j["residence_avg_ns"] = st.residence.mean();
    j["residence_max_ns"] = st.residence.max();
    j["clock_offset_ns"] = st.best_offset;
    j["clock_offset_avg_ns"] = s.clock_offset().mean();
    // One-way delays are recorded against references (see StampSummary).
    const Nanos fref = st.forward_ref, bref = st.backward_ref;
    AddDelay(j, "forward_raw", s.one_way(stats::Direction::kForward), fref);
    AddDelay(j, "backward_raw", s.one_way(stats::Direction::kBackward), -bref);
    AddDelay(j, "forward", s.one_way(stats::Direction::kForward), fref - st.best_offset);
    AddDelay(j, "backward", s.one_way(stats::Direction::kBackward), st.best_offset - bref);
    j["reflector_stateful"] = st.reflector_stateful;
    if (st.reflector_stateful) {
      j["forward_lost"] = st.forward_lost;
      j["backward_lost"] = s.lost() - st.forward_lost;
    }
  }
  return j;
}

std::unique_ptr<PingReporter> MakeTextPingReporter(std::string host, bool quiet,
                                                   std::ostream& out, std::ostream& err) {
  return std::make_unique<TextPingReporter>(std::move(host), quiet, out, err);
}

std::unique_ptr<PingReporter> MakeJsonPingReporter(std::string target, std::ostream& out,
                                                   std::ostream& err) {
  return std::make_unique<JsonPingReporter>(std::move(target), out, err);
}

namespace {

void WriteDelayLine(const char* name, const stats::DelayStats& d, Nanos shift, std::ostream& out) {
  const auto& h = d.histogram();
  const double sh = static_cast<double>(shift);
  out << absl::StrFormat("%s min/avg/max/p99 = %.3f/%.3f/%.3f/%.3f ms, jitter %.3f ms\n", name,
                         Ms(d.summary().min() + sh), Ms(d.summary().mean() + sh),
                         Ms(d.summary().max() + sh), Ms(static_cast<double>(h.Percentile(99)) + sh),
                         Ms(d.jitter().jitter_ns()));
}

}  // namespace

void WriteRichStatistics(const stats::SessionStats& s, const StampSummary* stamp,
                         std::ostream& out) {
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
  out << absl::StrFormat(
      "late %d, duplicate %d, reordered %d, malformed %d, longest loss burst %d\n", s.late(),
      s.duplicate(), s.reordered(), s.malformed(), s.longest_loss_burst());
  if (stamp == nullptr || stamp->best_rtt < 0) return;
  out << absl::StrFormat("reflector residence avg/max = %.3f/%.3f ms\n",
                         Ms(stamp->residence.mean()), Ms(stamp->residence.max()))
      << absl::StrFormat(
             "clock offset = %+.3f ms (reflector %s; from the fastest exchange, rtt %.3f ms; "
             "mean over exchanges %+.3f ms)\n",
             Ms(stamp->best_offset),
             stamp->best_offset >= 500 ? "ahead" : stamp->best_offset <= -500 ? "behind" : "in step",
             Ms(stamp->best_rtt), Ms(s.clock_offset().mean()));
  // One-way delays are recorded against references (see StampSummary).
  const Nanos fref = stamp->forward_ref, bref = stamp->backward_ref;
  WriteDelayLine("forward one-way (offset-corrected)", s.one_way(stats::Direction::kForward),
                 fref - stamp->best_offset, out);
  WriteDelayLine("backward one-way (offset-corrected)", s.one_way(stats::Direction::kBackward),
                 stamp->best_offset - bref, out);
  WriteDelayLine("forward one-way (raw)", s.one_way(stats::Direction::kForward), fref, out);
  WriteDelayLine("backward one-way (raw)", s.one_way(stats::Direction::kBackward), -bref, out);
  if (stamp->reflector_stateful) {
    out << absl::StrFormat("loss forward %d, backward %d (stateful reflector)\n",
                           stamp->forward_lost, s.lost() - stamp->forward_lost);
  } else if (s.lost() > 0) {
    out << "loss direction unknown (stateless reflector)\n";
  }
}

std::string InterimLine(const stats::SessionStats& s) {
  const auto& h = s.rtt().histogram();
  return absl::StrFormat("sent %d, received %d, lost %d (%.1f%%), rtt p50 %.3f ms, p99 %.3f ms",
                         s.sent(), s.received(), s.lost(), 100.0 * s.loss_ratio(),
                         Ms(h.Percentile(50)), Ms(h.Percentile(99)));
}

}  // namespace udpbeat
