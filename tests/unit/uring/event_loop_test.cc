#include "udpbeat/uring/event_loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "udpbeat/net/udp_socket.h"

namespace udpbeat::uring {
namespace {

class Collector : public DatagramHandler {
 public:
  void OnDatagram(const Datagram& d) noexcept override {
    payloads.emplace_back(reinterpret_cast<const char*>(d.payload.data()), d.payload.size());
    stamps.push_back(d.rx_wall);
    truncated.push_back(d.truncated);
    ttls.push_back(d.ttl);
    if (d.from != nullptr) last_from = *d.from;
  }
  void OnReceiveError(SocketId, int error) noexcept override { errors.push_back(error); }
  std::vector<std::string> payloads;
  std::vector<WallTime> stamps;
  std::vector<bool> truncated;
  std::vector<int> ttls;
  std::vector<int> errors;
  SocketAddress last_from;
};

class EventLoopTest : public testing::Test {
 protected:
  void SetUp() override {
    LoopOptions opts;
    opts.handle_signals = false;
    opts.max_datagram = 1024;
    opts.receive_buffers = 64;
    auto loop = EventLoop::Create(opts, SystemClock::Get());
    if (!loop.ok()) GTEST_SKIP() << "io_uring unavailable: " << loop.status();
    loop_ = std::move(*loop);
  }

  // A bound loopback socket owned by the loop; returns its id and address.
  SocketId AddBound(Collector* handler, SocketAddress* addr) {
    auto fd = BindUdp(*SocketAddress::ParseNumeric("127.0.0.1:0"), {});
    EXPECT_TRUE(fd.ok());
    *addr = *LocalAddress(fd->get());
    auto id = loop_->AddSocket(std::move(*fd), handler);
    EXPECT_TRUE(id.ok());
    return *id;
  }

  void RunUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) ASSERT_TRUE(loop_->RunOnce(10 * kNanosPerMilli).ok());
  }

  std::unique_ptr<EventLoop> loop_;
};

TEST_F(EventLoopTest, QueuedSendsGoOutInOneSubmit) {
  Collector rx, tx;
  SocketAddress rx_addr, tx_addr;
  AddBound(&rx, &rx_addr);
  const SocketId sender = AddBound(&tx, &tx_addr);
  ASSERT_TRUE(loop_->RunOnce(0).ok());  // arms the receives
  constexpr int kSends = 100;
  const LoopCounters before = loop_->counters();
  for (int i = 0; i < kSends; ++i) {
    const std::string msg = "datagram " + std::to_string(i);
    ASSERT_TRUE(loop_->Send(sender, &rx_addr,
                            {reinterpret_cast<const uint8_t*>(msg.data()), msg.size()}));
  }
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  const LoopCounters after = loop_->counters();
  EXPECT_EQ(after.submit_calls - before.submit_calls, 1u);
  EXPECT_EQ(after.sqes_submitted - before.sqes_submitted, static_cast<uint64_t>(kSends));
  RunUntil([&] { return rx.payloads.size() == kSends; });
  ASSERT_EQ(rx.payloads.size(), static_cast<size_t>(kSends));
  EXPECT_EQ(rx.payloads.front(), "datagram 0");
  EXPECT_EQ(rx.payloads.back(), "datagram 99");
}

TEST_F(EventLoopTest, OneMultishotReceiveServesManyDatagramsWithKernelTimestamps) {
  Collector rx;
  SocketAddress rx_addr;
  AddBound(&rx, &rx_addr);
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  const uint64_t arms = loop_->counters().recv_arms;
  // A plain blocking socket outside the loop sends the datagrams.
  const int out = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(out, 0);
  constexpr int kCount = 40;  // fewer than the 64 buffers: no re-arm is needed
  const WallTime before = SystemClock::Get().NowWall();
  for (int i = 0; i < kCount; ++i) {
    const std::string msg = "m" + std::to_string(i);
    ASSERT_EQ(::sendto(out, msg.data(), msg.size(), 0, rx_addr.data(), rx_addr.size()),
              static_cast<ssize_t>(msg.size()));
  }
  RunUntil([&] { return rx.payloads.size() == kCount; });
  ::close(out);
  ASSERT_EQ(rx.payloads.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(loop_->counters().recv_arms, arms) << "multishot receive was re-armed";
  const WallTime after = SystemClock::Get().NowWall();
  for (WallTime t : rx.stamps) {
    EXPECT_GE(t, before);
    EXPECT_LE(t, after);
  }
  EXPECT_EQ(rx.ttls.front(), 64);
  EXPECT_EQ(rx.last_from.HostString(), "127.0.0.1");
}

TEST_F(EventLoopTest, OversizeDatagramIsMarkedTruncated) {
  Collector rx;
  SocketAddress rx_addr;
  AddBound(&rx, &rx_addr);
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  const int out = ::socket(AF_INET, SOCK_DGRAM, 0);
  const std::string big(4000, 'x');
  ::sendto(out, big.data(), big.size(), 0, rx_addr.data(), rx_addr.size());
  ::sendto(out, "", 0, 0, rx_addr.data(), rx_addr.size());
  ::close(out);
  RunUntil([&] { return rx.payloads.size() == 2; });
  ASSERT_EQ(rx.payloads.size(), 2u);
  EXPECT_TRUE(rx.truncated[0]);
  EXPECT_GE(rx.payloads[0].size(), 1024u);  // the buffer holds at least max_datagram
  EXPECT_LT(rx.payloads[0].size(), 4000u);
  EXPECT_FALSE(rx.truncated[1]);
  EXPECT_EQ(rx.payloads[1], "");
}

TEST_F(EventLoopTest, RunningOutOfBuffersLosesNothing) {
  Collector rx;
  SocketAddress rx_addr;
  AddBound(&rx, &rx_addr);
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  const int out = ::socket(AF_INET, SOCK_DGRAM, 0);
  // Three times the 64 buffers, but few enough for the socket's default receive buffer:
  // whatever the kernel does when the ring runs dry (-ENOBUFS and a re-arm, or a pause
  // in its multishot retries), the surplus waits in the socket and nothing is lost.
  constexpr int kCount = 192;
  for (int i = 0; i < kCount; ++i)
    ::sendto(out, "x", 1, 0, rx_addr.data(), rx_addr.size());
  ::close(out);
  RunUntil([&] { return rx.payloads.size() == kCount; });
  EXPECT_EQ(rx.payloads.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(loop_->counters().kernel_drops, 0u);
}

class CountingTimer : public TimerHandler {
 public:
  void OnTimer(uint64_t cookie) noexcept override { cookies.push_back(cookie); }
  std::vector<uint64_t> cookies;
};

TEST_F(EventLoopTest, TimersWakeTheLoop) {
  CountingTimer t;
  const MonoTime start = SystemClock::Get().Now();
  loop_->ScheduleAt(start + 20 * kNanosPerMilli, &t, 2);
  loop_->ScheduleAt(start + 5 * kNanosPerMilli, &t, 1);
  while (t.cookies.size() < 2) ASSERT_TRUE(loop_->RunOnce(kNanosPerSecond).ok());
  EXPECT_EQ(t.cookies, (std::vector<uint64_t>{1, 2}));
  EXPECT_GE(SystemClock::Get().Now() - start, 20 * kNanosPerMilli);
  EXPECT_LT(SystemClock::Get().Now() - start, kNanosPerSecond);  // woke by the timer, not idle
}

TEST_F(EventLoopTest, PortUnreachableIsReportedOnAConnectedSocket) {
  // Find a free port, then close it so nothing listens there.
  SocketAddress dead;
  {
    auto fd = BindUdp(*SocketAddress::ParseNumeric("127.0.0.1:0"), {});
    ASSERT_TRUE(fd.ok());
    dead = *LocalAddress(fd->get());
  }
  auto fd = ConnectUdp(dead, {});
  ASSERT_TRUE(fd.ok());
  Collector c;
  auto id = loop_->AddSocket(std::move(*fd), &c);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  loop_->Send(*id, nullptr, {reinterpret_cast<const uint8_t*>("x"), 1});
  RunUntil([&] { return !c.errors.empty(); });
  ASSERT_FALSE(c.errors.empty());
  EXPECT_EQ(c.errors.front(), ECONNREFUSED);
}

}  // namespace
}  // namespace udpbeat::uring
