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
  explicit StampCodec(uint16_t ssid) : ssid_(ssid) {}

  size_t Encode(uint32_t seq, WallTime sent, size_t size, std::span<uint8_t> out) override {
    stamp::SenderPacket p;
    p.seq = seq;
    p.timestamp = ToNtp(sent);
    p.ssid = ssid_;
    return stamp::EncodeSender(p, std::max(size, stamp::kMinPacketSize), out);
  }

  bool Decode(std::span<const uint8_t> data, ProbeReply* out) override {
    stamp::ReflectorPacket r;
    if (stamp::DecodeReflector(data, &r) != DecodeError::kNone) return false;
    // RFC 8972 reflectors copy the SSID; RFC 8762-only ones leave those octets zero.
    if (r.ssid != ssid_ && r.ssid != 0) return false;
    out->seq = r.sender_seq;
    out->has_timestamps = true;
    out->reflector_receive = FromNtp(r.receive_timestamp);
    out->reflector_transmit = FromNtp(r.timestamp);
    out->reflector_seq = r.seq;
    out->reflector_ttl = r.sender_ttl;
    out->ssid = r.ssid;
    return true;
  }

  size_t min_size() const override { return stamp::kMinPacketSize; }

 private:
  uint16_t ssid_;
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

std::unique_ptr<ProbeCodec> MakeProbeCodec(ProbeProto proto, bool heartbeat, uint16_t ssid) {
  if (proto == ProbeProto::kStamp) return std::make_unique<StampCodec>(ssid);
  return std::make_unique<LabCodec>(heartbeat);
}

}  // namespace udpbeat
