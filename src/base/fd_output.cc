#include "udpbeat/base/fd_output.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"

namespace udpbeat {

FdOutput::Buf::Buf(int fd, size_t size)
    : fd_(fd), line_buffered_(::isatty(fd) == 1), buffer_(size > 0 ? size : 1, '\0') {
  setp(buffer_.data(), buffer_.data() + buffer_.size());
}

bool FdOutput::Buf::WriteAll(const char* p, size_t n) noexcept {
  while (n > 0 && errno_ == 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w >= 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Standard output inherited in non-blocking mode (a shared terminal or pipe whose
      // other user set O_NONBLOCK): wait until it takes more, as a blocking fd would.
      pollfd pfd{fd_, POLLOUT, 0};
      if (::poll(&pfd, 1, -1) >= 0 || errno == EINTR) continue;
    }
    errno_ = errno;
  }
  return errno_ == 0;
}

bool FdOutput::Buf::Drain() noexcept {
  const size_t n = static_cast<size_t>(pptr() - pbase());
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  // After a failure the bytes are dropped: output must not resume past a gap.
  return errno_ == 0 && WriteAll(buffer_.data(), n);
}

FdOutput::Buf::int_type FdOutput::Buf::overflow(int_type ch) {
  if (!Drain()) return traits_type::eof();
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  *pptr() = traits_type::to_char_type(ch);
  pbump(1);
  if (line_buffered_ && traits_type::to_char_type(ch) == '\n' && !Drain())
    return traits_type::eof();
  return ch;
}

std::streamsize FdOutput::Buf::xsputn(const char* s, std::streamsize n) {
  if (errno_ != 0) return 0;
  const size_t len = static_cast<size_t>(n);
  const size_t room = static_cast<size_t>(epptr() - pptr());
  if (len <= room) {
    std::memcpy(pptr(), s, len);
    pbump(static_cast<int>(len));
  } else {
    // Larger than what is left: out with the buffer, then the text itself when it would
    // not fit an empty buffer either.
    if (!Drain()) return 0;
    if (len >= buffer_.size()) {
      if (!WriteAll(s, len)) return 0;
      return n;
    }
    std::memcpy(pptr(), s, len);
    pbump(static_cast<int>(len));
  }
  if (line_buffered_ && std::memchr(s, '\n', len) != nullptr && !Drain()) return 0;
  return n;
}

int FdOutput::Buf::sync() { return Drain() ? 0 : -1; }

FdOutput::FdOutput(int fd, size_t buffer_size) : std::ostream(nullptr), buf_(fd, buffer_size) {
  rdbuf(&buf_);
}

FdOutput::~FdOutput() { flush(); }

absl::Status FdOutput::WriteStatus(std::string_view what) const {
  if (buf_.write_errno() == 0) return absl::OkStatus();
  return absl::ErrnoToStatus(buf_.write_errno(), absl::StrCat("write ", AbslView(what)));
}

}  // namespace udpbeat
