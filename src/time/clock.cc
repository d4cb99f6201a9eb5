#include "udpbeat/time/clock.h"

#include <time.h>

namespace udpbeat {
namespace {

Nanos Read(clockid_t id) noexcept {
  timespec ts;
  ::clock_gettime(id, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

}  // namespace

MonoTime SystemClock::Now() const noexcept {
  return MonoTime::FromNanos(Read(CLOCK_MONOTONIC));
}

WallTime SystemClock::NowWall() const noexcept {
  return WallTime::FromNanos(Read(CLOCK_REALTIME));
}

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

}  // namespace udpbeat
