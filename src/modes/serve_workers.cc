#include "serve_workers.h"

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/socket_budget.h"
#include "udpbeat/modes/serve.h"

namespace udpbeat {

int MaxServeThreads() noexcept {
  cpu_set_t set;
  long cpus = 0;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<int>(std::clamp<long>(kServeThreadsPerCpu * cpus, kServeThreadsFloor, 1 << 20));
}

namespace serve_workers {
namespace {

// Receive buffers of each worker's loop, each holding the largest datagram.
constexpr unsigned kReceiveBuffers = 512;
// Descriptors one worker holds: its ring, its socket, and the eventfd that stops it
// (worker 0: the signalfd).
constexpr uint64_t kFdsPerWorker = 3;
// Address space one worker maps besides its receive buffers and stack: the rings (SQ,
// CQ, SQEs, the buffer ring), and the malloc arena glibc reserves for each new thread.
constexpr uint64_t kWorkerRingBytes = uint64_t{1} << 20;
constexpr uint64_t kArenaBytes = uint64_t{64} << 20;
constexpr uint64_t kMiB = uint64_t{1} << 20;

uint64_t WorkerAddressSpace(const engine::ServeWorkerConfig& cfg) {
  // Each buffer also holds the recvmsg header, the source address and control messages.
  const uint64_t buffers = uint64_t{kReceiveBuffers} * (cfg.max_datagram + 512);
  rlimit st{};
  const uint64_t stack = ::getrlimit(RLIMIT_STACK, &st) == 0 && st.rlim_cur != RLIM_INFINITY
                             ? st.rlim_cur
                             : 8 * kMiB;
  return buffers + kWorkerRingBytes + stack + kArenaBytes;
}

// The process's address space now (/proc/self/statm's first field, in pages).
uint64_t AddressSpaceNow() {
  std::FILE* f = std::fopen("/proc/self/statm", "re");
  if (f == nullptr) return 0;
  unsigned long long pages = 0;
  if (std::fscanf(f, "%llu", &pages) != 1) pages = 0;
  std::fclose(f);
  return pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Descriptors open now (inherited ones too), from /proc/self/fd.
uint64_t OpenFilesNow() {
  uint64_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    if (n > 0) --n;  // the directory's own descriptor
  }
  return n;
}

}  // namespace

absl::Status CheckResources(int threads, const engine::ServeWorkerConfig& cfg) {
  const int max_threads = MaxServeThreads();
  if (threads < 1 || threads > max_threads) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d threads is out of range: 1 to %d (%d per CPU, at least %d)", threads, max_threads,
        kServeThreadsPerCpu, kServeThreadsFloor));
  }
  const uint64_t n = static_cast<uint64_t>(threads);
  const uint64_t files = engine::RaiseFileLimit();
  const uint64_t need_files = OpenFilesNow() + n * kFdsPerWorker + engine::kReservedFds;
  if (need_files > files) {
    const uint64_t other = need_files - n * kFdsPerWorker;
    const uint64_t fit = files > other ? (files - other) / kFdsPerWorker : 0;
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%d threads need %d open files but the limit is %d (RLIMIT_NOFILE, raised to its "
        "hard limit): %s",
        threads, need_files, files,
        fit > 0 ? absl::StrFormat("use %d threads or fewer, or raise it (ulimit -n)", fit)
                : std::string("raise it (ulimit -n)")));
  }
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    const uint64_t need = AddressSpaceNow() + n * WorkerAddressSpace(cfg) +
                          cfg.max_delay_bytes;  // the bound is the whole server's
    if (need > as.rlim_cur) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%d threads need about %d MiB of address space but the limit is %d MiB "
          "(RLIMIT_AS, ulimit -v)",
          threads, need / kMiB, static_cast<uint64_t>(as.rlim_cur) / kMiB));
    }
  }
  return absl::OkStatus();
}

absl::Status SetUpWorker(const engine::ServeWorkerConfig& cfg, const SocketAddress& addr,
                         const UdpSocketOptions& so, int i, Worker& w) {
  uring::LoopOptions lo;
  lo.max_datagram = cfg.max_datagram;
  lo.receive_buffers = kReceiveBuffers;
  lo.handle_signals = i == 0;
  UDPBEAT_ASSIGN_OR_RETURN(w.loop, uring::EventLoop::Create(lo, SystemClock::Get()));
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, BindUdp(addr, so));
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress local, LocalAddress(fd.get()));
  w.server =
      std::make_unique<engine::ServeWorker>(cfg, *w.loop, static_cast<uint64_t>(i), local);
  UDPBEAT_ASSIGN_OR_RETURN(SocketId sid, w.loop->AddSocket(std::move(fd), w.server.get()));
  w.server->WatchSocket(sid);
  // A stateful reflector reports each session's previous reply's exact send time (RFC
  // 8972 follow-up telemetry): the kernel stamps the replies that will be reported.
  // Without kernel timestamps it reports nothing, which senders handle.
  if (cfg.stamp_stateful)
    (void)w.loop->EnableTransmitTimestamps(sid, uring::TransmitTimestamps::kAsked);
  if (i > 0) UDPBEAT_RETURN_IF_ERROR(w.loop->EnableRemoteStop());
  w.loop->SetPreSubmitHook(w.server.get());
  w.server->StartTimers();
  return absl::OkStatus();
}

}  // namespace serve_workers
}  // namespace udpbeat
