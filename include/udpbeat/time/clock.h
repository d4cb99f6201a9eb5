// Time points of two clocks that must never be mixed, and the Clock that reads them.
//
// MonoTime is CLOCK_MONOTONIC (scheduling, timeouts, fallback RTT). WallTime is
// CLOCK_REALTIME, the clock SO_TIMESTAMPNS stamps received datagrams with and the one
// the lab protocol and STAMP carry on the wire. Each is a distinct type, so
// subtracting a WallTime from a MonoTime does not compile. Durations are int64 ns.
#ifndef UDPBEAT_TIME_CLOCK_H_
#define UDPBEAT_TIME_CLOCK_H_

#include <cstdint>
#include <compare>

namespace udpbeat {

using Nanos = int64_t;

inline constexpr Nanos kNanosPerMicro = 1'000;
inline constexpr Nanos kNanosPerMilli = 1'000'000;
inline constexpr Nanos kNanosPerSecond = 1'000'000'000;

// A point on one clock, `Tag` names which. Arithmetic stays within the clock.
template <typename Tag>
class TimePoint {
 public:
  constexpr TimePoint() = default;
  static constexpr TimePoint FromNanos(Nanos ns) { return TimePoint(ns); }
  constexpr Nanos nanos() const { return ns_; }
  constexpr double seconds() const { return static_cast<double>(ns_) / 1e9; }

  constexpr TimePoint operator+(Nanos d) const { return TimePoint(ns_ + d); }
  constexpr TimePoint operator-(Nanos d) const { return TimePoint(ns_ - d); }
  constexpr TimePoint& operator+=(Nanos d) {
    ns_ += d;
    return *this;
  }
  constexpr Nanos operator-(TimePoint other) const { return ns_ - other.ns_; }
  constexpr auto operator<=>(const TimePoint&) const = default;

 private:
  constexpr explicit TimePoint(Nanos ns) : ns_(ns) {}
  Nanos ns_ = 0;
};

struct MonoTag {};
struct WallTag {};
using MonoTime = TimePoint<MonoTag>;
using WallTime = TimePoint<WallTag>;  // ns since the Unix epoch

// Reads both clocks. Code that schedules takes a Clock& so tests can pass a FakeClock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const noexcept = 0;
  virtual WallTime NowWall() const noexcept = 0;
};

// The process's real clocks (clock_gettime, vDSO: no system call).
class SystemClock final : public Clock {
 public:
  MonoTime Now() const noexcept override;
  WallTime NowWall() const noexcept override;
  static const SystemClock& Get();
};

// A clock tests move by hand. Wall time follows mono time at `wall_offset`.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(MonoTime start = MonoTime::FromNanos(kNanosPerSecond),
                     Nanos wall_offset = 1'700'000'000 * kNanosPerSecond)
      : now_(start), wall_offset_(wall_offset) {}
  MonoTime Now() const noexcept override { return now_; }
  WallTime NowWall() const noexcept override {
    return WallTime::FromNanos(now_.nanos() + wall_offset_);
  }
  void Advance(Nanos d) { now_ += d; }
  void Set(MonoTime t) { now_ = t; }
  void set_wall_offset(Nanos offset) { wall_offset_ = offset; }

 private:
  MonoTime now_;
  Nanos wall_offset_;
};

}  // namespace udpbeat

#endif  // UDPBEAT_TIME_CLOCK_H_
