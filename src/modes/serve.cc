#include "udpbeat/modes/serve.h"

#include <signal.h>

#include <future>
#include <ostream>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/serve_worker.h"
#include "udpbeat/http/metrics_endpoint.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/base/output_file.h"
#include "udpbeat/report/prometheus_text.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

std::string FormatServeCounters(const measure::ServeCounters& c) {
  return absl::StrFormat(
      "received %d, replied %d, dropped %d, malformed %d, send errors %d, kernel drops %d, "
      "rate limited %d, peers %d, peer evictions %d",
      c.received, c.replied, c.dropped, c.malformed, c.send_errors, c.kernel_drops,
      c.rate_limited, c.peers, c.peer_evictions);
}

namespace {

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
absl::Status SetUpWorker(const engine::ServeWorkerConfig& cfg, const SocketAddress& addr, const UdpSocketOptions& so, int i,
                         Worker& w) {
  uring::LoopOptions lo;
  lo.max_datagram = cfg.max_datagram;
  lo.receive_buffers = 512;
  lo.handle_signals = i == 0;
  UDPBEAT_ASSIGN_OR_RETURN(w.loop, uring::EventLoop::Create(lo, SystemClock::Get()));
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, BindUdp(addr, so));
  w.server = std::make_unique<engine::ServeWorker>(cfg, *w.loop, static_cast<uint64_t>(i));
  UDPBEAT_RETURN_IF_ERROR(w.loop->AddSocket(std::move(fd), w.server.get()).status());
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
  const int threads = std::max(opts.threads, 1);
  UdpSocketOptions so;
  so.receive_buffer = opts.receive_buffer;
  so.send_buffer = opts.receive_buffer;
  so.reuse_port = threads > 1;
  // The lab's echo needs neither receive time nor TTL; every other mode does.
  so.receive_metadata = opts.worker.reply != ReplyMode::kEcho;
  // Bound to a wildcard address, a reply must leave from the address its request was
  // sent to (a VIP, an anycast or secondary address): the client's connected socket
  // drops a reply from any other.
  engine::ServeWorkerConfig cfg = opts.worker;
  cfg.reply_from_destination = IsWildcard(local);
  so.receive_destination = cfg.reply_from_destination;
  std::vector<Worker> workers(threads);
  UDPBEAT_RETURN_IF_ERROR(SetUpWorker(cfg, local, so, 0, workers[0]));
  // Port 0 picks a port once; the other threads' sockets join it with SO_REUSEPORT.
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress bound, LocalAddress(workers[0].loop->fd(0)));

  std::vector<std::thread> pool;
  std::vector<absl::Status> results(threads);
  std::vector<std::promise<absl::Status>> ready(threads);
  for (int i = 1; i < threads; ++i) {
    pool.emplace_back([&, i] {
      absl::Status st = SetUpWorker(cfg, bound, so, i, workers[i]);
      const bool ok = st.ok();
      ready[i].set_value(std::move(st));
      if (!ok) return;
      results[i] = workers[i].loop->Run();
      workers[i].server->FlushDelayed();
      if (results[i].ok()) results[i] = workers[i].loop->Drain();
    });
  }
  absl::Status setup;
  for (int i = 1; i < threads; ++i) {
    absl::Status st = ready[i].get_future().get();
    if (setup.ok() && !st.ok()) setup = st;
  }
  if (!setup.ok()) {
    for (int i = 1; i < threads; ++i)
      if (workers[i].loop != nullptr) workers[i].loop->StopFromAnotherThread();
    for (std::thread& t : pool) t.join();
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
      for (std::thread& t : pool) t.join();
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
  for (std::thread& t : pool) t.join();
  endpoint.reset();
  supervisor.WriteMetrics();
  for (const absl::Status& s : results) UDPBEAT_RETURN_IF_ERROR(s);
  if (!opts.quiet) PrintStatistics(supervisor, workers, out);
  return absl::OkStatus();
}

}  // namespace udpbeat
