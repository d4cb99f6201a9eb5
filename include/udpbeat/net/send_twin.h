// A send-only twin of a connected UDP socket: a second socket bound to the same local
// address and port that sends to the same peer and never receives, so that the connected
// socket can keep a receive armed without that receive sitting in the send path.
//
// Why: the kernel takes a software transmit timestamp in the driver's transmit routine,
// queues it on the sending socket's error queue and wakes every waiter on that socket
// before the datagram goes on (on loopback, before the receiver's stamp). An io_uring
// receive armed on the socket is such a waiter (its poll always includes EPOLLERR), and
// waking it puts about 0.5 us between the sender's stamp and the wire on the VM of
// bench/RESULTS.md (d). The twin has no waiter: its stamps cost only their own queueing.
//
// How: SO_REUSEPORT on both (same user only; the connected socket's flag is set here),
// the twin bound to the connected socket's local address, then the connected socket
// connected once more to its peer, which marks their reuseport group as having a
// connected member: the kernel then picks the receiving socket by its exact four-tuple
// match and never hashes the peer's datagrams to the twin. The twin drops whatever else
// reaches it (a socket filter that accepts nothing).
// It carries the connected socket's IP_TOS / IPV6_TCLASS and send buffer size.
#ifndef UDPBEAT_NET_SEND_TWIN_H_
#define UDPBEAT_NET_SEND_TWIN_H_

#include "absl/status/statusor.h"
#include "udpbeat/base/unique_fd.h"
#include "udpbeat/net/socket_address.h"

namespace udpbeat {

struct SendTwin {
  UniqueFd fd;        // send with a destination address: it is not connected
  SocketAddress peer;  // the connected socket's peer: where the twin sends
};

// The twin of `connected_fd`, a connected UDP socket. Errors (not connected, a limit on
// descriptors, a kernel without SO_REUSEPORT) leave `connected_fd` usable as it was,
// except for SO_REUSEPORT, which stays set on it.
absl::StatusOr<SendTwin> MakeSendTwin(int connected_fd);

}  // namespace udpbeat

#endif  // UDPBEAT_NET_SEND_TWIN_H_
