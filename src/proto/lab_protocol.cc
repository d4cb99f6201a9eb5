#include "udpbeat/proto/lab_protocol.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "udpbeat/base/absl_view.h"

namespace udpbeat::lab {
namespace {

// Longest field we accept; keeps parsing bounded and rejects absurd numbers early.
constexpr size_t kMaxField = 32;

// Splits `text` at single spaces into at most `max` fields, ignoring trailing padding
// spaces. Returns the field count, or max + 1 when there are more.
size_t SplitFields(std::string_view text, std::string_view* fields, size_t max) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  size_t n = 0;
  while (!text.empty()) {
    if (n == max) return max + 1;
    const size_t sp = text.find(' ');
    fields[n++] = text.substr(0, sp);
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  return n;
}

bool IsText(std::span<const uint8_t> data) {
  for (uint8_t c : data)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

bool ParseSeq(std::string_view f, uint64_t* seq) {
  if (f.empty() || f.size() > 20) return false;
  for (char c : f)
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  return absl::SimpleAtoi(AbslView(f), seq);
}

bool ParseSeconds(std::string_view f, double* v) {
  if (f.empty() || f.size() > kMaxField) return false;
  return absl::SimpleAtod(AbslView(f), v) && std::isfinite(*v);
}

std::string_view AsText(std::span<const uint8_t> data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

}  // namespace

DecodeError ParseRequest(std::span<const uint8_t> data, Request* out) noexcept {
  if (data.empty()) return DecodeError::kTooShort;
  if (!IsText(data)) return DecodeError::kNotText;
  std::string_view f[3];
  const size_t n = SplitFields(AsText(data), f, 3);
  if (n > 3) return DecodeError::kExtraFields;
  if (n < 1 || f[0].empty() || f[0].size() > kMaxField) return DecodeError::kBadKeyword;
  for (char c : f[0])
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return DecodeError::kBadKeyword;
  if (n < 2 || !ParseSeq(f[1], &out->seq)) return DecodeError::kBadSequence;
  if (n < 3 || !ParseSeconds(f[2], &out->sent_seconds)) return DecodeError::kBadTimestamp;
  out->keyword_text = f[0];
  out->seq_text = f[1];
  out->keyword = absl::EqualsIgnoreCase(AbslView(f[0]), "ping")        ? Keyword::kPing
                 : absl::EqualsIgnoreCase(AbslView(f[0]), "heartbeat") ? Keyword::kHeartbeat
                                                              : Keyword::kOther;
  return DecodeError::kNone;
}

DecodeError ParseHeartbeatReply(std::span<const uint8_t> data, HeartbeatReply* out) noexcept {
  if (data.empty()) return DecodeError::kTooShort;
  if (!IsText(data)) return DecodeError::kNotText;
  std::string_view f[2];
  const size_t n = SplitFields(AsText(data), f, 2);
  if (n > 2) return DecodeError::kExtraFields;
  if (n < 1 || !ParseSeq(f[0], &out->seq)) return DecodeError::kBadSequence;
  if (n < 2 || !ParseSeconds(f[1], &out->time_difference)) return DecodeError::kBadTimestamp;
  return DecodeError::kNone;
}

size_t EncodeRequest(Keyword keyword, uint64_t seq, WallTime sent, size_t pad_to,
                     std::span<uint8_t> out) noexcept {
  const char* word = keyword == Keyword::kHeartbeat ? "Heartbeat" : "Ping";
  // Sign and magnitude, so times before 1970 print as -1.500000000 (parseable), not
  // as two separately negative parts.
  const bool negative = sent.nanos() < 0;
  const uint64_t mag = negative ? 0 - static_cast<uint64_t>(sent.nanos())
                                : static_cast<uint64_t>(sent.nanos());
  char text[96];
  const int len = std::snprintf(text, sizeof text, "%s %llu %s%llu.%09llu", word,
                                static_cast<unsigned long long>(seq), negative ? "-" : "",
                                static_cast<unsigned long long>(mag / kNanosPerSecond),
                                static_cast<unsigned long long>(mag % kNanosPerSecond));
  if (len <= 0) return 0;
  const size_t total = std::max(static_cast<size_t>(len), pad_to);
  if (total > out.size()) return 0;
  std::memcpy(out.data(), text, static_cast<size_t>(len));
  std::memset(out.data() + len, ' ', total - static_cast<size_t>(len));
  return total;
}

size_t EncodeEchoReply(std::span<const uint8_t> in, std::span<uint8_t> out) noexcept {
  // Eight bytes at a time: a byte is a lowercase ASCII letter when its low seven bits are
  // in 'a'..'z' and its top bit is clear; clearing 0x20 there uppercases it.
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x80 * kOnes;
  size_t i = 0;
  for (; i + 8 <= in.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, in.data() + i, 8);
    const uint64_t low7 = x & ~kHigh;
    const uint64_t ge_a = low7 + (0x80 - 'a') * kOnes;      // top bit: low7 >= 'a'
    const uint64_t gt_z = low7 + (0x80 - 'z' - 1) * kOnes;  // top bit: low7 > 'z'
    const uint64_t lower = ge_a & ~gt_z & ~x & kHigh;
    x ^= lower >> 2;
    std::memcpy(out.data() + i, &x, 8);
  }
  for (; i < in.size(); ++i) {
    const uint8_t c = in[i];
    out[i] = (c >= 'a' && c <= 'z') ? static_cast<uint8_t>(c - 'a' + 'A') : c;
  }
  return in.size();
}

size_t EncodeHeartbeatReply(std::string_view seq_text, double time_difference,
                            std::span<uint8_t> out) noexcept {
  // A difference whose %.6f text would be longer than ParseHeartbeatReply accepts
  // (|d| ≥ 1e24 s: only an absurd request timestamp) has no reply.
  char field[64];
  const int flen = std::snprintf(field, sizeof field, "%.6f", time_difference);
  if (flen <= 0 || static_cast<size_t>(flen) > kMaxField) return 0;
  char text[96];
  const int len = std::snprintf(text, sizeof text, "%.*s %.6f", static_cast<int>(seq_text.size()),
                                seq_text.data(), time_difference);
  if (len <= 0 || static_cast<size_t>(len) >= sizeof text ||
      static_cast<size_t>(len) > out.size())
    return 0;
  std::memcpy(out.data(), text, static_cast<size_t>(len));
  return static_cast<size_t>(len);
}

}  // namespace udpbeat::lab
