// libFuzzer harness for STAMP authenticated mode (udpbeat/proto/stamp_auth.h) and the
// RFC 8972 TLV code (udpbeat/proto/stamp_tlv.h, stamp::ReflectTrailer's Follow-Up
// Telemetry option).
//
// Input layout (make_corpus.py writes it):
//   0        key length (the byte modulo 160, so keys longer than the 64-octet SHA-256
//            block, which HMAC hashes first, are covered)
//   1..      the key, then the datagram (what is left)
// Properties, each a trap when violated:
//   - HmacSha256(key) over the datagram equals OpenSSL's HMAC() (EVP, the reference);
//   - DecodeAuthSender/DecodeAuthReflector/VerifyAuthHmac: kTooShort exactly below 112
//     octets, else kNone exactly when octets 96..111 are the reference HMAC of 0..95;
//     an accepted datagram re-encodes to itself with MBZ and padding zeroed;
//   - round trip: for packets built from the input, decode(encode(x)) == x, every field
//     at its RFC 8762 offset, MBZ and padding zero, the HMAC the reference one; and no
//     modified packet is accepted: flipped bits anywhere in octets 0..111 and another key
//     are rejected (kBadHmac), changes after octet 111 are not covered;
//   - encoders refuse lengths below 112 and short buffers without writing;
//   - SetAuthReflectorTimestamp changes T3 only and the packet still verifies;
//   - the datagram read as a TLV area: TlvReader stays in bounds and agrees with an
//     independent reading; FindFollowUpTelemetry agrees with its definition; ReflectTrailer
//     with the Follow-Up Telemetry option returns exactly what RFC 8972 §4/§4.7 say, and
//     FillFollowUpTelemetry → FindFollowUpTelemetry round trips;
//   - PeekReflected reads the SSID and sender sequence at each layout's offsets.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_check.h"
#include "udpbeat/proto/stamp.h"
#include "udpbeat/proto/stamp_auth.h"
#include "udpbeat/proto/stamp_tlv.h"

namespace udpbeat::stamp {
namespace {

constexpr size_t kAuth = kAuthPacketSize;

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint64_t Get64(const uint8_t* p) { return uint64_t{Get32(p)} << 32 | Get32(p + 4); }

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

HmacSha256::Digest Reference(std::span<const uint8_t> key, std::span<const uint8_t> msg) {
  HmacSha256::Digest d{};
  unsigned int len = 0;
  static const uint8_t kEmpty = 0;  // HMAC() wants a non-null key pointer
  const uint8_t* k = key.empty() ? &kEmpty : key.data();
  FUZZ_CHECK(HMAC(EVP_sha256(), k, static_cast<int>(key.size()), msg.data(), msg.size(), d.data(),
                  &len) != nullptr &&
                 len == d.size(),
             "OpenSSL HMAC() failed");
  return d;
}

bool ReferenceVerifies(std::span<const uint8_t> key, std::span<const uint8_t> packet) {
  const HmacSha256::Digest d = Reference(key, packet.first(kAuthHmacOffset));
  return std::memcmp(d.data(), packet.data() + kAuthHmacOffset, kAuthHmacSize) == 0;
}

// A key that differs from `key` (HMAC pads short keys with zeros, so appending a zero
// octet would give the same key: flip a bit instead).
std::vector<uint8_t> OtherKey(std::span<const uint8_t> key, uint8_t where) {
  std::vector<uint8_t> other(key.begin(), key.end());
  if (other.empty()) {
    other.push_back(1);
  } else {
    other[where % other.size()] ^= static_cast<uint8_t>(1u << (where % 8));
  }
  return other;
}

// PeekReflected against its definition, in both layouts: kTooShort exactly below the
// layout's size (and nothing written), else the SSID and the sender's sequence number
// read at the layout's own offsets, whatever the other octets hold (nothing is verified).
void CheckPeek(std::span<const uint8_t> d) {
  for (const bool auth : {false, true}) {
    const size_t need = auth ? kAuth : kMinPacketSize;
    const ReflectedIds before{0xabcd, 0x12345678};
    ReflectedIds ids = before;
    const DecodeError e = PeekReflected(d, auth, &ids);
    if (d.size() < need) {
      FUZZ_CHECK(e == DecodeError::kTooShort && ids.ssid == before.ssid &&
                     ids.sender_seq == before.sender_seq,
                 "a %zu B datagram was peeked (authenticated %d)", d.size(), auth);
      continue;
    }
    FUZZ_CHECK(e == DecodeError::kNone, "a %zu B datagram was refused (authenticated %d)",
               d.size(), auth);
    FUZZ_CHECK(ids.ssid == Get16(d.data() + (auth ? 26 : 14)) &&
                   ids.sender_seq == Get32(d.data() + (auth ? 48 : 24)),
               "peeked SSID %u seq %u at the wrong offsets (authenticated %d)", ids.ssid,
               ids.sender_seq, auth);
  }
}

void CheckHmac(std::span<const uint8_t> key, const HmacSha256& hmac,
               std::span<const uint8_t> datagram) {
  FUZZ_CHECK(hmac.Compute(datagram) == Reference(key, datagram),
             "HMAC of %zu B under a %zu B key differs from OpenSSL's", datagram.size(), key.size());
}

void CheckDecoders(std::span<const uint8_t> key, const HmacSha256& hmac,
                   std::span<const uint8_t> d) {
  SenderPacket s;
  ReflectorPacket r;
  const DecodeError es = DecodeAuthSender(d, hmac, &s);
  const DecodeError er = DecodeAuthReflector(d, hmac, &r);
  if (d.size() < kAuth) {
    FUZZ_CHECK(
        es == DecodeError::kTooShort && er == DecodeError::kTooShort && !VerifyAuthHmac(d, hmac),
        "a %zu B datagram was not refused as too short", d.size());
    return;
  }
  const bool good = ReferenceVerifies(key, d);
  const DecodeError want = good ? DecodeError::kNone : DecodeError::kBadHmac;
  FUZZ_CHECK(es == want && er == want && VerifyAuthHmac(d, hmac) == good,
             "decoders say %d/%d, the reference HMAC says %s", static_cast<int>(es),
             static_cast<int>(er), good ? "valid" : "invalid");
  if (!good) return;
  // Accepted: re-encoding gives the datagram back with MBZ and padding zeroed (and so
  // re-signed: MBZ is covered by the HMAC).
  std::vector<uint8_t> again(d.size());
  FUZZ_CHECK(EncodeAuthSender(s, hmac, d.size(), again) == d.size(), "re-encode sender");
  SenderPacket s2;
  FUZZ_CHECK(DecodeAuthSender(again, hmac, &s2) == DecodeError::kNone && s2 == s,
             "sender re-encode changed the fields");
  FUZZ_CHECK(std::memcmp(again.data(), d.data(), 4) == 0 &&
                 std::memcmp(again.data() + 16, d.data() + 16, 12) == 0 &&
                 AllZero(again.data() + 4, 12) && AllZero(again.data() + 28, 68) &&
                 AllZero(again.data() + kAuth, again.size() - kAuth),
             "sender re-encode is not the datagram with MBZ zeroed");
  FUZZ_CHECK(EncodeAuthReflector(r, hmac, d.size(), again) == d.size(), "re-encode reflector");
  ReflectorPacket r2;
  FUZZ_CHECK(DecodeAuthReflector(again, hmac, &r2) == DecodeError::kNone && r2 == r,
             "reflector re-encode changed the fields");
}

// Independent reading of the layouts (RFC 8762 §4.2.2, §4.3.2, RFC 8972 §3).
void CheckSenderLayout(const SenderPacket& x, std::span<const uint8_t> p) {
  FUZZ_CHECK(Get32(&p[0]) == x.seq && Get64(&p[16]) == x.timestamp.raw() &&
                 Get16(&p[24]) == x.error.Encode() && Get16(&p[26]) == x.ssid,
             "sender fields are not at their offsets");
  FUZZ_CHECK(AllZero(&p[4], 12) && AllZero(&p[28], 68), "sender MBZ not zero");
}

void CheckReflectorLayout(const ReflectorPacket& x, std::span<const uint8_t> p) {
  FUZZ_CHECK(Get32(&p[0]) == x.seq && Get64(&p[16]) == x.timestamp.raw() &&
                 Get16(&p[24]) == x.error.Encode() && Get16(&p[26]) == x.ssid &&
                 Get64(&p[32]) == x.receive_timestamp.raw() && Get32(&p[48]) == x.sender_seq &&
                 Get64(&p[64]) == x.sender_timestamp.raw() &&
                 Get16(&p[72]) == x.sender_error.Encode() && p[80] == x.sender_ttl,
             "reflector fields are not at their offsets");
  FUZZ_CHECK(AllZero(&p[4], 12) && AllZero(&p[28], 4) && AllZero(&p[40], 8) &&
                 AllZero(&p[52], 12) && AllZero(&p[74], 6) && AllZero(&p[81], 15),
             "reflector MBZ not zero");
}

ErrorEstimate ReadError(fuzz::Reader& in) {
  const uint8_t a = in.U8();
  // Scale has 6 bits on the wire: only representable values round-trip.
  return {(a & 0x80) != 0, (a & 0x40) != 0, static_cast<uint8_t>(a & 0x3f), in.U8()};
}

template <typename Packet, typename Encode, typename Decode, typename Layout>
void CheckRoundTrip(const Packet& x, size_t length, std::span<const uint8_t> key,
                    const HmacSha256& hmac, fuzz::Reader& in, Encode encode, Decode decode,
                    Layout layout, const char* what) {
  std::vector<uint8_t> p(length + 1, 0xa5);
  FUZZ_CHECK(encode(x, hmac, length, std::span(p)) == length, "%s encode length", what);
  FUZZ_CHECK(p[length] == 0xa5, "%s encode wrote past its length", what);
  p.pop_back();
  layout(x, p);
  FUZZ_CHECK(AllZero(p.data() + kAuth, length - kAuth), "%s padding not zero", what);
  FUZZ_CHECK(ReferenceVerifies(key, p), "%s HMAC is not the reference HMAC", what);
  Packet back;
  FUZZ_CHECK(decode(std::span<const uint8_t>(p), hmac, &back) == DecodeError::kNone && back == x,
             "%s: decode(encode(x)) != x", what);

  // Any modified octet 0..111 is rejected: flips at input-chosen bits, and one octet
  // replaced by another value.
  for (int i = 0; i < 12; ++i) {
    const size_t bit = (size_t{in.U8()} << 8 | in.U8()) % (kAuth * 8);
    std::vector<uint8_t> bad = p;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    FUZZ_CHECK(decode(std::span<const uint8_t>(bad), hmac, &back) == DecodeError::kBadHmac,
               "%s with bit %zu flipped was accepted", what, bit);
  }
  {
    const size_t at = in.U8() % kAuth;
    std::vector<uint8_t> bad = p;
    bad[at] = static_cast<uint8_t>(bad[at] + 1 + in.U8() % 255);
    FUZZ_CHECK(decode(std::span<const uint8_t>(bad), hmac, &back) == DecodeError::kBadHmac,
               "%s with octet %zu changed was accepted", what, at);
  }
  // Another key: rejected.
  const std::vector<uint8_t> other_key = OtherKey(key, in.U8());
  const HmacSha256 other(other_key);
  FUZZ_CHECK(decode(std::span<const uint8_t>(p), other, &back) == DecodeError::kBadHmac,
             "%s accepted under another key", what);
  // After octet 111 nothing is covered (padding, TLVs).
  if (length > kAuth) {
    std::vector<uint8_t> padded = p;
    padded[kAuth + in.U8() % (length - kAuth)] ^= 0xff;
    FUZZ_CHECK(
        decode(std::span<const uint8_t>(padded), hmac, &back) == DecodeError::kNone && back == x,
        "%s: a change after octet 111 was rejected", what);
  }
  // Refusals write nothing.
  std::vector<uint8_t> small(length - 1, 0x5a);
  FUZZ_CHECK(encode(x, hmac, length, std::span(small)) == 0, "%s encode overran", what);
  FUZZ_CHECK(encode(x, hmac, kAuth - 1, std::span(p)) == 0, "%s encoded 111 octets", what);
  FUZZ_CHECK(std::all_of(small.begin(), small.end(), [](uint8_t b) { return b == 0x5a; }),
             "%s refused encode wrote", what);
}

void CheckCodec(std::span<const uint8_t> key, const HmacSha256& hmac,
                std::span<const uint8_t> datagram) {
  fuzz::Reader in(datagram.data(), datagram.size());
  const size_t length = kAuth + in.U8() % 64;
  SenderPacket s;
  s.seq = static_cast<uint32_t>(in.U64());
  s.timestamp = NtpTimestamp::FromRaw(in.U64());
  s.error = ReadError(in);
  s.ssid = static_cast<uint16_t>(in.U64());
  CheckRoundTrip(s, length, key, hmac, in, EncodeAuthSender, DecodeAuthSender, CheckSenderLayout,
                 "sender");

  ReflectorPacket r;
  r.seq = static_cast<uint32_t>(in.U64());
  r.timestamp = NtpTimestamp::FromRaw(in.U64());
  r.error = ReadError(in);
  r.ssid = static_cast<uint16_t>(in.U64());
  r.receive_timestamp = NtpTimestamp::FromRaw(in.U64());
  r.sender_seq = static_cast<uint32_t>(in.U64());
  r.sender_timestamp = NtpTimestamp::FromRaw(in.U64());
  r.sender_error = ReadError(in);
  r.sender_ttl = in.U8();
  CheckRoundTrip(r, length, key, hmac, in, EncodeAuthReflector, DecodeAuthReflector,
                 CheckReflectorLayout, "reflector");

  // The late T3 write re-signs and moves nothing else.
  std::vector<uint8_t> p(length);
  EncodeAuthReflector(r, hmac, length, p);
  const NtpTimestamp t3 = NtpTimestamp::FromRaw(in.U64());
  SetAuthReflectorTimestamp(t3, p, hmac);
  ReflectorPacket back;
  ReflectorPacket want = r;
  want.timestamp = t3;
  FUZZ_CHECK(DecodeAuthReflector(p, hmac, &back) == DecodeError::kNone && back == want,
             "SetAuthReflectorTimestamp broke the packet");
}

// --- TLVs ---

struct RefTlv {
  size_t offset;
  uint8_t flags, type;
  size_t length;
};

// An independent reading of RFC 8972 §4: the TLVs up to the first that does not fit or
// has the reserved type 0; `exact` when they tile the area.
std::vector<RefTlv> RefWalk(std::span<const uint8_t> a, bool* exact) {
  std::vector<RefTlv> out;
  size_t off = 0;
  while (a.size() - off >= 4 && a[off + 1] != 0) {
    const size_t len = size_t{a[off + 2]} << 8 | a[off + 3];
    if (len > a.size() - off - 4) break;
    out.push_back({off, a[off], a[off + 1], len});
    off += 4 + len;
  }
  *exact = off == a.size();
  return out;
}

void CheckTlvs(std::span<const uint8_t> area, std::span<const uint8_t> extra) {
  bool exact = false;
  const std::vector<RefTlv> ref = RefWalk(area, &exact);
  TlvReader reader(area);
  Tlv tlv;
  size_t i = 0;
  TlvStatus status;
  while ((status = reader.Next(&tlv)) == TlvStatus::kOk) {
    FUZZ_CHECK(i < ref.size(), "TlvReader read a TLV too many");
    FUZZ_CHECK(tlv.offset == ref[i].offset && tlv.flags == ref[i].flags &&
                   tlv.type == ref[i].type && tlv.value.size() == ref[i].length &&
                   tlv.value.data() == area.data() + tlv.offset + 4,
               "TLV %zu differs from the reference reading", i);
    ++i;
  }
  FUZZ_CHECK(i == ref.size(), "TlvReader stopped after %zu of %zu TLVs", i, ref.size());
  FUZZ_CHECK((status == TlvStatus::kEnd) == exact && IsTlvSequence(area) == exact,
             "end of walk disagrees with the reference");
  FUZZ_CHECK(reader.Next(&tlv) == status, "TlvReader moved after stopping");

  // FindFollowUpTelemetry, by its definition.
  FollowUpStatus want = FollowUpStatus::kAbsent;
  size_t at = kNoTlv;
  for (const RefTlv& t : ref) {
    if (t.type == kTlvTypeFollowUpTelemetry) {
      at = t.offset;
      want = (t.flags & 0x80)                     ? FollowUpStatus::kUnrecognized
             : (t.flags & 0x60) || t.length != 16 ? FollowUpStatus::kMalformed
                                                  : FollowUpStatus::kOk;
      break;
    }
    if (t.flags & 0x60) {
      want = FollowUpStatus::kMalformed;
      break;
    }
  }
  FollowUpTelemetry f;
  FUZZ_CHECK(FindFollowUpTelemetry(area, &f) == want, "FindFollowUpTelemetry status");
  if (want == FollowUpStatus::kOk) {
    const uint8_t* v = area.data() + at + 4;
    FUZZ_CHECK(f.seq == Get32(v) && f.timestamp.raw() == Get64(v + 4) && f.timestamp_mode == v[12],
               "FindFollowUpTelemetry fields");
  }

  // The reflector that knows the TLV.
  std::vector<uint8_t> out(area.size(), 0);
  const size_t got = ReflectTrailer(area, out, {.follow_up_telemetry = true});
  if (!exact) {
    FUZZ_CHECK(got == kNoTlv && AllZero(out.data(), out.size()),
               "a non-TLV trailer was not returned as zeros");
    return;
  }
  size_t first = kNoTlv;
  bool stopped = false;
  bool flagged_before = false;  // a TLV before the first follow-up leaves with M or I
  for (const RefTlv& t : ref) {
    const uint8_t* in = area.data() + t.offset;
    const uint8_t* o = out.data() + t.offset;
    if (stopped || t.type == kTlvTypeExtraPadding) {
      FUZZ_CHECK(std::memcmp(in, o, 4 + t.length) == 0, "TLV at %zu changed", t.offset);
    } else if (t.type != kTlvTypeFollowUpTelemetry) {
      FUZZ_CHECK(o[0] == (in[0] | 0x80) && std::memcmp(in + 1, o + 1, 3 + t.length) == 0,
                 "unknown TLV at %zu not returned with U", t.offset);
    } else if (t.length != 16) {
      const size_t zeroed = std::min<size_t>(t.length, 12);
      FUZZ_CHECK(o[0] == 0x40 && std::memcmp(in + 1, o + 1, 3) == 0 && AllZero(o + 4, zeroed) &&
                     std::memcmp(in + 4 + zeroed, o + 4 + zeroed, t.length - zeroed) == 0,
                 "malformed follow-up TLV at %zu not flagged M and zeroed", t.offset);
      stopped = true;
    } else {
      FUZZ_CHECK(o[0] == 0 && o[1] == 7 && o[2] == 0 && o[3] == 16 && AllZero(o + 4, 16),
                 "follow-up TLV at %zu not cleared", t.offset);
      if (first == kNoTlv) first = t.offset;
    }
    if (first == kNoTlv && !stopped && (o[0] & 0x60) != 0) flagged_before = true;
  }
  FUZZ_CHECK(got == first, "ReflectTrailer returned %zu, want %zu", got, first);
  if (got == kNoTlv) return;
  fuzz::Reader in(extra.data(), extra.size());
  const FollowUpTelemetry fill{static_cast<uint32_t>(in.U64()), NtpTimestamp::FromRaw(in.U64()),
                               in.U8()};
  FillFollowUpTelemetry(fill, std::span(out).subspan(got));
  FollowUpTelemetry back;
  const FollowUpStatus s = FindFollowUpTelemetry(out, &back);
  FUZZ_CHECK(
      flagged_before ? s == FollowUpStatus::kMalformed : s == FollowUpStatus::kOk && back == fill,
      "filled follow-up telemetry did not read back (status %d)", static_cast<int>(s));
}

}  // namespace
}  // namespace udpbeat::stamp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace udpbeat::stamp;
  if (size == 0) return 0;
  const size_t key_len = std::min<size_t>(data[0] % 160, size - 1);
  const std::span<const uint8_t> key(data + 1, key_len);
  const std::span<const uint8_t> datagram(data + 1 + key_len, size - 1 - key_len);
  const HmacSha256 hmac(key);
  CheckHmac(key, hmac, datagram);
  CheckDecoders(key, hmac, datagram);
  CheckCodec(key, hmac, datagram);
  CheckTlvs(datagram, datagram.size() > 8 ? datagram.last(8) : datagram);
  CheckPeek(datagram);
  return 0;
}
