#include "udpbeat/report/serve_text.h"

#include <ostream>

#include "absl/strings/str_format.h"
#include "udpbeat/base/absl_view.h"

namespace udpbeat::report {

std::string ListeningLine(std::string_view address, std::string_view reply_mode, int threads) {
  return absl::StrFormat("udpbeat serve: listening on %s (reply %s%s)", AbslView(address),
                         AbslView(reply_mode),
                         threads > 1 ? absl::StrFormat(", %d threads", threads) : "");
}

std::string FormatServeCounters(const measure::ServeCounters& c) {
  return absl::StrFormat(
      "received %d, replied %d, dropped %d, malformed %d, send errors %d, kernel drops %d, "
      "rate limited %d, peers %d, peer evictions %d, refused %d, unauthenticated %d, "
      "delay queue full %d",
      c.received, c.replied, c.dropped, c.malformed, c.send_errors, c.kernel_drops,
      c.rate_limited, c.peers, c.peer_evictions, c.refused, c.unauthenticated, c.delay_full);
}

void WriteServeStatistics(const measure::ServeCounters& total, const measure::LoopCounters& loops,
                          std::span<const measure::ServeCounters> per_worker, std::ostream& out) {
  out << "\n--- udpbeat serve statistics ---\n" << FormatServeCounters(total) << "\n";
  // Datagrams per turn is how much each io_uring_enter batches: the loop's efficiency.
  out << absl::StrFormat(
      "event loop: %d turns, %.1f datagrams per turn, %d io_uring_enter calls\n", loops.turns,
      loops.turns > 0 ? static_cast<double>(loops.datagrams) / static_cast<double>(loops.turns)
                      : 0.0,
      loops.submit_calls);
  if (per_worker.size() > 1) {
    for (size_t i = 0; i < per_worker.size(); ++i) {
      out << absl::StrFormat("thread %d: received %d, replied %d\n", i, per_worker[i].received,
                             per_worker[i].replied);
    }
  }
  out.flush();
}

}  // namespace udpbeat::report
