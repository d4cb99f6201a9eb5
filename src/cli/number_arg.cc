#include "udpbeat/cli/number_arg.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"

namespace udpbeat {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  return true;
}

absl::Status Refuse(std::string_view text, std::string_view why, std::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat("'", AbslView(text), "' ", AbslView(why), ": give ", AbslView(range)));
}

// [-]digits[.digits] or [-].digits, then optionally e[+-]digits.
bool IsDecimal(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !IsDigit(s[i])) return false;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  return i == s.size();
}

}  // namespace

absl::StatusOr<uint64_t> ParseWholeArg(std::string_view text, uint64_t min, uint64_t max) {
  const std::string range = absl::StrCat(min, " to ", max);
  if (text.size() >= 2 && text[0] == '-' && AllDigits(text.substr(1)))
    return Refuse(text, "is out of range", range);
  if (!AllDigits(text)) return Refuse(text, "is not a whole number", range);
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range || n < min || n > max)
    return Refuse(text, "is out of range", range);
  if (ec != std::errc() || end != text.data() + text.size())
    return Refuse(text, "is not a whole number", range);
  return n;
}

absl::StatusOr<uint64_t> ParseWholeOrHexArg(std::string_view text, uint64_t min,
                                           uint64_t max) {
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    return ParseWholeArg(text, min, max);
  const std::string range = absl::StrCat(min, " to ", max);
  const std::string_view digits = text.substr(2);
  if (digits.empty()) return Refuse(text, "is not a whole number", range);
  for (char c : digits)
    if (!IsDigit(c) && !((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return Refuse(text, "is not a whole number", range);
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, 16);
  if (ec == std::errc::result_out_of_range || n < min || n > max)
    return Refuse(text, "is out of range", range);
  if (ec != std::errc() || end != digits.data() + digits.size())
    return Refuse(text, "is not a whole number", range);
  return n;
}

absl::StatusOr<double> ParseRealArg(std::string_view text, double min, double max) {
  const std::string range = absl::StrCat(FormatReal(min), " to ", FormatReal(max));
  if (!IsDecimal(text)) return Refuse(text, "is not a number", range);
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  // Out of double's range ("1e999") is out of any option's range; a value too small to
  // represent ("1e-999") reads as 0 here and then meets the range check like 0.
  if (ec == std::errc::result_out_of_range) {
    const bool tiny = text.find_first_of("eE") != std::string_view::npos &&
                      text[text.find_first_of("eE") + 1] == '-';
    if (!tiny) return Refuse(text, "is out of range", range);
    v = 0;
  } else if (ec != std::errc() || end != text.data() + text.size()) {
    return Refuse(text, "is not a number", range);
  }
  if (!std::isfinite(v) || v < min || v > max) return Refuse(text, "is out of range", range);
  return v;
}

std::string FormatReal(double v) {
  char buf[400];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return absl::StrCat(v);
  return std::string(buf, end);
}

}  // namespace udpbeat
