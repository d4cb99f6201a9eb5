// What the event loop hands a socket's owner: one received datagram and the metadata the
// kernel gave with it, and the interface those owners implement. No liburing here: the
// engine and its tests see datagrams as plain values.
#ifndef UDPBEAT_NET_DATAGRAM_H_
#define UDPBEAT_NET_DATAGRAM_H_

#include <cstdint>
#include <span>

#include "udpbeat/net/socket_address.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

// A socket registered with an event loop.
using SocketId = uint32_t;

// One received datagram; valid only during the OnDatagram call.
struct Datagram {
  SocketId socket = 0;
  const SocketAddress* from = nullptr;
  // The local address the datagram was sent to (IP_PKTINFO / IPV6_PKTINFO), for a socket
  // bound to a wildcard address; null when the kernel did not say.
  const SocketAddress* to = nullptr;
  std::span<const uint8_t> payload;
  WallTime rx_wall;        // kernel receive timestamp; 0 when the kernel gave none
  MonoTime loop_mono;      // monotonic time sampled when this loop turn woke
  WallTime loop_wall;      // realtime sampled at the same moment
  bool truncated = false;  // larger than the receive buffer (MSG_TRUNC): payload is partial
  int ttl = -1;            // IP TTL or IPv6 hop limit; -1 unknown
  int tos = -1;            // IP TOS / IPv6 traffic class byte; -1 unknown
};

// The owner of a socket on an event loop.
class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  virtual void OnDatagram(const Datagram& d) noexcept = 0;
  // A receive completed with `error` (an errno). ECONNREFUSED on a connected socket means
  // an ICMP port unreachable came back. The loop re-arms the receive itself.
  virtual void OnReceiveError(SocketId, int /*error*/) noexcept {}
  // The one channel for send failures: the datagram sent with `tag` (SendSpec::tag) whose
  // `fill` produced bytes was not sent, either because it could not be queued (ENOBUFS:
  // no free send slot or submission entry; then during the SendWith call itself) or
  // because the kernel refused it (its completion: EPERM from a firewall's output hook,
  // ENETUNREACH, EMSGSIZE, ENOBUFS, ECONNREFUSED for an earlier datagram's ICMP port
  // unreachable, ...). Once per such datagram; never for one that was sent.
  virtual void OnSendError(SocketId, uint64_t /*tag*/, int /*error*/) noexcept {}
  // The kernel's software transmit timestamp of a datagram sent with `tag` (sockets with
  // transmit timestamps on; see EventLoop::EnableTransmitTimestamps).
  virtual void OnTransmitTimestamp(SocketId, uint64_t /*tag*/, WallTime /*sent*/) noexcept {}
};

}  // namespace udpbeat

#endif  // UDPBEAT_NET_DATAGRAM_H_
