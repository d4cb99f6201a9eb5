#include "udpbeat/modes/heartbeat.h"

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client_setup.h"
#include "heartbeat_monitor.h"
#include "plot_feed.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/loop_transport.h"
#include "udpbeat/report/json_reporter.h"
#include "udpbeat/report/text_reporters.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

absl::StatusOr<engine::DetectorConfig> Detectors(const HeartbeatOptions& opts) {
  engine::DetectorConfig d;
  d.misses = opts.misses;
  if (!opts.phi) return d;
  detect::PhiAccrualOptions po;
  po.threshold = *opts.phi;
  // Akka's defaults are for 1 s heartbeats; they scale with the interval so that a
  // 20 ms heartbeat is judged on its own time scale (first estimate = the interval).
  po.acceptable_heartbeat_pause = opts.phi_pause ? *opts.phi_pause : 3 * opts.interval;
  po.min_std_deviation = std::max<Nanos>(opts.interval / 10, 1);
  po.first_heartbeat_estimate = opts.interval;
  UDPBEAT_ASSIGN_OR_RETURN(d.phi, detect::PhiAccrualDetector::Create(po));
  return d;
}

}  // namespace

absl::StatusOr<ExitCode> RunHeartbeat(const HeartbeatOptions& opts, std::ostream& out,
                                      std::ostream& err) {
  UDPBEAT_ASSIGN_OR_RETURN(std::optional<SocketAddress> source, SourceAddress(opts));
  UDPBEAT_ASSIGN_OR_RETURN(std::unique_ptr<stamp::HmacSha256> hmac, LoadHmac(opts.auth_key_file));
  // A name of the targets file that does not resolve is left out, until a SIGHUP reads
  // the file again: a DNS outage at start must not leave every other target unwatched.
  std::vector<measure::UnresolvedTarget> unresolved;
  UDPBEAT_ASSIGN_OR_RETURN(std::vector<engine::TargetSpec> specs,
                           ResolveStartTargets(opts, err, &unresolved));
  UDPBEAT_ASSIGN_OR_RETURN(engine::DetectorConfig detectors, Detectors(opts));
  const Nanos timeout = opts.timeout ? *opts.timeout : opts.interval;
  // A fixed schedule whatever the replies do.
  const engine::SessionGroupOptions go =
      GroupOptions(opts, opts.interval, timeout, opts.count, true, source ? &*source : nullptr,
                   hmac.get());
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, uring::EventLoop::Create(
                                          engine::ClientLoopOptions(go.sessions * specs.size(),
                                                                    opts.size),
                                          SystemClock::Get()));
  engine::LoopTransport transport(*loop);
  engine::LoopSockets sockets(*loop);
  std::unique_ptr<report::RunReporter> reporter =
      opts.json ? report::MakeJsonReporter(out, err)
                : report::MakeHeartbeatTextReporter({opts.quiet, opts.unix_times, opts.tos >= 0},
                                                    out, err);
  HeartbeatMonitor monitor(opts, *loop, *reporter, out);
  monitor.SetUnresolved(unresolved.size());
  engine::TargetSet targets(transport, sockets, monitor, go, detectors);
  UDPBEAT_RETURN_IF_ERROR(targets.Create(specs));
  // The endpoint's thread renders what the loop publishes; it never calls into the loop.
  MetricsSnapshot snapshot;
  std::unique_ptr<http::MetricsEndpoint> endpoint;
  if (!opts.metrics_listen.empty()) {
    UDPBEAT_ASSIGN_OR_RETURN(endpoint, StartMetricsEndpoint(opts.metrics_listen, snapshot));
  }
  loop->SetSignalHandler(&monitor);
  const measure::RunInfo info = MakeRunInfo(opts, "heartbeat", opts.interval, timeout,
                                            loop->clock().NowWall(), targets.kernel_timestamps());
  reporter->Start(info, TargetInfos(specs));
  for (const auto& u : unresolved) reporter->Unresolved(u, info.start);
  monitor.Start(targets, info, endpoint != nullptr ? &snapshot : nullptr);
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  const absl::Status metrics = monitor.Finish();
  const measure::RunResult result =
      monitor.Result(opts.plot_file.empty() ? measure::Detail::kFull : measure::Detail::kPlot);
  reporter->Summary(result);
  if (!opts.plot_file.empty()) {
    UDPBEAT_RETURN_IF_ERROR(monitor.WritePlot(
        PlotTitle("heartbeat", result.targets, ProbeProtoName(opts.proto)), timeout, result));
  }
  UDPBEAT_RETURN_IF_ERROR(metrics);
  // A target left out (its name did not resolve) is not known to be up: 1, as for a down
  // one. Not fping's 2: udpbeat's 2 says the run failed, and the agent's unit would count
  // every stop as a failure while one name of its file does not resolve.
  return targets.AnyDown() || monitor.unresolved() > 0 ? kExitBadOutcome : kExitOk;
}

}  // namespace udpbeat
