#include "udpbeat/engine/serve_worker.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
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

}  // namespace
}  // namespace udpbeat::engine
