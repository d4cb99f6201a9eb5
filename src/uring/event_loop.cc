#include "udpbeat/uring/event_loop.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "udpbeat/base/status_macros.h"
#include "udpbeat/uring/user_data.h"

namespace udpbeat::uring {
namespace {

constexpr uint16_t kBufferGroup = 0;
// Room for a sockaddr_in6, rounded up so the control messages after it stay aligned.
constexpr socklen_t kNameSpace = 32;
// SO_TIMESTAMPNS + IP_TTL/IPV6_HOPLIMIT + SO_RXQ_OVFL, with headroom.
constexpr size_t kControlSpace = 128;
// Bound on the final drain of sends still in flight when Run() ends.
constexpr Nanos kDrainWait = 200 * kNanosPerMilli;


}  // namespace

struct EventLoop::SendSlot {
  msghdr msg{};
  iovec iov{};
  sockaddr_storage name{};
  std::unique_ptr<uint8_t[]> data;
  size_t capacity = 0;
  SocketId socket = 0;
  uint16_t generation = 0;
  bool used_address = false;  // sent as IORING_OP_SEND with a destination address
};

EventLoop::EventLoop(const LoopOptions& opts, const Clock& clock) : opts_(opts), clock_(clock) {}

EventLoop::~EventLoop() {
  // Cancel the armed receives and signal read before the buffers go away.
  if (ring_ != nullptr) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_->get());
    if (sqe != nullptr) {
      io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
      io_uring_submit_and_wait(ring_->get(), 1);
    }
  }
  buffers_.reset();
}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(const LoopOptions& opts,
                                                            const Clock& clock) {
  std::unique_ptr<EventLoop> loop(new EventLoop(opts, clock));
  UDPBEAT_RETURN_IF_ERROR(loop->Init());
  return loop;
}

absl::Status EventLoop::Init() {
  UDPBEAT_ASSIGN_OR_RETURN(ring_, Ring::Create(opts_.ring));
  // Rounded up to a cache line: each buffer starts with an io_uring_recvmsg_out header
  // that must be aligned, and buffers then never share a line.
  const size_t buffer_size =
      (sizeof(io_uring_recvmsg_out) + kNameSpace + kControlSpace + opts_.max_datagram + 63) &
      ~size_t{63};
  UDPBEAT_ASSIGN_OR_RETURN(buffers_, BufferRing::Create(ring_->get(), kBufferGroup,
                                                        opts_.receive_buffers, buffer_size));
  recv_template_.msg_namelen = kNameSpace;
  recv_template_.msg_controllen = kControlSpace;

  send_slots_.resize(opts_.max_pending_sends);
  free_send_slots_.reserve(opts_.max_pending_sends);
  for (uint32_t i = opts_.max_pending_sends; i > 0; --i) free_send_slots_.push_back(i - 1);

  if (opts_.handle_signals) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGQUIT);
    // Blocked here and in the CLI's main before any thread starts, so no thread takes
    // the default action; the signalfd then queues them for the loop.
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

io_uring_sqe* EventLoop::GetSqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_->get());
  if (sqe == nullptr) {
    // SQ full: push what is queued now (rare: the SQ is sized for a turn's batch).
    BeforeSubmit();
    const int n = io_uring_submit(ring_->get());
    ++counters_.submit_calls;
    if (n > 0) counters_.sqes_submitted += n;
    pending_sqes_ = 0;
    sqe = io_uring_get_sqe(ring_->get());
  }
  if (sqe != nullptr) ++pending_sqes_;
  return sqe;
}

absl::StatusOr<SocketId> EventLoop::AddSocket(UniqueFd fd, DatagramHandler* handler) {
  if (!fd.valid()) return absl::InvalidArgumentError("AddSocket: invalid fd");
  const SocketId id = static_cast<SocketId>(sockets_.size());
  sockets_.push_back(Socket{std::move(fd), handler, 0, false});
  ArmReceive(id);
  if (!sockets_[id].armed) return absl::ResourceExhaustedError("AddSocket: submission queue full");
  return id;
}

void EventLoop::ArmReceive(SocketId s) noexcept {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) {
    sockets_[s].armed = false;
    return;
  }
  io_uring_prep_recvmsg_multishot(sqe, sockets_[s].fd.get(), &recv_template_, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, UserData{static_cast<uint8_t>(Op::kRecv), 0, s}.Encode());
  sockets_[s].armed = true;
  ++counters_.recv_arms;
}

void EventLoop::ArmSignalRead() noexcept {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;
  io_uring_prep_read(sqe, signal_fd_.get(), &signal_info_, sizeof signal_info_, 0);
  io_uring_sqe_set_data64(sqe, UserData{static_cast<uint8_t>(Op::kSignal), 0, 0}.Encode());
}

bool EventLoop::Send(SocketId s, const SocketAddress* to,
                     std::span<const uint8_t> payload) noexcept {
  return SendWith(s, to, payload.size(), [payload](std::span<uint8_t> out) -> int64_t {
    if (!payload.empty()) std::memcpy(out.data(), payload.data(), payload.size());
    return static_cast<int64_t>(payload.size());
  });
}

bool EventLoop::SendWith(SocketId s, const SocketAddress* to, size_t max_len,
                         absl::FunctionRef<int64_t(std::span<uint8_t>)> fill) noexcept {
  if (free_send_slots_.empty()) ReapCompletions();
  if (free_send_slots_.empty()) {
    ++counters_.send_errors;
    sockets_[s].handler->OnSendError(s, ENOBUFS);
    return false;
  }
  const uint32_t index = free_send_slots_.back();
  SendSlot& slot = send_slots_[index];
  if (slot.capacity < max_len) {
    // Grows once to the largest datagram seen; never on the steady-state path.
    slot.capacity = std::max<size_t>(max_len, 256);
    slot.data = std::make_unique<uint8_t[]>(slot.capacity);
  }
  const int64_t len = fill(std::span<uint8_t>(slot.data.get(), max_len));
  if (len < 0) return false;  // nothing to send; the slot stays free
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) {
    ++counters_.send_errors;
    sockets_[s].handler->OnSendError(s, ENOBUFS);
    return false;
  }
  free_send_slots_.pop_back();
  slot.iov = {slot.data.get(), static_cast<size_t>(len)};
  slot.msg = {};
  slot.msg.msg_iov = &slot.iov;
  slot.msg.msg_iovlen = 1;
  if (to != nullptr) {
    std::memcpy(&slot.name, to->data(), to->size());
    slot.msg.msg_name = &slot.name;
    slot.msg.msg_namelen = to->size();
  }
  slot.socket = s;
  if (to != nullptr && send_with_address_) {
    // sendto(2) semantics: IORING_OP_SEND with a destination address (Linux 6.0) skips
    // sendmsg's per-datagram msghdr and iovec copies.
    io_uring_prep_send(sqe, sockets_[s].fd.get(), slot.data.get(), static_cast<size_t>(len), 0);
    sqe->addr2 = reinterpret_cast<uint64_t>(&slot.name);
    sqe->addr_len = static_cast<uint16_t>(to->size());
    slot.used_address = true;
  } else if (to == nullptr) {
    // A connected socket: plain send(2).
    io_uring_prep_send(sqe, sockets_[s].fd.get(), slot.data.get(), static_cast<size_t>(len), 0);
    slot.used_address = false;
  } else {
    io_uring_prep_sendmsg(sqe, sockets_[s].fd.get(), &slot.msg, 0);
    slot.used_address = false;
  }
  io_uring_sqe_set_data64(
      sqe, UserData{static_cast<uint8_t>(Op::kSend), slot.generation, index}.Encode());
  ++counters_.sends_queued;
  return true;
}

absl::Status EventLoop::EnableRemoteStop() {
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return absl::ErrnoToStatus(errno, "eventfd");
  wake_fd_ = UniqueFd(UniqueFd::kAdopt, fd);
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return absl::ResourceExhaustedError("EnableRemoteStop: submission queue full");
  io_uring_prep_read(sqe, wake_fd_.get(), &wake_value_, sizeof wake_value_, 0);
  io_uring_sqe_set_data64(sqe, UserData{static_cast<uint8_t>(Op::kWake), 0, 0}.Encode());
  return absl::OkStatus();
}

void EventLoop::StopFromAnotherThread() noexcept {
  remote_stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // The read armed on the eventfd completes and wakes the loop's io_uring_enter.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

int EventLoop::SubmitAndWait(Nanos max_wait, unsigned wait_nr) noexcept {
  __kernel_timespec ts{};
  max_wait = std::max<Nanos>(max_wait, 0);
  ts.tv_sec = max_wait / kNanosPerSecond;
  ts.tv_nsec = max_wait % kNanosPerSecond;
  io_uring_cqe* cqe = nullptr;
  const unsigned queued = pending_sqes_;
  BeforeSubmit();
  const int rc = io_uring_submit_and_wait_timeout(ring_->get(), &cqe, wait_nr, &ts, nullptr);
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

void EventLoop::ReapCompletions() noexcept {
  // Send slots are freed only by completions, and under DEFER_TASKRUN those are posted
  // only when we enter the kernel. Not re-entered from a handler called by DrainCq.
  if (draining_) return;
  if (SubmitAndWait(0, 1) == 0) DrainCq();
}

void EventLoop::DrainCq() noexcept {
  // CQEs are copied out and the CQ advanced before any handler runs, so a handler that
  // enters the kernel (Send on a full slot table) never sees a CQE twice.
  constexpr unsigned kBatch = 256;
  io_uring_cqe* ptrs[kBatch];
  io_uring_cqe batch[kBatch];
  draining_ = true;
  for (;;) {
    const unsigned n = io_uring_peek_batch_cqe(ring_->get(), ptrs, kBatch);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) batch[i] = *ptrs[i];
    io_uring_cq_advance(ring_->get(), n);
    for (unsigned i = 0; i < n; ++i) HandleCqe(&batch[i]);
    if (n < kBatch) break;
  }
  draining_ = false;
  buffers_->Publish();
}

absl::Status EventLoop::RunOnce(Nanos max_wait) {
  ++counters_.turns;
  if (auto next = timers_.NextDeadline()) {
    max_wait = std::min(max_wait, *next - clock_.Now());
  }
  if (stop_) max_wait = 0;
  const int rc = SubmitAndWait(max_wait, 1);
  if (rc < 0) return absl::ErrnoToStatus(-rc, "io_uring_enter");
  FinishTurn();
  return absl::OkStatus();
}

void EventLoop::BeforeSubmit() noexcept {
  if (pre_submit_ != nullptr && pending_sqes_ > 0) pre_submit_->BeforeSubmit(clock_.NowWall());
}

void EventLoop::FinishTurn() noexcept {
  turn_mono_ = clock_.Now();
  turn_wall_ = clock_.NowWall();
  DrainCq();
  timers_.RunDue(clock_.Now());
}

void EventLoop::ArmLoopTimer(MonoTime deadline) noexcept {
  // One IORING_OP_TIMEOUT (absolute CLOCK_MONOTONIC) stands for the earliest loop
  // timer; it is moved only when an earlier deadline appears. A later-than-needed
  // expiry after a cancel is a harmless spurious wake-up.
  if (timer_armed_ && deadline >= timer_deadline_) return;
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;
  timer_ts_.tv_sec = deadline.nanos() / kNanosPerSecond;
  timer_ts_.tv_nsec = deadline.nanos() % kNanosPerSecond;
  const uint64_t timer_ud = UserData{static_cast<uint8_t>(Op::kTimer), 0, 0}.Encode();
  if (!timer_armed_) {
    io_uring_prep_timeout(sqe, &timer_ts_, 0, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, timer_ud);
  } else {
    io_uring_prep_timeout_update(sqe, &timer_ts_, timer_ud, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, UserData{static_cast<uint8_t>(Op::kTimerUpdate), 0, 0}.Encode());
  }
  timer_armed_ = true;
  timer_deadline_ = deadline;
}

absl::Status EventLoop::Run() {
  // Turns wait for completions with no timeout of their own: arming an hrtimer on every
  // io_uring_enter costs a VM exit on these machines. Loop timers are one armed timeout
  // request instead.
  while (!stop_) {
    ++counters_.turns;
    if (auto next = timers_.NextDeadline()) ArmLoopTimer(*next);
    const unsigned queued = pending_sqes_;
    BeforeSubmit();
    const int rc = io_uring_submit_and_wait(ring_->get(), 1);
    ++counters_.submit_calls;
    if (rc < 0 && rc != -EINTR && rc != -ETIME) return absl::ErrnoToStatus(-rc, "io_uring_enter");
    counters_.sqes_submitted += rc > 0 ? static_cast<unsigned>(rc) : queued;
    pending_sqes_ = 0;
    FinishTurn();
  }
  // Flush what the last turn queued (final replies, summary-time sends) and wait for it.
  return Drain();
}

absl::Status EventLoop::Drain() {
  const MonoTime deadline = clock_.Now() + kDrainWait;
  while (counters_.sends_completed + counters_.send_errors < counters_.sends_queued &&
         clock_.Now() < deadline) {
    UDPBEAT_RETURN_IF_ERROR(RunOnce(deadline - clock_.Now()));
  }
  return absl::OkStatus();
}

void EventLoop::HandleCqe(const io_uring_cqe* cqe) noexcept {
  const UserData ud = UserData::Decode(cqe->user_data);
  switch (static_cast<Op>(ud.op)) {
    case Op::kRecv:
      if (ud.slot < sockets_.size()) HandleReceive(ud.slot, cqe);
      break;
    case Op::kSend:
      if (ud.slot < send_slots_.size() && send_slots_[ud.slot].generation == ud.generation)
        HandleSend(ud.slot, cqe->res);
      break;
    case Op::kSignal:
      if (cqe->res == sizeof signal_info_ && signal_handler_ != nullptr)
        signal_handler_->OnSignal(static_cast<int>(signal_info_.ssi_signo));
      if (cqe->res != -ECANCELED) ArmSignalRead();
      break;
    case Op::kTimer:
      timer_armed_ = false;  // fired (-ETIME) or cancelled
      break;
    case Op::kTimerUpdate:
      break;  // -ENOENT when the timeout had already fired: its own CQE says so
    case Op::kWake:
      if (remote_stop_.load(std::memory_order_acquire)) Stop();
      break;
    default:
      break;  // a cancel's own completion
  }
}

void EventLoop::HandleSend(uint32_t index, int res) noexcept {
  SendSlot& slot = send_slots_[index];
  ++slot.generation;
  free_send_slots_.push_back(index);
  if (res == -EDESTADDRREQ && slot.used_address) {
    // A kernel older than 6.0 ignored the address: use sendmsg from now on (this one
    // datagram is reported as a send error).
    send_with_address_ = false;
  }
  if (res < 0) {
    ++counters_.send_errors;
    sockets_[slot.socket].handler->OnSendError(slot.socket, -res);
  } else {
    ++counters_.sends_completed;
  }
}

void EventLoop::HandleReceive(SocketId s, const io_uring_cqe* cqe) noexcept {
  Socket& sock = sockets_[s];
  const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (cqe->res < 0) {
    if (cqe->res == -ENOBUFS) {
      ++counters_.no_buffers;  // the datagram stays in the socket; re-arm picks it up
    } else if (cqe->res != -ECANCELED) {
      sock.handler->OnReceiveError(s, -cqe->res);
    }
    if (!more && cqe->res != -ECANCELED) ArmReceive(s);
    return;
  }
  if ((cqe->flags & IORING_CQE_F_BUFFER) == 0) {
    if (!more) ArmReceive(s);
    return;
  }
  const uint16_t bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  uint8_t* buf = buffers_->buffer(bid);
  io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buf, cqe->res, &recv_template_);
  if (out != nullptr && out->namelen <= kNameSpace) {
    const SocketAddress from = SocketAddress::FromSockaddr(
        static_cast<const sockaddr*>(io_uring_recvmsg_name(out)), out->namelen);
    Datagram d;
    d.socket = s;
    d.from = &from;
    d.loop_mono = turn_mono_;
    d.loop_wall = turn_wall_;
    d.truncated = (out->flags & MSG_TRUNC) != 0;
    for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(out, &recv_template_); c != nullptr;
         c = io_uring_recvmsg_cmsg_nexthdr(out, &recv_template_, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        d.rx_wall = WallTime::FromNanos(ts.tv_sec * kNanosPerSecond + ts.tv_nsec);
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        uint32_t drops;
        std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
        // A cumulative per-socket count: add only what is new since the last datagram.
        counters_.kernel_drops += drops - sock.last_drop_count;
        sock.last_drop_count = drops;
      } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
                 (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
        int ttl;
        std::memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
        d.ttl = ttl;
      }
    }
    const auto* payload = static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &recv_template_));
    const unsigned len = io_uring_recvmsg_payload_length(out, cqe->res, &recv_template_);
    d.payload = std::span<const uint8_t>(payload, len);
    ++counters_.datagrams;
    sock.handler->OnDatagram(d);
  }
  buffers_->Recycle(bid);
  if (!more) ArmReceive(s);
}

}  // namespace udpbeat::uring
