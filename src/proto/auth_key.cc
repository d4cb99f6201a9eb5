#include "udpbeat/proto/auth_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "udpbeat/base/unique_fd.h"

namespace udpbeat {

AuthKey AuthKey::FromBytes(std::span<const uint8_t> bytes) {
  AuthKey key;
  if (bytes.empty()) return key;
  key.data_ = std::make_unique<uint8_t[]>(bytes.size());
  std::memcpy(key.data_.get(), bytes.data(), bytes.size());
  key.size_ = bytes.size();
  return key;
}

AuthKey::AuthKey(AuthKey&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

AuthKey& AuthKey::operator=(AuthKey&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

AuthKey::~AuthKey() { Wipe(); }

void AuthKey::Wipe() noexcept {
  if (data_ != nullptr) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

absl::StatusOr<AuthKey> LoadAuthKey(const std::string& path) {
  const std::string name = absl::StrCat("key file '", path, "'");
  // O_NONBLOCK: a FIFO at the path must be refused below, not wait here for a writer.
  UniqueFd fd(UniqueFd::kAdopt, ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return absl::ErrnoToStatus(errno, name);
  // Checked on the open descriptor, so the file read is the file checked.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return absl::ErrnoToStatus(errno, name);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(name, ": not a regular file"));
  }
  const unsigned perm = st.st_mode & 07777;
  if ((perm & 077) != 0) {
    // Like ssh with a private key: a key others can read is not secret, and one others
    // can write lets them choose it.
    return absl::FailedPreconditionError(absl::StrFormat(
        "permissions %04o for '%s' are too open: the key must not be %s by others (chmod 600)",
        perm, path, (perm & 044) != 0 ? "readable" : "accessible"));
  }

  // Room for the largest key, a "\r\n", and one byte more to tell "too long" apart.
  std::array<uint8_t, AuthKey::kMaxFileKeySize + 3> buf;
  absl::Cleanup wipe = [&buf] { OPENSSL_cleanse(buf.data(), buf.size()); };
  size_t n = 0;
  while (n < buf.size()) {
    const ssize_t r = ::read(fd.get(), buf.data() + n, buf.size() - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read ", name));
    if (r == 0) break;
    n += static_cast<size_t>(r);
  }
  if (n == buf.size()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": longer than ", AuthKey::kMaxFileKeySize,
                                                   " bytes, too long to be a key"));
  }
  if (n >= 1 && buf[n - 1] == '\n') {
    --n;
    if (n >= 1 && buf[n - 1] == '\r') --n;
  }
  if (n == 0) return absl::InvalidArgumentError(absl::StrCat(name, ": empty"));
  if (n < AuthKey::kMinFileKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": the key is ", n, " bytes, at least ",
                                                   AuthKey::kMinFileKeySize, " are needed"));
  }
  if (n > AuthKey::kMaxFileKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": longer than ", AuthKey::kMaxFileKeySize,
                                                   " bytes, too long to be a key"));
  }
  return AuthKey::FromBytes(std::span<const uint8_t>(buf.data(), n));
}

}  // namespace udpbeat
