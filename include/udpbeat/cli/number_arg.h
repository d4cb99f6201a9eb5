// Numbers as users type them on the command line, checked strictly and against the
// option's range, so every refusal names the range (no "Could not convert", no value
// silently wrapped or rounded into range).
#ifndef UDPBEAT_CLI_NUMBER_ARG_H_
#define UDPBEAT_CLI_NUMBER_ARG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace udpbeat {

// A whole number written in decimal digits only: no sign, space, fraction, exponent or
// "0x". InvalidArgument quotes `text` and gives the range, as
// "'4294967295' is out of range: give 1 to 1000" or "'1e23' is not a whole number: give
// 0 to 18446744073709551615". A leading '-' before digits reads as out of range.
absl::StatusOr<uint64_t> ParseWholeArg(std::string_view text, uint64_t min, uint64_t max);

// ParseWholeArg's numbers, or "0x" (or "0X") and hexadecimal digits: for values usually
// written in hex, such as a TOS byte (ping(8)'s -Q and iperf's -S take "0x20"). "0x20" is
// 32; the range in messages stays decimal.
absl::StatusOr<uint64_t> ParseWholeOrHexArg(std::string_view text, uint64_t min, uint64_t max);

// A real number in decimal ("0.364", "20", ".5", "1e6", "-1": digits with an optional
// fraction, exponent and minus sign; no hex, inf or nan) within [min, max] (both
// finite). Messages as ParseWholeArg's, with the range written by FormatReal:
// "'1e20' is out of range: give 0.001 to 1000000000".
absl::StatusOr<double> ParseRealArg(std::string_view text, double min, double max);

// The shortest decimal that reads back as `v`, without an exponent: 1e9 is
// "1000000000", 0.001 is "0.001".
std::string FormatReal(double v);

}  // namespace udpbeat

#endif  // UDPBEAT_CLI_NUMBER_ARG_H_
