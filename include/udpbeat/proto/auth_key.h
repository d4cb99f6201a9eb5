// The shared secret of STAMP authenticated mode (RFC 8762 §4.4), and the key file it is
// read from. RFC 8762 leaves key distribution out of scope: udpbeat reads the key from a
// file that only its owner may read, as ssh does with private keys.
#ifndef UDPBEAT_PROTO_AUTH_KEY_H_
#define UDPBEAT_PROTO_AUTH_KEY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"

namespace udpbeat {

// Key bytes, owned and move-only. The memory is overwritten with zeros (OPENSSL_cleanse,
// which the compiler cannot elide) when the key is destroyed or assigned over, so a key
// does not outlive its owner in freed heap memory. Moving transfers the buffer; no copy
// of the bytes is left behind.
class AuthKey {
 public:
  // A key file's bounds. At least 16 bytes: 128 bits, the strength of the 128-bit
  // truncated tag (RFC 2104 §3 recommends the hash's output length, 32 bytes, which is
  // what `head -c 32 /dev/urandom` gives). At most a size no real key reaches, so that a
  // wrong path (a log, a binary) is refused rather than used as a key.
  static constexpr size_t kMinFileKeySize = 16;
  static constexpr size_t kMaxFileKeySize = 1024;

  AuthKey() = default;  // empty
  // Copies `bytes`; any length (tests use RFC 4231's 4..131-byte keys).
  static AuthKey FromBytes(std::span<const uint8_t> bytes);

  AuthKey(AuthKey&& other) noexcept;
  AuthKey& operator=(AuthKey&& other) noexcept;
  AuthKey(const AuthKey&) = delete;
  AuthKey& operator=(const AuthKey&) = delete;
  ~AuthKey();

  std::span<const uint8_t> bytes() const noexcept { return {data_.get(), size_}; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  void Wipe() noexcept;

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

// Reads a key file: the key is the file's bytes with one trailing "\n" or "\r\n" removed
// (what `echo`, editors and `head -c 32 /dev/urandom | base64 >file` leave behind).
// Errors, each one message naming the path and never the file's contents:
//   NotFound / PermissionDenied / ...  the file cannot be opened or read (errno);
//   FailedPrecondition  not a regular file; or group/other permission bits set
//                       ("permissions 0644 for 'PATH' are too open: ... (chmod 600)");
//   InvalidArgument     empty, shorter than kMinFileKeySize or longer than kMaxFileKeySize.
// Setup path only (blocking I/O).
absl::StatusOr<AuthKey> LoadAuthKey(const std::string& path);

}  // namespace udpbeat

#endif  // UDPBEAT_PROTO_AUTH_KEY_H_
