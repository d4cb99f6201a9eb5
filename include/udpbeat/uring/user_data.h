// What a CQE belongs to, packed into its 64-bit user_data (never a pointer: a stale
// completion for a reused slot is recognised by its generation and dropped).
//   op (8 bits) | generation (16 bits) | slot (32 bits)
// `op` selects the completion handler registered for it; `slot` is that handler's index
// (a socket, a send slot, ...).
#ifndef UDPBEAT_URING_USER_DATA_H_
#define UDPBEAT_URING_USER_DATA_H_

#include <cstdint>

namespace udpbeat::uring {

struct UserData {
  uint8_t op = 0;
  uint16_t generation = 0;
  uint32_t slot = 0;

  constexpr uint64_t Encode() const {
    return uint64_t{op} << 56 | uint64_t{generation} << 32 | slot;
  }
  static constexpr UserData Decode(uint64_t v) {
    return UserData{static_cast<uint8_t>(v >> 56), static_cast<uint16_t>(v >> 32),
                    static_cast<uint32_t>(v)};
  }
};

// One completion as its handler sees it.
struct Completion {
  uint16_t generation;
  uint32_t slot;
  int res;
  uint32_t flags;
};

// Receives the completions of one op code.
class CompletionHandler {
 public:
  virtual ~CompletionHandler() = default;
  virtual void OnCompletion(const Completion& c) noexcept = 0;
};

}  // namespace udpbeat::uring

#endif  // UDPBEAT_URING_USER_DATA_H_
