#include "udpbeat/uring/event_loop.h"

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/net/send_twin.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/uring/buffer_ring.h"
#include "udpbeat/uring/ring.h"
#include "udpbeat/uring/user_data.h"

namespace udpbeat::uring {
namespace {

// Op codes: each selects the completion handler registered for it.
enum Op : uint8_t {
  kRecvOp = 1,      // slot: socket
  kSendOp = 2,      // slot: send slot
  kSignalOp = 4,
  kWakeOp = 5,
  kTimerOp = 6,
  kTimerUpdateOp = 7,
  kCancelOp = 8,
  kNumOps = 9,
};

constexpr uint16_t kBufferGroup = 0;
// Room for a sockaddr_in6, rounded up so the control messages after it stay aligned.
constexpr socklen_t kNameSpace = 32;
// SO_TIMESTAMPNS (32) + SCM_TIMESTAMPING (64) + TTL (24) + TOS (24) + SO_RXQ_OVFL (24)
// + IPV6_PKTINFO (40), or an error-queue entry (SCM_TIMESTAMPING + sock_extended_err
// with its offender address), with headroom.
constexpr size_t kControlSpace = 256;
// Send slots keep their buffer for the next datagram; past kSlotBytesBudget in all, a
// buffer larger than kSmallSlotBytes is released when its send completes.
constexpr size_t kSmallSlotBytes = 4096;
constexpr uint64_t kSlotBytesBudget = uint64_t{16} << 20;
// Bound on the final drain of sends still in flight.
constexpr Nanos kDrainWait = 200 * kNanosPerMilli;
// Transmit timestamps are matched to sends within a window of keys per socket: it starts
// small and doubles while more stamps are outstanding than it holds (stamps read late,
// at a high send rate), up to the largest. A fleet's sockets, each a probe a second,
// keep the smallest: 512 bytes of tags each, not 32 KB (which was 60 % of a 10,000-target
// heartbeat's memory, heaptrack).
constexpr uint32_t kTxWindowMin = 64;
constexpr uint32_t kTxWindowMax = 4096;
// Error-queue entries read with plain recvmsg per drain, at most.
constexpr int kMaxSyncTimestamps = 256;
// Timestamps left unread on a socket before a send drains them: they hold receive-buffer
// memory, and a target that never answers would otherwise fill the buffer with them.
constexpr uint32_t kStampsBeforeDrain = 16;
// Room for a source address (in6_pktinfo is the larger), a TOS for each IP version, a
// per-datagram timestamp request and its OPT_ID key.
constexpr size_t kSendControlSpace = CMSG_SPACE(sizeof(in6_pktinfo)) +
                                     2 * CMSG_SPACE(sizeof(int)) +
                                     CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(uint32_t));
// SCM_TS_OPT_ID (Linux 6.13, asm-generic/socket.h): the OPT_ID key of this one datagram,
// given by the sender. Debian 12's headers predate it.
constexpr int kScmTsOptId = 81;

// Whether the kernel takes a datagram's OPT_ID key from SCM_TS_OPT_ID. Without it the
// key is a per-socket counter the kernel advances for every stamped datagram it accepts,
// and the loop must guess which send took which key from the order of send completions;
// a send that fails after the kernel numbered it shifts every later match by one. Asked
// once per process, with one datagram from a loopback socket to itself.
bool KernelTakesTxKeys() {
  static const bool supported = [] {
    UniqueFd fd(UniqueFd::kAdopt, ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return false;
    sockaddr_in self{};
    self.sin_family = AF_INET;
    self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof self;
    const int flags = SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
                      SOF_TIMESTAMPING_OPT_TSONLY;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&self), sizeof self) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&self), &len) != 0 ||
        ::setsockopt(fd.get(), SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) != 0)
      return false;
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint32_t))] = {};
    uint8_t byte = 0;
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_name = &self;
    msg.msg_namelen = sizeof self;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = kScmTsOptId;
    c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
    // An older kernel refuses the unknown control message with EINVAL.
    return ::sendmsg(fd.get(), &msg, MSG_DONTWAIT) == 1;
  }();
  return supported;
}

// Writes the control message naming a datagram's source address; returns its space.
// (A dual-stack socket's v4-mapped source works too: the kernel's IPv4 path reads
// IPV6_PKTINFO's mapped address.)
size_t PutSourceAddress(cmsghdr* c, int socket_family, const SocketAddress& from) {
  if (socket_family == AF_INET6) {
    in6_pktinfo pi{};
    if (from.family() == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(from.data());
      pi.ipi6_addr = a->sin6_addr;
      pi.ipi6_ifindex = a->sin6_scope_id;
    } else {
      const auto* a = reinterpret_cast<const sockaddr_in*>(from.data());
      pi.ipi6_addr.s6_addr[10] = 0xff;
      pi.ipi6_addr.s6_addr[11] = 0xff;
      std::memcpy(&pi.ipi6_addr.s6_addr[12], &a->sin_addr, 4);
    }
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof pi);
  }
  in_pktinfo pi{};
  pi.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(from.data())->sin_addr;
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof pi);
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  return CMSG_SPACE(sizeof pi);
}

// Writes one control message holding a 32-bit value; returns its space.
template <typename T>
size_t PutValue(cmsghdr* c, int level, int type, T value) {
  static_assert(sizeof(T) == 4);
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(sizeof value);
  std::memcpy(CMSG_DATA(c), &value, sizeof value);
  return CMSG_SPACE(sizeof value);
}

bool IsV4Mapped(const SocketAddress& a) {
  return a.family() == AF_INET6 &&
         IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr);
}

}  // namespace

class EventLoop::Impl {
 public:
  Impl(const LoopOptions& opts, const Clock& clock)
      : opts_(opts),
        clock_(clock),
        recv_handler_(this),
        send_handler_(this),
        signal_handler_(this),
        wake_handler_(this),
        timer_handler_(this) {}
  ~Impl();

  absl::Status Init();
  absl::StatusOr<SocketId> AddSocket(UniqueFd fd, DatagramHandler* handler);
  void RemoveSocket(SocketId s) noexcept;
  absl::Status EnableTransmitTimestamps(SocketId s, TransmitTimestamps which,
                                        TransmitSocket from);
  bool SendsFromTwin(SocketId s) const noexcept {
    return s < sockets_.size() && sockets_[s].twin.valid();
  }
  int fd(SocketId s) const noexcept { return sockets_[s].fd.get(); }
  void SendWith(SocketId s, const SendSpec& spec, size_t max_len,
                absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) noexcept;
  absl::Status Turn(std::optional<MonoTime> deadline);
  absl::Status Run();
  absl::Status Drain();
  absl::Status EnableRemoteStop();
  void StopFromAnotherThread() noexcept;
  uint64_t SocketDrops(SocketId s) const noexcept;

  LoopOptions opts_;
  const Clock& clock_;
  TimerQueue timers_;
  SignalHandler* signal_handler_ptr_ = nullptr;
  PreSubmitHook* pre_submit_ = nullptr;
  LoopCounters counters_;
  bool stop_ = false;
  std::unique_ptr<Ring> ring_;

 private:
  struct Socket {
    UniqueFd fd;
    // The send-only twin (TransmitSocket::kSendOnlyTwin): every send leaves from it, to
    // `peer`, and its error queue holds the transmit stamps. Invalid: `fd` does both.
    UniqueFd twin;
    SocketAddress peer;
    int send_fd() const { return twin.valid() ? twin.get() : fd.get(); }
    DatagramHandler* handler = nullptr;
    SocketAddress local;  // bound address (port for the PKTINFO destination)
    uint16_t generation = 0;
    bool in_use = false;
    bool closing = false;
    bool recv_armed = false;
    bool tx_timestamps = false;
    bool tx_every = false;  // every datagram, not only those that ask
    uint32_t last_drop_count = 0;
    // Transmit timestamps: the OPT_ID key of the next stamped datagram, and the tags of
    // the last tx_tags.size() stamped datagrams by key (a power of two). With keys the
    // kernel takes (SCM_TS_OPT_ID) a key is given at submission; otherwise at the send's
    // completion. Keys below tx_settled_key have had their stamp, or a later one came.
    uint32_t next_tx_key = 0;
    uint32_t tx_settled_key = 0;
    uint32_t stamps_unread = 0;  // stamped sends completed, their stamps not read yet
    bool in_unread_list = false;  // listed in unread_stamps_
    std::vector<uint64_t> tx_tags;
  };
  struct SendSlot {
    msghdr msg{};
    iovec iov{};
    sockaddr_storage name{};
    alignas(cmsghdr) uint8_t control[kSendControlSpace]{};
    std::unique_ptr<uint8_t[]> data;
    size_t capacity = 0;
    uint64_t tag = 0;
    SocketId socket = 0;
    uint16_t socket_generation = 0;
    uint16_t generation = 0;
    bool used_address = false;  // IORING_OP_SEND with a destination address
    bool stamped = false;       // the kernel will timestamp it
    bool keyed = false;         // its OPT_ID key was given with it (SCM_TS_OPT_ID)
    uint32_t keyed_as = 0;
  };
  struct EarlyTimestamp {
    SocketId socket;
    uint16_t generation;
    uint32_t key;
    WallTime sent;
  };

  // The registered completion handlers: thin forwarders to the Impl's methods.
  template <void (Impl::*Method)(const Completion&) noexcept>
  class Forward final : public CompletionHandler {
   public:
    explicit Forward(Impl* impl) : impl_(impl) {}
    void OnCompletion(const Completion& c) noexcept override { (impl_->*Method)(c); }

   private:
    Impl* impl_;
  };

  void Register(Op op, CompletionHandler* h) { handlers_[op] = h; }
  io_uring_sqe* GetSqe() noexcept;
  void Submit(io_uring_sqe* sqe, Op op, uint16_t generation, uint32_t slot) noexcept {
    io_uring_sqe_set_data64(sqe, UserData{op, generation, slot}.Encode());
  }
  void ArmReceive(SocketId s) noexcept;
  void ArmSignalRead() noexcept;
  void ArmWakeRead() noexcept;
  void ArmLoopTimer(MonoTime deadline) noexcept;
  void CancelOp(Op op, uint16_t generation, uint32_t slot) noexcept;
  void MaybeClose(SocketId s) noexcept;
  bool Live(SocketId s, uint16_t generation) const noexcept {
    return s < sockets_.size() && sockets_[s].in_use && !sockets_[s].closing &&
           sockets_[s].generation == generation;
  }

  void OnReceive(const Completion& c) noexcept;
  void OnSend(const Completion& c) noexcept;
  void OnSignalRead(const Completion& c) noexcept;
  void OnWake(const Completion& c) noexcept;
  void OnLoopTimer(const Completion& c) noexcept;
  void DeliverTimestamp(Socket& sock, SocketId s, uint32_t key, WallTime sent) noexcept;
  // Keeps `tag` for the datagram stamped as `key`, growing the socket's window if needed.
  void RecordTxTag(Socket& sock, uint32_t key, uint64_t tag) noexcept;
  void AcceptTimestamp(Socket& sock, SocketId s, uint32_t key, WallTime sent) noexcept;
  void DrainErrorQueue(Socket& sock, SocketId s) noexcept;
  void ReadTransmitTimestamps() noexcept;
  void SendFailed(SocketId s, uint64_t tag, int error) noexcept;

  int Enter(bool wait, const __kernel_timespec* timeout) noexcept;
  void ReapCompletions() noexcept;
  void DrainCq() noexcept;
  void BeforeSubmit() noexcept;

  Forward<&Impl::OnReceive> recv_handler_;
  Forward<&Impl::OnSend> send_handler_;
  Forward<&Impl::OnSignalRead> signal_handler_;
  Forward<&Impl::OnWake> wake_handler_;
  Forward<&Impl::OnLoopTimer> timer_handler_;
  std::array<CompletionHandler*, kNumOps> handlers_{};

  std::unique_ptr<BufferRing> buffers_;  // reset by ~Impl after ring_
  msghdr recv_template_{};
  std::vector<Socket> sockets_;
  std::vector<SocketId> free_sockets_;
  std::vector<SendSlot> send_slots_;
  std::vector<uint32_t> free_send_slots_;
  std::unique_ptr<uint8_t[]> overflow_buffer_;  // `fill` target when no slot is free
  size_t overflow_capacity_ = 0;
  uint64_t slot_bytes_ = 0;  // held by the send slots' buffers
  std::vector<EarlyTimestamp> early_timestamps_;
  std::vector<SocketId> unread_stamps_;  // sockets with stamped sends not read yet
  UniqueFd signal_fd_;
  signalfd_siginfo signal_info_{};
  UniqueFd wake_fd_;
  uint64_t wake_value_ = 0;
  std::atomic<bool> remote_stop_{false};
  MonoTime turn_mono_;
  WallTime turn_wall_;
  unsigned pending_sqes_ = 0;
  bool draining_ = false;
  bool send_with_address_ = true;
  bool kernel_takes_tx_keys_ = false;
  __kernel_timespec timer_ts_{};
  bool timer_armed_ = false;
  MonoTime timer_deadline_;
};

EventLoop::Impl::~Impl() {
  // The ring goes first: its teardown cancels every armed request in one pass, and no
  // request can complete into the receive buffers once it is gone. (A cancel op, even
  // IORING_ASYNC_CANCEL_ALL, finds requests one scan at a time: 10,000 armed receives
  // took 1.1 s of CPU to cancel at exit, 82% of it in io_cancel_req_match.) Then the
  // buffers are unmapped, and the members close the sockets.
  if (buffers_ != nullptr) buffers_->ForgetRegistration();
  ring_.reset();
  buffers_.reset();
}

absl::Status EventLoop::Impl::Init() {
  UDPBEAT_ASSIGN_OR_RETURN(ring_, Ring::Create(RingOptions{opts_.sq_entries, opts_.cq_entries}));
  // Rounded up to a cache line: each buffer starts with an io_uring_recvmsg_out header
  // that must be aligned, and buffers then never share a line.
  const size_t buffer_size =
      (sizeof(io_uring_recvmsg_out) + kNameSpace + kControlSpace + opts_.max_datagram + 63) &
      ~size_t{63};
  UDPBEAT_ASSIGN_OR_RETURN(buffers_, BufferRing::Create(ring_->get(), kBufferGroup,
                                                        opts_.receive_buffers, buffer_size));
  recv_template_.msg_namelen = kNameSpace;
  recv_template_.msg_controllen = kControlSpace;
  Register(kRecvOp, &recv_handler_);
  Register(kSendOp, &send_handler_);
  Register(kSignalOp, &signal_handler_);
  Register(kWakeOp, &wake_handler_);
  Register(kTimerOp, &timer_handler_);

  send_slots_.resize(opts_.max_pending_sends);
  free_send_slots_.reserve(opts_.max_pending_sends);
  for (uint32_t i = opts_.max_pending_sends; i > 0; --i) free_send_slots_.push_back(i - 1);

  if (opts_.handle_signals) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) sigaddset(&mask, sig);
    // Blocked first, so no thread ever takes their default action: the kernel keeps them
    // pending and the signalfd then queues them for the loop.
    if (::pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0)
      return absl::InternalError("pthread_sigmask failed");
    const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) return absl::ErrnoToStatus(errno, "signalfd");
    signal_fd_ = UniqueFd(UniqueFd::kAdopt, sfd);
    ArmSignalRead();
  }
  turn_mono_ = clock_.Now();
  turn_wall_ = clock_.NowWall();
  return absl::OkStatus();
}

io_uring_sqe* EventLoop::Impl::GetSqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_->get());
  if (sqe == nullptr) {
    // SQ full: push what is queued now (rare: the SQ is sized for a turn's batch).
    BeforeSubmit();
    const int n = io_uring_submit(ring_->get());
    ++counters_.submit_calls;
    if (n > 0) counters_.sqes_submitted += static_cast<unsigned>(n);
    pending_sqes_ = 0;
    sqe = io_uring_get_sqe(ring_->get());
  }
  if (sqe != nullptr) ++pending_sqes_;
  return sqe;
}

absl::StatusOr<SocketId> EventLoop::Impl::AddSocket(UniqueFd fd, DatagramHandler* handler) {
  if (!fd.valid()) return absl::InvalidArgumentError("AddSocket: invalid fd");
  SocketId id;
  if (!free_sockets_.empty()) {
    id = free_sockets_.back();
    free_sockets_.pop_back();
  } else {
    id = static_cast<SocketId>(sockets_.size());
    sockets_.emplace_back();
  }
  Socket& sock = sockets_[id];
  const uint16_t generation = static_cast<uint16_t>(sock.generation + 1);
  const bool listed = sock.in_unread_list;  // the id may still be in unread_stamps_
  sock = Socket{};
  sock.generation = generation;
  sock.in_unread_list = listed;
  sock.fd = std::move(fd);
  sock.handler = handler;
  sock.in_use = true;
  if (absl::StatusOr<SocketAddress> local = LocalAddress(sock.fd.get()); local.ok())
    sock.local = *local;
  ArmReceive(id);
  if (!sockets_[id].recv_armed) {
    RemoveSocket(id);
    return absl::ResourceExhaustedError("AddSocket: submission queue full");
  }
  return id;
}

void EventLoop::Impl::RemoveSocket(SocketId s) noexcept {
  if (s >= sockets_.size() || !sockets_[s].in_use || sockets_[s].closing) return;
  Socket& sock = sockets_[s];
  sock.closing = true;
  sock.handler = nullptr;
  // Once the loop has stopped for good nothing is cancelled one by one: each cancel scans
  // every armed request, so removing N sockets costs N^2 (2,000 sessions: 164 ms of CPU
  // at exit). The destructor's one cancel-all and the ring's teardown do it in one pass.
  if (stop_) return;
  if (sock.recv_armed) CancelOp(kRecvOp, sock.generation, s);
  MaybeClose(s);
}

void EventLoop::Impl::MaybeClose(SocketId s) noexcept {
  Socket& sock = sockets_[s];
  if (!sock.closing || sock.recv_armed) return;
  // The kernel holds no request on the descriptor any more (sends in flight hold their
  // own file reference), so it can close now.
  sock.fd.Reset();
  sock.twin.Reset();
  sock.tx_tags.clear();
  sock.tx_tags.shrink_to_fit();
  sock.in_use = false;
  sock.closing = false;
  free_sockets_.push_back(s);
}

void EventLoop::Impl::CancelOp(Op op, uint16_t generation, uint32_t slot) noexcept {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;
  io_uring_prep_cancel64(sqe, UserData{op, generation, slot}.Encode(), 0);
  Submit(sqe, kCancelOp, 0, 0);
}

absl::Status EventLoop::Impl::EnableTransmitTimestamps(SocketId s, TransmitTimestamps which,
                                                       TransmitSocket from) {
  Socket& sock = sockets_[s];
  if (from == TransmitSocket::kSendOnlyTwin && !sock.twin.valid()) {
    if (absl::StatusOr<SendTwin> twin = MakeSendTwin(sock.fd.get()); twin.ok()) {
      sock.twin = std::move(twin->fd);
      sock.peer = twin->peer;
    }
  }
  // OPT_ID numbers the timestamped datagrams in send order; OPT_TSONLY leaves the payload
  // out of the error queue. Without TX_SOFTWARE here, only datagrams that ask for it
  // (an SO_TIMESTAMPING control message) are stamped, and only they take a number.
  const bool every = which == TransmitTimestamps::kEveryDatagram;
  const int flags = (every ? SOF_TIMESTAMPING_TX_SOFTWARE : 0) | SOF_TIMESTAMPING_SOFTWARE |
                    SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
  if (::setsockopt(sock.send_fd(), SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) != 0) {
    sock.twin.Reset();
    return absl::ErrnoToStatus(errno, "setsockopt SO_TIMESTAMPING");
  }
  sock.tx_timestamps = true;
  sock.tx_every = every;
  sock.next_tx_key = 0;
  sock.tx_settled_key = 0;
  sock.stamps_unread = 0;
  sock.tx_tags.assign(kTxWindowMin, 0);
  kernel_takes_tx_keys_ = KernelTakesTxKeys();
  // No read is armed on the error queue: each entry would wake the loop between the send
  // and its reply (measured: +0.4 us of error on every RTT, bench/RESULTS.md (d)). The
  // timestamps are read with plain recvmsg before a reply on the socket is delivered, and
  // by sends once kStampsBeforeDrain are waiting.
  return absl::OkStatus();
}

void EventLoop::Impl::ArmReceive(SocketId s) noexcept {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) {
    sockets_[s].recv_armed = false;
    return;
  }
  io_uring_prep_recvmsg_multishot(sqe, sockets_[s].fd.get(), &recv_template_, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  Submit(sqe, kRecvOp, sockets_[s].generation, s);
  sockets_[s].recv_armed = true;
  ++counters_.recv_arms;
}

void EventLoop::Impl::ArmSignalRead() noexcept {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;
  io_uring_prep_read(sqe, signal_fd_.get(), &signal_info_, sizeof signal_info_, 0);
  Submit(sqe, kSignalOp, 0, 0);
}

void EventLoop::Impl::ArmWakeRead() noexcept {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;
  io_uring_prep_read(sqe, wake_fd_.get(), &wake_value_, sizeof wake_value_, 0);
  Submit(sqe, kWakeOp, 0, 0);
}

void EventLoop::Impl::SendFailed(SocketId s, uint64_t tag, int error) noexcept {
  ++counters_.send_errors;
  if (sockets_[s].handler != nullptr) sockets_[s].handler->OnSendError(s, tag, error);
}

void EventLoop::Impl::SendWith(SocketId s, const SendSpec& spec, size_t max_len,
                               absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) noexcept {
  if (free_send_slots_.empty()) ReapCompletions();
  if (free_send_slots_.empty()) {
    // Every slot is in flight: the datagram is still built (its owner counts what it
    // built) and then reported unsent, through the same channel as a kernel refusal.
    if (overflow_capacity_ < max_len) {
      overflow_capacity_ = std::max<size_t>(max_len, 256);
      overflow_buffer_ = std::make_unique<uint8_t[]>(overflow_capacity_);
    }
    if (fill(std::span<uint8_t>(overflow_buffer_.get(), max_len)) >= 0)
      SendFailed(s, spec.tag, ENOBUFS);
    return;
  }
  const uint32_t index = free_send_slots_.back();
  SendSlot& slot = send_slots_[index];
  const bool grown = slot.capacity < max_len;
  if (grown) {
    // Grows to the largest datagram that might be built. Filled in place: a filler may
    // keep a pointer into the datagram until the submit (serve's late T3 stamp).
    slot_bytes_ -= slot.capacity;
    slot.capacity = std::max<size_t>(max_len, 256);
    slot.data = std::make_unique<uint8_t[]>(slot.capacity);
    slot_bytes_ += slot.capacity;
  }
  const int64_t len = fill(std::span<uint8_t>(slot.data.get(), max_len));
  if (len < 0) {
    // Nothing to send; the slot stays free. A buffer grown for a large request that got
    // no answer (junk, malformed) is not kept: it would hold 64 KiB per slot for nothing.
    if (grown && slot.capacity > kSmallSlotBytes) {
      slot_bytes_ -= slot.capacity;
      slot.data.reset();
      slot.capacity = 0;
    }
    return;
  }
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) {
    SendFailed(s, spec.tag, ENOBUFS);
    return;
  }
  free_send_slots_.pop_back();
  Socket& sock = sockets_[s];
  slot.tag = spec.tag;
  slot.socket = s;
  slot.socket_generation = sock.generation;
  slot.iov = {slot.data.get(), static_cast<size_t>(len)};
  slot.used_address = false;
  const int fd = sock.send_fd();
  // A twin is not connected: it names the peer on every send.
  const SocketAddress* to =
      spec.to != nullptr ? spec.to : sock.twin.valid() ? &sock.peer : nullptr;
  const bool with_source = spec.from != nullptr && !spec.from->empty();
  slot.stamped = sock.tx_timestamps && (sock.tx_every || spec.tx_timestamp);
  const bool ask_stamp = slot.stamped && !sock.tx_every;
  slot.keyed = slot.stamped && kernel_takes_tx_keys_;
  // Bounds the error queue: the stamps of completed sends are read once that many wait.
  // (Sends still queued here have no stamp yet; they are counted at their completion.)
  if (slot.stamped && sock.stamps_unread >= kStampsBeforeDrain) DrainErrorQueue(sock, s);
  if (slot.keyed) {
    slot.keyed_as = sock.next_tx_key++;
    RecordTxTag(sock, slot.keyed_as, spec.tag);
  }
  const bool with_tos = spec.tos >= 0;
  if (with_source || with_tos || ask_stamp || slot.keyed) {
    // sendmsg with control messages: the source address (IP_PKTINFO / IPV6_PKTINFO) of a
    // reply from the address its request was sent to, its TOS, and a request for this
    // one datagram's transmit timestamp.
    slot.msg = {};
    slot.msg.msg_iov = &slot.iov;
    slot.msg.msg_iovlen = 1;
    if (to != nullptr) {
      std::memcpy(&slot.name, to->data(), to->size());
      slot.msg.msg_name = &slot.name;
      slot.msg.msg_namelen = to->size();
    }
    std::memset(slot.control, 0, sizeof slot.control);
    slot.msg.msg_control = slot.control;
    slot.msg.msg_controllen = sizeof slot.control;
    cmsghdr* c = CMSG_FIRSTHDR(&slot.msg);
    size_t used = 0;
    if (with_source) {
      used += PutSourceAddress(c, sock.local.family(), *spec.from);
      c = CMSG_NXTHDR(&slot.msg, c);
    }
    if (with_tos) {
      // The kernel's IPv4 path reads IP_TOS, also for an IPv6 socket's datagram to a
      // v4-mapped address; its IPv6 path reads IPV6_TCLASS. Each skips the other's, so
      // an IPv6 socket sending to its connected peer (family not known here) gets both.
      const bool v6_socket = sock.local.family() == AF_INET6;
      const bool v4_path = !v6_socket || to == nullptr || IsV4Mapped(*to);
      const bool v6_path = v6_socket && (to == nullptr || !IsV4Mapped(*to));
      if (v4_path) {
        used += PutValue(c, IPPROTO_IP, IP_TOS, spec.tos);
        c = CMSG_NXTHDR(&slot.msg, c);
      }
      if (v6_path) {
        used += PutValue(c, IPPROTO_IPV6, IPV6_TCLASS, spec.tos);
        c = CMSG_NXTHDR(&slot.msg, c);
      }
    }
    if (ask_stamp) {
      used += PutValue(c, SOL_SOCKET, SO_TIMESTAMPING,
                       uint32_t{SOF_TIMESTAMPING_TX_SOFTWARE});
      c = CMSG_NXTHDR(&slot.msg, c);
    }
    if (slot.keyed) used += PutValue(c, SOL_SOCKET, kScmTsOptId, slot.keyed_as);
    slot.msg.msg_controllen = used;
    io_uring_prep_sendmsg(sqe, fd, &slot.msg, 0);
  } else if (to == nullptr) {
    io_uring_prep_send(sqe, fd, slot.data.get(), static_cast<size_t>(len), 0);
  } else if (send_with_address_) {
    // sendto(2) semantics: IORING_OP_SEND with a destination address (Linux 6.0) skips
    // sendmsg's per-datagram msghdr and iovec copies.
    std::memcpy(&slot.name, to->data(), to->size());
    io_uring_prep_send(sqe, fd, slot.data.get(), static_cast<size_t>(len), 0);
    sqe->addr2 = reinterpret_cast<uint64_t>(&slot.name);
    sqe->addr_len = static_cast<uint16_t>(to->size());
    slot.used_address = true;
  } else {
    std::memcpy(&slot.name, to->data(), to->size());
    slot.msg = {};
    slot.msg.msg_iov = &slot.iov;
    slot.msg.msg_iovlen = 1;
    slot.msg.msg_name = &slot.name;
    slot.msg.msg_namelen = to->size();
    io_uring_prep_sendmsg(sqe, fd, &slot.msg, 0);
  }
  Submit(sqe, kSendOp, slot.generation, index);
  ++counters_.sends_queued;
}

absl::Status EventLoop::Impl::EnableRemoteStop() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return absl::ErrnoToStatus(errno, "eventfd");
  wake_fd_ = UniqueFd(UniqueFd::kAdopt, fd);
  ArmWakeRead();
  return absl::OkStatus();
}

void EventLoop::Impl::StopFromAnotherThread() noexcept {
  remote_stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // The read armed on the eventfd completes and wakes the loop's io_uring_enter.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

uint64_t EventLoop::Impl::SocketDrops(SocketId s) const noexcept {
  if (s >= sockets_.size() || !sockets_[s].fd.valid()) return 0;
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof meminfo;
  if (::getsockopt(sockets_[s].fd.get(), SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0 ||
      len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
    return 0;
  return meminfo[SK_MEMINFO_DROPS];
}

int EventLoop::Impl::Enter(bool wait, const __kernel_timespec* timeout) noexcept {
  const unsigned queued = pending_sqes_;
  BeforeSubmit();
  int rc;
  if (timeout != nullptr) {
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(ring_->get(), &cqe, 1,
                                          const_cast<__kernel_timespec*>(timeout), nullptr);
  } else {
    rc = io_uring_submit_and_wait(ring_->get(), wait ? 1 : 0);
  }
  ++counters_.submit_calls;
  // liburing returns the submitted count, or -ETIME/-EINTR when the wait ended empty;
  // either way the queued SQEs were consumed.
  if (rc >= 0 || rc == -ETIME || rc == -EINTR) {
    counters_.sqes_submitted += rc > 0 ? static_cast<unsigned>(rc) : queued;
    pending_sqes_ = 0;
    return 0;
  }
  return rc;
}

void EventLoop::Impl::ReapCompletions() noexcept {
  // Send slots are freed only by completions, and under DEFER_TASKRUN those are posted
  // only when we enter the kernel. Not re-entered from a handler called by DrainCq.
  if (draining_) return;
  static const __kernel_timespec kZero{};
  if (Enter(false, &kZero) == 0) DrainCq();
}

void EventLoop::Impl::DrainCq() noexcept {
  // CQEs are copied out and the CQ advanced before any handler runs, so a handler that
  // enters the kernel (SendWith on a full slot table) never sees a CQE twice.
  constexpr unsigned kBatch = 256;
  io_uring_cqe* ptrs[kBatch];
  io_uring_cqe batch[kBatch];
  draining_ = true;
  for (;;) {
    const unsigned n = io_uring_peek_batch_cqe(ring_->get(), ptrs, kBatch);
    if (n == 0) break;
    // The time datagrams are handled at, read per batch: a handler of the previous batch
    // may have sent a probe (entering the kernel for a free slot) whose reply is in this
    // one, and a reply must never look handled before its probe was sent.
    turn_mono_ = clock_.Now();
    turn_wall_ = clock_.NowWall();
    for (unsigned i = 0; i < n; ++i) batch[i] = *ptrs[i];
    io_uring_cq_advance(ring_->get(), n);
    for (unsigned i = 0; i < n; ++i) {
      const UserData ud = UserData::Decode(batch[i].user_data);
      CompletionHandler* h = ud.op < kNumOps ? handlers_[ud.op] : nullptr;
      // Ops without a handler (cancels) need nothing.
      if (h != nullptr) h->OnCompletion({ud.generation, ud.slot, batch[i].res, batch[i].flags});
    }
    if (n < kBatch) break;
  }
  draining_ = false;
  buffers_->Publish();
}

void EventLoop::Impl::BeforeSubmit() noexcept {
  if (pre_submit_ != nullptr && pending_sqes_ > 0) pre_submit_->BeforeSubmit(clock_.NowWall());
}

void EventLoop::Impl::ArmLoopTimer(MonoTime deadline) noexcept {
  // One IORING_OP_TIMEOUT (absolute CLOCK_MONOTONIC) stands for the earliest deadline; it
  // is moved only when an earlier one appears. Arming an hrtimer on every io_uring_enter
  // instead costs a VM exit per turn on these machines. A later-than-needed expiry after
  // a cancel is a harmless spurious wake-up.
  if (timer_armed_ && deadline >= timer_deadline_) return;
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;
  timer_ts_.tv_sec = deadline.nanos() / kNanosPerSecond;
  timer_ts_.tv_nsec = deadline.nanos() % kNanosPerSecond;
  const uint64_t timer_ud = UserData{kTimerOp, 0, 0}.Encode();
  if (!timer_armed_) {
    io_uring_prep_timeout(sqe, &timer_ts_, 0, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, timer_ud);
  } else {
    io_uring_prep_timeout_update(sqe, &timer_ts_, timer_ud, IORING_TIMEOUT_ABS);
    Submit(sqe, kTimerUpdateOp, 0, 0);  // -ENOENT when it had already fired: harmless
  }
  timer_armed_ = true;
  timer_deadline_ = deadline;
}

absl::Status EventLoop::Impl::Turn(std::optional<MonoTime> deadline) {
  ++counters_.turns;
  std::optional<MonoTime> wake = timers_.NextDeadline();
  if (deadline && (!wake || *deadline < *wake)) wake = deadline;
  int rc;
  if (stop_ || (wake && *wake <= clock_.Now())) {
    // Something is due already: submit and collect what is ready, without waiting.
    static const __kernel_timespec kZero{};
    rc = Enter(false, &kZero);
  } else {
    if (wake) ArmLoopTimer(*wake);
    rc = Enter(true, nullptr);
  }
  if (rc < 0) return absl::ErrnoToStatus(-rc, "io_uring_enter");
  DrainCq();
  ReadTransmitTimestamps();
  timers_.RunDue(clock_.Now());
  return absl::OkStatus();
}

absl::Status EventLoop::Impl::Run() {
  while (!stop_) UDPBEAT_RETURN_IF_ERROR(Turn(std::nullopt));
  // Flush what the last turn queued (final replies, summary-time sends) and wait for it.
  return Drain();
}

absl::Status EventLoop::Impl::Drain() {
  const MonoTime deadline = clock_.Now() + kDrainWait;
  while (counters_.sends_completed + counters_.send_errors < counters_.sends_queued &&
         clock_.Now() < deadline) {
    UDPBEAT_RETURN_IF_ERROR(Turn(deadline));
  }
  return absl::OkStatus();
}

void EventLoop::Impl::OnSignalRead(const Completion& c) noexcept {
  if (c.res == sizeof signal_info_ && signal_handler_ptr_ != nullptr)
    signal_handler_ptr_->OnSignal(static_cast<int>(signal_info_.ssi_signo));
  if (c.res != -ECANCELED) ArmSignalRead();
}

void EventLoop::Impl::OnWake(const Completion&) noexcept {
  if (remote_stop_.load(std::memory_order_acquire)) stop_ = true;
}

void EventLoop::Impl::OnLoopTimer(const Completion&) noexcept {
  timer_armed_ = false;  // fired (-ETIME) or cancelled; due timers run after the drain
}

void EventLoop::Impl::OnSend(const Completion& c) noexcept {
  if (c.slot >= send_slots_.size() || send_slots_[c.slot].generation != c.generation) return;
  SendSlot& slot = send_slots_[c.slot];
  ++slot.generation;
  free_send_slots_.push_back(c.slot);
  if (slot.capacity > kSmallSlotBytes && slot_bytes_ > kSlotBytesBudget) {
    // Past the budget a large buffer is not kept for the next large datagram: the slots'
    // memory stays bounded in bytes, whatever sizes came before.
    slot_bytes_ -= slot.capacity;
    slot.data.reset();
    slot.capacity = 0;
  }
  if (c.res == -EDESTADDRREQ && slot.used_address) {
    // A kernel older than 6.0 ignored the address: use sendmsg from now on (this one
    // datagram is reported as a send error).
    send_with_address_ = false;
  }
  const SocketId s = slot.socket;
  if (!Live(s, slot.socket_generation)) {
    // The socket was removed meanwhile: its owner no longer wants to hear of it.
    if (c.res < 0) ++counters_.send_errors;
    else ++counters_.sends_completed;
    return;
  }
  Socket& sock = sockets_[s];
  if (c.res < 0) {
    SendFailed(s, slot.tag, -c.res);  // no timestamp will come for it
    return;
  }
  ++counters_.sends_completed;
  if (slot.stamped) {
    // Counted once sent: a drain before then finds nothing and would take the count for
    // stamps the kernel never took (a burst of sends queued in one turn lost all but the
    // last drain's worth of stamps that way).
    ++sock.stamps_unread;
    if (!sock.in_unread_list) {
      sock.in_unread_list = true;
      unread_stamps_.push_back(s);
    }
  }
  if (!slot.stamped || slot.keyed) return;
  // Without SCM_TS_OPT_ID the kernel numbers the datagrams it timestamps in send order;
  // completions of one socket's sends arrive in that order, so the n-th success is key n.
  const uint32_t key = sock.next_tx_key++;
  RecordTxTag(sock, key, slot.tag);
  // A timestamp can be read before its send's completion is handled.
  for (size_t i = 0; i < early_timestamps_.size(); ++i) {
    const EarlyTimestamp e = early_timestamps_[i];
    if (e.socket == s && e.generation == sock.generation && e.key == key) {
      early_timestamps_.erase(early_timestamps_.begin() + static_cast<ptrdiff_t>(i));
      DeliverTimestamp(sock, s, key, e.sent);
      break;
    }
  }
}

void EventLoop::Impl::DeliverTimestamp(Socket& sock, SocketId s, uint32_t key,
                                       WallTime sent) noexcept {
  ++counters_.tx_timestamps;
  if (static_cast<int32_t>(key + 1 - sock.tx_settled_key) > 0) sock.tx_settled_key = key + 1;
  if (sock.handler != nullptr)
    sock.handler->OnTransmitTimestamp(s, sock.tx_tags[key & (sock.tx_tags.size() - 1)], sent);
}

void EventLoop::Impl::RecordTxTag(Socket& sock, uint32_t key, uint64_t tag) noexcept {
  const size_t size = sock.tx_tags.size();
  const uint32_t outstanding = key - sock.tx_settled_key + 1;  // serial arithmetic
  if (outstanding > size && size < kTxWindowMax) {
    // Doubled (or more) with each key still unsettled moved to its new index: the keys
    // that may be read are the last `size` before this one.
    const size_t grown = std::min<size_t>(std::bit_ceil(outstanding), kTxWindowMax);
    std::vector<uint64_t> tags(grown, 0);
    for (uint32_t k = key - static_cast<uint32_t>(size); k != key; ++k)
      tags[k & (grown - 1)] = sock.tx_tags[k & (size - 1)];
    sock.tx_tags = std::move(tags);
  }
  sock.tx_tags[key & (sock.tx_tags.size() - 1)] = tag;
}

namespace {

// One control message of an error-queue entry: the software transmit time, or the
// extended error whose ee_data is the datagram's OPT_ID key.
void ReadTimestampCmsg(const cmsghdr* m, std::optional<WallTime>* sent,
                       std::optional<uint32_t>* key) {
  if (m->cmsg_level == SOL_SOCKET && m->cmsg_type == SO_TIMESTAMPING) {
    scm_timestamping ts;
    std::memcpy(&ts, CMSG_DATA(m), sizeof ts);
    *sent = WallTime::FromNanos(ts.ts[0].tv_sec * kNanosPerSecond + ts.ts[0].tv_nsec);
  } else if ((m->cmsg_level == SOL_IP && m->cmsg_type == IP_RECVERR) ||
             (m->cmsg_level == SOL_IPV6 && m->cmsg_type == IPV6_RECVERR)) {
    sock_extended_err ee;
    std::memcpy(&ee, CMSG_DATA(m), sizeof ee);
    if (ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING && ee.ee_info == SCM_TSTAMP_SND)
      *key = ee.ee_data;
  }
}

}  // namespace

void EventLoop::Impl::AcceptTimestamp(Socket& sock, SocketId s, uint32_t key,
                                      WallTime sent) noexcept {
  const uint32_t behind = sock.next_tx_key - key;  // serial arithmetic
  if (behind >= 1 && behind <= sock.tx_tags.size()) {
    DeliverTimestamp(sock, s, key, sent);
  } else if (!kernel_takes_tx_keys_ && static_cast<int32_t>(key - sock.next_tx_key) >= 0 &&
             early_timestamps_.size() < 256) {
    // Counted keys only: read before its send's completion was handled.
    early_timestamps_.push_back({s, sock.generation, key, sent});
  }
}

void EventLoop::Impl::DrainErrorQueue(Socket& sock, SocketId s) noexcept {
  // Plain non-blocking recvmsg calls, only while stamped sends are unread: a socket whose
  // timestamps were all read costs no system call here.
  alignas(cmsghdr) uint8_t control[kControlSpace];
  for (int n = 0; n < kMaxSyncTimestamps && sock.stamps_unread > 0; ++n) {
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(sock.send_fd(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      // Nothing queued: the kernel stamped fewer than counted (a datagram it dropped
      // before the driver); a stamp that comes later is read with the next drain.
      if (errno == EAGAIN) sock.stamps_unread = 0;
      return;
    }
    --sock.stamps_unread;
    std::optional<WallTime> sent;
    std::optional<uint32_t> key;
    for (cmsghdr* m = CMSG_FIRSTHDR(&msg); m != nullptr; m = CMSG_NXTHDR(&msg, m))
      ReadTimestampCmsg(m, &sent, &key);
    if (sent && key) AcceptTimestamp(sock, s, *key, *sent);
  }
}

void EventLoop::Impl::ReadTransmitTimestamps() noexcept {
  // Once a turn, after its completions and before its timers: a probe's timeout then sees
  // the kernel's send time of the probe, and a reflector its reply's before the next
  // request. (A reply on the socket reads them earlier, in OnReceive.)
  size_t keep = 0;
  for (size_t i = 0; i < unread_stamps_.size(); ++i) {
    const SocketId s = unread_stamps_[i];
    const auto live = [&] {
      return sockets_[s].in_use && !sockets_[s].closing && sockets_[s].stamps_unread > 0;
    };
    // (A handler called from the drain may add sockets: index afresh after it.)
    if (live()) DrainErrorQueue(sockets_[s], s);
    if (live())
      unread_stamps_[keep++] = s;
    else
      sockets_[s].in_unread_list = false;
  }
  unread_stamps_.resize(keep);
}

void EventLoop::Impl::OnReceive(const Completion& c) noexcept {
  if (c.slot >= sockets_.size()) return;
  const SocketId s = c.slot;
  Socket& sock = sockets_[s];
  if (sock.generation != c.generation) return;
  const bool more = (c.flags & IORING_CQE_F_MORE) != 0;
  if (!more) sock.recv_armed = false;
  if (c.res < 0) {
    if (c.res == -ENOBUFS) {
      ++counters_.no_buffers;  // the datagram stays in the socket; re-arm picks it up
    } else if (c.res != -ECANCELED && sock.handler != nullptr) {
      sock.handler->OnReceiveError(s, -c.res);
    }
  } else if ((c.flags & IORING_CQE_F_BUFFER) != 0) {
    const uint16_t bid = static_cast<uint16_t>(c.flags >> IORING_CQE_BUFFER_SHIFT);
    io_uring_recvmsg_out* out =
        io_uring_recvmsg_validate(buffers_->buffer(bid), c.res, &recv_template_);
    if (out != nullptr && out->namelen <= kNameSpace && sock.handler != nullptr) {
      const SocketAddress from = SocketAddress::FromSockaddr(
          static_cast<const sockaddr*>(io_uring_recvmsg_name(out)), out->namelen);
      SocketAddress to;
      Datagram d;
      d.socket = s;
      d.from = &from;
      d.loop_mono = turn_mono_;
      d.loop_wall = turn_wall_;
      d.truncated = (out->flags & MSG_TRUNC) != 0;
      for (cmsghdr* m = io_uring_recvmsg_cmsg_firsthdr(out, &recv_template_); m != nullptr;
           m = io_uring_recvmsg_cmsg_nexthdr(out, &recv_template_, m)) {
        if (m->cmsg_level == SOL_SOCKET) {
          if (m->cmsg_type == SO_TIMESTAMPNS) {
            timespec ts;
            std::memcpy(&ts, CMSG_DATA(m), sizeof ts);
            d.rx_wall = WallTime::FromNanos(ts.tv_sec * kNanosPerSecond + ts.tv_nsec);
          } else if (m->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops;
            std::memcpy(&drops, CMSG_DATA(m), sizeof drops);
            // A cumulative per-socket count: add only what is new since the last datagram.
            counters_.kernel_drops += drops - sock.last_drop_count;
            sock.last_drop_count = drops;
          }
        } else if (m->cmsg_level == IPPROTO_IP) {
          if (m->cmsg_type == IP_TTL) {
            int ttl;
            std::memcpy(&ttl, CMSG_DATA(m), sizeof ttl);
            d.ttl = ttl;
          } else if (m->cmsg_type == IP_TOS) {
            d.tos = *CMSG_DATA(m);
          } else if (m->cmsg_type == IP_PKTINFO) {
            in_pktinfo pi;
            std::memcpy(&pi, CMSG_DATA(m), sizeof pi);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr = pi.ipi_addr;
            a.sin_port = htons(sock.local.port());
            to = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&a), sizeof a);
            d.to = &to;
          }
        } else if (m->cmsg_level == IPPROTO_IPV6) {
          if (m->cmsg_type == IPV6_HOPLIMIT) {
            int hops;
            std::memcpy(&hops, CMSG_DATA(m), sizeof hops);
            d.ttl = hops;
          } else if (m->cmsg_type == IPV6_TCLASS) {
            int tclass;
            std::memcpy(&tclass, CMSG_DATA(m), sizeof tclass);
            d.tos = tclass;
          } else if (m->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo pi;
            std::memcpy(&pi, CMSG_DATA(m), sizeof pi);
            sockaddr_in6 a{};
            a.sin6_family = AF_INET6;
            a.sin6_addr = pi.ipi6_addr;
            a.sin6_port = htons(sock.local.port());
            a.sin6_scope_id = pi.ipi6_ifindex;
            to = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&a), sizeof a);
            d.to = &to;
          }
        }
      }
      const auto* payload =
          static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &recv_template_));
      const unsigned len = io_uring_recvmsg_payload_length(out, c.res, &recv_template_);
      d.payload = std::span<const uint8_t>(payload, len);
      ++counters_.datagrams;
      // Read the waiting transmit timestamps first, so the reply finds its request's T1
      // (and a reflector its previous reply's, for the follow-up).
      if (sock.stamps_unread > 0) DrainErrorQueue(sock, s);
      sock.handler->OnDatagram(d);
    }
    buffers_->Recycle(bid);
  }
  // `sock` may have been removed by the handler; look again.
  Socket& now = sockets_[s];
  if (now.closing) {
    MaybeClose(s);
  } else if (!more && now.in_use && now.generation == c.generation && c.res != -ECANCELED) {
    ArmReceive(s);
  }
}

// ---- EventLoop: forwards to Impl ----

EventLoop::EventLoop(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventLoop::~EventLoop() = default;

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(const LoopOptions& opts,
                                                            const Clock& clock) {
  auto impl = std::make_unique<Impl>(opts, clock);
  UDPBEAT_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(impl)));
}

absl::StatusOr<SocketId> EventLoop::AddSocket(UniqueFd fd, DatagramHandler* handler) {
  return impl_->AddSocket(std::move(fd), handler);
}
void EventLoop::RemoveSocket(SocketId s) noexcept { impl_->RemoveSocket(s); }
absl::Status EventLoop::EnableTransmitTimestamps(SocketId s, TransmitTimestamps which,
                                                 TransmitSocket from) {
  return impl_->EnableTransmitTimestamps(s, which, from);
}
bool EventLoop::SendsFromTwin(SocketId s) const noexcept { return impl_->SendsFromTwin(s); }
int EventLoop::fd(SocketId s) const noexcept { return impl_->fd(s); }
void EventLoop::SendWith(SocketId s, const SendSpec& spec, size_t max_len,
                         absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) noexcept {
  impl_->SendWith(s, spec, max_len, fill);
}
void EventLoop::Send(SocketId s, const SendSpec& spec, std::span<const uint8_t> payload) noexcept {
  impl_->SendWith(s, spec, payload.size(), [payload](std::span<uint8_t> out) -> int64_t {
    if (!payload.empty()) std::memcpy(out.data(), payload.data(), payload.size());
    return static_cast<int64_t>(payload.size());
  });
}
TimerQueue& EventLoop::timers() noexcept { return impl_->timers_; }
void EventLoop::SetSignalHandler(SignalHandler* h) noexcept { impl_->signal_handler_ptr_ = h; }
void EventLoop::SetPreSubmitHook(PreSubmitHook* h) noexcept { impl_->pre_submit_ = h; }
absl::Status EventLoop::Run() { return impl_->Run(); }
absl::Status EventLoop::RunOnce(Nanos max_wait) {
  return impl_->Turn(impl_->clock_.Now() + std::max<Nanos>(max_wait, 0));
}
absl::Status EventLoop::Drain() { return impl_->Drain(); }
void EventLoop::Stop() noexcept { impl_->stop_ = true; }
bool EventLoop::stopping() const noexcept { return impl_->stop_; }
absl::Status EventLoop::EnableRemoteStop() { return impl_->EnableRemoteStop(); }
void EventLoop::StopFromAnotherThread() noexcept { impl_->StopFromAnotherThread(); }
const Clock& EventLoop::clock() const noexcept { return impl_->clock_; }
const LoopCounters& EventLoop::counters() const noexcept { return impl_->counters_; }
uint64_t EventLoop::SocketDrops(SocketId s) const noexcept { return impl_->SocketDrops(s); }
unsigned EventLoop::ring_flags() const noexcept { return impl_->ring_->setup_flags(); }

}  // namespace udpbeat::uring
