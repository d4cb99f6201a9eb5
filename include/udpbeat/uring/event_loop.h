// The one event loop every mode runs on: io_uring with a provided-buffer ring.
//
//  * Receives: one multishot recvmsg per socket, buffers from a shared BufferRing, so one
//    armed request serves many datagrams; each datagram comes with its kernel receive
//    timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME), the sender's TTL/hop limit and the
//    socket's kernel drop counter (SO_RXQ_OVFL).
//  * Sends: Send() only queues an SQE (payload copied into a send slot); every send
//    queued during one loop turn reaches the kernel in the one io_uring_enter that also
//    waits for the next completions.
//  * Timers: a TimerQueue; the wait is bounded by the next deadline.
//  * Signals: SIGINT, SIGTERM and SIGQUIT are blocked and read from a signalfd through
//    the ring, so handlers run on the loop thread like everything else.
//
// Thread: one loop per thread; everything but Create runs on the thread that calls Run.
// Handlers are borrowed and must outlive the loop (or their socket).
#ifndef UDPBEAT_URING_EVENT_LOOP_H_
#define UDPBEAT_URING_EVENT_LOOP_H_

#include <sys/signalfd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "udpbeat/base/unique_fd.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/time/clock.h"
#include "udpbeat/time/timer_queue.h"
#include "udpbeat/uring/buffer_ring.h"
#include "udpbeat/uring/ring.h"

namespace udpbeat::uring {

using SocketId = uint32_t;

// One received datagram; valid only during the OnDatagram call.
struct Datagram {
  SocketId socket = 0;
  const SocketAddress* from = nullptr;
  std::span<const uint8_t> payload;
  WallTime rx_wall;        // kernel receive timestamp; 0 when the kernel gave none
  MonoTime loop_mono;      // monotonic time sampled when this loop turn woke
  WallTime loop_wall;      // realtime sampled at the same moment
  bool truncated = false;  // larger than the receive buffer (MSG_TRUNC): payload is partial
  int ttl = -1;            // IP TTL or IPv6 hop limit of the datagram; -1 unknown
};

class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  virtual void OnDatagram(const Datagram& d) noexcept = 0;
  // A receive completed with -errno. ECONNREFUSED on a connected socket means an ICMP
  // port unreachable came back. The loop re-arms the receive itself.
  virtual void OnReceiveError(SocketId, int /*error*/) noexcept {}
  // A queued send failed with -errno (ECONNREFUSED, ENOBUFS, EMSGSIZE, ...).
  virtual void OnSendError(SocketId, int /*error*/) noexcept {}
};

// Called right before queued requests go to the kernel (each io_uring_enter that
// submits), with the time then: lets a handler write a transmit timestamp (STAMP's T3)
// into datagrams it queued during the turn, as close to their departure as user space
// can. Slot buffers returned to SendWith's `fill` stay writable until then.
class PreSubmitHook {
 public:
  virtual ~PreSubmitHook() = default;
  virtual void BeforeSubmit(WallTime now) noexcept = 0;
};

class SignalHandler {
 public:
  virtual ~SignalHandler() = default;
  virtual void OnSignal(int signo) noexcept = 0;
};

struct LoopOptions {
  RingOptions ring;
  unsigned receive_buffers = 1024;   // power of two
  size_t max_datagram = 2048;        // payload bytes a receive buffer holds
  unsigned max_pending_sends = 4096; // send slots; beyond it Send() flushes first
  bool handle_signals = true;        // SIGINT/SIGTERM/SIGQUIT via signalfd
};

struct LoopCounters {
  uint64_t turns = 0;
  uint64_t submit_calls = 0;     // io_uring_enter calls that submitted or waited
  uint64_t sqes_submitted = 0;
  uint64_t recv_arms = 0;        // multishot recvmsg requests armed (first + re-arms)
  uint64_t datagrams = 0;
  uint64_t sends_queued = 0;
  uint64_t sends_completed = 0;
  uint64_t send_errors = 0;
  uint64_t no_buffers = 0;       // -ENOBUFS: the buffer ring ran dry (datagram stays queued)
  uint64_t kernel_drops = 0;     // SO_RXQ_OVFL: dropped by the kernel, socket buffer full
};

class EventLoop {
 public:
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(const LoopOptions& opts,
                                                          const Clock& clock);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Takes the socket and arms its multishot receive (submitted with the next turn).
  absl::StatusOr<SocketId> AddSocket(UniqueFd fd, DatagramHandler* handler);
  int fd(SocketId s) const { return sockets_[s].fd.get(); }

  // Queues one datagram (copied) to `to`, or to the connected peer when `to` is null.
  // Returns false only when the datagram could not be queued (it is then counted as a
  // send error and reported through OnSendError with -ENOBUFS).
  bool Send(SocketId s, const SocketAddress* to, std::span<const uint8_t> payload) noexcept;
  // Like Send, but `fill` writes the datagram (at most `max_len` bytes) straight into
  // the send slot and returns its length, or -1 to send nothing: no intermediate copy.
  // `fill` must not call Send or SendWith.
  bool SendWith(SocketId s, const SocketAddress* to, size_t max_len,
                absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) noexcept;

  TimerId ScheduleAt(MonoTime when, TimerHandler* handler, uint64_t cookie = 0) {
    return timers_.Schedule(when, handler, cookie);
  }
  void CancelTimer(TimerId id) { timers_.Cancel(id); }

  void SetSignalHandler(SignalHandler* h) noexcept { signal_handler_ = h; }
  void SetPreSubmitHook(PreSubmitHook* h) noexcept { pre_submit_ = h; }

  // Runs turns until Stop(); then sends everything still queued and waits (bounded) for
  // those sends to complete.
  absl::Status Run();
  // Submits what is queued and waits (at most 200 ms) for queued sends to complete.
  absl::Status Drain();
  // One turn: submit what is queued, wait up to `max_wait` (or the next timer) for
  // completions, handle them, fire due timers. Used by Run and by tests.
  absl::Status RunOnce(Nanos max_wait);
  void Stop() noexcept { stop_ = true; }
  // Lets another thread stop this loop: arms a read on an eventfd (call before Run).
  absl::Status EnableRemoteStop();
  // Thread-safe: wakes the loop, which then stops as if Stop() were called.
  void StopFromAnotherThread() noexcept;
  bool stopping() const noexcept { return stop_; }

  const Clock& clock() const noexcept { return clock_; }
  const LoopCounters& counters() const noexcept { return counters_; }
  unsigned ring_flags() const noexcept { return ring_->setup_flags(); }

 private:
  enum class Op : uint8_t { kRecv = 1, kSend = 2, kSignal = 3, kWake = 4, kTimer = 5,
                            kTimerUpdate = 6 };
  struct Socket {
    UniqueFd fd;
    DatagramHandler* handler = nullptr;
    uint32_t last_drop_count = 0;
    bool armed = false;
  };
  struct SendSlot;

  EventLoop(const LoopOptions& opts, const Clock& clock);
  absl::Status Init();
  io_uring_sqe* GetSqe() noexcept;
  void ArmReceive(SocketId s) noexcept;
  void ArmSignalRead() noexcept;
  void HandleCqe(const io_uring_cqe* cqe) noexcept;
  void HandleReceive(SocketId s, const io_uring_cqe* cqe) noexcept;
  void HandleSend(uint32_t slot, int res) noexcept;
  int SubmitAndWait(Nanos max_wait, unsigned wait_nr) noexcept;
  void ReapCompletions() noexcept;
  void FinishTurn() noexcept;
  void BeforeSubmit() noexcept;
  void ArmLoopTimer(MonoTime deadline) noexcept;
  void DrainCq() noexcept;

  LoopOptions opts_;
  const Clock& clock_;
  std::unique_ptr<Ring> ring_;
  std::unique_ptr<BufferRing> buffers_;  // after ring_: destroyed (unregistered) first
  msghdr recv_template_{};
  std::vector<Socket> sockets_;
  std::vector<SendSlot> send_slots_;
  std::vector<uint32_t> free_send_slots_;
  TimerQueue timers_;
  UniqueFd signal_fd_;
  UniqueFd wake_fd_;
  uint64_t wake_value_ = 0;
  std::atomic<bool> remote_stop_{false};
  signalfd_siginfo signal_info_{};
  SignalHandler* signal_handler_ = nullptr;
  PreSubmitHook* pre_submit_ = nullptr;
  LoopCounters counters_;
  MonoTime turn_mono_;
  WallTime turn_wall_;
  unsigned pending_sqes_ = 0;
  bool stop_ = false;
  bool draining_ = false;
  bool send_with_address_ = true;
  __kernel_timespec timer_ts_{};
  bool timer_armed_ = false;
  MonoTime timer_deadline_;
};

}  // namespace udpbeat::uring

#endif  // UDPBEAT_URING_EVENT_LOOP_H_
