#include "udpbeat/base/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "udpbeat/base/unique_fd.h"

namespace udpbeat {
namespace {

// A metrics snapshot is rewritten every interval, so a write does not pay for an fsync:
// after a crash the next snapshot replaces whatever survived, and an fsync per interval
// could stall the writing thread for seconds on a busy disk. This is the textfile
// collector convention too (write a temporary file, mv it into place, no sync).

// The temporary name must stay within NAME_MAX (255) with the ".tmp." and 16 hex digits.
constexpr size_t kMaxBaseInTempName = 200;
constexpr int kTempNameAttempts = 16;

// Writes all of `data`, retrying partial writes and EINTR. Returns 0 or an errno.
int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    // write(2) of a non-zero count never returns 0 on files, pipes or ttys; looping on it
    // would never end.
    if (n == 0) return EIO;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// close(2) can report a failed delayed write (NFS, quota). Linux closes the fd even when
// close fails, EINTR included, so it is never retried.
int CloseChecked(UniqueFd fd) {
  if (::close(fd.Release()) == 0 || errno == EINTR) return 0;
  return errno;
}

// A write to a pipe whose reader has gone raises SIGPIPE, whose default action ends the
// process. The signal is blocked in this thread for the writes and, when they failed with
// EPIPE, the pending SIGPIPE they raised is consumed before the old mask comes back (unless
// one was already pending, which is not ours to take).
class SigpipeSuppressor {
 public:
  SigpipeSuppressor() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    blocked_ = ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_mask_) == 0;
  }
  SigpipeSuppressor(const SigpipeSuppressor&) = delete;
  SigpipeSuppressor& operator=(const SigpipeSuppressor&) = delete;

  void set_epipe() { epipe_ = true; }

  ~SigpipeSuppressor() {
    if (!blocked_) return;
    const int saved_errno = errno;
    if (epipe_ && !was_pending_) {
      const timespec zero{};
      while (::sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    errno = saved_errno;
  }

 private:
  sigset_t pipe_;
  sigset_t old_mask_;
  bool was_pending_ = false;
  bool blocked_ = false;
  bool epipe_ = false;
};

int WriteAllNoSigpipe(int fd, std::string_view data) {
  SigpipeSuppressor guard;
  const int err = WriteAll(fd, data);
  if (err == EPIPE) guard.set_epipe();
  return err;
}

absl::Status WriteError(int err, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat("write ", path));
}

absl::Status RefuseSymlink(const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat(path, " is a symbolic link: refusing to replace it"));
}

// /dev/stdout and /dev/stderr are written through the fds the process already has: reopening
// /proc/self/fd/N would start a redirected regular file over at offset 0.
absl::Status WriteToOwnFd(int fd, const std::string& path, std::string_view contents) {
  if (const int err = WriteAllNoSigpipe(fd, contents); err != 0) return WriteError(err, path);
  return absl::OkStatus();
}

// A character device or FIFO, written where it is. `through_symlink` says lstat saw a link:
// only then may open(2) follow one. O_NONBLOCK makes the open fail at once (ENXIO) on a FIFO
// with no reader, and not wait for carrier on a serial tty; it is cleared before writing,
// since a non-blocking pipe that fills up would leave the reader half a snapshot.
absl::Status WriteInPlace(const std::string& path, std::string_view contents, bool through_symlink,
                          bool fifo) {
  const int flags =
      O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | (through_symlink ? 0 : O_NOFOLLOW);
  const int raw = ::open(path.c_str(), flags);
  if (raw < 0) {
    const int err = errno;
    if (err == ENXIO && fifo)
      return absl::FailedPreconditionError(
          absl::StrCat("write ", path, ": no process has the FIFO open for reading"));
    if (err == ELOOP && !through_symlink) return RefuseSymlink(path);  // swapped in since lstat
    return WriteError(err, path);
  }
  UniqueFd fd(UniqueFd::kAdopt, raw);
  // What was opened is what gets written: a symlink may point elsewhere by now, and without
  // O_TRUNC the open itself changed nothing.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return WriteError(errno, path);
  if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    if (through_symlink) return RefuseSymlink(path);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " changed while being opened: refusing to write to it"));
  }
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) return WriteError(errno, path);
  if (const int err = WriteAllNoSigpipe(fd.get(), contents); err != 0) return WriteError(err, path);
  if (const int err = CloseChecked(std::move(fd)); err != 0) return WriteError(err, path);
  return absl::OkStatus();
}

// Absent or regular: a new file next to it, renamed over it. rename(2) replaces the
// directory entry itself, so even if PATH became a symlink since lstat, no target changes.
absl::Status ReplaceAtomically(const std::string& path, std::string_view contents) {
  const size_t slash = path.rfind('/');
  const std::string dir_prefix = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = path.substr(dir_prefix.size());
  if (base.empty() || base == "." || base == "..")
    return absl::InvalidArgumentError(absl::StrCat("write ", path, ": not a file name"));
  // For messages: "." for a bare name, "/" for a file in the root, else without the slash.
  const std::string dir = dir_prefix.empty()       ? "."
                          : dir_prefix.size() == 1 ? dir_prefix
                                                   : path.substr(0, slash);

  // Hidden and not ending in ".prom": the textfile collector reads only *.prom, and a
  // random suffix makes the name unguessable for anyone else who can write the directory.
  absl::BitGen gen;
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < kTempNameAttempts && !fd; ++attempt) {
    tmp = absl::StrCat(dir_prefix, ".", base.substr(0, kMaxBaseInTempName), ".tmp.",
                       absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
    // O_EXCL: never an existing file, and never through a symlink planted at that name.
    // Mode 0644 minus umask, as for any file the user's shell would create.
    const int raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (raw >= 0) {
      fd.Reset(raw);
    } else if (errno != EEXIST) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("write ", path, ": create a temporary file in ", dir));
    }
  }
  if (!fd)
    return absl::ErrnoToStatus(EEXIST,
                               absl::StrCat("write ", path, ": create a temporary file in ", dir));
  absl::Cleanup remove_tmp = [&tmp] { ::unlink(tmp.c_str()); };

  if (const int err = WriteAll(fd.get(), contents); err != 0) return WriteError(err, path);
  if (const int err = CloseChecked(std::move(fd)); err != 0) return WriteError(err, path);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("replace ", path));
  std::move(remove_tmp).Cancel();
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteOutputFile(const std::string& path, std::string_view contents) {
  if (path.empty()) return absl::InvalidArgumentError("write: empty file name");
  if (path == "/dev/stdout") return WriteToOwnFd(STDOUT_FILENO, path, contents);
  if (path == "/dev/stderr") return WriteToOwnFd(STDERR_FILENO, path, contents);

  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ReplaceAtomically(path, contents);
    return WriteError(errno, path);
  }
  if (S_ISREG(st.st_mode)) return ReplaceAtomically(path, contents);
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
    return WriteInPlace(path, contents, /*through_symlink=*/false, S_ISFIFO(st.st_mode));
  if (S_ISLNK(st.st_mode)) {
    // Following a link is safe only to something that cannot be truncated or replaced; a
    // link to a regular file is how a writable directory (/tmp) turns a write into
    // clobbering another file, so the rule is to refuse rather than guess.
    struct stat target;
    const bool to_device_or_fifo =
        ::stat(path.c_str(), &target) == 0 && (S_ISCHR(target.st_mode) || S_ISFIFO(target.st_mode));
    if (to_device_or_fifo)
      return WriteInPlace(path, contents, /*through_symlink=*/true, S_ISFIFO(target.st_mode));
    return RefuseSymlink(path);
  }
  if (S_ISDIR(st.st_mode)) return WriteError(EISDIR, path);
  // Writing a snapshot at offset 0 of a disk is never what an output file name meant.
  if (S_ISBLK(st.st_mode))
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is a block device: refusing to write to it"));
  return absl::FailedPreconditionError(
      absl::StrCat(path, " is a socket or other special file: cannot write to it"));
}

}  // namespace udpbeat
