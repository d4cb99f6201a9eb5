// One server event loop's worth of `udpbeat serve`: answers the datagrams of its socket,
// simulates loss and delay, rate-limits per source, and keeps its counters. With
// --threads N there are N workers, each on its own thread, loop and SO_REUSEPORT socket.
//
// Thread: the worker's loop thread; Snapshot() may be called from any thread (the
// counters are written with relaxed atomic stores by their one writer).
#ifndef UDPBEAT_ENGINE_SERVE_WORKER_H_
#define UDPBEAT_ENGINE_SERVE_WORKER_H_

#include <queue>
#include <random>
#include <vector>

#include "udpbeat/engine/serve_config.h"
#include "udpbeat/proto/responder.h"
#include "udpbeat/peers/peer_table.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

class ServeWorker final : public uring::DatagramHandler,
                          public uring::PreSubmitHook,
                          public StampSessions,
                          public TimerHandler {
 public:
  // `seed_offset` keeps workers' random streams apart while one --seed fixes them all.
  ServeWorker(const ServeOptions& opts, uring::EventLoop& loop, uint64_t seed_offset);

  void StartTimers();
  // Sends every delayed reply now (at shutdown).
  void FlushDelayed();
  ServeCounters Snapshot() const;

  void OnDatagram(const uring::Datagram& d) noexcept override;
  void OnSendError(uring::SocketId, int) noexcept override;
  uint32_t NextSeq(uint16_t ssid) noexcept override;
  void OnTimer(uint64_t cookie) noexcept override;
  // Writes T3 into the STAMP replies queued since the last submit.
  void BeforeSubmit(WallTime now) noexcept override;

 private:
  // What the server remembers per peer.
  struct PeerState {
    uint32_t stamp_seq = 0;  // next reflector sequence number (--stamp-stateful)
    double tokens = -1;      // rate-limit bucket; < 0: not yet filled
    MonoTime refilled;
  };
  struct Delayed {
    MonoTime due;
    uint64_t order;  // FIFO among equal due times
    uring::SocketId socket;
    SocketAddress to;
    std::vector<uint8_t> bytes;
    bool operator>(const Delayed& o) const {
      return due != o.due ? due > o.due : order > o.order;
    }
  };

  bool RateLimited(const uring::Datagram& d);
  // Builds the reply to `d` into `out`; its length, or -1 when it is not to be sent
  // (malformed, or dropped by the loss simulation; counted either way).
  int64_t Answer(const uring::Datagram& d, std::span<uint8_t> out);
  double Uniform01() noexcept { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  void Delay(const uring::Datagram& d, std::span<const uint8_t> bytes);
  void SendTop();
  void ArmDelayTimer();

  const ServeOptions& opts_;
  uring::EventLoop& loop_;
  std::mt19937_64 rng_;  // std's engine: reproducible with --seed across builds
  std::vector<uint8_t> reply_buf_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
  uint64_t next_order_ = 0;
  TimerId delay_timer_ = 0;
  MonoTime delay_timer_due_;
  PeerTable<PeerState> peers_;
  const uring::Datagram* current_ = nullptr;  // the datagram being answered (for NextSeq)
  std::vector<uint8_t*> late_stamps_;  // queued STAMP replies awaiting their T3
  bool reply_is_stamp_ = false;        // the last reply Answer built was STAMP
  bool sending_ = false;   // inside SendWith for the current datagram
  bool answered_ = false;  // ... and its reply was built (counted replied)
  ServeCounters counters_;
  uint64_t peers_now_ = 0;
  uint64_t peer_evictions_ = 0;
};

}  // namespace udpbeat

#endif  // UDPBEAT_ENGINE_SERVE_WORKER_H_
