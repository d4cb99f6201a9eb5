// A ProbeTransport without io_uring: sends are recorded, timers run when the test says,
// and the clock is a FakeClock the test moves.
#ifndef UDPBEAT_TESTS_UNIT_ENGINE_FAKE_TRANSPORT_H_
#define UDPBEAT_TESTS_UNIT_ENGINE_FAKE_TRANSPORT_H_

#include <cstdint>
#include <vector>

#include "udpbeat/engine/probe_transport.h"

namespace udpbeat::engine {

class FakeTransport final : public ProbeTransport {
 public:
  struct Sent {
    SocketId socket;
    uint64_t tag;
    std::vector<uint8_t> bytes;
  };

  void Send(SocketId socket, uint64_t tag, size_t max_len,
            absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) override {
    ++sent_this_turn;
    std::vector<uint8_t> buf(max_len);
    const int64_t len = fill(buf);
    if (len < 0) return;
    buf.resize(static_cast<size_t>(len));
    sent.push_back({socket, tag, std::move(buf)});
  }
  bool SendBudgetLeft() override { return sent_this_turn < sends_per_turn; }
  TimerQueue& timers() override { return timers_; }
  const Clock& clock() const override { return clock_; }

  // Moves the clock by `d` and fires what is due, turn by turn, as the loop would.
  void Advance(Nanos d) {
    clock_.Advance(d);
    while (Turn() > 0) {
    }
  }
  // One loop turn: the timers due now, with a fresh send budget.
  size_t Turn() {
    sent_this_turn = 0;
    return timers_.RunDue(clock_.Now());
  }
  FakeClock& fake_clock() { return clock_; }

  std::vector<Sent> sent;
  uint64_t sends_per_turn = UINT64_MAX;  // the loop's budget (LoopTransport::kSendsPerTurn)
  uint64_t sent_this_turn = 0;

 private:
  FakeClock clock_;
  TimerQueue timers_;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_TESTS_UNIT_ENGINE_FAKE_TRANSPORT_H_
