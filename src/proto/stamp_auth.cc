// HMAC-SHA-256 through libcrypto's EVP_MAC (OpenSSL 3's MAC API; the low-level SHA-256
// one is deprecated). The key is absorbed once, into a context that is never used
// itself, only copied: each thread keeps one copy (EVP_MAC_CTX_dup) and re-initialises
// it per packet without a key, which restarts from the padded key's states (three
// SHA-256 blocks a packet, not the key schedule). A copy per packet would be simpler, but
// measured twice as slow (bench/codec_bench.cc: OpenSSL 3.0 allocates on every context
// copy and on every re-initialisation; only fewer of them can be had).
#include "udpbeat/proto/stamp_auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <atomic>
#include <cstring>

#include "udpbeat/proto/stamp_tlv.h"

namespace udpbeat::stamp {
namespace {

// This thread's working copy of one HmacSha256's keyed context, told by the instance's
// id (never reused, unlike an address). A thread works with one key at a time (serve's
// workers and a client's loop each have one), so one slot suffices; another key
// replaces it. Freed (libcrypto wipes the key in it) with the thread, or when the
// instance it copies is destroyed on this thread.
struct ThreadMac {
  uint64_t id = 0;
  EVP_MAC_CTX* ctx = nullptr;
  void Reset() noexcept {
    EVP_MAC_CTX_free(ctx);
    ctx = nullptr;
    id = 0;
  }
  ~ThreadMac() { Reset(); }
};
thread_local ThreadMac thread_mac;
std::atomic<uint64_t> next_hmac_id{1};

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
NtpTimestamp GetNtp(const uint8_t* p) { return {Get32(p), Get32(p + 4)}; }

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
void PutNtp(uint8_t* p, NtpTimestamp t) {
  Put32(p, t.seconds);
  Put32(p + 4, t.fraction);
}

// The two fields PeekReflected reads, where the codec writes and reads them too.
constexpr size_t kSsidAt = 26;
constexpr size_t kSenderSeqAt = 48;  // reflector packet only

// Octets 0..27 are laid out alike in both authenticated packets (RFC 8762 §4.2.2,
// §4.3.2, RFC 8972 §3): sequence | MBZ | timestamp | error estimate | SSID.
template <typename Packet>
void GetHeader(const uint8_t* p, Packet* out) {
  out->seq = Get32(p);
  out->timestamp = GetNtp(p + 16);
  out->error = ErrorEstimate::Decode(Get16(p + 24));
  out->ssid = Get16(p + kSsidAt);
}

template <typename Packet>
void PutHeader(uint8_t* p, const Packet& in) {
  Put32(p, in.seq);
  PutNtp(p + 16, in.timestamp);
  Put16(p + 24, in.error.Encode());
  Put16(p + kSsidAt, in.ssid);
}

// The `length` zeroed octets a packet is encoded into, or null when it cannot be.
uint8_t* Zeroed(size_t length, std::span<uint8_t> out) {
  if (length < kAuthPacketSize || out.size() < length) return nullptr;
  std::memset(out.data(), 0, length);
  return out.data();
}

// False when libcrypto failed (out of memory): the packet then carries no valid HMAC.
bool Sign(uint8_t* p, const HmacSha256& hmac) {
  const std::optional<HmacSha256::Digest> d = hmac.Compute({p, kAuthHmacOffset});
  if (!d) return false;
  std::memcpy(p + kAuthHmacOffset, d->data(), kAuthHmacSize);  // RFC 8762 §4.4: first 128 bits
  return true;
}

}  // namespace

HmacSha256::HmacSha256(std::span<const uint8_t> key) noexcept
    : id_(next_hmac_id.fetch_add(1, std::memory_order_relaxed)) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) return;
  ctx_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  if (ctx_ == nullptr) return;
  char digest[] = OSSL_DIGEST_NAME_SHA2_256;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  // A null key would mean "the previous one" to EVP_MAC_init: an empty key (RFC 2104
  // allows it) is passed as a valid pointer with length 0.
  static constexpr uint8_t kNoKey = 0;
  if (EVP_MAC_init(ctx_, key.empty() ? &kNoKey : key.data(), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = nullptr;
  }
}

HmacSha256::~HmacSha256() {
  // The HMAC provider wipes its copy of the key and its padded states on free.
  if (thread_mac.id == id_) thread_mac.Reset();
  EVP_MAC_CTX_free(ctx_);
}

std::optional<HmacSha256::Digest> HmacSha256::Compute(
    std::span<const uint8_t> message) const noexcept {
  return Compute(message, {});
}

std::optional<HmacSha256::Digest> HmacSha256::Compute(
    std::span<const uint8_t> first, std::span<const uint8_t> second) const noexcept {
  if (ctx_ == nullptr) return std::nullopt;
  // ctx_ is only read (copied), so threads may share this object.
  ThreadMac& t = thread_mac;
  if (t.id != id_) {
    t.Reset();
    t.ctx = EVP_MAC_CTX_dup(ctx_);
    if (t.ctx == nullptr) return std::nullopt;
    t.id = id_;
  }
  EVP_MAC_CTX* ctx = t.ctx;
  Digest d;
  size_t len = 0;
  // No key: back to the states of the key the copy holds (RFC 2104's K ^ ipad, K ^ opad).
  const bool ok = EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
                  (first.empty() || EVP_MAC_update(ctx, first.data(), first.size()) == 1) &&
                  (second.empty() || EVP_MAC_update(ctx, second.data(), second.size()) == 1) &&
                  EVP_MAC_final(ctx, d.data(), &len, d.size()) == 1 && len == kSize;
  if (!ok) {
    t.Reset();  // in an unknown state: the next call starts from a fresh copy
    return std::nullopt;
  }
  return d;
}

size_t EncodeAuthSender(const SenderPacket& s, const HmacSha256& hmac, size_t length,
                        std::span<uint8_t> out) noexcept {
  uint8_t* p = Zeroed(length, out);
  if (p == nullptr) return 0;
  PutHeader(p, s);
  return Sign(p, hmac) ? length : 0;
}

size_t EncodeAuthReflector(const ReflectorPacket& r, const HmacSha256& hmac, size_t length,
                           std::span<uint8_t> out) noexcept {
  uint8_t* p = Zeroed(length, out);
  if (p == nullptr) return 0;
  PutHeader(p, r);
  PutNtp(p + 32, r.receive_timestamp);
  Put32(p + kSenderSeqAt, r.sender_seq);
  PutNtp(p + 64, r.sender_timestamp);
  Put16(p + 72, r.sender_error.Encode());
  p[80] = r.sender_ttl;
  return Sign(p, hmac) ? length : 0;
}

bool VerifyAuthHmac(std::span<const uint8_t> packet, const HmacSha256& hmac) noexcept {
  if (packet.size() < kAuthPacketSize) return false;
  const std::optional<HmacSha256::Digest> d = hmac.Compute(packet.first(kAuthHmacOffset));
  if (!d) return false;
  // Constant time: a forger must not learn from the reply timing how many leading
  // octets of a guessed HMAC were right.
  return CRYPTO_memcmp(d->data(), packet.data() + kAuthHmacOffset, kAuthHmacSize) == 0;
}

DecodeError DecodeAuthSender(std::span<const uint8_t> data, const HmacSha256& hmac,
                             SenderPacket* out) noexcept {
  if (data.size() < kAuthPacketSize) return DecodeError::kTooShort;
  // RFC 8762 §4.4: verified before any field is used.
  if (!VerifyAuthHmac(data, hmac)) return DecodeError::kBadHmac;
  GetHeader(data.data(), out);
  return DecodeError::kNone;
}

DecodeError DecodeAuthReflector(std::span<const uint8_t> data, const HmacSha256& hmac,
                                ReflectorPacket* out) noexcept {
  if (data.size() < kAuthPacketSize) return DecodeError::kTooShort;
  if (!VerifyAuthHmac(data, hmac)) return DecodeError::kBadHmac;
  const uint8_t* p = data.data();
  GetHeader(p, out);
  out->receive_timestamp = GetNtp(p + 32);
  out->sender_seq = Get32(p + kSenderSeqAt);
  out->sender_timestamp = GetNtp(p + 64);
  out->sender_error = ErrorEstimate::Decode(Get16(p + 72));
  out->sender_ttl = p[80];
  return DecodeError::kNone;
}

uint16_t PeekSsid(std::span<const uint8_t> data, bool authenticated) noexcept {
  if (!authenticated) return SenderSsid(data);
  return data.size() < kAuthPacketSize ? 0 : Get16(data.data() + kSsidAt);
}

DecodeError PeekReflected(std::span<const uint8_t> data, bool authenticated,
                          ReflectedIds* out) noexcept {
  if (!authenticated) {
    ReflectorPacket r;
    const DecodeError e = DecodeReflector(data, &r);
    if (e == DecodeError::kNone) *out = {r.ssid, r.sender_seq};
    return e;
  }
  if (data.size() < kAuthPacketSize) return DecodeError::kTooShort;
  *out = {Get16(data.data() + kSsidAt), Get32(data.data() + kSenderSeqAt)};
  return DecodeError::kNone;
}

void SignAuthPacket(std::span<uint8_t> packet, const HmacSha256& hmac) noexcept {
  if (packet.size() >= kAuthPacketSize) Sign(packet.data(), hmac);
}

void SetAuthReflectorTimestamp(NtpTimestamp t3, std::span<uint8_t> packet,
                               const HmacSha256& hmac) noexcept {
  if (packet.size() < kAuthPacketSize) return;
  PutNtp(packet.data() + 16, t3);
  Sign(packet.data(), hmac);
}

void EncodeHmacTlvHeader(std::span<uint8_t> tlv) noexcept {
  if (tlv.size() < kHmacTlvSize) return;
  tlv[0] = kTlvFlagUnrecognized;
  tlv[1] = kTlvTypeHmac;
  tlv[2] = 0;
  tlv[3] = static_cast<uint8_t>(kHmacTlvSize - kTlvHeaderSize);
}

void SignTlvHmac(std::span<uint8_t> packet, size_t tlv_start, const HmacSha256& hmac) noexcept {
  if (packet.size() < 4 || tlv_start > packet.size() || packet.size() - tlv_start < kHmacTlvSize)
    return;
  const size_t covered_end = packet.size() - kHmacTlvSize;
  const std::optional<HmacSha256::Digest> d =
      hmac.Compute(packet.first(4), packet.subspan(tlv_start, covered_end - tlv_start));
  uint8_t* value = packet.data() + covered_end + kTlvHeaderSize;
  if (d) {
    std::memcpy(value, d->data(), kHmacTlvSize - kTlvHeaderSize);
  } else {
    std::memset(value, 0, kHmacTlvSize - kTlvHeaderSize);  // verifies under no key
  }
}

TlvHmacStatus VerifyTlvHmac(std::span<const uint8_t> packet, size_t tlv_start,
                            const HmacSha256& hmac, bool from_sender) noexcept {
  if (packet.size() < 4 || tlv_start >= packet.size()) return TlvHmacStatus::kAbsent;
  TlvReader reader(packet.subspan(tlv_start));
  Tlv tlv, last;
  bool any = false;
  TlvStatus st;
  while ((st = reader.Next(&tlv)) == TlvStatus::kOk) {
    last = tlv;
    any = true;
  }
  if (st != TlvStatus::kEnd || !any || last.type != kTlvTypeHmac ||
      last.value.size() != kHmacTlvSize - kTlvHeaderSize)
    return TlvHmacStatus::kAbsent;
  if (!from_sender && (last.flags & kTlvFlagUnrecognized) != 0)
    return TlvHmacStatus::kUnrecognized;
  if (!from_sender && (last.flags & kTlvFlagIntegrity) != 0) return TlvHmacStatus::kFailed;
  const std::optional<HmacSha256::Digest> d =
      hmac.Compute(packet.first(4), packet.subspan(tlv_start, last.offset));
  return d && CRYPTO_memcmp(d->data(), last.value.data(), last.value.size()) == 0
             ? TlvHmacStatus::kOk
             : TlvHmacStatus::kFailed;
}

}  // namespace udpbeat::stamp
