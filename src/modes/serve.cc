#include "udpbeat/modes/serve.h"

#include <dirent.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <ostream>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_format.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/serve_worker.h"
#include "udpbeat/http/metrics_endpoint.h"
#include "udpbeat/engine/socket_budget.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/proto/stamp_auth.h"
#include "udpbeat/base/output_file.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

int MaxServeThreads() noexcept {
  cpu_set_t set;
  long cpus = 0;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<int>(std::clamp<long>(kServeThreadsPerCpu * cpus, kServeThreadsFloor, 1 << 20));
}

std::string FormatServeCounters(const measure::ServeCounters& c) {
  return absl::StrFormat(
      "received %d, replied %d, dropped %d, malformed %d, send errors %d, kernel drops %d, "
      "rate limited %d, peers %d, peer evictions %d, refused %d, unauthenticated %d",
      c.received, c.replied, c.dropped, c.malformed, c.send_errors, c.kernel_drops,
      c.rate_limited, c.peers, c.peer_evictions, c.refused, c.unauthenticated);
}

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

// Whether `threads` workers fit, before any starts: a clear error now rather than a
// worker failing half-way (or a thread that cannot be created).
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
                          cfg.max_delay_bytes * n;  // cfg's bound is per worker
    if (need > as.rlim_cur) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%d threads need about %d MiB of address space but the limit is %d MiB "
          "(RLIMIT_AS, ulimit -v)",
          threads, need / kMiB, static_cast<uint64_t>(as.rlim_cur) / kMiB));
    }
  }
  return absl::OkStatus();
}

// This host's addresses in IPv6 form (IPv4 mapped), sorted and unique, for the workers'
// own-address rule. Empty when they cannot be listed: loopback and the request's
// destination are recognised anyway.
std::vector<std::array<uint8_t, 16>> HostAddresses() {
  std::vector<std::array<uint8_t, 16>> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    std::array<uint8_t, 16> v{};
    if (i->ifa_addr->sa_family == AF_INET) {
      v[10] = v[11] = 0xff;
      std::memcpy(&v[12], &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      std::memcpy(v.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(v);
  }
  ::freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A thread started with pthread_create, whose failure is a Status (std::thread would
// throw). Not movable: the thread holds `this`.
class WorkerThread {
 public:
  explicit WorkerThread(absl::AnyInvocable<void()> body) : body_(std::move(body)) {}
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;
  ~WorkerThread() { Join(); }

  absl::Status Start() {
    const int rc = ::pthread_create(&thread_, nullptr, &WorkerThread::Main, this);
    if (rc != 0) return absl::ErrnoToStatus(rc, "start a serve thread");
    started_ = true;
    return absl::OkStatus();
  }
  void Join() {
    if (started_) ::pthread_join(thread_, nullptr);
    started_ = false;
  }

 private:
  static void* Main(void* self) {
    static_cast<WorkerThread*>(self)->body_();
    return nullptr;
  }
  absl::AnyInvocable<void()> body_;
  pthread_t thread_{};
  bool started_ = false;
};

// Workers report their setup here; the main thread waits for all of them.
class SetupLatch {
 public:
  void Done(absl::Status st) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!st.ok() && first_error_.ok()) first_error_ = std::move(st);
    ++done_;
    cv_.notify_all();
  }
  absl::Status Wait(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ >= count; });
    return first_error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t done_ = 0;
  absl::Status first_error_;
};

// One worker with its loop (and, except for worker 0, its thread).
struct Worker {
  std::unique_ptr<uring::EventLoop> loop;
  std::unique_ptr<engine::ServeWorker> server;
};

// Worker 0 runs on the main thread and owns signals and the metrics file; it stops the
// other workers' loops when it stops.
class Supervisor final : public uring::SignalHandler, public http::MetricsSource {
 public:
  Supervisor(const ServeOptions& opts, std::vector<Worker>& workers, std::ostream& err)
      : opts_(opts),
        workers_(workers),
        err_(err),
        metrics_timer_(workers[0].loop->timers(), [this] { OnMetricsTimer(); }) {}

  measure::ServeCounters Total() const {
    measure::ServeCounters total;
    for (const Worker& w : workers_) total.Merge(w.server->Snapshot());
    return total;
  }

  // A scrape reads the workers' counters with relaxed atomic loads: it never waits for,
  // or slows, a loop.
  std::string Render() const override { return report::ServeMetrics(Total(), UDPBEAT_VERSION); }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      err_ << FormatServeCounters(Total()) << std::endl;
      return;
    }
    if (signo == SIGHUP) return;
    workers_[0].server->FlushDelayed();
    for (size_t i = 1; i < workers_.size(); ++i) workers_[i].loop->StopFromAnotherThread();
    workers_[0].loop->Stop();
  }

  void StartMetrics() {
    if (opts_.metrics_file.empty()) return;
    OnMetricsTimer();
  }

  void WriteMetrics() {
    if (opts_.metrics_file.empty()) return;
    if (auto st = WriteOutputFile(opts_.metrics_file, report::ServeMetrics(Total(), UDPBEAT_VERSION));
        !st.ok() && !warned_) {
      err_ << "udpbeat: " << st.message() << std::endl;
      warned_ = true;
    }
  }

 private:
  void OnMetricsTimer() {
    WriteMetrics();
    metrics_timer_.ArmAt(workers_[0].loop->clock().Now() + opts_.metrics_period);
  }

  const ServeOptions& opts_;
  std::vector<Worker>& workers_;
  std::ostream& err_;
  Timer metrics_timer_;
  bool warned_ = false;
};

// Creates worker `i`'s loop, socket and server. Runs on the thread that will run the
// loop: a SINGLE_ISSUER ring belongs to the thread that created it.
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

void PrintStatistics(const Supervisor& supervisor, const std::vector<Worker>& workers,
                     std::ostream& out) {
  out << "\n--- udpbeat serve statistics ---\n" << FormatServeCounters(supervisor.Total()) << "\n";
  uint64_t turns = 0, datagrams = 0, submits = 0;
  for (const Worker& w : workers) {
    turns += w.loop->counters().turns;
    datagrams += w.loop->counters().datagrams;
    submits += w.loop->counters().submit_calls;
  }
  out << absl::StrFormat("event loop: %d turns, %.1f datagrams per turn, %d io_uring_enter calls\n",
                         turns, turns > 0 ? static_cast<double>(datagrams) / turns : 0.0, submits);
  if (workers.size() > 1) {
    for (size_t i = 0; i < workers.size(); ++i) {
      const measure::ServeCounters c = workers[i].server->Snapshot();
      out << absl::StrFormat("thread %d: received %d, replied %d\n", i, c.received, c.replied);
    }
  }
  out.flush();
}

}  // namespace

absl::Status RunServe(const ServeOptions& opts, std::ostream& out, std::ostream& err) {
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress local,
                           SocketAddress::ParseNumeric(opts.bind, ServeOptions::kDefaultPort));
  const int threads = opts.threads;
  engine::ServeWorkerConfig cfg = opts.worker;
  // Authenticated mode: one HMAC context, shared read-only by every worker.
  std::unique_ptr<stamp::HmacSha256> hmac;
  if (!opts.auth_key_file.empty()) {
    UDPBEAT_ASSIGN_OR_RETURN(AuthKey key, LoadAuthKey(opts.auth_key_file));
    hmac = std::make_unique<stamp::HmacSha256>(key);
    cfg.hmac = hmac.get();
  }
  // One bound for the whole server, shared evenly: a source always meets the same worker.
  cfg.max_delay_bytes = std::max<uint64_t>(opts.worker.max_delay_bytes / std::max(threads, 1), 1);
  UDPBEAT_RETURN_IF_ERROR(CheckResources(threads, cfg));
  UdpSocketOptions so;
  so.receive_buffer = opts.receive_buffer;
  so.send_buffer = opts.receive_buffer;
  so.reuse_port = threads > 1;
  // The lab's echo needs neither receive time nor TTL; every other mode does.
  so.receive_metadata = opts.worker.reply != ReplyMode::kEcho;
  // Bound to a wildcard address, a reply must leave from the address its request was
  // sent to (a VIP, an anycast or secondary address): the client's connected socket
  // drops a reply from any other.
  cfg.reply_from_destination = IsWildcard(local);
  so.receive_destination = cfg.reply_from_destination;
  cfg.host_addresses = HostAddresses();
  std::vector<Worker> workers(threads);
  UDPBEAT_RETURN_IF_ERROR(SetUpWorker(cfg, local, so, 0, workers[0]));
  // Port 0 picks a port once; the other threads' sockets join it with SO_REUSEPORT.
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress bound, LocalAddress(workers[0].loop->fd(0)));

  std::vector<absl::Status> results(threads);
  std::vector<std::unique_ptr<WorkerThread>> pool;
  SetupLatch latch;
  absl::Status setup;
  for (int i = 1; i < threads; ++i) {
    auto t = std::make_unique<WorkerThread>([&, i] {
      absl::Status st = SetUpWorker(cfg, bound, so, i, workers[i]);
      const bool ok = st.ok();
      latch.Done(std::move(st));
      if (!ok) return;
      results[i] = workers[i].loop->Run();
      workers[i].server->FlushDelayed();
      if (results[i].ok()) results[i] = workers[i].loop->Drain();
    });
    setup = t->Start();
    if (!setup.ok()) break;
    pool.push_back(std::move(t));
  }
  // Every started thread reports once, whatever happens to the others.
  if (absl::Status st = latch.Wait(pool.size()); setup.ok()) setup = st;
  if (!setup.ok()) {
    // Every worker that set up is running or about to run its loop, whose remote stop
    // is armed: stop them all and wait for them, so nothing outlives the error.
    for (int i = 1; i < threads; ++i)
      if (workers[i].server != nullptr) workers[i].loop->StopFromAnotherThread();
    pool.clear();  // joins
    return setup;
  }
  Supervisor supervisor(opts, workers, err);
  std::unique_ptr<http::MetricsEndpoint> endpoint;
  if (!opts.metrics_listen.empty()) {
    absl::StatusOr<SocketAddress> listen = SocketAddress::ParseNumeric(opts.metrics_listen, 0);
    absl::StatusOr<std::unique_ptr<http::MetricsEndpoint>> started =
        listen.ok() ? http::MetricsEndpoint::Start(*listen, supervisor)
                    : absl::StatusOr<std::unique_ptr<http::MetricsEndpoint>>(listen.status());
    if (!started.ok()) {
      for (int i = 1; i < threads; ++i) workers[i].loop->StopFromAnotherThread();
      pool.clear();  // joins
      return started.status();
    }
    endpoint = std::move(*started);
  }
  workers[0].loop->SetSignalHandler(&supervisor);
  supervisor.StartMetrics();
  if (!opts.quiet) {
    out << "udpbeat serve: listening on " << bound.ToString() << " (reply "
        << ReplyModeName(opts.worker.reply)
        << (threads > 1 ? absl::StrFormat(", %d threads", threads) : "") << ")" << std::endl;
  }
  results[0] = workers[0].loop->Run();
  for (size_t i = 1; i < workers.size(); ++i) workers[i].loop->StopFromAnotherThread();
  pool.clear();  // joins
  endpoint.reset();
  supervisor.WriteMetrics();
  for (const absl::Status& s : results) UDPBEAT_RETURN_IF_ERROR(s);
  if (!opts.quiet) PrintStatistics(supervisor, workers, out);
  return absl::OkStatus();
}

}  // namespace udpbeat
