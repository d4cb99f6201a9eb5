// InterarrivalJitter: RFC 3550 §6.4.1 interarrival jitter (computed as in
// Appendix A.8, in floating point instead of A.8's scaled integers).
//
// For successive samples S_{i-1}, S_i (transit times, or RTTs in reply
// arrival order; int64 ns) the difference D = S_i - S_{i-1} updates
//   J += (|D| - J) / 16
// starting from J = 0. The first sample only primes S_{i-1}. jitter_ns() is J.
//
// Merge: jitter of independent sessions has no exact combined meaning (there
// is no "previous sample" across sessions). Merging defines the result as the
// sample-count-weighted mean of the per-session jitters,
//   J = (J_a * n_a + J_b * n_b) / (n_a + n_b),
// with count() = n_a + n_b. A later Add() continues from this object's last
// sample (or the other's, if this one had none).
//
// A pure value: no I/O, no allocation, never throws; one writer.
#ifndef UDPBEAT_STATS_JITTER_H_
#define UDPBEAT_STATS_JITTER_H_

#include <cstdint>

namespace udpbeat::stats {

class InterarrivalJitter {
 public:
  InterarrivalJitter() = default;

  void Add(int64_t sample_ns) noexcept {
    if (count_ > 0) {
      // |D| in unsigned arithmetic: exact, and no overflow at the extremes.
      const uint64_t abs_d_ns = sample_ns >= last_ns_
                                    ? static_cast<uint64_t>(sample_ns) -
                                          static_cast<uint64_t>(last_ns_)
                                    : static_cast<uint64_t>(last_ns_) -
                                          static_cast<uint64_t>(sample_ns);
      const double abs_d = static_cast<double>(abs_d_ns);
      jitter_ns_ += (abs_d - jitter_ns_) * (1.0 / 16.0);
    }
    last_ns_ = sample_ns;
    ++count_;
  }

  // See the file comment: count-weighted mean of the two jitters.
  void Merge(const InterarrivalJitter& other) noexcept;

  void Reset() noexcept { *this = InterarrivalJitter(); }

  double jitter_ns() const { return jitter_ns_; }
  uint64_t count() const { return count_; }  // samples added (or merged)

 private:
  double jitter_ns_ = 0.0;
  int64_t last_ns_ = 0;
  uint64_t count_ = 0;
};

}  // namespace udpbeat::stats

#endif  // UDPBEAT_STATS_JITTER_H_
