// The host's own addresses (the server's "never answer yourself" rule) and its IPv4
// broadcast addresses (requests to them are refused), read from the interfaces: every
// host has 127.0.0.1/8 on lo.
#include "udpbeat/net/host_addresses.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace udpbeat {
namespace {

std::array<uint8_t, 16> Mapped(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

TEST(HostAddressesTest, LoopbackInIpv6FormSortedOnce) {
  const auto all = HostAddresses();
  EXPECT_TRUE(std::binary_search(all.begin(), all.end(), Mapped(127, 0, 0, 1)));
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
}

TEST(HostAddressesTest, BroadcastOfLoopbackPrefix) {
  const auto all = HostBroadcastAddresses();
  EXPECT_TRUE(std::binary_search(all.begin(), all.end(), Mapped(127, 255, 255, 255)));
  // Not an address of the host, not an IPv6 one.
  EXPECT_FALSE(std::binary_search(all.begin(), all.end(), Mapped(127, 0, 0, 1)));
  for (const auto& a : all) EXPECT_EQ(a[10], 0xff);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

}  // namespace
}  // namespace udpbeat
