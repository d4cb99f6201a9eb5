// Cost of the seed codec, of the server's request -> reply function, and of STAMP
// authenticated mode (HMAC-SHA-256) per datagram.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "udpbeat/proto/lab_protocol.h"
#include "udpbeat/proto/responder.h"
#include "udpbeat/proto/stamp_auth.h"

namespace udpbeat {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

void BM_LabEncodeRequest(benchmark::State& state) {
  uint8_t buf[128];
  uint64_t seq = 1;
  const WallTime t = WallTime::FromNanos(1'700'000'000'123'456'789);
  for (auto _ : state) benchmark::DoNotOptimize(lab::EncodeRequest(lab::Keyword::kPing, seq++, t, 0, buf));
}
BENCHMARK(BM_LabEncodeRequest);

void BM_LabParseRequest(benchmark::State& state) {
  const auto req = Bytes("Ping 12345 1700000000.123456789");
  lab::Request r;
  for (auto _ : state) benchmark::DoNotOptimize(lab::ParseRequest(req, &r));
}
BENCHMARK(BM_LabParseRequest);

void BM_BuildReply(benchmark::State& state, ReplyMode mode, std::string_view text) {
  const auto req = Bytes(text);
  std::vector<uint8_t> out(req.size());
  RequestContext ctx;
  ctx.received = WallTime::FromNanos(1'700'000'000'223'456'789);
  ctx.now = ctx.received + 1000;
  ctx.ttl = 64;
  for (auto _ : state) benchmark::DoNotOptimize(BuildReply(mode, req, ctx, out));
}
BENCHMARK_CAPTURE(BM_BuildReply, auto_ping, ReplyMode::kAuto, "Ping 12345 1700000000.123456789");
BENCHMARK_CAPTURE(BM_BuildReply, auto_heartbeat, ReplyMode::kAuto,
                  "Heartbeat 12345 1700000000.123456789");
BENCHMARK_CAPTURE(BM_BuildReply, echo_64B, ReplyMode::kEcho, std::string_view(
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
BENCHMARK_CAPTURE(BM_BuildReply, auto_stamp_44B, ReplyMode::kAuto,
                  std::string_view("\x00\x00\x00\x07\xe9\x1a\x2b\x3c\x12\x34\x56\x78\x00\x01"
                                   "\x00\x2a\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                                   "\0\0\0\0\0\0\0\0", 44));
BENCHMARK_CAPTURE(BM_BuildReply, auto_garbage, ReplyMode::kAuto, "\x01\x02garbage\xff");

// OpenSSL's allocations, counted so the "mallocs" counter shows that the authenticated
// hot path allocates nothing. OpenSSL takes custom allocators only before its first
// allocation, hence a static initializer; the counter reads -1 if it was too late.
long openssl_mallocs = 0;
void* CountingMalloc(size_t n, const char*, int) {
  ++openssl_mallocs;
  return std::malloc(n);
}
void* CountingRealloc(void* p, size_t n, const char*, int) {
  ++openssl_mallocs;
  return std::realloc(p, n);
}
void CountingFree(void* p, const char*, int) { std::free(p); }
const bool kCounting = CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree);

class MallocCounter {
 public:
  explicit MallocCounter(benchmark::State& state) : state_(state), start_(openssl_mallocs) {}
  ~MallocCounter() {
    state_.counters["mallocs"] = kCounting ? static_cast<double>(openssl_mallocs - start_) /
                                                 static_cast<double>(state_.iterations())
                                           : -1;
  }

 private:
  benchmark::State& state_;
  long start_;
};

const std::vector<uint8_t> kBenchKey(32, 0x5a);

void BM_HmacSha256_96B(benchmark::State& state) {
  const stamp::HmacSha256 hmac(kBenchKey);
  std::vector<uint8_t> msg(96, 0x11);
  MallocCounter mallocs(state);
  for (auto _ : state) {
    msg[0]++;
    benchmark::DoNotOptimize(hmac.Compute(msg));
  }
}
BENCHMARK(BM_HmacSha256_96B);

// For comparison, the other ways through libcrypto's non-deprecated API: a reused EVP_MAC
// context re-initialised per packet (what HmacSha256 does, per thread), a pre-keyed one
// copied per packet (EVP_MAC_CTX_dup), and one-shot HMAC(), which keys every time.
// An EVP_MAC HMAC-SHA-256 context keyed with kBenchKey (null, and the benchmark marked
// skipped, when libcrypto has none).
EVP_MAC_CTX* KeyedEvpMac(benchmark::State& state) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (ctx == nullptr || EVP_MAC_init(ctx, kBenchKey.data(), kBenchKey.size(), params) != 1) {
    state.SkipWithError("EVP_MAC HMAC-SHA-256 unavailable");
    EVP_MAC_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

// Times `compute(ctx, message, out, &len)` over a 96-octet message changed per call.
template <typename F>
void RunEvpMac(benchmark::State& state, EVP_MAC_CTX* ctx, F compute) {
  std::vector<uint8_t> msg(96, 0x11);
  uint8_t out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  MallocCounter mallocs(state);
  for (auto _ : state) {
    msg[0]++;
    benchmark::DoNotOptimize(compute(ctx, msg, out, &len));
  }
}

void BM_OpenSslEvpMacReused_96B(benchmark::State& state) {
  EVP_MAC_CTX* ctx = KeyedEvpMac(state);
  if (ctx == nullptr) return;
  RunEvpMac(state, ctx, [](EVP_MAC_CTX* c, const std::vector<uint8_t>& m, uint8_t* out,
                           size_t* len) {
    EVP_MAC_init(c, nullptr, 0, nullptr);  // same key again
    EVP_MAC_update(c, m.data(), m.size());
    return EVP_MAC_final(c, out, len, EVP_MAX_MD_SIZE);
  });
  EVP_MAC_CTX_free(ctx);
}
BENCHMARK(BM_OpenSslEvpMacReused_96B);

void BM_OpenSslEvpMacDup_96B(benchmark::State& state) {
  EVP_MAC_CTX* keyed = KeyedEvpMac(state);
  if (keyed == nullptr) return;
  RunEvpMac(state, keyed, [](EVP_MAC_CTX* k, const std::vector<uint8_t>& m, uint8_t* out,
                             size_t* len) {
    EVP_MAC_CTX* c = EVP_MAC_CTX_dup(k);
    EVP_MAC_update(c, m.data(), m.size());
    const int ok = EVP_MAC_final(c, out, len, EVP_MAX_MD_SIZE);
    EVP_MAC_CTX_free(c);
    return ok;
  });
  EVP_MAC_CTX_free(keyed);
}
BENCHMARK(BM_OpenSslEvpMacDup_96B);

void BM_OpenSslOneShotHmac_96B(benchmark::State& state) {
  std::vector<uint8_t> msg(96, 0x11);
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  MallocCounter mallocs(state);
  for (auto _ : state) {
    msg[0]++;
    benchmark::DoNotOptimize(HMAC(EVP_sha256(), kBenchKey.data(), 32, msg.data(), msg.size(),
                                  out, &len));
  }
}
BENCHMARK(BM_OpenSslOneShotHmac_96B);

stamp::ReflectorPacket BenchReflectorPacket() {
  stamp::ReflectorPacket r;
  r.seq = 7;
  r.timestamp = {0xe91a2b3d, 0x40000000};
  r.ssid = 0xbeef;
  r.receive_timestamp = {0xe91a2b3d, 1};
  r.sender_seq = 258;
  r.sender_timestamp = {0xe91a2b3c, 0x80000000};
  r.sender_ttl = 63;
  return r;
}

void BM_StampAuthEncodeReflector(benchmark::State& state) {
  const stamp::HmacSha256 hmac(kBenchKey);
  stamp::ReflectorPacket r = BenchReflectorPacket();
  std::vector<uint8_t> out(stamp::kAuthPacketSize);
  MallocCounter mallocs(state);
  for (auto _ : state) {
    r.seq++;
    benchmark::DoNotOptimize(stamp::EncodeAuthReflector(r, hmac, out.size(), out));
  }
}
BENCHMARK(BM_StampAuthEncodeReflector);

// The reflector's receive side: verify the sender's HMAC, then read the fields.
void BM_StampAuthDecodeSender(benchmark::State& state, bool valid) {
  const stamp::HmacSha256 hmac(kBenchKey);
  std::vector<uint8_t> packet(stamp::kAuthPacketSize);
  stamp::EncodeAuthSender({258, {0xe91a2b3c, 0x80000000}, {}, 0xbeef}, hmac, packet.size(),
                          packet);
  if (!valid) packet[0] ^= 1;
  stamp::SenderPacket s;
  MallocCounter mallocs(state);
  for (auto _ : state) benchmark::DoNotOptimize(stamp::DecodeAuthSender(packet, hmac, &s));
}
BENCHMARK_CAPTURE(BM_StampAuthDecodeSender, valid, true);
BENCHMARK_CAPTURE(BM_StampAuthDecodeSender, bad_hmac, false);

}  // namespace
}  // namespace udpbeat
