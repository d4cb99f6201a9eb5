// RAII owner of one io_uring instance.
//
// Thread: the ring is created with SINGLE_ISSUER, so only the thread that first submits
// may use it. Not copyable or movable (the kernel maps point into it).
#ifndef UDPBEAT_URING_RING_H_
#define UDPBEAT_URING_RING_H_

#include <liburing.h>

#include <memory>

#include "absl/status/statusor.h"

namespace udpbeat::uring {

struct RingOptions {
  unsigned sq_entries = 1024;
  unsigned cq_entries = 16384;  // CQSIZE: multishot receives can post many CQEs per turn
};

class Ring {
 public:
  // Tries SINGLE_ISSUER|DEFER_TASKRUN first (completions run only when we wait, on our
  // thread: no cross-core task-work interrupts); falls back without them on -EINVAL.
  // Unavailable when io_uring is disabled or not permitted (EPERM/ENOSYS).
  static absl::StatusOr<std::unique_ptr<Ring>> Create(const RingOptions& opts);

  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  io_uring* get() noexcept { return &ring_; }
  unsigned setup_flags() const noexcept { return flags_; }

 private:
  Ring() = default;
  io_uring ring_{};
  unsigned flags_ = 0;
  bool initialized_ = false;
};

}  // namespace udpbeat::uring

#endif  // UDPBEAT_URING_RING_H_
