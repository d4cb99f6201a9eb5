#include "udpbeat/report/json_reporter.h"

#include <cmath>
#include <ostream>
#include <string>

#include "nlohmann/json.hpp"
#include "udpbeat/report/statistics_text.h"

namespace udpbeat::report {
namespace {

using nlohmann::json;

// One unit convention: integer nanoseconds, whatever the figure's own type.
int64_t Ns(double v) { return static_cast<int64_t>(std::llround(v)); }

void AddDelays(json& j, const std::string& p, const measure::DelayFigures& d) {
  if (d.count == 0) return;
  j[p + "_min_ns"] = d.min;
  j[p + "_avg_ns"] = Ns(d.avg);
  j[p + "_max_ns"] = d.max;
  j[p + "_mdev_ns"] = Ns(d.mdev);
  j[p + "_p50_ns"] = d.p50;
  j[p + "_p90_ns"] = d.p90;
  j[p + "_p99_ns"] = d.p99;
  j[p + "_p999_ns"] = d.p999;
  j[p + "_jitter_ns"] = Ns(d.jitter);
}

json FiguresJson(const measure::Figures& f, Nanos elapsed) {
  json j = {{"sent", f.sent},
            {"received", f.received},
            {"lost", f.lost},
            {"in_flight", f.in_flight},
            {"loss_ratio", f.loss_ratio},
            {"late", f.late},
            {"dscp_changed", f.dscp_changed},
            {"duplicate", f.duplicate},
            {"reordered", f.reordered},
            {"malformed", f.malformed},
            {"unreachable", f.unreachable},
            {"local_drops", f.local_drops},
            {"skipped", f.skipped},
            {"send_errors", f.send_errors},
            {"longest_loss_burst", f.longest_loss_burst},
            {"kernel_timestamped", f.kernel_t1},
            {"elapsed_ns", elapsed}};
  AddDelays(j, "rtt", f.rtt);
  AddDelays(j, "send_lag", f.send_lag);
  if (f.stamp) {
    const measure::StampFigures& st = *f.stamp;
    j["residence_avg_ns"] = Ns(st.residence_avg);
    j["residence_max_ns"] = st.residence_max;
    j["clock_offset_ns"] = st.clock_offset;
    j["clock_offset_avg_ns"] = Ns(st.clock_offset_avg);
    AddDelays(j, "forward_raw", st.forward_raw);
    AddDelays(j, "backward_raw", st.backward_raw);
    AddDelays(j, "forward", st.forward);
    AddDelays(j, "backward", st.backward);
    j["reflector_stateful"] = st.reflector_stateful;
    j["follow_up_t3"] = f.follow_up_t3;
    j["follow_up_refused"] = f.follow_up_refused;
    if (st.reflector_stateful) {
      j["forward_lost"] = st.loss.forward;
      j["backward_lost"] = st.loss.backward;
      j["unattributed_lost"] = st.loss.unattributed;
    }
  }
  return j;
}

// Every event names its target and carries its labels.
void AddTarget(json& j, const measure::TargetInfo& t) {
  j["target"] = t.name;  // as the user wrote it, like the metrics' target label
  if (t.address != t.name) j["address"] = t.address;
  if (!t.labels.empty()) {
    json labels = json::object();
    for (const auto& [k, v] : t.labels) labels[k] = v;
    j["labels"] = labels;
  }
}

// Every target with its fields, in order (the start and reload events).
json TargetsJson(const std::vector<measure::TargetInfo>& targets) {
  json a = json::array();
  for (const measure::TargetInfo& x : targets) {
    json o;
    AddTarget(o, x);
    a.push_back(o);
  }
  return a;
}

// Each path with its index (the `path` label of the metrics, stable across restarts) and
// its source port (the kernel's choice, new on each start).
json PathsJson(const std::vector<measure::PathFigures>& paths) {
  json a = json::array();
  for (size_t i = 0; i < paths.size(); ++i) {
    const measure::PathFigures& p = paths[i];
    a.push_back({{"path", i},
                 {"src_port", p.src_port},
                 {"sent", p.sent},
                 {"received", p.received},
                 {"lost", p.lost},
                 {"loss_ratio", p.loss_ratio}});
  }
  return a;
}

void AddHeartbeat(json& j, const measure::HeartbeatFigures& h) {
  j["state"] = detect::StateName(h.state);
  j["outages"] = h.outages;
  j["state_changes"] = h.state_changes;
  j["time_down_ns"] = h.time_down;
  j["sessions"] = h.sessions;
  j["sessions_down"] = h.sessions_down;
}

class JsonReporter final : public RunReporter {
 public:
  JsonReporter(std::ostream& out, std::ostream& err) : RunReporter(err), out_(out) {}

  void Start(const measure::RunInfo& info,
             const std::vector<measure::TargetInfo>& targets) override {
    json j = {{"event", "start"},
              {"version", info.version},
              {"mode", info.mode},
              {"protocol", std::string(ProbeProtoName(info.proto))},
              {"targets", TargetsJson(targets)},
              {"timeout_ns", info.timeout},
              {"size", info.size},
              {"sessions", info.sessions},
              {"start_unix_ns", info.start.nanos()},
              {"timestamps", info.timestamps},
              {"follow_up", info.follow_up}};
    // No interval: the lab's rhythm, the next probe once the last one is settled.
    j["interval_ns"] = info.interval ? json(*info.interval) : json(nullptr);
    Emit(j);
  }

  void Reply(const measure::TargetInfo& t, const measure::ReplyEvent& r) override {
    static constexpr const char* kNames[] = {"reply", "late", "duplicate", "unknown"};
    json j = {{"event", kNames[static_cast<int>(r.kind)]},
              {"seq", r.seq},
              {"rtt_ns", r.rtt},
              {"bytes", r.bytes},
              {"reordered", r.reordered},
              {"sent_unix_ns", r.sent.nanos()},
              {"received_unix_ns", r.received.nanos()}};
    AddTarget(j, t);
    if (r.ttl >= 0) j["ttl"] = r.ttl;
    if (r.tos >= 0) j["tos"] = r.tos;
    if (r.has_time_difference) j["time_difference_ns"] = Ns(r.time_difference * 1e9);
    if (r.has_timestamps) {
      j["residence_ns"] = r.residence;
      j["clock_offset_ns"] = r.clock_offset;
      j["forward_ns"] = r.forward;
      j["backward_ns"] = r.backward;
      j["reflector_seq"] = r.reflector_seq;
      j["reflector_ttl"] = r.reflector_ttl;
    }
    Emit(j);
  }

  void FollowUp(const measure::TargetInfo& t, const measure::FollowUpEvent& e) override {
    json j = {{"event", "follow_up"},
              {"seq", e.seq},
              {"reflector_seq", e.reflector_seq},
              {"sent_unix_ns", e.sent.nanos()},
              {"t3_unix_ns", e.t3.nanos()},
              {"t3_estimate_unix_ns", e.t3_estimate.nanos()},
              {"rtt_ns", e.rtt},
              {"residence_ns", e.residence},
              {"backward_ns", e.backward}};
    AddTarget(j, t);
    Emit(j);
  }

  void Timeout(const measure::TargetInfo& t, const measure::TimeoutEvent& e) override {
    json j = {{"event", e.send_error != 0 ? "send_error" : e.unreachable ? "unreachable" : "timeout"},
              {"seq", e.seq},
              {"sent_unix_ns", e.sent.nanos()},
              {"time_unix_ns", e.at.nanos()}};
    if (e.send_error != 0) {
      j["errno"] = e.send_error;
      j["error"] = ErrorText(e.send_error);
    }
    AddTarget(j, t);
    Emit(j);
  }

  void Transition(const measure::TargetInfo& t, const detect::Transition& tr,
                  WallTime when) override {
    Emit(StateJson(t, tr, when));
  }

  void SessionTransition(const measure::TargetInfo& t, const measure::SessionRef& s,
                         const detect::Transition& tr, WallTime when) override {
    json j = StateJson(t, tr, when);
    // The keys of the session event, so the two can be joined.
    j["session"] = s.index;
    j["local_port"] = s.local_port;
    Emit(j);
  }

  static json StateJson(const measure::TargetInfo& t, const detect::Transition& tr,
                        WallTime when) {
    json j = {{"event", "state"},
              {"from", detect::StateName(tr.from)},
              {"to", detect::StateName(tr.to)},
              {"reason", tr.reason()},
              {"time_unix_ns", when.nanos()},
              {"time_in_previous_ns", tr.time_in_from},
              {"consecutive_misses", tr.consecutive_misses}};
    AddTarget(j, t);
    if (tr.cause == detect::Cause::kPhi || tr.cause == detect::Cause::kMissesAndPhi ||
        tr.phi > 0)
      j["phi"] = tr.phi;
    return j;
  }

  void Reloaded(const std::string& file, const std::vector<measure::TargetInfo>& targets,
                size_t before, size_t /*unresolved*/, WallTime when) override {
    Emit({{"event", "reload"},
          {"file", file},
          {"targets", TargetsJson(targets)},
          {"targets_before", before},
          {"time_unix_ns", when.nanos()}});
  }

  void Unresolved(const measure::UnresolvedTarget& u, WallTime when) override {
    Emit({{"event", "unresolved"},
          {"file", u.file},
          {"line", u.line},
          {"target", u.target},
          {"error", u.error},
          {"time_unix_ns", when.nanos()}});
  }

  void Interim(const measure::RunResult& r) override {
    err() << InterimLine(r.total) << std::endl;
  }

  void Summary(const measure::RunResult& r) override {
    const measure::TargetInfo* only = r.targets.size() == 1 ? &r.targets[0].info : nullptr;
    for (const measure::SessionResult& s : r.sessions) {
      json j = FiguresJson(s.figures, r.elapsed);
      j["event"] = "session";
      // Named like every other event, so sessions of several targets can be told apart.
      if (s.target < r.targets.size()) AddTarget(j, r.targets[s.target].info);
      j["session"] = s.index;
      j["local_port"] = s.local_port;
      Emit(j);
    }
    // Several targets: one object each, then the summary of all of them.
    if (only == nullptr) {
      for (const measure::TargetResult& t : r.targets) {
        json j = FiguresJson(t.figures, r.elapsed);
        j["event"] = "target";
        AddTarget(j, t.info);
        if (t.heartbeat) AddHeartbeat(j, *t.heartbeat);
        if (!t.paths.empty()) j["paths"] = PathsJson(t.paths);
        Emit(j);
      }
    }
    json j = FiguresJson(r.total, r.elapsed);
    j["event"] = "summary";
    if (only != nullptr) {
      AddTarget(j, *only);
      if (!r.targets[0].paths.empty()) j["paths"] = PathsJson(r.targets[0].paths);
    } else {
      j["targets"] = r.targets.size();
    }
    if (r.total_heartbeat) AddHeartbeat(j, *r.total_heartbeat);
    Emit(j);
  }

 private:
  void Emit(const json& j) { out_ << j.dump() << std::endl; }

  std::ostream& out_;
};

}  // namespace

std::unique_ptr<RunReporter> MakeJsonReporter(std::ostream& out, std::ostream& err) {
  return std::make_unique<JsonReporter>(out, err);
}

}  // namespace udpbeat::report
