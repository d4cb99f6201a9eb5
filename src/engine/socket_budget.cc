#include "udpbeat/engine/socket_budget.h"

#include <dirent.h>
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

uint64_t FreeDescriptors() {
  const uint64_t limit = RaiseFileLimit();
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return limit;  // no procfs: the limit is all that is known
  uint64_t open = 0;
  while (const dirent* e = ::readdir(dir)) open += e->d_name[0] != '.';
  ::closedir(dir);
  open -= open > 0;  // the directory's own descriptor, counted while reading
  return limit > open ? limit - open : 0;
}

}  // namespace udpbeat::engine
