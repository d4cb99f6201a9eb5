// The setup ping and heartbeat share: resolving targets, the session template and socket
// options, the run's stated settings, the metrics snapshot the endpoint serves. Private to
// the modes library.
#ifndef UDPBEAT_SRC_MODES_CLIENT_SETUP_H_
#define UDPBEAT_SRC_MODES_CLIENT_SETUP_H_

#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "udpbeat/engine/target_set.h"
#include "udpbeat/http/metrics_endpoint.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/modes/client_options.h"
#include "udpbeat/proto/stamp_auth.h"

namespace udpbeat {

// Resolves every target (names through the resolver, numeric ones directly). A name that
// does not resolve is an error, except, when `unresolved` is given, one of the targets
// file's (line > 0): that target is left out and appended to `unresolved` (a host the
// resolver does not know yet, or a DNS outage, must not stop the watching of every other
// target). The result may then be empty: the caller refuses it with NoTargetResolves.
absl::StatusOr<std::vector<engine::TargetSpec>> ResolveTargets(
    const ClientOptions& opts, const std::vector<TargetArg>& args,
    std::vector<measure::UnresolvedTarget>* unresolved = nullptr);
// The run's targets at start, for ping and heartbeat alike: ResolveTargets with the
// targets file's names that do not resolve left out, each said on `err` and appended to
// `unresolved`; NoTargetResolves when none is left.
absl::StatusOr<std::vector<engine::TargetSpec>> ResolveStartTargets(
    const ClientOptions& opts, std::ostream& err,
    std::vector<measure::UnresolvedTarget>* unresolved);
// "no target of FILE resolves (N names)": every target was left out.
absl::Status NoTargetResolves(const ClientOptions& opts, size_t unresolved);

// The session template and socket layout every target of the run gets. `source` outlives
// the options (it is pointed to).
engine::SessionGroupOptions GroupOptions(const ClientOptions& opts, std::optional<Nanos> interval,
                                         Nanos timeout, int64_t count, bool heartbeat,
                                         const SocketAddress* source,
                                         const stamp::HmacSha256* hmac);

// --auth-key: the key's HMAC context (null when none was given).
absl::StatusOr<std::unique_ptr<stamp::HmacSha256>> LoadHmac(const std::string& key_file);

// -I: the source address, parsed (nullopt when none was given).
absl::StatusOr<std::optional<SocketAddress>> SourceAddress(const ClientOptions& opts);

// What the run states up front.
measure::RunInfo MakeRunInfo(const ClientOptions& opts, std::string_view mode,
                             std::optional<Nanos> interval, Nanos timeout, WallTime start,
                             bool kernel_timestamps);

std::vector<measure::TargetInfo> TargetInfos(const std::vector<engine::TargetSpec>& specs);

// The metrics a /metrics endpoint serves: the loop publishes a rendered-later snapshot,
// the endpoint's thread renders the newest one, once per snapshot (each Publish is a new
// Version); neither waits on the other beyond swapping a pointer.
class MetricsSnapshot final : public http::MetricsSource {
 public:
  void Publish(measure::RunResult result);
  uint64_t Version() const override;
  std::string Render() const override;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const measure::RunResult> latest_;
  uint64_t version_ = kUnversioned;  // of latest_: how many were published
};

// Starts an endpoint on `listen` ("ADDR:PORT", or ":PORT": every address) serving `source`.
absl::StatusOr<std::unique_ptr<http::MetricsEndpoint>> StartMetricsEndpoint(
    std::string_view listen, const http::MetricsSource& source);

}  // namespace udpbeat

#endif  // UDPBEAT_SRC_MODES_CLIENT_SETUP_H_
