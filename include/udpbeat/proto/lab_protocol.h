// The lab's text protocol ("seed"), as its four Python programs speak it.
//
//   request          "<Keyword> <seq> <unix-seconds>"  e.g. "Ping 3 1700000000.123456789"
//                    Keyword is "Ping" (pinger client, and the lab's heartbeat client) or
//                    "Heartbeat". Trailing spaces are padding (udpbeat ping -s).
//   echo reply       the request with ASCII letters uppercased, same length
//                    (the lab's UDPPingerServer.py: message.upper()).
//   heartbeat reply  "<seq> <server receive time - sent time, %.6f>"
//                    (the lab's UDPHeartbeatServer.py), seq copied as sent.
//
// Fields are separated by single spaces. All functions are pure and noexcept.
#ifndef UDPBEAT_PROTO_LAB_PROTOCOL_H_
#define UDPBEAT_PROTO_LAB_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "udpbeat/proto/decode_error.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::lab {

enum class Keyword { kPing, kHeartbeat, kOther };

struct Request {
  Keyword keyword = Keyword::kOther;
  std::string_view keyword_text;  // as received
  std::string_view seq_text;      // as received (copied into heartbeat replies)
  uint64_t seq = 0;
  double sent_seconds = 0;        // Unix time the sender wrote
};

// Parses "<Keyword> <seq> <seconds>" (keyword matched case-insensitively, so an echo
// reply "PING ..." parses too). Views point into `data`.
DecodeError ParseRequest(std::span<const uint8_t> data, Request* out) noexcept;

struct HeartbeatReply {
  uint64_t seq = 0;
  double time_difference = 0;  // seconds, as the server computed it
};
DecodeError ParseHeartbeatReply(std::span<const uint8_t> data, HeartbeatReply* out) noexcept;

// Writes "<keyword> <seq> <sec>.<9 digits>" padded with spaces to `pad_to` bytes (no
// padding when shorter than the message). Returns the length, or 0 if `out` is too small.
size_t EncodeRequest(Keyword keyword, uint64_t seq, WallTime sent, size_t pad_to,
                     std::span<uint8_t> out) noexcept;

// Uppercases ASCII letters of `in` into `out` (out.size() >= in.size()); returns in.size().
size_t EncodeEchoReply(std::span<const uint8_t> in, std::span<uint8_t> out) noexcept;

// Writes "<seq_text> <received - sent, %.6f>". Returns the length, or 0 when it would
// not fit in `out`.
size_t EncodeHeartbeatReply(std::string_view seq_text, double time_difference,
                            std::span<uint8_t> out) noexcept;

}  // namespace udpbeat::lab

#endif  // UDPBEAT_PROTO_LAB_PROTOCOL_H_
