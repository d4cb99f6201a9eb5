// The one event loop every mode runs on: io_uring with a provided-buffer ring. This header
// shows no liburing type (the ring lives in the implementation), so the layers above see
// a plain interface.
//
//  * Receives: one multishot recvmsg per socket, buffers from a shared BufferRing, so one
//    armed request serves many datagrams; each datagram comes with its kernel receive
//    timestamp, TTL/hop limit, TOS, destination address (IP_PKTINFO) and the socket's
//    kernel drop counter (SO_RXQ_OVFL).
//  * Sends: SendWith() queues an SQE whose payload `fill` writes straight into a send
//    slot, with a per-datagram source address, TOS or timestamp request; every send
//    queued during one turn reaches the kernel in the one io_uring_enter that also
//    waits for the next completions. Failures reach the socket's handler through one
//    channel, OnSendError, with the datagram's tag.
//  * Transmit timestamps (optional per socket): the kernel's software send time of each
//    datagram, read from the socket's error queue through the ring.
//  * Timers: the loop's TimerQueue; its earliest deadline is one armed IORING_OP_TIMEOUT.
//  * Signals: SIGINT, SIGTERM, SIGQUIT and SIGHUP are blocked and read from a signalfd
//    through the ring, so handlers run on the loop thread like everything else.
//
// Every operation's completion goes to the completion handler registered for its op code;
// the packed user_data (op, generation, slot) carries no pointer, so a stale completion
// for a reused slot is recognised and dropped.
//
// Thread: one loop per thread; everything but Create and StopFromAnotherThread runs on
// the thread that created the loop (SINGLE_ISSUER). Handlers are borrowed and must
// outlive their socket's registration.
#ifndef UDPBEAT_URING_EVENT_LOOP_H_
#define UDPBEAT_URING_EVENT_LOOP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "udpbeat/base/unique_fd.h"
#include "udpbeat/net/datagram.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/time/clock.h"
#include "udpbeat/time/timer_queue.h"

namespace udpbeat::uring {

class SignalHandler {
 public:
  virtual ~SignalHandler() = default;
  virtual void OnSignal(int signo) noexcept = 0;
};

// Called right before queued requests go to the kernel (each io_uring_enter that
// submits), with the time then: lets a handler write a transmit timestamp (STAMP's T3)
// into datagrams it queued during the turn, as close to their departure as user space
// can. Slot buffers given to SendWith's `fill` stay writable until then.
class PreSubmitHook {
 public:
  virtual ~PreSubmitHook() = default;
  virtual void BeforeSubmit(WallTime now) noexcept = 0;
};

struct LoopOptions {
  unsigned sq_entries = 1024;
  unsigned cq_entries = 16384;       // multishot receives can post many CQEs per turn
  unsigned receive_buffers = 1024;   // power of two ≤ 32768
  size_t max_datagram = 2048;        // payload bytes a receive buffer holds
  unsigned max_pending_sends = 4096; // send slots; beyond it SendWith reaps first
  bool handle_signals = true;        // SIGINT/SIGTERM/SIGQUIT/SIGHUP via signalfd
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
  uint64_t tx_timestamps = 0;    // transmit timestamps read from error queues
};

// Where and how one datagram goes.
struct SendSpec {
  const SocketAddress* to = nullptr;    // null: the connected peer
  const SocketAddress* from = nullptr;  // source address (IP_PKTINFO); null: the kernel's choice
  uint64_t tag = 0;                     // returned with its transmit timestamp or send error
  // On a socket with TransmitTimestamps::kAsked: stamp this datagram.
  bool tx_timestamp = false;
  // IP TOS / IPv6 traffic class of this one datagram (DSCP << 2 | ECN), sent as a control
  // message: no setsockopt, so sockets shared by threads or replies to many peers can
  // each carry their own. -1: the socket's own (IP_TOS / IPV6_TCLASS, default 0).
  int tos = -1;
};

// Which datagrams of a socket the kernel stamps when they leave.
enum class TransmitTimestamps {
  kEveryDatagram,  // a client's probes
  kAsked,          // only those sent with SendSpec::tx_timestamp (a server's few replies)
};

// Which socket a connected socket's stamped datagrams leave from.
enum class TransmitSocket {
  kSame,      // the socket itself
  // A send-only twin on the same local address and port (net/send_twin.h): the kernel's
  // transmit stamp is then not followed by the wake-up of the receive armed on the
  // socket, about 0.5 us nearer the wire. One more descriptor; falls back to kSame when
  // the twin cannot be made (the socket is not connected, no descriptor left).
  kSendOnlyTwin,
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
  // Stops the socket's receives and forgets its handler at once; the descriptor is closed
  // once the kernel has let go of it. The id may be reused later.
  void RemoveSocket(SocketId s) noexcept;
  // Asks the kernel for the software transmit timestamp of the datagrams sent on `s`
  // (all, or those that ask) and delivers them to OnTransmitTimestamp with their tag.
  // Unavailable: a Status, nothing changes.
  absl::Status EnableTransmitTimestamps(
      SocketId s, TransmitTimestamps which = TransmitTimestamps::kEveryDatagram,
      TransmitSocket from = TransmitSocket::kSame);
  // Whether `s` sends from a send-only twin (TransmitSocket::kSendOnlyTwin took).
  bool SendsFromTwin(SocketId s) const noexcept;
  int fd(SocketId s) const noexcept;

  // Queues one datagram: `fill` writes it (at most `max_len` bytes) into the send slot
  // and returns its length, or -1 to send nothing. When the datagram cannot be queued or
  // the kernel refuses it, the socket's handler gets OnSendError with `spec.tag` (never
  // both, never neither): at once, from within this call, when no send slot or
  // submission entry is free; from the send's completion, on a later turn, when the
  // kernel refuses it. `fill` must not call SendWith.
  void SendWith(SocketId s, const SendSpec& spec, size_t max_len,
                absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) noexcept;
  // Queues a copy of `payload`.
  void Send(SocketId s, const SendSpec& spec, std::span<const uint8_t> payload) noexcept;

  TimerQueue& timers() noexcept;
  void SetSignalHandler(SignalHandler* h) noexcept;
  void SetPreSubmitHook(PreSubmitHook* h) noexcept;

  // Runs turns until Stop(), then sends everything still queued and waits (bounded) for
  // those sends to complete.
  absl::Status Run();
  // One turn, the same one Run() takes, that waits at most `max_wait` (tests, shutdown).
  absl::Status RunOnce(Nanos max_wait);
  // Turns until every queued send has completed, for at most 200 ms.
  absl::Status Drain();
  void Stop() noexcept;
  bool stopping() const noexcept;
  // Lets another thread stop this loop: arms a read on an eventfd (call before Run).
  absl::Status EnableRemoteStop();
  // Thread-safe: wakes the loop, which then stops as if Stop() were called.
  void StopFromAnotherThread() noexcept;

  const Clock& clock() const noexcept;
  const LoopCounters& counters() const noexcept;
  // Datagrams the kernel dropped on `s` so far (SO_MEMINFO's SK_MEMINFO_DROPS): exact,
  // unlike the SO_RXQ_OVFL count, which only arrives with the next datagram.
  uint64_t SocketDrops(SocketId s) const noexcept;
  unsigned ring_flags() const noexcept;

  class Impl;

 private:
  explicit EventLoop(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace udpbeat::uring

#endif  // UDPBEAT_URING_EVENT_LOOP_H_
