// MakeSendTwin on loopback: the twin shares the connected socket's address and port and
// carries its send settings as they were set, not as the kernel reports them.
#include "udpbeat/net/send_twin.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "udpbeat/net/udp_socket.h"

namespace udpbeat {
namespace {

int IntOption(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

TEST(SendTwinTest, SameAddressSameSendSettings) {
  auto server = BindUdp(*SocketAddress::ParseNumeric("127.0.0.1:0"), {});
  ASSERT_TRUE(server.ok());
  UdpSocketOptions so;
  so.send_buffer = 96 * 1024;
  so.tos = 0x28;
  auto client = ConnectUdp(*LocalAddress(server->get()), so);
  ASSERT_TRUE(client.ok());
  auto twin = MakeSendTwin(client->get());
  ASSERT_TRUE(twin.ok()) << twin.status();
  EXPECT_EQ(LocalAddress(twin->fd.get())->ToString(), LocalAddress(client->get())->ToString());
  EXPECT_EQ(twin->peer.ToString(), LocalAddress(server->get())->ToString());
  // Both read back what the kernel made of the same request (SO_SNDBUF doubles it).
  EXPECT_EQ(IntOption(twin->fd.get(), SOL_SOCKET, SO_SNDBUF),
            IntOption(client->get(), SOL_SOCKET, SO_SNDBUF));
  EXPECT_EQ(IntOption(twin->fd.get(), IPPROTO_IP, IP_TOS), 0x28);
}

TEST(SendTwinTest, AnUnconnectedSocketHasNone) {
  auto fd = BindUdp(*SocketAddress::ParseNumeric("127.0.0.1:0"), {});
  ASSERT_TRUE(fd.ok());
  EXPECT_FALSE(MakeSendTwin(fd->get()).ok());
}

}  // namespace
}  // namespace udpbeat
