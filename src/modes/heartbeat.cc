#include "udpbeat/modes/heartbeat.h"

#include <ostream>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/detect/peer_state.h"
#include "udpbeat/modes/probe_session.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/report/metrics_file.h"
#include "udpbeat/report/ping_reporter.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

enum TimerCookie : uint64_t { kMetricsTimer = 1, kPhiTimer = 2 };

std::string Timestamp(WallTime t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixNanos(t.nanos()),
                          absl::UTCTimeZone());
}

class HeartbeatMonitor final : public ProbeObserver,
                               public uring::SignalHandler,
                               public TimerHandler {
 public:
  HeartbeatMonitor(const HeartbeatOptions& opts, uring::EventLoop& loop, std::string target,
                   std::ostream& out, std::ostream& err, detect::PhiAccrualDetector phi)
      : opts_(opts),
        loop_(loop),
        clock_(loop.clock()),
        target_(std::move(target)),
        out_(out),
        err_(err),
        misses_(opts.misses),
        phi_(std::move(phi)),
        state_(loop.clock().Now()),
        start_(loop.clock().Now()) {}

  void set_session(ProbeSession* s) { session_ = s; }

  void Start() {
    if (!opts_.metrics_file.empty()) WriteMetrics();
    if (!opts_.metrics_file.empty())
      loop_.ScheduleAt(clock_.Now() + opts_.metrics_period, this, kMetricsTimer);
    if (opts_.phi) loop_.ScheduleAt(clock_.Now() + opts_.interval, this, kPhiTimer);
    session_->Start();
  }

  void OnReply(ProbeSession&, const ReplyInfo& r) override {
    if (r.kind == ReplyClass::kOnTime) {
      misses_.OnReply();
      phi_.Heartbeat(clock_.Now());
      Report(state_.OnReply(clock_.Now()));
    }
    if (opts_.json) {
      static constexpr const char* kNames[] = {"reply", "late", "duplicate"};
      nlohmann::json j = {{"event", kNames[static_cast<int>(r.kind)]},
                          {"seq", r.seq},
                          {"rtt_ns", r.rtt},
                          {"target", target_}};
      if (r.has_time_difference) j["time_difference_s"] = r.time_difference;
      if (r.has_timestamps) {
        j["forward_ns"] = r.forward;
        j["clock_offset_ns"] = r.clock_offset;
      }
      Emit(j);
      return;
    }
    if (opts_.quiet || r.kind != ReplyClass::kOnTime) return;
    // The lab's line. Its "time difference" is the server's receive time minus our
    // send time, which includes the clock offset between the hosts; STAMP separates them.
    const double diff = r.has_time_difference ? r.time_difference
                        : r.has_timestamps    ? static_cast<double>(r.forward) / 1e9
                                              : static_cast<double>(r.rtt) / 1e9;
    out_ << absl::StrFormat("Received heartbeat response %d: Time difference = %.6f seconds", r.seq,
                            diff);
    if (r.has_timestamps) {
      out_ << absl::StrFormat(" (rtt %.6f s, clock offset %+.6f s)",
                              static_cast<double>(r.rtt) / 1e9,
                              static_cast<double>(r.clock_offset) / 1e9);
    }
    out_ << std::endl;
  }

  void OnTimeout(ProbeSession&, uint32_t seq, bool unreachable) override {
    misses_.OnMiss();
    if (opts_.json) {
      Emit({{"event", unreachable ? "unreachable" : "timeout"}, {"seq", seq}, {"target", target_}});
    } else if (!opts_.quiet) {
      out_ << absl::StrFormat("Heartbeat %d: Request timed out%s", seq,
                              unreachable ? " (port unreachable)" : "")
           << std::endl;
    }
    Evaluate();
  }

  void OnDone(ProbeSession&) override { Stop(); }

  void OnTimer(uint64_t cookie) noexcept override {
    if (loop_.stopping()) return;
    if (cookie == kMetricsTimer) {
      WriteMetrics();
      loop_.ScheduleAt(clock_.Now() + opts_.metrics_period, this, kMetricsTimer);
    } else if (cookie == kPhiTimer) {
      // Phi grows continuously between heartbeats: look at it a few times per interval.
      Evaluate();
      loop_.ScheduleAt(clock_.Now() + opts_.interval / 4, this, kPhiTimer);
    }
  }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      err_ << InterimLine(session_->stats()) << ", peer " << detect::StateName(state_.state())
           << std::endl;
      return;
    }
    Stop();
  }

  void Finish() {
    session_->Finish();
    if (!opts_.metrics_file.empty()) WriteMetrics();
  }

  void PrintSummary() {
    const stats::SessionStats& s = session_->stats();
    const MonoTime now = clock_.Now();
    if (opts_.json) {
      PingSummary p;
      p.stats = &s;
      p.stamp = opts_.proto == ProbeProto::kStamp ? &session_->stamp() : nullptr;
      p.unreachable = session_->unreachable();
      p.elapsed = now - start_;
      nlohmann::json j = SummaryJson(p, target_);
      j["state"] = detect::StateName(state_.state());
      j["outages"] = state_.outages();
      j["time_down_ns"] = state_.TimeDown(now);
      Emit(j);
      return;
    }
    // The lab's statistics lines (its percentage is Python's float repr; ours %.1f).
    out_ << "\n--- Heartbeat statistics ---\n"
         << absl::StrFormat("Packets: Sent = %d, Received = %d, Lost = %d (%.1f%% packet loss)\n",
                            s.sent(), s.received(), s.lost(), 100.0 * s.loss_ratio());
    WriteRichStatistics(s, opts_.proto == ProbeProto::kStamp ? &session_->stamp() : nullptr, out_);
    out_ << absl::StrFormat("peer %s at the end, %d outages, %.3f s down\n",
                            detect::StateName(state_.state()), state_.outages(),
                            static_cast<double>(state_.TimeDown(now)) / 1e9);
    out_.flush();
  }

  detect::State state() const { return state_.state(); }

 private:
  void Evaluate() {
    const detect::Verdicts v =
        detect::Verdicts::Read(misses_, opts_.phi ? &phi_ : nullptr, clock_.Now());
    Report(state_.Evaluate(v, clock_.Now()));
  }

  void Report(const std::optional<detect::Transition>& t) {
    if (!t) return;
    const WallTime when = clock_.NowWall();
    if (opts_.json) {
      nlohmann::json j = {{"event", "state"},
                          {"from", detect::StateName(t->from)},
                          {"to", detect::StateName(t->to)},
                          {"reason", t->reason()},
                          {"time_unix_ns", when.nanos()},
                          {"time_in_previous_ns", t->time_in_from},
                          {"consecutive_misses", t->consecutive_misses},
                          {"target", target_}};
      if (opts_.phi) j["phi"] = t->phi;
      Emit(j);
    } else {
      out_ << absl::StrFormat("%s peer %s is %s (%s)", Timestamp(when), target_,
                              detect::StateName(t->to), t->reason());
      if (t->to == detect::State::kUp && t->from == detect::State::kDown)
        out_ << absl::StrFormat(" after %.3f s down", static_cast<double>(t->time_in_from) / 1e9);
      out_ << std::endl;
    }
    if (t->to == detect::State::kDown) {
      if (!opts_.json) {
        out_ << absl::StrFormat(
                    "Server is down! %d consecutive heartbeat responses were missed.",
                    misses_.consecutive_misses())
             << std::endl;
      }
      if (opts_.exit_on_down) Stop();
    }
  }

  void WriteMetrics() {
    const stats::SessionStats& s = session_->stats();
    const MetricLabels l = {{"target", target_}};
    MetricsText m;
    m.Family("udpbeat_heartbeats_sent_total", "counter", "Heartbeats sent.");
    m.Sample("udpbeat_heartbeats_sent_total", l, static_cast<double>(s.sent()));
    m.Family("udpbeat_heartbeats_received_total", "counter",
             "Heartbeats answered (on time or late).");
    m.Sample("udpbeat_heartbeats_received_total", l, static_cast<double>(s.received()));
    m.Family("udpbeat_heartbeats_timed_out_total", "counter",
             "Heartbeats with no reply within the timeout.");
    m.Sample("udpbeat_heartbeats_timed_out_total", l, static_cast<double>(s.timed_out()));
    m.Family("udpbeat_heartbeats_lost_total", "counter", "Heartbeats never answered.");
    m.Sample("udpbeat_heartbeats_lost_total", l, static_cast<double>(s.lost()));
    m.Family("udpbeat_heartbeats_late_total", "counter", "Replies after their timeout.");
    m.Sample("udpbeat_heartbeats_late_total", l, static_cast<double>(s.late()));
    m.Family("udpbeat_peer_up", "gauge", "1 when the peer is up, 0 when suspect or down.");
    m.Sample("udpbeat_peer_up", l, state_.state() == detect::State::kUp ? 1 : 0);
    m.Family("udpbeat_peer_state", "gauge", "1 for the peer's current state.");
    for (detect::State st : {detect::State::kUp, detect::State::kSuspect, detect::State::kDown}) {
      m.Sample("udpbeat_peer_state", {{"target", target_}, {"state", std::string(StateName(st))}},
               state_.state() == st ? 1 : 0);
    }
    m.Family("udpbeat_peer_outages_total", "counter", "Transitions into down.");
    m.Sample("udpbeat_peer_outages_total", l, state_.outages());
    m.Family("udpbeat_rtt_seconds", "summary", "Round-trip time of heartbeats.");
    const auto& h = s.rtt().histogram();
    for (double q : {0.5, 0.9, 0.99, 0.999}) {
      m.Sample("udpbeat_rtt_seconds", {{"target", target_}, {"quantile", absl::StrFormat("%g", q)}},
               static_cast<double>(h.Percentile(q * 100)) / 1e9);
    }
    m.Sample("udpbeat_rtt_seconds_sum", l,
             s.rtt().summary().mean() * static_cast<double>(s.rtt().count()) / 1e9);
    m.Sample("udpbeat_rtt_seconds_count", l, static_cast<double>(s.rtt().count()));
    if (auto st = WriteFileAtomically(opts_.metrics_file, m.text()); !st.ok() && !metrics_warned_) {
      err_ << "udpbeat: " << st.message() << std::endl;
      metrics_warned_ = true;
    }
  }

  void Stop() {
    session_->StopSending();
    loop_.Stop();
  }

  void Emit(const nlohmann::json& j) { out_ << j.dump() << std::endl; }

  const HeartbeatOptions& opts_;
  uring::EventLoop& loop_;
  const Clock& clock_;
  std::string target_;
  std::ostream& out_;
  std::ostream& err_;
  detect::MissDetector misses_;
  detect::PhiAccrualDetector phi_;
  detect::PeerStateMachine state_;
  ProbeSession* session_ = nullptr;
  MonoTime start_;
  bool metrics_warned_ = false;
};

}  // namespace

absl::StatusOr<ExitCode> RunHeartbeat(const HeartbeatOptions& opts, std::ostream& out,
                                      std::ostream& err) {
  const uint16_t default_port = DefaultPort(opts.proto);
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress peer, ResolveUdp(opts.target, default_port, opts.family));
  detect::PhiAccrualOptions po;
  if (opts.phi) po.threshold = *opts.phi;
  po.acceptable_heartbeat_pause = opts.phi_pause;
  po.first_heartbeat_estimate = opts.interval;
  UDPBEAT_ASSIGN_OR_RETURN(detect::PhiAccrualDetector phi, detect::PhiAccrualDetector::Create(po));
  uring::LoopOptions lo;
  lo.max_datagram = std::max<size_t>(opts.size, 2048);
  lo.receive_buffers = 256;
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, uring::EventLoop::Create(lo, SystemClock::Get()));
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, ConnectUdp(peer, UdpSocketOptions{}));

  ProbeSessionConfig cfg;
  cfg.proto = opts.proto;
  cfg.heartbeat = true;
  cfg.size = opts.size;
  cfg.interval = opts.interval;  // a fixed schedule whatever the replies do
  cfg.timeout = opts.timeout ? *opts.timeout : opts.interval;
  cfg.count = opts.count;
  cfg.first_seq = opts.proto == ProbeProto::kStamp ? 0 : 1;
  cfg.ssid = static_cast<uint16_t>(absl::Uniform<uint32_t>(absl::BitGen(), 1, 65536));
  std::vector<uint8_t> scratch(std::max<size_t>(opts.size, 128));
  HeartbeatMonitor monitor(opts, *loop, peer.ToString(), out, err, std::move(phi));
  ProbeSession session(cfg, *loop, monitor, scratch);
  monitor.set_session(&session);
  UDPBEAT_ASSIGN_OR_RETURN(uring::SocketId socket, loop->AddSocket(std::move(fd), &session));
  session.Attach(socket);
  loop->SetSignalHandler(&monitor);
  monitor.Start();
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  monitor.Finish();
  monitor.PrintSummary();
  return monitor.state() == detect::State::kDown ? kExitBadOutcome : kExitOk;
}

}  // namespace udpbeat
