// The result of a run, computed once from the statistics engine and read by every
// writer: text, JSON Lines, the Prometheus exposition and the SVG plot. (irtt's Result is
// the model.) Nothing here is computed twice: Summarize() turns Measurements into Figures,
// and the writers only format them.
//
// Units: ns for times and durations (Nanos), ratios in [0, 1].
#ifndef UDPBEAT_MEASURE_RUN_RESULT_H_
#define UDPBEAT_MEASURE_RUN_RESULT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "udpbeat/detect/peer_state.h"
#include "udpbeat/measure/measurements.h"
#include "udpbeat/proto/probe_codec.h"
#include "udpbeat/stats/bucket_counts.h"
#include "udpbeat/stats/histogram.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::measure {

// key=value pairs from the targets file: Prometheus labels and JSON fields.
using Labels = std::vector<std::pair<std::string, std::string>>;

// One stream of delays: summary, nearest-rank percentiles, RFC 3550 jitter.
struct DelayFigures {
  uint64_t count = 0;
  Nanos min = 0;
  double avg = 0;
  Nanos max = 0;
  double mdev = 0;
  Nanos p50 = 0, p90 = 0, p99 = 0, p999 = 0;
  double jitter = 0;
};

struct StampFigures {
  double residence_avg = 0;
  Nanos residence_max = 0;
  Nanos clock_offset = 0;       // from the fastest exchange (the least disturbed)
  Nanos clock_offset_rtt = 0;   // that exchange's RTT
  double clock_offset_avg = 0;  // mean over exchanges
  DelayFigures forward, backward;          // offset-corrected one-way delays
  DelayFigures forward_raw, backward_raw;  // including the clock offset
  Nanos last_forward = 0, last_backward = 0;  // newest exchange, offset-corrected
  bool reflector_stateful = false;
  LossSplit loss;  // meaningful when reflector_stateful
};

// Every reply's RTT as the plot draws its distribution: on-time and late replies apart,
// each as the sequence tracker classified it (never guessed from its RTT against the
// timeout). Exact counts per histogram bucket (histogram.h).
struct RttDistribution {
  stats::LogHistogram on_time;
  stats::LogHistogram late;
};

// What one Measurements says (a session, a target, or the whole run).
struct Figures {
  uint64_t sent = 0;
  uint64_t received = 0;  // on time + late
  uint64_t on_time = 0;
  uint64_t late = 0;
  uint64_t lost = 0;
  uint64_t in_flight = 0;  // neither answered nor lost yet
  uint64_t timed_out = 0;
  uint64_t duplicate = 0;
  uint64_t reordered = 0;
  uint64_t malformed = 0;
  uint64_t unreachable = 0;
  uint64_t local_drops = 0;
  uint64_t skipped = 0;  // due when the sending stopped, never sent (Measurements::skipped)
  uint64_t send_errors = 0;  // never left this host; not sent (Measurements::send_errors)
  uint64_t longest_loss_burst = 0;
  uint64_t kernel_t1 = 0;  // replies timed from the kernel's transmit timestamp
  uint64_t follow_up_t3 = 0;  // exchanges with the exact T3 (Measurements::follow_up_t3)
  uint64_t follow_up_refused = 0;  // unusable reports (Measurements::follow_up_refused)
  uint64_t dscp_changed = 0;  // replies with another DSCP than sent (Measurements::)
  double loss_ratio = 0;  // lost / (sent − in flight)
  DelayFigures rtt;
  stats::BucketCounts rtt_buckets;
  Nanos last_rtt = -1;
  DelayFigures send_lag;
  std::optional<StampFigures> stamp;  // STAMP sessions that got an exchange
  std::optional<RttDistribution> rtt_distribution;  // Detail::kPlot only
};

// How much work Summarize does: percentiles cost a histogram scan per stream, which a
// live snapshot of thousands of targets (Prometheus exposes buckets instead) skips; the
// plot's distribution costs two histogram copies per result, which only --plot pays.
enum class Detail { kFull, kCounters, kPlot /* kFull and rtt_distribution */ };

Figures Summarize(const Measurements& m, Detail detail = Detail::kFull);
DelayFigures SummarizeDelays(const stats::DelayStats& d, Nanos shift, Detail detail);

struct HeartbeatFigures {
  detect::State state = detect::State::kUp;
  int outages = 0;              // entries into down
  uint64_t state_changes = 0;
  Nanos time_down = 0;
  size_t sessions = 1;
  size_t sessions_down = 0;
  size_t targets_down = 0;  // the run's total only: targets down at this moment
};

// One session of a target, as a state change names it (--sessions, --src-ports).
struct SessionRef {
  uint32_t index = 0;       // in its target, from 0
  uint16_t local_port = 0;  // its socket's port
  bool by_port = false;     // --src-ports: the sessions are the target's source ports
};

// Probes of one source port (--src-ports). A target's paths are in path order: paths[i] is
// path i, which reports name by its index (a port changes on every start).
struct PathFigures {
  uint16_t src_port = 0;
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t lost = 0;
  double loss_ratio = 0;  // as Figures::loss_ratio, the session's own
};

// Who a target is, as reporters name it.
struct TargetInfo {
  std::string name;     // as the user gave it ("db1:862")
  std::string address;  // what it resolved to ("10.0.0.7:862")
  std::string host;     // name without the port, for the lab's "Reply from HOST"
  Labels labels;
};

struct TargetResult {
  TargetInfo info;
  Figures figures;
  std::optional<HeartbeatFigures> heartbeat;
  std::vector<PathFigures> paths;
};

struct SessionResult {
  uint32_t index = 0;
  size_t target = 0;  // its target, an index into RunResult::targets
  uint16_t local_port = 0;
  Figures figures;
};

// The settings a run states up front (JSON's start object, text headers).
struct RunInfo {
  std::string mode;      // "ping", "heartbeat"
  ProbeProto proto = ProbeProto::kStamp;  // JSON names it ProbeProtoName()
  std::string version;
  std::optional<Nanos> interval;  // unset: next probe after reply or timeout
  Nanos timeout = 0;
  size_t size = 0;
  uint32_t sessions = 1;
  WallTime start;
  std::string timestamps;  // transmit timestamp source: "kernel" or "user"
  bool follow_up = false;  // requests ask for RFC 8972 follow-up telemetry
};

// A target of the targets file left out of the run: its name did not resolve.
struct UnresolvedTarget {
  std::string file;
  int line = 0;        // 1-based
  std::string target;  // "HOST[:PORT]" as written
  std::string error;   // the resolver's, as "resolve HOST: Name or service not known"
};

// heartbeat's reloads of its targets file (SIGHUP), as Prometheus' own
// prometheus_config_last_reload_* metrics say them for its configuration.
struct ReloadStatus {
  bool last_ok = true;        // the last read was applied (the one at start counts)
  WallTime last_success;      // when a read was last applied
  uint64_t failures = 0;      // reads refused (targets left unchanged) so far
};

struct RunResult {
  RunInfo info;
  Nanos elapsed = 0;
  std::vector<TargetResult> targets;
  Figures total;                               // every target together
  std::optional<HeartbeatFigures> total_heartbeat;
  std::vector<SessionResult> sessions;         // per session, for load tests
  // With a targets file: its names that did not resolve at its last read, left out.
  std::optional<uint64_t> targets_unresolved;
  std::optional<ReloadStatus> reload;          // heartbeat with a targets file
};

}  // namespace udpbeat::measure

#endif  // UDPBEAT_MEASURE_RUN_RESULT_H_
