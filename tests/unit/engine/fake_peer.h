// The far side of a FakeTransport and FakeSockets: a lab server that echoes every probe
// a fixed RTT after it left, unless its socket is silenced, and the loop that runs timers
// and those replies in time order, each at its own instant, so that a test knows the
// exact time of every timeout and state change.
#ifndef UDPBEAT_TESTS_UNIT_ENGINE_FAKE_PEER_H_
#define UDPBEAT_TESTS_UNIT_ENGINE_FAKE_PEER_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <set>
#include <vector>

#include "fake_sockets.h"
#include "fake_transport.h"

namespace udpbeat::engine {

class FakePeer {
 public:
  FakePeer(FakeTransport& transport, FakeSockets& sockets, Nanos rtt)
      : t_(transport), sockets_(sockets), rtt_(rtt), start_(transport.clock().Now()) {}

  // Probes sent on `socket` from now on are not answered (a dead path), or are again.
  void Silence(SocketId socket) { silent_.insert(socket); }
  void Answer(SocketId socket) { silent_.erase(socket); }
  void SilenceAll() { all_silent_ = true; }
  void AnswerAll() {
    all_silent_ = false;
    silent_.clear();
  }

  MonoTime now() const { return t_.clock().Now(); }

  // Runs timers and replies due up to `end`, each at its own time, then sets the clock to
  // `end`. Replies come first at an instant they share with a timer, as the loop hands
  // out completions before it runs the timers.
  void RunUntil(MonoTime end) {
    Collect();
    for (;;) {
      const std::optional<MonoTime> timer = t_.timers().NextDeadline();
      const bool reply_first = !replies_.empty() && (!timer || replies_.front().at <= *timer);
      const std::optional<MonoTime> next =
          reply_first ? std::optional<MonoTime>(replies_.front().at) : timer;
      if (!next || *next > end) break;
      if (*next > now()) t_.fake_clock().Set(*next);
      if (reply_first) {
        Reply r = std::move(replies_.front());
        replies_.pop_front();
        Deliver(r);
      } else {
        t_.Turn();
      }
      Collect();
    }
    if (end > now()) t_.fake_clock().Set(end);
  }
  // `ms` milliseconds after the peer was made (the start of a test's run).
  MonoTime At(Nanos ms) const { return start_ + ms * kNanosPerMilli; }
  void RunUntilMs(Nanos ms) { RunUntil(At(ms)); }

 private:
  struct Reply {
    MonoTime at;
    SocketId socket;
    std::vector<uint8_t> bytes;
  };

  // Takes the datagrams sent since the last look: their echoes are due an RTT later.
  void Collect() {
    for (; seen_ < t_.sent.size(); ++seen_) {
      const FakeTransport::Sent& s = t_.sent[seen_];
      if (all_silent_ || silent_.contains(s.socket)) continue;
      std::vector<uint8_t> b = s.bytes;
      for (uint8_t& c : b)
        if (c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 32);
      replies_.push_back({now() + rtt_, s.socket, std::move(b)});
    }
  }

  void Deliver(const Reply& r) {
    DatagramHandler* h = sockets_.sockets.at(r.socket).handler;
    if (h == nullptr) return;  // closed meanwhile
    const SocketAddress from = sockets_.sockets.at(r.socket).peer;
    Datagram d;
    d.socket = r.socket;
    d.from = &from;
    d.payload = r.bytes;
    d.rx_wall = t_.clock().NowWall();
    d.loop_mono = t_.clock().Now();
    d.loop_wall = t_.clock().NowWall();
    d.ttl = 64;
    h->OnDatagram(d);
  }

  FakeTransport& t_;
  FakeSockets& sockets_;
  Nanos rtt_;
  MonoTime start_;
  std::set<SocketId> silent_;
  bool all_silent_ = false;
  size_t seen_ = 0;
  std::deque<Reply> replies_;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_TESTS_UNIT_ENGINE_FAKE_PEER_H_
