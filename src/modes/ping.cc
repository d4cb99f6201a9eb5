#include "udpbeat/modes/ping.h"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client_setup.h"
#include "pinger.h"
#include "plot_feed.h"
#include "udpbeat/base/output_file.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/loop_transport.h"
#include "udpbeat/report/json_reporter.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/report/text_reporters.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

absl::StatusOr<ExitCode> RunPing(const PingOptions& opts, std::ostream& out, std::ostream& err) {
  UDPBEAT_ASSIGN_OR_RETURN(std::optional<SocketAddress> source, SourceAddress(opts));
  UDPBEAT_ASSIGN_OR_RETURN(std::unique_ptr<stamp::HmacSha256> hmac, LoadHmac(opts.auth_key_file));
  // As heartbeat: a name of the targets file that does not resolve is left out, the
  // others are measured.
  std::vector<measure::UnresolvedTarget> unresolved;
  UDPBEAT_ASSIGN_OR_RETURN(std::vector<engine::TargetSpec> specs,
                           ResolveStartTargets(opts, err, &unresolved));
  engine::SessionGroupOptions go =
      GroupOptions(opts, opts.interval, opts.timeout, opts.duration > 0 ? 0 : opts.count, false,
                   source ? &*source : nullptr, hmac.get());
  // The duration timer ends the sending; the sessions also bound their own schedules by
  // it, so a loop that wakes late and catches up cannot overshoot.
  go.session.duration = opts.duration;
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, uring::EventLoop::Create(
                                          engine::ClientLoopOptions(go.sessions * specs.size(),
                                                                    opts.size),
                                          SystemClock::Get()));
  engine::LoopTransport transport(*loop);
  engine::LoopSockets sockets(*loop);
  std::unique_ptr<report::RunReporter> reporter =
      opts.json ? report::MakeJsonReporter(out, err)
                : report::MakePingTextReporter({opts.quiet, opts.unix_times, opts.tos >= 0}, out,
                                               err);
  Pinger pinger(opts, *loop, *reporter, out);
  engine::TargetSet targets(transport, sockets, pinger, go, std::nullopt);
  UDPBEAT_RETURN_IF_ERROR(targets.Create(specs));
  loop->SetSignalHandler(&pinger);
  const measure::RunInfo info = MakeRunInfo(opts, "ping", opts.interval, opts.timeout,
                                            loop->clock().NowWall(), targets.kernel_timestamps());
  reporter->Start(info, TargetInfos(specs));
  for (const auto& u : unresolved) reporter->Unresolved(u, info.start);
  pinger.Start(targets, info);
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  pinger.ClearProgress();
  targets.Finish();
  measure::RunResult result = pinger.Result(true);
  if (!opts.targets_file.empty()) result.targets_unresolved = unresolved.size();
  reporter->Summary(result);
  if (!opts.json && !result.sessions.empty()) report::WriteSessionReport(result, out);
  if (!opts.plot_file.empty()) {
    UDPBEAT_RETURN_IF_ERROR(
        pinger.WritePlot(PlotTitle("ping", result.targets, ProbeProtoName(opts.proto)), result));
  }
  if (!opts.metrics_file.empty())
    UDPBEAT_RETURN_IF_ERROR(WriteOutputFile(opts.metrics_file, report::ClientMetrics(result)));
  bool every_target_answered = true;
  for (size_t i = 0; i < result.targets.size(); ++i) {
    every_target_answered &= result.targets[i].figures.received > 0;
    reporter->Unanswered(result.targets[i], opts.proto == ProbeProto::kStamp &&
                                                specs[i].peer.port() == stamp::kDefaultPort);
  }
  return every_target_answered && unresolved.empty() ? kExitOk : kExitBadOutcome;
}

}  // namespace udpbeat
