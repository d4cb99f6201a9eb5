// Writing a user-named output file (metrics textfile, plot) without ever clobbering
// something that is not an ordinary file: the rules depend on what PATH is right now.
#ifndef UDPBEAT_BASE_OUTPUT_FILE_H_
#define UDPBEAT_BASE_OUTPUT_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace udpbeat {

// Writes `contents` to `path`, chosen by what `path` is (lstat, so a symlink is seen as one):
//  - absent or a regular file: written to a new hidden file in the same directory
//    (".NAME.tmp.RANDOM", created O_EXCL with mode 0644 minus umask) and renamed over
//    `path`, so a reader (the node_exporter textfile collector) sees the old or the new
//    contents, never a mix. The replaced file's mode, owner and hard links are not kept.
//    No fsync: see output_file.cc.
//  - "/dev/stdout" or "/dev/stderr": written to this process's fd 1 or 2 (gawk's rule for
//    these names), whatever they are redirected to.
//  - a character device or FIFO (/dev/null, /dev/tty, a named pipe), directly or through
//    a symlink: opened and written in place, never renamed over. Opening never waits: a
//    FIFO with no reader is an error. Writing blocks like any write to a pipe. A reader
//    that goes away gives EPIPE, not SIGPIPE.
//  - any other symlink: refused ("PATH is a symbolic link: refusing to replace it"), so
//    neither the link nor its target changes; a block device, socket or directory: refused.
// Errors name `path`, e.g. "write /dev/full: No space left on device"; codes come from the
// errno (absl::ErrnoToStatus), refusals are kFailedPrecondition. On every error the
// temporary file is removed. Thread-safe; blocking, so not for an event loop's hot path.
absl::Status WriteOutputFile(const std::string& path, std::string_view contents);

}  // namespace udpbeat

#endif  // UDPBEAT_BASE_OUTPUT_FILE_H_
