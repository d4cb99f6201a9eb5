#include "udpbeat/proto/stamp.h"

#include <gtest/gtest.h>

#include <vector>

#include "udpbeat/proto/responder.h"

namespace udpbeat::stamp {
namespace {

// RFC 8762 §4.2.1 session-sender packet, built field by field.
const std::vector<uint8_t> kSenderGolden = {
    0x00, 0x00, 0x01, 0x02,                          // 0..3 sequence = 258
    0xe9, 0x1a, 0x2b, 0x3c, 0x80, 0x00, 0x00, 0x00,  // 4..11 T1 = 0xe91a2b3c.5 s
    0x81, 0x12,                                      // 12..13 S=1 Z=0 scale=1 mult=0x12
    0xbe, 0xef,                                      // 14..15 SSID (RFC 8972)
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,        // 16..29 MBZ
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,        // 30..43 MBZ
};

// RFC 8762 §4.3.1 session-reflector packet, built field by field.
const std::vector<uint8_t> kReflectorGolden = {
    0x00, 0x00, 0x00, 0x07,                          // 0..3 reflector sequence = 7
    0xe9, 0x1a, 0x2b, 0x3d, 0x40, 0x00, 0x00, 0x00,  // 4..11 T3
    0x00, 0x01,                                      // 12..13 error estimate (mult 1)
    0xbe, 0xef,                                      // 14..15 SSID
    0xe9, 0x1a, 0x2b, 0x3d, 0x00, 0x00, 0x00, 0x01,  // 16..23 T2
    0x00, 0x00, 0x01, 0x02,                          // 24..27 sender's sequence
    0xe9, 0x1a, 0x2b, 0x3c, 0x80, 0x00, 0x00, 0x00,  // 28..35 sender's T1
    0x81, 0x12,                                      // 36..37 sender's error estimate
    0x00, 0x00,                                      // 38..39 MBZ
    0x3f,                                            // 40 sender's TTL = 63
    0x00, 0x00, 0x00,                                // 41..43 MBZ
};

TEST(StampCodec, SenderGoldenDecodesAndReencodes) {
  SenderPacket p;
  ASSERT_EQ(DecodeSender(kSenderGolden, &p), DecodeError::kNone);
  EXPECT_EQ(p.seq, 258u);
  EXPECT_EQ(p.timestamp, (NtpTimestamp{0xe91a2b3c, 0x80000000}));
  EXPECT_TRUE(p.error.synchronized);
  EXPECT_FALSE(p.error.ptp_format);
  EXPECT_EQ(p.error.scale, 1);
  EXPECT_EQ(p.error.multiplier, 0x12);
  EXPECT_EQ(p.ssid, 0xbeef);
  std::vector<uint8_t> out(44);
  ASSERT_EQ(EncodeSender(p, 44, out), 44u);
  EXPECT_EQ(out, kSenderGolden);
  EXPECT_TRUE(LooksLikeSender(kSenderGolden));
}

TEST(StampCodec, ReflectorGoldenDecodesAndReencodes) {
  ReflectorPacket r;
  ASSERT_EQ(DecodeReflector(kReflectorGolden, &r), DecodeError::kNone);
  EXPECT_EQ(r.seq, 7u);
  EXPECT_EQ(r.timestamp, (NtpTimestamp{0xe91a2b3d, 0x40000000}));
  EXPECT_EQ(r.receive_timestamp, (NtpTimestamp{0xe91a2b3d, 1}));
  EXPECT_EQ(r.sender_seq, 258u);
  EXPECT_EQ(r.sender_timestamp, (NtpTimestamp{0xe91a2b3c, 0x80000000}));
  EXPECT_EQ(r.sender_error.multiplier, 0x12);
  EXPECT_EQ(r.sender_ttl, 63);
  EXPECT_EQ(r.ssid, 0xbeef);
  std::vector<uint8_t> out(44);
  ASSERT_EQ(EncodeReflector(r, 44, out), 44u);
  EXPECT_EQ(out, kReflectorGolden);
}

TEST(StampCodec, MbzIgnoredOnReceiveAndShortRejected) {
  std::vector<uint8_t> dirty = kSenderGolden;
  dirty[20] = 0xff;
  SenderPacket p;
  EXPECT_EQ(DecodeSender(dirty, &p), DecodeError::kNone);
  EXPECT_FALSE(LooksLikeSender(dirty));  // but auto mode will not take it for STAMP
  EXPECT_EQ(DecodeSender(std::span(kSenderGolden).first(43), &p), DecodeError::kTooShort);
  ReflectorPacket r;
  EXPECT_EQ(DecodeReflector(std::span(kReflectorGolden).first(43), &r), DecodeError::kTooShort);
  uint8_t small[43];
  EXPECT_EQ(EncodeSender(p, 43, small), 0u);
}

TEST(StampErrorEstimate, Seconds) {
  // Multiplier × 2^(Scale − 32): 1 × 2^-32 s and 0x12 × 2^(1-32) s.
  EXPECT_DOUBLE_EQ((ErrorEstimate{false, false, 0, 1}).seconds(), 1.0 / 4294967296.0);
  EXPECT_DOUBLE_EQ((ErrorEstimate{true, false, 1, 0x12}).seconds(), 36.0 / 4294967296.0);
  EXPECT_EQ(ErrorEstimate::Decode(0xc000 | 63 << 8 | 255).Encode(), 0xc000 | 63 << 8 | 255);
}

TEST(NtpTimestamp, EpochAndFractionRoundTrip) {
  // The Unix epoch is 2208988800 s after the NTP epoch.
  EXPECT_EQ(ToNtp(WallTime::FromNanos(0)), (NtpTimestamp{2208988800u, 0}));
  // Half a second is fraction 2^31.
  EXPECT_EQ(ToNtp(WallTime::FromNanos(kNanosPerSecond / 2)).fraction, 0x80000000u);
  for (int64_t ns : {int64_t{0}, int64_t{1}, int64_t{999'999'999}, int64_t{123'456'789},
                     int64_t{1'700'000'000'000'000'001}, int64_t{2'085'978'495'999'999'999},
                     int64_t{2'085'978'496'000'000'000} /* 2036: NTP era 1 */}) {
    const WallTime t = WallTime::FromNanos(ns);
    EXPECT_EQ(FromNtp(ToNtp(t)), t) << ns;
  }
  // Rounding at the top of a second carries into the seconds field.
  const NtpTimestamp top = ToNtp(WallTime::FromNanos(999'999'999'999));
  EXPECT_EQ(FromNtp(top), WallTime::FromNanos(999'999'999'999));
}

std::vector<uint8_t> SenderOfSize(size_t n) {
  std::vector<uint8_t> v(n, 0);
  SenderPacket p;
  p.seq = 9;
  p.ssid = 3;
  p.timestamp = ToNtp(WallTime::FromNanos(1'700'000'000'000'000'000));
  EncodeSender(p, n, v);
  return v;
}

class StampReflect : public testing::TestWithParam<size_t> {};

TEST_P(StampReflect, SymmetricSize) {
  const std::vector<uint8_t> req = SenderOfSize(GetParam());
  std::vector<uint8_t> out(req.size(), 0xaa);
  RequestContext ctx;
  ctx.received = WallTime::FromNanos(1'700'000'000'000'100'000);
  ctx.now = WallTime::FromNanos(1'700'000'000'000'150'000);
  ctx.ttl = 64;
  for (ReplyMode mode : {ReplyMode::kAuto, ReplyMode::kStamp}) {
    const Reply reply = BuildReply(mode, req, ctx, out);
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply.format, ReplyFormat::kStamp);
    EXPECT_EQ(reply.length, req.size());
    ReflectorPacket r;
    ASSERT_EQ(DecodeReflector(std::span(out).first(reply.length), &r), DecodeError::kNone);
    EXPECT_EQ(r.seq, 9u);  // stateless: reflector seq = sender seq
    EXPECT_EQ(r.sender_seq, 9u);
    EXPECT_EQ(r.ssid, 3u);
    EXPECT_EQ(r.sender_ttl, 64);
    EXPECT_EQ(FromNtp(r.receive_timestamp), ctx.received);
    EXPECT_EQ(FromNtp(r.timestamp), ctx.now);
    EXPECT_EQ(FromNtp(r.sender_timestamp), WallTime::FromNanos(1'700'000'000'000'000'000));
    for (size_t i = 44; i < reply.length; ++i) ASSERT_EQ(out[i], 0) << i;  // zero padding
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, StampReflect, testing::Values(44, 45, 100, 1400));

TEST(StampReflect, ShortAndGarbageAreMalformed) {
  std::vector<uint8_t> out(64);
  RequestContext ctx;
  const std::vector<uint8_t> short_req = SenderOfSize(44);
  EXPECT_FALSE(BuildReply(ReplyMode::kStamp, std::span(short_req).first(43), ctx, out).ok());
  EXPECT_FALSE(BuildReply(ReplyMode::kAuto, std::span(short_req).first(43), ctx, out).ok());
  std::vector<uint8_t> garbage(60, 0xff);
  EXPECT_FALSE(BuildReply(ReplyMode::kAuto, garbage, ctx, out).ok());
  EXPECT_TRUE(BuildReply(ReplyMode::kStamp, garbage, ctx, out).ok());  // forced: reflected
}

TEST(StampReflect, StatelessRepliesCarryTheSenderSeqUntilAStatefulReflectorRenumbers) {
  const std::vector<uint8_t> req = SenderOfSize(44);
  std::vector<uint8_t> out(44);
  ReflectorPacket r;
  ASSERT_TRUE(BuildReply(ReplyMode::kAuto, req, RequestContext{}, out).ok());
  DecodeReflector(out, &r);
  EXPECT_EQ(r.seq, 9u);
  SetReflectorSeq(100, out);
  DecodeReflector(out, &r);
  EXPECT_EQ(r.seq, 100u);
  EXPECT_EQ(r.sender_seq, 9u);
}

TEST(StampReflect, TlvsComeBackWithTheUnrecognizedFlag) {
  std::vector<uint8_t> req = SenderOfSize(44);
  // RFC 8972 TLVs: Extra Padding (type 1, 4 bytes) and an unknown type 200 (2 bytes).
  const std::vector<uint8_t> tlvs = {0x00, 1, 0, 4, 0, 0, 0, 0, 0x00, 200, 0, 2, 0xab, 0xcd};
  req.insert(req.end(), tlvs.begin(), tlvs.end());
  std::vector<uint8_t> out(req.size());
  const Reply reply = BuildReply(ReplyMode::kAuto, req, RequestContext{}, out);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply.length, req.size());
  EXPECT_EQ(out[44], 0x00);  // padding TLV is understood
  EXPECT_EQ(out[52], 0x80);  // U flag on the unknown TLV
  EXPECT_EQ(out[53], 200);
  EXPECT_EQ(out[56], 0xab);
}

}  // namespace
}  // namespace udpbeat::stamp
