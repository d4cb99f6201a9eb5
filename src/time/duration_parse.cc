#include "udpbeat/time/duration_parse.h"

#include <cstdint>
#include <numeric>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"

namespace udpbeat {
namespace {

constexpr uint64_t kNanosPerMinute = 60 * kNanosPerSecond;
constexpr uint64_t kNanosPerHour = 60 * kNanosPerMinute;

struct Unit {
  std::string_view name;
  uint64_t nanos;
};

// "µs" as both code points people type for micro: U+00B5 MICRO SIGN and U+03BC GREEK
// SMALL LETTER MU (Go's time.ParseDuration takes both).
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", kNanosPerMicro},
    {"\xC2\xB5s", kNanosPerMicro},
    {"\xCE\xBCs", kNanosPerMicro},
    {"ms", kNanosPerMilli},
    {"s", kNanosPerSecond},
    {"m", kNanosPerMinute},
    {"h", kNanosPerHour},
};
constexpr Unit kSeconds = {"s", kNanosPerSecond};

// With trailing zeros stripped, a fraction of k digits times a unit is a whole number of
// nanoseconds only if 10^k divides it; the largest unit, 1h = 2^13 * 3^2 * 5^11 ns, allows
// k <= 13. Anything longer is finer than 1ns, and 18 digits still fit a uint64_t.
constexpr size_t kMaxFractionDigits = 18;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The longest unit `rest` starts with ("ms" before "m"), or nullptr.
const Unit* MatchUnit(std::string_view rest) {
  const Unit* best = nullptr;
  for (const Unit& u : kUnits) {
    if (rest.substr(0, u.name.size()) == u.name &&
        (best == nullptr || u.name.size() > best->name.size()))
      best = &u;
  }
  return best;
}

std::string Quoted(std::string_view text) { return absl::StrCat("'", AbslView(text), "'"); }

absl::Status Invalid(std::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration ", Quoted(text), " (use e.g. 250ms, 1.5s or 2)"));
}

std::string RangeText(Nanos min, Nanos max) {
  return absl::StrCat("give ", FormatDuration(min), " to ", FormatDuration(max));
}

}  // namespace

absl::StatusOr<Nanos> ParseDurationArg(std::string_view text, Nanos min, Nanos max) {
  if (min < 0 || max < min)
    return absl::InvalidArgumentError(
        absl::StrCat("duration ", Quoted(text), ": invalid range ", min, "ns to ", max, "ns"));
  std::string_view rest = text;
  // A sign in front of a number gets its own message; a lone sign is just not a duration.
  if (rest.size() >= 2 && (rest[0] == '-' || rest[0] == '+') &&
      (IsDigit(rest[1]) || rest[1] == '.')) {
    if (rest[0] == '-')
      return absl::InvalidArgumentError(
          absl::StrCat(Quoted(text), " is negative: ", RangeText(min, max)));
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration ", Quoted(text), ": no sign is accepted"));
  }

  // The whole part saturates: any value that overflows 64 bits is out of range anyway.
  uint64_t whole = 0;
  bool whole_overflow = false;
  size_t whole_digits = 0;
  for (; !rest.empty() && IsDigit(rest[0]); rest.remove_prefix(1), ++whole_digits) {
    if (__builtin_mul_overflow(whole, 10, &whole) ||
        __builtin_add_overflow(whole, static_cast<uint64_t>(rest[0] - '0'), &whole))
      whole_overflow = true;
  }
  std::string_view fraction;
  if (!rest.empty() && rest[0] == '.') {
    rest.remove_prefix(1);
    size_t n = 0;
    while (n < rest.size() && IsDigit(rest[n])) ++n;
    fraction = rest.substr(0, n);
    rest.remove_prefix(n);
  }
  if (whole_digits == 0 && fraction.empty()) return Invalid(text);  // "", ".", "s", "inf"
  if (rest.size() >= 2 && (rest[0] == 'e' || rest[0] == 'E') &&
      (IsDigit(rest[1]) ||
       ((rest[1] == '-' || rest[1] == '+') && rest.size() >= 3 && IsDigit(rest[2]))))
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid duration ", Quoted(text), ": exponents are not accepted (use e.g. 0.001 or 1ms)"));

  const Unit* unit = &kSeconds;
  if (!rest.empty()) {
    unit = MatchUnit(rest);
    if (unit == nullptr) return Invalid(text);
    rest.remove_prefix(unit->name.size());
    if (!rest.empty() && (IsDigit(rest[0]) || rest[0] == '.'))
      return absl::InvalidArgumentError(
          absl::StrCat("invalid duration ", Quoted(text),
                       ": give one number and one unit (e.g. 90s, not 1m30s)"));
    if (!rest.empty()) return Invalid(text);
  }

  const uint64_t umax = static_cast<uint64_t>(max);
  const absl::Status out_of_range = absl::InvalidArgumentError(
      absl::StrCat(Quoted(text), " is out of range: ", RangeText(min, max)));
  // whole * unit > max exactly when whole > floor(max / unit).
  if (whole_overflow || whole > umax / unit->nanos) return out_of_range;

  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  uint64_t fraction_nanos = 0;
  if (!fraction.empty()) {
    const absl::Status too_fine =
        absl::InvalidArgumentError(absl::StrCat(Quoted(text), " is finer than 1ns"));
    if (fraction.size() > kMaxFractionDigits) return too_fine;
    uint64_t digits = 0;
    uint64_t scale = 1;
    for (char c : fraction) {
      digits = digits * 10 + static_cast<uint64_t>(c - '0');
      scale *= 10;
    }
    // digits / scale * unit is whole iff scale/g divides digits, g = gcd(unit, scale):
    // scale/g and unit/g share no factor. The product stays below one unit, so no overflow.
    const uint64_t g = std::gcd(unit->nanos, scale);
    if (digits % (scale / g) != 0) return too_fine;
    fraction_nanos = digits / (scale / g) * (unit->nanos / g);
  }
  // Both terms are at most max <= INT64_MAX, so the sum fits a uint64_t.
  const uint64_t total = whole * unit->nanos + fraction_nanos;
  if (total > umax || total < static_cast<uint64_t>(min)) return out_of_range;
  return static_cast<Nanos>(total);
}

absl::StatusOr<Nanos> ParseDurationArg(std::string_view text) {
  return ParseDurationArg(text, 0, kMaxDurationArg);
}

std::string FormatDuration(Nanos ns) {
  if (ns == 0) return "0";
  // The magnitude as unsigned, so INT64_MIN has one too.
  const uint64_t v = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  const std::string_view sign = ns < 0 ? "-" : "";
  if (v % kNanosPerHour == 0) return absl::StrCat(AbslView(sign), v / kNanosPerHour, "h");
  if (v % kNanosPerMinute == 0) return absl::StrCat(AbslView(sign), v / kNanosPerMinute, "m");
  struct DecimalUnit {
    uint64_t nanos;
    int digits;
    std::string_view name;
  };
  static constexpr DecimalUnit kDecimal[] = {{kNanosPerSecond, 9, "s"},
                                             {kNanosPerMilli, 6, "ms"},
                                             {kNanosPerMicro, 3, "us"},
                                             {1, 0, "ns"}};
  for (const DecimalUnit& u : kDecimal) {
    if (v < u.nanos && u.nanos != 1) continue;
    std::string out = absl::StrCat(AbslView(sign), v / u.nanos);
    if (const uint64_t rem = v % u.nanos; rem != 0) {
      std::string frac = std::to_string(rem);
      frac.insert(0, static_cast<size_t>(u.digits) - frac.size(), '0');
      while (frac.back() == '0') frac.pop_back();
      absl::StrAppend(&out, ".", frac);
    }
    absl::StrAppend(&out, AbslView(u.name));
    return out;
  }
  return "";  // not reached: the last unit takes every value
}

}  // namespace udpbeat
