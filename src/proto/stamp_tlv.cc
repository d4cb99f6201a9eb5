#include "udpbeat/proto/stamp_tlv.h"

#include <cstring>

namespace udpbeat::stamp {
namespace {

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

TlvStatus TlvReader::Next(Tlv* out) noexcept {
  const size_t left = area_.size() - offset_;
  if (left == 0) return TlvStatus::kEnd;
  if (left < kTlvHeaderSize) return TlvStatus::kTruncated;
  const uint8_t* p = area_.data() + offset_;
  if (p[1] == 0) return TlvStatus::kReservedType;
  const size_t length = Get16(p + 2);
  if (length > left - kTlvHeaderSize) return TlvStatus::kOverrun;
  out->offset = offset_;
  out->flags = p[0];
  out->type = p[1];
  out->value = area_.subspan(offset_ + kTlvHeaderSize, length);
  offset_ += kTlvHeaderSize + length;
  return TlvStatus::kOk;
}

bool IsTlvSequence(std::span<const uint8_t> area) noexcept {
  TlvReader reader(area);
  Tlv tlv;
  TlvStatus status;
  while ((status = reader.Next(&tlv)) == TlvStatus::kOk) {
  }
  return status == TlvStatus::kEnd;
}

size_t EncodeFollowUpTelemetryRequest(std::span<uint8_t> out) noexcept {
  if (out.size() < kFollowUpTelemetryTlvSize) return 0;
  std::memset(out.data(), 0, kFollowUpTelemetryTlvSize);
  out[0] = kTlvFlagUnrecognized;  // RFC 8972 §4: the reflector clears it if it understands
  out[1] = kTlvTypeFollowUpTelemetry;
  out[3] = kFollowUpTelemetryLength;
  return kFollowUpTelemetryTlvSize;
}

void FillFollowUpTelemetry(const FollowUpTelemetry& f, std::span<uint8_t> tlv) noexcept {
  if (tlv.size() < kFollowUpTelemetryTlvSize) return;
  uint8_t* p = tlv.data();
  p[0] = 0;
  p[1] = kTlvTypeFollowUpTelemetry;
  p[2] = 0;
  p[3] = kFollowUpTelemetryLength;
  Put32(p + 4, f.seq);
  Put32(p + 8, f.timestamp.seconds);
  Put32(p + 12, f.timestamp.fraction);
  p[16] = f.timestamp_mode;
  p[17] = p[18] = p[19] = 0;
}

FollowUpStatus FindFollowUpTelemetry(std::span<const uint8_t> area,
                                     FollowUpTelemetry* out) noexcept {
  TlvReader reader(area);
  Tlv tlv;
  while (reader.Next(&tlv) == TlvStatus::kOk) {
    if (tlv.type != kTlvTypeFollowUpTelemetry) {
      // RFC 8972 §4: after a TLV flagged malformed or failing integrity, the reflector
      // stopped processing, so what follows was not filled in.
      if ((tlv.flags & (kTlvFlagMalformed | kTlvFlagIntegrity)) != 0) {
        return FollowUpStatus::kMalformed;
      }
      continue;
    }
    if ((tlv.flags & kTlvFlagUnrecognized) != 0) return FollowUpStatus::kUnrecognized;
    if ((tlv.flags & (kTlvFlagMalformed | kTlvFlagIntegrity)) != 0 ||
        tlv.value.size() != kFollowUpTelemetryLength) {
      return FollowUpStatus::kMalformed;
    }
    const uint8_t* v = tlv.value.data();
    out->seq = Get32(v);
    out->timestamp = {Get32(v + 4), Get32(v + 8)};
    out->timestamp_mode = v[12];
    return FollowUpStatus::kOk;
  }
  return FollowUpStatus::kAbsent;
}

}  // namespace udpbeat::stamp
