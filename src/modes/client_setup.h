// The setup ping and heartbeat share: resolving targets, the session template, the
// run's stated settings. Private to the modes library.
#ifndef UDPBEAT_SRC_MODES_CLIENT_SETUP_H_
#define UDPBEAT_SRC_MODES_CLIENT_SETUP_H_

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "udpbeat/engine/target_set.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/modes/client_options.h"

namespace udpbeat {

// Resolves every target (names through the resolver, numeric ones directly).
absl::StatusOr<std::vector<engine::TargetSpec>> ResolveTargets(const ClientOptions& opts);

// The session template and socket layout every target of the run gets.
engine::SessionGroupOptions GroupOptions(const ClientOptions& opts, std::optional<Nanos> interval,
                                         Nanos timeout, int64_t count, bool heartbeat);

// What the run states up front.
measure::RunInfo MakeRunInfo(const ClientOptions& opts, std::string_view mode,
                             std::optional<Nanos> interval, Nanos timeout, WallTime start);

}  // namespace udpbeat

#endif  // UDPBEAT_SRC_MODES_CLIENT_SETUP_H_
