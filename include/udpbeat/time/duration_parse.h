// Parsing of user-supplied durations ("250ms", "1.5s", "2m", bare seconds "0.2") and the
// formatting that reads back the same.
#ifndef UDPBEAT_TIME_DURATION_PARSE_H_
#define UDPBEAT_TIME_DURATION_PARSE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

// The range of the one-argument ParseDurationArg: 100 years (876000h), beyond any useful
// interval or timeout, and small enough that a WallTime or MonoTime plus it cannot wrap.
inline constexpr Nanos kMaxDurationArg = Nanos{876'000} * 3600 * kNanosPerSecond;

// Parses exactly one unsigned decimal number ("2", "0.25", ".5", "5.") followed by at most
// one unit: ns, us (or µs), ms, s, m, h. No unit means seconds, as in ping -i 0.2. This is
// the single-term subset of absl::ParseDuration's syntax, without a sign. The value is
// computed exactly in integer nanoseconds ("0.1s" is 100000000ns), never through a double.
// Refused, all with kInvalidArgument and a message that quotes `text` and names no flag
// (the caller prefixes the option):
//  - compound or repeated units ("1m30s", "1s1s"): one unit is one reading, write 90s;
//  - exponents ("1e-3"): a duration is typed, not computed, and 1e3 next to a unit reads
//    as a typo; hex ("0x10"), signs ("+1", "-5ms"), spaces, inf, nan;
//  - precision finer than 1ns ("1.5ns", "1.0000000001s"): refused, not rounded, so the
//    value used is always the value typed;
//  - values outside [min, max]: "'9223372000s' is out of range: give 0 to 24h".
// Needs 0 <= min <= max; otherwise every text is refused with a message naming the range.
absl::StatusOr<Nanos> ParseDurationArg(std::string_view text, Nanos min, Nanos max);

// ParseDurationArg(text, 0, kMaxDurationArg), for callers that have not said their range.
absl::StatusOr<Nanos> ParseDurationArg(std::string_view text);

// Formats ns so that ParseDurationArg reads back the same value: whole hours or minutes
// when it is a whole number of them ("24h", "2m"), else decimal seconds, milliseconds,
// microseconds or nanoseconds ("90s", "1.5s", "250ms", "10us", "0"). A negative value
// gets a '-' (which the parser refuses).
std::string FormatDuration(Nanos ns);

}  // namespace udpbeat

#endif  // UDPBEAT_TIME_DURATION_PARSE_H_
