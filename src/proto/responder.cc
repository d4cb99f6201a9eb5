#include "udpbeat/proto/responder.h"

#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/proto/seed.h"

namespace udpbeat {
namespace {

Reply Malformed(DecodeError e) { return Reply{e, ReplyKind::kNone, 0}; }

Reply Echo(std::span<const uint8_t> request, std::span<uint8_t> out) {
  return Reply{DecodeError::kNone, ReplyKind::kEcho, seed::EncodeEchoReply(request, out)};
}

Reply Heartbeat(const seed::Request& req, std::span<const uint8_t> request, WallTime received,
                std::span<uint8_t> out) {
  const double diff = received.seconds() - req.sent_seconds;
  // Bounded by the request's size: the reply may never be the larger datagram.
  const size_t len = seed::EncodeHeartbeatReply(req.seq_text, diff, out.first(request.size()));
  if (len == 0) return Malformed(DecodeError::kReplyTooLarge);
  return Reply{DecodeError::kNone, ReplyKind::kHeartbeat, len};
}

}  // namespace

absl::StatusOr<ReplyMode> ParseReplyMode(std::string_view text) {
  if (text == "auto") return ReplyMode::kAuto;
  if (text == "echo") return ReplyMode::kEcho;
  if (text == "heartbeat") return ReplyMode::kHeartbeat;
  return absl::InvalidArgumentError(
      absl::StrCat("--reply: '", AbslView(text), "' is not one of auto, echo, heartbeat"));
}

std::string_view ReplyModeName(ReplyMode mode) {
  switch (mode) {
    case ReplyMode::kAuto: return "auto";
    case ReplyMode::kEcho: return "echo";
    case ReplyMode::kHeartbeat: return "heartbeat";
  }
  return "?";
}

Reply BuildReply(ReplyMode mode, std::span<const uint8_t> request, WallTime received,
                 std::span<uint8_t> out) noexcept {
  if (out.size() < request.size()) return Malformed(DecodeError::kReplyTooLarge);
  if (mode == ReplyMode::kEcho) return Echo(request, out);
  seed::Request req;
  const DecodeError e = seed::ParseRequest(request, &req);
  if (e != DecodeError::kNone) return Malformed(e);
  if (mode == ReplyMode::kHeartbeat) return Heartbeat(req, request, received, out);
  switch (req.keyword) {
    case seed::Keyword::kPing: return Echo(request, out);
    case seed::Keyword::kHeartbeat: return Heartbeat(req, request, received, out);
    case seed::Keyword::kOther: break;
  }
  return Malformed(DecodeError::kBadKeyword);
}

}  // namespace udpbeat
