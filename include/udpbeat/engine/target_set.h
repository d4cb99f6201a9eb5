// The targets of one client run and their lifecycle: created from resolved specs,
// staggered over the interval so they do not send in bursts, started, stopped, and — for
// heartbeat's reload on SIGHUP — replaced by a new list in which unchanged targets keep
// their sessions, statistics and detector state.
//
// Thread: the loop's. Borrowed: transport, sockets, observer.
#ifndef UDPBEAT_ENGINE_TARGET_SET_H_
#define UDPBEAT_ENGINE_TARGET_SET_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "udpbeat/engine/target.h"

namespace udpbeat::engine {

struct TargetSpec {
  measure::TargetInfo info;
  SocketAddress peer;
};

struct ReloadCounts {
  size_t added = 0;
  size_t removed = 0;
  size_t kept = 0;
};

class TargetSet {
 public:
  // Runs of at most this many sockets send from send-only twins (SessionGroupOptions::
  // send_twins) when the descriptors allow two per socket: a few peers measured closely
  // get the nearer T1; a fleet keeps one descriptor per socket.
  static constexpr size_t kMaxTwinnedSockets = 64;

  TargetSet(ProbeTransport& transport, ProbeSockets& sockets, TargetObserver& observer,
            SessionGroupOptions options, std::optional<DetectorConfig> detectors)
      : transport_(transport),
        sockets_(sockets),
        observer_(observer),
        options_(std::move(options)),
        detectors_(std::move(detectors)) {}

  // Creates the targets (not started yet).
  absl::Status Create(const std::vector<TargetSpec>& specs);
  // Replaces the targets by `specs` (by name): new ones start now, removed ones stop and
  // go, the others keep everything (their labels are updated).
  absl::StatusOr<ReloadCounts> Reload(const std::vector<TargetSpec>& specs);

  void Start();
  void StopSending();
  void Finish();
  void Tick();

  size_t size() const { return targets_.size(); }
  Target& at(size_t i) { return *targets_[i]; }
  const Target& at(size_t i) const { return *targets_[i]; }
  // Kept up to date by Create and Reload: the modes ask on every reply and timeout,
  // and counting 10,000 targets each time was most of a fleet's CPU.
  size_t SessionCount() const { return session_count_; }
  bool AllDone() const;
  bool AnyDown() const;
  // Targets whose state is down now.
  size_t DownCount() const;
  bool kernel_timestamps() const;

  // The run's result now. `sessions`: also one result per session (load tests);
  // `paths`: per source port; `total`: every target combined.
  measure::RunResult Result(const measure::RunInfo& info, measure::Detail detail, Nanos elapsed,
                            bool sessions, bool paths, bool total) const;

 private:
  // The target at `index` of `count`; `twinned`: Twinned(count), decided once per list.
  absl::StatusOr<std::unique_ptr<Target>> Make(const TargetSpec& spec, size_t index,
                                               size_t count, bool twinned);
  // Whether a run of `count` targets gets send-only twins (kMaxTwinnedSockets).
  bool Twinned(size_t count) const;

  ProbeTransport& transport_;
  ProbeSockets& sockets_;
  TargetObserver& observer_;
  SessionGroupOptions options_;
  std::optional<DetectorConfig> detectors_;
  std::vector<std::unique_ptr<Target>> targets_;
  size_t session_count_ = 0;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_TARGET_SET_H_
