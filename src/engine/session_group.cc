#include "udpbeat/engine/session_group.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/net/udp_socket.h"
#include "udpbeat/proto/lab_protocol.h"

namespace udpbeat {

// Routes a shared socket's datagrams to the session they belong to.
class SessionGroup::Demux final : public uring::DatagramHandler {
 public:
  Demux(ProbeProto proto, uint32_t seq_range) : proto_(proto), seq_range_(seq_range) {}

  void Add(ProbeSession* s) { sessions_.push_back(s); }

  void OnDatagram(const uring::Datagram& d) noexcept override {
    if (sessions_.size() == 1) return sessions_[0]->OnDatagram(d);
    const size_t i = Route(d.payload);
    if (i < sessions_.size()) {
      sessions_[i]->OnDatagram(d);
    } else {
      sessions_[0]->OnDatagram(d);  // counted malformed there
    }
  }
  void OnReceiveError(uring::SocketId s, int error) noexcept override {
    for (ProbeSession* p : sessions_) p->OnReceiveError(s, error);
  }
  void OnSendError(uring::SocketId s, int error) noexcept override {
    for (ProbeSession* p : sessions_) p->OnSendError(s, error);
  }

 private:
  size_t Route(std::span<const uint8_t> payload) const {
    if (proto_ == ProbeProto::kStamp) {
      // Reflector packet octets 14..15: the SSID, session index + 1 on this socket.
      if (payload.size() < stamp::kMinPacketSize) return SIZE_MAX;
      const uint16_t ssid = static_cast<uint16_t>(payload[14] << 8 | payload[15]);
      return ssid == 0 ? SIZE_MAX : ssid - 1u;
    }
    lab::Request echo;
    lab::HeartbeatReply hb;
    uint64_t seq;
    if (lab::ParseRequest(payload, &echo) == DecodeError::kNone) {
      seq = echo.seq;
    } else if (lab::ParseHeartbeatReply(payload, &hb) == DecodeError::kNone) {
      seq = hb.seq;
    } else {
      return SIZE_MAX;
    }
    return static_cast<size_t>((static_cast<uint32_t>(seq) - 1) / seq_range_);
  }

  ProbeProto proto_;
  uint32_t seq_range_;
  std::vector<ProbeSession*> sessions_;
};

uring::LoopOptions ClientLoopOptions(uint32_t sessions, size_t size) {
  uring::LoopOptions lo;
  lo.max_datagram = std::max<size_t>(size, 2048);
  const bool many = sessions > 1;
  lo.receive_buffers = many ? 4096 : 256;
  lo.max_pending_sends = std::max<unsigned>(4096, sessions * 2);
  lo.ring.sq_entries = many ? 4096 : 1024;
  lo.ring.cq_entries = many ? 65536 : 16384;
  return lo;
}

uint64_t RaiseFileLimit() {
  rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

SessionGroup::~SessionGroup() = default;

absl::StatusOr<std::unique_ptr<SessionGroup>> SessionGroup::Create(
    const SessionGroupOptions& opts, const SocketAddress& peer, uring::EventLoop& loop,
    ProbeObserver& observer) {
  const uint32_t n = std::max<uint32_t>(opts.sessions, 1);
  const uint32_t m = opts.sockets == 0 ? n : std::min(opts.sockets, n);
  const uint32_t per_socket = (n + m - 1) / m;
  if (opts.session.proto == ProbeProto::kStamp && per_socket > 65535)
    return absl::InvalidArgumentError(absl::StrCat(
        "--sockets: ", per_socket, " STAMP sessions per socket exceed the 65535 SSIDs"));
  // Descriptors beyond the sockets: stdio, the ring, the signalfd, some slack.
  constexpr uint64_t kReservedFds = 32;
  const uint64_t limit = RaiseFileLimit();
  if (m + kReservedFds > limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        m, " sockets need ", m + kReservedFds, " open files but the limit is ", limit,
        " (RLIMIT_NOFILE, raised to its hard limit): use --sockets ", limit - kReservedFds,
        " or fewer to share sockets"));
  }
  std::unique_ptr<SessionGroup> g(new SessionGroup());
  g->scratch_.resize(std::max<size_t>(opts.session.size, 128));
  // Seed sessions sharing a socket get disjoint sequence ranges.
  const uint32_t seq_range =
      per_socket <= 1 ? UINT32_MAX : static_cast<uint32_t>((uint64_t{1} << 32) / per_socket);
  const uint16_t ssid_base =
      m == n ? static_cast<uint16_t>(absl::Uniform<uint32_t>(absl::BitGen(), 1, 65536)) : 0;
  const Nanos stagger = opts.session.interval ? *opts.session.interval / n : 0;
  for (uint32_t k = 0; k < m; ++k) {
    UDPBEAT_ASSIGN_OR_RETURN(UniqueFd fd, ConnectUdp(peer, UdpSocketOptions{}));
    auto local = LocalAddress(fd.get());
    g->socket_ports_.push_back(local.ok() ? local->port() : 0);
    auto demux = std::make_unique<Demux>(opts.session.proto, seq_range);
    UDPBEAT_ASSIGN_OR_RETURN(uring::SocketId sid, loop.AddSocket(std::move(fd), demux.get()));
    for (uint32_t j = 0; j < per_socket && g->sessions_.size() < n; ++j) {
      const uint32_t i = static_cast<uint32_t>(g->sessions_.size());
      ProbeSessionConfig cfg = opts.session;
      cfg.start_offset = stagger * i;
      cfg.ssid = m == n ? ssid_base : static_cast<uint16_t>(j + 1);
      if (per_socket > 1 && cfg.proto == ProbeProto::kLab) cfg.first_seq = j * seq_range + 1;
      auto s = std::make_unique<ProbeSession>(cfg, loop, observer, g->scratch_, i);
      s->Attach(sid);
      demux->Add(s.get());
      g->socket_of_session_.push_back(k);
      g->sessions_.push_back(std::move(s));
    }
    g->demuxes_.push_back(std::move(demux));
  }
  return g;
}

void SessionGroup::Start() {
  for (auto& s : sessions_) s->Start();
}

void SessionGroup::FinishAll() {
  for (auto& s : sessions_) s->Finish();
}

uint16_t SessionGroup::local_port(size_t i) const {
  return socket_ports_[socket_of_session_[i]];
}

}  // namespace udpbeat
