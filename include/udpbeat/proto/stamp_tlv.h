// RFC 8972 STAMP TLVs: the optional extensions that follow the base packet (octet 44, or
// 112 in authenticated mode), and the Follow-Up Telemetry TLV.
//
// RFC 8972 §4 TLV, 4 octets + value:
//   0 flags: U M I R R R R R | 1 type | 2..3 length of the value in octets | 4.. value
// Flags (§4): a Session-Sender transmits every TLV with U=1, M=0, I=0. The Session-Reflector
// returns each TLV with U=0 when it understood it and U=1 when not (the value copied), M=1
// when the TLV is malformed (its length is wrong for its type, or runs past the packet),
// I=1 when RFC 8972's HMAC TLV failed. R bits are zero on transmit, ignored on receipt.
//
// RFC 8972 §4.7 Follow-Up Telemetry TLV, type 7, length 16:
//   0..3 sequence number | 4..11 Follow-Up Timestamp | 12 timestamp mode | 13..15 reserved
// The sender sends it with a zero value. A reflector that supports it returns the
// sequence number and the transmit timestamp of the previous packet it reflected in the
// same session (more precise than that packet's own T3, which had to be written before
// it left), and how that timestamp was taken; zeros when it has nothing to report yet
// (the session's first reply, or no transmit timestamp back from the kernel in time).
// RFC 8972 §4.7 defines the report for a reflector in stateful mode only (the sequence
// number is the reflector's own, of its previous reflected packet): udpbeat's stateless
// reflector does not implement the TLV and, like any reflector that does not, returns it
// with U set (§4); one that knows no TLVs at all (RFC 8762 or TWAMP-light) returns
// padding. FindFollowUpTelemetry() tells these apart, so the sender can fall back to T3.
#ifndef UDPBEAT_PROTO_STAMP_TLV_H_
#define UDPBEAT_PROTO_STAMP_TLV_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "udpbeat/proto/ntp_timestamp.h"

namespace udpbeat::stamp {

inline constexpr size_t kTlvHeaderSize = 4;
inline constexpr uint8_t kTlvFlagUnrecognized = 0x80;  // U
inline constexpr uint8_t kTlvFlagMalformed = 0x40;     // M
inline constexpr uint8_t kTlvFlagIntegrity = 0x20;     // I: the HMAC TLV did not verify

// From the IANA "STAMP TLV Types" registry (RFC 8972); 0 is reserved.
inline constexpr uint8_t kTlvTypeExtraPadding = 1;
inline constexpr uint8_t kTlvTypeFollowUpTelemetry = 7;

// "No such TLV", where an offset is returned.
inline constexpr size_t kNoTlv = static_cast<size_t>(-1);

struct Tlv {
  size_t offset = 0;  // of the flags octet, from the start of the walked area
  uint8_t flags = 0;
  uint8_t type = 0;
  std::span<const uint8_t> value;  // `length` octets, inside the walked area
  size_t size() const noexcept { return kTlvHeaderSize + value.size(); }
};

enum class TlvStatus {
  kOk,            // the next TLV was read
  kEnd,           // the area ended exactly where the previous TLV did
  kTruncated,     // 1 to 3 octets left: not even a TLV header
  kOverrun,       // the length runs past the end of the area
  kReservedType,  // type 0: zero padding (a TWAMP-light or RFC 8762 sender), not TLVs
};

// Walks a TLV area front to back. Reads only inside the area; never allocates.
class TlvReader {
 public:
  explicit TlvReader(std::span<const uint8_t> area) noexcept : area_(area) {}
  // Reads the TLV at the current position into *out and moves past it on kOk; on any
  // other status the reader stays put and *out is untouched.
  TlvStatus Next(Tlv* out) noexcept;
  size_t offset() const noexcept { return offset_; }

 private:
  std::span<const uint8_t> area_;
  size_t offset_ = 0;
};

// True when `area` is TLVs end to end (each Next() kOk, then kEnd); true for an empty area.
bool IsTlvSequence(std::span<const uint8_t> area) noexcept;

inline constexpr size_t kFollowUpTelemetryLength = 16;
inline constexpr size_t kFollowUpTelemetryTlvSize = kTlvHeaderSize + kFollowUpTelemetryLength;

// Timestamp mode: the IANA "STAMP Timestamping Methods" registry (RFC 8972); 0 reserved.
inline constexpr uint8_t kTimestampModeHwAssist = 1;
inline constexpr uint8_t kTimestampModeSwLocal = 2;
inline constexpr uint8_t kTimestampModeControlPlane = 3;

struct FollowUpTelemetry {
  uint32_t seq = 0;            // the reflector's sequence number of its previous reply
  NtpTimestamp timestamp;      // when that reply was sent (format per the Z bit, NTP here)
  uint8_t timestamp_mode = 0;  // kTimestampMode*, 0 when nothing is reported
  // False for the zero value a reflector returns when it has nothing to report.
  bool reported() const noexcept { return timestamp.raw() != 0; }
  friend bool operator==(const FollowUpTelemetry&, const FollowUpTelemetry&) = default;
};

// Session-Sender: writes the 20-octet TLV that asks for follow-up telemetry: flags U
// (RFC 8972 §4), type 7, length 16, value zero. Returns 20, or 0 when out is shorter.
size_t EncodeFollowUpTelemetryRequest(std::span<uint8_t> out) noexcept;

// Session-Reflector: writes `f` into the Follow-Up Telemetry TLV starting at tlv[0] (at
// the offset ReflectTrailer returned) with flags 0: understood, well formed. The reserved
// octets are zeroed. No-op when `tlv` is shorter than 20 octets.
void FillFollowUpTelemetry(const FollowUpTelemetry& f, std::span<uint8_t> tlv) noexcept;

enum class FollowUpStatus {
  kAbsent,        // no such TLV: the reflector returned padding, or the area is not TLVs
  kUnrecognized,  // returned with U set: the reflector does not implement it
  kMalformed,     // the reflector flagged it or an earlier TLV (M or I), or length ≠ 16
  kOk,            // *out is filled; see FollowUpTelemetry::reported()
};

// Session-Sender, on a reply: the first Follow-Up Telemetry TLV of the TLV area that
// follows the base packet. *out is written only on kOk.
FollowUpStatus FindFollowUpTelemetry(std::span<const uint8_t> area,
                                     FollowUpTelemetry* out) noexcept;

}  // namespace udpbeat::stamp

#endif  // UDPBEAT_PROTO_STAMP_TLV_H_
