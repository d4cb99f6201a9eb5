#include "client_setup.h"

#include "udpbeat/base/status_macros.h"

namespace udpbeat {

absl::StatusOr<std::vector<engine::TargetSpec>> ResolveTargets(const ClientOptions& opts) {
  const uint16_t default_port = DefaultPort(opts.proto);
  std::vector<engine::TargetSpec> specs;
  specs.reserve(opts.targets.size());
  for (const TargetArg& t : opts.targets) {
    UDPBEAT_ASSIGN_OR_RETURN(SocketAddress peer, ResolveUdp(t.target, default_port, opts.family));
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

engine::SessionGroupOptions GroupOptions(const ClientOptions& opts, std::optional<Nanos> interval,
                                         Nanos timeout, int64_t count, bool heartbeat) {
  engine::SessionGroupOptions go;
  go.sessions = std::max<uint32_t>(opts.sessions, 1);
  go.sockets = opts.sockets;
  engine::ProbeSessionConfig& cfg = go.session;
  cfg.proto = opts.proto;
  cfg.heartbeat = heartbeat;
  cfg.size = opts.size;
  cfg.timeout = timeout;
  cfg.interval = interval;
  cfg.count = count;
  // STAMP numbers from 0 (RFC 8762 §4.2.1); the lab numbers pings from 1.
  cfg.first_seq = opts.proto == ProbeProto::kStamp ? 0 : 1;
  return go;
}

measure::RunInfo MakeRunInfo(const ClientOptions& opts, std::string_view mode,
                             std::optional<Nanos> interval, Nanos timeout, WallTime start) {
  measure::RunInfo info;
  info.mode = std::string(mode);
  info.protocol = std::string(ProbeProtoName(opts.proto));
  info.version = UDPBEAT_VERSION;
  info.interval = interval;
  info.timeout = timeout;
  info.size = opts.size;
  info.sessions = std::max<uint32_t>(opts.sessions, 1);
  info.start = start;
  info.timestamps = "user";
  return info;
}

}  // namespace udpbeat
