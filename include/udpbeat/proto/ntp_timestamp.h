// The 64-bit NTP timestamp format STAMP carries (RFC 5905 §6): 32-bit seconds since
// 1900-01-01 and a 32-bit binary fraction of a second. Raw seconds ≥ 2^31 are read as
// era 0 (1968-2036), smaller ones as era 1 (2036-2104), as RFC 4330 §3 suggests.
#ifndef UDPBEAT_PROTO_NTP_TIMESTAMP_H_
#define UDPBEAT_PROTO_NTP_TIMESTAMP_H_

#include <cstdint>

#include "udpbeat/time/clock.h"

namespace udpbeat {

// Seconds from 1900-01-01 to 1970-01-01.
inline constexpr int64_t kNtpUnixOffsetSeconds = 2'208'988'800;

struct NtpTimestamp {
  uint32_t seconds = 0;
  uint32_t fraction = 0;

  uint64_t raw() const noexcept { return uint64_t{seconds} << 32 | fraction; }
  static NtpTimestamp FromRaw(uint64_t v) noexcept {
    return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)};
  }
  friend bool operator==(const NtpTimestamp&, const NtpTimestamp&) = default;
};

// Rounds to the nearest fraction unit (2^-32 s ≈ 0.23 ns), so ns → NTP → ns is exact.
NtpTimestamp ToNtp(WallTime t) noexcept;
WallTime FromNtp(NtpTimestamp t) noexcept;

}  // namespace udpbeat

#endif  // UDPBEAT_PROTO_NTP_TIMESTAMP_H_
