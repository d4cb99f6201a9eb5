#include "client_setup.h"

#include "absl/strings/str_cat.h"

#include "udpbeat/base/status_macros.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/report/reporter.h"

namespace udpbeat {

absl::StatusOr<std::vector<engine::TargetSpec>> ResolveTargets(
    const ClientOptions& opts, const std::vector<TargetArg>& args,
    std::vector<measure::UnresolvedTarget>* unresolved) {
  const uint16_t default_port = DefaultPort(opts.proto);
  std::vector<engine::TargetSpec> specs;
  specs.reserve(args.size());
  for (const TargetArg& t : args) {
    absl::StatusOr<SocketAddress> resolved = ResolveUdp(t.target, default_port, opts.family);
    if (!resolved.ok() && t.line > 0) {
      measure::UnresolvedTarget u{opts.targets_file, t.line, t.target,
                                  std::string(resolved.status().message())};
      if (unresolved == nullptr)
        return absl::Status(resolved.status().code(), report::UnresolvedLine(u));
      unresolved->push_back(std::move(u));
      continue;
    }
    UDPBEAT_ASSIGN_OR_RETURN(SocketAddress peer, std::move(resolved));
    engine::TargetSpec spec;
    spec.peer = peer;
    spec.info.name = t.target;
    spec.info.address = peer.ToString();
    auto hp = SplitHostPort(t.target, default_port);
    spec.info.host = hp.ok() ? hp->host : t.target;
    spec.info.labels = t.labels;
    specs.push_back(std::move(spec));
  }
  return specs;
}

absl::StatusOr<std::vector<engine::TargetSpec>> ResolveStartTargets(
    const ClientOptions& opts, std::ostream& err,
    std::vector<measure::UnresolvedTarget>* unresolved) {
  UDPBEAT_ASSIGN_OR_RETURN(std::vector<engine::TargetSpec> specs,
                           ResolveTargets(opts, opts.targets, unresolved));
  for (const auto& u : *unresolved) err << "udpbeat: " << report::UnresolvedLine(u) << std::endl;
  if (specs.empty()) return NoTargetResolves(opts, unresolved->size());
  return specs;
}

absl::Status NoTargetResolves(const ClientOptions& opts, size_t unresolved) {
  return absl::NotFoundError(absl::StrCat("no target of ", opts.targets_file, " resolves (",
                                          unresolved, unresolved == 1 ? " name)" : " names)"));
}

absl::StatusOr<std::optional<SocketAddress>> SourceAddress(const ClientOptions& opts) {
  if (opts.source.empty()) return std::nullopt;
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress a, SocketAddress::ParseNumeric(opts.source, 0));
  return a;
}

absl::StatusOr<std::unique_ptr<stamp::HmacSha256>> LoadHmac(const std::string& key_file) {
  if (key_file.empty()) return std::unique_ptr<stamp::HmacSha256>();
  UDPBEAT_ASSIGN_OR_RETURN(AuthKey key, LoadAuthKey(key_file));
  return std::make_unique<stamp::HmacSha256>(key);
}

engine::SessionGroupOptions GroupOptions(const ClientOptions& opts, std::optional<Nanos> interval,
                                         Nanos timeout, int64_t count, bool heartbeat,
                                         const SocketAddress* source,
                                         const stamp::HmacSha256* hmac) {
  engine::SessionGroupOptions go;
  // Source ports are sessions with one socket each: the per-port figures are theirs.
  go.sessions = opts.src_ports > 0 ? opts.src_ports : std::max<uint32_t>(opts.sessions, 1);
  go.sockets = opts.src_ports > 0 ? 0 : opts.sockets;
  go.socket.tos = opts.tos;
  go.socket.source = source;
  // T1 from the kernel's transmit timestamp where it gives one (SO_TIMESTAMPING).
  go.transmit_timestamps = true;
  engine::ProbeSessionConfig& cfg = go.session;
  cfg.proto = opts.proto;
  cfg.heartbeat = heartbeat;
  cfg.size = opts.size;
  cfg.timeout = timeout;
  cfg.interval = interval;
  cfg.count = count;
  cfg.hmac = hmac;
  cfg.follow_up = opts.follow_up;
  cfg.min_gap = opts.min_gap;
  cfg.tos = opts.tos;
  // STAMP numbers from 0 (RFC 8762 §4.2.1); the lab numbers pings from 1.
  cfg.first_seq = opts.proto == ProbeProto::kStamp ? 0 : 1;
  return go;
}

measure::RunInfo MakeRunInfo(const ClientOptions& opts, std::string_view mode,
                             std::optional<Nanos> interval, Nanos timeout, WallTime start,
                             bool kernel_timestamps) {
  measure::RunInfo info;
  info.mode = std::string(mode);
  info.proto = opts.proto;
  info.version = UDPBEAT_VERSION;
  info.interval = interval;
  info.timeout = timeout;
  info.size = opts.size;
  info.sessions = opts.src_ports > 0 ? opts.src_ports : std::max<uint32_t>(opts.sessions, 1);
  info.start = start;
  info.timestamps = kernel_timestamps ? "kernel" : "user";
  info.follow_up = opts.follow_up;
  return info;
}

std::vector<measure::TargetInfo> TargetInfos(const std::vector<engine::TargetSpec>& specs) {
  std::vector<measure::TargetInfo> infos;
  for (const engine::TargetSpec& s : specs) infos.push_back(s.info);
  return infos;
}

void MetricsSnapshot::Publish(measure::RunResult result) {
  auto p = std::make_shared<const measure::RunResult>(std::move(result));
  std::lock_guard<std::mutex> lock(mu_);
  latest_ = std::move(p);
  ++version_;
}

uint64_t MetricsSnapshot::Version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

std::string MetricsSnapshot::Render() const {
  std::shared_ptr<const measure::RunResult> r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r = latest_;
  }
  return r == nullptr ? std::string() : report::ClientMetrics(*r);
}

absl::StatusOr<std::unique_ptr<http::MetricsEndpoint>> StartMetricsEndpoint(
    std::string_view listen, const http::MetricsSource& source) {
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress a, http::ParseListenAddress(listen));
  return http::MetricsEndpoint::Start(a, source);
}

}  // namespace udpbeat
