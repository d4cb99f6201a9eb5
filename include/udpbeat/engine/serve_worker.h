// One server event loop's worth of `udpbeat serve`: answers the datagrams of its socket
// from the address they were sent to and with their DSCP (ECN not copied), simulates
// loss and delay, rate-limits per source, and keeps its counters. With several threads
// there is one worker per thread, each on its own loop and SO_REUSEPORT socket.
//
// Loops: one forged datagram whose source is another server (or this one) must not make
// two servers answer each other forever. The worker refuses, and counts as refused,
// (1) a datagram from its own port on the address it was sent to or on one of the
// host's addresses (ServeWorkerConfig::host_addresses), (2) a datagram that is
// itself a server's reply (IsServerReply: the lab's echo reply, a STAMP reflector
// packet), and (3) a reflection: a datagram identical to one of the echo replies it sent
// that source within the window (ReflectionMemory: the reply's delay plus a round trip).
// The per-source budget (max_rate, on by default) bounds what any loop these miss can
// cost. Nor does it answer a datagram sent to a broadcast or multicast address (refused
// too): one request would draw a reply from every server that hears it.
//
// Thread: the worker's loop thread; Snapshot() may be called from any thread (the
// counters are written with relaxed atomic stores by their one writer).
#ifndef UDPBEAT_ENGINE_SERVE_WORKER_H_
#define UDPBEAT_ENGINE_SERVE_WORKER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <vector>

#include "udpbeat/engine/reflection_memory.h"
#include "udpbeat/measure/serve_counters.h"
#include "udpbeat/net/datagram.h"
#include "udpbeat/peers/peer_table.h"
#include "udpbeat/proto/responder.h"
#include "udpbeat/proto/stamp_auth.h"
#include "udpbeat/time/timer_queue.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat::engine {

struct ServeWorkerConfig {
  static constexpr size_t kDefaultMaxDatagram = 65535;
  static constexpr size_t kDefaultMaxPeers = 65536;
  static constexpr Nanos kDefaultPeerIdle = 60 * kNanosPerSecond;
  // Requests answered per second per source address and port. Far above any single
  // client socket's legitimate rate (udpbeat ping -i 0 gets 20,000 to 50,000 answers a
  // second on loopback; its 1,000 sessions x 20 pps on one shared socket 20,000), so load
  // tests are never throttled, while whatever one source (or a loop no rule recognises)
  // makes the server send stays bounded in rate. No rate ends a loop that stays under
  // it, and one that a rule misses on loopback goes round as fast as such a client: the
  // reflection memory, not the budget, ends loops (ReflectionMemory).
  static constexpr double kDefaultMaxRate = 100000;
  // Bytes the delayed replies of a whole server may hold, all workers together (they
  // charge one shared tally, delay_pool): each waiting reply counts its payload and
  // its bookkeeping.
  static constexpr uint64_t kDefaultMaxDelayBytes = uint64_t{64} << 20;
  static constexpr uint64_t kMinDelayBytes = 65536;
  static constexpr uint64_t kMaxDelayBytes = uint64_t{64} << 30;

  ReplyMode reply = ReplyMode::kAuto;
  double loss = 0;                  // probability a valid request goes unanswered
  std::optional<uint64_t> rng_seed; // loss/jitter random generator; random when unset
  Nanos delay = 0;                  // added before each reply
  Nanos jitter = 0;                 // reply delay varies uniformly by ±jitter
  size_t max_datagram = kDefaultMaxDatagram;
  bool stamp_stateful = false;      // per-session reflector sequence numbers
  double max_rate = kDefaultMaxRate; // per-source requests/s answered (token bucket); 0: off
  uint64_t max_delay_bytes = kDefaultMaxDelayBytes;  // every worker's delayed replies, bytes
  // The bytes every worker's delayed replies hold, shared so that one bound holds for the
  // whole server and any one reply fits while the others wait (a split bound would
  // refuse a 64 KiB reply with an empty queue). Null: the worker keeps its own.
  std::atomic<uint64_t>* delay_pool = nullptr;
  size_t max_peers = kDefaultMaxPeers;  // bound of the per-peer table
  Nanos peer_idle = kDefaultPeerIdle;   // a peer silent this long is forgotten
  // The socket is bound to a wildcard address: replies name their source (the address
  // each request was sent to), or routing would pick it.
  bool reply_from_destination = false;
  // This host's addresses (IPv6 form, IPv4 mapped to ::ffff:a.b.c.d), sorted, as the
  // interfaces listed them at start: a request from one of them (or from the address it
  // was sent to) with the server's port is the server's own reply.
  std::vector<std::array<uint8_t, 16>> host_addresses;
  // The directed broadcast addresses of the host's IPv4 prefixes, in the same form,
  // sorted: a request sent to one of them (or to 255.255.255.255, or to a multicast
  // group) is not answered.
  std::vector<std::array<uint8_t, 16>> broadcast_addresses;
  // STAMP authenticated mode: answer only requests whose HMAC verifies under this key
  // (borrowed; null: unauthenticated).
  const stamp::HmacSha256* hmac = nullptr;
};

class ServeWorker final : public DatagramHandler, public uring::PreSubmitHook {
 public:
  // `seed_offset` keeps workers' random streams apart while one seed fixes them all;
  // `local` is the address the worker's socket is bound to.
  ServeWorker(const ServeWorkerConfig& cfg, uring::EventLoop& loop, uint64_t seed_offset,
              const SocketAddress& local);
  ~ServeWorker();

  // The socket whose kernel drops the worker reports (the one it was added to the loop
  // with).
  void WatchSocket(SocketId s) noexcept;
  // Starts the sweep, which also refreshes the kernel drops every second.
  void StartTimers();
  // Sends every delayed reply now (at shutdown).
  void FlushDelayed();
  // Reads the watched socket's drop count now (SO_MEMINFO). The SO_RXQ_OVFL count comes
  // only with the next datagram read, so drops after the last one (a burst the buffer
  // could not hold, then silence) would otherwise never show. Loop thread only: the
  // sweep calls it, and whoever stops the loop calls it once more before the counters
  // are read for the last time.
  void RefreshKernelDrops() noexcept;
  measure::ServeCounters Snapshot() const;

  void OnDatagram(const Datagram& d) noexcept override;
  void OnSendError(SocketId, uint64_t tag, int error) noexcept override;
  // The exact send time of a reply that follow-up telemetry will report.
  void OnTransmitTimestamp(SocketId, uint64_t tag, WallTime sent) noexcept override;
  // Writes T3 into the STAMP replies queued since the last submit.
  void BeforeSubmit(WallTime now) noexcept override;

 private:
  // What the server remembers per peer.
  struct PeerState {
    uint32_t stamp_seq = 0;  // next reflector sequence number (stateful STAMP)
    double tokens = -1;      // rate-limit bucket; < 0: not yet filled
    MonoTime refilled;
    // RFC 8972 follow-up telemetry: the newest reply of this session whose exact send
    // time is known, reported in the next reply.
    bool sent_known = false;
    uint32_t sent_seq = 0;
    WallTime sent_at;
  };
  // A reply whose transmit timestamp is awaited, by tag (a ring: old ones are forgotten).
  struct AwaitedTimestamp {
    uint64_t tag = 0;
    PeerKey session;
    uint32_t seq = 0;
  };
  static constexpr size_t kAwaitedTimestamps = 1024;  // a power of two
  // A STAMP reply queued this turn, its T3 to be written just before it leaves.
  struct LateStamp {
    uint8_t* packet;
    size_t length;
  };
  struct Delayed {
    MonoTime due;
    uint64_t order;  // FIFO among equal due times
    SocketId socket;
    SocketAddress to;
    SocketAddress from;
    uint64_t source_hash;  // for the reflection rule, once sent
    uint64_t digest;       // of an echo reply; 0 for others
    int tos;               // the reply's TOS (the request's DSCP); 0: the socket's
    // A follow-up reply's send time is awaited from when it leaves (tag 0: none).
    AwaitedTimestamp awaited;
    std::vector<uint8_t> bytes;
    bool operator>(const Delayed& o) const {
      return due != o.due ? due > o.due : order > o.order;
    }
  };
  // What one waiting reply costs besides its payload: its queue entry, and the heap
  // block's header and rounding.
  static constexpr uint64_t kDelayedOverhead = sizeof(Delayed) + 32;
  // Rule (1): the source is this server's port on one of the host's addresses.
  bool FromOwnAddress(const Datagram& d) const noexcept;
  // Rule (3): `d` is one of the echo replies sent to its source within the window.
  bool IsReflection(uint64_t source_hash, const Datagram& d) noexcept;
  // `d` was sent to a broadcast or multicast address.
  bool ToBroadcast(const Datagram& d) const noexcept;
  // Takes `bytes` from the server's delayed-reply bound; false when they do not fit.
  bool ChargeDelay(uint64_t bytes) noexcept;
  bool RateLimited(const PeerKey& source, MonoTime now);
  // Stateful STAMP (RFC 8762 §4.3.1): numbers the reply in `out` in its session and, for
  // a request that asked for follow-up telemetry (RFC 8972 §4.7), fills the TLV at
  // reply.follow_up_offset with the session's previous reply, signs the HMAC TLV again
  // when there is one, and leaves in numbered_ what to await this reply's send time
  // under (`tag`; 0: nothing), for Await() when the reply is handed to the kernel.
  void NumberReply(const Datagram& d, std::span<uint8_t> out, const Reply& reply,
                   uint64_t tag) noexcept;
  // Whether `request` carries a Follow-Up Telemetry TLV (its reply then asks the kernel
  // for its transmit timestamp).
  bool AsksFollowUp(std::span<const uint8_t> request) const noexcept;
  // Builds the reply to `d` into `out`; its length, or -1 when it is not to be sent
  // (malformed, dropped by the loss simulation, or over the source's budget; counted
  // either way).
  int64_t Answer(const Datagram& d, const PeerKey& source, std::span<uint8_t> out,
                 uint64_t tag = 0);
  double Uniform01() noexcept { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  void Delay(const Datagram& d, uint64_t source_hash, std::span<const uint8_t> bytes,
             const AwaitedTimestamp& awaited);
  // Remembers `a` until its transmit timestamp comes (no-op for tag 0).
  void Await(const AwaitedTimestamp& a) noexcept;
  void SendTop();
  void SendDelayed();
  void ArmDelayTimer();
  void Sweep();
  void PublishPeers();
  // Raises the published kernel drops to `drops` (never lowers them: the two sources,
  // SO_RXQ_OVFL and SO_MEMINFO, count the same drops, one later than the other).
  void PublishKernelDrops(uint64_t drops) noexcept;

  const ServeWorkerConfig& cfg_;
  uring::EventLoop& loop_;
  const SocketAddress local_;
  std::mt19937_64 rng_;  // std's engine: reproducible with a seed across builds
  std::vector<uint8_t> reply_buf_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
  uint64_t delayed_bytes_ = 0;  // what delayed_ holds, as charged by Delay()
  std::atomic<uint64_t> own_delay_pool_{0};  // delay_pool when the config gives none
  std::atomic<uint64_t>* delay_pool_;        // charged with delayed_bytes_ (ChargeDelay)
  uint64_t next_order_ = 0;
  ReflectionMemory reflections_;
  Timer delay_timer_;
  Timer sweep_timer_;
  PeerTable<PeerState> peers_;
  std::vector<LateStamp> late_stamps_;  // queued STAMP replies awaiting their T3
  std::vector<AwaitedTimestamp> awaited_;
  AwaitedTimestamp numbered_;  // of the reply Answer built last (see NumberReply)
  uint64_t next_tag_ = 1;
  ReplyFormat reply_format_ = ReplyFormat::kNone;  // of the last reply Answer built
  // The watched socket, and its SO_MEMINFO drop count: 32 bits in the kernel, widened
  // here (the sweep reads it far more often than it could wrap).
  std::optional<SocketId> socket_;
  uint32_t meminfo_drops_seen_ = 0;
  uint64_t meminfo_drops_ = 0;
  measure::ServeCounters counters_;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_SERVE_WORKER_H_
