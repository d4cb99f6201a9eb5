#include "udpbeat/proto/probe_codec.h"

#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/proto/lab_protocol.h"

namespace udpbeat {
namespace {

class LabCodec final : public ProbeCodec {
 public:
  explicit LabCodec(bool heartbeat)
      : keyword_(heartbeat ? lab::Keyword::kHeartbeat : lab::Keyword::kPing) {}

  size_t Encode(uint32_t seq, WallTime sent, size_t size, std::span<uint8_t> out) override {
    return lab::EncodeRequest(keyword_, seq, sent, size, out);
  }

  bool Decode(std::span<const uint8_t> data, ProbeReply* out) override {
    lab::Request echo;
    if (lab::ParseRequest(data, &echo) == DecodeError::kNone) {
      out->seq = static_cast<uint32_t>(echo.seq);
      return true;
    }
    // The heartbeat reply "<seq> <time difference>" (answers pings as well).
    lab::HeartbeatReply hb;
    if (lab::ParseHeartbeatReply(data, &hb) == DecodeError::kNone) {
      out->seq = static_cast<uint32_t>(hb.seq);
      out->has_time_difference = true;
      out->time_difference = hb.time_difference;
      return true;
    }
    return false;
  }

  size_t min_size() const override { return 0; }

 private:
  lab::Keyword keyword_;
};

class StampCodec final : public ProbeCodec {
 public:
  explicit StampCodec(const StampCodecOptions& o) : o_(o) {}

  size_t Encode(uint32_t seq, WallTime sent, size_t size, std::span<uint8_t> out) override {
    stamp::SenderPacket p;
    p.seq = seq;
    p.timestamp = ToNtp(sent);
    p.ssid = o_.ssid;
    const size_t base = base_size();
    size_t length = std::max(size, min_size());
    // Octets past the follow-up TLV must read as TLVs too (an RFC 8972 reflector walks
    // them): Extra Padding, whose 4-octet header needs room, so round up to fit it.
    const size_t tail = length - min_size();
    if (o_.follow_up && tail > 0 && tail < stamp::kTlvHeaderSize) length += stamp::kTlvHeaderSize - tail;
    if (out.size() < length) return 0;
    const size_t n = o_.hmac != nullptr ? stamp::EncodeAuthSender(p, *o_.hmac, length, out)
                                        : stamp::EncodeSender(p, length, out);
    if (n == 0 || !o_.follow_up) return n;
    // Authenticated: the TLVs end with RFC 8972's HMAC TLV, so the report that comes
    // back is signed too.
    const size_t hmac_tlv = o_.hmac != nullptr ? stamp::kHmacTlvSize : 0;
    std::span<uint8_t> tlvs = out.subspan(base, length - base - hmac_tlv);
    stamp::EncodeFollowUpTelemetryRequest(tlvs);
    if (hmac_tlv != 0) {
      stamp::EncodeHmacTlvHeader(out.subspan(length - hmac_tlv, hmac_tlv));
      // Signed after the padding below is written: deferred to the end.
    }
    std::span<uint8_t> pad = tlvs.subspan(stamp::kFollowUpTelemetryTlvSize);
    if (!pad.empty()) {
      // RFC 8972 §4.1 Extra Padding: U set by the sender, value zero.
      pad[0] = stamp::kTlvFlagUnrecognized;
      pad[1] = stamp::kTlvTypeExtraPadding;
      const size_t len = pad.size() - stamp::kTlvHeaderSize;
      pad[2] = static_cast<uint8_t>(len >> 8);
      pad[3] = static_cast<uint8_t>(len);
    }
    if (hmac_tlv != 0) stamp::SignTlvHmac(out.first(length), base, *o_.hmac);
    return n;
  }

  bool Decode(std::span<const uint8_t> data, ProbeReply* out) override {
    stamp::ReflectorPacket r;
    const DecodeError e = o_.hmac != nullptr ? stamp::DecodeAuthReflector(data, *o_.hmac, &r)
                                             : stamp::DecodeReflector(data, &r);
    if (e != DecodeError::kNone) return false;
    // RFC 8972 reflectors copy the SSID; RFC 8762-only ones leave those octets zero.
    if (r.ssid != o_.ssid && r.ssid != 0) return false;
    out->seq = r.sender_seq;
    out->has_timestamps = true;
    out->reflector_receive = FromNtp(r.receive_timestamp);
    out->reflector_transmit = FromNtp(r.timestamp);
    out->reflector_seq = r.seq;
    out->reflector_ttl = r.sender_ttl;
    out->ssid = r.ssid;
    if (o_.follow_up && data.size() > base_size()) {
      const stamp::TlvHmacStatus signed_tlvs =
          o_.hmac != nullptr ? stamp::VerifyTlvHmac(data, base_size(), *o_.hmac)
                             : stamp::TlvHmacStatus::kOk;
      // A report whose HMAC TLV fails was altered on the way (or signed with another
      // key): the reply is not trusted at all, as when the base HMAC fails. One that is
      // unsigned (a reflector without the HMAC TLV) is not used: the reflector's T3 is.
      if (signed_tlvs == stamp::TlvHmacStatus::kFailed) return false;
      if (signed_tlvs == stamp::TlvHmacStatus::kOk)
        out->follow_up_status =
            stamp::FindFollowUpTelemetry(data.subspan(base_size()), &out->follow_up);
      else
        out->follow_up_status = stamp::FollowUpStatus::kUnrecognized;
    }
    return true;
  }

  size_t min_size() const override {
    if (!o_.follow_up) return base_size();
    return base_size() + stamp::kFollowUpTelemetryTlvSize +
           (o_.hmac != nullptr ? stamp::kHmacTlvSize : 0);
  }

 private:
  size_t base_size() const {
    return o_.hmac != nullptr ? stamp::kAuthPacketSize : stamp::kMinPacketSize;
  }

  StampCodecOptions o_;
};

}  // namespace

absl::StatusOr<ProbeProto> ParseProbeProto(std::string_view text) {
  if (text == "seed") return ProbeProto::kLab;
  if (text == "stamp") return ProbeProto::kStamp;
  return absl::InvalidArgumentError(
      absl::StrCat("'", AbslView(text), "' is not one of stamp, seed"));
}

std::string_view ProbeProtoName(ProbeProto p) { return p == ProbeProto::kLab ? "seed" : "stamp"; }

uint16_t DefaultPort(ProbeProto p) {
  return p == ProbeProto::kLab ? 12000 : stamp::kDefaultPort;
}

std::unique_ptr<ProbeCodec> MakeProbeCodec(ProbeProto proto, bool heartbeat,
                                           const StampCodecOptions& stamp) {
  if (proto == ProbeProto::kStamp) return std::make_unique<StampCodec>(stamp);
  return std::make_unique<LabCodec>(heartbeat);
}

}  // namespace udpbeat
