// `udpbeat serve`: the UDP responder (the lab's echo and heartbeat replies, an RFC 8762
// STAMP session-reflector).
#ifndef UDPBEAT_MODES_SERVE_H_
#define UDPBEAT_MODES_SERVE_H_

#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "udpbeat/engine/serve_worker.h"
#include "udpbeat/measure/serve_counters.h"

namespace udpbeat {

// The bound of the thread count: kServeThreadsPerCpu per CPU this process may run on
// (sched_getaffinity, what nproc prints), and never below kServeThreadsFloor. Each
// thread holds 3 descriptors and maps about 100 MiB of address space (its receive
// buffers, rings, stack and malloc arena); more threads than CPUs only add contention.
inline constexpr int kServeThreadsPerCpu = 4;
inline constexpr int kServeThreadsFloor = 4;
int MaxServeThreads() noexcept;

struct ServeOptions {
  static constexpr const char* kDefaultBind = "0.0.0.0:12000";
  static constexpr uint16_t kDefaultPort = 12000;  // when the bind address gives none
  static constexpr int kDefaultReceiveBuffer = 8 << 20;

  std::string bind = kDefaultBind;
  engine::ServeWorkerConfig worker;
  bool quiet = false;
  int receive_buffer = kDefaultReceiveBuffer;
  int threads = 1;                  // one event loop and SO_REUSEPORT socket per thread,
                                    // 1 to MaxServeThreads()
  std::string metrics_file;         // Prometheus textfile, rewritten every metrics_period
  std::string metrics_listen;       // GET /metrics on this ADDR:PORT ("" = none)
  Nanos metrics_period = 5 * kNanosPerSecond;
  std::string auth_key_file;        // STAMP authenticated mode: answer only verified packets
};

// Binds, prints "udpbeat serve: listening on ADDR (reply MODE)" to `out` (unless quiet),
// and answers until SIGINT/SIGTERM, then prints the counters; SIGQUIT prints them to
// `err` and carries on. For each STAMP request T2 is the kernel's receive timestamp and
// T3 is written just before the loop turn's one submit (microseconds before the reply
// leaves). opts.worker.max_delay_bytes bounds all workers' delayed replies together.
// Before any thread starts, the thread count is checked against MaxServeThreads()
// (InvalidArgument) and the descriptors and address space the workers need against
// RLIMIT_NOFILE, raised to its hard limit, and RLIMIT_AS (ResourceExhausted); a worker
// that still fails to start stops and joins the started ones before the error returns.
// Errors: those, InvalidArgument for an authentication key with a reply mode that can
// never honour it (echo, heartbeat: authenticated mode answers only STAMP), and
// bind/setup failures (e.g. "bind 0.0.0.0:12000: Address already in use").
absl::Status RunServe(const ServeOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace udpbeat

#endif  // UDPBEAT_MODES_SERVE_H_
