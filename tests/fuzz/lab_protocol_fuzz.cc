// libFuzzer harness for the lab text protocol (udpbeat/proto/lab_protocol.h).
//
// The input is one datagram. Properties, each a trap when violated:
//   - ParseRequest / ParseHeartbeatReply never crash or read outside the datagram, and
//     the views they return lie inside it;
//   - a parsed request re-encoded with EncodeRequest (same keyword, seq, time, padded to
//     the datagram's length) parses back to the same keyword, seq and time;
//   - its echo reply has the same length and parses back to the same request;
//   - a parsed heartbeat reply re-encoded with EncodeHeartbeatReply parses back to the
//     same seq and (to the printed 6 decimals) the same time difference;
//   - EncodeRequest of arbitrary (keyword, seq, time ≥ 0, padding) parses back.
#include <cmath>
#include <cstdio>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "udpbeat/proto/lab_protocol.h"

namespace udpbeat::lab {
namespace {

constexpr double kMaxSeconds = 9.2e9;  // WallTime (int64 ns) holds up to ~9.22e9 s

bool Inside(std::string_view v, std::span<const uint8_t> data) {
  const auto* b = reinterpret_cast<const char*>(data.data());
  return v.data() >= b && v.data() + v.size() <= b + data.size();
}

// Seconds as EncodeRequest prints them and SimpleAtod reads them back: equal up to the
// double's rounding (a few ulps) of the nanosecond count.
bool CloseSeconds(double parsed, WallTime t) {
  const double want = static_cast<double>(t.nanos()) / 1e9;
  return std::fabs(parsed - want) <= 1e-9 + std::fabs(want) * 1e-15;
}

Keyword Expected(Keyword k) { return k == Keyword::kHeartbeat ? k : Keyword::kPing; }

void CheckEncodeRequest(Keyword keyword, uint64_t seq, WallTime t, size_t pad_to) {
  std::vector<uint8_t> buf(pad_to > 64 ? pad_to : 64);
  const size_t n = EncodeRequest(keyword, seq, t, pad_to, buf);
  FUZZ_CHECK(n > 0, "EncodeRequest(seq=%llu, ns=%lld, pad=%zu) failed with %zu bytes of room",
             static_cast<unsigned long long>(seq), static_cast<long long>(t.nanos()), pad_to,
             buf.size());
  FUZZ_CHECK(n >= pad_to, "EncodeRequest wrote %zu < pad_to %zu", n, pad_to);
  Request back;
  const DecodeError e = ParseRequest(std::span<const uint8_t>(buf.data(), n), &back);
  FUZZ_CHECK(e == DecodeError::kNone, "EncodeRequest output '%.*s' does not parse: %d",
             static_cast<int>(n), reinterpret_cast<const char*>(buf.data()), static_cast<int>(e));
  FUZZ_CHECK(back.seq == seq, "seq %llu came back as %llu", static_cast<unsigned long long>(seq),
             static_cast<unsigned long long>(back.seq));
  FUZZ_CHECK(back.keyword == Expected(keyword), "keyword %d came back as %d",
             static_cast<int>(keyword), static_cast<int>(back.keyword));
  FUZZ_CHECK(CloseSeconds(back.sent_seconds, t), "time %lld ns came back as %.9f s",
             static_cast<long long>(t.nanos()), back.sent_seconds);
}

void CheckRequest(std::span<const uint8_t> data) {
  Request req;
  if (ParseRequest(data, &req) != DecodeError::kNone) return;
  FUZZ_CHECK(Inside(req.keyword_text, data) && Inside(req.seq_text, data),
             "views point outside the datagram");
  FUZZ_CHECK(!req.keyword_text.empty() && !req.seq_text.empty(), "empty field accepted");
  FUZZ_CHECK(std::isfinite(req.sent_seconds), "non-finite time accepted");

  // Echo reply: same length, still the same request (keywords match case-insensitively).
  std::vector<uint8_t> echo(data.size());
  FUZZ_CHECK(EncodeEchoReply(data, echo) == data.size(), "echo reply length differs");
  Request back;
  FUZZ_CHECK(ParseRequest(echo, &back) == DecodeError::kNone, "echo reply does not parse");
  FUZZ_CHECK(
      back.seq == req.seq && back.keyword == req.keyword && back.sent_seconds == req.sent_seconds,
      "echo reply parses to a different request");

  // Re-encode with the parsed fields, padded to the datagram's size.
  if (req.sent_seconds >= 0 && req.sent_seconds < kMaxSeconds) {
    const auto t = WallTime::FromNanos(std::llround(req.sent_seconds * 1e9));
    CheckEncodeRequest(req.keyword, req.seq, t, data.size());
  }
}

void CheckHeartbeatReply(std::span<const uint8_t> data) {
  HeartbeatReply hb;
  if (ParseHeartbeatReply(data, &hb) != DecodeError::kNone) return;
  FUZZ_CHECK(std::isfinite(hb.time_difference), "non-finite time difference accepted");
  const std::string seq_text = std::to_string(hb.seq);
  std::vector<uint8_t> buf(96);
  const size_t n = EncodeHeartbeatReply(seq_text, hb.time_difference, buf);
  // A difference whose "%.6f" text is longer than the parser's 32-character field limit
  // (|d| >= 1e25 s) has no reply: 0 is the documented answer, and the only one allowed.
  char field[400];
  const int flen = std::snprintf(field, sizeof field, "%.6f", hb.time_difference);
  if (n == 0) {
    FUZZ_CHECK(flen > 32, "EncodeHeartbeatReply(%s, %.17g) failed", seq_text.c_str(),
               hb.time_difference);
    return;
  }
  FUZZ_CHECK(flen <= 32, "EncodeHeartbeatReply encoded a %d-character field", flen);
  HeartbeatReply back;
  FUZZ_CHECK(
      ParseHeartbeatReply(std::span<const uint8_t>(buf.data(), n), &back) == DecodeError::kNone,
      "EncodeHeartbeatReply output '%.*s' does not parse", static_cast<int>(n),
      reinterpret_cast<const char*>(buf.data()));
  FUZZ_CHECK(back.seq == hb.seq, "heartbeat seq changed");
  FUZZ_CHECK(std::fabs(back.time_difference - hb.time_difference) <=
                 5e-7 + std::fabs(hb.time_difference) * 1e-15,
             "time difference %.17g came back as %.17g", hb.time_difference, back.time_difference);
}

}  // namespace
}  // namespace udpbeat::lab

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace udpbeat;
  const std::span<const uint8_t> datagram(data, size);
  lab::CheckRequest(datagram);
  lab::CheckHeartbeatReply(datagram);

  // Encoder alone, parameters from the first 18 bytes, times before 1970 included.
  fuzz::Reader in(data, size);
  const uint8_t flags = in.U8();
  const uint64_t seq = in.U64();
  uint64_t ns_bits = in.U64();
  const auto ns = static_cast<int64_t>(ns_bits);
  const size_t pad_to = in.U8() * (flags & 0x80 ? 8 : 1);
  lab::CheckEncodeRequest(flags & 1   ? lab::Keyword::kHeartbeat
                           : flags & 2 ? lab::Keyword::kOther
                                       : lab::Keyword::kPing,
                           seq, WallTime::FromNanos(ns), pad_to);
  return 0;
}
