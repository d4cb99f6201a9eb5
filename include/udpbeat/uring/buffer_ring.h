// A provided-buffer ring (IORING_REGISTER_PBUF_RING) the kernel picks receive buffers
// from, so one multishot recvmsg serves any number of datagrams.
//
// liburing 2.3 has no io_uring_setup_buf_ring: we mmap the ring and the buffers and
// register them. Owner: the EventLoop. Must be destroyed before its Ring (it unregisters
// itself from it): declare it after the Ring.
#ifndef UDPBEAT_URING_BUFFER_RING_H_
#define UDPBEAT_URING_BUFFER_RING_H_

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace udpbeat::uring {

class BufferRing {
 public:
  // `count` must be a power of two ≤ 32768; every buffer is `buffer_size` bytes.
  static absl::StatusOr<std::unique_ptr<BufferRing>> Create(io_uring* ring, uint16_t group,
                                                            unsigned count,
                                                            size_t buffer_size);
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();
  // The ring is being torn down, which unregisters the group itself: the destructor then
  // only unmaps (the ring's memory may be gone by then).
  void ForgetRegistration() noexcept { registered_ = false; }

  uint16_t group() const noexcept { return group_; }
  size_t buffer_size() const noexcept { return buffer_size_; }
  unsigned count() const noexcept { return count_; }
  uint8_t* buffer(uint16_t id) noexcept { return buffers_ + size_t{id} * buffer_size_; }

  // Hands buffer `id` back to the kernel; becomes visible at the next Publish().
  void Recycle(uint16_t id) noexcept;
  // Makes all recycled buffers visible to the kernel with one tail store.
  void Publish() noexcept;

 private:
  BufferRing() = default;
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  size_t ring_bytes_ = 0;
  uint8_t* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  size_t buffer_size_ = 0;
  unsigned count_ = 0;
  uint16_t group_ = 0;
  int pending_ = 0;
  bool registered_ = false;
};

}  // namespace udpbeat::uring

#endif  // UDPBEAT_URING_BUFFER_RING_H_
