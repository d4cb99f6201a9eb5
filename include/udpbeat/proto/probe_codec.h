// What a client mode puts on the wire and reads back, per protocol: the lab's text
// ("Ping <seq> <time>" / "Heartbeat <seq> <time>", echo or heartbeat replies) or STAMP
// (RFC 8762 session-sender packets, session-reflector replies with four timestamps).
#ifndef UDPBEAT_PROTO_PROBE_CODEC_H_
#define UDPBEAT_PROTO_PROBE_CODEC_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "udpbeat/proto/stamp.h"
#include "udpbeat/proto/stamp_auth.h"
#include "udpbeat/proto/stamp_tlv.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

enum class ProbeProto { kLab, kStamp };

absl::StatusOr<ProbeProto> ParseProbeProto(std::string_view text);
std::string_view ProbeProtoName(ProbeProto p);
// The port a target without one gets: 12000 (the lab's) for seed, 862 for STAMP.
uint16_t DefaultPort(ProbeProto p);

struct ProbeReply {
  uint32_t seq = 0;
  // STAMP only: the reflector's view (T2, T3, its sequence number, the TTL it saw).
  bool has_timestamps = false;
  WallTime reflector_receive;   // T2
  WallTime reflector_transmit;  // T3
  uint32_t reflector_seq = 0;
  int reflector_ttl = -1;
  uint16_t ssid = 0;
  // Lab-protocol heartbeat replies only: the server's "time difference" (seconds).
  bool has_time_difference = false;
  double time_difference = 0;
  // STAMP replies to requests that asked for RFC 8972 follow-up telemetry.
  stamp::FollowUpStatus follow_up_status = stamp::FollowUpStatus::kAbsent;
  stamp::FollowUpTelemetry follow_up;
};

// What a STAMP codec adds to the base packet.
struct StampCodecOptions {
  uint16_t ssid = 0;  // the session-sender identifier written into requests (RFC 8972)
  // Authenticated mode (RFC 8762 §4.2.2): 112-octet packets signed with this HMAC key;
  // replies whose HMAC does not verify are not replies. Null: unauthenticated.
  const stamp::HmacSha256* hmac = nullptr;
  // Ask the reflector for RFC 8972 Follow-Up Telemetry (a TLV after the base packet).
  bool follow_up = false;
};

class ProbeCodec {
 public:
  virtual ~ProbeCodec() = default;
  // Writes request `seq`, stamped `sent`, padded to `size` bytes when larger than the
  // protocol's minimum. Returns the length, 0 if it does not fit in `out`.
  virtual size_t Encode(uint32_t seq, WallTime sent, size_t size, std::span<uint8_t> out) = 0;
  // False for anything that is not a reply of this protocol (counted malformed).
  virtual bool Decode(std::span<const uint8_t> data, ProbeReply* out) = 0;
  virtual size_t min_size() const = 0;
};

// `heartbeat`: the lab protocol's requests say "Heartbeat" instead of "Ping".
std::unique_ptr<ProbeCodec> MakeProbeCodec(ProbeProto proto, bool heartbeat,
                                           const StampCodecOptions& stamp);

}  // namespace udpbeat

#endif  // UDPBEAT_PROTO_PROBE_CODEC_H_
