// BucketCounts: how many values fell at or below each of fixed upper bounds, and their
// exact sum: a Prometheus histogram's _bucket/_sum/_count. The bounds are the same for
// every agent and every target, so Prometheus can add buckets across them and take
// quantiles of the sum (LogHistogram's buckets are finer but not Prometheus-shaped).
//
// Bounds: 10 µs to 10 s in a 1-2.5-5 series (19 bounds, then +Inf), in ns.
//
// A pure value, 168 bytes, no allocation; Record() is O(log bounds). One writer.
#ifndef UDPBEAT_STATS_BUCKET_COUNTS_H_
#define UDPBEAT_STATS_BUCKET_COUNTS_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace udpbeat::stats {

class BucketCounts {
 public:
  static constexpr std::array<int64_t, 19> kUpperBoundsNs = {
      10'000,        25'000,        50'000,        100'000,       250'000,
      500'000,       1'000'000,     2'500'000,     5'000'000,     10'000'000,
      25'000'000,    50'000'000,    100'000'000,   250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
  static constexpr size_t kBuckets = kUpperBoundsNs.size() + 1;  // the last is +Inf

  void Record(int64_t value_ns) noexcept {
    const auto it = std::lower_bound(kUpperBoundsNs.begin(), kUpperBoundsNs.end(), value_ns);
    ++counts_[static_cast<size_t>(it - kUpperBoundsNs.begin())];
    sum_ns_ += value_ns;
  }
  void Merge(const BucketCounts& other) noexcept {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    sum_ns_ += other.sum_ns_;
  }

  // Values in bucket i alone (i == kBuckets - 1: above the last bound).
  uint64_t in_bucket(size_t i) const { return counts_[i]; }
  // Values at or below bound i (i == kBuckets - 1: all of them), as Prometheus' le.
  uint64_t cumulative(size_t i) const {
    uint64_t n = 0;
    for (size_t k = 0; k <= i; ++k) n += counts_[k];
    return n;
  }
  uint64_t count() const { return cumulative(kBuckets - 1); }
  int64_t sum_ns() const { return sum_ns_; }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  int64_t sum_ns_ = 0;
};

}  // namespace udpbeat::stats

#endif  // UDPBEAT_STATS_BUCKET_COUNTS_H_
