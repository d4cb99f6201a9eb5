// What a CQE belongs to, packed into its 64-bit user_data (never a pointer: a stale
// completion for a reused slot is recognised by its generation and dropped).
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

}  // namespace udpbeat::uring

#endif  // UDPBEAT_URING_USER_DATA_H_
