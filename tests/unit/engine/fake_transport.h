// A ProbeTransport without io_uring: sends are recorded, timers run when the test says,
// and the clock is a FakeClock the test moves.
#ifndef UDPBEAT_TESTS_UNIT_ENGINE_FAKE_TRANSPORT_H_
#define UDPBEAT_TESTS_UNIT_ENGINE_FAKE_TRANSPORT_H_

#include <cstdint>
#include <map>
#include <utility>
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
    if (auto f = fail_tags.find(tag); f != fail_tags.end()) {
      buf.resize(static_cast<size_t>(len));
      failed.push_back({socket, tag, std::move(buf)});
      // As the loop does: no slot, at once; refused by the kernel, at its completion.
      if (fail_at_once) {
        if (handler != nullptr) handler->OnSendError(socket, tag, f->second);
      } else {
        failing.push_back({socket, tag, f->second});
      }
      return;
    }
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
  // One loop turn: the completions of failed sends (OnSendError), then the timers due
  // now, with a fresh send budget.
  size_t Turn() {
    sent_this_turn = 0;
    std::vector<Failure> now;
    now.swap(failing);
    for (const Failure& f : now)
      if (handler != nullptr) handler->OnSendError(f.socket, f.tag, f.error);
    return now.size() + timers_.RunDue(clock_.Now());
  }
  FakeClock& fake_clock() { return clock_; }

  struct Failure {
    SocketId socket;
    uint64_t tag;
    int error;
  };

  std::vector<Sent> sent;  // the datagrams that left (not those failed below)
  // Sends whose tag is here fail with the errno: reported to `handler` at the next Turn()
  // (the kernel refused it at the send's completion), or, with fail_at_once, from within
  // Send (the loop had no free slot).
  std::map<uint64_t, int> fail_tags;
  bool fail_at_once = false;
  DatagramHandler* handler = nullptr;
  std::vector<Failure> failing;  // failed, not reported yet
  std::vector<Sent> failed;      // every datagram that failed, as built
  uint64_t sends_per_turn = UINT64_MAX;  // the loop's budget (LoopTransport::kSendsPerTurn)
  uint64_t sent_this_turn = 0;

 private:
  FakeClock clock_;
  TimerQueue timers_;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_TESTS_UNIT_ENGINE_FAKE_TRANSPORT_H_
