#include "udpbeat/net/socket_address.h"

#include <gtest/gtest.h>

namespace udpbeat {
namespace {

TEST(SplitHostPort, Forms) {
  auto a = SplitHostPort("example.test:99", 1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "example.test");
  EXPECT_EQ(a->port, 99);
  a = SplitHostPort("127.0.0.1", 12000);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 12000);
  a = SplitHostPort("[::1]:862", 1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 862);
  a = SplitHostPort("::1", 7);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7);
}

TEST(SplitHostPort, Errors) {
  for (const char* bad : {"host:70000", "host:", "host:x", ":5", "[::1", "[::1]x", "",
                          "host:+23000", "host: 1", "host:1 ", "host:-1", "[::1]:+1",
                          "host:0x10", "host:1e3", "host:9999999999999999999999"}) {
    auto a = SplitHostPort(bad, 1);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(SocketAddress, NumericRoundTrip) {
  auto v4 = SocketAddress::ParseNumeric("127.0.0.1:12000");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->ToString(), "127.0.0.1:12000");
  auto v6 = SocketAddress::ParseNumeric("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->ToString(), "[::1]:0");
  EXPECT_FALSE(SocketAddress::ParseNumeric("localhost:1").ok());
  EXPECT_EQ(SocketAddress::ParseNumeric("127.0.0.1", 12000)->ToString(), "127.0.0.1:12000");
  EXPECT_TRUE(*v4 == *SocketAddress::ParseNumeric("127.0.0.1:12000"));
}

TEST(ResolveUdp, LoopbackAndFailure) {
  auto a = ResolveUdp("127.0.0.1:5", 1, AddressFamily::kIpv4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ToString(), "127.0.0.1:5");
  // A name the resolver refuses before asking anyone: a label longer than DNS allows (63
  // octets) cannot be put in a query, so no packet leaves this host. ("nosuch.invalid"
  // was sent to the configured name server, off the host.)
  const std::string name = std::string(64, 'a') + ".invalid";
  auto bad = ResolveUdp(name, 1, AddressFamily::kAny);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("resolve " + name), std::string::npos);
}

}  // namespace
}  // namespace udpbeat
