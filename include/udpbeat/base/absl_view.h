// Debian's abseil 20220623 is built with its own absl::string_view (not an alias of
// std::string_view), so the two do not convert implicitly. Our APIs use
// std::string_view; this bridges them at abseil call sites.
#ifndef UDPBEAT_BASE_ABSL_VIEW_H_
#define UDPBEAT_BASE_ABSL_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace udpbeat {

inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace udpbeat

#endif  // UDPBEAT_BASE_ABSL_VIEW_H_
