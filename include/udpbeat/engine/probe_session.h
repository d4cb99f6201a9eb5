// One client session: a socket to one target, the probes it sends (on the lab's rhythm
// or a fixed schedule), the replies it matches by sequence number, and the Measurements
// it records into. ping and heartbeat observe sessions; many sessions share one loop.
//
// Schedule: with an interval, probe n is due at start + n × interval, whatever the
// replies do; a send timer firing sends the probes due then, at most kMaxBurst per loop
// turn, so a schedule that cannot be kept (an interval below what the machine can send)
// never queues work or starves the loop: the probes go out as fast as the loop allows
// and their lateness is recorded as send lag. A probe more than a timeout (or, if
// longer, an interval or a second) behind its time is skipped and counted instead
// (SkipWhatIsTooLate), so the lag stays bounded. Without an interval (the lab's rhythm)
// the next probe goes out when the last one is answered or times out.
//
// Send grid: a staggered session's first send is rounded up to a multiple of SendGrid(),
// so that of many sessions (a fleet's targets are spread evenly over the interval) those
// due within one grid step send together, in one loop wake-up and one submit, and their
// replies come back together. At 10,000 targets × 1/s that is 1,000 wake-ups a second
// instead of 10,000 — a wake-up costs far more CPU than a send (bench/RESULTS.md (e)).
// The spread over the interval, which is what staggering is for, stays: the grid is at
// most 1 ms and at most 1/64 of the interval. The delay is < one grid step, once, and
// the rounded time is the schedule, so it is never counted as send lag.
//
// Timeouts: one timer per session, armed for the oldest probe still awaiting its reply.
//
// Send errors: a probe whose datagram never left (OnSendError with its tag: the loop
// could not queue it, or the kernel refused it) is settled at once, as not sent
// (Measurements::send_errors states the rule); the observer hears of it through OnTimeout
// with TimeoutEvent::send_error set. In the lab's rhythm the next probe then waits until
// the failed one's timeout would have ended, as after a loss: a send refused at once (a
// firewall, no route) is not retried in a tight loop.
//
// Times: T1 is the kernel's transmit timestamp when the socket delivers them (it arrives
// after the send) and the user-space clock read when the probe was encoded otherwise;
// T4 is the kernel's receive timestamp. The arithmetic is measure::MeasureExchange.
//
// Thread: the transport's. Owner: the mode (through a SessionGroup). Borrowed: transport,
// observer.
#ifndef UDPBEAT_ENGINE_PROBE_SESSION_H_
#define UDPBEAT_ENGINE_PROBE_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "udpbeat/engine/probe_transport.h"
#include "udpbeat/measure/measurements.h"
#include "udpbeat/measure/probe_events.h"
#include "udpbeat/net/datagram.h"
#include "udpbeat/proto/probe_codec.h"
#include "udpbeat/time/timer_queue.h"

namespace udpbeat::engine {

struct ProbeSessionConfig {
  ProbeProto proto = ProbeProto::kStamp;
  bool heartbeat = false;         // the lab protocol's requests say "Heartbeat"
  size_t size = 0;                // pad requests to this size
  Nanos timeout = kNanosPerSecond;
  std::optional<Nanos> interval;  // unset: next probe when the last one is settled
  int64_t count = 0;              // 0: until stopped
  // With an interval: send only the probes scheduled within this long of Start (offset
  // included), so a late loop catching up never sends more than the run's length holds:
  // at most duration / interval + 1. 0: no bound.
  Nanos duration = 0;
  Nanos start_offset = 0;         // first send this long after Start (staggering)
  uint32_t first_seq = 1;
  uint16_t ssid = 1;
  // STAMP authenticated mode: the key's HMAC context (borrowed; null: unauthenticated).
  const stamp::HmacSha256* hmac = nullptr;
  // Ask for RFC 8972 follow-up telemetry: each reply then carries the exact transmit time
  // of the reflector's previous reply, and an exchange's delays are recorded once that
  // arrives (or with the reflector's own T3 when it does not).
  bool follow_up = false;
  // Without an interval: at least this long between two sends of the session, however
  // fast replies come (ping -A's floor: 2 ms for users other than root). 0: none.
  Nanos min_gap = 0;
  // The IP TOS / IPv6 traffic class the socket marks probes with (-1: not set, 0 on the
  // wire): a reply whose DSCP differs is counted (Measurements::dscp_changed).
  int tos = -1;
};

class ProbeSession;

class ProbeObserver {
 public:
  virtual ~ProbeObserver() = default;
  virtual void OnReply(ProbeSession& s, const measure::ReplyEvent& r) = 0;
  // A probe timed out, or (t.send_error != 0) its send failed.
  virtual void OnTimeout(ProbeSession& s, const measure::TimeoutEvent& t) = 0;
  // Every probe was sent and settled (answered on time, timed out or failed to send).
  virtual void OnDone(ProbeSession& s) = 0;
  virtual void OnMalformed(ProbeSession&) {}
  // A follow-up report gave an earlier exchange its exact T3 (comes before the OnReply of
  // the reply that carried it).
  virtual void OnFollowUp(ProbeSession&, const measure::FollowUpEvent&) {}
};

class ProbeSession final : public DatagramHandler {
 public:
  // Probes sent per send-timer firing, at most: the rest wait for the next loop turn.
  static constexpr int kMaxBurst = 64;
  // The send grid (see "Send grid" above): at most this, ...
  static constexpr Nanos kMaxSendGrid = kNanosPerSecond / 1000;
  // ... and at most the interval divided by this.
  static constexpr Nanos kGridSlotsPerInterval = 64;
  static Nanos SendGrid(Nanos interval);
  // Follow-up telemetry: replies in a row whose report cannot be used (the TLV returned
  // unrecognised, not at all, or, authenticated, without a valid HMAC TLV to vouch for it)
  // before the session stops holding exchanges back for reports. Not one: the TLVs after
  // the base packet are outside its HMAC, so a single altered packet could do that.
  static constexpr int kFollowUpGiveUp = 3;
  // Exchanges held back for their report at most, per session: reports that fall further
  // behind, or never come (a reflector that understands the TLV but has no transmit
  // timestamps), release the oldest, with the reflector's own T3.
  static constexpr size_t kMaxPendingFollowUps = 16;

  ProbeSession(const ProbeSessionConfig& cfg, ProbeTransport& transport,
               ProbeObserver& observer, uint32_t index = 0, uint64_t tag_base = 0);
  ProbeSession(const ProbeSession&) = delete;
  ProbeSession& operator=(const ProbeSession&) = delete;

  // The most probes `cfg`'s schedule sends (its count and duration); 0: no bound.
  static uint64_t MaxProbes(const ProbeSessionConfig& cfg);

  void Attach(SocketId socket) { socket_ = socket; }
  void Start();
  // Sends no more probes; those in flight may still be answered.
  void StopSending();
  // Stops sending; unanswered probes past their timeout count as lost, those that could
  // still be answered stay in flight. Idempotent.
  void Finish();

  uint32_t index() const { return index_; }
  SocketId socket() const { return socket_; }
  bool finished() const { return finished_; }
  bool done() const { return done_; }
  const measure::Measurements& measurements() const { return m_; }
  measure::Measurements& measurements() { return m_; }
  const stats::SessionStats& stats() const { return m_.stats; }
  const ProbeSessionConfig& config() const { return cfg_; }

  // DatagramHandler
  void OnDatagram(const Datagram& d) noexcept override;
  void OnReceiveError(SocketId, int error) noexcept override;
  void OnSendError(SocketId, uint64_t tag, int error) noexcept override;
  void OnTransmitTimestamp(SocketId, uint64_t tag, WallTime sent) noexcept override;

 private:
  struct Sent {
    uint32_t seq = 0;
    MonoTime mono;
    WallTime wall;
    WallTime kernel_wall;  // 0 until the kernel's transmit timestamp arrives
  };
  // A STAMP exchange whose delays wait for the follow-up telemetry of its reply.
  struct Pending {
    uint32_t seq;
    uint32_t reflector_seq;
    bool late;
    measure::ExchangeInput input;
  };
  // `late`: the tracker classified the reply late. Returns the exchange measured.
  measure::Exchange RecordDelays(uint32_t seq, uint32_t reflector_seq, bool late,
                                 const measure::ExchangeInput& in);
  void FlushPending();
  // Follow-up telemetry in reply `p` completes a pending exchange; returns whether the
  // current one should wait for its own. Called for every first reply when follow-up
  // was asked for, so that unusable reports are counted after giving up too.
  bool ApplyFollowUp(const ProbeReply& p);
  void SendDue();
  void SendProbe(MonoTime scheduled);
  void ArmTimeout();
  void OnTimeoutTimer();
  void Settled();
  // Skips (and counts) the probes due more than a timeout ago: see the definition.
  void SkipWhatIsTooLate(MonoTime now);
  // The lab's rhythm: the next probe now, or once min_gap has passed since the last.
  void SendNextInRhythm(MonoTime earliest);
  bool AllSent() const;
  // Counts the probes due now that were never sent (Measurements::skipped), once.
  void CountSkipped();
  MonoTime Due(uint64_t n) const { return start_ + static_cast<Nanos>(n) * *cfg_.interval; }
  void NoteError(int error);

  ProbeSessionConfig cfg_;
  ProbeTransport& transport_;
  const Clock& clock_;
  ProbeObserver& observer_;
  std::unique_ptr<ProbeCodec> codec_;
  uint32_t index_;
  uint64_t tag_base_;
  measure::Measurements m_;
  std::vector<Sent> sent_;  // by seq modulo its size (the tracker's window)
  std::vector<uint32_t> expired_;
  std::vector<Pending> pending_;  // follow-up: exchanges awaiting their exact T3
  std::vector<Pending> completing_;  // those a report is completing (ApplyFollowUp)
  // Follow-up asked for and reports still expected: exchanges are held back for them
  // (see kFollowUpGiveUp; a report that comes after all turns it on again).
  bool follow_up_ = false;
  int follow_up_refusals_ = 0;    // replies in a row whose report could not be used
  Timer send_timer_;
  Timer timeout_timer_;
  SocketId socket_ = 0;
  MonoTime start_;
  MonoTime last_send_;
  uint32_t next_seq_;
  // Probes of the schedule dealt with: sent (or failed), or skipped for being too late.
  uint64_t sent_count_ = 0;
  uint64_t max_probes_;  // 0: until stopped
  uint64_t unreachable_unclaimed_ = 0;  // ICMP errors not yet matched to a timeout
  bool finished_ = false;
  bool stop_sending_ = false;
  bool skip_counted_ = false;
  bool done_ = false;
  bool in_send_ = false;  // within transport_.Send: a send error there is settled after it
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_PROBE_SESSION_H_
