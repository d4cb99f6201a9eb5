#include "udpbeat/proto/stamp_auth.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <thread>
#include <vector>

namespace udpbeat::stamp {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> Hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// RFC 4231 §4.2-4.8: the HMAC-SHA-256 test vectors. Case 5 publishes only the first
// 128 bits, the truncation STAMP uses.
struct Rfc4231Case {
  int number;
  std::vector<uint8_t> key;
  std::vector<uint8_t> data;
  std::string_view hmac_sha256;
};

std::vector<Rfc4231Case> Rfc4231Cases() {
  std::vector<uint8_t> key4;
  for (uint8_t b = 1; b <= 25; ++b) key4.push_back(b);
  return {
      {1, std::vector<uint8_t>(20, 0x0b), Bytes("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {2, Bytes("Jefe"), Bytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {3, std::vector<uint8_t>(20, 0xaa), std::vector<uint8_t>(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {4, key4, std::vector<uint8_t>(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {5, std::vector<uint8_t>(20, 0x0c), Bytes("Test With Truncation"),
       "a3b6167473100ee06e0c796c2955552b"},
      {6, std::vector<uint8_t>(131, 0xaa),
       Bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {7, std::vector<uint8_t>(131, 0xaa),
       Bytes("This is a test using a larger than block-size key and a larger than block-size "
             "data. The key needs to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST(HmacSha256, Rfc4231TestVectors) {
  const std::vector<Rfc4231Case> cases = Rfc4231Cases();
  ASSERT_EQ(cases.size(), 7u);
  for (const Rfc4231Case& c : cases) {
    const HmacSha256 hmac(c.key);
    const std::optional<HmacSha256::Digest> computed = hmac.Compute(c.data);
    ASSERT_TRUE(computed.has_value()) << c.number;
    const HmacSha256::Digest d = *computed;
    const std::vector<uint8_t> want = Hex(c.hmac_sha256);
    ASSERT_LE(want.size(), d.size());
    EXPECT_EQ(std::vector<uint8_t>(d.begin(), d.begin() + want.size()), want)
        << "RFC 4231 test case " << c.number;
    // Also through AuthKey, the type keys are loaded as.
    EXPECT_EQ(HmacSha256(AuthKey::FromBytes(c.key)).Compute(c.data), d) << c.number;
  }
}

// OpenSSL's own HMAC() as the reference, across the lengths where HMAC and SHA-256
// change behaviour: keys around the 64-octet block (longer ones are hashed first) and
// messages around the 55/56-octet padding boundary and the 64-octet block.
TEST(HmacSha256, MatchesOpenSslHmacForAllKeyAndMessageLengths) {
  std::vector<uint8_t> bytes(300);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t key_len : {0, 1, 16, 31, 32, 33, 63, 64, 65, 100, 128, 129, 200}) {
    const std::span<const uint8_t> key(bytes.data() + 50, key_len);
    const HmacSha256 hmac(key);
    for (size_t msg_len = 0; msg_len <= 200; ++msg_len) {
      const std::span<const uint8_t> msg(bytes.data(), msg_len);
      uint8_t want[EVP_MAX_MD_SIZE];
      unsigned int want_len = 0;
      ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg.data(),
                     msg.size(), want, &want_len),
                nullptr);
      ASSERT_EQ(want_len, HmacSha256::kSize);
      const std::optional<HmacSha256::Digest> computed = hmac.Compute(msg);
      ASSERT_TRUE(computed.has_value());
      const HmacSha256::Digest got = *computed;
      ASSERT_EQ(std::vector<uint8_t>(got.begin(), got.end()),
                std::vector<uint8_t>(want, want + want_len))
          << "key " << key_len << " B, message " << msg_len << " B";
    }
  }
}

// One instance shared by threads (serve's workers share the key), and instances used in
// turn on one thread: each thread works on its own copy of the keyed context, replaced
// when another key comes, so every result must still be the reference.
TEST(HmacSha256, SharedByThreadsAndAlternatingKeys) {
  const std::vector<uint8_t> key_a = Bytes("key a, shared by every thread...");
  const std::vector<uint8_t> key_b = Bytes("key b");
  auto reference = [](const std::vector<uint8_t>& key, const std::vector<uint8_t>& msg) {
    HmacSha256::Digest d{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg.data(), msg.size(),
         d.data(), &len);
    return d;
  };
  const HmacSha256 a(key_a);
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (size_t t = 0; t < wrong.size(); ++t) {
    threads.emplace_back([&, t] {
      const HmacSha256 b(key_b);  // this thread's own, alternating with the shared one
      std::vector<uint8_t> msg(96, static_cast<uint8_t>(t));
      for (int i = 0; i < 200; ++i) {
        msg[1] = static_cast<uint8_t>(i);
        if (a.Compute(msg) != reference(key_a, msg)) ++wrong[t];
        if (i % 3 == 0 && b.Compute(msg) != reference(key_b, msg)) ++wrong[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
  // An instance destroyed and another made (perhaps at the same address) on this thread:
  // the new key is used, never the old one's copy.
  const std::vector<uint8_t> msg(96, 0x42);
  for (const auto* key : {&key_a, &key_b, &key_a}) {
    const HmacSha256 h(*key);
    EXPECT_EQ(h.Compute(msg), reference(*key, msg));
  }
}

const std::vector<uint8_t> kGoldenKey = Bytes("udpbeat golden key, 32 octets!!!");

// RFC 8762 §4.2.2 session-sender packet, authenticated mode, built field by field; the
// HMAC was computed independently (Python's hmac module over octets 0..95).
std::vector<uint8_t> SenderGolden() {
  std::vector<uint8_t> v = {
      0x00, 0x00, 0x01, 0x02,                          // 0..3 sequence = 258
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,              // 4..15 MBZ
      0xe9, 0x1a, 0x2b, 0x3c, 0x80, 0x00, 0x00, 0x00,  // 16..23 T1
      0x81, 0x12,                                      // 24..25 S=1 Z=0 scale=1 mult=0x12
      0xbe, 0xef,                                      // 26..27 SSID (RFC 8972)
  };
  v.resize(96, 0);  // 28..95 MBZ
  const std::vector<uint8_t> hmac = Hex("f0d324b07de1673df58a6422e41a6285");  // 96..111
  v.insert(v.end(), hmac.begin(), hmac.end());
  return v;
}

// RFC 8762 §4.3.2 session-reflector packet, authenticated mode, built field by field.
std::vector<uint8_t> ReflectorGolden() {
  std::vector<uint8_t> v = {
      0x00, 0x00, 0x00, 0x07,                          // 0..3 reflector sequence = 7
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,              // 4..15 MBZ
      0xe9, 0x1a, 0x2b, 0x3d, 0x40, 0x00, 0x00, 0x00,  // 16..23 T3
      0x00, 0x01,                                      // 24..25 error estimate (mult 1)
      0xbe, 0xef,                                      // 26..27 SSID
      0, 0, 0, 0,                                      // 28..31 MBZ
      0xe9, 0x1a, 0x2b, 0x3d, 0x00, 0x00, 0x00, 0x01,  // 32..39 T2
      0, 0, 0, 0, 0, 0, 0, 0,                          // 40..47 MBZ
      0x00, 0x00, 0x01, 0x02,                          // 48..51 sender's sequence
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,              // 52..63 MBZ
      0xe9, 0x1a, 0x2b, 0x3c, 0x80, 0x00, 0x00, 0x00,  // 64..71 sender's T1
      0x81, 0x12,                                      // 72..73 sender's error estimate
      0, 0, 0, 0, 0, 0,                                // 74..79 MBZ
      0x3f,                                            // 80 sender's TTL = 63
  };
  v.resize(96, 0);  // 81..95 MBZ
  const std::vector<uint8_t> hmac = Hex("06abc6a0a8919ffa6715cc0301ed202e");  // 96..111
  v.insert(v.end(), hmac.begin(), hmac.end());
  return v;
}

TEST(StampAuthCodec, SenderGoldenDecodesAndReencodes) {
  const HmacSha256 hmac(kGoldenKey);
  const std::vector<uint8_t> golden = SenderGolden();
  ASSERT_EQ(golden.size(), kAuthPacketSize);
  SenderPacket p;
  ASSERT_EQ(DecodeAuthSender(golden, hmac, &p), DecodeError::kNone);
  EXPECT_EQ(p.seq, 258u);
  EXPECT_EQ(p.timestamp, (NtpTimestamp{0xe91a2b3c, 0x80000000}));
  EXPECT_EQ(p.error, (ErrorEstimate{true, false, 1, 0x12}));
  EXPECT_EQ(p.ssid, 0xbeef);
  std::vector<uint8_t> out(kAuthPacketSize, 0xaa);
  ASSERT_EQ(EncodeAuthSender(p, hmac, kAuthPacketSize, out), kAuthPacketSize);
  EXPECT_EQ(out, golden);
}

TEST(StampAuthCodec, ReflectorGoldenDecodesAndReencodes) {
  const HmacSha256 hmac(kGoldenKey);
  const std::vector<uint8_t> golden = ReflectorGolden();
  ASSERT_EQ(golden.size(), kAuthPacketSize);
  ReflectorPacket r;
  ASSERT_EQ(DecodeAuthReflector(golden, hmac, &r), DecodeError::kNone);
  EXPECT_EQ(r.seq, 7u);
  EXPECT_EQ(r.timestamp, (NtpTimestamp{0xe91a2b3d, 0x40000000}));
  EXPECT_EQ(r.error, ErrorEstimate{});
  EXPECT_EQ(r.ssid, 0xbeef);
  EXPECT_EQ(r.receive_timestamp, (NtpTimestamp{0xe91a2b3d, 1}));
  EXPECT_EQ(r.sender_seq, 258u);
  EXPECT_EQ(r.sender_timestamp, (NtpTimestamp{0xe91a2b3c, 0x80000000}));
  EXPECT_EQ(r.sender_error, (ErrorEstimate{true, false, 1, 0x12}));
  EXPECT_EQ(r.sender_ttl, 63);
  std::vector<uint8_t> out(kAuthPacketSize, 0xaa);
  ASSERT_EQ(EncodeAuthReflector(r, hmac, kAuthPacketSize, out), kAuthPacketSize);
  EXPECT_EQ(out, golden);
}

// Every field set to all ones: exactly the field octets are non-zero, so a field written
// one octet off, or an MBZ octet left dirty, shows up here.
TEST(StampAuthCodec, FieldsLandOnTheirOffsetsAndMbzStaysZero) {
  const HmacSha256 hmac(kGoldenKey);
  const ErrorEstimate ones{true, true, 63, 255};
  const NtpTimestamp ts{0xffffffff, 0xffffffff};
  auto expect_only = [](const std::vector<uint8_t>& packet,
                        std::vector<std::pair<size_t, size_t>> fields, const char* what) {
    fields.emplace_back(kAuthHmacOffset, kAuthPacketSize);  // the HMAC: not zero either
    for (size_t i = 0; i < kAuthHmacOffset; ++i) {
      bool in_field = false;
      for (const auto& [begin, end] : fields) in_field |= i >= begin && i < end;
      EXPECT_EQ(packet[i], in_field ? 0xff : 0x00) << what << " octet " << i;
    }
  };
  std::vector<uint8_t> out(kAuthPacketSize, 0xaa);
  ASSERT_EQ(EncodeAuthSender({0xffffffff, ts, ones, 0xffff}, hmac, out.size(), out),
            kAuthPacketSize);
  expect_only(out, {{0, 4}, {16, 28}}, "sender");
  ReflectorPacket r{0xffffffff, ts, ones, 0xffff, ts, 0xffffffff, ts, ones, 0xff};
  std::fill(out.begin(), out.end(), 0xaa);
  ASSERT_EQ(EncodeAuthReflector(r, hmac, out.size(), out), kAuthPacketSize);
  expect_only(out, {{0, 4}, {16, 28}, {32, 40}, {48, 52}, {64, 74}, {80, 81}}, "reflector");
}

TEST(StampAuthCodec, EveryFlippedBitOfTheCoveredOctetsOrTheHmacIsRejected) {
  const HmacSha256 hmac(kGoldenKey);
  for (const std::vector<uint8_t>& golden : {SenderGolden(), ReflectorGolden()}) {
    for (size_t bit = 0; bit < kAuthPacketSize * 8; ++bit) {
      std::vector<uint8_t> bad = golden;
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      SenderPacket s;
      ReflectorPacket r;
      ASSERT_FALSE(VerifyAuthHmac(bad, hmac)) << "bit " << bit;
      ASSERT_EQ(DecodeAuthSender(bad, hmac, &s), DecodeError::kBadHmac) << "bit " << bit;
      ASSERT_EQ(DecodeAuthReflector(bad, hmac, &r), DecodeError::kBadHmac) << "bit " << bit;
    }
  }
}

TEST(StampAuthCodec, WrongKeyIsRejected) {
  std::vector<uint8_t> other_key = kGoldenKey;
  other_key[31] ^= 0x01;
  const HmacSha256 one_bit_off(other_key);
  const HmacSha256 prefix(std::span<const uint8_t>(kGoldenKey).first(31));
  const HmacSha256 empty(std::span<const uint8_t>{});
  SenderPacket s;
  ReflectorPacket r;
  for (const HmacSha256* wrong : {&one_bit_off, &prefix, &empty}) {
    EXPECT_EQ(DecodeAuthSender(SenderGolden(), *wrong, &s), DecodeError::kBadHmac);
    EXPECT_EQ(DecodeAuthReflector(ReflectorGolden(), *wrong, &r), DecodeError::kBadHmac);
  }
}

TEST(StampAuthCodec, PaddingAfter112OctetsIsNotCoveredAndKeepsTheSize) {
  const HmacSha256 hmac(kGoldenKey);
  const SenderPacket p{9, {0xe91a2b3c, 1}, ErrorEstimate{}, 3};
  std::vector<uint8_t> out(1400, 0xaa);
  ASSERT_EQ(EncodeAuthSender(p, hmac, 1400, out), 1400u);
  for (size_t i = kAuthPacketSize; i < out.size(); ++i) ASSERT_EQ(out[i], 0) << i;
  std::vector<uint8_t> golden_112(out.begin(), out.begin() + kAuthPacketSize);
  ASSERT_EQ(EncodeAuthSender(p, hmac, kAuthPacketSize, golden_112), kAuthPacketSize);
  EXPECT_TRUE(std::equal(golden_112.begin(), golden_112.end(), out.begin()));
  out[500] = 0x55;  // RFC 8972 TLVs and padding are outside the HMAC
  SenderPacket back;
  ASSERT_EQ(DecodeAuthSender(out, hmac, &back), DecodeError::kNone);
  EXPECT_EQ(back, p);
}

TEST(StampAuthCodec, ShortPacketsAndBuffersAreRefused) {
  const HmacSha256 hmac(kGoldenKey);
  const std::vector<uint8_t> golden = SenderGolden();
  SenderPacket s{1, {2, 3}, ErrorEstimate{}, 4};
  const SenderPacket before = s;
  EXPECT_EQ(DecodeAuthSender(std::span(golden).first(111), hmac, &s), DecodeError::kTooShort);
  EXPECT_EQ(DecodeAuthSender({}, hmac, &s), DecodeError::kTooShort);
  EXPECT_FALSE(VerifyAuthHmac(std::span(golden).first(111), hmac));
  std::vector<uint8_t> tampered = golden;
  tampered[0] ^= 1;
  EXPECT_EQ(DecodeAuthSender(tampered, hmac, &s), DecodeError::kBadHmac);
  EXPECT_EQ(s, before);  // untouched on error
  ReflectorPacket r;
  const std::vector<uint8_t> reflector = ReflectorGolden();
  EXPECT_EQ(DecodeAuthReflector(std::span(reflector).first(111), hmac, &r),
            DecodeError::kTooShort);
  std::vector<uint8_t> out(200, 0xaa);
  EXPECT_EQ(EncodeAuthSender(s, hmac, 111, out), 0u);
  EXPECT_EQ(EncodeAuthReflector(r, hmac, 111, out), 0u);
  EXPECT_EQ(EncodeAuthSender(s, hmac, 201, out), 0u);  // out too small
  EXPECT_EQ(out, std::vector<uint8_t>(200, 0xaa));     // and nothing written
}

TEST(StampAuthCodec, LateTransmitTimestampIsReSigned) {
  const HmacSha256 hmac(kGoldenKey);
  std::vector<uint8_t> packet = ReflectorGolden();
  packet.resize(150, 0);
  const NtpTimestamp t3{0xe91a2b3e, 0x12345678};
  SetAuthReflectorTimestamp(t3, packet, hmac);
  ReflectorPacket r;
  ASSERT_EQ(DecodeAuthReflector(packet, hmac, &r), DecodeError::kNone);
  EXPECT_EQ(r.timestamp, t3);
  EXPECT_EQ(r.sender_seq, 258u);  // nothing else moved
  // A field changed in place and re-signed verifies; changed and not re-signed does not.
  packet[80] = 0x40;
  EXPECT_FALSE(VerifyAuthHmac(packet, hmac));
  SignAuthPacket(packet, hmac);
  ASSERT_EQ(DecodeAuthReflector(packet, hmac, &r), DecodeError::kNone);
  EXPECT_EQ(r.sender_ttl, 0x40);
  std::vector<uint8_t> short_packet(111, 0x11);
  SetAuthReflectorTimestamp(t3, short_packet, hmac);
  SignAuthPacket(short_packet, hmac);
  EXPECT_EQ(short_packet, std::vector<uint8_t>(111, 0x11));
}

// A client's sessions sharing a socket are told apart by this peek: in the authenticated
// layout the SSID is at 26..27 and the sender's sequence at 48..51. Read in the
// unauthenticated layout, the same reply has SSID 0 (MBZ octets 14..15) and "sequence"
// 0x0001beef (the error estimate and SSID at 24..27): the wrong session, or none.
TEST(StampPeekReflected, AuthenticatedLayoutReadsOctets26And48) {
  std::vector<uint8_t> golden = ReflectorGolden();
  ReflectedIds ids;
  ASSERT_EQ(PeekReflected(golden, true, &ids), DecodeError::kNone);
  EXPECT_EQ(ids.ssid, 0xbeef);
  EXPECT_EQ(ids.sender_seq, 258u);
  ASSERT_EQ(PeekReflected(golden, false, &ids), DecodeError::kNone);
  EXPECT_EQ(ids.ssid, 0);
  EXPECT_EQ(ids.sender_seq, 0x0001beefu);
  // Not verified: a wrong HMAC, or TLVs after octet 112, change nothing (the session
  // that gets the packet verifies it).
  golden[kAuthHmacOffset] ^= 0xff;
  golden.resize(kAuthPacketSize + 40, 0x77);
  ASSERT_EQ(PeekReflected(golden, true, &ids), DecodeError::kNone);
  EXPECT_EQ(ids.ssid, 0xbeef);
  EXPECT_EQ(ids.sender_seq, 258u);
}

// Whatever the layout, the peek reads what the full decoder reads.
TEST(StampPeekReflected, AgreesWithTheDecodersInBothLayouts) {
  const HmacSha256 hmac(kGoldenKey);
  for (const auto& [ssid, seq] : std::vector<std::pair<uint16_t, uint32_t>>{
           {0, 0}, {1, 0x40000000}, {2, 0x7fffffff}, {0xffff, 0xffffffff}, {0x0102, 0x0a0b0c0d}}) {
    ReflectorPacket r;
    r.seq = ~seq;
    r.ssid = ssid;
    r.sender_seq = seq;
    r.sender_ttl = 64;
    std::vector<uint8_t> out(kAuthPacketSize);
    ReflectedIds ids;
    ASSERT_EQ(EncodeAuthReflector(r, hmac, out.size(), out), kAuthPacketSize);
    ASSERT_EQ(PeekReflected(out, true, &ids), DecodeError::kNone);
    EXPECT_EQ(ids.ssid, ssid);
    EXPECT_EQ(ids.sender_seq, seq);
    ASSERT_EQ(EncodeReflector(r, kMinPacketSize, out), kMinPacketSize);
    ASSERT_EQ(PeekReflected(std::span(out).first(kMinPacketSize), false, &ids),
              DecodeError::kNone);
    EXPECT_EQ(ids.ssid, ssid);
    EXPECT_EQ(ids.sender_seq, seq);
  }
}

TEST(StampPeekReflected, ShortPacketsAreRefusedAndOutUntouched) {
  const std::vector<uint8_t> golden = ReflectorGolden();
  const ReflectedIds before{0x1234, 0x56789abc};
  ReflectedIds ids = before;
  const std::span<const uint8_t> g(golden);
  EXPECT_EQ(PeekReflected(g.first(kAuthPacketSize - 1), true, &ids), DecodeError::kTooShort);
  // A 44-octet unauthenticated reply is too short for the authenticated layout.
  EXPECT_EQ(PeekReflected(g.first(kMinPacketSize), true, &ids), DecodeError::kTooShort);
  EXPECT_EQ(PeekReflected({}, true, &ids), DecodeError::kTooShort);
  EXPECT_EQ(PeekReflected(g.first(kMinPacketSize - 1), false, &ids), DecodeError::kTooShort);
  EXPECT_EQ(PeekReflected({}, false, &ids), DecodeError::kTooShort);
  EXPECT_EQ(ids.ssid, before.ssid);
  EXPECT_EQ(ids.sender_seq, before.sender_seq);
  EXPECT_EQ(PeekReflected(g.first(kMinPacketSize), false, &ids), DecodeError::kNone);
}

// The server numbers a stateful session by the request's SSID: the sender's packets, in
// both layouts, read as the decoders read them; a packet too short for its layout, 0.
TEST(StampPeekSsid, SenderPacketsInBothLayouts) {
  const HmacSha256 hmac(kGoldenKey);
  SenderPacket s;
  s.seq = 7;
  s.ssid = 0xbeef;
  std::vector<uint8_t> out(kAuthPacketSize);
  ASSERT_EQ(EncodeAuthSender(s, hmac, out.size(), out), kAuthPacketSize);
  EXPECT_EQ(PeekSsid(out, true), 0xbeef);
  EXPECT_EQ(PeekSsid(std::span(out).first(kAuthPacketSize - 1), true), 0);
  ASSERT_EQ(EncodeSender(s, kMinPacketSize, out), kMinPacketSize);
  EXPECT_EQ(PeekSsid(std::span(out).first(kMinPacketSize), false), 0xbeef);
  EXPECT_EQ(PeekSsid(std::span(out).first(kMinPacketSize - 1), false), 0);
}

// RFC 8972 §4.8: the HMAC TLV covers the sequence number and the TLVs before it, so a
// follow-up report moved on the path no longer verifies.
TEST(StampTlvHmac, SignedAreaVerifiesAndAnyCoveredOctetBreaksIt) {
  const HmacSha256 hmac(kGoldenKey);
  std::vector<uint8_t> packet(kAuthPacketSize + 20 + kHmacTlvSize, 0);
  for (size_t i = 0; i < 4; ++i) packet[i] = static_cast<uint8_t>(0x10 + i);
  // A Follow-Up Telemetry TLV, then the HMAC TLV.
  packet[kAuthPacketSize + 1] = 7;
  packet[kAuthPacketSize + 3] = 16;
  packet[kAuthPacketSize + 9] = 0x42;
  EncodeHmacTlvHeader(std::span<uint8_t>(packet).last(kHmacTlvSize));
  SignTlvHmac(packet, kAuthPacketSize, hmac);
  // The sender's U flag is its own convention: ignored when read as a request.
  EXPECT_EQ(VerifyTlvHmac(packet, kAuthPacketSize, hmac, /*from_sender=*/true),
            TlvHmacStatus::kOk);
  // As a reply, U set means the reflector did not know the TLV.
  EXPECT_EQ(VerifyTlvHmac(packet, kAuthPacketSize, hmac), TlvHmacStatus::kUnrecognized);
  packet[packet.size() - kHmacTlvSize] = 0;
  EXPECT_EQ(VerifyTlvHmac(packet, kAuthPacketSize, hmac), TlvHmacStatus::kOk);
  // The HMAC covers the HMAC by computing it independently over seq || TLVs.
  std::vector<uint8_t> covered(packet.begin(), packet.begin() + 4);
  covered.insert(covered.end(), packet.begin() + kAuthPacketSize, packet.end() - kHmacTlvSize);
  const HmacSha256::Digest d = hmac.Compute(covered).value_or(HmacSha256::Digest{});
  EXPECT_TRUE(std::equal(d.begin(), d.begin() + 16, packet.end() - 16));
  // Every covered octet matters; the base packet's octets 4..111 are not covered here.
  for (size_t i : {size_t{0}, size_t{3}, kAuthPacketSize + 9, packet.size() - 1}) {
    std::vector<uint8_t> bad = packet;
    bad[i] ^= 1;
    EXPECT_EQ(VerifyTlvHmac(bad, kAuthPacketSize, hmac), TlvHmacStatus::kFailed) << i;
  }
  std::vector<uint8_t> uncovered = packet;
  uncovered[50] ^= 1;
  EXPECT_EQ(VerifyTlvHmac(uncovered, kAuthPacketSize, hmac), TlvHmacStatus::kOk);
  // I set by a reflector: failed there.
  packet[packet.size() - kHmacTlvSize] = 0x20;
  EXPECT_EQ(VerifyTlvHmac(packet, kAuthPacketSize, hmac), TlvHmacStatus::kFailed);
}

TEST(StampTlvHmac, AbsentWhenTheTlvsDoNotEndWithOne) {
  const HmacSha256 hmac(kGoldenKey);
  std::vector<uint8_t> packet(kAuthPacketSize + 20, 0);
  packet[kAuthPacketSize + 1] = 7;
  packet[kAuthPacketSize + 3] = 16;
  EXPECT_EQ(VerifyTlvHmac(packet, kAuthPacketSize, hmac), TlvHmacStatus::kAbsent);
  EXPECT_EQ(VerifyTlvHmac(std::span<const uint8_t>(packet).first(kAuthPacketSize),
                          kAuthPacketSize, hmac),
            TlvHmacStatus::kAbsent);
  std::vector<uint8_t> padding(kAuthPacketSize + 20, 0);  // type 0: not TLVs
  EXPECT_EQ(VerifyTlvHmac(padding, kAuthPacketSize, hmac), TlvHmacStatus::kAbsent);
}

}  // namespace
}  // namespace udpbeat::stamp
