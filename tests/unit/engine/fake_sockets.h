// A ProbeSockets without the kernel: ids handed out in order, each socket's handler kept
// so that a test delivers datagrams through the group's own routing, and failures on ask.
#ifndef UDPBEAT_TESTS_UNIT_ENGINE_FAKE_SOCKETS_H_
#define UDPBEAT_TESTS_UNIT_ENGINE_FAKE_SOCKETS_H_

#include <cstdint>
#include <map>

#include "absl/status/status.h"
#include "udpbeat/engine/probe_sockets.h"

namespace udpbeat::engine {

class FakeSockets final : public ProbeSockets {
 public:
  struct Socket {
    DatagramHandler* handler = nullptr;  // null once closed
    SocketAddress peer;
    uint16_t local_port = 0;
    bool timestamps = false;
    bool send_twin = false;
    uint64_t drops = 0;
  };

  absl::StatusOr<Opened> Open(const SocketAddress& peer, const UdpSocketOptions&,
                              DatagramHandler& handler) override {
    if (fail_open_after == 0) {
      fail_open_after = -1;
      return absl::ResourceExhaustedError("socket: Too many open files");
    }
    if (fail_open_after > 0) --fail_open_after;
    const SocketId id = next_id_++;
    const uint16_t port = static_cast<uint16_t>(40000 + id);
    sockets[id] = {&handler, peer, port, false, false, 0};
    return Opened{id, port};
  }
  bool EnableTransmitTimestamps(SocketId socket, bool send_twin) override {
    sockets.at(socket).send_twin = send_twin;
    sockets.at(socket).timestamps = !refuse_timestamps;
    return !refuse_timestamps;
  }
  void Close(SocketId socket) override { sockets.at(socket).handler = nullptr; }
  uint64_t Drops(SocketId socket) const override { return sockets.at(socket).drops; }
  uint64_t Budget() override { return budget; }
  uint64_t FreeDescriptors() override { return free_descriptors; }

  size_t open_count() const {
    size_t n = 0;
    for (const auto& [id, s] : sockets) n += s.handler != nullptr;
    return n;
  }

  std::map<SocketId, Socket> sockets;  // every socket ever opened
  int fail_open_after = -1;  // >= 0: this many more Open calls succeed, the next fails
  bool refuse_timestamps = false;
  uint64_t budget = 20000;            // as RLIMIT_NOFILE's hard limit here
  uint64_t free_descriptors = 20000;  // what a reload's new sockets must fit in

 private:
  SocketId next_id_ = 1;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_TESTS_UNIT_ENGINE_FAKE_SOCKETS_H_
