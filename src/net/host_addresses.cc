#include "udpbeat/net/host_addresses.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace udpbeat {
namespace {

using Address = std::array<uint8_t, 16>;

// An IPv4 address (network order) in IPv6 form, ::ffff:a.b.c.d, as the server compares
// its sources.
Address Mapped(uint32_t v4) {
  Address v{};
  v[10] = v[11] = 0xff;
  std::memcpy(&v[12], &v4, 4);
  return v;
}

// What `pick` makes of each of the host's interface addresses, sorted, once each.
template <typename F>
std::vector<Address> EachInterfaceAddress(F pick) {
  std::vector<Address> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (std::optional<Address> v = pick(*i)) out.push_back(*v);
  }
  ::freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<Address> HostAddresses() {
  return EachInterfaceAddress([](const ifaddrs& i) -> std::optional<Address> {
    if (i.ifa_addr->sa_family == AF_INET)
      return Mapped(reinterpret_cast<const sockaddr_in*>(i.ifa_addr)->sin_addr.s_addr);
    if (i.ifa_addr->sa_family != AF_INET6) return std::nullopt;
    Address v{};
    std::memcpy(v.data(), &reinterpret_cast<const sockaddr_in6*>(i.ifa_addr)->sin6_addr, 16);
    return v;
  });
}

std::vector<Address> HostBroadcastAddresses() {
  return EachInterfaceAddress([](const ifaddrs& i) -> std::optional<Address> {
    if (i.ifa_netmask == nullptr || i.ifa_addr->sa_family != AF_INET) return std::nullopt;
    // In network order both: the OR works octet by octet.
    const uint32_t a = reinterpret_cast<const sockaddr_in*>(i.ifa_addr)->sin_addr.s_addr;
    const uint32_t m = reinterpret_cast<const sockaddr_in*>(i.ifa_netmask)->sin_addr.s_addr;
    // A /31 or /32 has no broadcast address (RFC 3021).
    if (__builtin_popcount(m) >= 31) return std::nullopt;
    return Mapped(a | ~m);
  });
}

}  // namespace udpbeat
