#include "udpbeat/uring/ring.h"

#include <cerrno>

namespace udpbeat::uring {

absl::StatusOr<std::unique_ptr<Ring>> Ring::Create(const RingOptions& opts) {
  std::unique_ptr<Ring> ring(new Ring());
  const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  const unsigned preferred = base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int rc = -EINVAL;
  for (unsigned flags : {preferred, base, 0u}) {
    io_uring_params params{};
    params.flags = flags;
    params.cq_entries = opts.cq_entries;
    rc = io_uring_queue_init_params(opts.sq_entries, &ring->ring_, &params);
    if (rc == 0) {
      ring->flags_ = flags;
      ring->initialized_ = true;
      return ring;
    }
    if (rc != -EINVAL) break;  // only an unknown flag is worth retrying without
  }
  return absl::ErrnoToStatus(-rc, "io_uring_setup");
}

Ring::~Ring() {
  // Only a ring that was set up: on a failed setup ring_ is zeroed, and exiting it would
  // close descriptor 0, whatever it has become by then (another worker's eventfd).
  if (initialized_) io_uring_queue_exit(&ring_);
}

}  // namespace udpbeat::uring
