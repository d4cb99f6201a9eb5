#include "udpbeat/stats/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

namespace udpbeat::stats {

LogHistogram::LogHistogram(const LogHistogram& other) { CopyFrom(other); }

LogHistogram& LogHistogram::operator=(const LogHistogram& other) {
  if (this != &other) CopyFrom(other);
  return *this;
}

LogHistogram::LogHistogram(LogHistogram&& other) noexcept {
  *this = std::move(other);
}

LogHistogram& LogHistogram::operator=(LogHistogram&& other) noexcept {
  if (this == &other) return *this;
  counters_ = std::move(other.counters_);
  count_ = other.count_;
  underflow_ = other.underflow_;
  overflow_ = other.overflow_;
  dropped_ = other.dropped_;
  min_ = other.min_;
  max_ = other.max_;
  num_blocks_ = other.num_blocks_;
  std::memcpy(slot_of_block_, other.slot_of_block_, sizeof(slot_of_block_));
  // The slot map must not outlive the counters it indexes.
  other.Reset();
  return *this;
}

void LogHistogram::CopyFrom(const LogHistogram& other) {
  const size_t n = size_t{other.num_blocks_} * kSubBuckets;
  std::unique_ptr<uint64_t[]> counters;
  if (n > 0) {
    counters.reset(new uint64_t[n]);
    std::memcpy(counters.get(), other.counters_.get(), n * sizeof(uint64_t));
  }
  counters_ = std::move(counters);
  count_ = other.count_;
  underflow_ = other.underflow_;
  overflow_ = other.overflow_;
  dropped_ = other.dropped_;
  min_ = other.min_;
  max_ = other.max_;
  num_blocks_ = other.num_blocks_;
  std::memcpy(slot_of_block_, other.slot_of_block_, sizeof(slot_of_block_));
}

void LogHistogram::Reset() noexcept {
  counters_.reset();
  count_ = underflow_ = overflow_ = dropped_ = 0;
  min_ = max_ = 0;
  num_blocks_ = 0;
  std::memset(slot_of_block_, kNoSlot, sizeof(slot_of_block_));
}

uint8_t LogHistogram::AddBlock(int block) noexcept {
  // Grow by exactly one block: memory stays proportional to the octaves a
  // session actually spans, and this runs at most kNumBlocks times.
  const size_t old_n = size_t{num_blocks_} * kSubBuckets;
  uint64_t* grown = new (std::nothrow) uint64_t[old_n + kSubBuckets];
  if (grown == nullptr) return kNoSlot;
  if (old_n > 0) std::memcpy(grown, counters_.get(), old_n * sizeof(uint64_t));
  std::memset(grown + old_n, 0, kBlockBytes);
  counters_.reset(grown);
  const uint8_t slot = num_blocks_++;
  slot_of_block_[block] = slot;
  return slot;
}

void LogHistogram::Merge(const LogHistogram& other) noexcept {
  if (other.count_ == 0 && other.underflow_ == 0 && other.overflow_ == 0 &&
      other.dropped_ == 0) {
    return;
  }
  if (this == &other) {
    // src would alias dst in the loop below and count doubled values.
    for (size_t i = 0; i < size_t{num_blocks_} * kSubBuckets; ++i) {
      counters_[i] *= 2;
    }
    count_ *= 2;
    underflow_ *= 2;
    overflow_ *= 2;
    dropped_ *= 2;
    return;
  }
  uint64_t merged = 0;
  for (int block = 0; block < kNumBlocks; ++block) {
    const uint8_t theirs = other.slot_of_block_[block];
    if (theirs == kNoSlot) continue;
    const uint64_t* src = &other.counters_[size_t{theirs} << kSubBucketBits];
    uint8_t ours = slot_of_block_[block];
    if (ours == kNoSlot) ours = AddBlock(block);
    if (ours == kNoSlot) {
      for (int i = 0; i < kSubBuckets; ++i) dropped_ += src[i];
      continue;
    }
    uint64_t* dst = &counters_[size_t{ours} << kSubBucketBits];
    for (int i = 0; i < kSubBuckets; ++i) {
      dst[i] += src[i];
      merged += src[i];
    }
  }
  if (merged > 0) {
    // other's min/max are only meaningful for the blocks we could merge; on
    // the (OOM-only) partial path they may overstate the range slightly.
    if (count_ == 0) {
      min_ = other.min_;
      max_ = other.max_;
    } else {
      min_ = std::min(min_, other.min_);
      max_ = std::max(max_, other.max_);
    }
  }
  count_ += merged;
  underflow_ += other.underflow_;
  overflow_ += other.overflow_;
  dropped_ += other.dropped_;
}

void LogHistogram::Subtract(const LogHistogram& part) noexcept {
  if (part.count_ == 0 && part.underflow_ == 0 && part.overflow_ == 0) return;
  if (this == &part) {
    Reset();
    return;
  }
  uint64_t removed = 0;
  int first = -1, last = -1;  // the remaining samples' lowest and highest bucket
  for (int block = 0; block < kNumBlocks; ++block) {
    const uint8_t ours = slot_of_block_[block];
    if (ours == kNoSlot) continue;
    uint64_t* dst = &counters_[size_t{ours} << kSubBucketBits];
    const uint8_t theirs = part.slot_of_block_[block];
    const uint64_t* src =
        theirs == kNoSlot ? nullptr : &part.counters_[size_t{theirs} << kSubBucketBits];
    for (int i = 0; i < kSubBuckets; ++i) {
      if (src != nullptr) {
        const uint64_t n = std::min(dst[i], src[i]);
        dst[i] -= n;
        removed += n;
      }
      if (dst[i] == 0) continue;
      const int index = (block << kSubBucketBits) + i;
      if (first < 0) first = index;
      last = index;
    }
  }
  count_ -= removed;
  underflow_ -= std::min(underflow_, part.underflow_);
  overflow_ -= std::min(overflow_, part.overflow_);
  if (count_ == 0) {
    min_ = max_ = 0;
    return;
  }
  if (part.count_ > 0 && part.min_ <= min_) min_ = std::max(min_, BucketLow(first));
  if (part.count_ > 0 && part.max_ >= max_)
    max_ = std::min(max_, BucketLow(last) + BucketWidth(last) - 1);
}

uint64_t LogHistogram::NearestRank(double p, uint64_t n) {
  if (n == 0) return 0;
  if (!(p > 0.0)) return 1;  // also NaN
  if (p >= 100.0) return n;
  // p * n first, then / 100: keeps e.g. 99.9% of 10^6 at exactly 999000.
  const double r = std::ceil(p * static_cast<double>(n) / 100.0);
  if (r < 1.0) return 1;
  if (r >= static_cast<double>(n)) return n;
  return static_cast<uint64_t>(r);
}

int64_t LogHistogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  const uint64_t rank = NearestRank(p, count_);
  if (rank <= 1) return min_;
  if (rank >= count_) return max_;
  uint64_t seen = 0;
  for (int block = 0; block < kNumBlocks; ++block) {
    const uint8_t slot = slot_of_block_[block];
    if (slot == kNoSlot) continue;
    const uint64_t* counts = &counters_[size_t{slot} << kSubBucketBits];
    for (int i = 0; i < kSubBuckets; ++i) {
      seen += counts[i];
      if (seen >= rank) {
        const int64_t mid = BucketMidpoint((block << kSubBucketBits) + i);
        return std::clamp(mid, min_, max_);
      }
    }
  }
  return max_;
}

}  // namespace udpbeat::stats
