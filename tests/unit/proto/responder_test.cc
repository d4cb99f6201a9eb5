#include "udpbeat/proto/responder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "udpbeat/proto/ntp_timestamp.h"
#include "udpbeat/proto/stamp.h"
#include "udpbeat/proto/stamp_auth.h"

namespace udpbeat {
namespace {

const WallTime kReceived = WallTime::FromNanos(1'700'000'000'500'000'000);

struct Outcome {
  Reply reply;
  std::string text;
};

Outcome Respond(ReplyMode mode, const std::string& request) {
  std::vector<uint8_t> req(request.begin(), request.end());
  std::vector<uint8_t> out(req.size());
  Outcome o;
  RequestContext ctx;
  ctx.received = kReceived;
  ctx.now = kReceived + 1000;
  o.reply = BuildReply(mode, req, ctx, out);
  o.text.assign(reinterpret_cast<const char*>(out.data()), o.reply.length);
  return o;
}

TEST(Responder, AutoEchoesPingUppercased) {
  const Outcome o = Respond(ReplyMode::kAuto, "Ping 1 1700000000.25");
  ASSERT_TRUE(o.reply.ok());
  EXPECT_EQ(o.reply.format, ReplyFormat::kEcho);
  EXPECT_EQ(o.text, "PING 1 1700000000.25");
}

TEST(Responder, AutoAnswersHeartbeatWithTimeDifference) {
  const Outcome o = Respond(ReplyMode::kAuto, "Heartbeat 5 1700000000.25");
  ASSERT_TRUE(o.reply.ok());
  EXPECT_EQ(o.reply.format, ReplyFormat::kHeartbeat);
  EXPECT_EQ(o.text, "5 0.250000");
}

TEST(Responder, HeartbeatModeAnswersTheLabClientsPing) {
  const Outcome o = Respond(ReplyMode::kHeartbeat, "Ping 9 1700000000.5");
  ASSERT_TRUE(o.reply.ok());
  EXPECT_EQ(o.text, "9 0.000000");
}

TEST(Responder, EchoModeEchoesAnything) {
  const std::string bin("\x00\x01hello\xff", 8);
  const Outcome o = Respond(ReplyMode::kEcho, bin);
  ASSERT_TRUE(o.reply.ok());
  EXPECT_EQ(o.text, std::string("\x00\x01HELLO\xff", 8));
  EXPECT_TRUE(Respond(ReplyMode::kEcho, "").reply.ok());
}

TEST(Responder, AutoRejectsGarbageAndUnknownKeywords) {
  EXPECT_EQ(Respond(ReplyMode::kAuto, "").reply.error, DecodeError::kTooShort);
  EXPECT_EQ(Respond(ReplyMode::kAuto, "GET / HTTP/1.0").reply.error, DecodeError::kBadSequence);
  EXPECT_EQ(Respond(ReplyMode::kAuto, "Hello 1 2").reply.error, DecodeError::kBadKeyword);
}

TEST(Responder, NeverRepliesLargerThanTheRequest) {
  // "P 1 0" is 5 bytes; its heartbeat reply "1 1700000000.500000" would be 19.
  const Outcome o = Respond(ReplyMode::kHeartbeat, "P 1 0");
  EXPECT_EQ(o.reply.error, DecodeError::kReplyTooLarge);
  // A huge timestamp difference that would print past any buffer.
  EXPECT_FALSE(Respond(ReplyMode::kAuto, "Heartbeat 1 -1e30").reply.ok());
}

TEST(Responder, RandomInputNeverAmplifies) {
  std::mt19937 rng(7);
  const char alphabet[] = "PingHeartbeat 0123456789.e-+xyz\x01\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 48, ' ');
    for (char& c : s) c = alphabet[rng() % (sizeof alphabet - 1)];
    for (ReplyMode m : {ReplyMode::kAuto, ReplyMode::kEcho, ReplyMode::kHeartbeat}) {
      const Outcome o = Respond(m, s);
      EXPECT_LE(o.reply.length, s.size());
    }
  }
}

// ---- IsServerReply: what a server must not answer lest two servers loop.

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> Upper(std::vector<uint8_t> v) {
  for (uint8_t& c : v)
    if (c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 32);
  return v;
}

// A sender packet of `length` octets: seq 1, T1 = `t1`, SSID 7, MBZ zero.
std::vector<uint8_t> Sender(WallTime t1, size_t length = 44) {
  stamp::SenderPacket p;
  p.seq = 1;
  p.timestamp = ToNtp(t1);
  p.ssid = 7;
  std::vector<uint8_t> out(length);
  stamp::EncodeSender(p, length, out);
  return out;
}

// What serve's stamp mode sends back for `request`, received at `t2`, sent at `t3`.
std::vector<uint8_t> Reflected(const std::vector<uint8_t>& request, WallTime t2, WallTime t3) {
  RequestContext ctx;
  ctx.received = t2;
  ctx.now = t3;
  ctx.ttl = 64;
  std::vector<uint8_t> out(request.size());
  const Reply r = BuildReply(ReplyMode::kStamp, request, ctx, out);
  EXPECT_TRUE(r.ok());
  out.resize(r.length);
  return out;
}

TEST(ServerReply, TheLabsEchoReplyInAutoAndEcho) {
  const Outcome o = Respond(ReplyMode::kAuto, "Ping 3 1700000000.25");
  const std::vector<uint8_t> reply = Bytes(o.text);  // "PING 3 1700000000.25"
  for (ReplyMode m : {ReplyMode::kAuto, ReplyMode::kEcho})
    EXPECT_TRUE(IsServerReply(m, reply, kReceived)) << ReplyModeName(m);
  // Heartbeat mode answers "PING ..." with a heartbeat reply, which nothing answers.
  EXPECT_FALSE(IsServerReply(ReplyMode::kHeartbeat, reply, kReceived));
  EXPECT_FALSE(IsServerReply(ReplyMode::kStamp, reply, kReceived));
  EXPECT_TRUE(IsServerReply(ReplyMode::kAuto, Bytes("PING 3 1E9  "), kReceived));
}

TEST(ServerReply, RequestsAreNotReplies) {
  for (const char* text : {"Ping 3 1700000000.25", "ping 3 1.5", "PING 3 1.5 x",
                           "Heartbeat 1 2", "HEARTBEAT 1 2", "PING", "PING 3", "3 0.000012",
                           "PINGS 3 1.5", "PING 3 1.5 \x01"}) {
    for (ReplyMode m : {ReplyMode::kAuto, ReplyMode::kEcho, ReplyMode::kHeartbeat})
      EXPECT_FALSE(IsServerReply(m, Bytes(text), kReceived)) << text;
  }
}

TEST(ServerReply, AStampReflectorPacketInStampMode) {
  const WallTime now = kReceived;
  const auto reply = Reflected(Sender(now - 2000), now - 1000, now);
  EXPECT_TRUE(IsServerReply(ReplyMode::kStamp, reply, now));
  EXPECT_TRUE(IsServerReply(ReplyMode::kStamp, reply, now + 3600 * kNanosPerSecond));
  // Auto reflects only packets whose octets 16..43 are zero: never a reflector's.
  EXPECT_FALSE(stamp::LooksLikeSender(reply));
  EXPECT_FALSE(IsServerReply(ReplyMode::kAuto, reply, now));
  EXPECT_FALSE(IsServerReply(ReplyMode::kEcho, reply, now));
  // Longer packets too, and ones whose trailer holds anything.
  auto longer = Reflected(Sender(now, 100), now, now);
  longer[99] = 0x5a;
  EXPECT_TRUE(IsServerReply(ReplyMode::kStamp, longer, now));
}

TEST(ServerReply, AReflectorPacketAnEchoServerUppercased) {
  // NTP seconds 0xEE61627A: three octets are lowercase letters, which an echo server
  // turns into 0xEE41425A, 24 days earlier: still recognised.
  const WallTime t = WallTime::FromNanos((int64_t{0xEE61627A} - kNtpUnixOffsetSeconds) *
                                         kNanosPerSecond);
  const auto reply = Reflected(Sender(t), t, t);
  const auto upper = Upper(reply);
  ASSERT_NE(upper, reply);
  EXPECT_TRUE(IsServerReply(ReplyMode::kStamp, upper, t));
  EXPECT_TRUE(IsServerReply(ReplyMode::kStamp, Upper(Reflected(Sender(kReceived), kReceived,
                                                               kReceived)),
                            kReceived));
}

TEST(ServerReply, SenderPacketsAreNeverReflectorPackets) {
  // The MBZ octets where T2 sits are zero, even when the clock reads 0 (NTP era 1).
  const WallTime era1 = WallTime::FromNanos((int64_t{1} << 32) * kNanosPerSecond -
                                            kNtpUnixOffsetSeconds * kNanosPerSecond);
  for (WallTime now : {kReceived, era1}) {
    EXPECT_FALSE(IsServerReply(ReplyMode::kStamp, Sender(now), now));
    EXPECT_FALSE(IsServerReply(ReplyMode::kStamp, Sender(now, 200), now));
  }
  // TWAMP-light senders' random padding: the odds are below 2^-50.
  std::mt19937 rng(11);
  for (int i = 0; i < 100000; ++i) {
    auto p = Sender(kReceived, 44 + rng() % 64);
    for (size_t k = 16; k < p.size(); ++k) p[k] = static_cast<uint8_t>(rng());
    ASSERT_FALSE(IsServerReply(ReplyMode::kStamp, p, kReceived)) << i;
  }
}

TEST(ServerReply, AReflectorWithAFarClockIsNotRecognised) {
  // The documented limit: two days off. The per-source budget bounds that case.
  const auto reply = Reflected(Sender(kReceived), kReceived, kReceived);
  EXPECT_FALSE(IsServerReply(ReplyMode::kStamp, reply, kReceived + 2 * 86400 * kNanosPerSecond));
  auto broken = reply;
  broken[41] = 1;  // an MBZ octet that is not zero
  EXPECT_FALSE(IsServerReply(ReplyMode::kStamp, broken, kReceived));
  EXPECT_FALSE(IsServerReply(ReplyMode::kStamp, std::vector<uint8_t>(reply.begin(),
                                                                      reply.begin() + 43),
                             kReceived));
}

// Authenticated mode (RequestContext::hmac): the error BuildReply gives `request`.
DecodeError AuthError(ReplyMode mode, std::span<const uint8_t> request,
                      const stamp::HmacSha256& hmac) {
  RequestContext ctx;
  ctx.received = kReceived;
  ctx.now = kReceived + 1000;
  ctx.hmac = &hmac;
  std::vector<uint8_t> out(request.size());
  return BuildReply(mode, request, ctx, out).error;
}

DecodeError AuthError(ReplyMode mode, const std::string& request,
                      const stamp::HmacSha256& hmac) {
  return AuthError(mode, Bytes(request), hmac);
}

const std::vector<uint8_t> kKey(32, 0x5a);

TEST(AuthResponder, OnlyAutoAndStampTakeAKey) {
  EXPECT_TRUE(TakesAuthKey(ReplyMode::kAuto));
  EXPECT_TRUE(TakesAuthKey(ReplyMode::kStamp));
  EXPECT_FALSE(TakesAuthKey(ReplyMode::kEcho));
  EXPECT_FALSE(TakesAuthKey(ReplyMode::kHeartbeat));
}

TEST(AuthResponder, AnsweredOnlyWhenTheHmacVerifies) {
  const stamp::HmacSha256 hmac(kKey);
  stamp::SenderPacket p;
  p.seq = 4;
  p.timestamp = ToNtp(kReceived);
  std::vector<uint8_t> good(stamp::kAuthPacketSize);
  ASSERT_EQ(stamp::EncodeAuthSender(p, hmac, good.size(), good), good.size());
  const stamp::HmacSha256 other(std::vector<uint8_t>(32, 0xa5));
  std::vector<uint8_t> foreign(stamp::kAuthPacketSize);
  ASSERT_EQ(stamp::EncodeAuthSender(p, other, foreign.size(), foreign), foreign.size());
  for (ReplyMode mode : {ReplyMode::kAuto, ReplyMode::kStamp}) {
    EXPECT_EQ(AuthError(mode, good, hmac), DecodeError::kNone);
    EXPECT_EQ(AuthError(mode, foreign, hmac), DecodeError::kBadHmac);
  }
}

// RFC 8762 §4.2.1's 44-octet packet, sent to an authenticated reflector: an unsigned
// request, not garbage. The operator sees it as unauthenticated.
TEST(AuthResponder, UnauthenticatedStampIsUnauthenticatedNotMalformed) {
  const stamp::HmacSha256 hmac(kKey);
  for (size_t length : {size_t{44}, size_t{60}, stamp::kAuthPacketSize - 1}) {
    const std::vector<uint8_t> plain = Sender(kReceived, length);
    EXPECT_EQ(AuthError(ReplyMode::kAuto, plain, hmac), DecodeError::kBadHmac) << length;
    EXPECT_EQ(AuthError(ReplyMode::kStamp, plain, hmac), DecodeError::kBadHmac) << length;
  }
  // Longer ones already failed their (absent) HMAC.
  EXPECT_EQ(AuthError(ReplyMode::kAuto, Sender(kReceived, 200), hmac), DecodeError::kBadHmac);
}

// The general rule: what the mode would answer without the key is unauthenticated; what
// it could not answer anyway keeps its own error, and is counted malformed.
TEST(AuthResponder, WhatTheModeWouldAnswerWithoutTheKeyIsUnauthenticated) {
  const stamp::HmacSha256 hmac(kKey);
  // auto answers the lab's text without a key; with one, never.
  EXPECT_EQ(AuthError(ReplyMode::kAuto, "Ping 1 1700000000.25", hmac), DecodeError::kBadHmac);
  EXPECT_EQ(AuthError(ReplyMode::kAuto, "Heartbeat 1 1700000000.25", hmac),
            DecodeError::kBadHmac);
  EXPECT_EQ(AuthError(ReplyMode::kAuto, "Hello 1 1700000000.25", hmac),
            DecodeError::kBadKeyword);
  EXPECT_EQ(AuthError(ReplyMode::kAuto, "Heartbeat 1 1", hmac), DecodeError::kReplyTooLarge);
  EXPECT_EQ(AuthError(ReplyMode::kAuto, std::string(20, '\xff'), hmac), DecodeError::kNotText);
  EXPECT_EQ(AuthError(ReplyMode::kAuto, "", hmac), DecodeError::kTooShort);
  // 60 octets of text-free garbage whose octets 16..43 are not zero: no STAMP in auto...
  std::vector<uint8_t> padded = Sender(kReceived, 60);
  padded[20] = 0x01;
  EXPECT_NE(AuthError(ReplyMode::kAuto, padded, hmac), DecodeError::kBadHmac);
  EXPECT_NE(AuthError(ReplyMode::kAuto, padded, hmac), DecodeError::kNone);
  // ...but STAMP to stamp mode, which takes any 44 octets or more (TWAMP-light padding).
  EXPECT_EQ(AuthError(ReplyMode::kStamp, padded, hmac), DecodeError::kBadHmac);
  EXPECT_EQ(AuthError(ReplyMode::kStamp, Sender(kReceived, 43), hmac), DecodeError::kTooShort);
}

TEST(Responder, ParsesModeNames) {
  EXPECT_EQ(*ParseReplyMode("heartbeat"), ReplyMode::kHeartbeat);
  EXPECT_EQ(*ParseReplyMode("stamp"), ReplyMode::kStamp);
  EXPECT_FALSE(ParseReplyMode("stamp2").ok());
}

}  // namespace
}  // namespace udpbeat
