#include "udpbeat/proto/stamp_tlv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "udpbeat/proto/stamp.h"
#include "udpbeat/proto/stamp_auth.h"

namespace udpbeat::stamp {
namespace {

// RFC 8972 §4: flags | type | 16-bit length | value.
std::vector<uint8_t> MakeTlv(uint8_t flags, uint8_t type, const std::vector<uint8_t>& value) {
  std::vector<uint8_t> v(kTlvHeaderSize + value.size());
  v[0] = flags;
  v[1] = type;
  v[2] = static_cast<uint8_t>(value.size() >> 8);
  v[3] = static_cast<uint8_t>(value.size());
  std::copy(value.begin(), value.end(), v.begin() + kTlvHeaderSize);
  return v;
}

std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<uint8_t> FollowUpRequest() {
  std::vector<uint8_t> v(kFollowUpTelemetryTlvSize, 0xee);
  EXPECT_EQ(EncodeFollowUpTelemetryRequest(v), kFollowUpTelemetryTlvSize);
  return v;
}

TEST(TlvReader, WalksTlvsIncludingAnEmptyValue) {
  const std::vector<uint8_t> area =
      Concat({MakeTlv(0x80, 200, {0xab, 0xcd}), MakeTlv(0x00, 1, {}), MakeTlv(0x20, 7, {9})});
  TlvReader reader(area);
  Tlv tlv;
  ASSERT_EQ(reader.Next(&tlv), TlvStatus::kOk);
  EXPECT_EQ(tlv.offset, 0u);
  EXPECT_EQ(tlv.flags, 0x80);
  EXPECT_EQ(tlv.type, 200);
  EXPECT_EQ(std::vector<uint8_t>(tlv.value.begin(), tlv.value.end()),
            (std::vector<uint8_t>{0xab, 0xcd}));
  EXPECT_EQ(tlv.size(), 6u);
  ASSERT_EQ(reader.Next(&tlv), TlvStatus::kOk);  // length 0: a 4-octet TLV, not an error
  EXPECT_EQ(tlv.offset, 6u);
  EXPECT_EQ(tlv.type, 1);
  EXPECT_TRUE(tlv.value.empty());
  ASSERT_EQ(reader.Next(&tlv), TlvStatus::kOk);
  EXPECT_EQ(tlv.offset, 10u);
  EXPECT_EQ(tlv.flags, 0x20);
  EXPECT_EQ(tlv.value.size(), 1u);
  EXPECT_EQ(reader.Next(&tlv), TlvStatus::kEnd);
  EXPECT_EQ(reader.Next(&tlv), TlvStatus::kEnd);
  EXPECT_EQ(reader.offset(), area.size());
  EXPECT_TRUE(IsTlvSequence(area));
  EXPECT_TRUE(IsTlvSequence({}));
}

TEST(TlvReader, TruncatedHeaderStopsTheWalk) {
  const std::vector<uint8_t> one = MakeTlv(0x80, 5, {1, 2, 3, 4});
  for (size_t extra = 1; extra < kTlvHeaderSize; ++extra) {
    std::vector<uint8_t> area = one;
    area.resize(one.size() + extra, 0x09);  // 1..3 octets: not even a header
    TlvReader reader(area);
    Tlv tlv;
    ASSERT_EQ(reader.Next(&tlv), TlvStatus::kOk);
    Tlv untouched = tlv;
    EXPECT_EQ(reader.Next(&tlv), TlvStatus::kTruncated) << extra;
    EXPECT_EQ(reader.offset(), one.size());  // stays put
    EXPECT_EQ(tlv.offset, untouched.offset);
    EXPECT_FALSE(IsTlvSequence(area));
  }
}

TEST(TlvReader, LengthBeyondThePacketIsAnOverrun) {
  std::vector<uint8_t> area = MakeTlv(0x80, 5, {1, 2, 3, 4});
  area[3] = 5;  // claims 5 octets of value, 4 are there
  TlvReader reader(area);
  Tlv tlv;
  EXPECT_EQ(reader.Next(&tlv), TlvStatus::kOverrun);
  EXPECT_EQ(reader.offset(), 0u);
  EXPECT_FALSE(IsTlvSequence(area));
  area[2] = 0xff;  // 65535 + 5: far past the end
  EXPECT_EQ(TlvReader(area).Next(&tlv), TlvStatus::kOverrun);
  // The last TLV overrunning, after a good one.
  area = Concat({MakeTlv(0x80, 5, {1}), MakeTlv(0x80, 6, {1, 2})});
  area.pop_back();
  TlvReader second(area);
  ASSERT_EQ(second.Next(&tlv), TlvStatus::kOk);
  EXPECT_EQ(second.Next(&tlv), TlvStatus::kOverrun);
}

TEST(TlvReader, ZeroPaddingIsNotTlvs) {
  const std::vector<uint8_t> zeros(28, 0);
  Tlv tlv;
  EXPECT_EQ(TlvReader(zeros).Next(&tlv), TlvStatus::kReservedType);
  EXPECT_FALSE(IsTlvSequence(zeros));
  // A reserved type after a valid TLV also ends the sequence.
  EXPECT_FALSE(IsTlvSequence(Concat({MakeTlv(0x80, 5, {}), MakeTlv(0x80, 0, {})})));
}

TEST(FollowUpTelemetry, RequestGoldenBytes) {
  // RFC 8972 §4.7: type 7, length 16, zero value; §4: a sender sets U.
  const std::vector<uint8_t> want = {0x80, 7, 0, 16, 0, 0, 0, 0, 0, 0,
                                     0,    0, 0, 0,  0, 0, 0, 0, 0, 0};
  EXPECT_EQ(FollowUpRequest(), want);
  std::vector<uint8_t> small(19, 0xee);
  EXPECT_EQ(EncodeFollowUpTelemetryRequest(small), 0u);
  EXPECT_EQ(small, std::vector<uint8_t>(19, 0xee));
}

TEST(FollowUpTelemetry, FillGoldenBytesAndFindRoundTrip) {
  std::vector<uint8_t> tlv = FollowUpRequest();
  const FollowUpTelemetry f{0x01020304, {0xe91a2b3c, 0x80000001}, kTimestampModeSwLocal};
  FillFollowUpTelemetry(f, tlv);
  const std::vector<uint8_t> want = {0x00, 7,    0,    16,                   // understood
                                     0x01, 0x02, 0x03, 0x04,                 // sequence
                                     0xe9, 0x1a, 0x2b, 0x3c, 0x80, 0, 0, 1,  // timestamp
                                     2,                                      // SW local
                                     0,    0,    0};                         // reserved
  EXPECT_EQ(tlv, want);
  FollowUpTelemetry back;
  ASSERT_EQ(FindFollowUpTelemetry(tlv, &back), FollowUpStatus::kOk);
  EXPECT_EQ(back, f);
  EXPECT_TRUE(back.reported());
  // Behind other TLVs and followed by more.
  const std::vector<uint8_t> area = Concat({MakeTlv(0x00, 1, std::vector<uint8_t>(8, 0)),
                                            MakeTlv(0x80, 200, {1}), tlv, MakeTlv(0x80, 201, {})});
  back = {};
  ASSERT_EQ(FindFollowUpTelemetry(area, &back), FollowUpStatus::kOk);
  EXPECT_EQ(back, f);
  std::vector<uint8_t> small(19, 0xee);
  FillFollowUpTelemetry(f, small);
  EXPECT_EQ(small, std::vector<uint8_t>(19, 0xee));
}

TEST(FollowUpTelemetry, FindTellsWhyThereIsNoAnswer) {
  const FollowUpTelemetry sentinel{7, {7, 7}, 7};
  FollowUpTelemetry out = sentinel;
  // No TLV at all: zero padding (a TWAMP-light reflector), empty, other TLVs only.
  EXPECT_EQ(FindFollowUpTelemetry(std::vector<uint8_t>(20, 0), &out), FollowUpStatus::kAbsent);
  EXPECT_EQ(FindFollowUpTelemetry({}, &out), FollowUpStatus::kAbsent);
  EXPECT_EQ(FindFollowUpTelemetry(MakeTlv(0x80, 200, {1, 2}), &out), FollowUpStatus::kAbsent);
  // Returned as sent (U still set): the reflector does not implement it.
  EXPECT_EQ(FindFollowUpTelemetry(FollowUpRequest(), &out), FollowUpStatus::kUnrecognized);
  // Flagged malformed or failing integrity, or of the wrong length.
  std::vector<uint8_t> tlv = FollowUpRequest();
  tlv[0] = kTlvFlagMalformed;
  EXPECT_EQ(FindFollowUpTelemetry(tlv, &out), FollowUpStatus::kMalformed);
  tlv[0] = kTlvFlagIntegrity;
  EXPECT_EQ(FindFollowUpTelemetry(tlv, &out), FollowUpStatus::kMalformed);
  EXPECT_EQ(FindFollowUpTelemetry(MakeTlv(0, 7, std::vector<uint8_t>(12, 0)), &out),
            FollowUpStatus::kMalformed);
  // An earlier TLV flagged malformed: the reflector stopped there (RFC 8972 §4).
  std::vector<uint8_t> good = FollowUpRequest();
  FillFollowUpTelemetry(sentinel, good);
  EXPECT_EQ(FindFollowUpTelemetry(Concat({MakeTlv(kTlvFlagMalformed, 200, {}), good}), &out),
            FollowUpStatus::kMalformed);
  // A truncated TLV before it hides it.
  std::vector<uint8_t> overrun = Concat({MakeTlv(0x80, 200, {1, 2}), good});
  overrun[3] = 200;
  EXPECT_EQ(FindFollowUpTelemetry(overrun, &out), FollowUpStatus::kAbsent);
  EXPECT_EQ(out, sentinel);  // never written but on kOk
  // Zero value: the reflector had nothing to report (first reply, or stateless).
  std::vector<uint8_t> zero = FollowUpRequest();
  zero[0] = 0;
  ASSERT_EQ(FindFollowUpTelemetry(zero, &out), FollowUpStatus::kOk);
  EXPECT_FALSE(out.reported());
}

// --- The reflector side: stamp::ReflectTrailer ---

std::vector<uint8_t> Reflect(const std::vector<uint8_t>& tail, TrailerOptions options,
                             size_t* follow_up) {
  std::vector<uint8_t> out(tail.size(), 0);  // zeroed, as the encoder leaves it
  *follow_up = ReflectTrailer(tail, out, options);
  return out;
}

TEST(ReflectTrailer, AReflectorThatKnowsFollowUpTelemetryClearsUAndReturnsWhere) {
  std::vector<uint8_t> request = FollowUpRequest();
  request[10] = 0x99;  // a sender's non-zero value is not reflected back
  const std::vector<uint8_t> padding = MakeTlv(0x00, 1, {0, 0, 0, 0});
  const std::vector<uint8_t> unknown = MakeTlv(0x80, 200, {0xab});
  const std::vector<uint8_t> tail = Concat({padding, request, unknown});
  size_t at = 0;
  std::vector<uint8_t> out = Reflect(tail, {.follow_up_telemetry = true}, &at);
  ASSERT_EQ(at, padding.size());
  std::vector<uint8_t> want_follow_up(kFollowUpTelemetryTlvSize, 0);
  want_follow_up[1] = 7;
  want_follow_up[3] = 16;
  EXPECT_EQ(out, Concat({padding, want_follow_up, unknown}));  // U stays on the unknown one
  // The reflector fills in its previous reply; the sender reads it back.
  const FollowUpTelemetry f{41, {0xe91a2b3c, 0x40000000}, kTimestampModeSwLocal};
  FillFollowUpTelemetry(f, std::span(out).subspan(at));
  FollowUpTelemetry back;
  ASSERT_EQ(FindFollowUpTelemetry(out, &back), FollowUpStatus::kOk);
  EXPECT_EQ(back, f);
}

TEST(ReflectTrailer, AReflectorThatDoesNotKnowItSetsUAndTheSenderFallsBack) {
  const std::vector<uint8_t> tail = Concat({FollowUpRequest(), MakeTlv(0x00, 1, {0, 0})});
  size_t at = 0;
  const std::vector<uint8_t> out = Reflect(tail, {}, &at);  // the default: not understood
  EXPECT_EQ(at, kNoTlv);
  EXPECT_EQ(out[0], 0x80);   // U
  EXPECT_EQ(out[20], 0x00);  // Extra Padding: understood, as before
  FollowUpTelemetry f;
  EXPECT_EQ(FindFollowUpTelemetry(out, &f), FollowUpStatus::kUnrecognized);
  // A sender that cleared U (not RFC 8972, but seen) still gets U back from such a reflector.
  std::vector<uint8_t> cleared = FollowUpRequest();
  cleared[0] = 0;
  EXPECT_EQ(FindFollowUpTelemetry(Reflect(cleared, {}, &at), &f), FollowUpStatus::kUnrecognized);
}

TEST(ReflectTrailer, WrongLengthIsMalformedAndEndsTheProcessing) {
  const std::vector<uint8_t> bad = MakeTlv(0x80, 7, std::vector<uint8_t>(14, 0x77));
  const std::vector<uint8_t> after = MakeTlv(0x80, 200, {0xab});
  const std::vector<uint8_t> unknown_before = MakeTlv(0x00, 201, {});
  size_t at = 0;
  const std::vector<uint8_t> out =
      Reflect(Concat({unknown_before, bad, after}), {.follow_up_telemetry = true}, &at);
  EXPECT_EQ(at, kNoTlv);
  std::vector<uint8_t> want_bad = bad;
  want_bad[0] = kTlvFlagMalformed;                                    // M, not U
  std::fill(want_bad.begin() + 4, want_bad.begin() + 4 + 12, 0);      // seq + timestamp zeroed
  EXPECT_EQ(out, Concat({MakeTlv(0x80, 201, {}), want_bad, after}));  // rest copied as is
  FollowUpTelemetry f;
  EXPECT_EQ(FindFollowUpTelemetry(out, &f), FollowUpStatus::kMalformed);
  // Shorter than 12 octets of value: what is there is zeroed.
  const std::vector<uint8_t> tiny = Reflect(MakeTlv(0x80, 7, {5, 5, 5}), {true}, &at);
  EXPECT_EQ(tiny, (std::vector<uint8_t>{kTlvFlagMalformed, 7, 0, 3, 0, 0, 0}));
}

TEST(ReflectTrailer, PaddingThatIsNotTlvsComesBackAsZeros) {
  size_t at = 0;
  std::vector<uint8_t> tail = FollowUpRequest();
  tail.push_back(0x01);  // one stray octet: not TLVs end to end
  EXPECT_EQ(Reflect(tail, {.follow_up_telemetry = true}, &at),
            std::vector<uint8_t>(tail.size(), 0));
  EXPECT_EQ(at, kNoTlv);
  FollowUpTelemetry f;
  EXPECT_EQ(FindFollowUpTelemetry(std::vector<uint8_t>(tail.size(), 0), &f),
            FollowUpStatus::kAbsent);
}

// Authenticated mode: TLVs follow the 112-octet packet and are not covered by its HMAC,
// so the reflector fills the Follow-Up Telemetry TLV after signing.
TEST(ReflectTrailer, FollowUpTelemetryAfterAnAuthenticatedPacket) {
  const std::vector<uint8_t> key(32, 0x42);
  const HmacSha256 hmac(key);
  std::vector<uint8_t> request(kAuthPacketSize + kFollowUpTelemetryTlvSize);
  ASSERT_EQ(
      EncodeAuthSender({5, {0xe91a2b3c, 0}, ErrorEstimate{}, 9}, hmac, request.size(), request),
      request.size());
  EncodeFollowUpTelemetryRequest(std::span(request).subspan(kAuthPacketSize));
  SenderPacket s;
  ASSERT_EQ(DecodeAuthSender(request, hmac, &s), DecodeError::kNone);

  std::vector<uint8_t> reply(request.size());
  ReflectorPacket r;
  r.seq = 2;
  r.sender_seq = s.seq;
  r.ssid = s.ssid;
  ASSERT_EQ(EncodeAuthReflector(r, hmac, reply.size(), reply), reply.size());
  const size_t at =
      ReflectTrailer(std::span(request).subspan(kAuthPacketSize),
                     std::span(reply).subspan(kAuthPacketSize), {.follow_up_telemetry = true});
  ASSERT_EQ(at, 0u);
  const FollowUpTelemetry previous{1, {0xe91a2b3c, 0x1000}, kTimestampModeSwLocal};
  FillFollowUpTelemetry(previous, std::span(reply).subspan(kAuthPacketSize + at));

  ReflectorPacket back;
  ASSERT_EQ(DecodeAuthReflector(reply, hmac, &back), DecodeError::kNone);
  EXPECT_EQ(back, r);
  FollowUpTelemetry f;
  ASSERT_EQ(FindFollowUpTelemetry(std::span(reply).subspan(kAuthPacketSize), &f),
            FollowUpStatus::kOk);
  EXPECT_EQ(f, previous);
}

}  // namespace
}  // namespace udpbeat::stamp
