#include "udpbeat/proto/responder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

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

TEST(Responder, ParsesModeNames) {
  EXPECT_EQ(*ParseReplyMode("heartbeat"), ReplyMode::kHeartbeat);
  EXPECT_EQ(*ParseReplyMode("stamp"), ReplyMode::kStamp);
  EXPECT_FALSE(ParseReplyMode("stamp2").ok());
}

}  // namespace
}  // namespace udpbeat
