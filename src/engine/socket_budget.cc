#include "udpbeat/engine/socket_budget.h"

#include <sys/resource.h>

namespace udpbeat::engine {

uint64_t RaiseFileLimit() {
  rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

uint64_t SocketBudget(uint64_t reserved) {
  const uint64_t limit = RaiseFileLimit();
  return limit > reserved ? limit - reserved : 0;
}

}  // namespace udpbeat::engine
