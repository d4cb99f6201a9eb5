#include "plot_feed.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace udpbeat {

std::string PlotTitle(std::string_view mode, const std::vector<measure::TargetResult>& targets,
                      std::string_view protocol) {
  constexpr size_t kNamed = 3;  // more names would not fit the title's line
  std::string shown;
  if (targets.size() <= kNamed) {
    shown = absl::StrJoin(targets, ", ", [](std::string* out, const measure::TargetResult& t) {
      absl::StrAppend(out, t.info.name);
    });
  } else {
    shown = absl::StrCat(targets.size(), " targets");
  }
  std::string title = "udpbeat ";
  title.append(mode).append(" ").append(shown).append(" (").append(protocol).append(")");
  return title;
}

void PlotFeed::Reply(const engine::ProbeSession& s, const measure::ReplyEvent& r) {
  const Nanos at = Since(r.sent);
  last_sent_ = std::max(last_sent_, at);
  switch (r.kind) {
    case stats::ReplyClass::kOnTime:
      recorder_.AddReply(at, r.rtt);
      break;
    case stats::ReplyClass::kLate: {
      recorder_.AddLate(at, r.rtt);
      auto it = pending_.find(&s);
      if (it == pending_.end()) break;
      std::deque<Pending>& q = it->second;
      auto p = std::find_if(q.begin(), q.end(), [&](const Pending& x) { return x.seq == r.seq; });
      if (p != q.end()) q.erase(p);
      break;
    }
    default:
      break;  // duplicates add nothing
  }
}

void PlotFeed::Timeout(const engine::ProbeSession& s, const measure::TimeoutEvent& e) {
  // A send error never left this host: not a loss on the path the plot shows.
  if (e.send_error != 0) return;
  const Nanos at = Since(e.sent);
  last_sent_ = std::max(last_sent_, at);
  std::deque<Pending>& q = pending_[&s];
  q.push_back({e.seq, at});
  // Lost is the tracker's word, not ours: a timed-out probe that no late reply settled.
  // This only drops a probe from memory early once the tracker has retired it (the
  // send of a probe a whole window newer did; a reply to it would now be unknown and
  // reach no observer), so the lost marks are the timeouts no kLate reply followed.
  const uint32_t window = s.stats().tracker().window();
  while (!q.empty() && e.seq - q.front().seq >= window) {
    recorder_.AddLoss(q.front().sent_at);
    q.pop_front();
  }
}

void PlotFeed::Transition(const detect::Transition& t, WallTime when) {
  if (t.to == detect::State::kDown) {
    if (down_++ == 0) down_since_ = Since(when);
  } else if (t.from == detect::State::kDown && down_ > 0) {
    if (--down_ == 0) recorder_.AddDownPeriod(down_since_, Since(when));
  }
}

void PlotFeed::Watching(int down, WallTime when) {
  if (down_ > 0 && down == 0) recorder_.AddDownPeriod(down_since_, Since(when));
  if (down_ == 0 && down > 0) down_since_ = Since(when);
  down_ = down;
}

absl::Status PlotFeed::Write(const std::string& path, const std::string& title, WallTime end,
                             Nanos timeout, bool heartbeat, const measure::RunResult& result) {
  for (auto& [session, q] : pending_) {
    for (const Pending& p : q) recorder_.AddLoss(p.sent_at);
    q.clear();
  }
  if (down_ > 0) {
    recorder_.AddDownPeriod(down_since_, Since(end));
    down_ = 0;
  }
  PlotOptions o;
  o.title = title;
  // The x axis is the time probes were sent; down periods reach the end of the run.
  o.duration = std::max(last_sent_, heartbeat ? Since(end) : last_sent_);
  o.timeout = timeout;
  o.heartbeat = heartbeat;
  return WritePlotSvg(path, recorder_, result, o);
}

}  // namespace udpbeat
