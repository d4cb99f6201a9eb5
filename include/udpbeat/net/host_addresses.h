// This host's own addresses, as a server's loop rules need them.
#ifndef UDPBEAT_NET_HOST_ADDRESSES_H_
#define UDPBEAT_NET_HOST_ADDRESSES_H_

#include <array>
#include <cstdint>
#include <vector>

namespace udpbeat {

// This host's addresses in IPv6 form (IPv4 mapped), sorted and unique, for the workers'
// own-address rule. Empty when they cannot be listed: loopback and the request's
// destination are recognised anyway.
std::vector<std::array<uint8_t, 16>> HostAddresses();

}  // namespace udpbeat

#endif  // UDPBEAT_NET_HOST_ADDRESSES_H_
