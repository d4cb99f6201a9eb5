// The narrow interface a probe session sends through and schedules on: a datagram queue
// per socket, a timer queue and the clocks. The event loop implements it in production
// (LoopTransport); unit tests use a fake with a FakeClock and no io_uring at all.
#ifndef UDPBEAT_ENGINE_PROBE_TRANSPORT_H_
#define UDPBEAT_ENGINE_PROBE_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/functional/function_ref.h"
#include "udpbeat/net/datagram.h"
#include "udpbeat/time/clock.h"
#include "udpbeat/time/timer_queue.h"

namespace udpbeat::engine {

class ProbeTransport {
 public:
  virtual ~ProbeTransport() = default;
  // Queues one datagram on `socket` (connected to the target): `fill` writes at most
  // `max_len` bytes and returns the length. `tag` comes back with the datagram's kernel
  // transmit timestamp, when the socket has them. Failures reach the socket's handler
  // (OnSendError, with `tag`), possibly from within this call (nothing could be queued).
  virtual void Send(SocketId socket, uint64_t tag, size_t max_len,
                    absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) = 0;
  // Whether this loop turn may take another probe. Each session bounds its own burst
  // (ProbeSession::kMaxBurst); this bounds the turn's, however many sessions are behind,
  // so that a schedule the machine cannot keep never makes a turn (and the completions it
  // causes) so long that signals and replies wait. A session refused here sends the rest
  // of what is due on a later turn, its lateness counted as send lag.
  virtual bool SendBudgetLeft() { return true; }
  virtual TimerQueue& timers() = 0;
  virtual const Clock& clock() const = 0;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_PROBE_TRANSPORT_H_
