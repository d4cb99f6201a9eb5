// The server's request → reply function: pure, so it is unit-tested and fuzzed alone.
//
// Invariant: a reply is never larger than its request (no amplification). A request
// that cannot be answered within that bound, or does not parse in the chosen mode, is
// reported malformed and must be dropped (and counted) by the caller.
#ifndef UDPBEAT_PROTO_RESPONDER_H_
#define UDPBEAT_PROTO_RESPONDER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "udpbeat/proto/decode_error.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

enum class ReplyMode {
  kAuto,       // "Ping ..." → echo, "Heartbeat ..." → heartbeat reply, a STAMP
               // session-sender packet (stamp::LooksLikeSender) → reflected, else malformed
  kEcho,       // every datagram echoed with ASCII letters uppercased (the lab's pinger server)
  kHeartbeat,  // any "<word> <seq> <time>" → "<seq> <time difference>" (the lab's heartbeat server)
  kStamp,      // every datagram of 44+ octets reflected as STAMP (TWAMP-light senders
               // may fill octets 16..43 with non-zero padding), else malformed
};

absl::StatusOr<ReplyMode> ParseReplyMode(std::string_view text);
std::string_view ReplyModeName(ReplyMode mode);

enum class ReplyFormat { kNone, kEcho, kHeartbeat, kStamp };

struct Reply {
  DecodeError error = DecodeError::kNone;  // kNone: send `length` bytes of the output
  ReplyFormat format = ReplyFormat::kNone;  // what kind of reply was built
  size_t length = 0;
  bool ok() const { return error == DecodeError::kNone; }
};

struct RequestContext {
  WallTime received;               // receive time: the kernel timestamp where available (T2)
  WallTime now;                    // the reflector's clock when the reply is built (T3),
  const Clock* clock = nullptr;    // or, when set, read from this clock then (STAMP only)
  int ttl = -1;                    // TTL / hop limit the request arrived with; -1 unknown
};

// Builds the reply to `request` into `out` (which must hold request.size() bytes). A STAMP
// reply carries the sender's sequence number (stateless, RFC 8762 §4.3.1); a stateful
// reflector overwrites it (stamp::SetReflectorSeq) once it knows the reply will be sent,
// so that a request it drops consumes no number.
Reply BuildReply(ReplyMode mode, std::span<const uint8_t> request, const RequestContext& ctx,
                 std::span<uint8_t> out) noexcept;

}  // namespace udpbeat

#endif  // UDPBEAT_PROTO_RESPONDER_H_
