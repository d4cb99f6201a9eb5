// MissDetector: the lab's rule, "the peer is down after K consecutive
// heartbeats went unanswered".
//
// The caller decides what a miss is (a heartbeat whose reply did not arrive
// within -W TIMEOUT) and reports each heartbeat's outcome exactly once, in
// send order: OnReply() for an on-time reply, OnMiss() for a timeout. A late
// reply to a heartbeat already counted as missed is not an OnReply().
//
// A pure value: no I/O, no clock reads, never throws, no allocation. Not
// thread-safe: one owner (the heartbeat session).
#ifndef UDPBEAT_DETECT_MISS_DETECTOR_H_
#define UDPBEAT_DETECT_MISS_DETECTOR_H_

#include <cstdint>

namespace udpbeat::detect {

class MissDetector {
 public:
  static constexpr int kDefaultK = 3;  // the lab's UDPHeartbeatClient.py

  // `k` < 1 is treated as 1 (down on the first miss).
  explicit MissDetector(int k = kDefaultK) noexcept : k_(k < 1 ? 1 : k) {}

  // An on-time reply: the consecutive count starts again from 0.
  void OnReply() noexcept { consecutive_ = 0; }
  // A heartbeat timed out. Saturates instead of overflowing.
  void OnMiss() noexcept {
    if (consecutive_ < INT32_MAX) ++consecutive_;
  }

  int k() const { return k_; }
  int consecutive_misses() const { return consecutive_; }
  // At least one heartbeat missed since the last reply.
  bool suspect() const { return consecutive_ >= 1; }
  // consecutive_misses() >= k().
  bool down() const { return consecutive_ >= k_; }

 private:
  int k_;
  int consecutive_ = 0;
};

}  // namespace udpbeat::detect

#endif  // UDPBEAT_DETECT_MISS_DETECTOR_H_
