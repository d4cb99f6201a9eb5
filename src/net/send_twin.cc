#include "udpbeat/net/send_twin.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/net/udp_socket.h"

namespace udpbeat {
namespace {

absl::Status Fail(const char* what) { return absl::ErrnoToStatus(errno, what); }

// Copies an int option from `from` to `to`.
absl::Status CopyInt(int from, int to, int level, int name, const char* what) {
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(from, level, name, &v, &len) != 0 ||
      ::setsockopt(to, level, name, &v, sizeof v) != 0)
    return Fail(what);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SendTwin> MakeSendTwin(int connected_fd) {
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress peer, PeerAddress(connected_fd));
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress local, LocalAddress(connected_fd));
  const int family = local.family();
  if (family != AF_INET && family != AF_INET6)
    return absl::InvalidArgumentError("send twin: not an IP socket");

  UniqueFd twin(UniqueFd::kAdopt,
                ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!twin) return Fail("socket");
  const int one = 1;
  if (::setsockopt(connected_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::setsockopt(twin.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return Fail("setsockopt SO_REUSEPORT");
  // Accept nothing: a datagram the kernel hands the twin (one from a stranger, which the
  // connected socket refuses) is dropped before it is queued.
  sock_filter reject = BPF_STMT(BPF_RET | BPF_K, 0);
  const sock_fprog program = {1, &reject};
  if (::setsockopt(twin.get(), SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0)
    return Fail("setsockopt SO_ATTACH_FILTER");
  // The receive buffer stays as it is: the transmit stamps on the error queue are charged
  // to it (a minimal one held two).
  // SO_SNDBUF reads back twice what was set (the kernel's bookkeeping share): half of it
  // is what the connected socket was given. FORCE first, as BindUdp/ConnectUdp do, so a
  // buffer above wmem_max carries over where the process may set one.
  int sndbuf = 0;
  socklen_t sndbuf_len = sizeof sndbuf;
  if (::getsockopt(connected_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sndbuf_len) != 0)
    return Fail("getsockopt SO_SNDBUF");
  sndbuf /= 2;
  if (::setsockopt(twin.get(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0 &&
      ::setsockopt(twin.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) != 0)
    return Fail("setsockopt SO_SNDBUF");
  if (family == AF_INET) {
    UDPBEAT_RETURN_IF_ERROR(CopyInt(connected_fd, twin.get(), IPPROTO_IP, IP_TOS, "copy IP_TOS"));
  } else {
    UDPBEAT_RETURN_IF_ERROR(
        CopyInt(connected_fd, twin.get(), IPPROTO_IPV6, IPV6_TCLASS, "copy IPV6_TCLASS"));
  }
  if (::bind(twin.get(), local.data(), local.size()) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("send twin: bind ", local.ToString()));
  // Connecting again to the same peer marks the reuseport group the bind just formed as
  // having a connected member (reuseport_has_conns): lookups then score the sockets and
  // the connected one's exact match wins. Without it the kernel may hash a reply to the
  // twin, which drops it.
  if (::connect(connected_fd, peer.data(), peer.size()) != 0) return Fail("connect");
  return SendTwin{std::move(twin), peer};
}

}  // namespace udpbeat
