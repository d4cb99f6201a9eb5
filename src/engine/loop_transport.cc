#include "udpbeat/engine/loop_transport.h"

#include <algorithm>
#include <utility>

#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/socket_budget.h"

namespace udpbeat::engine {

uring::LoopOptions ClientLoopOptions(uint64_t sessions, size_t size) {
  uring::LoopOptions lo;
  lo.max_datagram = std::max<size_t>(size, 2048);
  const bool many = sessions > 1;
  lo.receive_buffers = many ? 4096 : 256;
  lo.max_pending_sends =
      static_cast<unsigned>(std::clamp<uint64_t>(sessions * 2, 4096, uint64_t{1} << 17));
  lo.sq_entries = many ? 4096 : 1024;
  lo.cq_entries = many ? 65536 : 16384;
  return lo;
}

absl::StatusOr<ProbeSockets::Opened> LoopSockets::Open(const SocketAddress& peer,
                                                       const UdpSocketOptions& options,
                                                       DatagramHandler& handler) {
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, ConnectUdp(peer, options));
  // Read before the loop takes the descriptor.
  auto local = LocalAddress(fd.get());
  Opened o;
  o.local_port = local.ok() ? local->port() : 0;
  UDPBEAT_ASSIGN_OR_RETURN(o.id, loop_.AddSocket(std::move(fd), &handler));
  return o;
}

uint64_t LoopSockets::Budget() { return SocketBudget(); }
uint64_t LoopSockets::FreeDescriptors() { return engine::FreeDescriptors(); }

bool LoopSockets::EnableTransmitTimestamps(SocketId socket, bool send_twin) {
  const uring::TransmitSocket from =
      send_twin ? uring::TransmitSocket::kSendOnlyTwin : uring::TransmitSocket::kSame;
  return loop_.EnableTransmitTimestamps(socket, uring::TransmitTimestamps::kEveryDatagram, from)
      .ok();
}

}  // namespace udpbeat::engine
