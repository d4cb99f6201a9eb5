// Statistics engine benchmarks. main() is in bench/main.cc.
#include <cstdint>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "udpbeat/stats/histogram.h"
#include "udpbeat/stats/session_stats.h"

namespace udpbeat::stats {
namespace {

// RTT-like samples (log-normal around 500 us), precomputed so the loop
// measures recording, not the generator.
std::vector<int64_t> RttSamples(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(13.1, 0.5);
  std::vector<int64_t> out(n);
  for (int64_t& v : out) v = static_cast<int64_t>(dist(rng));
  return out;
}

// One RTT into summary + histogram + jitter (target < 10 ns).
void BM_SessionStatsRecordRtt(benchmark::State& state) {
  const std::vector<int64_t> samples = RttSamples(4096, 1);
  SessionStats stats;
  size_t i = 0;
  for (auto _ : state) {
    stats.RecordRtt(samples[i++ & 4095]);
  }
  benchmark::DoNotOptimize(stats.rtt().summary().mean());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionStatsRecordRtt);

// The full per-probe path: OnSent + OnReply (classify + record).
void BM_SessionStatsSendAndReply(benchmark::State& state) {
  const std::vector<int64_t> samples = RttSamples(4096, 2);
  SessionStats stats;
  uint32_t seq = 0;
  int64_t now = 0;
  for (auto _ : state) {
    stats.OnSent(seq, now, now + 1'000'000'000);
    benchmark::DoNotOptimize(stats.OnReply(seq, now + samples[seq & 4095]));
    ++seq;
    now += 1'000'000;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionStatsSendAndReply);

void BM_HistogramRecord(benchmark::State& state) {
  const std::vector<int64_t> samples = RttSamples(4096, 3);
  LogHistogram h;
  size_t i = 0;
  for (auto _ : state) h.Record(samples[i++ & 4095]);
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramPercentile(benchmark::State& state) {
  LogHistogram h;
  for (int64_t v : RttSamples(1'000'000, 4)) h.Record(v);
  double p = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(h.Percentile(p));
    p = p >= 99.9 ? 0 : p + 0.7;
  }
}
BENCHMARK(BM_HistogramPercentile);

// Merging 10,000 sessions (each 100 RTTs, finished) into one aggregate.
void BM_MergeTenThousandSessions(benchmark::State& state) {
  constexpr int kSessions = 10'000;
  std::vector<SessionStats> sessions;
  sessions.reserve(kSessions);
  const std::vector<int64_t> samples = RttSamples(100 * kSessions, 5);
  for (int s = 0; s < kSessions; ++s) {
    sessions.emplace_back(16);
    SessionStats& st = sessions.back();
    for (uint32_t seq = 0; seq < 100; ++seq) {
      const int64_t rtt = samples[s * 100 + seq];
      st.OnSent(seq, seq * 1'000'000LL, seq * 1'000'000LL + 1'000'000'000);
      if (seq % 17 != 0) st.OnReply(seq, seq * 1'000'000LL + rtt);
    }
    st.Finish();
  }
  for (auto _ : state) {
    SessionStats total(1);
    for (const SessionStats& st : sessions) total.Merge(st);
    benchmark::DoNotOptimize(total.rtt().histogram().Percentile(99));
  }
  state.SetItemsProcessed(state.iterations() * kSessions);
}
BENCHMARK(BM_MergeTenThousandSessions)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace udpbeat::stats
