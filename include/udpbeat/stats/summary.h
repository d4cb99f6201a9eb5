// RunningSummary: count, min, max, mean and population standard deviation of a
// stream of doubles, in O(1) memory, mergeable across sessions and threads.
//
// Mean and variance use Welford's running method (not sum and sum of squares,
// which cancel catastrophically); Merge uses Chan, Golub and LeVeque's parallel
// formula, so merging summaries of any split of a stream equals the summary of
// the whole stream up to rounding.
//
// A pure value: no I/O, no clock reads, no allocation, never throws. Not
// thread-safe: one owner (a session, or a loop thread) writes it; merge copies
// across threads.
#ifndef UDPBEAT_STATS_SUMMARY_H_
#define UDPBEAT_STATS_SUMMARY_H_

#include <cstdint>

namespace udpbeat::stats {

class RunningSummary {
 public:
  RunningSummary() = default;

  // Adds one sample. O(1), no allocation.
  void Add(double x) noexcept;

  // Folds `other` into this summary, as if this had seen other's samples too.
  void Merge(const RunningSummary& other) noexcept;

  // Forgets every sample.
  void Reset() noexcept { *this = RunningSummary(); }
  // Adds `d` to every sample seen (mean, min, max move; the spread does not).
  void Shift(double d) noexcept {
    if (count_ == 0) return;
    mean_ += d;
    min_ += d;
    max_ += d;
  }

  // All accessors return 0 on an empty summary.
  uint64_t count() const { return count_; }
  double min() const { return count_ == 0 ? 0.0 : min_; }
  double max() const { return count_ == 0 ? 0.0 : max_; }
  double mean() const { return mean_; }
  // Population variance: sum((x - mean)^2) / count.
  double variance() const;
  // mdev: the POPULATION standard deviation, sqrt(variance()), the figure
  // iputils ping(8) prints as "mdev".
  double mdev() const;

 private:
  uint64_t count_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;  // sum of squared deviations from the running mean
  double min_ = 0.0;
  double max_ = 0.0;
};

}  // namespace udpbeat::stats

#endif  // UDPBEAT_STATS_SUMMARY_H_
