// Cost of the seed codec and of the server's request -> reply function per datagram.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "udpbeat/proto/responder.h"
#include "udpbeat/proto/lab_protocol.h"

namespace udpbeat {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

void BM_SeedEncodeRequest(benchmark::State& state) {
  uint8_t buf[128];
  uint64_t seq = 1;
  const WallTime t = WallTime::FromNanos(1'700'000'000'123'456'789);
  for (auto _ : state) benchmark::DoNotOptimize(lab::EncodeRequest(lab::Keyword::kPing, seq++, t, 0, buf));
}
BENCHMARK(BM_SeedEncodeRequest);

void BM_SeedParseRequest(benchmark::State& state) {
  const auto req = Bytes("Ping 12345 1700000000.123456789");
  lab::Request r;
  for (auto _ : state) benchmark::DoNotOptimize(lab::ParseRequest(req, &r));
}
BENCHMARK(BM_SeedParseRequest);

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

}  // namespace
}  // namespace udpbeat
