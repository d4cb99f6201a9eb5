#include "udpbeat/time/duration_parse.h"

#include <chrono>
#include <cmath>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "udpbeat/base/absl_view.h"

namespace udpbeat {

absl::StatusOr<Nanos> ParseDurationArg(std::string_view text_in) {
  const absl::string_view text = AbslView(text_in);
  absl::Duration d;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    if (!std::isfinite(seconds) || seconds > 1e9)
      return absl::InvalidArgumentError(absl::StrCat("invalid duration '", text, "'"));
    d = absl::Seconds(seconds);
  } else if (text.empty() || !absl::ParseDuration(text, &d) ||
             d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration '", text, "' (use e.g. 250ms, 1.5s or 2)"));
  }
  if (d < absl::ZeroDuration())
    return absl::InvalidArgumentError(absl::StrCat("negative duration '", text, "'"));
  return static_cast<Nanos>(absl::ToChronoNanoseconds(d).count());
}

std::string FormatDuration(Nanos ns) {
  return absl::FormatDuration(absl::Nanoseconds(ns));
}

}  // namespace udpbeat
