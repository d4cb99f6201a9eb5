// libFuzzer harness for the server's request → reply function, BuildReply
// (udpbeat/proto/responder.h).
//
// Input layout (make_corpus.py writes it):
//   0      flags: bits 0..1 ReplyMode (auto, echo, heartbeat, stamp), bit 2 the reflector
//          understands RFC 8972 Follow-Up Telemetry (RequestContext::follow_up), bit 3 TTL
//          unknown (-1), bit 4 TTL + 256 (out of range), bit 5 raw times (else realistic
//          ones near 2023), bit 6 authenticated mode under kKey (RequestContext::hmac;
//          echo and heartbeat, which cannot take a key, then read as stamp)
//   1      TTL
//   2..9   received time, 10..17 reply time (big-endian; an offset when realistic)
//   18..   the request datagram
// Properties, each a trap when violated:
//   - no crash or sanitizer report; the reply is written only inside a buffer of exactly
//     the request's size, and an output buffer one byte short is refused untouched;
//   - no amplification: an answered reply is never longer than its request, a refused one
//     has length 0 and kind kNone;
//   - the kind matches the mode and the request (auto: Ping → echo, Heartbeat → heartbeat,
//     a STAMP sender packet → STAMP; stamp: every 44+ octet datagram);
//   - echo replies are the request uppercased; heartbeat replies parse and carry the
//     request's seq text; STAMP replies decode to the request's fields, the context's
//     times and TTL, the session's seq, and have zero MBZ octets;
//   - authenticated mode: only STAMP of 112+ octets whose HMAC verifies is answered (a
//     shorter request the mode would answer without a key is kBadHmac), with a reply of
//     the request's size whose HMAC verifies and whose fields decode as above; a request
//     ending with an RFC 8972 HMAC TLV that verifies gets a reply whose HMAC TLV verifies
//     (Reply::signed_tlvs exactly then), one whose HMAC TLV fails gets it flagged I;
//   - with follow-up: Reply::follow_up_offset is a Follow-Up Telemetry TLV inside the
//     reply, flags and value zero; filled and signed as serve does (FillFollowUpTelemetry,
//     SignTlvHmac, SignAuthPacket), FindFollowUpTelemetry reads back what was filled and
//     the packet and its HMAC TLV still verify;
//   - replies are deterministic;
//   - IsServerReply (the loop rules) never takes a STAMP sender packet (zero MBZ) for a
//     reflector packet, whatever the clock, and recognises what the server sends back:
//     its STAMP replies (realistic times), also uppercased by an echo server, and the
//     echo reply of every "Ping" request.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "udpbeat/proto/ntp_timestamp.h"
#include "udpbeat/proto/responder.h"
#include "udpbeat/proto/lab_protocol.h"
#include "udpbeat/proto/stamp.h"
#include "udpbeat/proto/stamp_auth.h"
#include "udpbeat/proto/stamp_tlv.h"

namespace udpbeat {
namespace {

// The authenticated mode's key: fixed, so that the seed corpus (make_corpus.py signs its
// packets with it) starts from requests that verify.
constexpr std::string_view kKey = "udpbeat fuzz key, 32 octets!!!!!";

const stamp::HmacSha256& Hmac() {
  static const stamp::HmacSha256 hmac(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(kKey.data()), kKey.size()));
  return hmac;
}

uint32_t Get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void CheckEcho(std::span<const uint8_t> req, std::span<const uint8_t> reply) {
  FUZZ_CHECK(reply.size() == req.size(), "echo reply %zu B for a %zu B request", reply.size(),
             req.size());
  for (size_t i = 0; i < req.size(); ++i) {
    const uint8_t c = req[i];
    const uint8_t want = c >= 'a' && c <= 'z' ? static_cast<uint8_t>(c - 32) : c;
    FUZZ_CHECK(reply[i] == want, "echo octet %zu is %02x, want %02x", i, reply[i], want);
  }
}

void CheckHeartbeat(std::span<const uint8_t> req, std::span<const uint8_t> reply) {
  lab::Request r;
  FUZZ_CHECK(lab::ParseRequest(req, &r) == DecodeError::kNone, "heartbeat for a bad request");
  FUZZ_CHECK(reply.size() > r.seq_text.size() &&
                 std::memcmp(reply.data(), r.seq_text.data(), r.seq_text.size()) == 0 &&
                 reply[r.seq_text.size()] == ' ',
             "heartbeat reply does not start with the request's seq text");
  // A huge time difference prints wider than the parser reads (crashes/README.md, bug 2).
  lab::HeartbeatReply hb;
  FUZZ_CHECK(lab::ParseHeartbeatReply(reply, &hb) == DecodeError::kNone,
             "heartbeat reply '%.*s' does not parse", static_cast<int>(reply.size()),
             reinterpret_cast<const char*>(reply.data()));
  FUZZ_CHECK(hb.seq == r.seq, "heartbeat reply seq differs");
}

void CheckStamp(std::span<const uint8_t> req, std::span<const uint8_t> reply,
                const RequestContext& ctx) {
  FUZZ_CHECK(req.size() >= stamp::kMinPacketSize, "STAMP reply to a %zu B request", req.size());
  FUZZ_CHECK(reply.size() == req.size(), "STAMP reply %zu B for a %zu B request", reply.size(),
             req.size());
  stamp::ReflectorPacket r;
  FUZZ_CHECK(stamp::DecodeReflector(reply, &r) == DecodeError::kNone, "reply does not decode");
  const uint32_t sender_seq = Get32(req.data());
  FUZZ_CHECK(r.seq == sender_seq, "the reflector's seq is not the sender's");
  FUZZ_CHECK(r.sender_seq == sender_seq, "sender seq not copied");
  FUZZ_CHECK(std::memcmp(reply.data() + 28, req.data() + 4, 8) == 0, "T1 not copied");
  FUZZ_CHECK(Get16(reply.data() + 36) == Get16(req.data() + 12), "error estimate not copied");
  FUZZ_CHECK(Get16(reply.data() + 14) == Get16(req.data() + 14), "SSID not copied");
  FUZZ_CHECK(r.receive_timestamp == ToNtp(ctx.received), "T2 is not the receive time");
  FUZZ_CHECK(r.timestamp == ToNtp(ctx.now), "T3 is not the reply time");
  const uint8_t ttl = ctx.ttl >= 0 && ctx.ttl <= 255 ? static_cast<uint8_t>(ctx.ttl) : 255;
  FUZZ_CHECK(r.sender_ttl == ttl, "TTL %u, want %u", r.sender_ttl, ttl);
  for (size_t i : {38, 39, 41, 42, 43})
    FUZZ_CHECK(reply[i] == 0, "MBZ octet %zu is %02x", i, reply[i]);
}

// An authenticated STAMP reply (RFC 8762 §4.3.2) to an authenticated request.
void CheckAuthStamp(std::span<const uint8_t> req, std::span<const uint8_t> reply,
                    const RequestContext& ctx) {
  FUZZ_CHECK(req.size() >= stamp::kAuthPacketSize && stamp::VerifyAuthHmac(req, Hmac()),
             "a %zu B request that does not verify was answered", req.size());
  FUZZ_CHECK(reply.size() == req.size(), "STAMP reply %zu B for a %zu B request", reply.size(),
             req.size());
  stamp::SenderPacket s;
  FUZZ_CHECK(stamp::DecodeAuthSender(req, Hmac(), &s) == DecodeError::kNone,
             "an answered request does not decode");
  stamp::ReflectorPacket r;
  FUZZ_CHECK(stamp::DecodeAuthReflector(reply, Hmac(), &r) == DecodeError::kNone,
             "the authenticated reply does not verify");
  FUZZ_CHECK(r.seq == s.seq && r.sender_seq == s.seq, "sequence numbers not copied");
  FUZZ_CHECK(r.sender_timestamp == s.timestamp, "T1 not copied");
  FUZZ_CHECK(r.sender_error.Encode() == s.error.Encode(), "error estimate not copied");
  FUZZ_CHECK(r.ssid == s.ssid, "SSID not copied");
  FUZZ_CHECK(r.receive_timestamp == ToNtp(ctx.received), "T2 is not the receive time");
  FUZZ_CHECK(r.timestamp == ToNtp(ctx.now), "T3 is not the reply time");
  const uint8_t ttl = ctx.ttl >= 0 && ctx.ttl <= 255 ? static_cast<uint8_t>(ctx.ttl) : 255;
  FUZZ_CHECK(r.sender_ttl == ttl, "TTL %u, want %u", r.sender_ttl, ttl);
}

// RFC 8972 §4.8 in a reply: signed exactly when the request's HMAC TLV verified, flagged
// I when it failed.
void CheckTlvHmac(std::span<const uint8_t> req, std::span<const uint8_t> reply,
                  const Reply& r) {
  const stamp::TlvHmacStatus asked =
      stamp::VerifyTlvHmac(req, stamp::kAuthPacketSize, Hmac(), /*from_sender=*/true);
  // OpenSSL's HMAC() as the reference, over what §4.8 covers when the packet ends with an
  // HMAC TLV: octets 0..3, then the TLVs before it.
  const size_t n = req.size();
  if (n >= stamp::kAuthPacketSize + stamp::kHmacTlvSize) {
    std::vector<uint8_t> covered(req.begin(), req.begin() + 4);
    covered.insert(covered.end(), req.begin() + stamp::kAuthPacketSize,
                   req.end() - stamp::kHmacTlvSize);
    uint8_t want[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    FUZZ_CHECK(HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()), covered.data(),
                    covered.size(), want, &len) != nullptr,
               "OpenSSL HMAC() failed");
    const bool matches = std::memcmp(want, req.data() + n - 16, 16) == 0;
    stamp::TlvReader reader(req.subspan(stamp::kAuthPacketSize));
    stamp::Tlv tlv, last;
    stamp::TlvStatus st;
    while ((st = reader.Next(&tlv)) == stamp::TlvStatus::kOk) last = tlv;
    const bool ends_with_hmac_tlv =
        st == stamp::TlvStatus::kEnd &&
        last.offset == n - stamp::kAuthPacketSize - stamp::kHmacTlvSize &&
        last.type == stamp::kTlvTypeHmac && last.value.size() == 16;
    if (asked == stamp::TlvHmacStatus::kOk)
      FUZZ_CHECK(matches && ends_with_hmac_tlv, "an HMAC TLV verified that OpenSSL's does not");
    if (matches && ends_with_hmac_tlv)
      FUZZ_CHECK(asked == stamp::TlvHmacStatus::kOk, "a valid HMAC TLV read as %d",
                 static_cast<int>(asked));
  } else {
    FUZZ_CHECK(asked != stamp::TlvHmacStatus::kOk, "an HMAC TLV verified in %zu B", n);
  }
  FUZZ_CHECK(r.signed_tlvs == (asked == stamp::TlvHmacStatus::kOk),
             "signed_tlvs %d for a request whose HMAC TLV reads %d", r.signed_tlvs,
             static_cast<int>(asked));
  if (r.signed_tlvs) {
    FUZZ_CHECK(stamp::VerifyTlvHmac(reply, stamp::kAuthPacketSize, Hmac()) ==
                   stamp::TlvHmacStatus::kOk,
               "the reply's HMAC TLV does not verify");
  } else if (asked == stamp::TlvHmacStatus::kFailed) {
    FUZZ_CHECK(reply[reply.size() - stamp::kHmacTlvSize] == stamp::kTlvFlagIntegrity,
               "a failed HMAC TLV came back with flags %02x",
               reply[reply.size() - stamp::kHmacTlvSize]);
  }
}

// What serve does with Reply::follow_up_offset (ServeWorker::NumberReply): fills the
// report, re-signs; the sender must then read back exactly that report.
void CheckFollowUp(std::span<const uint8_t> req, std::span<uint8_t> reply, const Reply& r,
                   const RequestContext& ctx, uint64_t fill) {
  if (!ctx.follow_up) {
    FUZZ_CHECK(r.follow_up_offset == stamp::kNoTlv, "follow-up answered without the option");
    return;
  }
  if (r.follow_up_offset == stamp::kNoTlv) return;
  const size_t base = ctx.hmac != nullptr ? stamp::kAuthPacketSize : stamp::kMinPacketSize;
  const size_t off = r.follow_up_offset;
  FUZZ_CHECK(off >= base && off + stamp::kFollowUpTelemetryTlvSize <= reply.size(),
             "follow-up offset %zu outside the %zu B reply's TLVs", off, reply.size());
  const uint8_t* t = reply.data() + off;
  FUZZ_CHECK(t[0] == 0 && t[1] == stamp::kTlvTypeFollowUpTelemetry && Get16(t + 2) == 16,
             "the follow-up TLV reads flags %02x type %u length %u", t[0], t[1], Get16(t + 2));
  for (size_t i = 4; i < stamp::kFollowUpTelemetryTlvSize; ++i)
    FUZZ_CHECK(t[i] == 0, "the follow-up value is not zero at %zu", i);
  FUZZ_CHECK(Get16(req.data() + off + 2) == 16 && req[off + 1] == stamp::kTlvTypeFollowUpTelemetry,
             "no follow-up TLV at %zu in the request", off);
  stamp::FollowUpTelemetry f;
  f.seq = static_cast<uint32_t>(fill);
  f.timestamp = {static_cast<uint32_t>(fill >> 32) | 1, static_cast<uint32_t>(fill)};
  f.timestamp_mode = stamp::kTimestampModeSwLocal;
  stamp::FillFollowUpTelemetry(f, reply.subspan(off));
  if (ctx.hmac != nullptr) {
    if (r.signed_tlvs) stamp::SignTlvHmac(reply, stamp::kAuthPacketSize, *ctx.hmac);
    stamp::SignAuthPacket(reply, *ctx.hmac);
    FUZZ_CHECK(stamp::VerifyAuthHmac(reply, *ctx.hmac), "re-signed reply does not verify");
    if (r.signed_tlvs)
      FUZZ_CHECK(stamp::VerifyTlvHmac(reply, stamp::kAuthPacketSize, *ctx.hmac) ==
                     stamp::TlvHmacStatus::kOk,
                 "re-signed HMAC TLV does not verify");
  }
  // An earlier TLV the sender flagged M or I (copied as sent) makes the report unusable;
  // otherwise it reads back as filled.
  stamp::FollowUpTelemetry back;
  const stamp::FollowUpStatus st =
      stamp::FindFollowUpTelemetry(std::span<const uint8_t>(reply).subspan(base), &back);
  FUZZ_CHECK(st == stamp::FollowUpStatus::kOk || st == stamp::FollowUpStatus::kMalformed,
             "the filled report reads as status %d", static_cast<int>(st));
  if (st == stamp::FollowUpStatus::kOk) FUZZ_CHECK(back == f, "the report read back differs");
}

}  // namespace
}  // namespace udpbeat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace udpbeat;
  fuzz::Reader in(data, size);
  const uint8_t flags = in.U8();
  const uint8_t ttl = in.U8();
  const uint64_t t_received = in.U64();
  const uint64_t t_now = in.U64();
  // The request on the heap at its exact size, so ASan sees any read past its end.
  const std::vector<uint8_t> request(in.rest(), in.rest() + in.rest_size());

  const bool authenticated = (flags & 0x40) != 0;
  auto mode = static_cast<ReplyMode>(flags & 3);
  if (authenticated && !TakesAuthKey(mode)) mode = ReplyMode::kStamp;  // as serve insists
  RequestContext ctx;
  ctx.follow_up = (flags & 0x04) != 0;
  if (authenticated) ctx.hmac = &Hmac();
  if (flags & 0x20) {
    ctx.received = WallTime::FromNanos(static_cast<int64_t>(t_received));
    ctx.now = WallTime::FromNanos(static_cast<int64_t>(t_now));
  } else {  // 2023-11-14 plus up to ~4.3 s, reply up to ~4.3 s later
    ctx.received = WallTime::FromNanos(1'700'000'000 * kNanosPerSecond +
                                       static_cast<int64_t>(t_received >> 32));
    ctx.now = ctx.received + static_cast<int64_t>(t_now >> 32);
  }
  ctx.ttl = flags & 0x08 ? -1 : ttl + (flags & 0x10 ? 256 : 0);

  // An output one byte short is refused before anything is written.
  if (!request.empty()) {
    std::vector<uint8_t> small(request.size() - 1, 0xa5);
    const Reply r = BuildReply(mode, request, ctx, small);
    FUZZ_CHECK(r.error == DecodeError::kReplyTooLarge && r.length == 0,
               "a short output buffer was accepted");
    for (uint8_t b : small) FUZZ_CHECK(b == 0xa5, "a refused reply wrote its buffer");
  }

  std::vector<uint8_t> out(request.size());
  const Reply r = BuildReply(mode, request, ctx, out);
  FUZZ_CHECK(r.length <= request.size(), "amplification: %zu B reply to a %zu B request", r.length,
             request.size());
  if (authenticated) {
    const bool verifies =
        request.size() >= stamp::kAuthPacketSize && stamp::VerifyAuthHmac(request, Hmac());
    FUZZ_CHECK(r.ok() == verifies, "authenticated: answered %d, request verifies %d", r.ok(),
               verifies);
    if (!r.ok()) {
      FUZZ_CHECK(r.length == 0 && r.format == ReplyFormat::kNone, "a refused reply has a length");
      if (request.size() >= stamp::kAuthPacketSize)
        FUZZ_CHECK(r.error == DecodeError::kBadHmac, "a %zu B request that does not verify: %d",
                   request.size(), static_cast<int>(r.error));
      // Shorter: kBadHmac exactly when the mode would answer it without a key.
      RequestContext plain = ctx;
      plain.hmac = nullptr;
      std::vector<uint8_t> trial(request.size());
      if (request.size() < stamp::kAuthPacketSize)
        FUZZ_CHECK((r.error == DecodeError::kBadHmac) == BuildReply(mode, request, plain, trial).ok(),
                   "a %zu B request refused as %d", request.size(), static_cast<int>(r.error));
      return 0;
    }
    FUZZ_CHECK(r.format == ReplyFormat::kStamp, "authenticated mode answered kind %d",
               static_cast<int>(r.format));
    const std::span<const uint8_t> reply(out.data(), r.length);
    CheckAuthStamp(request, reply, ctx);
    CheckTlvHmac(request, reply, r);
    std::vector<uint8_t> again(request.size());
    const Reply r2 = BuildReply(mode, request, ctx, again);
    FUZZ_CHECK(r2.length == r.length && r2.signed_tlvs == r.signed_tlvs &&
                   r2.follow_up_offset == r.follow_up_offset &&
                   std::memcmp(again.data(), out.data(), r.length) == 0,
               "the same request gave a different reply");
    CheckFollowUp(request, std::span<uint8_t>(out.data(), r.length), r, ctx,
                  t_received ^ t_now);
    return 0;
  }
  if (!r.ok()) {
    FUZZ_CHECK(r.length == 0 && r.format == ReplyFormat::kNone, "a refused reply has a length");
    FUZZ_CHECK(mode != ReplyMode::kEcho, "echo mode refused a datagram");
    FUZZ_CHECK(!(mode == ReplyMode::kStamp && request.size() >= stamp::kMinPacketSize),
               "stamp mode refused a %zu B datagram", request.size());
    return 0;
  }
  FUZZ_CHECK(r.format != ReplyFormat::kNone, "an answered reply has no kind");
  const std::span<const uint8_t> reply(out.data(), r.length);

  lab::Request text;
  const bool is_text = lab::ParseRequest(request, &text) == DecodeError::kNone;
  ReplyFormat want = ReplyFormat::kNone;
  switch (mode) {
    case ReplyMode::kEcho:
      want = ReplyFormat::kEcho;
      break;
    case ReplyMode::kStamp:
      want = ReplyFormat::kStamp;
      break;
    case ReplyMode::kHeartbeat:
      want = ReplyFormat::kHeartbeat;
      break;
    case ReplyMode::kAuto:
      want = !is_text                                    ? ReplyFormat::kStamp
             : text.keyword == lab::Keyword::kPing      ? ReplyFormat::kEcho
             : text.keyword == lab::Keyword::kHeartbeat ? ReplyFormat::kHeartbeat
                                                         : ReplyFormat::kNone;
      if (want == ReplyFormat::kStamp)
        FUZZ_CHECK(stamp::LooksLikeSender(request), "auto reflected a non-STAMP datagram");
      break;
  }
  FUZZ_CHECK(r.format == want, "mode %d answered kind %d, want %d", static_cast<int>(mode),
             static_cast<int>(r.format), static_cast<int>(want));
  switch (r.format) {
    case ReplyFormat::kEcho:
      CheckEcho(request, reply);
      break;
    case ReplyFormat::kHeartbeat:
      CheckHeartbeat(request, reply);
      break;
    case ReplyFormat::kStamp:
      CheckStamp(request, reply, ctx);
      break;
    case ReplyFormat::kNone:
      break;
  }
  // The loop rules, on the request and on the reply.
  const WallTime now = ctx.now;
  for (ReplyMode m : {ReplyMode::kAuto, ReplyMode::kEcho, ReplyMode::kHeartbeat, ReplyMode::kStamp})
    (void)IsServerReply(m, request, now);
  if (stamp::LooksLikeSender(request))
    FUZZ_CHECK(!IsServerReply(ReplyMode::kStamp, request, now),
               "a STAMP sender packet taken for a reflector packet");
  std::vector<uint8_t> upper(reply.begin(), reply.end());
  for (uint8_t& c : upper)
    if (c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 32);
  if (r.format == ReplyFormat::kStamp && !(flags & 0x20)) {
    FUZZ_CHECK(IsServerReply(ReplyMode::kStamp, reply, now), "a STAMP reply not recognised");
    FUZZ_CHECK(IsServerReply(ReplyMode::kStamp, upper, now),
               "an uppercased STAMP reply not recognised");
  }
  if (is_text && text.keyword == lab::Keyword::kPing && r.format == ReplyFormat::kEcho) {
    FUZZ_CHECK(IsServerReply(ReplyMode::kAuto, reply, now) &&
                   IsServerReply(ReplyMode::kEcho, reply, now),
               "an echo reply not recognised");
  }

  std::vector<uint8_t> again(request.size());
  const Reply r2 = BuildReply(mode, request, ctx, again);
  FUZZ_CHECK(r2.error == r.error && r2.format == r.format && r2.length == r.length &&
                 r2.follow_up_offset == r.follow_up_offset &&
                 (r.length == 0 || std::memcmp(again.data(), out.data(), r.length) == 0),
             "the same request gave a different reply");
  if (r.format == ReplyFormat::kStamp)
    CheckFollowUp(request, std::span<uint8_t>(out.data(), r.length), r, ctx, t_received ^ t_now);
  return 0;
}
