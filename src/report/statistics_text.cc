#include "udpbeat/report/statistics_text.h"

#include <algorithm>
#include <ostream>

#include "absl/strings/str_format.h"

namespace udpbeat::report {
namespace {

double Ms(double ns) { return ns / 1e6; }

void WriteDelayLine(const char* name, const measure::DelayFigures& d, std::ostream& out) {
  out << absl::StrFormat("%s min/avg/max/p99 = %.3f/%.3f/%.3f/%.3f ms, jitter %.3f ms\n", name,
                         Ms(static_cast<double>(d.min)), Ms(d.avg),
                         Ms(static_cast<double>(d.max)), Ms(static_cast<double>(d.p99)),
                         Ms(d.jitter));
}

}  // namespace

void WritePacketsLines(const measure::Figures& f, bool unreachable, std::ostream& out) {
  out << absl::StrFormat("Packets: Sent = %d, Received = %d, Lost = %d (%.1f%% packet loss)",
                         f.sent, f.received, f.lost, 100.0 * f.loss_ratio);
  if (unreachable && f.unreachable > 0)
    out << absl::StrFormat(", +%d port unreachable", f.unreachable);
  out << "\n";
  if (f.local_drops > 0 && f.lost > 0) {
    out << absl::StrFormat(
        "of the lost, %d were dropped on this host (socket receive buffer full), not in the "
        "network\n",
        std::min(f.local_drops, f.lost));
  }
}

void WriteRichStatistics(const measure::Figures& f, std::ostream& out) {
  const measure::DelayFigures& rtt = f.rtt;
  if (rtt.count > 0) {
    out << absl::StrFormat("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n",
                           Ms(static_cast<double>(rtt.min)), Ms(rtt.avg),
                           Ms(static_cast<double>(rtt.max)), Ms(rtt.mdev))
        << absl::StrFormat("rtt p50/p90/p99/p99.9 = %.3f/%.3f/%.3f/%.3f ms\n",
                           Ms(static_cast<double>(rtt.p50)), Ms(static_cast<double>(rtt.p90)),
                           Ms(static_cast<double>(rtt.p99)), Ms(static_cast<double>(rtt.p999)))
        << absl::StrFormat("jitter = %.3f ms (RFC 3550)\n", Ms(rtt.jitter));
  }
  out << absl::StrFormat(
      "late %d, duplicate %d, reordered %d, malformed %d, longest loss burst %d\n", f.late,
      f.duplicate, f.reordered, f.malformed, f.longest_loss_burst);
  if (!f.stamp) return;
  const measure::StampFigures& st = *f.stamp;
  out << absl::StrFormat("reflector residence avg/max = %.3f/%.3f ms\n", Ms(st.residence_avg),
                         Ms(static_cast<double>(st.residence_max)))
      << absl::StrFormat(
             "clock offset = %+.3f ms (reflector %s; from the fastest exchange, rtt %.3f ms; "
             "mean over exchanges %+.3f ms)\n",
             Ms(static_cast<double>(st.clock_offset)),
             st.clock_offset >= 500 ? "ahead" : st.clock_offset <= -500 ? "behind" : "in step",
             Ms(static_cast<double>(st.clock_offset_rtt)), Ms(st.clock_offset_avg));
  WriteDelayLine("forward one-way (offset-corrected)", st.forward, out);
  WriteDelayLine("backward one-way (offset-corrected)", st.backward, out);
  WriteDelayLine("forward one-way (raw)", st.forward_raw, out);
  WriteDelayLine("backward one-way (raw)", st.backward_raw, out);
  if (st.reflector_stateful) {
    out << absl::StrFormat("loss forward %d, backward %d", st.loss.forward, st.loss.backward);
    if (st.loss.unattributed > 0) {
      out << absl::StrFormat(
          ", unattributed %d (after the last reply: either way)", st.loss.unattributed);
    }
    out << " (stateful reflector)\n";
  } else if (f.lost > 0) {
    out << "loss direction unknown (stateless reflector)\n";
  }
}

std::string InterimLine(const measure::Figures& f) {
  return absl::StrFormat("sent %d, received %d, lost %d (%.1f%%), rtt p50 %.3f ms, p99 %.3f ms",
                         f.sent, f.received, f.lost, 100.0 * f.loss_ratio,
                         Ms(static_cast<double>(f.rtt.p50)), Ms(static_cast<double>(f.rtt.p99)));
}

}  // namespace udpbeat::report
