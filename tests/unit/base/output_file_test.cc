#include "udpbeat/base/output_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>

namespace udpbeat {
namespace {

using ::testing::HasSubstr;

// One fresh directory per test, removed with everything in it afterwards.
class OutputFileTest : public testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                       "/udpbeat_output_file_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    ::chmod(dir_.c_str(), 0755);
    for (const std::string& name : Entries()) ::unlink((dir_ + "/" + name).c_str());
    ::rmdir(dir_.c_str());
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::set<std::string> Entries() const {
    std::set<std::string> names;
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) return names;
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.insert(n);
    }
    ::closedir(d);
    return names;
  }

  std::string dir_;
};

std::string ReadAll(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<open failed>";
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

void WriteRaw(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

// Several pipe buffers (64 KiB each), so a FIFO writer must block and resume, and with no
// repeating period, so a lost or doubled chunk shows.
std::string BigText() {
  std::string s;
  for (int i = 0; s.size() < (1u << 20); ++i) s += std::to_string(i) + "\n";
  return s;
}

TEST_F(OutputFileTest, CreatesAnAbsentFileWithMode0644MinusUmask) {
  const mode_t old_umask = ::umask(027);
  const absl::Status st = WriteOutputFile(Path("m.prom"), "a 1\n");
  ::umask(old_umask);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(ReadAll(Path("m.prom")), "a 1\n");
  EXPECT_EQ(Lstat(Path("m.prom")).st_mode, S_IFREG | 0640);
  EXPECT_EQ(Entries(), std::set<std::string>{"m.prom"});
}

TEST_F(OutputFileTest, ReplacesARegularFileByRename) {
  WriteRaw(Path("m.prom"), std::string(100000, 'o'));
  const struct stat before = Lstat(Path("m.prom"));
  const std::string text = BigText();
  const absl::Status st = WriteOutputFile(Path("m.prom"), text);
  ASSERT_TRUE(st.ok()) << st;
  const struct stat after = Lstat(Path("m.prom"));
  // A new inode: the old file was replaced, not rewritten, so a reader that opened it
  // before still reads the complete old contents.
  EXPECT_NE(after.st_ino, before.st_ino);
  EXPECT_TRUE(S_ISREG(after.st_mode));
  EXPECT_EQ(ReadAll(Path("m.prom")), text);
  EXPECT_EQ(Entries(), std::set<std::string>{"m.prom"});
}

TEST_F(OutputFileTest, RelativePathIsReplacedInTheCurrentDirectory) {
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(dir_.c_str()), 0);
  const absl::Status st = WriteOutputFile("rel.prom", "x 1\n");
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(ReadAll(Path("rel.prom")), "x 1\n");
  EXPECT_EQ(Entries(), std::set<std::string>{"rel.prom"});
}

TEST_F(OutputFileTest, RefusesASymlinkToARegularFileAndChangesNeither) {
  WriteRaw(Path("target"), "precious\n");
  ASSERT_EQ(::symlink(Path("target").c_str(), Path("link").c_str()), 0);
  const absl::Status st = WriteOutputFile(Path("link"), "a 1\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), Path("link") + " is a symbolic link: refusing to replace it");
  EXPECT_TRUE(S_ISLNK(Lstat(Path("link")).st_mode));
  EXPECT_EQ(ReadAll(Path("target")), "precious\n");
  EXPECT_EQ(Entries(), (std::set<std::string>{"link", "target"}));
}

TEST_F(OutputFileTest, RefusesADanglingSymlinkAndCreatesNoTarget) {
  ASSERT_EQ(::symlink(Path("absent").c_str(), Path("link").c_str()), 0);
  const absl::Status st = WriteOutputFile(Path("link"), "a 1\n");
  EXPECT_EQ(st.message(), Path("link") + " is a symbolic link: refusing to replace it");
  EXPECT_EQ(Entries(), std::set<std::string>{"link"});
}

TEST_F(OutputFileTest, WritesAFifoInPlace) {
  ASSERT_EQ(::mkfifo(Path("fifo").c_str(), 0600), 0) << std::strerror(errno);
  const ino_t ino = Lstat(Path("fifo")).st_ino;
  // The read end is opened first (non-blocking, so it does not wait for a writer), then a
  // write end of our own, so the reader's blocking reads wait for data instead of seeing
  // EOF before WriteOutputFile opens the FIFO. EOF comes when both write ends are closed.
  const int rfd = ::open(Path("fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(rfd, 0) << std::strerror(errno);
  const int keep_wfd = ::open(Path("fifo").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(keep_wfd, 0) << std::strerror(errno);
  ASSERT_EQ(::fcntl(rfd, F_SETFL, ::fcntl(rfd, F_GETFL) & ~O_NONBLOCK), 0);
  std::string received;
  std::thread reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(rfd, buf, sizeof buf)) > 0) received.append(buf, static_cast<size_t>(n));
  });
  const std::string text = BigText();
  const absl::Status st = WriteOutputFile(Path("fifo"), text);
  // Whatever happened, WriteOutputFile has closed its end by now, so the reader sees EOF.
  ::close(keep_wfd);
  reader.join();
  ::close(rfd);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(received.size(), text.size());
  EXPECT_TRUE(received == text);
  const struct stat after = Lstat(Path("fifo"));
  EXPECT_TRUE(S_ISFIFO(after.st_mode));
  EXPECT_EQ(after.st_ino, ino);
  EXPECT_EQ(Entries(), std::set<std::string>{"fifo"});
}

TEST_F(OutputFileTest, AFifoWithoutReaderIsAnErrorNotAWait) {
  ASSERT_EQ(::mkfifo(Path("fifo").c_str(), 0600), 0) << std::strerror(errno);
  const absl::Status st = WriteOutputFile(Path("fifo"), "a 1\n");
  EXPECT_EQ(st.message(), "write " + Path("fifo") + ": no process has the FIFO open for reading");
  EXPECT_TRUE(S_ISFIFO(Lstat(Path("fifo")).st_mode));
  EXPECT_EQ(Entries(), std::set<std::string>{"fifo"});
}

TEST_F(OutputFileTest, WritesDevNullInPlace) {
  const absl::Status st = WriteOutputFile("/dev/null", "a 1\n");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(S_ISCHR(Lstat("/dev/null").st_mode));
}

TEST_F(OutputFileTest, FollowsASymlinkToACharacterDevice) {
  ASSERT_EQ(::symlink("/dev/null", Path("link").c_str()), 0);
  const absl::Status st = WriteOutputFile(Path("link"), "a 1\n");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(S_ISLNK(Lstat(Path("link")).st_mode));
  EXPECT_EQ(Entries(), std::set<std::string>{"link"});
}

// A device node with /dev/full's numbers, made in our own directory so the real /dev/full
// is never at risk even if the code under test is wrong.
TEST_F(OutputFileTest, DeviceWriteErrorIsReportedAndTheNodeIsKept) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  const std::string node = Path("full");
  if (::mknod(node.c_str(), S_IFCHR | 0600, ::makedev(1, 7)) != 0)
    GTEST_SKIP() << "mknod refused: " << std::strerror(errno);
  const int probe = ::open(node.c_str(), O_WRONLY | O_CLOEXEC);
  if (probe < 0) GTEST_SKIP() << "device nodes unusable here (nodev?): " << std::strerror(errno);
  ::close(probe);

  const absl::Status st = WriteOutputFile(node, "a 1\n");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "write " + node + ": No space left on device");
  const struct stat after = Lstat(node);
  EXPECT_TRUE(S_ISCHR(after.st_mode));
  EXPECT_EQ(after.st_rdev, ::makedev(1, 7));
  EXPECT_EQ(Entries(), std::set<std::string>{"full"});
}

TEST_F(OutputFileTest, RefusesABlockDevice) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  // Device number 0:0 has no driver: even a wrong implementation could not write a disk.
  if (::mknod(Path("blk").c_str(), S_IFBLK | 0600, ::makedev(0, 0)) != 0)
    GTEST_SKIP() << "mknod refused: " << std::strerror(errno);
  const absl::Status st = WriteOutputFile(Path("blk"), "a 1\n");
  EXPECT_EQ(st.message(), Path("blk") + " is a block device: refusing to write to it");
  EXPECT_TRUE(S_ISBLK(Lstat(Path("blk")).st_mode));
  EXPECT_EQ(Entries(), std::set<std::string>{"blk"});
}

TEST_F(OutputFileTest, ADirectoryIsAnError) {
  ASSERT_EQ(::mkdir(Path("d").c_str(), 0755), 0);
  const absl::Status st = WriteOutputFile(Path("d"), "a 1\n");
  EXPECT_EQ(st.message(), "write " + Path("d") + ": Is a directory");
  EXPECT_TRUE(S_ISDIR(Lstat(Path("d")).st_mode));
  ::rmdir(Path("d").c_str());
  EXPECT_TRUE(Entries().empty());
}

TEST_F(OutputFileTest, AMissingDirectoryIsAnError) {
  const absl::Status st = WriteOutputFile(Path("nodir/m.prom"), "a 1\n");
  EXPECT_EQ(st.message(), "write " + Path("nodir/m.prom") + ": create a temporary file in " +
                              Path("nodir") + ": No such file or directory");
}

// Root writes anywhere, so the thread that writes first drops CAP_DAC_OVERRIDE; capset(2)
// changes only the calling thread, and the thread ends right after.
TEST_F(OutputFileTest, AnUnwritableDirectoryIsAnErrorNamingThePath) {
  WriteRaw(Path("m.prom"), "old\n");
  ASSERT_EQ(::chmod(dir_.c_str(), 0555), 0);
  absl::Status st;
  bool caps_dropped = ::geteuid() != 0;
  std::thread writer([&] {
    if (!caps_dropped) {
      __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2]{};
      if (::syscall(SYS_capget, &hdr, data) != 0) return;
      data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
      if (::syscall(SYS_capset, &hdr, data) != 0) return;
      caps_dropped = true;
    }
    st = WriteOutputFile(Path("m.prom"), "new\n");
  });
  writer.join();
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  if (!caps_dropped) GTEST_SKIP() << "cannot drop CAP_DAC_OVERRIDE";
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(), "write " + Path("m.prom") + ": create a temporary file in " + dir_ +
                              ": Permission denied");
  EXPECT_EQ(ReadAll(Path("m.prom")), "old\n");
  EXPECT_EQ(Entries(), std::set<std::string>{"m.prom"});
}

// RLIMIT_FSIZE makes a write fail half-way (EFBIG) on any filesystem: the temporary file
// must go and the old file stay.
TEST_F(OutputFileTest, AFailedWriteRemovesTheTemporaryFile) {
  WriteRaw(Path("m.prom"), "old\n");
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct sigaction ignore {
  }, old_action{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 1000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const absl::Status st = WriteOutputFile(Path("m.prom"), BigText());
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &old_action, nullptr), 0);
  EXPECT_EQ(st.message(), "write " + Path("m.prom") + ": File too large");
  EXPECT_EQ(ReadAll(Path("m.prom")), "old\n");
  EXPECT_EQ(Entries(), std::set<std::string>{"m.prom"});
}

// fd 1 is swapped for a pipe for the duration of one call.
class StdoutRedirect {
 public:
  explicit StdoutRedirect(int fd) {
    std::fflush(stdout);
    saved_ = ::dup(STDOUT_FILENO);
    ::dup2(fd, STDOUT_FILENO);
  }
  ~StdoutRedirect() {
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

TEST(OutputFileStdoutTest, DevStdoutIsTheProcessStdout) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  absl::Status st;
  {
    StdoutRedirect redirect(p[1]);
    st = WriteOutputFile("/dev/stdout", "a 1\n");
  }
  ::close(p[1]);
  ASSERT_TRUE(st.ok()) << st;
  char buf[16];
  EXPECT_EQ(::read(p[0], buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "a 1\n");
  ::close(p[0]);
}

TEST(OutputFileStdoutTest, ABrokenPipeIsAnErrorNotSigpipe) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ::close(p[0]);
  absl::Status st;
  {
    StdoutRedirect redirect(p[1]);
    st = WriteOutputFile("/dev/stdout", "a 1\n");
  }
  ::close(p[1]);
  // Still running, so SIGPIPE was not delivered; it must not be left pending either, and
  // this thread's signal mask must be as it was.
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "write /dev/stdout: Broken pipe");
  sigset_t pending, mask;
  ASSERT_EQ(::sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_EQ(sigismember(&mask, SIGPIPE), 0);
}

TEST(OutputFileNameTest, AnEmptyNameIsAnError) {
  EXPECT_EQ(WriteOutputFile("", "x").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace udpbeat
