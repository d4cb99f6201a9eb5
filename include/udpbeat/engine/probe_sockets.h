// The sockets a target's probe sessions use, opened and closed through a narrow interface:
// SessionGroup's only way to the kernel besides ProbeTransport. The event loop implements
// it in production (LoopSockets); unit tests use a fake that hands out ids and keeps each
// socket's handler, so a test delivers replies through the group's own routing, with no
// socket and no io_uring.
//
// None of it is on the per-packet path: a group opens its sockets once and reads their
// drop counters when results are taken.
#ifndef UDPBEAT_ENGINE_PROBE_SOCKETS_H_
#define UDPBEAT_ENGINE_PROBE_SOCKETS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "udpbeat/net/datagram.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/net/udp_socket.h"

namespace udpbeat::engine {

class ProbeSockets {
 public:
  struct Opened {
    SocketId id = 0;
    uint16_t local_port = 0;  // 0 when it could not be read
  };

  virtual ~ProbeSockets() = default;
  // Opens a UDP socket connected to `peer` and hands its datagrams, receive and send
  // errors and transmit timestamps to `handler` (borrowed until Close).
  virtual absl::StatusOr<Opened> Open(const SocketAddress& peer, const UdpSocketOptions& options,
                                      DatagramHandler& handler) = 0;
  // Asks the kernel to stamp every datagram sent on `socket` (from a send-only twin when
  // `send_twin`); false when refused, the sessions then take T1 from the clock.
  virtual bool EnableTransmitTimestamps(SocketId socket, bool send_twin) = 0;
  // Stops the socket's receives and forgets its handler.
  virtual void Close(SocketId socket) = 0;
  // Datagrams the kernel dropped on `socket` so far.
  virtual uint64_t Drops(SocketId socket) const = 0;
  // Sockets the process may hold in all (its open-file limit less what it needs besides
  // sockets), and descriptors it can still open now: what a reload's new targets and the
  // choice of send twins are measured against.
  virtual uint64_t Budget() = 0;
  virtual uint64_t FreeDescriptors() = 0;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_PROBE_SOCKETS_H_
