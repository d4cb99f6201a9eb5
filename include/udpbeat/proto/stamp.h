// STAMP, RFC 8762 (Simple Two-Way Active Measurement Protocol), unauthenticated mode,
// with the RFC 8972 Session-Sender Identifier (SSID). TWAMP-light compatible.
//
// RFC 8762 §4.2.1 session-sender packet, 44 octets minimum:
//   0..3 sequence | 4..11 timestamp T1 (NTP) | 12..13 error estimate | 14..15 SSID
//   (RFC 8972; MBZ in RFC 8762) | 16..43 MBZ | 44.. padding or RFC 8972 TLVs
// RFC 8762 §4.3.1 session-reflector packet, 44 octets minimum:
//   0..3 sequence | 4..11 timestamp T3 | 12..13 error estimate | 14..15 SSID
//   | 16..23 receive timestamp T2 | 24..27 sender's sequence | 28..35 sender's timestamp T1
//   | 36..37 sender's error estimate | 38..39 MBZ | 40 sender's TTL | 41..43 MBZ | 44..
// All fields are big-endian. MBZ octets are written as zero and ignored on receive.
// The reflector's packet is exactly as long as the request (symmetric size, §4.3).
#ifndef UDPBEAT_PROTO_STAMP_H_
#define UDPBEAT_PROTO_STAMP_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "udpbeat/proto/decode_error.h"
#include "udpbeat/proto/ntp_timestamp.h"
#include "udpbeat/proto/stamp_tlv.h"

namespace udpbeat::stamp {

inline constexpr size_t kMinPacketSize = 44;
inline constexpr uint16_t kDefaultPort = 862;

// RFC 4656 §4.1.2: S (synchronized to UTC) | Z (0: NTP, 1: PTP format) | Scale (6 bits)
// | Multiplier (8 bits); error = Multiplier × 2^(Scale − 32) seconds.
struct ErrorEstimate {
  bool synchronized = false;
  bool ptp_format = false;
  uint8_t scale = 0;       // 0..63
  uint8_t multiplier = 1;  // RFC 4656: MUST NOT be zero on send
  uint16_t Encode() const noexcept;
  static ErrorEstimate Decode(uint16_t v) noexcept;
  double seconds() const noexcept;
  friend bool operator==(const ErrorEstimate&, const ErrorEstimate&) = default;
};

struct SenderPacket {
  uint32_t seq = 0;
  NtpTimestamp timestamp;  // T1
  ErrorEstimate error;
  uint16_t ssid = 0;
  friend bool operator==(const SenderPacket&, const SenderPacket&) = default;
};

struct ReflectorPacket {
  uint32_t seq = 0;
  NtpTimestamp timestamp;          // T3, when the reflector sent it
  ErrorEstimate error;
  uint16_t ssid = 0;
  NtpTimestamp receive_timestamp;  // T2, when the reflector received the request
  uint32_t sender_seq = 0;
  NtpTimestamp sender_timestamp;   // T1, copied from the request
  ErrorEstimate sender_error;
  uint8_t sender_ttl = 0;          // TTL / hop limit the request arrived with
  friend bool operator==(const ReflectorPacket&, const ReflectorPacket&) = default;
};

// Decoders accept any length ≥ 44 (padding and TLVs are not interpreted here).
DecodeError DecodeSender(std::span<const uint8_t> data, SenderPacket* out) noexcept;
DecodeError DecodeReflector(std::span<const uint8_t> data, ReflectorPacket* out) noexcept;

// Encoders write `length` octets (≥ 44): the fields, then zeros. Return `length`, or 0
// when length < 44 or out is too small.
size_t EncodeSender(const SenderPacket& p, size_t length, std::span<uint8_t> out) noexcept;
size_t EncodeReflector(const ReflectorPacket& p, size_t length, std::span<uint8_t> out) noexcept;

// True when `data` looks like a session-sender packet rather than text or garbage:
// at least 44 octets and MBZ octets 16..43 all zero, as RFC 8762 senders write them.
// Used by `serve --reply auto`; `--reply stamp` reflects any packet of 44+ octets.
bool LooksLikeSender(std::span<const uint8_t> data) noexcept;

// The SSID of a session-sender packet (octets 14..15); 0 when shorter than 44 octets.
uint16_t SenderSsid(std::span<const uint8_t> data) noexcept;
// Overwrites the sequence number (octets 0..3) of an encoded reflector packet.
void SetReflectorSeq(uint32_t seq, std::span<uint8_t> packet) noexcept;
// Overwrites the transmit timestamp T3 (octets 4..11) of an encoded reflector packet
// of at least 44 octets.
void SetReflectorTimestamp(NtpTimestamp t3, uint8_t* packet) noexcept;

// The RFC 8972 TLVs a reflector understands, besides Extra Padding (type 1).
struct TrailerOptions {
  // Follow-Up Telemetry (type 7, stamp_tlv.h): the caller fills it in.
  bool follow_up_telemetry = false;
};

// Octets after the base of a request (44 octets, or 112 in authenticated mode), as the
// reflector returns them into `out` (zeroed by the encoder): when they are RFC 8972 TLVs
// end to end (stamp::IsTlvSequence), they are copied with the U (unrecognized) flag set,
// except Extra Padding; anything else is padding and stays zero.
// With options.follow_up_telemetry, a Follow-Up Telemetry TLV of the right length comes
// back with flags 0 and a zero value, and the offset in `out` of the first one is
// returned for stamp::FillFollowUpTelemetry (a zero value, left as is, means "nothing to
// report"); one of the wrong length gets the M flag, its value zeroed, and ends the
// processing: the TLVs after it are copied unchanged (RFC 8972 §4, §4.7).
// Returns kNoTlv when there is no Follow-Up Telemetry TLV to fill.
size_t ReflectTrailer(std::span<const uint8_t> request_tail, std::span<uint8_t> out,
                      TrailerOptions options = {}) noexcept;

}  // namespace udpbeat::stamp

#endif  // UDPBEAT_PROTO_STAMP_H_
