// Reads heartbeat's targets file again and resolves its names off the loop thread: a name
// whose resolver is slow or gone (getaddrinfo waits up to timeout x attempts of
// resolv.conf, 10 s by default) must not stall the probing of every other target. Private
// to the modes library.
#ifndef UDPBEAT_SRC_MODES_TARGET_FILE_READER_H_
#define UDPBEAT_SRC_MODES_TARGET_FILE_READER_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "udpbeat/engine/target_set.h"
#include "udpbeat/modes/client_options.h"

namespace udpbeat {

// What a read of the targets file gives: the targets to watch and the file's names that
// did not resolve (left out until the next read).
struct LoadedTargets {
  std::vector<engine::TargetSpec> specs;
  std::vector<measure::UnresolvedTarget> unresolved;
};

// The command line's targets plus the file's, resolved. Blocks (file, resolver); safe on
// any thread: it reads only `opts`.
absl::StatusOr<LoadedTargets> LoadTargetSpecs(const ClientOptions& opts);

// One read at a time, on a thread of its own; the loop polls Take(). A read still running
// when the reader is destroyed (the run ended) is abandoned: its thread owns what it
// touches and ends by itself.
class TargetFileReader {
 public:
  using Result = absl::StatusOr<LoadedTargets>;

  // Starts a read of opts.targets_file; false when one is still running, an error when
  // no thread could be started.
  absl::StatusOr<bool> Start(const ClientOptions& opts);
  // The finished read's result (the reader is idle again), or nullopt: none finished.
  std::optional<Result> Take();

  struct Shared;  // the result, shared with the reading thread

 private:
  std::shared_ptr<Shared> pending_;
};

}  // namespace udpbeat

#endif  // UDPBEAT_SRC_MODES_TARGET_FILE_READER_H_
