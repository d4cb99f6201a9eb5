#include "udpbeat/proto/ntp_timestamp.h"

namespace udpbeat {

NtpTimestamp ToNtp(WallTime t) noexcept {
  int64_t secs = t.nanos() / kNanosPerSecond;
  int64_t ns = t.nanos() % kNanosPerSecond;
  if (ns < 0) {
    ns += kNanosPerSecond;
    --secs;
  }
  // fraction = round(ns × 2^32 / 10^9); fits in 64 bits since ns < 10^9 < 2^30.
  uint64_t frac = (static_cast<uint64_t>(ns) << 32) + kNanosPerSecond / 2;
  frac /= kNanosPerSecond;
  if (frac > 0xffffffffu) {  // rounding carried into the next second
    frac = 0;
    ++secs;
  }
  return {static_cast<uint32_t>(secs + kNtpUnixOffsetSeconds), static_cast<uint32_t>(frac)};
}

WallTime FromNtp(NtpTimestamp t) noexcept {
  int64_t secs = static_cast<int64_t>(t.seconds) - kNtpUnixOffsetSeconds;
  // Era 1 starts in 2036; small raw values belong to it (RFC 5905 §6, RFC 4330 §3).
  if (t.seconds < 0x80000000u) secs += int64_t{1} << 32;
  const int64_t ns =
      static_cast<int64_t>((uint64_t{t.fraction} * kNanosPerSecond + (uint64_t{1} << 31)) >> 32);
  return WallTime::FromNanos(secs * kNanosPerSecond + ns);
}

}  // namespace udpbeat
