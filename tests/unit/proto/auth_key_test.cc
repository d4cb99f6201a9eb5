#include "udpbeat/proto/auth_key.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace udpbeat {
namespace {

// A fresh directory per test, removed with its files afterwards.
class AuthKeyFile : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = testing::TempDir() + "udpbeat_auth_key_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& path : created_) ::unlink(path.c_str());
    ::rmdir(dir_.c_str());
  }

  // Writes `contents` to a new file with exactly `mode` (umask does not apply: fchmod).
  std::string Write(std::string_view name, std::string_view contents, mode_t mode = 0600) {
    const std::string path = dir_ + "/" + std::string(name);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << path;
    EXPECT_EQ(::write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
    EXPECT_EQ(::fchmod(fd, mode), 0);
    ::close(fd);
    created_.push_back(path);
    return path;
  }

  std::string dir_;
  std::vector<std::string> created_;
};

std::string KeyText(const AuthKey& key) {
  return std::string(key.bytes().begin(), key.bytes().end());
}

TEST_F(AuthKeyFile, KeyIsTheBytesWithOneTrailingNewlineRemoved) {
  const std::string k32 = "0123456789abcdef0123456789abcdef";
  struct Case {
    std::string contents;
    std::string want;
  } cases[] = {
      {k32, k32},
      {k32 + "\n", k32},
      {k32 + "\r\n", k32},
      {k32 + "\n\n", k32 + "\n"},                                 // one newline only
      {k32 + "\r", k32 + "\r"},                                   // a lone CR is key material
      {"\n" + k32, "\n" + k32},                                   // leading bytes are kept
      {std::string(16, 'k'), std::string(16, 'k')},               // the minimum
      {std::string(1024, 'k') + "\r\n", std::string(1024, 'k')},  // the maximum
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string path = Write("key" + std::to_string(i++), c.contents);
    absl::StatusOr<AuthKey> key = LoadAuthKey(path);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(KeyText(*key), c.want);
  }
  // Binary keys are fine too.
  const std::string binary("\x00\xff\x01\xfe\x00\x00\x80\x7f\x0a\x0d\x00\x01\x02\x03\x04\x05", 16);
  absl::StatusOr<AuthKey> key = LoadAuthKey(Write("binary", binary, 0400));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(KeyText(*key), binary);
}

TEST_F(AuthKeyFile, TooOpenPermissionsAreRefusedLikeSsh) {
  const std::string secret = "do-not-print-this-secret-key-123";
  for (mode_t mode : {0644, 0640, 0604, 0660, 0666, 0755, 0444}) {
    const std::string path = Write("open" + std::to_string(mode), secret, mode);
    absl::StatusOr<AuthKey> key = LoadAuthKey(path);
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
    char perm[8];
    std::snprintf(perm, sizeof perm, "%04o", static_cast<unsigned>(mode));
    EXPECT_EQ(key.status().message(),
              "permissions " + std::string(perm) + " for '" + path +
                  "' are too open: the key must not be readable by others (chmod 600)");
  }
  // Writable or executable by others without being readable: still refused.
  const std::string path = Write("group_writable", secret, 0620);
  absl::StatusOr<AuthKey> key = LoadAuthKey(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(),
            "permissions 0620 for '" + path +
                "' are too open: the key must not be accessible by others (chmod 600)");
  EXPECT_TRUE(LoadAuthKey(Write("owner_only", secret, 0600)).ok());
  EXPECT_TRUE(LoadAuthKey(Write("owner_read", secret, 0400)).ok());
}

TEST_F(AuthKeyFile, SizesOutsideTheBoundsAreRefused) {
  struct Case {
    std::string name;
    std::string contents;
    std::string message_tail;
  } cases[] = {
      {"empty", "", ": empty"},
      {"newline", "\n", ": empty"},
      {"crlf", "\r\n", ": empty"},
      {"short", "secret-15-bytes", ": the key is 15 bytes, at least 16 are needed"},
      {"short_nl", "secret-15-bytes\n", ": the key is 15 bytes, at least 16 are needed"},
      {"long", std::string(1025, 'x'), ": longer than 1024 bytes, too long to be a key"},
      {"long_nl", std::string(1025, 'x') + "\n", ": longer than 1024 bytes, too long to be a key"},
      {"huge", std::string(100000, 'x'), ": longer than 1024 bytes, too long to be a key"},
  };
  for (const Case& c : cases) {
    const std::string path = Write(c.name, c.contents);
    absl::StatusOr<AuthKey> key = LoadAuthKey(path);
    ASSERT_FALSE(key.ok()) << c.name;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(key.status().message(), "key file '" + path + "'" + c.message_tail) << c.name;
  }
}

TEST_F(AuthKeyFile, MessagesNameThePathNeverTheContents) {
  const std::string secret = "SECRETSECRET";  // too short: refused, and must not leak
  for (mode_t mode : {0600, 0644}) {
    const std::string path = Write("leak" + std::to_string(mode), secret, mode);
    absl::StatusOr<AuthKey> key = LoadAuthKey(path);
    ASSERT_FALSE(key.ok());
    EXPECT_NE(key.status().message().find(path), std::string_view::npos);
    EXPECT_EQ(key.status().message().find("SECRET"), std::string_view::npos)
        << key.status().message();
  }
}

TEST_F(AuthKeyFile, NotARegularFileOrMissingIsRefused) {
  absl::StatusOr<AuthKey> key = LoadAuthKey(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.status().message(), "key file '" + dir_ + "': not a regular file");

  // A FIFO with no writer: refused at once rather than waited on.
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  created_.push_back(fifo);
  key = LoadAuthKey(fifo);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(), "key file '" + fifo + "': not a regular file");

  key = LoadAuthKey("/dev/null");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(), "key file '/dev/null': not a regular file");

  const std::string missing = dir_ + "/missing";
  key = LoadAuthKey(missing);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(key.status().message(), "key file '" + missing + "': No such file or directory");
}

TEST(AuthKey, MoveLeavesTheSourceEmpty) {
  const std::vector<uint8_t> bytes = {1, 2, 3, 4, 5};
  AuthKey a = AuthKey::FromBytes(bytes);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(std::vector<uint8_t>(a.bytes().begin(), a.bytes().end()), bytes);
  AuthKey b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(std::vector<uint8_t>(b.bytes().begin(), b.bytes().end()), bytes);
  AuthKey c = AuthKey::FromBytes(std::vector<uint8_t>{9});
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.size(), 5u);
  EXPECT_TRUE(AuthKey::FromBytes({}).empty());
}

}  // namespace
}  // namespace udpbeat
