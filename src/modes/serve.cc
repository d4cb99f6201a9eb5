#include "udpbeat/modes/serve.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <ostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "serve_supervisor.h"
#include "serve_workers.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/http/metrics_endpoint.h"
#include "udpbeat/net/host_addresses.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/proto/stamp_auth.h"
#include "udpbeat/report/serve_text.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

using serve_workers::Supervisor;
using serve_workers::Worker;
using serve_workers::WorkerThread;

absl::Status RunServe(const ServeOptions& opts, std::ostream& out, std::ostream& err) {
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress local,
                           SocketAddress::ParseNumeric(opts.bind, ServeOptions::kDefaultPort));
  const int threads = opts.threads;
  if (!opts.auth_key_file.empty() && !TakesAuthKey(opts.worker.reply)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "authenticated mode answers only STAMP, not in reply mode ",
        AbslView(ReplyModeName(opts.worker.reply))));
  }
  engine::ServeWorkerConfig cfg = opts.worker;
  // Authenticated mode: one HMAC context, shared read-only by every worker.
  std::unique_ptr<stamp::HmacSha256> hmac;
  if (!opts.auth_key_file.empty()) {
    UDPBEAT_ASSIGN_OR_RETURN(AuthKey key, LoadAuthKey(opts.auth_key_file));
    hmac = std::make_unique<stamp::HmacSha256>(key);
    cfg.hmac = hmac.get();
  }
  // One bound for the whole server, one tally every worker charges.
  std::atomic<uint64_t> delay_pool{0};
  cfg.delay_pool = &delay_pool;
  UDPBEAT_RETURN_IF_ERROR(serve_workers::CheckResources(threads, cfg));
  UdpSocketOptions so;
  so.receive_buffer = opts.receive_buffer;
  so.send_buffer = opts.receive_buffer;
  so.reuse_port = threads > 1;
  // The lab's echo needs neither receive time nor TTL; every other mode does.
  so.receive_metadata = opts.worker.reply != ReplyMode::kEcho;
  // Every mode's replies keep their request's DSCP (ServeWorker), so it reads the TOS.
  so.receive_tos = true;
  // Bound to a wildcard address, a reply must leave from the address its request was
  // sent to (a VIP, an anycast or secondary address): the client's connected socket
  // drops a reply from any other.
  cfg.reply_from_destination = IsWildcard(local);
  so.receive_destination = cfg.reply_from_destination;
  cfg.host_addresses = HostAddresses();
  cfg.broadcast_addresses = HostBroadcastAddresses();
  std::vector<Worker> workers(threads);
  UDPBEAT_RETURN_IF_ERROR(serve_workers::SetUpWorker(cfg, local, so, 0, workers[0]));
  // Port 0 picks a port once; the other threads' sockets join it with SO_REUSEPORT.
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress bound, LocalAddress(workers[0].loop->fd(0)));

  std::vector<absl::Status> results(threads);
  std::vector<std::unique_ptr<WorkerThread>> pool;
  serve_workers::SetupLatch latch;
  absl::Status setup;
  for (int i = 1; i < threads; ++i) {
    auto t = std::make_unique<WorkerThread>([&, i] {
      absl::Status st = serve_workers::SetUpWorker(cfg, bound, so, i, workers[i]);
      const bool ok = st.ok();
      latch.Done(std::move(st));
      if (!ok) return;
      results[i] = workers[i].loop->Run();
      workers[i].server->FlushDelayed();
      if (results[i].ok()) results[i] = workers[i].loop->Drain();
      // Drops since the last datagram this worker read, or its last sweep.
      workers[i].server->RefreshKernelDrops();
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
    absl::StatusOr<SocketAddress> listen = http::ParseListenAddress(opts.metrics_listen);
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
    out << report::ListeningLine(bound.ToString(), ReplyModeName(opts.worker.reply), threads)
        << std::endl;
  }
  results[0] = workers[0].loop->Run();
  // The closing counters and metrics include every drop up to the end, not only those
  // a later datagram told of.
  workers[0].server->RefreshKernelDrops();
  for (size_t i = 1; i < workers.size(); ++i) workers[i].loop->StopFromAnotherThread();
  pool.clear();  // joins
  endpoint.reset();
  const absl::Status metrics = supervisor.WriteMetrics();
  for (const absl::Status& s : results) UDPBEAT_RETURN_IF_ERROR(s);
  if (!opts.quiet) supervisor.PrintStatistics(out);
  return metrics;
}

}  // namespace udpbeat
