#include "udpbeat/net/socket_address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"

namespace udpbeat {

SocketAddress SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) noexcept {
  SocketAddress a;
  if (sa == nullptr) return a;
  if ((sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) ||
      (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6))) {
    const socklen_t n = sa->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&a.storage_, sa, n);
    a.len_ = n;
  }
  return a;
}

absl::StatusOr<SocketAddress> SocketAddress::ParseNumeric(std::string_view text,
                                                         uint16_t default_port) {
  auto hp = SplitHostPort(text, default_port);
  if (!hp.ok()) return hp.status();
  SocketAddress a;
  in_addr v4addr;
  in6_addr v6addr;
  if (::inet_pton(AF_INET, hp->host.c_str(), &v4addr) == 1) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    v4->sin_family = AF_INET;
    v4->sin_addr = v4addr;
    v4->sin_port = htons(hp->port);
    a.len_ = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, hp->host.c_str(), &v6addr) == 1) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = v6addr;
    v6->sin6_port = htons(hp->port);
    a.len_ = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "address '", AbslView(text), "': not a numeric IPv4 or IPv6 address"));
  }
  return a;
}

uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

void SocketAddress::set_port(uint16_t port) noexcept {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::string SocketAddress::HostString() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof buf);
  } else if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                sizeof buf);
  }
  return buf;
}

std::string SocketAddress::ToString() const {
  if (family() == AF_INET6) return absl::StrCat("[", HostString(), "]:", port());
  return absl::StrCat(HostString(), ":", port());
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.len_ == b.len_ && std::memcmp(&a.storage_, &b.storage_, a.len_) == 0;
}

absl::StatusOr<HostPort> SplitHostPort(std::string_view text, uint16_t default_port) {
  HostPort hp;
  hp.port = default_port;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos)
      return absl::InvalidArgumentError(absl::StrCat("address '", AbslView(text), "': missing ']'"));
    hp.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return absl::InvalidArgumentError(absl::StrCat("address '", AbslView(text), "': junk after ']'"));
      port_text = rest.substr(1);
      if (port_text.empty())
        return absl::InvalidArgumentError(absl::StrCat("address '", AbslView(text), "': empty port"));
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      hp.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      if (port_text.empty())
        return absl::InvalidArgumentError(absl::StrCat("address '", AbslView(text), "': empty port"));
    } else {
      hp.host = std::string(text);  // a name, IPv4, or a bare IPv6 literal
    }
  }
  if (hp.host.empty())
    return absl::InvalidArgumentError(absl::StrCat("address '", AbslView(text), "': empty host"));
  if (!port_text.empty()) {
    // Digits only: SimpleAtoi would also take "+23000", " 23000" and "23000 ".
    uint32_t port = 0;
    bool digits = port_text.size() <= 5;
    for (char c : port_text) {
      digits = digits && c >= '0' && c <= '9';
      if (digits) port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (!digits || port > 65535)
      return absl::InvalidArgumentError(
          absl::StrCat("address '", AbslView(text), "': port must be 0 to 65535 (digits only)"));
    hp.port = static_cast<uint16_t>(port);
  }
  return hp;
}

absl::StatusOr<SocketAddress> ResolveUdp(std::string_view text, uint16_t default_port,
                                         AddressFamily family) {
  auto hp = SplitHostPort(text, default_port);
  if (!hp.ok()) return hp.status();
  addrinfo hints{};
  hints.ai_family = family == AddressFamily::kIpv4   ? AF_INET
                    : family == AddressFamily::kIpv6 ? AF_INET6
                                                     : AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(hp->host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    return absl::NotFoundError(absl::StrCat(
        "resolve ", hp->host, ": ", rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc)));
  }
  absl::Cleanup free_res = [res] { ::freeaddrinfo(res); };
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    SocketAddress a = SocketAddress::FromSockaddr(ai->ai_addr, ai->ai_addrlen);
    if (a.empty()) continue;
    a.set_port(hp->port);
    return a;
  }
  return absl::NotFoundError(absl::StrCat("resolve ", hp->host, ": no usable address"));
}

}  // namespace udpbeat
