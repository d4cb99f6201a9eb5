// Formatting of ping events and statistics: human text (the lab's lines, then udpbeat's
// richer lines) or JSON Lines. Reporters only format values; they never measure.
//
// JSON Lines contract (one object per line, stable field names, units in the name):
//   {"event":"reply","seq":1,"rtt_ns":81234,"bytes":28,"ttl":64,"reordered":false,...}
//     STAMP replies add "residence_ns", "clock_offset_ns", "forward_ns", "backward_ns"
//     (raw one-way delays), "reflector_seq" and "reflector_ttl"
//   {"event":"late","seq":3,"rtt_ns":1200345678,...}   reply after its timeout
//   {"event":"duplicate","seq":3,"rtt_ns":...}         a second reply to one probe
//   {"event":"timeout","seq":4}                         no reply within the timeout
//   {"event":"unreachable","seq":4}                     ICMP port unreachable seen
//   {"event":"summary","sent":10,"received":9,"lost":1,"loss_ratio":0.1,...}
#ifndef UDPBEAT_REPORT_PING_REPORTER_H_
#define UDPBEAT_REPORT_PING_REPORTER_H_

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "udpbeat/engine/probe_session.h"
#include "udpbeat/stats/session_stats.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

struct PingSummary {
  const stats::SessionStats* stats = nullptr;
  const StampSummary* stamp = nullptr;  // STAMP sessions only
  uint64_t unreachable = 0;             // ICMP port unreachable reports
  // Replies the kernel dropped on our side (socket receive buffer full, SO_RXQ_OVFL):
  // part of `lost`, but lost here, not in the network.
  uint64_t local_drops = 0;
  // How late probes left against their schedule (actual − scheduled send time).
  const stats::DelayStats* send_lag = nullptr;
  Nanos elapsed = 0;
};

class PingReporter {
 public:
  virtual ~PingReporter() = default;
  virtual void OnReply(const ReplyInfo& r) = 0;
  virtual void OnTimeout(uint32_t seq) = 0;
  virtual void OnUnreachable(uint32_t seq) = 0;
  virtual void OnSummary(const PingSummary& s) = 0;
  // SIGQUIT: a one-line interim summary (always human text, on the error stream).
  virtual void OnInterim(const PingSummary& s) = 0;
};

// `host` is the target as the user typed it (the lab prints "Reply from HOST: ...").
std::unique_ptr<PingReporter> MakeTextPingReporter(std::string host, bool quiet,
                                                   std::ostream& out, std::ostream& err);
std::unique_ptr<PingReporter> MakeJsonPingReporter(std::string target, std::ostream& out,
                                                   std::ostream& err);

// The lines after the lab's statistics, shared by every mode's text output:
//   rtt min/avg/max/mdev = a/b/c/d ms
//   rtt p50/p90/p99/p99.9 = a/b/c/d ms
//   jitter = x ms (RFC 3550)
//   late N, duplicate N, reordered N, malformed N, longest loss burst N
// and for STAMP sessions the reflector's residence, the clock offset and one-way delays.
void WriteRichStatistics(const stats::SessionStats& s, const StampSummary* stamp,
                         std::ostream& out);
// A reply event object of --json (ping and heartbeat).
nlohmann::json ReplyJson(const ReplyInfo& r, const std::string& target);
// The summary object of --json (also used per session by load tests).
nlohmann::json SummaryJson(const PingSummary& p, const std::string& target);

// "sent N, received N, lost N (x%), rtt p50 a ms p99 b ms" for SIGQUIT.
std::string InterimLine(const stats::SessionStats& s);

}  // namespace udpbeat

#endif  // UDPBEAT_REPORT_PING_REPORTER_H_
