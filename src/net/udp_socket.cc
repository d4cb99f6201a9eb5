#include "udpbeat/net/udp_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/status_macros.h"

namespace udpbeat {
namespace {

absl::Status SetInt(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("setsockopt ", what));
  return absl::OkStatus();
}

void SetBuffer(int fd, int force_name, int name, int bytes) {
  if (bytes <= 0) return;
  // The FORCE variant ignores rmem_max but needs CAP_NET_ADMIN; fall back quietly.
  if (::setsockopt(fd, SOL_SOCKET, force_name, &bytes, sizeof bytes) != 0)
    ::setsockopt(fd, SOL_SOCKET, name, &bytes, sizeof bytes);
}

absl::StatusOr<UniqueFd> OpenUdp(int family, const UdpSocketOptions& opts) {
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  UniqueFd owned(UniqueFd::kAdopt, fd);
  const bool v4 = family == AF_INET;
  UDPBEAT_RETURN_IF_ERROR(SetInt(fd, SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"));
  if (opts.receive_metadata) {
    UDPBEAT_RETURN_IF_ERROR(SetInt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS"));
    // IP_RECVTTL on an IPv6 socket too: an IPv4 datagram to a socket bound to :: carries
    // the IPv4 control messages only, so its TTL needs the IPv4 option (as IP_RECVTOS below).
    UDPBEAT_RETURN_IF_ERROR(SetInt(fd, IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL"));
    if (!v4) {
      UDPBEAT_RETURN_IF_ERROR(
          SetInt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"));
    }
  }
  if (opts.receive_metadata || opts.receive_tos) {
    // An IPv4 datagram on an IPv6 socket (bound to ::, not IPV6_V6ONLY) comes with the
    // IPv4 control messages only: its TOS needs IP_RECVTOS, which the kernel takes on an
    // IPv6 UDP socket too.
    UDPBEAT_RETURN_IF_ERROR(SetInt(fd, IPPROTO_IP, IP_RECVTOS, 1, "IP_RECVTOS"));
    if (!v4)
      UDPBEAT_RETURN_IF_ERROR(SetInt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1, "IPV6_RECVTCLASS"));
  }
  if (opts.receive_destination) {
    if (v4) {
      UDPBEAT_RETURN_IF_ERROR(SetInt(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO"));
    } else {
      UDPBEAT_RETURN_IF_ERROR(
          SetInt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"));
    }
  }
  if (opts.tos >= 0) {
    if (v4) {
      UDPBEAT_RETURN_IF_ERROR(SetInt(fd, IPPROTO_IP, IP_TOS, opts.tos, "IP_TOS"));
    } else {
      UDPBEAT_RETURN_IF_ERROR(SetInt(fd, IPPROTO_IPV6, IPV6_TCLASS, opts.tos, "IPV6_TCLASS"));
    }
  }
  if (opts.reuse_port)
    UDPBEAT_RETURN_IF_ERROR(SetInt(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"));
  SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, opts.receive_buffer);
  SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, opts.send_buffer);
  return owned;
}

}  // namespace

absl::StatusOr<UniqueFd> BindUdp(const SocketAddress& local, const UdpSocketOptions& opts) {
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenUdp(local.family(), opts));
  if (::bind(fd.get(), local.data(), local.size()) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("bind ", local.ToString()));
  return fd;
}

absl::StatusOr<UniqueFd> ConnectUdp(const SocketAddress& peer, const UdpSocketOptions& opts) {
  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenUdp(peer.family(), opts));
  if (opts.source != nullptr) {
    if (opts.source->family() != peer.family())
      return absl::InvalidArgumentError(absl::StrCat("source ", opts.source->HostString(),
                                                     " cannot reach ", peer.ToString(),
                                                     ": another address family"));
    if (::bind(fd.get(), opts.source->data(), opts.source->size()) != 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("bind ", opts.source->ToString()));
  }
  if (::connect(fd.get(), peer.data(), peer.size()) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("connect ", peer.ToString()));
  return fd;
}

namespace {

// getsockname(2) or getpeername(2), as a SocketAddress.
absl::StatusOr<SocketAddress> SocketName(int fd, int (*get)(int, sockaddr*, socklen_t*),
                                         const char* what) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (get(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return absl::ErrnoToStatus(errno, what);
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace

absl::StatusOr<SocketAddress> LocalAddress(int fd) {
  return SocketName(fd, ::getsockname, "getsockname");
}

absl::StatusOr<SocketAddress> PeerAddress(int fd) {
  return SocketName(fd, ::getpeername, "getpeername");
}

bool IsWildcard(const SocketAddress& a) {
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr.s_addr == htonl(INADDR_ANY);
  if (a.family() == AF_INET6)
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr);
  return false;
}

}  // namespace udpbeat
