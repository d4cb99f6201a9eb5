// The process exit statuses: the only place they are defined (see udpbeat(1)).
#ifndef UDPBEAT_BASE_EXIT_CODE_H_
#define UDPBEAT_BASE_EXIT_CODE_H_

namespace udpbeat {

enum ExitCode : int {
  kExitOk = 0,          // success (ping: at least one reply; heartbeat: peer up)
  kExitBadOutcome = 1,  // the measured outcome was bad (no reply; peer down)
  kExitError = 2,       // usage or system error
};

}  // namespace udpbeat

#endif  // UDPBEAT_BASE_EXIT_CODE_H_
