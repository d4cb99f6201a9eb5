// "Did you mean ...?" for a mistyped subcommand or option name.
#ifndef UDPBEAT_CLI_SUGGEST_H_
#define UDPBEAT_CLI_SUGGEST_H_

#include <string>
#include <string_view>
#include <vector>

namespace udpbeat {

// The number of single-character insertions, deletions, substitutions and swaps of two
// neighbours that turn `a` into `b` (optimal string alignment distance), ignoring ASCII
// case: "pnig" is 1 from "ping", "--procto" 1 from "--proto".
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a typo of it (distance 1,
// or 2 for words of 6 or more letters besides leading dashes), the first such on a tie;
// "" when none is.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace udpbeat

#endif  // UDPBEAT_CLI_SUGGEST_H_
