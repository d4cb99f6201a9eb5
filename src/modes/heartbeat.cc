#include "udpbeat/modes/heartbeat.h"

#include <ostream>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/detect/peer_state.h"
#include "udpbeat/engine/probe_session.h"
#include "udpbeat/engine/session_aggregate.h"
#include "udpbeat/engine/session_group.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/report/metrics_file.h"
#include "udpbeat/report/ping_reporter.h"
#include "udpbeat/report/svg_plot.h"
#include "udpbeat/uring/event_loop.h"

namespace udpbeat {
namespace {

enum TimerCookie : uint64_t { kMetricsTimer = 1, kPhiTimer = 2 };

std::string Timestamp(WallTime t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixNanos(t.nanos()),
                          absl::UTCTimeZone());
}

// The failure detectors of one session.
struct PeerWatch {
  PeerWatch(int misses, detect::PhiAccrualDetector phi_detector, MonoTime start)
      : miss(misses), phi(std::move(phi_detector)), state(start) {}
  detect::MissDetector miss;
  detect::PhiAccrualDetector phi;
  detect::PeerStateMachine state;
  // The newest heartbeat answered on time: a timeout of an older one (sent while the
  // peer was down, expiring after it came back) says nothing about the peer now.
  std::optional<uint32_t> newest_answered;
  bool Stale(uint32_t seq) const {
    return newest_answered && static_cast<int32_t>(seq - *newest_answered) < 0;
  }
};

class HeartbeatMonitor final : public ProbeObserver,
                               public uring::SignalHandler,
                               public TimerHandler {
 public:
  HeartbeatMonitor(const HeartbeatOptions& opts, uring::EventLoop& loop, std::string target,
                   std::ostream& out, std::ostream& err, const detect::PhiAccrualDetector& phi)
      : opts_(opts),
        loop_(loop),
        clock_(loop.clock()),
        target_(std::move(target)),
        out_(out),
        err_(err),
        phi_template_(phi),
        start_(loop.clock().Now()) {}

  void set_group(SessionGroup* g) {
    group_ = g;
    watches_.clear();
    for (size_t i = 0; i < g->size(); ++i) watches_.emplace_back(opts_.misses, phi_template_, start_);
  }

  void Start() {
    if (!opts_.metrics_file.empty()) WriteMetrics();
    if (!opts_.metrics_file.empty())
      loop_.ScheduleAt(clock_.Now() + opts_.metrics_period, this, kMetricsTimer);
    if (opts_.phi) loop_.ScheduleAt(clock_.Now() + opts_.interval, this, kPhiTimer);
    group_->Start();
  }

  void OnReply(ProbeSession& s, const ReplyInfo& r) override {
    if (!opts_.plot_file.empty() && r.kind != ReplyClass::kDuplicate)
      plot_.AddRtt(clock_.Now() - start_, r.rtt);
    PeerWatch& w = watches_[s.index()];
    if (r.kind == ReplyClass::kOnTime) {
      if (!w.newest_answered || static_cast<int32_t>(r.seq - *w.newest_answered) > 0)
        w.newest_answered = r.seq;
      w.miss.OnReply();
      w.phi.Heartbeat(clock_.Now());
      Report(s.index(), w.state.OnReply(clock_.Now()));
    }
    if (!single()) return;  // per-heartbeat output follows one session only
    if (opts_.json) {
      Emit(ReplyJson(r, target_));
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

  void OnTimeout(ProbeSession& s, uint32_t seq, bool unreachable) override {
    if (!opts_.plot_file.empty()) plot_.AddTimeout(clock_.Now() - start_);
    const bool stale = watches_[s.index()].Stale(seq);
    if (!stale) watches_[s.index()].miss.OnMiss();
    if (!single()) {
      if (!stale) Evaluate(s.index());
      return;
    }
    if (opts_.json) {
      Emit({{"event", unreachable ? "unreachable" : "timeout"}, {"seq", seq}, {"target", target_}});
    } else if (!opts_.quiet) {
      out_ << absl::StrFormat("Heartbeat %d: Request timed out%s", seq,
                              unreachable ? " (port unreachable)" : "")
           << std::endl;
    }
    if (!stale) Evaluate(s.index());
  }

  void OnDone(ProbeSession&) override {
    if (++done_ == group_->size()) Stop();
  }

  void OnTimer(uint64_t cookie) noexcept override {
    if (loop_.stopping()) return;
    if (cookie == kMetricsTimer) {
      WriteMetrics();
      loop_.ScheduleAt(clock_.Now() + opts_.metrics_period, this, kMetricsTimer);
    } else if (cookie == kPhiTimer) {
      // Phi grows continuously between heartbeats: look at it a few times per interval.
      for (size_t i = 0; i < watches_.size(); ++i) Evaluate(i);
      loop_.ScheduleAt(clock_.Now() + opts_.interval / 4, this, kPhiTimer);
    }
  }

  void OnSignal(int signo) noexcept override {
    if (signo == SIGQUIT) {
      stats::SessionStats agg(1);
      for (size_t i = 0; i < group_->size(); ++i) agg.Merge(group_->session(i).stats());
      err_ << InterimLine(agg) << ", peers down " << DownCount() << "/" << group_->size()
           << std::endl;
      return;
    }
    Stop();
  }

  void Finish() {
    group_->FinishAll();
    if (!opts_.metrics_file.empty()) WriteMetrics();
  }

  void PrintSummary() {
    const MonoTime now = clock_.Now();
    const SessionAggregate aggregate = SessionAggregate::Of(*group_, false);
    uint64_t unreachable = 0;
    int outages = 0;
    Nanos down = 0;
    for (size_t i = 0; i < group_->size(); ++i) {
      outages += watches_[i].state.outages();
      down += watches_[i].state.TimeDown(now);
    }
    unreachable = aggregate.unreachable;
    const stats::SessionStats& agg = aggregate.stats;
    const StampSummary& stamp = aggregate.stamp;
    const StampSummary* st = opts_.proto == ProbeProto::kStamp ? &stamp : nullptr;
    const std::string_view end_state =
        single() ? detect::StateName(watches_[0].state.state()) : (DownCount() > 0 ? "down" : "up");
    if (opts_.json) {
      PingSummary p;
      p.stats = &agg;
      p.stamp = st;
      p.unreachable = unreachable;
      p.local_drops = loop_.counters().kernel_drops;
      p.send_lag = &aggregate.send_lag;
      p.elapsed = now - start_;
      nlohmann::json j = SummaryJson(p, target_);
      j["state"] = end_state;
      j["outages"] = outages;
      j["time_down_ns"] = down;
      j["sessions"] = group_->size();
      j["sessions_down"] = DownCount();
      Emit(j);
      return;
    }
    // The lab's statistics lines (its percentage is Python's float repr; ours %.1f).
    out_ << "\n--- Heartbeat statistics ---\n"
         << absl::StrFormat("Packets: Sent = %d, Received = %d, Lost = %d (%.1f%% packet loss)\n",
                            agg.sent(), agg.received(), agg.lost(), 100.0 * agg.loss_ratio());
    if (const uint64_t drops = loop_.counters().kernel_drops; drops > 0) {
      out_ << absl::StrFormat(
          "of the lost, %d were dropped on this host (socket receive buffer full), not in the "
          "network\n",
          std::min(drops, agg.lost()));
    }
    WriteRichStatistics(agg, st, out_);
    if (single()) {
      out_ << absl::StrFormat("peer %s at the end, %d outages, %.3f s down\n", end_state, outages,
                              static_cast<double>(down) / 1e9);
    } else {
      out_ << absl::StrFormat("%d sessions, %d down at the end, %d outages, %.3f s down in all\n",
                              group_->size(), DownCount(), outages,
                              static_cast<double>(down) / 1e9);
    }
    out_.flush();
  }

  bool AnyDown() const { return DownCount() > 0; }

  absl::Status WritePlot() const {
    stats::LogHistogram h;
    for (size_t i = 0; i < group_->size(); ++i) h.Merge(group_->session(i).stats().rtt().histogram());
    return plot_.WriteSvg(opts_.plot_file,
                          absl::StrFormat("udpbeat heartbeat %s (%s)", target_, ProbeProtoName(opts_.proto)), h);
  }

 private:
  bool single() const { return group_->size() == 1; }

  size_t DownCount() const {
    size_t n = 0;
    for (const PeerWatch& w : watches_) n += w.state.state() == detect::State::kDown;
    return n;
  }

  void Evaluate(size_t i) {
    PeerWatch& w = watches_[i];
    const detect::Verdicts v =
        detect::Verdicts::Read(w.miss, opts_.phi ? &w.phi : nullptr, clock_.Now());
    Report(i, w.state.Evaluate(v, clock_.Now()));
  }

  void Report(size_t session, const std::optional<detect::Transition>& t) {
    if (!t) return;
    const std::string who =
        single() ? target_ : absl::StrFormat("%s (session %d)", target_, session);
    const WallTime when = clock_.NowWall();
    if (opts_.json) {
      nlohmann::json j = {{"event", "state"},
                          {"session", session},
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
      out_ << absl::StrFormat("%s peer %s is %s (%s)", Timestamp(when), who,
                              detect::StateName(t->to), t->reason());
      if (t->to == detect::State::kUp && t->from == detect::State::kDown)
        out_ << absl::StrFormat(" after %.3f s down", static_cast<double>(t->time_in_from) / 1e9);
      out_ << std::endl;
    }
    if (t->to == detect::State::kDown) {
      if (!opts_.json) {
        // The lab's line when the lab's rule fired; phi's own reason otherwise.
        if (t->cause == detect::Cause::kPhi) {
          out_ << absl::StrFormat("Server is down! %s after %d missed heartbeat responses.",
                                  t->reason(), t->consecutive_misses);
        } else {
          out_ << absl::StrFormat("Server is down! %d consecutive heartbeat responses were missed.",
                                  t->consecutive_misses);
        }
        out_ << std::endl;
      }
      if (opts_.exit_on_down) Stop();
    }
  }

  void WriteMetrics() {
    stats::SessionStats s(1);
    for (size_t i = 0; i < group_->size(); ++i) s.Merge(group_->session(i).stats());
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
    size_t in_state[3] = {0, 0, 0};
    int outages = 0;
    for (const PeerWatch& w : watches_) {
      ++in_state[static_cast<int>(w.state.state())];
      outages += w.state.outages();
    }
    m.Family("udpbeat_peer_up", "gauge",
             "1 when the peer is up (in every session), 0 when suspect or down.");
    m.Sample("udpbeat_peer_up", l, in_state[0] == watches_.size() ? 1 : 0);
    m.Family("udpbeat_peer_state", "gauge", "Sessions whose peer is in each state.");
    for (detect::State st : {detect::State::kUp, detect::State::kSuspect, detect::State::kDown}) {
      m.Sample("udpbeat_peer_state", {{"target", target_}, {"state", std::string(StateName(st))}},
               static_cast<double>(in_state[static_cast<int>(st)]));
    }
    m.Family("udpbeat_peer_outages_total", "counter", "Transitions into down.");
    m.Sample("udpbeat_peer_outages_total", l, outages);
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
    for (size_t i = 0; i < group_->size(); ++i) group_->session(i).StopSending();
    loop_.Stop();
  }

  void Emit(const nlohmann::json& j) { out_ << j.dump() << std::endl; }

  const HeartbeatOptions& opts_;
  uring::EventLoop& loop_;
  const Clock& clock_;
  std::string target_;
  std::ostream& out_;
  std::ostream& err_;
  detect::PhiAccrualDetector phi_template_;
  SessionGroup* group_ = nullptr;
  std::vector<PeerWatch> watches_;
  PlotRecorder plot_;
  size_t done_ = 0;
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
  // Akka's defaults are for 1 s heartbeats; they scale with the interval so that a
  // 20 ms heartbeat is judged on its own time scale (first estimate = the interval).
  po.acceptable_heartbeat_pause = opts.phi_pause ? *opts.phi_pause : 3 * opts.interval;
  po.min_std_deviation = std::max<Nanos>(opts.interval / 10, 1);
  po.first_heartbeat_estimate = opts.interval;
  UDPBEAT_ASSIGN_OR_RETURN(detect::PhiAccrualDetector phi, detect::PhiAccrualDetector::Create(po));
  UDPBEAT_ASSIGN_OR_RETURN(auto loop, uring::EventLoop::Create(ClientLoopOptions(opts.sessions, opts.size),
                                                             SystemClock::Get()));

  SessionGroupOptions go;
  go.sessions = std::max<uint32_t>(opts.sessions, 1);
  go.sockets = opts.sockets;
  ProbeSessionConfig& cfg = go.session;
  cfg.proto = opts.proto;
  cfg.heartbeat = true;
  cfg.size = opts.size;
  cfg.interval = opts.interval;  // a fixed schedule whatever the replies do
  cfg.timeout = opts.timeout ? *opts.timeout : opts.interval;
  cfg.count = opts.count;
  cfg.first_seq = opts.proto == ProbeProto::kStamp ? 0 : 1;
  HeartbeatMonitor monitor(opts, *loop, peer.ToString(), out, err, phi);
  UDPBEAT_ASSIGN_OR_RETURN(auto group, SessionGroup::Create(go, peer, *loop, monitor));
  monitor.set_group(group.get());
  loop->SetSignalHandler(&monitor);
  monitor.Start();
  UDPBEAT_RETURN_IF_ERROR(loop->Run());
  monitor.Finish();
  monitor.PrintSummary();
  if (!opts.plot_file.empty()) UDPBEAT_RETURN_IF_ERROR(monitor.WritePlot());
  return monitor.AnyDown() ? kExitBadOutcome : kExitOk;
}

}  // namespace udpbeat
