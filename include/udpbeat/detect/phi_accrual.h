// PhiAccrualDetector: the phi accrual failure detector of Hayashibara, Défago,
// Yared and Katayama, "The φ Accrual Failure Detector" (SRDS 2004), computed
// exactly as Akka's akka.remote.PhiAccrualFailureDetector does.
//
// Inputs are heartbeat arrival times; the detector keeps the last
// `max_sample_size` inter-arrival intervals and answers, at any time `now`,
// how suspicious the silence since the last heartbeat is:
//
//   t       = now - last_arrival
//   mean'   = mean(intervals) + acceptable_heartbeat_pause
//   sd      = max(stddev(intervals), min_std_deviation)   (population stddev)
//   y       = (t - mean') / sd
//   e       = exp(-y * (1.5976 + 0.070566 * y^2))
//   phi     = -log10(e / (1 + e))        if t > mean'
//           = -log10(1 - 1 / (1 + e))    otherwise
//
// 1 / (1 + e) is the logistic approximation of the normal CDF (Bowling et al.
// 2009, as Akka uses it), so phi = -log10(P(an interval is longer than t)).
// Both branches equal log10(1 + exp(z)) with z = y * (1.5976 + 0.070566 y^2);
// Phi() evaluates that softplus form, which matches Akka's doubles wherever
// they are finite and stays finite where Akka's exp() overflows to Infinity
// (y beyond about 21): phi is always a finite, strictly increasing function
// of t (for y above about 1.2e5 it is z / ln 10, still increasing).
//
// Like Akka:
//   - The history starts seeded with two intervals, first_heartbeat_estimate
//     -/+ first_heartbeat_estimate / 4 (mean = the estimate, stddev = a
//     quarter of it); the first Heartbeat() only sets the reference time.
//     The seeds age out of the window like real intervals.
//   - A heartbeat that arrives while phi >= threshold (the peer was already
//     judged unavailable) moves the reference time but its interval is not
//     recorded: one long pause would skew the statistics.
//   - Phi() is 0 before the first heartbeat (an unmonitored peer is healthy).
//
// Statistics: a fixed-size ring of intervals (int64 ns) with running sum and
// sum of squares, as Akka keeps them; here they are exact unsigned 128-bit
// integers, so there is no rounding drift as intervals enter and leave the
// window, and the variance n*sum(x^2) - sum(x)^2 is formed exactly before one
// division (no cancellation either; this is why it is not Welford, whose
// removal step drifts). Recorded intervals are capped at kMaxInterval and the
// window at kMaxSampleSize so the 128-bit sums cannot overflow.
//
// Differences from Akka, none observable with sane inputs: times are ns, not
// ms (Akka truncates to ms); an arrival earlier than the previous one is
// ignored entirely rather than recorded as a negative interval.
//
// A pure value: no I/O, no clock reads, never throws; Heartbeat() and Phi()
// are O(1) and do not allocate (Create() allocates the window once). Not
// thread-safe: one owner (the session that receives the replies). Copyable
// and movable; a moved-from detector may only be assigned to or destroyed.
#ifndef UDPBEAT_DETECT_PHI_ACCRUAL_H_
#define UDPBEAT_DETECT_PHI_ACCRUAL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::detect {

// Akka's defaults (akka.remote.watch-failure-detector / cluster failure
// detector), tuned for 1 s heartbeats. For other intervals scale the times;
// see the note on fast intervals below.
struct PhiAccrualOptions {
  static constexpr double kDefaultThreshold = 8.0;
  static constexpr int kDefaultMaxSampleSize = 1000;
  static constexpr Nanos kDefaultMinStdDeviation = 100 * kNanosPerMilli;
  static constexpr Nanos kDefaultAcceptableHeartbeatPause = 3 * kNanosPerSecond;
  static constexpr Nanos kDefaultFirstHeartbeatEstimate = 1 * kNanosPerSecond;

  double threshold = kDefaultThreshold;               // > 0
  int max_sample_size = kDefaultMaxSampleSize;        // 1 .. kMaxSampleSize
  Nanos min_std_deviation = kDefaultMinStdDeviation;  // > 0
  Nanos acceptable_heartbeat_pause = kDefaultAcceptableHeartbeatPause;  // >= 0
  Nanos first_heartbeat_estimate = kDefaultFirstHeartbeatEstimate;      // > 0

  // Fast intervals: with the defaults and 20 ms heartbeats, phi reaches 8
  // only about 3.5 s after the last one (the 3 s pause dominates), and until
  // the seeds age out of the 1000-interval window the 1 s first estimate
  // inflates mean and stddev. Set first_heartbeat_estimate to the heartbeat
  // interval and scale the pause and min stddev with it (e.g. pause 0 and
  // min stddev interval/4: phi crosses 8 at ~2.3 intervals of silence).
};

class PhiAccrualDetector {
 public:
  // Largest accepted window, and the cap on one recorded interval (~73 min):
  // together they bound the 128-bit sums (n * sum(x^2) < 2^124).
  static constexpr int kMaxSampleSize = 1 << 20;
  static constexpr Nanos kMaxInterval = Nanos{1} << 42;

  // Akka's defaults.
  PhiAccrualDetector();

  // InvalidArgument, naming the option, when `options` are out of range.
  static absl::StatusOr<PhiAccrualDetector> Create(
      const PhiAccrualOptions& options);
  static absl::Status Validate(const PhiAccrualOptions& options);

  PhiAccrualDetector(PhiAccrualDetector&&) = default;
  PhiAccrualDetector& operator=(PhiAccrualDetector&&) = default;
  PhiAccrualDetector(const PhiAccrualDetector&) = default;
  PhiAccrualDetector& operator=(const PhiAccrualDetector&) = default;

  // A heartbeat arrived at `arrival`. The first call only sets the reference;
  // later ones record arrival - previous (unless unavailable, see above).
  void Heartbeat(MonoTime arrival) noexcept;

  // Suspicion at `now`, >= 0; 0 before the first heartbeat. A `now` before
  // the last arrival counts as zero time elapsed.
  double Phi(MonoTime now) const noexcept;

  // Phi(now) < threshold.
  bool IsAvailable(MonoTime now) const noexcept {
    return Phi(now) < options_.threshold;
  }

  // True once a heartbeat has arrived (Akka's isMonitoring).
  bool is_monitoring() const { return has_last_; }
  MonoTime last_heartbeat() const { return last_; }
  double threshold() const { return options_.threshold; }
  const PhiAccrualOptions& options() const { return options_; }

  // The window's statistics, in ns (seeds included while they are in it).
  size_t sample_count() const { return size_; }
  double mean() const noexcept;
  double std_deviation() const noexcept;  // population, before the minimum

  // Akka's phi(timeDiff, mean, stdDeviation) with mean already including the
  // acceptable pause; all in the same unit. Exposed for tests and docs.
  static double PhiOf(double time_diff, double mean, double std_dev) noexcept;

 private:
  explicit PhiAccrualDetector(const PhiAccrualOptions& options);
  void ResetHistory() noexcept;
  void Record(Nanos interval) noexcept;

  // GCC/Clang extension; __extension__ keeps -Wpedantic quiet.
  __extension__ using Uint128 = unsigned __int128;

  PhiAccrualOptions options_;
  std::vector<Nanos> ring_;  // capacity max_sample_size, oldest at head_
  size_t head_ = 0;
  size_t size_ = 0;
  Uint128 sum_ = 0;
  Uint128 sum_sq_ = 0;
  MonoTime last_;
  bool has_last_ = false;
};

}  // namespace udpbeat::detect

#endif  // UDPBEAT_DETECT_PHI_ACCRUAL_H_
