#include "udpbeat/uring/event_loop.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <optional>
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
    tos.push_back(d.tos);
    if (d.from != nullptr) last_from = *d.from;
    if (d.to != nullptr) last_to = *d.to;
  }
  void OnReceiveError(SocketId, int error) noexcept override { errors.push_back(error); }
  void OnSendError(SocketId, uint64_t tag, int error) noexcept override {
    send_errors.push_back(error);
    send_error_tags.push_back(tag);
  }
  void OnTransmitTimestamp(SocketId, uint64_t tag, WallTime t) noexcept override {
    tx_tags.push_back(tag);
    tx_times.push_back(t);
  }
  std::vector<int> send_errors;
  std::vector<uint64_t> send_error_tags;
  std::vector<uint64_t> tx_tags;
  std::vector<WallTime> tx_times;
  std::optional<SocketAddress> last_to;
  std::vector<std::string> payloads;
  std::vector<WallTime> stamps;
  std::vector<bool> truncated;
  std::vector<int> ttls;
  std::vector<int> tos;
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

  // A socket connected to `to`, owned by the loop, its receive armed, with the kernel's
  // transmit timestamp on every datagram; nullopt when the kernel gives none (skip).
  std::optional<SocketId> AddStampedSender(Collector* handler, const SocketAddress& to,
                                           const UdpSocketOptions& so = {}) {
    auto fd = ConnectUdp(to, so);
    EXPECT_TRUE(fd.ok());
    auto id = loop_->AddSocket(std::move(*fd), handler);
    EXPECT_TRUE(id.ok());
    if (!id.ok() || !loop_->EnableTransmitTimestamps(*id).ok()) return std::nullopt;
    EXPECT_TRUE(loop_->RunOnce(0).ok());
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
    loop_->Send(sender, {&rx_addr}, {reinterpret_cast<const uint8_t*>(msg.data()), msg.size()});
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

TEST_F(EventLoopTest, TimersWakeTheLoop) {
  std::vector<int> fired;
  Timer late(loop_->timers(), [&] { fired.push_back(2); });
  Timer early(loop_->timers(), [&] { fired.push_back(1); });
  const MonoTime start = SystemClock::Get().Now();
  late.ArmAt(start + 20 * kNanosPerMilli);
  early.ArmAt(start + 5 * kNanosPerMilli);
  // Each turn waits up to a second: only the timers can end it sooner.
  for (int i = 0; i < 10 && fired.size() < 2; ++i) ASSERT_TRUE(loop_->RunOnce(kNanosPerSecond).ok());
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_GE(SystemClock::Get().Now() - start, 20 * kNanosPerMilli);
}

TEST_F(EventLoopTest, RunOnceWithNothingToDoReturnsAtItsDeadline) {
  const uint64_t turns = loop_->counters().turns;
  ASSERT_TRUE(loop_->RunOnce(2 * kNanosPerMilli).ok());
  EXPECT_EQ(loop_->counters().turns, turns + 1);
}

// The one channel for send failures: a datagram the kernel refuses reaches the handler
// once, as OnSendError, and is counted once.
TEST_F(EventLoopTest, ASendTheKernelRefusesIsReportedOnce) {
  Collector rx;
  SocketAddress rx_addr;
  const SocketId s = AddBound(&rx, &rx_addr);
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  const std::vector<uint8_t> huge(70000, 'x');  // beyond UDP's 65,507 bytes: EMSGSIZE
  loop_->Send(s, {&rx_addr}, huge);
  RunUntil([&] { return !rx.send_errors.empty(); });
  ASSERT_EQ(rx.send_errors, std::vector<int>{EMSGSIZE});
  EXPECT_EQ(loop_->counters().send_errors, 1u);
  EXPECT_EQ(loop_->counters().sends_completed, 0u);
}

// The refused datagram is named by its tag, among others that went out: its owner can
// tell which one never left.
TEST_F(EventLoopTest, ARefusedSendComesBackWithItsTag) {
  Collector rx, tx;
  SocketAddress rx_addr, tx_addr;
  AddBound(&rx, &rx_addr);
  const SocketId s = AddBound(&tx, &tx_addr);
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  const std::vector<uint8_t> small(10, 'x');
  const std::vector<uint8_t> huge(70000, 'x');  // EMSGSIZE
  loop_->Send(s, {&rx_addr, nullptr, 0x100000001}, small);
  loop_->Send(s, {&rx_addr, nullptr, 0x100000002}, huge);
  loop_->Send(s, {&rx_addr, nullptr, 0x100000003}, small);
  RunUntil([&] { return !tx.send_errors.empty() && rx.payloads.size() == 2; });
  EXPECT_EQ(tx.send_errors, std::vector<int>{EMSGSIZE});
  EXPECT_EQ(tx.send_error_tags, std::vector<uint64_t>{0x100000002});
  EXPECT_EQ(rx.payloads.size(), 2u);
  EXPECT_EQ(loop_->counters().send_errors, 1u);
  EXPECT_EQ(loop_->counters().sends_completed, 2u);
}

// Sends two datagrams on its own socket when the first datagram arrives, from within the
// loop's completion handling (where the loop cannot reap a send slot free).
class SendsTwoOnReceipt final : public Collector {
 public:
  void OnDatagram(const Datagram& d) noexcept override {
    Collector::OnDatagram(d);
    if (loop == nullptr || fired) return;
    fired = true;
    const uint8_t byte = 'y';
    loop->Send(self, {&to, nullptr, 10}, {&byte, 1});
    loop->Send(self, {&to, nullptr, 11}, {&byte, 1});
    reported_within = send_error_tags;
  }
  EventLoop* loop = nullptr;
  SocketId self = 0;
  SocketAddress to;
  bool fired = false;
  std::vector<uint64_t> reported_within;  // send errors heard before the handler returned
};

// With every send slot taken, a datagram cannot be queued: it is reported from within
// the call, with its tag, and never sent.
TEST_F(EventLoopTest, ASendWithNoFreeSlotIsReportedAtOnceWithItsTag) {
  LoopOptions opts;
  opts.handle_signals = false;
  opts.max_pending_sends = 1;
  auto loop = EventLoop::Create(opts, SystemClock::Get());
  ASSERT_TRUE(loop.ok());
  SendsTwoOnReceipt node;
  Collector sink;
  auto nfd = BindUdp(*SocketAddress::ParseNumeric("127.0.0.1:0"), {});
  auto sfd = BindUdp(*SocketAddress::ParseNumeric("127.0.0.1:0"), {});
  ASSERT_TRUE(nfd.ok() && sfd.ok());
  const SocketAddress node_addr = *LocalAddress(nfd->get());
  node.to = *LocalAddress(sfd->get());
  auto id = (*loop)->AddSocket(std::move(*nfd), &node);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE((*loop)->AddSocket(std::move(*sfd), &sink).ok());
  node.loop = loop->get();
  node.self = *id;
  ASSERT_TRUE((*loop)->RunOnce(0).ok());
  const int out = ::socket(AF_INET, SOCK_DGRAM, 0);
  ::sendto(out, "x", 1, 0, node_addr.data(), node_addr.size());
  ::close(out);
  for (int i = 0; i < 200 && sink.payloads.empty(); ++i)
    ASSERT_TRUE((*loop)->RunOnce(10 * kNanosPerMilli).ok());
  EXPECT_EQ(node.reported_within, std::vector<uint64_t>{11});
  EXPECT_EQ(node.send_errors, std::vector<int>{ENOBUFS});
  EXPECT_EQ(sink.payloads, std::vector<std::string>{"y"});  // tag 10's
  EXPECT_EQ((*loop)->counters().send_errors, 1u);
}

TEST_F(EventLoopTest, ARemovedSocketHearsNothingMoreAndItsDescriptorCloses) {
  Collector rx;
  SocketAddress rx_addr;
  const SocketId s = AddBound(&rx, &rx_addr);
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  const int fd = loop_->fd(s);
  loop_->RemoveSocket(s);
  const int out = ::socket(AF_INET, SOCK_DGRAM, 0);
  ::sendto(out, "x", 1, 0, rx_addr.data(), rx_addr.size());
  ::close(out);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(loop_->RunOnce(kNanosPerMilli).ok());
  EXPECT_TRUE(rx.payloads.empty());
  // The descriptor was closed once the kernel let go of the cancelled receive.
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  // Its id is given to the next socket, whose datagrams reach the new handler only.
  Collector next;
  SocketAddress next_addr;
  EXPECT_EQ(AddBound(&next, &next_addr), s);
}

TEST_F(EventLoopTest, TransmitTimestampsComeBackWithTheirTags) {
  Collector rx, tx;
  SocketAddress rx_addr;
  AddBound(&rx, &rx_addr);
  const std::optional<SocketId> id = AddStampedSender(&tx, rx_addr);
  if (!id) GTEST_SKIP() << "no transmit timestamps here";
  const WallTime before = SystemClock::Get().NowWall();
  for (uint64_t tag : {7, 8, 9}) loop_->Send(*id, {nullptr, nullptr, tag}, {reinterpret_cast<const uint8_t*>("t"), 1});
  RunUntil([&] { return tx.tx_tags.size() == 3; });
  ASSERT_EQ(tx.tx_tags, (std::vector<uint64_t>{7, 8, 9}));
  const WallTime after = SystemClock::Get().NowWall();
  for (WallTime t : tx.tx_times) {
    EXPECT_GE(t, before);
    EXPECT_LE(t, after);
  }
}

// More stamped sends queued in one turn than the loop lets wait unread: each still gets
// its stamp (the drain that bounds the error queue must not count sends not yet made).
TEST_F(EventLoopTest, ABurstOfStampedSendsGetsEveryStamp) {
  Collector rx, tx;
  SocketAddress rx_addr;
  AddBound(&rx, &rx_addr);
  const std::optional<SocketId> id = AddStampedSender(&tx, rx_addr);
  if (!id) GTEST_SKIP() << "no transmit timestamps here";
  constexpr uint64_t kSends = 50;
  for (uint64_t tag = 1; tag <= kSends; ++tag)
    loop_->Send(*id, {nullptr, nullptr, tag}, {reinterpret_cast<const uint8_t*>("t"), 1});
  RunUntil([&] { return tx.tx_tags.size() == kSends; });
  ASSERT_EQ(tx.tx_tags.size(), kSends);
  for (uint64_t i = 0; i < kSends; ++i) EXPECT_EQ(tx.tx_tags[i], i + 1);
}

// A socket's window of send tags starts small and grows while more stamps are
// outstanding than it holds: a thousand stamped sends queued at once all get theirs, each
// with its own tag.
TEST_F(EventLoopTest, TheStampWindowGrowsForALongBurst) {
  LoopOptions opts;
  opts.handle_signals = false;
  opts.max_pending_sends = 2048;
  opts.sq_entries = 2048;
  auto loop = EventLoop::Create(opts, SystemClock::Get());
  ASSERT_TRUE(loop.ok());
  loop_ = std::move(*loop);
  Collector rx, tx;
  SocketAddress rx_addr;
  AddBound(&rx, &rx_addr);
  // The error queue is charged to the receive buffer: the default holds about 250 stamps.
  UdpSocketOptions big;
  big.send_buffer = 4 << 20;
  big.receive_buffer = 4 << 20;
  const std::optional<SocketId> id = AddStampedSender(&tx, rx_addr, big);
  if (!id) GTEST_SKIP() << "no transmit timestamps here";
  // As many as the buffer holds (SO_RCVBUFFORCE needs CAP_NET_ADMIN), at most 1000: far
  // more than the window's first size either way.
  int rcvbuf = 0;
  socklen_t len = sizeof rcvbuf;
  ASSERT_EQ(::getsockopt(loop_->fd(*id), SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len), 0);
  const uint64_t kSends = std::clamp<uint64_t>(static_cast<uint64_t>(rcvbuf) / 1200, 150, 1000);
  for (uint64_t tag = 1; tag <= kSends; ++tag)
    loop_->Send(*id, {nullptr, nullptr, tag * 7}, {reinterpret_cast<const uint8_t*>("t"), 1});
  RunUntil([&] { return tx.tx_tags.size() + tx.send_errors.size() >= kSends; });
  ASSERT_TRUE(tx.send_errors.empty()) << tx.send_errors.size() << " sends failed";
  ASSERT_EQ(tx.tx_tags.size(), kSends);
  for (uint64_t i = 0; i < kSends; ++i) ASSERT_EQ(tx.tx_tags[i], (i + 1) * 7) << i;
}

// A connected socket that sends from a send-only twin: its datagrams leave from its own
// address and port, their stamps come back with their tags, every reply reaches the
// connected socket (never the twin), a stranger's datagram reaches neither.
TEST_F(EventLoopTest, ASendOnlyTwinSendsAndTheConnectedSocketGetsEveryReply) {
  Collector server;
  SocketAddress server_addr;
  const SocketId sid = AddBound(&server, &server_addr);
  auto fd = ConnectUdp(server_addr, {});
  ASSERT_TRUE(fd.ok());
  const SocketAddress client_addr = *LocalAddress(fd->get());
  Collector client;
  auto cid = loop_->AddSocket(std::move(*fd), &client);
  ASSERT_TRUE(cid.ok());
  if (absl::Status st = loop_->EnableTransmitTimestamps(*cid, TransmitTimestamps::kEveryDatagram,
                                                        TransmitSocket::kSendOnlyTwin);
      !st.ok())
    GTEST_SKIP() << "no transmit timestamps here: " << st;
  ASSERT_TRUE(loop_->SendsFromTwin(*cid));
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  constexpr uint64_t kProbes = 50;
  for (uint64_t tag = 1; tag <= kProbes; ++tag)
    loop_->Send(*cid, {nullptr, nullptr, tag}, {reinterpret_cast<const uint8_t*>("ping"), 4});
  RunUntil([&] { return server.payloads.size() == kProbes && client.tx_tags.size() == kProbes; });
  ASSERT_EQ(server.payloads.size(), kProbes);
  EXPECT_EQ(server.last_from.ToString(), client_addr.ToString());  // the twin's source: ours
  ASSERT_EQ(client.tx_tags.size(), kProbes);
  for (uint64_t i = 0; i < kProbes; ++i) EXPECT_EQ(client.tx_tags[i], i + 1);
  for (uint64_t i = 0; i < kProbes; ++i)
    loop_->Send(sid, {&client_addr}, {reinterpret_cast<const uint8_t*>("pong"), 4});
  RunUntil([&] { return client.payloads.size() == kProbes; });
  EXPECT_EQ(client.payloads.size(), kProbes);
  // A stranger (another port) is neither delivered to the connected socket nor queued
  // anywhere: the connected socket filters it and the twin's filter accepts nothing.
  const int stranger = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(stranger, 0);
  ::sendto(stranger, "x", 1, 0, client_addr.data(), client_addr.size());
  ::close(stranger);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(loop_->RunOnce(kNanosPerMilli).ok());
  EXPECT_EQ(client.payloads.size(), kProbes);
  EXPECT_TRUE(client.errors.empty());
  EXPECT_TRUE(client.send_errors.empty());
}

// A socket bound to 0.0.0.0 answers a request sent to 127.1.2.3 from 127.1.2.3: the
// client's connected socket would drop a reply from any other address.
TEST_F(EventLoopTest, AReplyLeavesFromTheAddressTheRequestWasSentTo) {
  Collector server;
  UdpSocketOptions so;
  so.receive_destination = true;
  auto sfd = BindUdp(*SocketAddress::ParseNumeric("0.0.0.0:0"), so);
  ASSERT_TRUE(sfd.ok());
  const uint16_t port = LocalAddress(sfd->get())->port();
  auto sid = loop_->AddSocket(std::move(*sfd), &server);
  ASSERT_TRUE(sid.ok());
  const SocketAddress vip = *SocketAddress::ParseNumeric("127.1.2.3", port);
  auto cfd = ConnectUdp(vip, {});
  ASSERT_TRUE(cfd.ok());
  Collector client;
  auto cid = loop_->AddSocket(std::move(*cfd), &client);
  ASSERT_TRUE(cid.ok());
  ASSERT_TRUE(loop_->RunOnce(0).ok());
  loop_->Send(*cid, {}, {reinterpret_cast<const uint8_t*>("ping"), 4});
  RunUntil([&] { return !server.payloads.empty(); });
  ASSERT_EQ(server.payloads.size(), 1u);
  ASSERT_TRUE(server.last_to.has_value());
  EXPECT_EQ(server.last_to->ToString(), vip.ToString());
  loop_->Send(*sid, {&server.last_from, &*server.last_to}, {reinterpret_cast<const uint8_t*>("pong"), 4});
  RunUntil([&] { return !client.payloads.empty(); });
  EXPECT_EQ(client.payloads, std::vector<std::string>{"pong"});
}

// ICMP port unreachable comes back as ECONNREFUSED on the connected socket, also when a
// send-only twin sent the datagram: the kernel finds the socket an ICMP error belongs to
// by its four-tuple, which is the connected socket's.
TEST_F(EventLoopTest, PortUnreachableIsReportedOnAConnectedSocket) {
  for (const bool twin : {false, true}) {
    SCOPED_TRACE(twin ? "sent from a twin" : "sent from the socket");
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
    if (twin) {
      if (!loop_->EnableTransmitTimestamps(*id, TransmitTimestamps::kEveryDatagram,
                                           TransmitSocket::kSendOnlyTwin)
               .ok())
        GTEST_SKIP() << "no transmit timestamps here";
      ASSERT_TRUE(loop_->SendsFromTwin(*id));
    }
    ASSERT_TRUE(loop_->RunOnce(0).ok());
    loop_->Send(*id, {}, {reinterpret_cast<const uint8_t*>("x"), 1});
    RunUntil([&] { return !c.errors.empty(); });
    ASSERT_FALSE(c.errors.empty());
    EXPECT_EQ(c.errors.front(), ECONNREFUSED);
    loop_->RemoveSocket(*id);
  }
}

// SendSpec::tos marks one datagram, whichever path the kernel takes: an IPv4 socket; an
// IPv6 socket to an IPv6 peer, to a v4-mapped address (the IPv4 path, which reads IP_TOS
// only), and to its connected peer (no destination given: both messages). The next
// datagram without it goes out with the socket's own TOS, 0.
TEST_F(EventLoopTest, APerDatagramTosMarksThatDatagramOnly) {
  struct Case {
    const char* server;  // where the receiver is bound
    const char* sender;  // where the sender is bound, or nullptr: connected to the receiver
  };
  for (const Case& c : {Case{"127.0.0.1:0", nullptr}, Case{"127.0.0.1:0", "127.0.0.1:0"},
                        Case{"[::1]:0", nullptr}, Case{"[::1]:0", "[::]:0"},
                        Case{"127.0.0.1:0", "[::]:0"}}) {
    SCOPED_TRACE(std::string(c.server) + " from " + (c.sender ? c.sender : "connected"));
    auto rfd = BindUdp(*SocketAddress::ParseNumeric(c.server), {});
    if (!rfd.ok()) GTEST_SKIP() << "no " << c.server << " here: " << rfd.status();
    const SocketAddress raddr = *LocalAddress(rfd->get());
    Collector rx, tx;
    auto rid = loop_->AddSocket(std::move(*rfd), &rx);
    ASSERT_TRUE(rid.ok());
    SocketAddress to = raddr;
    absl::StatusOr<UniqueFd> sfd = c.sender == nullptr
                                       ? ConnectUdp(raddr, {})
                                       : BindUdp(*SocketAddress::ParseNumeric(c.sender), {});
    if (!sfd.ok()) GTEST_SKIP() << "no " << c.sender << " here: " << sfd.status();
    if (c.sender != nullptr && raddr.family() == AF_INET &&
        LocalAddress(sfd->get())->family() == AF_INET6)
      to = *SocketAddress::ParseNumeric("[::ffff:127.0.0.1]:" + std::to_string(raddr.port()));
    auto sid = loop_->AddSocket(std::move(*sfd), &tx);
    ASSERT_TRUE(sid.ok());
    ASSERT_TRUE(loop_->RunOnce(0).ok());
    SendSpec marked;
    marked.to = c.sender == nullptr ? nullptr : &to;
    marked.tos = 0xb8;
    SendSpec plain = marked;
    plain.tos = -1;
    const uint8_t byte = 'x';
    loop_->Send(*sid, marked, {&byte, 1});
    loop_->Send(*sid, plain, {&byte, 1});
    RunUntil([&] { return rx.tos.size() == 2; });
    EXPECT_EQ(rx.tos, (std::vector<int>{0xb8, 0}));
    EXPECT_TRUE(tx.send_errors.empty());
    loop_->RemoveSocket(*sid);
    loop_->RemoveSocket(*rid);
  }
}

}  // namespace
}  // namespace udpbeat::uring
