// An IPv4 or IPv6 UDP endpoint, and parsing of the "HOST[:PORT]" forms users type.
#ifndef UDPBEAT_NET_SOCKET_ADDRESS_H_
#define UDPBEAT_NET_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace udpbeat {

enum class AddressFamily { kAny, kIpv4, kIpv6 };

class SocketAddress {
 public:
  SocketAddress() = default;
  // Copies `len` bytes of a sockaddr_in or sockaddr_in6; anything else yields an
  // empty address (family() == AF_UNSPEC).
  static SocketAddress FromSockaddr(const sockaddr* sa, socklen_t len) noexcept;

  // Parses a numeric address with optional port: "127.0.0.1:12000", "[::1]:12000",
  // "127.0.0.1" (takes `default_port`). No name lookup. InvalidArgument names the text.
  static absl::StatusOr<SocketAddress> ParseNumeric(std::string_view text,
                                                    uint16_t default_port = 0);

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* mutable_data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  int family() const noexcept { return storage_.ss_family; }
  uint16_t port() const noexcept;
  void set_port(uint16_t port) noexcept;
  bool empty() const noexcept { return len_ == 0; }

  // "127.0.0.1:12000" or "[::1]:12000"; HostString() omits the port.
  std::string ToString() const;
  std::string HostString() const;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

  template <typename H>
  friend H AbslHashValue(H h, const SocketAddress& a) {
    return H::combine_contiguous(std::move(h), reinterpret_cast<const unsigned char*>(&a.storage_),
                                 a.len_);
  }

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

// Splits "HOST", "HOST:PORT", "[V6]:PORT" or a bare IPv6 literal into host and port;
// `default_port` is used when none is given. Ports outside 0..65535 are InvalidArgument.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
absl::StatusOr<HostPort> SplitHostPort(std::string_view text, uint16_t default_port);

// Resolves `text` (HOST[:PORT]) to one UDP address of the wanted family.
// NotFound when the name does not resolve ("udpbeat: resolve nosuch.invalid: ...").
absl::StatusOr<SocketAddress> ResolveUdp(std::string_view text, uint16_t default_port,
                                         AddressFamily family);

}  // namespace udpbeat

#endif  // UDPBEAT_NET_SOCKET_ADDRESS_H_
