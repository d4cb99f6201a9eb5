// libFuzzer harness for the STAMP codec (udpbeat/proto/stamp.h) and NTP timestamps
// (udpbeat/proto/ntp_timestamp.h).
//
// The input is one datagram. Properties, each a trap when violated:
//   - DecodeSender → EncodeSender(length = datagram size) → DecodeSender gives the same
//     struct; the encoding equals the datagram in octets 0..15 and is zero after;
//   - the same for the reflector: octets 0..43 equal except MBZ 38..39 and 41..43, which
//     (like everything after 43) are written as zero;
//   - decoders reject exactly the datagrams shorter than 44 octets;
//   - LooksLikeSender agrees with its definition (44+ octets, 16..43 all zero);
//   - ReflectTrailer returns either zeros or the trailer with only U flags added, and
//     only when the trailer is an exact sequence of TLVs of non-zero type;
//   - ErrorEstimate::Encode(Decode(v)) == v for the datagram's 16-bit words;
//   - NTP: FromNtp(ToNtp(t)) == t for t in the representable range (1968..2104), and
//     ToNtp(FromNtp(x)) is within 2 fraction units of x for every x.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_check.h"
#include "udpbeat/proto/ntp_timestamp.h"
#include "udpbeat/proto/stamp.h"

namespace udpbeat::stamp {
namespace {

constexpr size_t kMin = kMinPacketSize;

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

void CheckSender(std::span<const uint8_t> data) {
  SenderPacket s;
  const DecodeError e = DecodeSender(data, &s);
  FUZZ_CHECK((e == DecodeError::kNone) == (data.size() >= kMin), "DecodeSender(%zu B) = %d",
             data.size(), static_cast<int>(e));
  FUZZ_CHECK(LooksLikeSender(data) == (data.size() >= kMin && AllZero(data.data() + 16, 28)),
             "LooksLikeSender disagrees with its definition");
  if (e != DecodeError::kNone) return;
  std::vector<uint8_t> out(data.size());
  FUZZ_CHECK(EncodeSender(s, data.size(), out) == data.size(), "EncodeSender length");
  FUZZ_CHECK(std::memcmp(out.data(), data.data(), 16) == 0, "sender octets 0..15 differ");
  FUZZ_CHECK(AllZero(out.data() + 16, out.size() - 16), "sender octets 16.. not zero");
  FUZZ_CHECK(LooksLikeSender(out), "an encoded sender packet does not look like one");
  SenderPacket back;
  FUZZ_CHECK(DecodeSender(out, &back) == DecodeError::kNone && back == s,
             "sender round trip changed the packet");
  // Too small an output or length: 0, nothing written past the buffer (ASan checks).
  if (!out.empty()) {
    std::vector<uint8_t> small(out.size() - 1);
    FUZZ_CHECK(EncodeSender(s, data.size(), small) == 0, "EncodeSender overran its buffer");
  }
  FUZZ_CHECK(EncodeSender(s, kMin - 1, out) == 0, "EncodeSender accepted length 43");
}

void CheckReflector(std::span<const uint8_t> data) {
  ReflectorPacket r;
  const DecodeError e = DecodeReflector(data, &r);
  FUZZ_CHECK((e == DecodeError::kNone) == (data.size() >= kMin), "DecodeReflector(%zu B) = %d",
             data.size(), static_cast<int>(e));
  if (e != DecodeError::kNone) return;
  std::vector<uint8_t> out(data.size());
  FUZZ_CHECK(EncodeReflector(r, data.size(), out) == data.size(), "EncodeReflector length");
  for (size_t i = 0; i < kMin; ++i) {
    const bool mbz = (i >= 38 && i <= 39) || (i >= 41 && i <= 43);
    FUZZ_CHECK(out[i] == (mbz ? 0 : data[i]), "reflector octet %zu is %02x, want %02x", i, out[i],
               mbz ? 0 : data[i]);
  }
  FUZZ_CHECK(AllZero(out.data() + kMin, out.size() - kMin), "reflector octets 44.. not zero");
  ReflectorPacket back;
  FUZZ_CHECK(DecodeReflector(out, &back) == DecodeError::kNone && back == r,
             "reflector round trip changed the packet");
  std::vector<uint8_t> small(out.size() - 1);
  FUZZ_CHECK(EncodeReflector(r, data.size(), small) == 0, "EncodeReflector overran its buffer");
}

// An independent reading of RFC 8972 §4: the trailer is TLVs only if the TLV headers
// tile it exactly and none has the reserved type 0.
bool IsTlvSequence(std::span<const uint8_t> t) {
  size_t off = 0;
  while (off < t.size()) {
    if (t.size() - off < 4 || t[off + 1] == 0) return false;
    off += 4 + (size_t{t[off + 2]} << 8 | t[off + 3]);
  }
  return off == t.size();
}

void CheckTrailer(std::span<const uint8_t> data) {
  const auto tail = data.size() >= kMin ? data.subspan(kMin) : data;
  std::vector<uint8_t> out(tail.size(), 0);
  // An empty vector's data() is null: ReflectTrailer must not memcpy to it (found here).
  ReflectTrailer(tail, std::span<uint8_t>(out));
  if (!IsTlvSequence(tail)) {
    FUZZ_CHECK(AllZero(out.data(), out.size()), "non-TLV trailer of %zu B not returned as zeros",
               tail.size());
    return;
  }
  size_t off = 0;
  for (size_t i = 0; i < tail.size(); ++i) {
    if (i == off) {  // a TLV's flags octet: U set unless Extra Padding (type 1)
      const uint8_t want = tail[i + 1] == 1 ? tail[i] : (tail[i] | 0x80);
      FUZZ_CHECK(out[i] == want, "TLV flags at %zu: %02x, want %02x", i, out[i], want);
      off += 4 + (size_t{tail[i + 2]} << 8 | tail[i + 3]);
    } else {
      FUZZ_CHECK(out[i] == tail[i], "TLV octet %zu changed", i);
    }
  }
  // A shorter output buffer must not be overrun (ASan checks the writes).
  if (!out.empty()) {
    std::vector<uint8_t> small(out.size() / 2);
    ReflectTrailer(tail, small);
  }
}

void CheckErrorEstimate(std::span<const uint8_t> data) {
  for (size_t i = 0; i + 1 < data.size() && i < 64; i += 2) {
    const auto v = static_cast<uint16_t>(data[i] << 8 | data[i + 1]);
    FUZZ_CHECK(ErrorEstimate::Decode(v).Encode() == v, "error estimate %04x round trip", v);
  }
}

void CheckNtp(std::span<const uint8_t> data) {
  fuzz::Reader in(data.data(), data.size());
  // Any raw NTP value: to ns and back moves it by at most 2 units of 2^-32 s (the ns
  // step is 4.29 units; the last fraction may round up into the next second).
  const uint64_t raw = in.U64();
  const uint64_t again = ToNtp(FromNtp(NtpTimestamp::FromRaw(raw))).raw();
  const uint64_t dist = again - raw < raw - again ? again - raw : raw - again;  // mod 2^64
  FUZZ_CHECK(dist <= 2, "NTP %016llx came back as %016llx", static_cast<unsigned long long>(raw),
             static_cast<unsigned long long>(again));

  // A time in the representable range: era 0 begins 1968-01-20 (raw seconds 2^31),
  // era 1 ends in 2104 (raw seconds 2^31 of the next era).
  constexpr int64_t kFirst = (int64_t{1} << 31) - kNtpUnixOffsetSeconds;
  constexpr int64_t kEnd = (int64_t{1} << 32) + (int64_t{1} << 31) - kNtpUnixOffsetSeconds;
  constexpr uint64_t kSpanNs = static_cast<uint64_t>(kEnd - kFirst) * kNanosPerSecond;
  const auto t =
      WallTime::FromNanos(kFirst * kNanosPerSecond + static_cast<int64_t>(in.U64() % kSpanNs));
  const WallTime back = FromNtp(ToNtp(t));
  FUZZ_CHECK(back == t, "time %lld ns came back as %lld ns", static_cast<long long>(t.nanos()),
             static_cast<long long>(back.nanos()));
}

}  // namespace
}  // namespace udpbeat::stamp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace udpbeat::stamp;
  const std::span<const uint8_t> datagram(data, size);
  CheckSender(datagram);
  CheckReflector(datagram);
  CheckTrailer(datagram);
  CheckErrorEstimate(datagram);
  CheckNtp(datagram);
  return 0;
}
