// Move-only owner of a file descriptor.
#ifndef UDPBEAT_BASE_UNIQUE_FD_H_
#define UDPBEAT_BASE_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace udpbeat {

class UniqueFd {
 public:
  struct AdoptTag {};
  static constexpr AdoptTag kAdopt{};

  UniqueFd() = default;
  // Takes ownership of `fd`; the tag makes adoption visible at the call site.
  UniqueFd(AdoptTag, int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership without closing.
  [[nodiscard]] int Release() noexcept { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace udpbeat

#endif  // UDPBEAT_BASE_UNIQUE_FD_H_
