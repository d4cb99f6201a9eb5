#include "target_file_reader.h"

#include <pthread.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>

#include "client_setup.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/targets/targets_file.h"

namespace udpbeat {

absl::StatusOr<LoadedTargets> LoadTargetSpecs(const ClientOptions& opts) {
  std::vector<TargetLine> lines;
  const size_t kept = std::min(opts.command_line_targets, opts.targets.size());
  for (size_t i = 0; i < kept; ++i) lines.push_back({opts.targets[i].target, opts.targets[i].labels, 0});
  UDPBEAT_ASSIGN_OR_RETURN(std::vector<TargetLine> file, LoadTargetsFile(opts.targets_file));
  UDPBEAT_RETURN_IF_ERROR(AppendTargets(lines, std::move(file), opts.targets_file));
  std::vector<TargetArg> args;
  for (TargetLine& l : lines) args.push_back({std::move(l.target), std::move(l.labels), l.line});
  if (args.empty()) return absl::InvalidArgumentError("no target left to watch");
  LoadedTargets loaded;
  UDPBEAT_ASSIGN_OR_RETURN(loaded.specs, ResolveTargets(opts, args, &loaded.unresolved));
  return loaded;
}

struct TargetFileReader::Shared {
  std::mutex mu;
  std::optional<Result> result;  // set once, by the reading thread
};

namespace {

// What the reading thread owns: its own copy of the options and a share of the result.
// Nothing of the loop's is touched, so the thread may outlive the run.
struct ReadJob {
  ClientOptions opts;
  std::shared_ptr<TargetFileReader::Shared> shared;
};

void* ReadMain(void* arg) {
  std::unique_ptr<ReadJob> job(static_cast<ReadJob*>(arg));
  TargetFileReader::Result r = LoadTargetSpecs(job->opts);
  std::lock_guard<std::mutex> lock(job->shared->mu);
  job->shared->result = std::move(r);
  return nullptr;
}

}  // namespace

absl::StatusOr<bool> TargetFileReader::Start(const ClientOptions& opts) {
  if (pending_ != nullptr) return false;
  auto shared = std::make_shared<Shared>();
  auto job = std::make_unique<ReadJob>(ReadJob{opts, shared});
  // pthread, not std::thread: a thread that cannot be created (RLIMIT_NPROC, memory) is a
  // Status here, where std::thread would throw and end the agent.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  const int rc = ::pthread_create(&thread, &attr, &ReadMain, job.get());
  pthread_attr_destroy(&attr);
  if (rc != 0) return absl::ErrnoToStatus(rc, "start a thread to read the targets file");
  job.release();  // the thread owns it now
  pending_ = std::move(shared);
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
