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
#include "udpbeat/proto/stamp_auth.h"
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

// Whether a server in `mode` can honour a STAMP key (authenticated mode, where only
// requests whose HMAC verifies are answered): auto and stamp, which answer STAMP. Echo and
// heartbeat answer the lab's text, which carries no HMAC, so a key could only be
// ignored there or turn them into another mode: such a server is refused before it starts.
bool TakesAuthKey(ReplyMode mode) noexcept;

enum class ReplyFormat { kNone, kEcho, kHeartbeat, kStamp };

struct Reply {
  DecodeError error = DecodeError::kNone;  // kNone: send `length` bytes of the output
  ReplyFormat format = ReplyFormat::kNone;  // what kind of reply was built
  size_t length = 0;
  // STAMP with RequestContext::follow_up: where in the output the request's RFC 8972
  // Follow-Up Telemetry TLV came back (zero value, for the caller to fill); else kNoTlv.
  size_t follow_up_offset = static_cast<size_t>(-1);
  // Authenticated STAMP whose request ended with a verified RFC 8972 HMAC TLV: the reply's
  // (its last 20 octets) is signed; whoever changes the sequence number or the TLVs after
  // BuildReply signs it again (stamp::SignTlvHmac from the authenticated base size).
  bool signed_tlvs = false;
  bool ok() const { return error == DecodeError::kNone; }
};

struct RequestContext {
  WallTime received;               // receive time: the kernel timestamp where available (T2)
  WallTime now;                    // the reflector's clock when the reply is built (T3),
  const Clock* clock = nullptr;    // or, when set, read from this clock then (STAMP only)
  int ttl = -1;                    // TTL / hop limit the request arrived with; -1 unknown
  // STAMP authenticated mode (RFC 8762 §4.2.2, §4.3.2), in a mode that TakesAuthKey:
  // only requests whose HMAC verifies under this key are answered, with authenticated
  // replies; nothing else is, not even the lab's text in mode auto. A request refused for
  // want of authentication is kBadHmac: 112 octets or more whose HMAC does not verify, or
  // a shorter one that the mode would answer without a key (unauthenticated STAMP, the
  // lab's Ping); what the mode could not answer anyway stays malformed (its own error).
  // Null: unauthenticated.
  const stamp::HmacSha256* hmac = nullptr;
  // The reflector understands RFC 8972 Follow-Up Telemetry (see Reply::follow_up_offset).
  bool follow_up = false;
};

// Builds the reply to `request` into `out` (which must hold request.size() bytes). A STAMP
// reply carries the sender's sequence number (stateless, RFC 8762 §4.3.1); a stateful
// reflector overwrites it (stamp::SetReflectorSeq) once it knows the reply will be sent,
// so that a request it drops consumes no number.
Reply BuildReply(ReplyMode mode, std::span<const uint8_t> request, const RequestContext& ctx,
                 std::span<uint8_t> out) noexcept;

// How far a reflector's timestamps may be from this server's clock for its packet to be
// recognised as a reflector packet (IsServerReply).
inline constexpr int64_t kReflectorClockSkewSeconds = 86400;

// True when `datagram`, which a server in `mode` would answer, is itself a reply that
// servers send. Answering replies is how one forged datagram makes two servers (or one
// server and itself) answer each other forever, so such a datagram is refused:
//  * auto, echo: the lab's echo reply, a request line whose word is "PING" and that has
//    no lowercase ASCII letter at all (an echo server uppercases every letter; clients
//    send "Ping").
//  * stamp: a STAMP session-reflector packet: 44+ octets whose MBZ octets 38..39 and
//    41..43 are zero and whose receive timestamp T2 (octets 16..23, MBZ in a sender's
//    packet, so never zero in a reflector's) and transmit timestamp T3 (octets 4..11)
//    are both within kReflectorClockSkewSeconds of `now`, even after an echo server
//    uppercased octets of them (0x61..0x7a lose 0x20). A TWAMP-light sender's random
//    padding passes with odds below 2^-50.
//  * heartbeat, and STAMP in auto mode: never. A heartbeat reply "<seq> <difference>"
//    is no request in any mode, and auto reflects only packets whose octets 16..43 are
//    zero, which T2 never is.
bool IsServerReply(ReplyMode mode, std::span<const uint8_t> datagram, WallTime now) noexcept;

// Authenticated mode: an authenticated reflector packet (RFC 8762 §4.3.2), which verifies
// under the same key as a sender's would, told apart by its receive timestamp T2 (octets
// 32..39), which a reflector always writes and a sender's packet has as MBZ zeros.
bool IsAuthReflectorPacket(std::span<const uint8_t> datagram) noexcept;

}  // namespace udpbeat

#endif  // UDPBEAT_PROTO_RESPONDER_H_
