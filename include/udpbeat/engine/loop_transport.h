// The production ProbeTransport and ProbeSockets: probe sessions' sends and timers, and
// their targets' sockets, on the event loop. The only engine header of the client side
// that names uring/; a client mode makes one of each over its loop.
#ifndef UDPBEAT_ENGINE_LOOP_TRANSPORT_H_
#define UDPBEAT_ENGINE_LOOP_TRANSPORT_H_

#include <cstddef>
#include <cstdint>

#include "udpbeat/engine/probe_sockets.h"
#include "udpbeat/engine/probe_transport.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat::engine {

// Event-loop sizing for a client running `sessions` sessions of `size`-byte probes:
// more receive buffers and a deeper ring when many sessions share the loop.
uring::LoopOptions ClientLoopOptions(uint64_t sessions, size_t size);

class LoopTransport final : public ProbeTransport {
 public:
  // Probes one loop turn takes at most, all sessions together: four times one session's
  // burst. Each send's completion, transmit timestamp and reply are work the kernel
  // hands back on later turns, behind which a signal waits: with 5,000 sessions far
  // behind, 4,096 sends a turn delayed ping's answer to SIGINT by 13 s; with 256 it
  // came within 0.15 s. One session alone is bound by its own burst, as before.
  static constexpr uint64_t kSendsPerTurn = 256;

  explicit LoopTransport(uring::EventLoop& loop) : loop_(loop) {}
  void Send(SocketId socket, uint64_t tag, size_t max_len,
            absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) override {
    SendBudgetLeft();  // starts the count afresh on a new turn
    ++sent_this_turn_;
    uring::SendSpec spec;
    spec.tag = tag;
    loop_.SendWith(socket, spec, max_len, fill);
  }
  bool SendBudgetLeft() override {
    const uint64_t turn = loop_.counters().turns;
    if (turn != turn_) {
      turn_ = turn;
      sent_this_turn_ = 0;
    }
    return sent_this_turn_ < kSendsPerTurn;
  }
  TimerQueue& timers() override { return loop_.timers(); }
  const Clock& clock() const override { return loop_.clock(); }
  uring::EventLoop& loop() { return loop_; }

 private:
  uring::EventLoop& loop_;
  uint64_t turn_ = UINT64_MAX;
  uint64_t sent_this_turn_ = 0;
};

class LoopSockets final : public ProbeSockets {
 public:
  explicit LoopSockets(uring::EventLoop& loop) : loop_(loop) {}
  absl::StatusOr<Opened> Open(const SocketAddress& peer, const UdpSocketOptions& options,
                              DatagramHandler& handler) override;
  bool EnableTransmitTimestamps(SocketId socket, bool send_twin) override;
  void Close(SocketId socket) override { loop_.RemoveSocket(socket); }
  uint64_t Drops(SocketId socket) const override { return loop_.SocketDrops(socket); }
  uint64_t Budget() override;
  uint64_t FreeDescriptors() override;

 private:
  uring::EventLoop& loop_;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_LOOP_TRANSPORT_H_
