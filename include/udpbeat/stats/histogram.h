// LogHistogram: a log-linear histogram of int64 nanosecond values for
// percentiles with bounded relative error, mergeable across sessions/threads.
//
// Buckets. Values 1..127 each have their own bucket (exact). Above that, every
// power of two [2^k, 2^(k+1)), k = 7..37, is split into 64 equal buckets of
// width 2^(k-6). A percentile is reported as its bucket's midpoint, so its
// error is at most half a bucket width: |reported - v| / v <= 1/128 (0.79%) for
// EVERY value v, and 0 below 128. The range is [1, kMaxValue], kMaxValue =
// 2^38 - 1 ns (about 275 s). Out-of-range values are clamped and counted:
//   - v < 1 (0 or negative) is recorded as 1 and counted in underflow_count();
//   - v > kMaxValue is recorded as kMaxValue and counted in overflow_count().
// min() and max() are of the recorded (clamped) values.
//
// Memory. The 33 blocks of 64 counters (block 0 = values 0..63, block 1 =
// 64..127, block k >= 2 = the octave [2^(k+5), 2^(k+6))) are allocated lazily,
// on the first sample in the block, in one array that grows by one block
// (512 B) at a time. A session whose values span 2-3 octaves costs
// sizeof(LogHistogram) + 2-3 * 512 B (about 1-1.6 KiB); the bound is
// kLogHistogramMaxMemoryBytes (16,992 B). An empty histogram owns no heap.
//
// Errors. Nothing throws. Record() is O(1) and allocates only on the first
// sample of a block (at most 33 times in a histogram's life); if that
// allocation fails the sample is dropped and counted in dropped_count() (not
// in count()). Merge() may allocate likewise. Copying allocates with operator
// new (copies are not made on the hot path).
//
// Thread: one writer; not internally synchronized. Copyable and movable (a
// moved-from histogram is empty).
#ifndef UDPBEAT_STATS_HISTOGRAM_H_
#define UDPBEAT_STATS_HISTOGRAM_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace udpbeat::stats {

class LogHistogram {
 public:
  static constexpr int kSubBucketBits = 6;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;  // 64 per block
  static constexpr int kTopBit = 37;                       // covers 2^37 ns
  static constexpr int64_t kMaxValue = (int64_t{1} << (kTopBit + 1)) - 1;
  static constexpr int kNumBlocks = kTopBit - 4;                // 33
  static constexpr int kNumBuckets = kNumBlocks * kSubBuckets;  // 2112
  static constexpr size_t kBlockBytes = kSubBuckets * sizeof(uint64_t);
  static constexpr size_t kMaxHeapBytes = kNumBlocks * kBlockBytes;  // 16,896

  LogHistogram() = default;
  LogHistogram(const LogHistogram& other);
  LogHistogram& operator=(const LogHistogram& other);
  LogHistogram(LogHistogram&& other) noexcept;
  LogHistogram& operator=(LogHistogram&& other) noexcept;
  ~LogHistogram() = default;

  // Records one value (clamped to [1, kMaxValue], see above).
  // `n` copies of `value` (n > 0): merging a shifted histogram re-records its buckets.
  void Record(int64_t value, uint64_t n = 1) noexcept {
    if (value < 1) [[unlikely]] {
      value = 1;
      underflow_ += n;
    } else if (value > kMaxValue) [[unlikely]] {
      value = kMaxValue;
      overflow_ += n;
    }
    const int index = BucketIndex(value);
    const int block = index >> kSubBucketBits;
    uint8_t slot = slot_of_block_[block];
    if (slot == kNoSlot) [[unlikely]] {
      slot = AddBlock(block);
      if (slot == kNoSlot) {
        dropped_ += n;
        return;
      }
    }
    counters_[(size_t{slot} << kSubBucketBits) + (index & (kSubBuckets - 1))] += n;
    if (count_ == 0) {
      min_ = max_ = value;
    } else {
      if (value < min_) min_ = value;
      if (value > max_) max_ = value;
    }
    count_ += n;
  }

  // Adds other's counts to this one (self-merge doubles every count).
  void Merge(const LogHistogram& other) noexcept;

  // Takes `part`'s samples out, each of which was recorded here too (the late replies'
  // RTTs out of every reply's): what is left reads as if only the rest had been
  // recorded. min() and max() stay exact when `part` cannot have held them (min() below
  // part.min(), max() above part.max()); otherwise they become the nearest bounds the
  // remaining buckets allow, within the old ones. A count never goes below 0 (samples of
  // `part` that were not here are ignored). Never allocates.
  void Subtract(const LogHistogram& part) noexcept;

  // Forgets every sample and frees the counters.
  void Reset() noexcept;

  // Nearest-rank percentile, p in [0, 100] (clamped; NaN counts as 0): the
  // smallest recorded value v such that at least p% of the samples are <= v,
  // i.e. the sample of rank NearestRank(p, count()) in sorted order. Reported
  // as the midpoint of v's bucket clamped to [min(), max()] (so p = 0 gives
  // min() and p = 100 gives max() exactly). Empty histogram: 0. O(buckets).
  int64_t Percentile(double p) const;

  // The 1-based rank the nearest-rank method picks for p% of n samples:
  // ceil(p * n / 100) clamped to [1, n]. 0 when n == 0.
  static uint64_t NearestRank(double p, uint64_t n);

  uint64_t count() const { return count_; }
  int64_t min() const { return min_; }  // 0 when empty
  int64_t max() const { return max_; }  // 0 when empty
  uint64_t underflow_count() const { return underflow_; }
  uint64_t overflow_count() const { return overflow_; }
  uint64_t dropped_count() const { return dropped_; }

  // Bytes this histogram uses now: sizeof(*this) plus its counter blocks.
  size_t MemoryBytes() const {
    return sizeof(*this) + size_t{num_blocks_} * kBlockBytes;
  }
  int allocated_blocks() const { return num_blocks_; }

  // Calls f(int64_t low, int64_t high, uint64_t count) for every non-empty
  // bucket in increasing order; [low, high] are the bucket's inclusive bounds.
  // For reporters (e.g. Prometheus buckets).
  template <typename F>
  void ForEachBucket(F&& f) const {
    for (int block = 0; block < kNumBlocks; ++block) {
      const uint8_t slot = slot_of_block_[block];
      if (slot == kNoSlot) continue;
      const uint64_t* counts = &counters_[size_t{slot} << kSubBucketBits];
      for (int i = 0; i < kSubBuckets; ++i) {
        if (counts[i] == 0) continue;
        const int index = (block << kSubBucketBits) + i;
        const int64_t low = BucketLow(index);
        f(low, low + BucketWidth(index) - 1, counts[i]);
      }
    }
  }

  // Bucket geometry, exposed for tests and reporters. value in [0, kMaxValue].
  static constexpr int BucketIndex(int64_t value) {
    const uint64_t v = static_cast<uint64_t>(value);
    // shift = (position of the top bit of v, at least 6) - 6.
    const int shift = 57 - std::countl_zero(v | uint64_t{kSubBuckets});
    return (shift << kSubBucketBits) + static_cast<int>(v >> shift);
  }
  static constexpr int BucketShift(int index) {
    const int block = index >> kSubBucketBits;
    return block > 1 ? block - 1 : 0;
  }
  static constexpr int64_t BucketLow(int index) {
    const int shift = BucketShift(index);
    return static_cast<int64_t>(index - (shift << kSubBucketBits)) << shift;
  }
  static constexpr int64_t BucketWidth(int index) {
    return int64_t{1} << BucketShift(index);
  }
  // The value a percentile in this bucket is reported as (before clamping).
  static constexpr int64_t BucketMidpoint(int index) {
    return BucketLow(index) + (BucketWidth(index) >> 1);
  }

 private:
  static constexpr uint8_t kNoSlot = 0xFF;

  // Appends a zeroed block for `block`; returns its slot, kNoSlot on OOM.
  uint8_t AddBlock(int block) noexcept;
  void CopyFrom(const LogHistogram& other);

  // num_blocks_ blocks of kSubBuckets counters, in first-touch order.
  std::unique_ptr<uint64_t[]> counters_;
  uint64_t count_ = 0;
  uint64_t underflow_ = 0;
  uint64_t overflow_ = 0;
  uint64_t dropped_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  uint8_t num_blocks_ = 0;
  uint8_t slot_of_block_[kNumBlocks] = {
      kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot,
      kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot,
      kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot,
      kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot,
      kNoSlot, kNoSlot, kNoSlot, kNoSlot, kNoSlot};
};

// The most memory one LogHistogram can use (every block allocated): 16,992 B
// on x86-64 (96 B object + 16,896 B of counters).
inline constexpr size_t kLogHistogramMaxMemoryBytes =
    sizeof(LogHistogram) + LogHistogram::kMaxHeapBytes;

static_assert(LogHistogram::BucketIndex(LogHistogram::kMaxValue) ==
              LogHistogram::kNumBuckets - 1);
static_assert(LogHistogram::BucketIndex(int64_t{1} << 37) <
              LogHistogram::kNumBuckets);

}  // namespace udpbeat::stats

#endif  // UDPBEAT_STATS_HISTOGRAM_H_
