// Creation of the UDP sockets the event loop reads: non-blocking, close-on-exec, with
// kernel drop counts (SO_RXQ_OVFL) and, unless turned off, kernel receive timestamps
// (SO_TIMESTAMPNS), the received TTL / hop limit and TOS / traffic class, as control
// messages.
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
  // Kernel receive timestamps, TTL / hop limit and TOS on every datagram. They cost the
  // kernel a clock read and a few control messages per datagram: off for a plain echo.
  bool receive_metadata = true;
  // The TOS / traffic class of every datagram even when receive_metadata is off: a
  // server keeps each request's DSCP in its reply, whatever it answers. (An IPv6 socket
  // asks for the IPv4 TOS too, for the IPv4 datagrams a dual-stack socket receives.)
  bool receive_tos = false;
  // The destination address of every datagram (IP_PKTINFO / IPV6_RECVPKTINFO), so a
  // server bound to a wildcard address can reply from the address it was asked on.
  bool receive_destination = false;
  // IP_TOS / IPV6_TCLASS of what the socket sends (DSCP << 2 | ECN); -1: the default.
  int tos = -1;
  // ConnectUdp only: bind to this local address (port 0: any) before connecting.
  const SocketAddress* source = nullptr;
};

// Binds a new socket to `local`. Errors name the address:
// "bind 0.0.0.0:12000: Address already in use".
absl::StatusOr<UniqueFd> BindUdp(const SocketAddress& local, const UdpSocketOptions& opts);

// A socket connected to `peer` (ephemeral local port unless opts.source says), so ICMP
// errors such as port unreachable come back as ECONNREFUSED on the socket and strangers'
// datagrams are filtered by the kernel.
absl::StatusOr<UniqueFd> ConnectUdp(const SocketAddress& peer, const UdpSocketOptions& opts);

// The address a socket is bound to (for port 0 binds).
absl::StatusOr<SocketAddress> LocalAddress(int fd);
// The address a connected socket is connected to.
absl::StatusOr<SocketAddress> PeerAddress(int fd);

// True for 0.0.0.0 and :: (a socket bound there answers on every local address).
bool IsWildcard(const SocketAddress& a);

}  // namespace udpbeat

#endif  // UDPBEAT_NET_UDP_SOCKET_H_
