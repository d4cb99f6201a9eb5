#include "udpbeat/targets/targets_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace udpbeat {
namespace {

using ::testing::HasSubstr;

measure::Labels L(std::vector<std::pair<std::string, std::string>> v) { return v; }

TEST(ParseTargetsTest, TheExampleFormat) {
  constexpr std::string_view kText =
      "# a comment\n"
      "\n"
      "ams-db1.example.net           site=ams role=db\n"
      "ams-web1.example.net:862\tsite=ams  role=web   # trailing comment\n"
      "   \t  \n"
      "192.0.2.21                    site=fra role=web\n"
      "[2001:db8::21]:862            site=fra role=web\n"
      "2001:db8::22\n"
      "fra-lb1.example.net:12000     site=fra role=lb\r\n"
      "    # indented comment\n"
      "127.0.0.1:65535 k=v";  // no final newline
  auto got = ParseTargets(kText, "targets");
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<TargetLine> want = {
      {"ams-db1.example.net", L({{"site", "ams"}, {"role", "db"}}), 3},
      {"ams-web1.example.net:862", L({{"site", "ams"}, {"role", "web"}}), 4},
      {"192.0.2.21", L({{"site", "fra"}, {"role", "web"}}), 6},
      {"[2001:db8::21]:862", L({{"site", "fra"}, {"role", "web"}}), 7},
      {"2001:db8::22", {}, 8},
      {"fra-lb1.example.net:12000", L({{"site", "fra"}, {"role", "lb"}}), 9},
      {"127.0.0.1:65535", L({{"k", "v"}}), 11},
  };
  EXPECT_EQ(*got, want);
}

TEST(ParseTargetsTest, EmptyAndCommentOnlyTextsListNothing) {
  for (std::string_view text : {"", "\n\n", "# only\n  # comments\n", " \t\r\n"}) {
    auto got = ParseTargets(text, "f");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->empty());
  }
}

TEST(ParseTargetsTest, LabelValuesKeepWhatIsNotASpace) {
  auto got = ParseTargets("h a=b=c u=\xC3\xA9t\xC3\xA9 q=\"x\\y\" _k9=1\n", "f");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].labels,
            L({{"a", "b=c"}, {"u", "\xC3\xA9t\xC3\xA9"}, {"q", "\"x\\y\""}, {"_k9", "1"}}));
}

struct BadCase {
  std::string_view text;
  std::string_view message;  // the whole message, origin and line included
};

class ParseTargetsErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseTargetsErrorTest, NamesFileAndLine) {
  auto got = ParseTargets(GetParam().text, "/etc/udpbeat/targets");
  ASSERT_FALSE(got.ok()) << GetParam().text;
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(got.status().message()), std::string(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseTargetsErrorTest,
    ::testing::Values(
        BadCase{"a\nb\na\n",
                "/etc/udpbeat/targets:3: target 'a' is already listed on line 1"},
        BadCase{"# x\nh:0\n",
                "/etc/udpbeat/targets:2: target 'h:0': port 0 is out of range: give 1 to 65535"},
        BadCase{"h:65536\n",
                "/etc/udpbeat/targets:1: target 'h:65536': port 65536 is out of range: give 1 "
                "to 65535"},
        BadCase{"h:+23000\n",
                "/etc/udpbeat/targets:1: target 'h:+23000': port '+23000' is not a number: give "
                "1 to 65535"},
        BadCase{"h:0x10\n",
                "/etc/udpbeat/targets:1: target 'h:0x10': port '0x10' is not a number: give 1 "
                "to 65535"},
        BadCase{"h:\n",
                "/etc/udpbeat/targets:1: target 'h:': empty port (give 1 to 65535, or no ':')"},
        BadCase{"h:9999999999999\n",
                "/etc/udpbeat/targets:1: target 'h:9999999999999': port 9999999999999 is out of "
                "range: give 1 to 65535"},
        BadCase{":862\n", "/etc/udpbeat/targets:1: target ':862': empty host"},
        BadCase{"[::1\n", "/etc/udpbeat/targets:1: target '[::1': missing ']'"},
        BadCase{"[::1]862\n",
                "/etc/udpbeat/targets:1: target '[::1]862': junk after ']' (write "
                "[ADDRESS]:PORT)"},
        BadCase{"[db1]:862\n",
                "/etc/udpbeat/targets:1: target '[db1]:862': not an IPv6 address in brackets"},
        BadCase{"db/1\n",
                "/etc/udpbeat/targets:1: target 'db/1': not a host name or address (write "
                "HOST[:PORT])"},
        BadCase{"site=ams h\n",
                "/etc/udpbeat/targets:1: the line starts with 'site=ams', not a target (write "
                "HOST[:PORT] key=value ...)"},
        BadCase{"h site\n",
                "/etc/udpbeat/targets:1: 'site' is not key=value (one target a line: "
                "HOST[:PORT] key=value ...)"},
        BadCase{"h other.host\n",
                "/etc/udpbeat/targets:1: 'other.host' is not key=value (one target a line: "
                "HOST[:PORT] key=value ...)"},
        BadCase{"h site=a site=b\n", "/etc/udpbeat/targets:1: label 'site' is given twice"},
        BadCase{"h site=\n", "/etc/udpbeat/targets:1: label 'site' has no value"},
        BadCase{"h =x\n",
                "/etc/udpbeat/targets:1: label '': not a Prometheus label name (letters, "
                "digits and '_', not starting with a digit)"},
        BadCase{"h 9a=x\n",
                "/etc/udpbeat/targets:1: label '9a': not a Prometheus label name (letters, "
                "digits and '_', not starting with a digit)"},
        BadCase{"h a-b=x\n",
                "/etc/udpbeat/targets:1: label 'a-b': not a Prometheus label name (letters, "
                "digits and '_', not starting with a digit)"},
        BadCase{"h __name__=x\n",
                "/etc/udpbeat/targets:1: label '__name__': names starting with __ are "
                "Prometheus'"},
        BadCase{"h job=x\n",
                "/etc/udpbeat/targets:1: label 'job' is reserved (udpbeat and Prometheus set "
                "target, state, direction, path, src_port, le, job and instance)"},
        BadCase{"h a=b#c\n",
                "/etc/udpbeat/targets:1: '#' inside 'a=b#c': a comment starts after a space or "
                "tab"},
        BadCase{"h a=\x01\n",
                "/etc/udpbeat/targets:1: label 'a': its value has a control character"},
        BadCase{"h a=\xC3\n", "/etc/udpbeat/targets:1: label 'a': its value is not valid UTF-8"},
        BadCase{"h a=\xC0\xAF\n",  // an overlong '/'
                "/etc/udpbeat/targets:1: label 'a': its value is not valid UTF-8"},
        BadCase{"h a=\xED\xA0\x80\n",  // a surrogate
                "/etc/udpbeat/targets:1: label 'a': its value is not valid UTF-8"}));

TEST(CheckLabelKeyTest, EveryReservedNameIsRefused) {
  for (std::string_view key :
       {"target", "state", "direction", "path", "src_port", "le", "job", "instance"}) {
    EXPECT_THAT(std::string(CheckLabelKey(key).message()), HasSubstr("is reserved")) << key;
  }
  for (std::string_view key : {"site", "Role", "_x", "a_1", "targets", "_le"})
    EXPECT_TRUE(CheckLabelKey(key).ok()) << key;
}

TEST(CheckTargetTest, Forms) {
  for (std::string_view ok : {"localhost", "127.0.0.1", "127.0.0.1:1", "h:65535", "::1",
                              "[::1]", "[::1]:862", "fe80::1%eth0", "[fe80::1%eth0]:862",
                              "::ffff:192.0.2.1", "under_score.example"}) {
    EXPECT_TRUE(CheckTarget(ok).ok()) << ok << ": " << CheckTarget(ok);
  }
  for (std::string_view bad : {"", "127.0.0.1:0", "[::1]:0", "[::1]:", "h:-1", "h: 1",
                               "h:1 ", "a b", "[]:862", "fe80::1%", "x=y", "-x", ".h",
                               "-h:862"}) {
    EXPECT_FALSE(CheckTarget(bad).ok()) << bad;
  }
  EXPECT_EQ(CheckTarget("127.0.0.1:0").message(),
            "target '127.0.0.1:0': port 0 is out of range: give 1 to 65535");
}

TEST(AppendTargetsTest, RefusesATargetGivenTwice) {
  std::vector<TargetLine> all;
  ASSERT_TRUE(AppendTargets(all, {{"a", {}, 0}}, "").ok());
  ASSERT_TRUE(AppendTargets(all, {{"b", {}, 0}}, "").ok());
  EXPECT_EQ(AppendTargets(all, {{"a", {}, 0}}, "").message(), "target 'a' is given twice");
  EXPECT_EQ(AppendTargets(all, {{"c", {}, 1}, {"b", {}, 4}}, "t.txt").message(),
            "t.txt:4: target 'b' is also given on the command line");
  EXPECT_EQ(all.size(), 2u);  // nothing of a refused batch is kept past the error
}

class LoadTargetsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/targets_test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir_.data()), nullptr);
  }
  void TearDown() override {
    ::unlink((dir_ + "/t").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string Write(std::string_view text) {
    const std::string path = dir_ + "/t";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    return path;
  }
  std::string dir_;
};

TEST_F(LoadTargetsFileTest, ReadsAndNamesTheFileInErrors) {
  const std::string path = Write("a x=1\nb\n");
  auto got = LoadTargetsFile(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 2u);
  Write("a\nb:0\n");
  EXPECT_EQ(LoadTargetsFile(path).status().message(),
            path + ":2: target 'b:0': port 0 is out of range: give 1 to 65535");
}

TEST_F(LoadTargetsFileTest, MissingFileAndDirectory) {
  auto missing = LoadTargetsFile(dir_ + "/nosuch");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "targets file " + dir_ + "/nosuch: No such file or directory");
  auto directory = LoadTargetsFile(dir_);
  EXPECT_FALSE(directory.ok());
  EXPECT_THAT(std::string(directory.status().message()), HasSubstr("Is a directory"));
}

// contrib/targets.example documents the format for users: it must parse as it says.
TEST(TargetsExampleTest, ParsesAsDocumented) {
  const char* root = std::getenv("UDPBEAT_SOURCE_ROOT");
  if (root == nullptr) GTEST_SKIP() << "UDPBEAT_SOURCE_ROOT not set (meson sets it)";
  auto got = LoadTargetsFile(std::string(root) + "/contrib/targets.example");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 5u);
  EXPECT_EQ((*got)[3].target, "[2001:db8::21]:862");
  EXPECT_EQ((*got)[3].labels, L({{"site", "fra"}, {"role", "web"}}));
}

}  // namespace
}  // namespace udpbeat
