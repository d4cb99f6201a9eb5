#include "udpbeat/proto/stamp.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace udpbeat::stamp {
namespace {

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
NtpTimestamp GetNtp(const uint8_t* p) { return {Get32(p), Get32(p + 4)}; }

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
void PutNtp(uint8_t* p, NtpTimestamp t) {
  Put32(p, t.seconds);
  Put32(p + 4, t.fraction);
}

// Octets 0..15 are laid out alike in both packets (RFC 8762 §4.2.1, §4.3.1):
// sequence | timestamp | error estimate | SSID (RFC 8972).
template <typename Packet>
void GetHeader(const uint8_t* p, Packet* out) {
  out->seq = Get32(p);
  out->timestamp = GetNtp(p + 4);
  out->error = ErrorEstimate::Decode(Get16(p + 12));
  out->ssid = Get16(p + 14);
}

template <typename Packet>
void PutHeader(uint8_t* p, const Packet& in) {
  Put32(p, in.seq);
  PutNtp(p + 4, in.timestamp);
  Put16(p + 12, in.error.Encode());
  Put16(p + 14, in.ssid);
}

// The `length` zeroed octets a packet is encoded into, or null when it cannot be.
uint8_t* Zeroed(size_t length, std::span<uint8_t> out) {
  if (length < kMinPacketSize || out.size() < length) return nullptr;
  std::memset(out.data(), 0, length);
  return out.data();
}

}  // namespace

uint16_t ErrorEstimate::Encode() const noexcept {
  return static_cast<uint16_t>((synchronized ? 0x8000 : 0) | (ptp_format ? 0x4000 : 0) |
                               (scale & 0x3f) << 8 | multiplier);
}

ErrorEstimate ErrorEstimate::Decode(uint16_t v) noexcept {
  return {(v & 0x8000) != 0, (v & 0x4000) != 0, static_cast<uint8_t>(v >> 8 & 0x3f),
          static_cast<uint8_t>(v)};
}

double ErrorEstimate::seconds() const noexcept {
  return std::ldexp(static_cast<double>(multiplier), static_cast<int>(scale) - 32);
}

DecodeError DecodeSender(std::span<const uint8_t> data, SenderPacket* out) noexcept {
  if (data.size() < kMinPacketSize) return DecodeError::kTooShort;
  GetHeader(data.data(), out);
  return DecodeError::kNone;
}

DecodeError DecodeReflector(std::span<const uint8_t> data, ReflectorPacket* out) noexcept {
  if (data.size() < kMinPacketSize) return DecodeError::kTooShort;
  const uint8_t* p = data.data();
  GetHeader(p, out);
  out->receive_timestamp = GetNtp(p + 16);
  out->sender_seq = Get32(p + 24);
  out->sender_timestamp = GetNtp(p + 28);
  out->sender_error = ErrorEstimate::Decode(Get16(p + 36));
  out->sender_ttl = p[40];
  return DecodeError::kNone;
}

size_t EncodeSender(const SenderPacket& s, size_t length, std::span<uint8_t> out) noexcept {
  uint8_t* p = Zeroed(length, out);
  if (p == nullptr) return 0;
  PutHeader(p, s);
  return length;
}

size_t EncodeReflector(const ReflectorPacket& r, size_t length, std::span<uint8_t> out) noexcept {
  uint8_t* p = Zeroed(length, out);
  if (p == nullptr) return 0;
  PutHeader(p, r);
  PutNtp(p + 16, r.receive_timestamp);
  Put32(p + 24, r.sender_seq);
  PutNtp(p + 28, r.sender_timestamp);
  Put16(p + 36, r.sender_error.Encode());
  p[40] = r.sender_ttl;
  return length;
}

uint16_t SenderSsid(std::span<const uint8_t> data) noexcept {
  return data.size() < kMinPacketSize ? 0 : Get16(data.data() + 14);
}

void SetReflectorSeq(uint32_t seq, std::span<uint8_t> packet) noexcept {
  if (packet.size() >= 4) Put32(packet.data(), seq);
}

void SetReflectorTimestamp(NtpTimestamp t3, uint8_t* packet) noexcept { PutNtp(packet + 4, t3); }

bool LooksLikeSender(std::span<const uint8_t> data) noexcept {
  if (data.size() < kMinPacketSize) return false;
  const auto mbz = data.subspan(16, kMinPacketSize - 16);
  return std::all_of(mbz.begin(), mbz.end(), [](uint8_t b) { return b == 0; });
}

size_t ReflectTrailer(std::span<const uint8_t> tail, std::span<uint8_t> out,
                      TrailerOptions options) noexcept {
  const size_t n = std::min(tail.size(), out.size());
  // Type 0 is reserved (IANA STAMP TLV Types, RFC 8972), so zero padding never reads
  // as TLVs.
  if (n == 0 || !IsTlvSequence(tail.first(n))) return kNoTlv;
  std::memcpy(out.data(), tail.data(), n);
  size_t follow_up = kNoTlv;
  TlvReader reader(tail.first(n));
  Tlv tlv;
  while (reader.Next(&tlv) == TlvStatus::kOk) {
    uint8_t* p = out.data() + tlv.offset;
    if (tlv.type == kTlvTypeExtraPadding) continue;
    if (tlv.type != kTlvTypeFollowUpTelemetry || !options.follow_up_telemetry) {
      p[0] |= kTlvFlagUnrecognized;
      continue;
    }
    if (tlv.value.size() != kFollowUpTelemetryLength) {
      // RFC 8972 §4.7: sequence number and timestamp zeroed, M set; §4: processing
      // stops at a malformed TLV and the rest is copied as received.
      p[0] = kTlvFlagMalformed;
      std::memset(p + kTlvHeaderSize, 0, std::min<size_t>(tlv.value.size(), 12));
      break;
    }
    p[0] = 0;
    std::memset(p + kTlvHeaderSize, 0, kFollowUpTelemetryLength);
    if (follow_up == kNoTlv) follow_up = tlv.offset;
  }
  return follow_up;
}

}  // namespace udpbeat::stamp
