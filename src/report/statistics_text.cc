#include "udpbeat/report/statistics_text.h"

#include <algorithm>
#include <cstring>
#include <ostream>

#include "absl/strings/str_format.h"

namespace udpbeat::report {
namespace {

double Ms(double ns) { return ns / 1e6; }
double Ms(Nanos ns) { return static_cast<double>(ns) / 1e6; }

void WriteDelayLine(const char* name, const measure::DelayFigures& d, std::ostream& out) {
  out << absl::StrFormat("%s min/avg/max/p99 = %.3f/%.3f/%.3f/%.3f ms, jitter %.3f ms\n", name,
                         Ms(d.min), Ms(d.avg), Ms(d.max), Ms(d.p99), Ms(d.jitter));
}

}  // namespace

void WritePacketsLines(const measure::Figures& f, bool unreachable, std::ostream& out) {
  out << absl::StrFormat("Packets: Sent = %d, Received = %d, Lost = %d (%.1f%% packet loss)",
                         f.sent, f.received, f.lost, 100.0 * f.loss_ratio);
  if (unreachable && f.unreachable > 0)
    out << absl::StrFormat(", +%d port unreachable", f.unreachable);
  if (f.in_flight > 0) out << absl::StrFormat(", %d in flight", f.in_flight);
  if (f.send_errors > 0) out << absl::StrFormat(", %d send errors", f.send_errors);
  out << "\n";
  if (f.local_drops > 0 && f.lost > 0) {
    out << absl::StrFormat(
        "of the lost, %d were dropped on this host (socket receive buffer full), not in the "
        "network\n",
        std::min(f.local_drops, f.lost));
  }
  if (f.send_errors > 0) {
    out << absl::StrFormat(
        "%d probes never left this host (send errors: refused locally), neither sent nor "
        "lost\n",
        f.send_errors);
  }
  // A schedule this host could not keep: said in words, since the send lag alone (bounded
  // by the skipping, see ProbeSession::SkipWhatIsTooLate) would hide how much never went
  // out.
  if (f.skipped > 0) {
    out << absl::StrFormat(
        "%d %s skipped: this host fell behind the schedule (due when the sending "
        "stopped, or too late to be worth sending), neither sent nor lost\n",
        f.skipped, f.skipped == 1 ? "probe" : "probes");
  }
}

void WriteTransmittedLine(const measure::Figures& f, Nanos elapsed, std::ostream& out) {
  out << absl::StrFormat("%d packets transmitted, %d received, ", f.sent, f.received);
  if (f.duplicate > 0) out << absl::StrFormat("+%d duplicates, ", f.duplicate);
  if (f.send_errors > 0) out << absl::StrFormat("+%d send errors, ", f.send_errors);
  if (f.in_flight > 0) out << absl::StrFormat("%d in flight, ", f.in_flight);
  out << absl::StrFormat("%g%% packet loss, time %dms\n", 100.0 * f.loss_ratio,
                         elapsed / kNanosPerMilli);
}

void WriteRichStatistics(const measure::Figures& f, std::ostream& out) {
  const measure::DelayFigures& rtt = f.rtt;
  if (rtt.count > 0) {
    out << absl::StrFormat("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", Ms(rtt.min),
                           Ms(rtt.avg), Ms(rtt.max), Ms(rtt.mdev))
        << absl::StrFormat("rtt p50/p90/p99/p99.9 = %.3f/%.3f/%.3f/%.3f ms\n", Ms(rtt.p50),
                           Ms(rtt.p90), Ms(rtt.p99), Ms(rtt.p999))
        << absl::StrFormat("jitter = %.3f ms (RFC 3550)\n", Ms(rtt.jitter));
  }
  out << absl::StrFormat(
      "late %d, duplicate %d, reordered %d, malformed %d, longest loss burst %d\n", f.late,
      f.duplicate, f.reordered, f.malformed, f.longest_loss_burst);
  if (f.dscp_changed > 0) {
    out << absl::StrFormat(
        "%d of %d replies came back with another DSCP than the probes' (remarked on the path, "
        "or not returned by the reflector)\n",
        f.dscp_changed, f.received);
  }
  if (!f.stamp) return;
  const measure::StampFigures& st = *f.stamp;
  out << absl::StrFormat("reflector residence avg/max = %.3f/%.3f ms\n", Ms(st.residence_avg),
                         Ms(st.residence_max))
      << absl::StrFormat(
             "clock offset = %+.3f ms (reflector %s; from the fastest exchange, rtt %.3f ms; "
             "mean over exchanges %+.3f ms)\n",
             Ms(st.clock_offset),
             st.clock_offset >= 500 ? "ahead" : st.clock_offset <= -500 ? "behind" : "in step",
             Ms(st.clock_offset_rtt), Ms(st.clock_offset_avg));
  WriteDelayLine("forward one-way (offset-corrected)", st.forward, out);
  WriteDelayLine("backward one-way (offset-corrected)", st.backward, out);
  WriteDelayLine("forward one-way (raw)", st.forward_raw, out);
  WriteDelayLine("backward one-way (raw)", st.backward_raw, out);
  if (st.reflector_stateful) {
    out << absl::StrFormat("loss forward %d, backward %d", st.loss.forward, st.loss.backward);
    if (st.loss.unattributed > 0) {
      out << absl::StrFormat(", unattributed %d (after the last reply: either way)",
                             st.loss.unattributed);
    }
    out << " (stateful reflector)\n";
  } else if (f.lost > 0) {
    out << "loss direction unknown (stateless reflector)\n";
  }
}

void WriteTargetTable(const measure::RunResult& r, std::ostream& out) {
  size_t width = 6;
  for (const measure::TargetResult& t : r.targets) width = std::max(width, t.info.name.size());
  const bool hb = r.total_heartbeat.has_value();
  out << absl::StrFormat("%-*s %8s %8s %6s %8s %8s %8s %8s %8s%s\n", width, "target", "sent",
                         "received", "loss%", "min ms", "avg ms", "p50 ms", "p99 ms", "max ms",
                         hb ? "  state" : "");
  const auto row = [&](const std::string& name, const measure::Figures& f, const char* state) {
    out << absl::StrFormat("%-*s %8d %8d %6.1f", width, name, f.sent, f.received,
                           100.0 * f.loss_ratio);
    if (f.rtt.count > 0) {
      out << absl::StrFormat(" %8.3f %8.3f %8.3f %8.3f %8.3f", Ms(f.rtt.min), Ms(f.rtt.avg),
                             Ms(f.rtt.p50), Ms(f.rtt.p99), Ms(f.rtt.max));
    } else {
      out << absl::StrFormat(" %8s %8s %8s %8s %8s", "-", "-", "-", "-", "-");
    }
    if (state != nullptr) out << "  " << state;
    out << "\n";
  };
  for (const measure::TargetResult& t : r.targets) {
    row(t.info.name, t.figures,
        t.heartbeat ? detect::StateName(t.heartbeat->state).data() : nullptr);
  }
  row("all", r.total, nullptr);
}

void WritePathLines(const measure::RunResult& r, std::ostream& out) {
  for (const measure::TargetResult& t : r.targets) {
    if (t.paths.size() < 2) continue;
    out << "source ports of " << t.info.name << ":";
    for (const measure::PathFigures& p : t.paths) {
      out << absl::StrFormat(" %d sent %d lost %d (%.1f%%)", p.src_port, p.sent, p.lost,
                             100.0 * p.loss_ratio);
    }
    out << "\n";
  }
}

std::string InterimLine(const measure::Figures& f) {
  return absl::StrFormat("sent %d, received %d, lost %d (%.1f%%)%s, rtt p50 %.3f ms, p99 %.3f ms",
                         f.sent, f.received, f.lost, 100.0 * f.loss_ratio,
                         f.send_errors > 0 ? absl::StrFormat(", send errors %d", f.send_errors)
                                           : std::string(),
                         Ms(f.rtt.p50), Ms(f.rtt.p99));
}

std::string ErrorText(int error) {
  // glibc's table, without strerror's static buffer or locale.
  const char* d = ::strerrordesc_np(error);
  return d != nullptr ? d : absl::StrFormat("error %d", error);
}

}  // namespace udpbeat::report
