#include "target_file_reader.h"

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>

#include "client_setup.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/targets/targets_file.h"

namespace udpbeat {

absl::StatusOr<std::vector<engine::TargetSpec>> LoadTargetSpecs(const ClientOptions& opts) {
  std::vector<TargetLine> lines;
  const size_t kept = std::min(opts.command_line_targets, opts.targets.size());
  for (size_t i = 0; i < kept; ++i) lines.push_back({opts.targets[i].target, opts.targets[i].labels, 0});
  UDPBEAT_ASSIGN_OR_RETURN(std::vector<TargetLine> file, LoadTargetsFile(opts.targets_file));
  UDPBEAT_RETURN_IF_ERROR(AppendTargets(lines, std::move(file), opts.targets_file));
  std::vector<TargetArg> args;
  for (TargetLine& l : lines) args.push_back({std::move(l.target), std::move(l.labels)});
  if (args.empty()) return absl::InvalidArgumentError("no target left to watch");
  return ResolveTargets(opts, args);
}

struct TargetFileReader::Shared {
  std::mutex mu;
  std::optional<Result> result;  // set once, by the reading thread
};

bool TargetFileReader::Start(const ClientOptions& opts) {
  if (pending_ != nullptr) return false;
  pending_ = std::make_shared<Shared>();
  // The thread gets its own copy of the options and a share of the result: nothing of
  // the loop's is touched, so it may outlive the run.
  std::thread([shared = pending_, opts] {
    Result r = LoadTargetSpecs(opts);
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->result = std::move(r);
  }).detach();
  return true;
}

std::optional<TargetFileReader::Result> TargetFileReader::Take() {
  if (pending_ == nullptr) return std::nullopt;
  std::optional<Result> r;
  {
    std::lock_guard<std::mutex> lock(pending_->mu);
    r = std::move(pending_->result);
  }
  if (r) pending_.reset();
  return r;
}

}  // namespace udpbeat
