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
  kAuto,       // "Ping ..." → echo, "Heartbeat ..." → heartbeat reply, else malformed
  kEcho,       // every datagram echoed with ASCII letters uppercased (the lab's pinger server)
  kHeartbeat,  // any "<word> <seq> <time>" → "<seq> <time difference>" (the lab's heartbeat server)
};

absl::StatusOr<ReplyMode> ParseReplyMode(std::string_view text);
std::string_view ReplyModeName(ReplyMode mode);

enum class ReplyKind { kNone, kEcho, kHeartbeat };

struct Reply {
  DecodeError error = DecodeError::kNone;  // kNone: send `length` bytes of the output
  ReplyKind kind = ReplyKind::kNone;
  size_t length = 0;
  bool ok() const { return error == DecodeError::kNone; }
};

// Builds the reply to `request` into `out` (which must hold request.size() bytes).
// `received` is the request's receive time (the kernel timestamp where available).
Reply BuildReply(ReplyMode mode, std::span<const uint8_t> request, WallTime received,
                 std::span<uint8_t> out) noexcept;

}  // namespace udpbeat

#endif  // UDPBEAT_PROTO_RESPONDER_H_
