#include "udpbeat/net/host_addresses.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace udpbeat {

std::vector<std::array<uint8_t, 16>> HostAddresses() {
  std::vector<std::array<uint8_t, 16>> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    std::array<uint8_t, 16> v{};
    if (i->ifa_addr->sa_family == AF_INET) {
      v[10] = v[11] = 0xff;
      std::memcpy(&v[12], &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      std::memcpy(v.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(v);
  }
  ::freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}


}  // namespace udpbeat
