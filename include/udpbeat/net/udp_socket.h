// Creation of the UDP sockets the event loop reads: non-blocking, close-on-exec, with
// kernel drop counts (SO_RXQ_OVFL) and, unless turned off, kernel receive timestamps
// (SO_TIMESTAMPNS) and the received TTL / hop limit, as control messages.
#ifndef UDPBEAT_NET_UDP_SOCKET_H_
#define UDPBEAT_NET_UDP_SOCKET_H_

#include "absl/status/statusor.h"
#include "udpbeat/base/unique_fd.h"
#include "udpbeat/net/socket_address.h"

namespace udpbeat {

struct UdpSocketOptions {
  // SO_RCVBUF/SO_SNDBUF wanted, bytes (0: the system default). The kernel caps them
  // at net.core.{r,w}mem_max; SO_*BUFFORCE is tried first and needs CAP_NET_ADMIN.
  int receive_buffer = 0;
  int send_buffer = 0;
  bool reuse_port = false;  // SO_REUSEPORT, for one socket per server thread
  // Kernel receive timestamps and the TTL / hop limit on every datagram. They cost the
  // kernel a clock read and two control messages per datagram: off for a plain echo.
  bool receive_metadata = true;
};

// Binds a new socket to `local`. Errors name the address:
// "bind 0.0.0.0:12000: Address already in use".
absl::StatusOr<UniqueFd> BindUdp(const SocketAddress& local, const UdpSocketOptions& opts);

// A socket connected to `peer` (ephemeral local port), so ICMP errors such as port
// unreachable come back as ECONNREFUSED on the socket and strangers' datagrams are
// filtered by the kernel.
absl::StatusOr<UniqueFd> ConnectUdp(const SocketAddress& peer, const UdpSocketOptions& opts);

// The address a socket is bound to (for port 0 binds).
absl::StatusOr<SocketAddress> LocalAddress(int fd);

}  // namespace udpbeat

#endif  // UDPBEAT_NET_UDP_SOCKET_H_
