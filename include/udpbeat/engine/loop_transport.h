// The production ProbeTransport: probe sessions' sends and timers on the event loop.
#ifndef UDPBEAT_ENGINE_LOOP_TRANSPORT_H_
#define UDPBEAT_ENGINE_LOOP_TRANSPORT_H_

#include "udpbeat/engine/probe_transport.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat::engine {

class LoopTransport final : public ProbeTransport {
 public:
  explicit LoopTransport(uring::EventLoop& loop) : loop_(loop) {}
  void Send(SocketId socket, uint64_t tag, size_t max_len,
            absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) override {
    uring::SendSpec spec;
    spec.tag = tag;
    loop_.SendWith(socket, spec, max_len, fill);
  }
  TimerQueue& timers() override { return loop_.timers(); }
  const Clock& clock() const override { return loop_.clock(); }
  uring::EventLoop& loop() { return loop_; }

 private:
  uring::EventLoop& loop_;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_LOOP_TRANSPORT_H_
