// The workers of `udpbeat serve`: one event loop, socket and ServeWorker each, the checks
// that they fit before any starts, and the threads that run them. Private to the modes
// library.
#ifndef UDPBEAT_SRC_MODES_SERVE_WORKERS_H_
#define UDPBEAT_SRC_MODES_SERVE_WORKERS_H_

#include <pthread.h>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "udpbeat/engine/serve_worker.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat::serve_workers {

// Whether `threads` workers fit, before any starts: the thread bound (InvalidArgument),
// descriptors against RLIMIT_NOFILE raised to its hard limit, and address space against
// RLIMIT_AS (ResourceExhausted) — a clear error now rather than a worker failing
// half-way (or a thread that cannot be created).
absl::Status CheckResources(int threads, const engine::ServeWorkerConfig& cfg);

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

// Creates worker `i`'s loop, socket and server. Runs on the thread that will run the
// loop: a SINGLE_ISSUER ring belongs to the thread that created it.
absl::Status SetUpWorker(const engine::ServeWorkerConfig& cfg, const SocketAddress& addr,
                         const UdpSocketOptions& so, int i, Worker& w);

}  // namespace udpbeat::serve_workers

#endif  // UDPBEAT_SRC_MODES_SERVE_WORKERS_H_
