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

// The directed broadcast addresses of the host's IPv4 prefixes (each address with its
// host part all ones: 127.255.255.255 for 127.0.0.1/8), in the same form, sorted and
// unique; none for a /31 or /32, which have no broadcast address (RFC 3021). Empty when
// the interfaces cannot be listed.
std::vector<std::array<uint8_t, 16>> HostBroadcastAddresses();

}  // namespace udpbeat

#endif  // UDPBEAT_NET_HOST_ADDRESSES_H_
