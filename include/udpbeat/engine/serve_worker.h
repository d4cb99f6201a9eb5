// One server event loop's worth of `udpbeat serve`: answers the datagrams of its socket
// from the address they were sent to, simulates loss and delay, rate-limits per source,
// and keeps its counters. With several threads there is one worker per thread, each on
// its own loop and SO_REUSEPORT socket.
//
// Thread: the worker's loop thread; Snapshot() may be called from any thread (the
// counters are written with relaxed atomic stores by their one writer).
#ifndef UDPBEAT_ENGINE_SERVE_WORKER_H_
#define UDPBEAT_ENGINE_SERVE_WORKER_H_

#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <vector>

#include "udpbeat/measure/serve_counters.h"
#include "udpbeat/net/datagram.h"
#include "udpbeat/peers/peer_table.h"
#include "udpbeat/proto/responder.h"
#include "udpbeat/time/timer_queue.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat::engine {

struct ServeWorkerConfig {
  static constexpr size_t kDefaultMaxDatagram = 65535;
  static constexpr size_t kDefaultMaxPeers = 65536;
  static constexpr Nanos kDefaultPeerIdle = 60 * kNanosPerSecond;

  ReplyMode reply = ReplyMode::kAuto;
  double loss = 0;                  // probability a valid request goes unanswered
  std::optional<uint64_t> rng_seed; // loss/jitter random generator; random when unset
  Nanos delay = 0;                  // added before each reply
  Nanos jitter = 0;                 // reply delay varies uniformly by ±jitter
  size_t max_datagram = kDefaultMaxDatagram;
  bool stamp_stateful = false;      // per-session reflector sequence numbers
  double max_rate = 0;              // per-source requests/s answered (token bucket); 0: off
  size_t max_peers = kDefaultMaxPeers;  // bound of the per-peer table
  Nanos peer_idle = kDefaultPeerIdle;   // a peer silent this long is forgotten
  // The socket is bound to a wildcard address: replies name their source (the address
  // each request was sent to), or routing would pick it.
  bool reply_from_destination = false;
};

class ServeWorker final : public DatagramHandler, public uring::PreSubmitHook {
 public:
  // `seed_offset` keeps workers' random streams apart while one seed fixes them all.
  ServeWorker(const ServeWorkerConfig& cfg, uring::EventLoop& loop, uint64_t seed_offset);

  void StartTimers();
  // Sends every delayed reply now (at shutdown).
  void FlushDelayed();
  measure::ServeCounters Snapshot() const;

  void OnDatagram(const Datagram& d) noexcept override;
  void OnSendError(SocketId, int) noexcept override;
  // Writes T3 into the STAMP replies queued since the last submit.
  void BeforeSubmit(WallTime now) noexcept override;

 private:
  // What the server remembers per peer.
  struct PeerState {
    uint32_t stamp_seq = 0;  // next reflector sequence number (stateful STAMP)
    double tokens = -1;      // rate-limit bucket; < 0: not yet filled
    MonoTime refilled;
  };
  struct Delayed {
    MonoTime due;
    uint64_t order;  // FIFO among equal due times
    SocketId socket;
    SocketAddress to;
    SocketAddress from;
    std::vector<uint8_t> bytes;
    bool operator>(const Delayed& o) const {
      return due != o.due ? due > o.due : order > o.order;
    }
  };

  bool RateLimited(const Datagram& d);
  // The next reflector sequence number of session `ssid` from the current request's
  // source (stateful STAMP, RFC 8762 §4.3.1).
  uint32_t NextSeq(uint16_t ssid) noexcept;
  // Builds the reply to `d` into `out`; its length, or -1 when it is not to be sent
  // (malformed, or dropped by the loss simulation; counted either way).
  int64_t Answer(const Datagram& d, std::span<uint8_t> out);
  double Uniform01() noexcept { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  void Delay(const Datagram& d, std::span<const uint8_t> bytes);
  void SendTop();
  void SendDelayed();
  void ArmDelayTimer();
  void Sweep();
  void PublishPeers();

  const ServeWorkerConfig& cfg_;
  uring::EventLoop& loop_;
  std::mt19937_64 rng_;  // std's engine: reproducible with a seed across builds
  std::vector<uint8_t> reply_buf_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
  uint64_t next_order_ = 0;
  Timer delay_timer_;
  Timer sweep_timer_;
  PeerTable<PeerState> peers_;
  const Datagram* current_ = nullptr;  // the datagram being answered (for NextSeq)
  std::vector<uint8_t*> late_stamps_;  // queued STAMP replies awaiting their T3
  bool reply_is_stamp_ = false;        // the last reply Answer built was STAMP
  measure::ServeCounters counters_;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_SERVE_WORKER_H_
