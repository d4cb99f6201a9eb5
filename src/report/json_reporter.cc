#include "udpbeat/report/json_reporter.h"

#include <ostream>
#include <string>

#include "nlohmann/json.hpp"
#include "udpbeat/report/statistics_text.h"

namespace udpbeat::report {
namespace {

using nlohmann::json;

void AddDelays(json& j, const std::string& p, const measure::DelayFigures& d) {
  if (d.count == 0) return;
  j[p + "_min_ns"] = d.min;
  j[p + "_avg_ns"] = d.avg;
  j[p + "_max_ns"] = d.max;
  j[p + "_mdev_ns"] = d.mdev;
  j[p + "_p50_ns"] = d.p50;
  j[p + "_p90_ns"] = d.p90;
  j[p + "_p99_ns"] = d.p99;
  j[p + "_p999_ns"] = d.p999;
  j[p + "_jitter_ns"] = d.jitter;
}

json FiguresJson(const measure::Figures& f, Nanos elapsed) {
  json j = {{"sent", f.sent},
            {"received", f.received},
            {"lost", f.lost},
            {"loss_ratio", f.loss_ratio},
            {"late", f.late},
            {"duplicate", f.duplicate},
            {"reordered", f.reordered},
            {"malformed", f.malformed},
            {"unreachable", f.unreachable},
            {"local_drops", f.local_drops},
            {"longest_loss_burst", f.longest_loss_burst},
            {"elapsed_ns", elapsed}};
  AddDelays(j, "rtt", f.rtt);
  AddDelays(j, "send_lag", f.send_lag);
  if (f.stamp) {
    const measure::StampFigures& st = *f.stamp;
    j["residence_avg_ns"] = st.residence_avg;
    j["residence_max_ns"] = st.residence_max;
    j["clock_offset_ns"] = st.clock_offset;
    j["clock_offset_avg_ns"] = st.clock_offset_avg;
    AddDelays(j, "forward_raw", st.forward_raw);
    AddDelays(j, "backward_raw", st.backward_raw);
    AddDelays(j, "forward", st.forward);
    AddDelays(j, "backward", st.backward);
    j["reflector_stateful"] = st.reflector_stateful;
    if (st.reflector_stateful) {
      j["forward_lost"] = st.loss.forward;
      j["backward_lost"] = st.loss.backward;
      j["unattributed_lost"] = st.loss.unattributed;
    }
  }
  return j;
}

class JsonReporter final : public RunReporter {
 public:
  JsonReporter(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  void Reply(const measure::TargetInfo& t, const measure::ReplyEvent& r) override {
    static constexpr const char* kNames[] = {"reply", "late", "duplicate", "unknown"};
    json j = {{"event", kNames[static_cast<int>(r.kind)]},
              {"seq", r.seq},
              {"rtt_ns", r.rtt},
              {"bytes", r.bytes},
              {"reordered", r.reordered},
              {"received_unix_ns", r.received.nanos()},
              {"target", t.address}};
    if (r.ttl >= 0) j["ttl"] = r.ttl;
    if (r.has_time_difference) j["time_difference_s"] = r.time_difference;
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

  void Timeout(const measure::TargetInfo& t, const measure::TimeoutEvent& e) override {
    Emit({{"event", e.unreachable ? "unreachable" : "timeout"}, {"seq", e.seq},
          {"target", t.address}});
  }

  void Transition(const measure::TargetInfo& t, const detect::Transition& tr,
                  WallTime when) override {
    json j = {{"event", "state"},
              {"from", detect::StateName(tr.from)},
              {"to", detect::StateName(tr.to)},
              {"reason", tr.reason()},
              {"time_unix_ns", when.nanos()},
              {"time_in_previous_ns", tr.time_in_from},
              {"consecutive_misses", tr.consecutive_misses},
              {"target", t.address}};
    if (tr.cause == detect::Cause::kPhi || tr.cause == detect::Cause::kMissesAndPhi ||
        tr.phi > 0)
      j["phi"] = tr.phi;
    Emit(j);
  }

  void Interim(const measure::RunResult& r) override {
    err_ << InterimLine(r.total) << std::endl;
  }

  void Summary(const measure::RunResult& r) override {
    for (const measure::SessionResult& s : r.sessions) {
      json j = FiguresJson(s.figures, r.elapsed);
      j["event"] = "session";
      j["target"] = r.targets.empty() ? "" : r.targets[0].info.address;
      j["session"] = s.index;
      j["local_port"] = s.local_port;
      Emit(j);
    }
    json j = FiguresJson(r.total, r.elapsed);
    j["event"] = "summary";
    j["target"] = r.targets.empty() ? "" : r.targets[0].info.address;
    if (r.total_heartbeat) {
      const measure::HeartbeatFigures& h = *r.total_heartbeat;
      j["state"] = detect::StateName(h.state);
      j["outages"] = h.outages;
      j["time_down_ns"] = h.time_down;
      j["sessions"] = h.sessions;
      j["sessions_down"] = h.sessions_down;
    }
    Emit(j);
  }

 private:
  void Emit(const json& j) { out_ << j.dump() << std::endl; }

  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

std::unique_ptr<RunReporter> MakeJsonReporter(std::ostream& out, std::ostream& err) {
  return std::make_unique<JsonReporter>(out, err);
}

}  // namespace udpbeat::report
