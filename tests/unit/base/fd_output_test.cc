#include "udpbeat/base/fd_output.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <string>
#include <string_view>
#include <thread>

#include "gtest/gtest.h"
#include "udpbeat/base/unique_fd.h"

namespace udpbeat {
namespace {

// Everything readable from `fd` now (it is non-blocking).
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

class FdOutputPipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    read_ = UniqueFd(UniqueFd::kAdopt, fds[0]);
    write_ = UniqueFd(UniqueFd::kAdopt, fds[1]);
  }
  UniqueFd read_, write_;
};

TEST_F(FdOutputPipeTest, BuffersUntilFlushThenWritesInOrder) {
  FdOutput out(write_.get(), 16);
  out << "abc" << 12;
  EXPECT_EQ(ReadAll(read_.get()), "");  // a pipe is not a terminal: block buffered
  out << std::endl;
  EXPECT_EQ(ReadAll(read_.get()), "abc12\n");
  out << std::string(40, 'x') << "y";  // larger than the buffer
  out << "z" << std::flush;
  EXPECT_EQ(ReadAll(read_.get()), std::string(40, 'x') + "yz");
  EXPECT_TRUE(out.good());
  EXPECT_EQ(out.write_errno(), 0);
  EXPECT_TRUE(out.WriteStatus("stdout").ok());
}

TEST_F(FdOutputPipeTest, DestructorFlushes) {
  {
    FdOutput out(write_.get());
    out << "left over";
  }
  EXPECT_EQ(ReadAll(read_.get()), "left over");
}

TEST_F(FdOutputPipeTest, WaitsOutANonBlockingFullPipe) {
  // 1 MiB through a non-blocking pipe of 64 KiB: the writer meets EAGAIN many times and
  // must wait for the reader, not fail.
  constexpr size_t kTotal = 1 << 20;
  std::string got;
  std::thread reader([&] {
    pollfd pfd{read_.get(), POLLIN, 0};
    while (got.size() < kTotal && ::poll(&pfd, 1, 10'000) > 0) got += ReadAll(read_.get());
  });
  FdOutput out(write_.get(), 4096);
  const std::string chunk(1000, 'a');
  for (size_t sent = 0; sent < kTotal; sent += chunk.size())
    out << std::string_view(chunk).substr(0, std::min(chunk.size(), kTotal - sent));
  out << std::flush;
  reader.join();
  EXPECT_TRUE(out.good());
  EXPECT_EQ(out.write_errno(), 0);
  EXPECT_EQ(got.size(), kTotal);
}

TEST(FdOutputTest, DevFullFailsWithItsErrnoAndStaysFailed) {
  UniqueFd full(UniqueFd::kAdopt, ::open("/dev/full", O_WRONLY | O_CLOEXEC));
  if (!full.valid()) GTEST_SKIP() << "no /dev/full";
  FdOutput out(full.get());
  out << "hello";
  EXPECT_TRUE(out.good());  // still in the buffer
  out << std::endl;
  EXPECT_FALSE(out.good());
  EXPECT_TRUE(out.bad());
  EXPECT_EQ(out.write_errno(), ENOSPC);
  EXPECT_EQ(out.WriteStatus("stdout").message(), "write stdout: No space left on device");
  EXPECT_EQ(out.WriteStatus("stdout").code(), absl::StatusCode::kResourceExhausted);
  out.clear();
  out << "more" << std::flush;  // the first error is kept; nothing is written after it
  EXPECT_EQ(out.write_errno(), ENOSPC);
  EXPECT_FALSE(out.good());
}

TEST(FdOutputTest, ABadDescriptorIsAWriteError) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  ::close(fds[1]);  // fds[1] is now a closed descriptor
  FdOutput out(fds[1]);
  out << "x" << std::flush;
  EXPECT_EQ(out.write_errno(), EBADF);
  EXPECT_EQ(out.WriteStatus("stdout").message(), "write stdout: Bad file descriptor");
}

TEST(FdOutputTest, ALargeWriteFailsAtOnce) {
  UniqueFd full(UniqueFd::kAdopt, ::open("/dev/full", O_WRONLY | O_CLOEXEC));
  if (!full.valid()) GTEST_SKIP() << "no /dev/full";
  FdOutput out(full.get(), 4);
  out << "0123456789";  // bypasses the buffer
  EXPECT_TRUE(out.bad());
  EXPECT_EQ(out.write_errno(), ENOSPC);
}

}  // namespace
}  // namespace udpbeat
