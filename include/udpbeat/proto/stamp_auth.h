// STAMP authenticated mode, RFC 8762 §4.2.2, §4.3.2 and §4.4, with the RFC 8972 §3 SSID.
//
// RFC 8762 §4.2.2 session-sender packet, authenticated mode, 112 octets minimum:
//   0..3 sequence | 4..15 MBZ | 16..23 timestamp T1 | 24..25 error estimate
//   | 26..27 SSID (RFC 8972; MBZ in RFC 8762) | 28..95 MBZ | 96..111 HMAC | 112.. padding/TLVs
// RFC 8762 §4.3.2 session-reflector packet, authenticated mode, 112 octets minimum:
//   0..3 sequence | 4..15 MBZ | 16..23 timestamp T3 | 24..25 error estimate | 26..27 SSID
//   | 28..31 MBZ | 32..39 receive timestamp T2 | 40..47 MBZ | 48..51 sender's sequence
//   | 52..63 MBZ | 64..71 sender's timestamp T1 | 72..73 sender's error estimate | 74..79 MBZ
//   | 80 sender's TTL | 81..95 MBZ | 96..111 HMAC | 112.. padding/TLVs
// All fields are big-endian; MBZ octets are written as zero and not interpreted on receive
// (the HMAC covers them all the same). The MBZ fields pad each field group to 16-octet
// blocks, hence the different offsets from unauthenticated mode (stamp.h).
//
// RFC 8762 §4.4: the HMAC is HMAC-SHA-256 (RFC 2104) truncated to its first 128 bits,
// over the first six 16-octet blocks (octets 0..95). Octets after 112 are not covered by it:
// RFC 8972 §4.8 protects TLVs with the HMAC TLV (type 8, length 16), the last TLV of the
// packet: HMAC-SHA-256 truncated to 128 bits over the packet's Sequence Number (octets
// 0..3) followed by every TLV before it. Without it anyone on the path could rewrite a
// Follow-Up Telemetry report, and the residence and backward delay computed from it.
#ifndef UDPBEAT_PROTO_STAMP_AUTH_H_
#define UDPBEAT_PROTO_STAMP_AUTH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "udpbeat/proto/auth_key.h"
#include "udpbeat/proto/decode_error.h"
#include "udpbeat/proto/ntp_timestamp.h"
#include "udpbeat/proto/stamp.h"

// OpenSSL's EVP_MAC_CTX, declared as <openssl/types.h> does, so that this header does not
// pull in OpenSSL.
struct evp_mac_ctx_st;

namespace udpbeat::stamp {

inline constexpr size_t kAuthPacketSize = 112;
inline constexpr size_t kAuthHmacOffset = 96;  // = the number of octets the HMAC covers
inline constexpr size_t kAuthHmacSize = 16;

// HMAC-SHA-256 (RFC 2104) under one key, through libcrypto's EVP_MAC. The constructor
// keys one MAC context; Compute() works on the calling thread's copy of it, so the key
// schedule is paid once per key and thread, not per packet. Immutable after
// construction: one instance may be shared by any number of threads. The key material
// lives inside libcrypto's contexts, which wipe it when freed: the instance's own on
// destruction, a thread's copy when the thread ends, when it next uses another key, or
// when the instance is destroyed on that thread.
class HmacSha256 {
 public:
  static constexpr size_t kSize = 32;  // untruncated output
  using Digest = std::array<uint8_t, kSize>;

  // Any key length: keys longer than SHA-256's 64-octet block are hashed first (RFC 2104).
  explicit HmacSha256(std::span<const uint8_t> key) noexcept;
  explicit HmacSha256(const AuthKey& key) noexcept : HmacSha256(key.bytes()) {}

  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;
  ~HmacSha256();

  // nullopt only when libcrypto fails (out of memory, or no HMAC-SHA-256 in its
  // configuration): callers then treat a packet as unsigned, never as verified.
  std::optional<Digest> Compute(std::span<const uint8_t> message) const noexcept;
  // Of `first` followed by `second`, without copying them together.
  std::optional<Digest> Compute(std::span<const uint8_t> first,
                                std::span<const uint8_t> second) const noexcept;

 private:
  uint64_t id_;                    // names this instance's copies (never reused)
  evp_mac_ctx_st* ctx_ = nullptr;  // EVP_MAC_CTX, keyed; null when keying failed
};

// Encoders write `length` octets (≥ 112): the fields, zeros in MBZ and after octet 111,
// then the HMAC of octets 0..95 into 96..111. Return `length`, or 0 when length < 112,
// out is too small or the HMAC could not be computed.
size_t EncodeAuthSender(const SenderPacket& p, const HmacSha256& hmac, size_t length,
                        std::span<uint8_t> out) noexcept;
size_t EncodeAuthReflector(const ReflectorPacket& r, const HmacSha256& hmac, size_t length,
                           std::span<uint8_t> out) noexcept;

// Decoders accept any length ≥ 112 (octets after 112 are not interpreted here) and verify
// the HMAC before reading any field: kTooShort, kBadHmac (the packet was altered, or
// signed with another key), else kNone and *out filled. *out is untouched on error.
DecodeError DecodeAuthSender(std::span<const uint8_t> data, const HmacSha256& hmac,
                             SenderPacket* out) noexcept;
DecodeError DecodeAuthReflector(std::span<const uint8_t> data, const HmacSha256& hmac,
                                ReflectorPacket* out) noexcept;

// The SSID of a STAMP packet, a session-sender's or a reflector's (the same octets in
// both): 14..15, or 26..27 in the authenticated layout (RFC 8972 §3); 0 when the packet
// is shorter than its layout. Nothing is verified.
uint16_t PeekSsid(std::span<const uint8_t> data, bool authenticated) noexcept;

// Which session-sender packet a reflector packet answers: its SSID (RFC 8972; zero from
// an RFC 8762-only reflector) and the Session-Sender Sequence Number it copied.
struct ReflectedIds {
  uint16_t ssid = 0;
  uint32_t sender_seq = 0;
};

// Reads *out from a reflector packet in either layout: authenticated (≥ 112 octets, SSID
// at 26..27, sender's sequence at 48..51) or not (≥ 44 octets, 14..15 and 24..27). Nothing
// is verified, the HMAC included: this only picks the session that will decode the packet,
// and that one verifies it. kTooShort (*out untouched), else kNone.
DecodeError PeekReflected(std::span<const uint8_t> data, bool authenticated,
                          ReflectedIds* out) noexcept;

// True when `packet` has ≥ 112 octets and octets 96..111 are the HMAC of 0..95. The
// comparison takes the same time wherever the first difference is (CRYPTO_memcmp).
bool VerifyAuthHmac(std::span<const uint8_t> packet, const HmacSha256& hmac) noexcept;

// Rewrites the HMAC of an encoded packet of ≥ 112 octets after fields were changed in
// place; no-op when shorter. Should libcrypto fail, the old HMAC stays, which no longer
// verifies over the changed fields.
void SignAuthPacket(std::span<uint8_t> packet, const HmacSha256& hmac) noexcept;

// The authenticated counterpart of SetReflectorTimestamp: writes T3 (octets 16..23) of an
// encoded reflector packet of ≥ 112 octets and re-signs it; no-op when shorter.
void SetAuthReflectorTimestamp(NtpTimestamp t3, std::span<uint8_t> packet,
                               const HmacSha256& hmac) noexcept;

// RFC 8972 §4.8 HMAC TLV: 4-octet header (flags, type 8, length 16) + the HMAC.
inline constexpr uint8_t kTlvTypeHmac = 8;
inline constexpr size_t kHmacTlvSize = 20;

// Session-Sender: writes the HMAC TLV header (U set, as every TLV a sender sends) into the
// first 4 of `tlv`'s 20 octets. The value is written by SignTlvHmac. No-op when shorter.
void EncodeHmacTlvHeader(std::span<uint8_t> tlv) noexcept;

// Writes the HMAC of `packet`'s octets 0..3 and octets [tlv_start, size - 20) into its last
// 16 octets (zeros should libcrypto fail), the value of the HMAC TLV that ends the packet.
// Called once every other octet it covers is final (a reflector: after filling the
// follow-up report). No-op when the packet is shorter than tlv_start + 20.
void SignTlvHmac(std::span<uint8_t> packet, size_t tlv_start, const HmacSha256& hmac) noexcept;

enum class TlvHmacStatus {
  kAbsent,        // the packet's TLVs do not end with an HMAC TLV of length 16
  kUnrecognized,  // a reflector returned it with U set: it does not implement it
  kFailed,        // flagged I by the reflector, or the HMAC does not verify
  kOk,
};

// Whether the TLV area starting at tlv_start (all TLVs end to end) ends with an HMAC TLV
// that verifies over octets 0..3 and the TLVs before it. Constant-time comparison. In a
// sender's packet (from_sender) the flags are the sender's (U set) and not read; in a
// reflector's, U means it does not implement the TLV and I that it failed there.
TlvHmacStatus VerifyTlvHmac(std::span<const uint8_t> packet, size_t tlv_start,
                            const HmacSha256& hmac, bool from_sender = false) noexcept;

}  // namespace udpbeat::stamp

#endif  // UDPBEAT_PROTO_STAMP_AUTH_H_
