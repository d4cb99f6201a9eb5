// What every reporter (text, JSON Lines) is told during and after a client run. Reporters
// only format: every figure comes from measure::RunResult or the event.
#ifndef UDPBEAT_REPORT_REPORTER_H_
#define UDPBEAT_REPORT_REPORTER_H_

#include <string>
#include <vector>

#include "udpbeat/detect/peer_state.h"
#include "udpbeat/measure/probe_events.h"
#include "udpbeat/measure/run_result.h"

namespace udpbeat::report {

class RunReporter {
 public:
  virtual ~RunReporter() = default;
  // The run's settings and targets, before anything is sent.
  virtual void Start(const measure::RunInfo& info,
                     const std::vector<measure::TargetInfo>& targets) = 0;
  virtual void Reply(const measure::TargetInfo& t, const measure::ReplyEvent& r) = 0;
  virtual void Timeout(const measure::TargetInfo& t, const measure::TimeoutEvent& e) = 0;
  // Follow-up telemetry gave an earlier exchange its exact T3 (JSON only: a reply line
  // shows the reflector's estimate, and text has no way to amend a line already printed).
  virtual void FollowUp(const measure::TargetInfo&, const measure::FollowUpEvent&) {}
  // A heartbeat target's state changed, at wall time `when`.
  virtual void Transition(const measure::TargetInfo&, const detect::Transition&, WallTime) {}
  // One session of a target of several changed state on its own, at wall time `when`.
  virtual void SessionTransition(const measure::TargetInfo&, const measure::SessionRef&,
                                 const detect::Transition&, WallTime) {}
  // SIGHUP re-read the targets file `file`: `targets` are watched now, `before` were.
  virtual void Reloaded(const std::string& /*file*/,
                        const std::vector<measure::TargetInfo>& /*targets*/, size_t /*before*/,
                        WallTime /*when*/) {}
  // A target of the targets file left out, its name not resolving (at start, or in a
  // SIGHUP's read), at wall time `when`. The modes say it on stderr themselves.
  virtual void Unresolved(const measure::UnresolvedTarget& /*u*/, WallTime /*when*/) {}
  // SIGQUIT: a one-line interim summary (human text, on the error stream).
  virtual void Interim(const measure::RunResult& r) = 0;
  virtual void Summary(const measure::RunResult& r) = 0;
};

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_REPORTER_H_
