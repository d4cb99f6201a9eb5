#include "udpbeat/engine/session_group.h"

#include <algorithm>

#include "absl/random/random.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/engine/socket_budget.h"
#include "udpbeat/proto/lab_protocol.h"
#include "udpbeat/proto/stamp_auth.h"

namespace udpbeat::engine {

// Routes a shared socket's datagrams to the session they belong to.
class SessionGroup::Demux final : public DatagramHandler {
 public:
  Demux(ProbeProto proto, bool authenticated, uint32_t seq_range)
      : proto_(proto), authenticated_(authenticated), seq_range_(seq_range) {}

  void Add(ProbeSession* s) { sessions_.push_back(s); }

  void OnDatagram(const Datagram& d) noexcept override {
    if (sessions_.size() == 1) return sessions_[0]->OnDatagram(d);
    const size_t i = Route(d.payload);
    // Unroutable: session 0 counts it malformed.
    sessions_[i < sessions_.size() ? i : 0]->OnDatagram(d);
  }
  void OnReceiveError(SocketId s, int error) noexcept override {
    for (ProbeSession* p : sessions_) p->OnReceiveError(s, error);
  }
  // A send error names its datagram: only the session that sent it hears of it.
  void OnSendError(SocketId s, uint64_t tag, int error) noexcept override {
    const size_t i = static_cast<size_t>(tag >> 32);
    if (i < sessions_.size()) sessions_[i]->OnSendError(s, tag, error);
  }
  void OnTransmitTimestamp(SocketId s, uint64_t tag, WallTime t) noexcept override {
    const size_t i = static_cast<size_t>(tag >> 32);
    if (i < sessions_.size()) sessions_[i]->OnTransmitTimestamp(s, tag, t);
  }

 private:
  size_t BySeq(uint64_t seq) const { return static_cast<size_t>(static_cast<uint32_t>(seq) / seq_range_); }

  size_t Route(std::span<const uint8_t> payload) const {
    if (proto_ == ProbeProto::kStamp) {
      // Read in the layout the sessions decode with: an authenticated reply has its SSID
      // and sender's sequence elsewhere. Unverified here; the session checks the HMAC.
      stamp::ReflectedIds r;
      if (stamp::PeekReflected(payload, authenticated_, &r) != DecodeError::kNone)
        return SIZE_MAX;
      // RFC 8972 reflectors return the SSID (session index + 1 on this socket); an RFC
      // 8762-only one leaves it zero, and the disjoint sequence ranges still tell.
      return r.ssid != 0 ? r.ssid - 1u : BySeq(r.sender_seq);
    }
    lab::Request echo;
    lab::HeartbeatReply hb;
    if (lab::ParseRequest(payload, &echo) == DecodeError::kNone) return BySeq(echo.seq - 1);
    if (lab::ParseHeartbeatReply(payload, &hb) == DecodeError::kNone) return BySeq(hb.seq - 1);
    return SIZE_MAX;
  }

  ProbeProto proto_;
  bool authenticated_;  // STAMP authenticated mode (RFC 8762 §4.3.2 layout)
  uint32_t seq_range_;
  std::vector<ProbeSession*> sessions_;
};

SessionGroup::SessionGroup(ProbeSockets& sockets) : sockets_(sockets) {}

SessionGroup::~SessionGroup() {
  for (SocketId s : socket_ids_) sockets_.Close(s);
}

absl::StatusOr<std::unique_ptr<SessionGroup>> SessionGroup::Create(
    const SessionGroupOptions& opts, const SocketAddress& peer, ProbeTransport& transport,
    ProbeSockets& sockets, ProbeObserver& observer) {
  const uint32_t n = std::max<uint32_t>(opts.sessions, 1);
  const uint32_t m = SocketsPerTarget(opts.sessions, opts.sockets);
  const uint32_t per_socket = (n + m - 1) / m;
  if (opts.session.proto == ProbeProto::kStamp && per_socket > 65535)
    return absl::InvalidArgumentError(
        absl::StrCat(per_socket, " STAMP sessions on one socket exceed its 65535 SSIDs"));
  std::unique_ptr<SessionGroup> g(new SessionGroup(sockets));
  // Sessions sharing a socket get disjoint sequence ranges.
  const uint32_t seq_range =
      per_socket <= 1 ? UINT32_MAX : static_cast<uint32_t>((uint64_t{1} << 32) / per_socket);
  const uint16_t ssid_base =
      m == n ? static_cast<uint16_t>(absl::Uniform<uint32_t>(absl::BitGen(), 1, 65536)) : 0;
  const Nanos stagger = opts.session.interval ? *opts.session.interval / n : 0;
  g->kernel_timestamps_ = opts.transmit_timestamps;
  for (uint32_t k = 0; k < m; ++k) {
    auto demux = std::make_unique<Demux>(opts.session.proto, opts.session.hmac != nullptr,
                                         seq_range);
    UDPBEAT_ASSIGN_OR_RETURN(const ProbeSockets::Opened opened,
                             sockets.Open(peer, opts.socket, *demux));
    const SocketId sid = opened.id;
    g->socket_ids_.push_back(sid);
    g->socket_ports_.push_back(opened.local_port);
    if (opts.transmit_timestamps && !sockets.EnableTransmitTimestamps(sid, opts.send_twins))
      g->kernel_timestamps_ = false;
    for (uint32_t j = 0; j < per_socket && g->sessions_.size() < n; ++j) {
      const uint32_t i = static_cast<uint32_t>(g->sessions_.size());
      ProbeSessionConfig cfg = opts.session;
      cfg.start_offset = opts.stagger_base + stagger * i;
      cfg.ssid = m == n ? ssid_base : static_cast<uint16_t>(j + 1);
      if (per_socket > 1) cfg.first_seq = j * seq_range + (cfg.proto == ProbeProto::kLab ? 1 : 0);
      auto s = std::make_unique<ProbeSession>(cfg, transport, observer, i, uint64_t{j} << 32);
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

void SessionGroup::StopSending() {
  for (auto& s : sessions_) s->StopSending();
}

void SessionGroup::FinishAll() {
  for (auto& s : sessions_) s->Finish();
}

uint16_t SessionGroup::local_port(size_t i) const {
  return socket_ports_[socket_of_session_[i]];
}

uint64_t SessionGroup::SocketDrops() const {
  uint64_t n = 0;
  for (SocketId s : socket_ids_) n += sockets_.Drops(s);
  return n;
}

}  // namespace udpbeat::engine
