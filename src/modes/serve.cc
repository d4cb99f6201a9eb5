#include "udpbeat/modes/serve.h"

#include <ostream>
#include <future>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/serve_worker.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/report/metrics_file.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {


std::string FormatServeCounters(const ServeCounters& c) {
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
  std::unique_ptr<ServeWorker> server;
};

// Worker 0 runs on the main thread and owns signals and the metrics file; it stops the
// other workers' loops when it stops.
class Supervisor final : public uring::SignalHandler, public TimerHandler {
 public:
  Supervisor(const ServeOptions& opts, std::vector<Worker>& workers, std::ostream& err)
      : opts_(opts), workers_(workers), err_(err) {}

  ServeCounters Total() const {
    ServeCounters total;
    for (const Worker& w : workers_) total.Merge(w.server->Snapshot());
    return total;
  }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      err_ << FormatServeCounters(Total()) << std::endl;
      return;
    }
    workers_[0].server->FlushDelayed();
    for (size_t i = 1; i < workers_.size(); ++i) workers_[i].loop->StopFromAnotherThread();
    workers_[0].loop->Stop();
  }

  void OnTimer(uint64_t) noexcept override {
    WriteMetrics();
    workers_[0].loop->ScheduleAt(workers_[0].loop->clock().Now() + opts_.metrics_period, this);
  }

  void WriteMetrics() {
    if (opts_.metrics_file.empty()) return;
    const ServeCounters c = Total();
    MetricsText m;
    const MetricLabels none;
    const auto counter = [&](const char* name, const char* help, uint64_t v) {
      m.Family(name, "counter", help);
      m.Sample(name, none, static_cast<double>(v));
    };
    counter("udpbeat_serve_received_total", "Datagrams read.", c.received);
    counter("udpbeat_serve_replied_total", "Replies sent.", c.replied);
    counter("udpbeat_serve_dropped_total", "Requests dropped by the loss simulation.", c.dropped);
    counter("udpbeat_serve_malformed_total", "Datagrams that could not be answered.",
            c.malformed);
    counter("udpbeat_serve_rate_limited_total", "Requests over their source's --max-rate.",
            c.rate_limited);
    counter("udpbeat_serve_send_errors_total", "Replies the kernel refused.", c.send_errors);
    counter("udpbeat_serve_kernel_drops_total", "Datagrams the kernel dropped (buffer full).",
            c.kernel_drops);
    counter("udpbeat_serve_peer_evictions_total", "Peers forgotten because the table was full.",
            c.peer_evictions);
    m.Family("udpbeat_serve_peers", "gauge", "Peers in the per-peer tables.");
    m.Sample("udpbeat_serve_peers", none, static_cast<double>(c.peers));
    if (auto st = WriteFileAtomically(opts_.metrics_file, m.text()); !st.ok() && !warned_) {
      err_ << "udpbeat: " << st.message() << std::endl;
      warned_ = true;
    }
  }

 private:
  const ServeOptions& opts_;
  std::vector<Worker>& workers_;
  std::ostream& err_;
  bool warned_ = false;
};

}  // namespace

namespace {

// Creates worker `i`'s loop, socket and server. Runs on the thread that will run the
// loop: a SINGLE_ISSUER ring belongs to the thread that created it.
absl::Status SetUpWorker(const ServeOptions& opts, const SocketAddress& addr,
                         const UdpSocketOptions& so, int i, Worker& w) {
  uring::LoopOptions lo;
  lo.max_datagram = opts.max_datagram;
  lo.receive_buffers = 512;
  lo.handle_signals = i == 0;
  UDPBEAT_ASSIGN_OR_RETURN(w.loop, uring::EventLoop::Create(lo, SystemClock::Get()));
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, BindUdp(addr, so));
  w.server = std::make_unique<ServeWorker>(opts, *w.loop, i);
  UDPBEAT_RETURN_IF_ERROR(w.loop->AddSocket(std::move(fd), w.server.get()).status());
  if (i > 0) UDPBEAT_RETURN_IF_ERROR(w.loop->EnableRemoteStop());
  w.loop->SetPreSubmitHook(w.server.get());
  w.server->StartTimers();
  return absl::OkStatus();
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
  so.receive_metadata = opts.reply != ReplyMode::kEcho;
  std::vector<Worker> workers(threads);
  UDPBEAT_RETURN_IF_ERROR(SetUpWorker(opts, local, so, 0, workers[0]));
  // Port 0 picks a port once; the other threads' sockets join it with SO_REUSEPORT.
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress bound, LocalAddress(workers[0].loop->fd(0)));

  std::vector<std::thread> pool;
  std::vector<absl::Status> results(threads);
  std::vector<std::promise<absl::Status>> ready(threads);
  for (int i = 1; i < threads; ++i) {
    pool.emplace_back([&, i] {
      absl::Status st = SetUpWorker(opts, bound, so, i, workers[i]);
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
  Supervisor supervisor(opts, workers, err);
  if (!setup.ok()) {
    for (int i = 1; i < threads; ++i)
      if (workers[i].loop != nullptr) workers[i].loop->StopFromAnotherThread();
    for (std::thread& t : pool) t.join();
    return setup;
  }
  workers[0].loop->SetSignalHandler(&supervisor);
  if (!opts.metrics_file.empty()) supervisor.OnTimer(0);
  if (!opts.quiet) {
    out << "udpbeat serve: listening on " << bound.ToString() << " (reply "
        << ReplyModeName(opts.reply) << (threads > 1 ? absl::StrFormat(", %d threads", threads) : "")
        << ")" << std::endl;
  }
  results[0] = workers[0].loop->Run();
  for (size_t i = 1; i < workers.size(); ++i) workers[i].loop->StopFromAnotherThread();
  for (std::thread& t : pool) t.join();
  supervisor.WriteMetrics();
  for (const absl::Status& s : results) UDPBEAT_RETURN_IF_ERROR(s);
  if (!opts.quiet) {
    out << "\n--- udpbeat serve statistics ---\n" << FormatServeCounters(supervisor.Total()) << "\n";
    uint64_t turns = 0, datagrams = 0, submits = 0;
    for (const Worker& w : workers) {
      turns += w.loop->counters().turns;
      datagrams += w.loop->counters().datagrams;
      submits += w.loop->counters().submit_calls;
    }
    out << absl::StrFormat("event loop: %d turns, %.1f datagrams per turn, %d io_uring_enter calls\n",
                           turns, turns > 0 ? static_cast<double>(datagrams) / turns : 0.0, submits);
    if (threads > 1) {
      for (int i = 0; i < threads; ++i) {
        const ServeCounters c = workers[i].server->Snapshot();
        out << absl::StrFormat("thread %d: received %d, replied %d\n", i, c.received, c.replied);
      }
    }
    out.flush();
  }
  return absl::OkStatus();
}

}  // namespace udpbeat
