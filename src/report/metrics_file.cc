#include "udpbeat/report/metrics_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/base/unique_fd.h"

namespace udpbeat {
absl::Status WriteFileAtomically(const std::string& path, std::string_view text) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  const int raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (raw < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", tmp));
  UniqueFd fd(UniqueFd::kAdopt, raw);
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::unlink(tmp.c_str());
      return absl::ErrnoToStatus(e, absl::StrCat("write ", tmp));
    }
    off += static_cast<size_t>(n);
  }
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return absl::ErrnoToStatus(e, absl::StrCat("rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace udpbeat
