// An std::ostream over a file descriptor (the process's standard output) that remembers
// why a write failed, so a full disk or a closed pipe ends the run with one clear line
// instead of output silently lost (`udpbeat ping ... > /dev/full`).
#ifndef UDPBEAT_BASE_FD_OUTPUT_H_
#define UDPBEAT_BASE_FD_OUTPUT_H_

#include <cstddef>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace udpbeat {

// Writes what is streamed into it to `fd`, which it borrows (never closes). Buffered like
// stdio's stdout: line by line when `fd` is a terminal, else in blocks, and always on
// flush (std::endl, std::flush); the destructor flushes what is left.
//
// On the first failed write(2) (any errno but EINTR; EAGAIN on a non-blocking fd is
// waited out with poll(2)) the stream goes bad (badbit: `!out` is true, so a writer can
// stop), the errno is kept, and everything after it is discarded: output never resumes
// with a gap in it. A reader that went away gives EPIPE only when SIGPIPE is ignored or
// blocked; otherwise the signal ends the process, as for any program.
//
// Thread: one writer at a time (an std::ostream is not synchronized).
class FdOutput final : public std::ostream {
 public:
  explicit FdOutput(int fd, size_t buffer_size = kDefaultBufferSize);
  ~FdOutput() override;
  FdOutput(const FdOutput&) = delete;
  FdOutput& operator=(const FdOutput&) = delete;

  static constexpr size_t kDefaultBufferSize = 64 << 10;

  // The errno of the first failed write, 0 while every write succeeded. Call flush()
  // first to know about the bytes still buffered.
  int write_errno() const noexcept { return buf_.write_errno(); }

  // OK, or the first write error naming `what`, as "write stdout: No space left on
  // device" (the code from the errno).
  absl::Status WriteStatus(std::string_view what) const;

 private:
  class Buf final : public std::streambuf {
   public:
    Buf(int fd, size_t size);
    int write_errno() const noexcept { return errno_; }

   protected:
    int_type overflow(int_type ch) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

   private:
    // Writes `n` bytes at `p` in full, or records the error; false once failed.
    bool WriteAll(const char* p, size_t n) noexcept;
    bool Drain() noexcept;  // the buffer to the fd

    int fd_;
    bool line_buffered_;
    int errno_ = 0;
    std::string buffer_;
  };

  Buf buf_;
};

}  // namespace udpbeat

#endif  // UDPBEAT_BASE_FD_OUTPUT_H_
