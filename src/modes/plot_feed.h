// Feeds a client run's events to its --plot: replies at their send time, on time or late
// as the session's tracker classified each (ReplyEvent::kind, never re-derived from the
// RTT), a timed-out probe drawn as lost only once no reply can come for it any more (it
// left its session's window, or the run ended), and the periods when a heartbeat target
// was down. The numbers the plot prints are the run's result, given to Write(). Private
// to the modes library.
#ifndef UDPBEAT_SRC_MODES_PLOT_FEED_H_
#define UDPBEAT_SRC_MODES_PLOT_FEED_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "udpbeat/detect/peer_state.h"
#include "udpbeat/engine/probe_session.h"
#include "udpbeat/measure/probe_events.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/report/svg_plot.h"

namespace udpbeat {

// The plot's title: the mode, what the plot shows and the protocol, as in "udpbeat ping
// 127.0.0.1:12000 (stamp)". Up to three targets are named, more are counted ("udpbeat
// ping 5 targets (stamp)"): the marks are every target's.
std::string PlotTitle(std::string_view mode, const std::vector<measure::TargetResult>& targets,
                      std::string_view protocol);

class PlotFeed {
 public:
  explicit PlotFeed(WallTime start) : start_(start) {}

  void Reply(const engine::ProbeSession& s, const measure::ReplyEvent& r);
  void Timeout(const engine::ProbeSession& s, const measure::TimeoutEvent& e);
  // A target's state changed: shading covers the time any target was down, so outages of
  // two targets that overlap are one band, from the first down to the last up.
  void Transition(const detect::Transition& t, WallTime when);
  // The targets changed (a reload): `down` of those watched now are down. A target
  // removed while down never says it is up again; the band it was in ends here.
  void Watching(int down, WallTime when);
  // The run ended at `end`: pending timeouts are losses, an open down period closes.
  // Then renders the SVG to `path`, its counts from `result` (the run's, after the
  // sessions finished).
  absl::Status Write(const std::string& path, const std::string& title, WallTime end,
                     Nanos timeout, bool heartbeat, const measure::RunResult& result);

 private:
  struct Pending {
    uint32_t seq;
    Nanos sent_at;
  };
  Nanos Since(WallTime t) const { return t - start_; }

  WallTime start_;
  PlotRecorder recorder_;
  // Timed-out probes that may still be answered, per session, oldest first.
  std::unordered_map<const engine::ProbeSession*, std::deque<Pending>> pending_;
  Nanos last_sent_ = 0;
  int down_ = 0;  // targets down now
  Nanos down_since_ = 0;
};

}  // namespace udpbeat

#endif  // UDPBEAT_SRC_MODES_PLOT_FEED_H_
