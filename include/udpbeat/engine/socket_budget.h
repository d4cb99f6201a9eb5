// How many sockets a client run may open: the open-file limit, raised to its hard limit,
// minus what the process needs besides its sockets.
#ifndef UDPBEAT_ENGINE_SOCKET_BUDGET_H_
#define UDPBEAT_ENGINE_SOCKET_BUDGET_H_

#include <cstdint>

namespace udpbeat::engine {

// Descriptors a client needs besides its sockets: stdio, the ring, the signalfd, an
// eventfd, a metrics file, some slack.
inline constexpr uint64_t kReservedFds = 32;

// The sockets one target's group opens: one per session (at least one), or at most
// `sockets` shared by them (0: not shared).
inline uint32_t SocketsPerTarget(uint32_t sessions, uint32_t sockets) {
  const uint32_t n = sessions > 0 ? sessions : 1;
  return sockets == 0 || sockets > n ? n : sockets;
}

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the resulting soft limit.
uint64_t RaiseFileLimit();

// Sockets that fit in the raised limit besides `reserved` other descriptors (0 if none).
uint64_t SocketBudget(uint64_t reserved = kReservedFds);

// Descriptors that can still be opened now: the raised limit minus those open
// (/proc/self/fd). For a decision taken mid-run, such as a reload adding targets.
uint64_t FreeDescriptors();

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_SOCKET_BUDGET_H_
