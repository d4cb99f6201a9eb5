#include "udpbeat/detect/phi_accrual.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"

namespace udpbeat::detect {

PhiAccrualDetector::PhiAccrualDetector()
    : PhiAccrualDetector(PhiAccrualOptions{}) {}

PhiAccrualDetector::PhiAccrualDetector(const PhiAccrualOptions& options)
    : options_(options), ring_(static_cast<size_t>(options.max_sample_size)) {
  ResetHistory();
}

absl::Status PhiAccrualDetector::Validate(const PhiAccrualOptions& o) {
  // Written so that NaN fails too.
  if (!(o.threshold > 0.0) || !std::isfinite(o.threshold))
    return absl::InvalidArgumentError(
        absl::StrCat("phi threshold ", o.threshold, ": must be > 0"));
  if (o.max_sample_size < 1 || o.max_sample_size > kMaxSampleSize)
    return absl::InvalidArgumentError(
        absl::StrCat("phi max sample size ", o.max_sample_size, ": must be 1..",
                     kMaxSampleSize));
  if (o.min_std_deviation <= 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "phi min std deviation ", o.min_std_deviation, " ns: must be > 0"));
  if (o.acceptable_heartbeat_pause < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("phi acceptable heartbeat pause ",
                     o.acceptable_heartbeat_pause, " ns: must be >= 0"));
  // The larger seed, estimate * 5/4, must fit under kMaxInterval.
  constexpr Nanos kMaxEstimate = kMaxInterval / 5 * 4;
  if (o.first_heartbeat_estimate <= 0 ||
      o.first_heartbeat_estimate > kMaxEstimate)
    return absl::InvalidArgumentError(absl::StrCat(
        "phi first heartbeat estimate ", o.first_heartbeat_estimate,
        " ns: must be 1..", kMaxEstimate));
  return absl::OkStatus();
}

absl::StatusOr<PhiAccrualDetector> PhiAccrualDetector::Create(
    const PhiAccrualOptions& options) {
  if (absl::Status s = Validate(options); !s.ok()) return s;
  return PhiAccrualDetector(options);
}

void PhiAccrualDetector::ResetHistory() noexcept {
  head_ = 0;
  size_ = 0;
  sum_ = 0;
  sum_sq_ = 0;
  // Akka: mean = estimate, stdDeviation = mean / 4 (integer division, as
  // Akka's Long millis), history :+ (mean - sd) :+ (mean + sd).
  const Nanos mean = options_.first_heartbeat_estimate;
  const Nanos sd = mean / 4;
  Record(mean - sd);
  Record(mean + sd);
}

void PhiAccrualDetector::Record(Nanos interval) noexcept {
  const Nanos x = std::clamp<Nanos>(interval, 0, kMaxInterval);
  const Uint128 ux = static_cast<Uint128>(x);
  const size_t capacity = ring_.size();
  if (size_ == capacity) {
    const Uint128 old = static_cast<Uint128>(ring_[head_]);
    sum_ -= old;
    sum_sq_ -= old * old;
    ring_[head_] = x;
    head_ = (head_ + 1) % capacity;
  } else {
    ring_[(head_ + size_) % capacity] = x;
    ++size_;
  }
  sum_ += ux;
  sum_sq_ += ux * ux;
}

void PhiAccrualDetector::Heartbeat(MonoTime arrival) noexcept {
  if (!has_last_) {
    // Akka: a heartbeat from a new resource starts from the seeded history.
    ResetHistory();
    last_ = arrival;
    has_last_ = true;
    return;
  }
  if (arrival < last_) return;  // out of order: never a negative interval
  // Akka: the first heartbeat after a failure is not used for the history,
  // since the long pause would skew the statistics.
  if (IsAvailable(arrival)) Record(arrival - last_);
  last_ = arrival;
}

double PhiAccrualDetector::mean() const noexcept {
  return static_cast<double>(sum_) / static_cast<double>(size_);
}

double PhiAccrualDetector::std_deviation() const noexcept {
  // Population variance sum(x^2)/n - mean^2 = (n*sum(x^2) - sum(x)^2) / n^2,
  // the numerator exact in 128 bits (>= 0 by Cauchy-Schwarz).
  const Uint128 n = size_;
  const Uint128 numerator = n * sum_sq_ - sum_ * sum_;
  const double nd = static_cast<double>(size_);
  return std::sqrt(static_cast<double>(numerator) / (nd * nd));
}

double PhiAccrualDetector::PhiOf(double time_diff, double mean,
                                 double std_dev) noexcept {
  const double y = (time_diff - mean) / std_dev;
  const double z = y * (1.5976 + 0.070566 * y * y);
  // -log10(e / (1 + e)) with e = exp(-z) is log10(1 + exp(z)); the softplus
  // is split by sign so exp() never overflows.
  const double softplus =
      z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
  return softplus / std::numbers::ln10;
}

double PhiAccrualDetector::Phi(MonoTime now) const noexcept {
  if (!has_last_) return 0.0;
  const Nanos elapsed = std::max<Nanos>(now - last_, 0);
  const double mean_with_pause =
      mean() + static_cast<double>(options_.acceptable_heartbeat_pause);
  const double sd = std::max(std_deviation(),
                             static_cast<double>(options_.min_std_deviation));
  return PhiOf(static_cast<double>(elapsed), mean_with_pause, sd);
}

}  // namespace udpbeat::detect
