// What every reporter (text, JSON Lines) is told during and after a client run. Reporters
// only format: every figure comes from measure::RunResult or the event.
//
// Besides its output proper, every reporter says a few things to a person on the error
// stream, the same lines whatever the output format ("udpbeat: ..."): the non-virtual
// members below.
#ifndef UDPBEAT_REPORT_REPORTER_H_
#define UDPBEAT_REPORT_REPORTER_H_

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "udpbeat/detect/peer_state.h"
#include "udpbeat/measure/probe_events.h"
#include "udpbeat/measure/run_result.h"

namespace udpbeat::report {

// "FILE:LINE: resolve NAME: why": a target of the targets file left out.
std::string UnresolvedLine(const measure::UnresolvedTarget& u);

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
  // SIGHUP re-read the targets file `file` and applied it: `targets` are watched now,
  // `before` were, `unresolved` of its names were left out (each told by
  // ReloadUnresolved first).
  virtual void Reloaded(const std::string& /*file*/,
                        const std::vector<measure::TargetInfo>& /*targets*/, size_t /*before*/,
                        size_t /*unresolved*/, WallTime /*when*/) {}
  // A target of the targets file left out, its name not resolving (at start, or in a
  // SIGHUP's read), at wall time `when`: the JSON event. At start the modes said it on the
  // error stream while resolving; in a reload ReloadUnresolved does.
  virtual void Unresolved(const measure::UnresolvedTarget& /*u*/, WallTime /*when*/) {}
  // SIGQUIT: a one-line interim summary (human text, on the error stream).
  virtual void Interim(const measure::RunResult& r) = 0;
  virtual void Summary(const measure::RunResult& r) = 0;

  // The error stream's lines.
  // SIGHUP asked to read the targets file again, and the run has none.
  void NothingToReload();
  // A SIGHUP's read of the targets file came to nothing (`why`): the targets are unchanged.
  void ReloadRefused(const absl::Status& why);
  // A name of the targets file that did not resolve in a SIGHUP's read: said, then
  // Unresolved().
  void ReloadUnresolved(const measure::UnresolvedTarget& u, WallTime when);
  // The metrics file could not be written (`why`); said once, the run goes on (a
  // file that cannot be written stays so, and the journal needs one line, not one a
  // period). Returns `why` marked as told (base/reported_status.h): the write at the
  // stop makes it the run's exit without a second line.
  absl::Status MetricsFileFailed(absl::Status why);
  // After the run, a target that never answered, when why is known: nothing listens at
  // its port (ICMP port unreachable; `stamp_port`: it is STAMP's 862, worth a hint), or no
  // probe ever left this host. Nothing for a target that answered or merely stayed silent.
  void Unanswered(const measure::TargetResult& t, bool stamp_port);

 protected:
  explicit RunReporter(std::ostream& err) : err_(err) {}
  std::ostream& err() { return err_; }

 private:
  std::ostream& err_;
  bool metrics_file_failed_ = false;
};

}  // namespace udpbeat::report

#endif  // UDPBEAT_REPORT_REPORTER_H_
