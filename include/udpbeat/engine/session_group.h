// Many probe sessions on one event loop, for load tests: N sessions over M sockets
// (each its own source port when M == N). Sessions that share a socket are told apart
// by their STAMP SSID or, for the seed protocol, by disjoint sequence-number ranges.
// Send times are staggered evenly over one interval so sessions do not burst together.
#ifndef UDPBEAT_ENGINE_SESSION_GROUP_H_
#define UDPBEAT_ENGINE_SESSION_GROUP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "udpbeat/engine/probe_session.h"
#include "udpbeat/net/socket_address.h"

namespace udpbeat {

struct SessionGroupOptions {
  ProbeSessionConfig session;  // per-session template (first_seq and ssid are assigned)
  uint32_t sessions = 1;
  uint32_t sockets = 0;        // 0: one per session
};

// Event-loop sizing for a client running `sessions` sessions of `size`-byte probes:
// more receive buffers and a deeper ring when many sessions share the loop.
uring::LoopOptions ClientLoopOptions(uint32_t sessions, size_t size);

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the resulting soft limit.
uint64_t RaiseFileLimit();

class SessionGroup {
 public:
  // Opens the sockets (connected to `peer`) and creates the sessions. Errors say when
  // the sockets cannot fit in the open-file limit, and how to share them.
  static absl::StatusOr<std::unique_ptr<SessionGroup>> Create(const SessionGroupOptions& opts,
                                                              const SocketAddress& peer,
                                                              uring::EventLoop& loop,
                                                              ProbeObserver& observer);
  ~SessionGroup();

  void Start();
  void FinishAll();
  size_t size() const { return sessions_.size(); }
  ProbeSession& session(size_t i) { return *sessions_[i]; }
  const ProbeSession& session(size_t i) const { return *sessions_[i]; }
  // Local port of session i's socket.
  uint16_t local_port(size_t i) const;

 private:
  class Demux;
  SessionGroup() = default;

  std::vector<uint8_t> scratch_;
  std::vector<std::unique_ptr<ProbeSession>> sessions_;
  std::vector<std::unique_ptr<Demux>> demuxes_;
  std::vector<uint16_t> socket_ports_;
  std::vector<uint32_t> socket_of_session_;
};

}  // namespace udpbeat

#endif  // UDPBEAT_ENGINE_SESSION_GROUP_H_
