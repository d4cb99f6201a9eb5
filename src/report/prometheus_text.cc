#include "udpbeat/report/prometheus_text.h"

#include <cmath>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/stats/bucket_counts.h"

namespace udpbeat::report {
namespace {

void AppendEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
}

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    // The shortest text that reads back as the same double, in the form Prometheus' Go
    // client writes (strconv 'g', shortest): exponent form below 1e-4 and from 1e21,
    // plain digits between ("1e-05", "0.0001", "10"). It matters for `le`: a bucket is
    // selected by its label's text, and le="0.0001" must match what agents write.
    char buf[64];
    const double a = std::fabs(v);
    const bool exponent = a != 0 && (a < 1e-4 || a >= 1e21);
    const auto r = std::to_chars(buf, buf + sizeof buf, v,
                                 exponent ? std::chars_format::scientific : std::chars_format::fixed);
    out.append(buf, r.ptr);
  }
}

double Seconds(Nanos ns) { return static_cast<double>(ns) / 1e9; }

// A rendered label set (`{...}`, or "") with path="index" after its labels.
std::string WithPath(std::string_view labels, size_t index) {
  std::string out(labels.empty() ? "{" : labels.substr(0, labels.size() - 1));
  if (!labels.empty()) out += ',';
  absl::StrAppend(&out, "path=\"", index, "\"}");
  return out;
}

// The Prometheus `le` of each fixed bucket bound, as text.
const std::vector<std::string>& BucketBounds() {
  static const std::vector<std::string> bounds = [] {
    std::vector<std::string> b;
    for (int64_t ns : stats::BucketCounts::kUpperBoundsNs) {
      std::string s;
      AppendValue(s, Seconds(ns));
      b.push_back(s);
    }
    b.push_back("+Inf");
    return b;
  }();
  return bounds;
}

}  // namespace

void MetricsText::Family(std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppend(&text_, "# HELP ", AbslView(name), " ", AbslView(help), "\n# TYPE ",
                  AbslView(name), " ", AbslView(type), "\n");
}

std::string MetricsText::RenderLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(&s, i > 0 ? "," : "", labels[i].first, "=\"");
    AppendEscaped(s, labels[i].second);
    s += '"';
  }
  s += '}';
  return s;
}

void MetricsText::Sample(std::string_view name, const MetricLabels& labels, double value) {
  Sample(name, RenderLabels(labels), value);
}

void MetricsText::Sample(std::string_view name, std::string_view labels, double value) {
  absl::StrAppend(&text_, AbslView(name), AbslView(labels), " ");
  AppendValue(text_, value);
  text_ += '\n';
}

void MetricsText::Sample(std::string_view name, std::string_view labels, uint64_t value) {
  absl::StrAppend(&text_, AbslView(name), AbslView(labels), " ", value, "\n");
}

// `name{labels...,key="label_value"}`: the rendered set with its closing brace replaced.
void MetricsText::Series(std::string_view name, std::string_view labels, std::string_view key,
                         std::string_view label_value) {
  text_.append(name);
  if (labels.empty()) {
    text_ += '{';
  } else {
    text_.append(labels.substr(0, labels.size() - 1));
    text_ += ',';
  }
  text_.append(key);
  text_ += "=\"";
  AppendEscaped(text_, label_value);
  text_ += "\"} ";
}

void MetricsText::Sample(std::string_view name, std::string_view labels, std::string_view key,
                         std::string_view label_value, double value) {
  Series(name, labels, key, label_value);
  AppendValue(text_, value);
  text_ += '\n';
}

void MetricsText::Sample(std::string_view name, std::string_view labels, std::string_view key,
                         std::string_view label_value, uint64_t value) {
  Series(name, labels, key, label_value);
  char buf[24];
  text_.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
  text_ += '\n';
}

std::string ClientMetrics(const measure::RunResult& r) {
  MetricsText m;
  // Each target's label set, rendered once.
  std::vector<std::string> labels;
  labels.reserve(r.targets.size());
  for (const measure::TargetResult& t : r.targets) {
    MetricLabels l = {{"target", t.info.name}};
    l.insert(l.end(), t.info.labels.begin(), t.info.labels.end());
    labels.push_back(MetricsText::RenderLabels(l));
  }
  // Reserved for the whole body, so that it never grows (a copy of tens of MB): about 40
  // lines per target, each its label set plus a name and a value of at most ~60 bytes.
  // Pages of the reservation that are not written are never touched.
  size_t label_bytes = 0;
  for (const std::string& l : labels) label_bytes += l.size();
  m.text().reserve(40 * (label_bytes + 64 * r.targets.size()) + 4096);
  const auto each = [&](auto&& f) {
    for (size_t i = 0; i < r.targets.size(); ++i) f(r.targets[i], labels[i]);
  };
  const auto counter = [&](const char* name, const char* help, auto get) {
    m.Family(name, "counter", help);
    each([&](const measure::TargetResult& t, const std::string& l) {
      m.Sample(name, l, static_cast<uint64_t>(get(t.figures)));
    });
  };
  const bool heartbeat = r.total_heartbeat.has_value();

  m.Family("udpbeat_build_info", "gauge", "Always 1; the version is a label.");
  m.Sample("udpbeat_build_info", "", "version", r.info.version, uint64_t{1});
  m.Family("udpbeat_targets", "gauge", "Targets watched now.");
  m.Sample("udpbeat_targets", "", static_cast<uint64_t>(r.targets.size()));
  if (r.targets_unresolved) {
    m.Family("udpbeat_targets_unresolved", "gauge",
             "Targets of the targets file left out: their names did not resolve at its last "
             "read.");
    m.Sample("udpbeat_targets_unresolved", "", *r.targets_unresolved);
  }
  if (r.reload) {
    m.Family("udpbeat_last_reload_successful", "gauge",
             "1 when the last read of the targets file was applied, 0 when it was refused.");
    m.Sample("udpbeat_last_reload_successful", "", uint64_t{r.reload->last_ok});
    m.Family("udpbeat_last_reload_success_timestamp_seconds", "gauge",
             "When a read of the targets file was last applied (at start, or on SIGHUP).");
    m.Sample("udpbeat_last_reload_success_timestamp_seconds", "",
             Seconds(r.reload->last_success.nanos()));
    m.Family("udpbeat_reload_failures_total", "counter",
             "Reads of the targets file refused, the targets left unchanged.");
    m.Sample("udpbeat_reload_failures_total", "", r.reload->failures);
  }

  m.Family("udpbeat_up", "gauge",
           heartbeat ? "1 when the failure detector says the target is up, 0 when suspect or down."
                     : "1 when the target answered at least one probe.");
  each([&](const measure::TargetResult& t, const std::string& l) {
    const bool up = t.heartbeat ? t.heartbeat->state == detect::State::kUp : t.figures.received > 0;
    m.Sample("udpbeat_up", l, uint64_t{up});
  });
  if (heartbeat) {
    m.Family("udpbeat_state", "gauge", "1 for the target's current state, 0 for the others.");
    each([&](const measure::TargetResult& t, const std::string& l) {
      for (detect::State st : {detect::State::kUp, detect::State::kSuspect, detect::State::kDown})
        m.Sample("udpbeat_state", l, "state", detect::StateName(st),
                 uint64_t{t.heartbeat->state == st});
    });
  }
  counter("udpbeat_probes_sent_total", "Probes sent.", [](const measure::Figures& f) { return f.sent; });
  counter("udpbeat_replies_total", "First replies received, on time or late.",
          [](const measure::Figures& f) { return f.received; });
  counter("udpbeat_probes_lost_total",
          "Probes never answered: past their timeout and out of the reply window, or at the end.",
          [](const measure::Figures& f) { return f.lost; });
  counter("udpbeat_send_errors_total",
          "Probes that never left this host (the send was refused locally): not in "
          "udpbeat_probes_sent_total, not lost.",
          [](const measure::Figures& f) { return f.send_errors; });
  counter("udpbeat_replies_late_total", "Replies that came after their probe's timeout.",
          [](const measure::Figures& f) { return f.late; });
  counter("udpbeat_replies_duplicate_total", "Replies after the first to the same probe.",
          [](const measure::Figures& f) { return f.duplicate; });
  counter("udpbeat_replies_dscp_changed_total",
          "First replies whose DSCP is not the probes' (remarked on the path, or a reflector "
          "that does not return the request's).",
          [](const measure::Figures& f) { return f.dscp_changed; });
  counter("udpbeat_replies_reordered_total",
          "First replies below the highest sequence number already answered.",
          [](const measure::Figures& f) { return f.reordered; });

  m.Family("udpbeat_rtt_seconds", "histogram", "Round-trip time of the replies.");
  const std::vector<std::string>& bounds = BucketBounds();
  each([&](const measure::TargetResult& t, const std::string& l) {
    const stats::BucketCounts& b = t.figures.rtt_buckets;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < stats::BucketCounts::kBuckets; ++i) {
      cumulative += b.in_bucket(i);
      m.Sample("udpbeat_rtt_seconds_bucket", l, "le", bounds[i], cumulative);
    }
    m.Sample("udpbeat_rtt_seconds_sum", l, Seconds(b.sum_ns()));
    m.Sample("udpbeat_rtt_seconds_count", l, cumulative);
  });
  m.Family("udpbeat_last_rtt_seconds", "gauge", "Round-trip time of the newest reply.");
  each([&](const measure::TargetResult& t, const std::string& l) {
    if (t.figures.last_rtt >= 0) m.Sample("udpbeat_last_rtt_seconds", l, Seconds(t.figures.last_rtt));
  });

  bool stamp = false;
  for (const measure::TargetResult& t : r.targets) stamp |= t.figures.stamp.has_value();
  if (stamp) {
    m.Family("udpbeat_one_way_delay_seconds", "gauge",
             "STAMP: the newest exchange's one-way delay, corrected by the clock offset.");
    each([&](const measure::TargetResult& t, const std::string& l) {
      if (!t.figures.stamp) return;
      m.Sample("udpbeat_one_way_delay_seconds", l, "direction", "forward",
               Seconds(t.figures.stamp->last_forward));
      m.Sample("udpbeat_one_way_delay_seconds", l, "direction", "backward",
               Seconds(t.figures.stamp->last_backward));
    });
    m.Family("udpbeat_clock_offset_seconds", "gauge",
             "STAMP: the reflector's clock minus ours, from the fastest exchange.");
    each([&](const measure::TargetResult& t, const std::string& l) {
      if (t.figures.stamp)
        m.Sample("udpbeat_clock_offset_seconds", l, Seconds(t.figures.stamp->clock_offset));
    });
  }
  if (heartbeat) {
    m.Family("udpbeat_state_changes_total", "counter", "Changes of the detector's state.");
    each([&](const measure::TargetResult& t, const std::string& l) {
      m.Sample("udpbeat_state_changes_total", l, t.heartbeat->state_changes);
    });
    m.Family("udpbeat_down_seconds_total", "counter", "Time the target spent down.");
    each([&](const measure::TargetResult& t, const std::string& l) {
      m.Sample("udpbeat_down_seconds_total", l, Seconds(t.heartbeat->time_down));
    });
  }
  bool paths = false;
  for (const measure::TargetResult& t : r.targets) paths |= !t.paths.empty();
  if (paths) {
    // A path is labelled by its index, not its source port: the kernel picks the port
    // anew on every start, and a label that changes on restart would start a new series
    // per path each time (cardinality churn). The port is in an info metric, to join on.
    m.Family("udpbeat_path_info", "gauge",
             "Always 1; src_port is the source port the path probes from (the kernel's "
             "choice, new on each start).");
    each([&](const measure::TargetResult& t, const std::string& l) {
      for (size_t i = 0; i < t.paths.size(); ++i)
        m.Sample("udpbeat_path_info", WithPath(l, i), "src_port",
                 absl::StrCat(t.paths[i].src_port), uint64_t{1});
    });
    m.Family("udpbeat_path_probes_sent_total", "counter", "Probes sent on each path.");
    each([&](const measure::TargetResult& t, const std::string& l) {
      for (size_t i = 0; i < t.paths.size(); ++i)
        m.Sample("udpbeat_path_probes_sent_total", WithPath(l, i), t.paths[i].sent);
    });
    m.Family("udpbeat_path_probes_lost_total", "counter", "Probes lost on each path.");
    each([&](const measure::TargetResult& t, const std::string& l) {
      for (size_t i = 0; i < t.paths.size(); ++i)
        m.Sample("udpbeat_path_probes_lost_total", WithPath(l, i), t.paths[i].lost);
    });
  }
  return std::move(m.text());
}

std::string ServeMetrics(const measure::ServeCounters& c, std::string_view version) {
  MetricsText m;
  const auto counter = [&](const char* name, const char* help, uint64_t v) {
    m.Family(name, "counter", help);
    m.Sample(name, "", v);
  };
  m.Family("udpbeat_build_info", "gauge", "Always 1; the version is a label.");
  m.Sample("udpbeat_build_info", "", "version", version, uint64_t{1});
  counter("udpbeat_serve_received_total", "Datagrams read.", c.received);
  counter("udpbeat_serve_replied_total", "Replies sent.", c.replied);
  counter("udpbeat_serve_dropped_total", "Requests dropped by the loss simulation.", c.dropped);
  counter("udpbeat_serve_malformed_total",
          "Datagrams that are no request of the reply mode (or whose reply would be larger).",
          c.malformed);
  counter("udpbeat_serve_rate_limited_total", "Requests over their source's rate limit.",
          c.rate_limited);
  counter("udpbeat_serve_refused_total",
          "Datagrams not answered lest two servers answer each other forever.", c.refused);
  counter("udpbeat_serve_unauthenticated_total",
          "Authenticated mode: requests without an HMAC that verifies (another key, "
          "altered, or unsigned), not answered.",
          c.unauthenticated);
  counter("udpbeat_serve_delay_queue_full_total",
          "Requests not answered because the delayed replies waiting filled their bound "
          "(bytes or count).",
          c.delay_full);
  counter("udpbeat_serve_send_errors_total", "Replies the kernel refused.", c.send_errors);
  counter("udpbeat_serve_kernel_drops_total",
          "Datagrams the kernel dropped (socket receive buffer full), not in received.",
          c.kernel_drops);
  counter("udpbeat_serve_peer_evictions_total", "Peers forgotten because the table was full.",
          c.peer_evictions);
  m.Family("udpbeat_serve_peers", "gauge", "Peers in the per-peer tables.");
  m.Sample("udpbeat_serve_peers", "", c.peers);
  return std::move(m.text());
}

}  // namespace udpbeat::report
