// The /metrics body of a fleet: ClientMetrics over 10,000 heartbeat targets (issue 13:
// a scrape of 10,000 targets in at most 250 ms, compression included), its gzip, and what
// the endpoint's body cache makes of a scrape: the first of a snapshot, a later one.
// main() is in bench/main.cc.
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "udpbeat/http/gzip.h"
#include "udpbeat/http/metrics_body_cache.h"
#include "udpbeat/http/metrics_endpoint.h"
#include "udpbeat/measure/run_result.h"
#include "udpbeat/report/prometheus_text.h"

namespace udpbeat::report {
namespace {

measure::RunResult Fleet(size_t n) {
  measure::RunResult r;
  r.info.mode = "heartbeat";
  r.info.proto = ProbeProto::kStamp;
  r.info.version = "0.0.0";
  r.total_heartbeat = measure::HeartbeatFigures{};
  for (size_t i = 0; i < n; ++i) {
    measure::TargetResult t;
    t.info.name = absl::StrCat("127.", (i >> 16) & 255, ".", (i >> 8) & 255, ".", i & 255, ":9000");
    t.info.labels = {{"rack", absl::StrCat("r", i % 40)}};
    t.figures.sent = 3600 + i;
    t.figures.received = 3590 + i;
    t.figures.lost = 10;
    for (int k = 0; k < 50; ++k) t.figures.rtt_buckets.Record(20'000 + 1'000 * k + static_cast<int64_t>(i));
    t.figures.last_rtt = 31'000;
    t.figures.stamp = measure::StampFigures{};
    t.heartbeat = measure::HeartbeatFigures{};
    r.targets.push_back(std::move(t));
  }
  return r;
}

void BM_ClientMetrics10kTargets(benchmark::State& state) {
  const measure::RunResult r = Fleet(10'000);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string body = ClientMetrics(r);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_ClientMetrics10kTargets)->Unit(benchmark::kMillisecond);

// What a scrape that accepts gzip (Prometheus' do) adds to the rendering above.
void BM_Gzip10kTargets(benchmark::State& state) {
  const std::string body = ClientMetrics(Fleet(10'000));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::optional<std::string> gz = http::Gzip(body);
    bytes = gz ? gz->size() : 0;
    benchmark::DoNotOptimize(gz);
  }
  state.counters["gzip_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_Gzip10kTargets)->Unit(benchmark::kMillisecond);

// The heartbeat's snapshot as the endpoint sees it: a fleet, published under a version.
class FleetSource final : public http::MetricsSource {
 public:
  FleetSource() : fleet_(Fleet(10'000)) {}
  uint64_t Version() const override { return version_; }
  std::string Render() const override { return ClientMetrics(fleet_); }
  void Publish() { ++version_; }

 private:
  const measure::RunResult fleet_;
  uint64_t version_ = 1;
};

// A scrape's body as the endpoint gets it from its cache, gzip accepted (arg 1, as
// Prometheus) or not (arg 0). BM_FirstScrape: every scrape sees a new snapshot, so it
// renders (and compresses); BM_CachedScrape: the scrapes after the first of a snapshot
// (an HA pair, several scrapers): the response is sent from the shared body as it is.
void BM_FirstScrape10kTargets(benchmark::State& state) {
  FleetSource source;
  http::MetricsBodyCache cache(source, http::MetricsEndpoint::kGzipMinBytes);
  size_t bytes = 0;
  for (auto _ : state) {
    source.Publish();
    const http::MetricsBodyCache::Reply r = cache.Get(state.range(0) != 0);
    bytes = r.body->size();
    benchmark::DoNotOptimize(r.body->data());
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_FirstScrape10kTargets)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_CachedScrape10kTargets(benchmark::State& state) {
  FleetSource source;
  http::MetricsBodyCache cache(source, http::MetricsEndpoint::kGzipMinBytes);
  const bool gzip = state.range(0) != 0;
  const size_t bytes = cache.Get(gzip).body->size();
  for (auto _ : state) {
    const http::MetricsBodyCache::Reply r = cache.Get(gzip);
    benchmark::DoNotOptimize(r.body->data());
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_CachedScrape10kTargets)->Arg(0)->Arg(1);

}  // namespace
}  // namespace udpbeat::report
