// One client session: a socket to one server, the probes it sends (on the lab's rhythm
// or a fixed schedule), the replies it matches by sequence number, and the statistics
// engine it records into. ping and heartbeat are observers of sessions; load tests run
// many sessions on one loop.
//
// Times: probes are stamped with the monotonic clock when encoded; a reply's arrival is
// the kernel's receive timestamp (SO_TIMESTAMPNS, realtime) mapped onto the monotonic
// clock through the pair of clock readings the loop takes when it wakes. STAMP RTTs
// subtract the reflector's residence time T3 − T2.
//
// Thread: the loop's. Owner: the mode. Borrowed: loop, observer, scratch buffer.
#ifndef UDPBEAT_ENGINE_PROBE_SESSION_H_
#define UDPBEAT_ENGINE_PROBE_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "udpbeat/proto/probe_codec.h"
#include "udpbeat/stats/session_stats.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {

struct ProbeSessionConfig {
  ProbeProto proto = ProbeProto::kStamp;
  bool heartbeat = false;            // seed requests say "Heartbeat"
  size_t size = 0;                   // pad requests to this size
  Nanos timeout = kNanosPerSecond;
  std::optional<Nanos> interval;     // unset: next probe when the last is settled
  int64_t count = 0;                 // 0: until stopped
  Nanos start_offset = 0;            // first send this long after Start (staggering)
  uint32_t first_seq = 1;
  uint16_t ssid = 1;
};

enum class ReplyClass { kOnTime, kLate, kDuplicate };

// What one reply told us. STAMP fields are set when `has_timestamps`.
struct ReplyInfo {
  ReplyClass kind = ReplyClass::kOnTime;
  uint32_t seq = 0;
  Nanos rtt = 0;
  size_t bytes = 0;
  int ttl = -1;
  bool reordered = false;
  WallTime received;
  std::string_view payload;
  bool has_timestamps = false;
  Nanos residence = 0;        // T3 − T2
  Nanos clock_offset = 0;     // ((T2 − T1) + (T3 − T4)) / 2: reflector clock − ours
  Nanos forward = 0;          // T2 − T1, raw (includes the clock offset)
  Nanos backward = 0;         // T4 − T3, raw
  uint32_t reflector_seq = 0;
  int reflector_ttl = -1;     // the TTL our request arrived with at the reflector
  bool has_time_difference = false;
  double time_difference = 0; // seed heartbeat reply: server's receive time − our send time
};

// STAMP figures beyond the statistics engine's.
//
// One-way delays are recorded against references taken from the first exchange, so
// that they stay near the true delays and never negative (the histogram covers positive
// values) however far off the reflector's clock is. With that exchange's offset
// estimate o and round trip r, the true offset lies in [o − r/2, o + r/2], so
//   forward recorded  = (T2 − T1) − forward_ref,  forward_ref  = o − r/2, and
//   backward recorded = (T4 − T3) + backward_ref, backward_ref = o + r/2
// are both ≥ the true one-way delay ≥ 0. Raw delays are recorded + forward_ref and
// recorded − backward_ref; offset-corrected ones are raw ∓ best_offset.
struct StampSummary {
  bool has_ref = false;
  Nanos forward_ref = 0;
  Nanos backward_ref = 0;
  stats::RunningSummary residence;
  Nanos best_rtt = -1;        // fastest exchange seen
  Nanos best_offset = 0;      // its clock offset: the least disturbed by queueing
  bool reflector_stateful = false;  // its sequence numbers differ from ours somewhere
  uint64_t forward_lost = 0;  // requests the reflector never saw (stateful reflector)
  // Highest reflector sequence number seen, with the request seq it answered.
  std::optional<std::pair<uint32_t, uint32_t>> last_numbers;
};

class ProbeSession;

class ProbeObserver {
 public:
  virtual ~ProbeObserver() = default;
  virtual void OnReply(ProbeSession& s, const ReplyInfo& r) = 0;
  // No reply within the timeout; `unreachable`: an ICMP port unreachable came meanwhile.
  virtual void OnTimeout(ProbeSession& s, uint32_t seq, bool unreachable) = 0;
  // Every probe was sent and settled (answered or timed out).
  virtual void OnDone(ProbeSession& s) = 0;
  virtual void OnMalformed(ProbeSession&) {}
};

class ProbeSession final : public uring::DatagramHandler, public TimerHandler {
 public:
  // `scratch` is a buffer shared by sessions to encode into (the loop copies sends).
  ProbeSession(const ProbeSessionConfig& cfg, uring::EventLoop& loop, ProbeObserver& observer,
               std::span<uint8_t> scratch, uint32_t index = 0);
  ProbeSession(const ProbeSession&) = delete;
  ProbeSession& operator=(const ProbeSession&) = delete;

  void Attach(uring::SocketId socket) { socket_ = socket; }
  void Start();
  // Sends no more probes; those in flight may still be answered.
  void StopSending() { stop_sending_ = true; }
  // Stops sending; unanswered probes count as lost. Idempotent.
  void Finish();

  uint32_t index() const { return index_; }
  bool finished() const { return finished_; }
  const stats::SessionStats& stats() const { return stats_; }
  const stats::DelayStats& send_lag() const { return send_lag_; }
  const StampSummary& stamp() const { return stamp_; }
  uint64_t unreachable() const { return unreachable_; }
  int last_error() const { return last_error_; }
  const ProbeSessionConfig& config() const { return cfg_; }

  // DatagramHandler
  void OnDatagram(const uring::Datagram& d) noexcept override;
  void OnReceiveError(uring::SocketId, int error) noexcept override;
  void OnSendError(uring::SocketId, int error) noexcept override;
  // TimerHandler
  void OnTimer(uint64_t cookie) noexcept override;

 private:
  struct Sent {
    MonoTime mono;
    WallTime wall;
  };
  void SendProbe(MonoTime scheduled);
  void ScheduleNext();
  void Settled();
  bool AllSent() const;
  void FillStamp(const ProbeReply& p, const Sent& sent, WallTime t4, ReplyInfo* info);
  void NoteError(int error);

  ProbeSessionConfig cfg_;
  uring::EventLoop& loop_;
  const Clock& clock_;
  ProbeObserver& observer_;
  std::span<uint8_t> scratch_;
  std::unique_ptr<ProbeCodec> codec_;
  uint32_t index_;
  stats::SessionStats stats_;
  stats::DelayStats send_lag_;
  StampSummary stamp_;
  std::vector<Sent> sent_;  // by seq modulo its size (the tracker's window)
  std::vector<uint32_t> expired_;
  uring::SocketId socket_ = 0;
  MonoTime start_;
  uint32_t next_seq_;
  uint64_t sent_count_ = 0;
  uint64_t unsettled_ = 0;
  uint64_t unreachable_ = 0;
  uint64_t unreachable_unclaimed_ = 0;  // ICMP errors not yet matched to a timeout
  int last_error_ = 0;
  bool finished_ = false;
  bool stop_sending_ = false;
};

}  // namespace udpbeat

#endif  // UDPBEAT_ENGINE_PROBE_SESSION_H_
