#include "udpbeat/report/prometheus_text.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "udpbeat/base/absl_view.h"

namespace udpbeat::report {
namespace {

// Label values escape backslash, double quote and newline (exposition format spec).
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void MetricsText::Family(std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppend(&text_, "# HELP ", AbslView(name), " ", AbslView(help), "\n# TYPE ",
                  AbslView(name), " ", AbslView(type), "\n");
}

void MetricsText::Sample(std::string_view name, const MetricLabels& labels, double value) {
  absl::StrAppend(&text_, AbslView(name));
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&text_, i > 0 ? "," : "", labels[i].first, "=\"",
                      Escape(labels[i].second), "\"");
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", FormatValue(value), "\n");
}

std::string HeartbeatMetrics(const measure::RunResult& r) {
  const measure::Figures& s = r.total;
  const measure::HeartbeatFigures h = r.total_heartbeat.value_or(measure::HeartbeatFigures{});
  const std::string target = r.targets.empty() ? "" : r.targets[0].info.address;
  const MetricLabels l = {{"target", target}};
  MetricsText m;
  m.Family("udpbeat_heartbeats_sent_total", "counter", "Heartbeats sent.");
  m.Sample("udpbeat_heartbeats_sent_total", l, static_cast<double>(s.sent));
  m.Family("udpbeat_heartbeats_received_total", "counter",
           "Heartbeats answered (on time or late).");
  m.Sample("udpbeat_heartbeats_received_total", l, static_cast<double>(s.received));
  m.Family("udpbeat_heartbeats_timed_out_total", "counter",
           "Heartbeats with no reply within the timeout.");
  m.Sample("udpbeat_heartbeats_timed_out_total", l, static_cast<double>(s.timed_out));
  m.Family("udpbeat_heartbeats_lost_total", "counter", "Heartbeats never answered.");
  m.Sample("udpbeat_heartbeats_lost_total", l, static_cast<double>(s.lost));
  m.Family("udpbeat_heartbeats_late_total", "counter", "Replies after their timeout.");
  m.Sample("udpbeat_heartbeats_late_total", l, static_cast<double>(s.late));
  size_t in_state[3] = {0, 0, 0};
  for (const measure::TargetResult& t : r.targets) {
    if (t.heartbeat) {
      in_state[static_cast<int>(t.heartbeat->state)] += 1;
    }
  }
  const size_t sessions_down = h.sessions_down;
  m.Family("udpbeat_peer_up", "gauge",
           "1 when the peer is up (in every session), 0 when suspect or down.");
  m.Sample("udpbeat_peer_up", l, h.state == detect::State::kUp && sessions_down == 0 ? 1 : 0);
  m.Family("udpbeat_peer_state", "gauge", "Sessions whose peer is in each state.");
  for (detect::State st : {detect::State::kUp, detect::State::kSuspect, detect::State::kDown}) {
    m.Sample("udpbeat_peer_state", {{"target", target}, {"state", std::string(StateName(st))}},
             static_cast<double>(in_state[static_cast<int>(st)]));
  }
  m.Family("udpbeat_peer_outages_total", "counter", "Transitions into down.");
  m.Sample("udpbeat_peer_outages_total", l, h.outages);
  m.Family("udpbeat_rtt_seconds", "summary", "Round-trip time of heartbeats.");
  const std::pair<double, Nanos> quantiles[] = {
      {0.5, s.rtt.p50}, {0.9, s.rtt.p90}, {0.99, s.rtt.p99}, {0.999, s.rtt.p999}};
  for (const auto& [q, v] : quantiles) {
    m.Sample("udpbeat_rtt_seconds", {{"target", target}, {"quantile", absl::StrFormat("%g", q)}},
             static_cast<double>(v) / 1e9);
  }
  m.Sample("udpbeat_rtt_seconds_sum", l, s.rtt.avg * static_cast<double>(s.rtt.count) / 1e9);
  m.Sample("udpbeat_rtt_seconds_count", l, static_cast<double>(s.rtt.count));
  return m.text();
}

std::string ServeMetrics(const measure::ServeCounters& c) {
  MetricsText m;
  const MetricLabels none;
  const auto counter = [&](const char* name, const char* help, uint64_t v) {
    m.Family(name, "counter", help);
    m.Sample(name, none, static_cast<double>(v));
  };
  counter("udpbeat_serve_received_total", "Datagrams read.", c.received);
  counter("udpbeat_serve_replied_total", "Replies sent.", c.replied);
  counter("udpbeat_serve_dropped_total", "Requests dropped by the loss simulation.", c.dropped);
  counter("udpbeat_serve_malformed_total", "Datagrams that could not be answered.", c.malformed);
  counter("udpbeat_serve_rate_limited_total", "Requests over their source's rate limit.",
          c.rate_limited);
  counter("udpbeat_serve_refused_total",
          "Datagrams not answered lest two servers answer each other forever.", c.refused);
  counter("udpbeat_serve_send_errors_total", "Replies the kernel refused.", c.send_errors);
  counter("udpbeat_serve_kernel_drops_total", "Datagrams the kernel dropped (buffer full).",
          c.kernel_drops);
  counter("udpbeat_serve_peer_evictions_total", "Peers forgotten because the table was full.",
          c.peer_evictions);
  m.Family("udpbeat_serve_peers", "gauge", "Peers in the per-peer tables.");
  m.Sample("udpbeat_serve_peers", none, static_cast<double>(c.peers));
  return m.text();
}

}  // namespace udpbeat::report
