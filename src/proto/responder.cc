#include "udpbeat/proto/responder.h"

#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/proto/lab_protocol.h"
#include "udpbeat/proto/stamp.h"

namespace udpbeat {
namespace {

Reply Malformed(DecodeError e) { return Reply{e, ReplyFormat::kNone, 0}; }

Reply Echo(std::span<const uint8_t> request, std::span<uint8_t> out) {
  return Reply{DecodeError::kNone, ReplyFormat::kEcho, lab::EncodeEchoReply(request, out)};
}

Reply Heartbeat(const lab::Request& req, std::span<const uint8_t> request, WallTime received,
                std::span<uint8_t> out) {
  // The lab's "time difference": receive time minus the sender's clock, so it includes
  // the clock offset between the hosts (STAMP separates the two).
  const double diff = received.seconds() - req.sent_seconds;
  // Bounded by the request's size: the reply may never be the larger datagram.
  const size_t len = lab::EncodeHeartbeatReply(req.seq_text, diff, out.first(request.size()));
  if (len == 0) return Malformed(DecodeError::kReplyTooLarge);
  return Reply{DecodeError::kNone, ReplyFormat::kHeartbeat, len};
}

Reply Reflect(std::span<const uint8_t> request, const RequestContext& ctx,
              std::span<uint8_t> out) {
  stamp::SenderPacket s;
  const DecodeError e = ctx.hmac != nullptr ? stamp::DecodeAuthSender(request, *ctx.hmac, &s)
                                            : stamp::DecodeSender(request, &s);
  if (e != DecodeError::kNone) return Malformed(e);
  stamp::ReflectorPacket r;
  r.seq = s.seq;
  r.error = stamp::ErrorEstimate{};  // not synchronized, NTP format, 2^-32 s resolution
  r.ssid = s.ssid;
  r.receive_timestamp = ToNtp(ctx.received);
  r.sender_seq = s.seq;
  r.sender_timestamp = s.timestamp;
  r.sender_error = s.error;
  r.sender_ttl = ctx.ttl >= 0 && ctx.ttl <= 255 ? static_cast<uint8_t>(ctx.ttl) : 255;
  // T3 last, as close to the send as this function can be.
  r.timestamp = ToNtp(ctx.clock != nullptr ? ctx.clock->NowWall() : ctx.now);
  const size_t base = ctx.hmac != nullptr ? stamp::kAuthPacketSize : stamp::kMinPacketSize;
  const size_t len = ctx.hmac != nullptr
                         ? stamp::EncodeAuthReflector(r, *ctx.hmac, request.size(), out)
                         : stamp::EncodeReflector(r, request.size(), out);
  const size_t tlv = stamp::ReflectTrailer(request.subspan(base), out.subspan(base, len - base),
                                           stamp::TrailerOptions{ctx.follow_up});
  Reply reply{DecodeError::kNone, ReplyFormat::kStamp, len};
  if (tlv != stamp::kNoTlv) reply.follow_up_offset = base + tlv;
  if (ctx.hmac != nullptr && len >= base + stamp::kHmacTlvSize) {
    // RFC 8972 §4.8: a verified HMAC TLV comes back understood and signed over the reply;
    // a failed one comes back flagged I, unsigned. (ReflectTrailer marked it unknown.)
    switch (stamp::VerifyTlvHmac(request.first(len), base, *ctx.hmac, /*from_sender=*/true)) {
      case stamp::TlvHmacStatus::kOk:
        out[len - stamp::kHmacTlvSize] = 0;
        reply.signed_tlvs = true;
        stamp::SignTlvHmac(out.first(len), base, *ctx.hmac);
        break;
      case stamp::TlvHmacStatus::kFailed:
        out[len - stamp::kHmacTlvSize] = stamp::kTlvFlagIntegrity;
        break;
      default:
        break;
    }
  }
  return reply;
}

// Whether the 4 big-endian octets at `p`, NTP seconds, are within the skew of `now`,
// taking any of them in 'A'..'Z' as possibly uppercased from 'a'..'z' by an echo server
// (at most 16 readings; uppercasing a byte moves the value by 0x20 << 8k).
bool NearNowIgnoringCase(const uint8_t* p, uint32_t now) noexcept {
  for (unsigned flip = 0; flip < 16; ++flip) {
    uint32_t v = 0;
    bool possible = true;
    for (unsigned i = 0; i < 4; ++i) {
      uint8_t b = p[i];
      if (flip & (1u << i)) {
        if (b < 'A' || b > 'Z') {
          possible = false;
          break;
        }
        b = static_cast<uint8_t>(b + 0x20);
      }
      v = v << 8 | b;
    }
    // Modulo 2^32, so the NTP era change in 2036 is only one more second.
    const int64_t diff = static_cast<int32_t>(v - now);
    if (possible && diff >= -kReflectorClockSkewSeconds && diff <= kReflectorClockSkewSeconds)
      return true;
  }
  return false;
}

bool IsStampReflectorPacket(std::span<const uint8_t> d, WallTime now) noexcept {
  if (d.size() < stamp::kMinPacketSize) return false;
  for (size_t i : {38, 39, 41, 42, 43})
    if (d[i] != 0) return false;
  bool t2_zero = true;
  for (size_t i = 16; i < 24; ++i) t2_zero = t2_zero && d[i] == 0;
  if (t2_zero) return false;
  const uint32_t now_seconds = ToNtp(now).seconds;
  return NearNowIgnoringCase(d.data() + 16, now_seconds) &&
         NearNowIgnoringCase(d.data() + 4, now_seconds);
}

bool IsLabEchoReply(std::span<const uint8_t> d) noexcept {
  // "PING " first: the cheap test that settles almost every datagram.
  if (d.size() < 5 || d[0] != 'P' || d[1] != 'I' || d[2] != 'N' || d[3] != 'G' || d[4] != ' ')
    return false;
  for (uint8_t c : d)
    if (c >= 'a' && c <= 'z') return false;
  lab::Request req;
  return lab::ParseRequest(d, &req) == DecodeError::kNone;
}

}  // namespace

absl::StatusOr<ReplyMode> ParseReplyMode(std::string_view text) {
  if (text == "auto") return ReplyMode::kAuto;
  if (text == "echo") return ReplyMode::kEcho;
  if (text == "heartbeat") return ReplyMode::kHeartbeat;
  if (text == "stamp") return ReplyMode::kStamp;
  return absl::InvalidArgumentError(
      absl::StrCat("'", AbslView(text), "' is not one of auto, echo, heartbeat, stamp"));
}

bool TakesAuthKey(ReplyMode mode) noexcept {
  return mode == ReplyMode::kAuto || mode == ReplyMode::kStamp;
}

std::string_view ReplyModeName(ReplyMode mode) {
  switch (mode) {
    case ReplyMode::kAuto: return "auto";
    case ReplyMode::kEcho: return "echo";
    case ReplyMode::kHeartbeat: return "heartbeat";
    case ReplyMode::kStamp: return "stamp";
  }
  return "?";
}

Reply BuildReply(ReplyMode mode, std::span<const uint8_t> request, const RequestContext& ctx,
                 std::span<uint8_t> out) noexcept {
  if (out.size() < request.size()) return Malformed(DecodeError::kReplyTooLarge);
  // Authenticated mode answers authenticated STAMP and nothing else.
  if (ctx.hmac != nullptr) {
    const Reply reply = Reflect(request, ctx, out);
    if (reply.error != DecodeError::kTooShort) return reply;
    // Too short to carry an HMAC. What the mode would answer without a key is a request
    // all the same, only unsigned: told apart from garbage, it shows the operator that
    // somebody sends unauthenticated STAMP (or the lab's text) here. The trial reply
    // only scribbles on `out`, which an error leaves unsent.
    RequestContext plain = ctx;
    plain.hmac = nullptr;
    const Reply trial = BuildReply(mode, request, plain, out);
    return Malformed(trial.ok() ? DecodeError::kBadHmac : trial.error);
  }
  if (mode == ReplyMode::kEcho) return Echo(request, out);
  if (mode == ReplyMode::kStamp) return Reflect(request, ctx, out);
  lab::Request req;
  const DecodeError e = lab::ParseRequest(request, &req);
  if (e != DecodeError::kNone) {
    // Text first: a STAMP packet always has a non-text byte (its zero MBZ octets).
    if (mode == ReplyMode::kAuto && stamp::LooksLikeSender(request))
      return Reflect(request, ctx, out);
    return Malformed(e);
  }
  if (mode == ReplyMode::kHeartbeat) return Heartbeat(req, request, ctx.received, out);
  switch (req.keyword) {
    case lab::Keyword::kPing: return Echo(request, out);
    case lab::Keyword::kHeartbeat: return Heartbeat(req, request, ctx.received, out);
    case lab::Keyword::kOther: break;
  }
  return Malformed(DecodeError::kBadKeyword);
}

bool IsAuthReflectorPacket(std::span<const uint8_t> datagram) noexcept {
  if (datagram.size() < stamp::kAuthPacketSize) return false;
  for (size_t i = 32; i < 40; ++i)
    if (datagram[i] != 0) return true;
  return false;
}

bool IsServerReply(ReplyMode mode, std::span<const uint8_t> datagram, WallTime now) noexcept {
  switch (mode) {
    case ReplyMode::kAuto:
    case ReplyMode::kEcho: return IsLabEchoReply(datagram);
    case ReplyMode::kStamp: return IsStampReflectorPacket(datagram, now);
    case ReplyMode::kHeartbeat: return false;
  }
  return false;
}

}  // namespace udpbeat
