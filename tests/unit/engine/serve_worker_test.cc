#include "udpbeat/engine/serve_worker.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "udpbeat/net/udp_socket.h"

namespace udpbeat::engine {
namespace {

// A serve worker on its own loop and a loopback socket whose receive buffer holds only
// a few datagrams.
class ServeWorkerDropsTest : public testing::Test {
 protected:
  void SetUp() override {
    uring::LoopOptions lo;
    lo.handle_signals = false;
    lo.receive_buffers = 64;
    auto loop = uring::EventLoop::Create(lo, SystemClock::Get());
    if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
    loop_ = std::move(*loop);
    UdpSocketOptions so;
    so.receive_buffer = 4096;  // the kernel's minimum, about 4 datagrams of 1000 octets
    auto fd = BindUdp(*SocketAddress::ParseNumeric("127.0.0.1:0"), so);
    ASSERT_TRUE(fd.ok()) << fd.status();
    addr_ = *LocalAddress(fd->get());
    worker_ = std::make_unique<ServeWorker>(cfg_, *loop_, 0, addr_);
    auto id = loop_->AddSocket(std::move(*fd), worker_.get());
    ASSERT_TRUE(id.ok()) << id.status();
    socket_ = *id;
    worker_->WatchSocket(socket_);
  }

  // `n` datagrams of 1000 octets to the worker's socket, none read yet (no loop turn).
  void Flood(int n) {
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    const std::vector<uint8_t> garbage(1000, 0xff);  // malformed: never answered
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(::sendto(s, garbage.data(), garbage.size(), 0, addr_.data(), addr_.size()),
                static_cast<ssize_t>(garbage.size()));
    ::close(s);
  }

  ServeWorkerConfig cfg_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<ServeWorker> worker_;
  SocketAddress addr_;
  SocketId socket_ = 0;
};

// The kernel's SO_RXQ_OVFL count comes only with a datagram queued after the drops; a
// burst the buffer cannot hold, then silence, brings none. RefreshKernelDrops reads the
// count from the socket: no datagram, no loop turn needed.
TEST_F(ServeWorkerDropsTest, RefreshCountsDropsNoDatagramToldOf) {
  constexpr int kSent = 64;
  Flood(kSent);
  const uint64_t kernel = loop_->SocketDrops(socket_);
  ASSERT_GT(kernel, 0u) << "the buffer held all " << kSent;
  EXPECT_EQ(worker_->Snapshot().kernel_drops, 0u);
  worker_->RefreshKernelDrops();
  EXPECT_EQ(worker_->Snapshot().kernel_drops, kernel);

  // What was queued is read, and carries the count from before the drops: the published
  // value never goes back. Every datagram sent is received or dropped.
  for (int i = 0; i < 200 && worker_->Snapshot().received + kernel < kSent; ++i)
    ASSERT_TRUE(loop_->RunOnce(10 * kNanosPerMilli).ok());
  const measure::ServeCounters c = worker_->Snapshot();
  EXPECT_EQ(c.kernel_drops, kernel);
  EXPECT_EQ(c.received + c.kernel_drops, uint64_t{kSent});
  EXPECT_EQ(c.malformed, c.received);
  worker_->RefreshKernelDrops();
  EXPECT_EQ(worker_->Snapshot().kernel_drops, kernel);
}

TEST_F(ServeWorkerDropsTest, NothingDroppedNothingCounted) {
  Flood(2);
  worker_->RefreshKernelDrops();
  EXPECT_EQ(worker_->Snapshot().kernel_drops, 0u);
}

// A request sent to a broadcast or multicast address is refused, never answered: the
// limited broadcast, a listed directed broadcast, IPv4 and IPv6 multicast, in both forms
// a [::] socket may report an IPv4 destination in. A unicast one is answered.
TEST_F(ServeWorkerDropsTest, BroadcastAndMulticastDestinationsRefused) {
  cfg_.reply = ReplyMode::kEcho;
  cfg_.broadcast_addresses = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 255, 255, 255}};
  // Never the server's own port, which rule (1) would refuse for another reason.
  const SocketAddress from =
      *SocketAddress::ParseNumeric("127.0.0.1", static_cast<uint16_t>(addr_.port() ^ 1));
  const std::vector<uint8_t> request = {'h', 'i'};
  Datagram d;
  d.socket = socket_;
  d.from = &from;
  d.payload = request;
  for (const char* to : {"255.255.255.255", "127.255.255.255", "224.0.0.1", "239.1.2.3",
                         "[ff02::1]", "[::ffff:255.255.255.255]", "[::ffff:127.255.255.255]",
                         "[::ffff:224.0.0.251]"}) {
    SCOPED_TRACE(to);
    const SocketAddress dst = *SocketAddress::ParseNumeric(to, addr_.port());
    d.to = &dst;
    const measure::ServeCounters before = worker_->Snapshot();
    worker_->OnDatagram(d);
    EXPECT_EQ(worker_->Snapshot().refused, before.refused + 1);
    EXPECT_EQ(worker_->Snapshot().replied, 0u);
  }
  for (const char* to : {"127.0.0.1", "127.255.255.254", "223.255.255.255", "[::1]"}) {
    SCOPED_TRACE(to);
    const SocketAddress dst = *SocketAddress::ParseNumeric(to, addr_.port());
    d.to = &dst;
    const uint64_t replied = worker_->Snapshot().replied;
    worker_->OnDatagram(d);
    EXPECT_EQ(worker_->Snapshot().replied, replied + 1);
  }
}

// What a client that marks its request sees on the reply: the worker's socket reads the
// request's TOS (as `udpbeat serve` opens it for the lab's echo: no other metadata) and
// the reply carries its DSCP, never its ECN bits.
class ServeWorkerTosTest : public testing::Test {
 protected:
  // The TOS the reply to a request marked `tos` arrives with, sent to the worker bound
  // to `bind` at `host`; nullopt when no reply arrived or it carried no TOS.
  std::optional<int> ReplyTos(const char* bind, const char* host, int tos) {
    worker_.reset();  // before the loop its timers are on
    uring::LoopOptions lo;
    lo.handle_signals = false;
    lo.receive_buffers = 64;
    auto loop = uring::EventLoop::Create(lo, SystemClock::Get());
    if (!loop.ok()) {
      skipped_ = true;
      return std::nullopt;
    }
    loop_ = std::move(*loop);
    UdpSocketOptions so;
    so.receive_metadata = false;
    so.receive_tos = true;
    auto fd = BindUdp(*SocketAddress::ParseNumeric(bind), so);
    if (!fd.ok()) {
      skipped_ = true;  // no IPv6 here
      return std::nullopt;
    }
    const SocketAddress local = *LocalAddress(fd->get());
    cfg_.reply = ReplyMode::kEcho;
    cfg_.reply_from_destination = IsWildcard(local);
    worker_ = std::make_unique<ServeWorker>(cfg_, *loop_, 0, local);
    EXPECT_TRUE(loop_->AddSocket(std::move(*fd), worker_.get()).ok());

    const SocketAddress to = *SocketAddress::ParseNumeric(host, local.port());
    const bool v4 = to.family() == AF_INET;
    const int c = ::socket(to.family(), SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    EXPECT_GE(c, 0);
    const int on = 1;
    const int level = v4 ? IPPROTO_IP : IPPROTO_IPV6;
    EXPECT_EQ(::setsockopt(c, level, v4 ? IP_TOS : IPV6_TCLASS, &tos, sizeof tos), 0);
    EXPECT_EQ(::setsockopt(c, level, v4 ? IP_RECVTOS : IPV6_RECVTCLASS, &on, sizeof on), 0);
    constexpr std::string_view kRequest = "ping 1 tos";  // echoed uppercased
    EXPECT_EQ(::sendto(c, kRequest.data(), kRequest.size(), 0, to.data(), to.size()),
              static_cast<ssize_t>(kRequest.size()));
    std::optional<int> seen;
    bool replied = false;
    // Bounded: 500 turns of at most 10 ms, a hang's bound, not a timing assert.
    for (int i = 0; i < 500 && !replied; ++i) {
      EXPECT_TRUE(loop_->RunOnce(10 * kNanosPerMilli).ok());
      char data[64];
      alignas(cmsghdr) char control[128];
      iovec iov{data, sizeof data};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      if (::recvmsg(c, &msg, MSG_DONTWAIT) < 0) continue;
      replied = true;
      for (cmsghdr* m = CMSG_FIRSTHDR(&msg); m != nullptr; m = CMSG_NXTHDR(&msg, m)) {
        if (m->cmsg_level == IPPROTO_IP && m->cmsg_type == IP_TOS) {
          seen = *CMSG_DATA(m);
        } else if (m->cmsg_level == IPPROTO_IPV6 && m->cmsg_type == IPV6_TCLASS) {
          int v;
          std::memcpy(&v, CMSG_DATA(m), sizeof v);
          seen = v;
        }
      }
    }
    ::close(c);
    EXPECT_TRUE(replied) << "no reply from " << bind;
    EXPECT_EQ(worker_->Snapshot().replied, 1u);
    return seen;
  }

  bool skipped_ = false;
  ServeWorkerConfig cfg_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<ServeWorker> worker_;
};

// The request's DSCP comes back, its ECN bits (CE 0b11, ECT(0) 0b10) do not; an
// unmarked request, or one marked ECN only, gets an unmarked reply. IPv4, delayed, IPv6,
// and both families on a dual-stack [::] socket, where an IPv4 request comes with
// IP_TOS, not IPV6_TCLASS, and its reply (to a v4-mapped address) takes the IPv4 path,
// which reads IP_TOS only.
TEST_F(ServeWorkerTosTest, ReplyKeepsTheRequestsDscpNotItsEcn) {
  struct Case {
    const char* bind;
    const char* host;
    int request;
    int reply;
    Nanos delay;
  };
  // IPv4 first: a host without IPv6 skips only what follows.
  for (const Case& c : {Case{"127.0.0.1:0", "127.0.0.1", 0x28, 0x28, 0},
                        Case{"127.0.0.1:0", "127.0.0.1", 0, 0, 0},
                        Case{"127.0.0.1:0", "127.0.0.1", 0xbb, 0xb8, 0},
                        Case{"127.0.0.1:0", "127.0.0.1", 0x02, 0, 0},
                        Case{"127.0.0.1:0", "127.0.0.1", 0x28, 0x28, kNanosPerMilli},
                        Case{"127.0.0.1:0", "127.0.0.1", 0x03, 0, kNanosPerMilli},
                        Case{"[::1]:0", "::1", 0xba, 0xb8, 0},
                        Case{"[::1]:0", "::1", 0, 0, 0},
                        Case{"[::]:0", "127.0.0.1", 0x29, 0x28, 0},
                        Case{"[::]:0", "::1", 0x48, 0x48, 0}}) {
    SCOPED_TRACE(testing::Message() << c.bind << " from " << c.host << " tos " << c.request
                                    << " delay " << c.delay);
    cfg_.delay = c.delay;
    const std::optional<int> tos = ReplyTos(c.bind, c.host, c.request);
    if (skipped_) GTEST_SKIP() << "no io_uring or no " << c.bind << " here";
    EXPECT_EQ(tos, c.reply);
  }
}

}  // namespace
}  // namespace udpbeat::engine
