#include "udpbeat/uring/buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace udpbeat::uring {

absl::StatusOr<std::unique_ptr<BufferRing>> BufferRing::Create(io_uring* ring, uint16_t group,
                                                               unsigned count,
                                                               size_t buffer_size) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("buffer ring: count ", count, " is not a power of two <= 32768"));
  std::unique_ptr<BufferRing> b(new BufferRing());
  b->ring_ = ring;
  b->group_ = group;
  b->count_ = count;
  b->buffer_size_ = buffer_size;
  b->ring_bytes_ = count * sizeof(io_uring_buf);
  // Page-aligned memory, as the kernel requires for the ring; the buffers are touched
  // lazily, so a big buffer_size costs address space, not RSS, for small datagrams.
  void* r = ::mmap(nullptr, b->ring_bytes_, PROT_READ | PROT_WRITE,
                   MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (r == MAP_FAILED) return absl::ErrnoToStatus(errno, "mmap buffer ring");
  b->br_ = static_cast<io_uring_buf_ring*>(r);
  b->buffers_bytes_ = size_t{count} * buffer_size;
  void* m = ::mmap(nullptr, b->buffers_bytes_, PROT_READ | PROT_WRITE,
                   MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (m == MAP_FAILED) return absl::ErrnoToStatus(errno, "mmap receive buffers");
  b->buffers_ = static_cast<uint8_t*>(m);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(b->br_);
  reg.ring_entries = count;
  reg.bgid = group;
  const int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc != 0) return absl::ErrnoToStatus(-rc, "io_uring_register_buf_ring");
  b->registered_ = true;
  io_uring_buf_ring_init(b->br_);
  for (unsigned i = 0; i < count; ++i) b->Recycle(static_cast<uint16_t>(i));
  b->Publish();
  return b;
}

BufferRing::~BufferRing() {
  if (registered_) io_uring_unregister_buf_ring(ring_, group_);
  if (buffers_ != nullptr) ::munmap(buffers_, buffers_bytes_);
  if (br_ != nullptr) ::munmap(br_, ring_bytes_);
}

void BufferRing::Recycle(uint16_t id) noexcept {
  io_uring_buf_ring_add(br_, buffer(id), static_cast<unsigned>(buffer_size_), id,
                        io_uring_buf_ring_mask(count_), pending_++);
}

void BufferRing::Publish() noexcept {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

}  // namespace udpbeat::uring
