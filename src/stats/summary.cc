#include "udpbeat/stats/summary.h"

#include <cmath>

namespace udpbeat::stats {

void RunningSummary::Add(double x) noexcept {
  ++count_;
  if (count_ == 1) {
    min_ = max_ = mean_ = x;
    m2_ = 0.0;
    return;
  }
  if (x < min_) min_ = x;
  if (x > max_) max_ = x;
  const double delta = x - mean_;
  mean_ += delta / static_cast<double>(count_);
  // Uses the updated mean on one side: Welford's form, never negative.
  m2_ += delta * (x - mean_);
}

void RunningSummary::Merge(const RunningSummary& other) noexcept {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  const double na = static_cast<double>(count_);
  const double nb = static_cast<double>(other.count_);
  const double n = na + nb;
  const double delta = other.mean_ - mean_;
  // Chan et al.: weight the mean shift by the other's share; the cross term
  // restores the variance between the two groups' means.
  mean_ += delta * (nb / n);
  m2_ += other.m2_ + delta * delta * (na * nb / n);
  count_ += other.count_;
  if (other.min_ < min_) min_ = other.min_;
  if (other.max_ > max_) max_ = other.max_;
}

double RunningSummary::variance() const {
  if (count_ == 0) return 0.0;
  return m2_ / static_cast<double>(count_);
}

double RunningSummary::mdev() const { return std::sqrt(variance()); }

}  // namespace udpbeat::stats
