// The probe sessions of one target: N sessions over M sockets (each its own source port
// when M == N, as --src-ports and load tests want). Sessions that share a socket are told
// apart by their STAMP SSID or, for the lab protocol, by disjoint sequence-number ranges;
// their transmit timestamps by the session index in the send tag's high bits.
//
// Thread: the loop's. The group owns its sessions and closes its sockets when destroyed
// (a target dropped on reload). Borrowed: transport, sockets, observer.
#ifndef UDPBEAT_ENGINE_SESSION_GROUP_H_
#define UDPBEAT_ENGINE_SESSION_GROUP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "udpbeat/engine/probe_session.h"
#include "udpbeat/engine/probe_sockets.h"
#include "udpbeat/engine/probe_transport.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/net/udp_socket.h"

namespace udpbeat::engine {

struct SessionGroupOptions {
  ProbeSessionConfig session;  // per-session template (first_seq, ssid, offset assigned)
  uint32_t sessions = 1;
  uint32_t sockets = 0;        // 0: one per session
  Nanos stagger_base = 0;      // added to every session's start offset
  UdpSocketOptions socket;     // TOS, source address
  bool transmit_timestamps = false;  // ask the kernel for T1 (falls back when refused)
  // Send each socket's probes from a send-only twin (uring::TransmitSocket): T1 about
  // 0.5 us nearer the wire, for one more descriptor per socket. TargetSet decides.
  bool send_twins = false;
};

class SessionGroup {
 public:
  // Opens the sockets (connected to `peer`) and creates the sessions.
  static absl::StatusOr<std::unique_ptr<SessionGroup>> Create(const SessionGroupOptions& opts,
                                                              const SocketAddress& peer,
                                                              ProbeTransport& transport,
                                                              ProbeSockets& sockets,
                                                              ProbeObserver& observer);
  ~SessionGroup();

  void Start();
  void StopSending();
  void FinishAll();
  size_t size() const { return sessions_.size(); }
  ProbeSession& session(size_t i) { return *sessions_[i]; }
  const ProbeSession& session(size_t i) const { return *sessions_[i]; }
  // Local port of session i's socket.
  uint16_t local_port(size_t i) const;
  // True when every socket delivers kernel transmit timestamps.
  bool kernel_timestamps() const { return kernel_timestamps_; }
  // Datagrams the kernel dropped on the group's sockets (SO_MEMINFO), now.
  uint64_t SocketDrops() const;
  size_t socket_count() const { return socket_ids_.size(); }

 private:
  class Demux;
  explicit SessionGroup(ProbeSockets& sockets);

  ProbeSockets& sockets_;
  std::vector<std::unique_ptr<ProbeSession>> sessions_;
  std::vector<std::unique_ptr<Demux>> demuxes_;
  std::vector<SocketId> socket_ids_;
  std::vector<uint16_t> socket_ports_;
  std::vector<uint32_t> socket_of_session_;
  bool kernel_timestamps_ = false;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_SESSION_GROUP_H_
