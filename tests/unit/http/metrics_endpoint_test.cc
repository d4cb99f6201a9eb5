#include "udpbeat/http/metrics_endpoint.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gunzip.h"
#include "udpbeat/base/unique_fd.h"

namespace udpbeat::http {
namespace {

// Every wait in these tests is bounded by this; none of them asserts how long anything took.
constexpr int kWaitMs = 10'000;

// A realistic exposition body: `targets` targets, each with a gauge and an RTT histogram.
std::string SampleBody(int targets) {
  std::string out =
      "# HELP udpbeat_up 1 up, 0 suspect or down (the detector's verdict).\n"
      "# TYPE udpbeat_up gauge\n";
  for (int i = 0; i < targets; ++i) {
    absl::StrAppend(&out, "udpbeat_up{target=\"10.0.", i / 250, ".", i % 250,
                    ":862\",site=\"ams\"} 1\n");
  }
  absl::StrAppend(&out, "# HELP udpbeat_rtt_seconds Round-trip time.\n",
                  "# TYPE udpbeat_rtt_seconds histogram\n");
  for (int i = 0; i < targets; ++i) {
    const std::string labels = absl::StrCat("target=\"10.0.", i / 250, ".", i % 250, ":862\"");
    int count = 0;
    for (const char* le : {"1e-05", "0.0001", "0.001", "0.01", "0.1", "1", "+Inf"}) {
      count += 3;
      absl::StrAppend(&out, "udpbeat_rtt_seconds_bucket{", labels, ",le=\"", le, "\"} ", count,
                      "\n");
    }
    absl::StrAppend(&out, "udpbeat_rtt_seconds_sum{", labels, "} 0.0123\n",
                    "udpbeat_rtt_seconds_count{", labels, "} ", count, "\n");
  }
  return out;
}

// Records where and how it was called, so tests can check the endpoint's thread.
class RecordingSource : public MetricsSource {
 public:
  explicit RecordingSource(std::string body) : body_(std::move(body)) {}

  uint64_t Version() const override {
    std::lock_guard lock(mu_);
    return version_;
  }
  std::string Render() const override {
    std::lock_guard lock(mu_);
    ++calls_;
    thread_ = std::this_thread::get_id();
    pthread_sigmask(SIG_BLOCK, nullptr, &mask_);
    return body_;
  }

  // A published snapshot: its body, under a new version.
  void Publish(std::string body) {
    std::lock_guard lock(mu_);
    body_ = std::move(body);
    ++version_;
  }

  std::string body() const {
    std::lock_guard lock(mu_);
    return body_;
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::optional<std::thread::id> thread() const {
    std::lock_guard lock(mu_);
    return thread_;
  }
  bool signal_blocked(int sig) const {
    std::lock_guard lock(mu_);
    return sigismember(&mask_, sig) == 1;
  }

 private:
  std::string body_;
  uint64_t version_ = kUnversioned;  // until the first Publish: rendered on every scrape
  mutable std::mutex mu_;
  mutable int calls_ = 0;
  mutable std::optional<std::thread::id> thread_;
  mutable sigset_t mask_{};
};

struct Response {
  std::string status_line;
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "<absent>" : it->second;
  }
};

// A minimal HTTP/1.1 client over a blocking socket: enough to check what the endpoint puts
// on the wire, byte for byte, with no HTTP library in between.
class Connection {
 public:
  static std::optional<Connection> Open(const SocketAddress& to) {
    UniqueFd fd(UniqueFd::kAdopt, ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::nullopt;
    const timeval tv{kWaitMs / 1000, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), to.data(), to.size()) != 0) return std::nullopt;
    return Connection(std::move(fd));
  }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; `head` says the request was HEAD (no body follows the headers).
  std::optional<Response> Read(bool head = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Response r;
    std::string_view text(buffer_.data(), end);
    size_t eol = text.find("\r\n");
    r.status_line = std::string(text.substr(0, eol));
    if (r.status_line.size() < 12 || !absl::SimpleAtoi(r.status_line.substr(9, 3), &r.status)) {
      return std::nullopt;
    }
    while (eol != std::string_view::npos) {
      text.remove_prefix(eol + 2);
      eol = text.find("\r\n");
      const std::string_view line = text.substr(0, eol);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      std::string name = absl::AsciiStrToLower(std::string(line.substr(0, colon)));
      std::string value(line.substr(colon + 1));
      absl::StripAsciiWhitespace(&value);
      if (!r.headers.emplace(std::move(name), std::move(value)).second) return std::nullopt;
    }
    buffer_.erase(0, end + 4);
    size_t length = 0;
    if (!head) {
      // The endpoint always knows its body's size; chunked or close-delimited is a defect.
      if (!absl::SimpleAtoi(r.header("content-length"), &length)) return std::nullopt;
    }
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }

  std::optional<Response> Request(const std::string& method, const std::string& path,
                                  const std::string& extra_headers = "") {
    if (!Send(absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: localhost\r\n", extra_headers,
                           "\r\n"))) {
      return std::nullopt;
    }
    return Read(method == "HEAD");
  }

  // True when the peer closes (EOF or reset) within kWaitMs, discarding what it sends first.
  bool WaitForClose() {
    char buf[65536];
    for (int i = 0; i < 100'000; ++i) {  // bounds the drain of a large response too
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, kWaitMs) != 1) return false;
      const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n < 0) return false;
    }
    return false;
  }

  // True when nothing arrives within `ms`. Used only where the right answer is "nothing
  // ever", so a slow machine cannot make it fail.
  bool SilentFor(int ms) {
    pollfd p{fd_.get(), POLLIN, 0};
    return ::poll(&p, 1, ms) == 0;
  }

  int fd() const { return fd_.get(); }

 private:
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}

  bool Fill() {
    char buf[65536];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  UniqueFd fd_;
  std::string buffer_;
};


SocketAddress Loopback4() { return *SocketAddress::ParseNumeric("127.0.0.1:0"); }

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void StartEndpoint(const MetricsEndpointOptions& options = {}) {
    auto endpoint = MetricsEndpoint::Start(Loopback4(), source_, options);
    ASSERT_TRUE(endpoint.ok()) << endpoint.status();
    endpoint_ = *std::move(endpoint);
  }
  std::optional<Connection> Open() {
    auto c = Connection::Open(endpoint_->address());
    if (!c)
      ADD_FAILURE() << "connect " << endpoint_->address().ToString() << ": "
                    << std::strerror(errno);
    return c;
  }

  RecordingSource source_{SampleBody(1)};
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

TEST_F(MetricsEndpointTest, GetMetricsReturnsTheRenderedBody) {
  StartEndpoint();
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r->header("content-length"), absl::StrCat(source_.body().size()));
  EXPECT_EQ(r->header("content-encoding"), "<absent>");
  EXPECT_EQ(r->header("vary"), "Accept-Encoding");
  EXPECT_EQ(r->body, source_.body());
  EXPECT_EQ(source_.calls(), 1);
}

TEST_F(MetricsEndpointTest, HeadSendsTheHeadersOfGetAndNoBody) {
  StartEndpoint();
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("HEAD", "/metrics", "Connection: close\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r->header("content-length"), absl::StrCat(source_.body().size()));
  // Connection: close, so the server closes right after the headers: the next read must
  // see the close, not body bytes.
  char byte;
  EXPECT_EQ(::recv(c->fd(), &byte, 1, 0), 0) << "bytes after a HEAD response's headers";
}

TEST_F(MetricsEndpointTest, KeepAliveServesSeveralScrapesOnOneConnection) {
  StartEndpoint();
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  for (int i = 0; i < 3; ++i) {
    auto r = c->Request("GET", "/metrics");
    ASSERT_TRUE(r.has_value()) << "scrape " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, source_.body());
  }
  EXPECT_EQ(source_.calls(), 3);
}

// An HA pair, or any two scrapers: the second scrape of a snapshot is served the body the
// first one rendered (and compressed), and a new snapshot is rendered anew.
TEST_F(MetricsEndpointTest, ScrapesOfOneSnapshotShareOneRendering) {
  RecordingSource fleet(SampleBody(500));
  fleet.Publish(SampleBody(500));
  auto endpoint = MetricsEndpoint::Start(Loopback4(), fleet);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  auto a = Connection::Open((*endpoint)->address());
  auto b = Connection::Open((*endpoint)->address());
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  const std::string gzip = "Accept-Encoding: gzip\r\n";

  const std::string first = fleet.body();
  for (auto* c : {&*a, &*b, &*a}) {
    auto plain = c->Request("GET", "/metrics");
    auto compressed = c->Request("GET", "/metrics", gzip);
    ASSERT_TRUE(plain.has_value());
    ASSERT_TRUE(compressed.has_value());
    EXPECT_TRUE(plain->body == first);
    EXPECT_EQ(compressed->header("content-encoding"), "gzip");
    auto inflated = Gunzip(compressed->body);
    ASSERT_TRUE(inflated.has_value());
    EXPECT_TRUE(*inflated == first);
  }
  EXPECT_EQ(fleet.calls(), 1) << "six scrapes of one snapshot";

  fleet.Publish(SampleBody(501));
  const std::string second = fleet.body();
  ASSERT_NE(second, first);
  auto compressed = b->Request("GET", "/metrics", gzip);
  ASSERT_TRUE(compressed.has_value());
  auto inflated = Gunzip(compressed->body);
  ASSERT_TRUE(inflated.has_value());
  EXPECT_TRUE(*inflated == second) << "a new snapshot must be rendered anew";
  auto head = a->Request("HEAD", "/metrics", gzip);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->header("content-length"), absl::StrCat(compressed->body.size()));
  EXPECT_EQ(fleet.calls(), 2);
}

TEST_F(MetricsEndpointTest, QueryStringIsIgnored) {
  StartEndpoint();
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics?name[]=udpbeat_up");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, source_.body());
}

TEST_F(MetricsEndpointTest, RootLinksToMetrics) {
  StartEndpoint();
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(r->body.find("<a href=\"/metrics\">"), std::string::npos) << r->body;
  EXPECT_EQ(source_.calls(), 0) << "the root page must not render the metrics";
}

TEST_F(MetricsEndpointTest, OtherPathsAreNotFound) {
  StartEndpoint();
  for (const char* path : {"/metrics/", "/metricsx", "/favicon.ico", "/index.html", "/m"}) {
    for (const char* method : {"GET", "HEAD", "POST"}) {
      auto c = Open();  // a refused method closes its connection
      ASSERT_TRUE(c.has_value());
      auto r = c->Request(method, path);
      ASSERT_TRUE(r.has_value()) << method << " " << path;
      EXPECT_EQ(r->status_line, "HTTP/1.1 404 Not Found") << method << " " << path;
    }
  }
  EXPECT_EQ(source_.calls(), 0);
}

TEST_F(MetricsEndpointTest, OtherMethodsAreNotAllowed) {
  StartEndpoint();
  for (const char* path : {"/metrics", "/"}) {
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
      auto c = Open();
      ASSERT_TRUE(c.has_value());
      auto r = c->Request(method, path);
      ASSERT_TRUE(r.has_value()) << method << " " << path;
      EXPECT_EQ(r->status_line, "HTTP/1.1 405 Method Not Allowed") << method << " " << path;
      EXPECT_EQ(r->header("allow"), "GET, HEAD") << method << " " << path;
    }
  }
  EXPECT_EQ(source_.calls(), 0);
}

TEST_F(MetricsEndpointTest, PostWithABodyIsRefusedWithoutReadingIt) {
  StartEndpoint();
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->Send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  auto r = c->Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405);
  EXPECT_TRUE(c->WaitForClose()) << "kept a connection whose body was left unread";
}

TEST_F(MetricsEndpointTest, GetWithABodyClosesTheConnection) {
  StartEndpoint();
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->Send("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  EXPECT_TRUE(c->WaitForClose());
  EXPECT_EQ(source_.calls(), 0);
}

TEST_F(MetricsEndpointTest, PortZeroReportsTheBoundPort) {
  StartEndpoint();
  EXPECT_EQ(endpoint_->address().family(), AF_INET);
  EXPECT_EQ(endpoint_->address().HostString(), "127.0.0.1");
  EXPECT_NE(endpoint_->address().port(), 0);
  auto c = Open();  // connects to address(), so the port is the real one
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(MetricsEndpointTest, Ipv6Loopback) {
  auto endpoint = MetricsEndpoint::Start(*SocketAddress::ParseNumeric("[::1]:0"), source_);
  if (!endpoint.ok() && absl::StrContains(endpoint.status().message(), "Cannot assign")) {
    GTEST_SKIP() << "no IPv6 loopback here: " << endpoint.status();
  }
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ((*endpoint)->address().family(), AF_INET6);
  EXPECT_NE((*endpoint)->address().port(), 0);
  auto c = Connection::Open((*endpoint)->address());
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, source_.body());
}

TEST_F(MetricsEndpointTest, BusyPortIsOneLineNamingTheAddress) {
  StartEndpoint();
  auto second = MetricsEndpoint::Start(endpoint_->address(), source_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            absl::StrCat("listen ", endpoint_->address().ToString(), ": Address already in use"));
  // The first endpoint is unharmed.
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(MetricsEndpointTest, InvalidArgumentsNameTheAddress) {
  EXPECT_EQ(MetricsEndpoint::Start(SocketAddress(), source_).status().code(),
            absl::StatusCode::kInvalidArgument);
  MetricsEndpointOptions no_connections;
  no_connections.max_connections = 0;
  auto a = MetricsEndpoint::Start(Loopback4(), source_, no_connections);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message(), "listen 127.0.0.1:0: connection limit must be positive");
  MetricsEndpointOptions no_timeout;
  no_timeout.connection_timeout = 0;
  auto b = MetricsEndpoint::Start(Loopback4(), source_, no_timeout);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b.status().message(), "listen 127.0.0.1:0: connection timeout must be positive");
}

TEST_F(MetricsEndpointTest, RenderRunsOnTheEndpointThreadWithControlSignalsBlocked) {
  // The test's own thread leaves these signals unblocked, so the endpoint's thread has them
  // blocked only if Start blocked them around the thread's creation.
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, nullptr, &before);
  for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) ASSERT_EQ(sigismember(&before, sig), 0);

  StartEndpoint();
  sigset_t after;
  pthread_sigmask(SIG_BLOCK, nullptr, &after);
  for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE}) {
    EXPECT_EQ(sigismember(&after, sig), sigismember(&before, sig))
        << "Start changed the caller's mask for signal " << sig;
  }

  auto c = Open();
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(source_.calls(), 1);
  ASSERT_TRUE(source_.thread().has_value());
  EXPECT_NE(*source_.thread(), std::this_thread::get_id());
  for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE}) {
    EXPECT_TRUE(source_.signal_blocked(sig)) << "signal " << sig << " reaches the endpoint";
  }
}

TEST_F(MetricsEndpointTest, IdleAndSlowClientsDoNotBlockAScrape) {
  RecordingSource big(SampleBody(20'000));  // about 13 MB: more than the socket buffers hold
  auto endpoint = MetricsEndpoint::Start(Loopback4(), big);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const SocketAddress& at = (*endpoint)->address();

  auto idle = Connection::Open(at);  // connects, sends nothing
  ASSERT_TRUE(idle.has_value());
  auto partial = Connection::Open(at);  // half a request line, never finished
  ASSERT_TRUE(partial.has_value());
  ASSERT_TRUE(partial->Send("GET /metr"));
  auto nonreader = Connection::Open(at);  // asks for the whole body, reads none of it
  ASSERT_TRUE(nonreader.has_value());
  ASSERT_TRUE(nonreader->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));

  auto scraper = Connection::Open(at);
  ASSERT_TRUE(scraper.has_value());
  auto r = scraper->Request("GET", "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), big.body().size());
  EXPECT_TRUE(r->body == big.body());
}

TEST_F(MetricsEndpointTest, ClientsThatHangUpMidResponseDoNotHurtTheEndpoint) {
  RecordingSource big(SampleBody(20'000));
  auto endpoint = MetricsEndpoint::Start(Loopback4(), big);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  for (int i = 0; i < 3; ++i) {
    auto quitter = Connection::Open((*endpoint)->address());
    ASSERT_TRUE(quitter.has_value());
    ASSERT_TRUE(quitter->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    char head[16];
    ASSERT_GT(::recv(quitter->fd(), head, sizeof head, 0), 0);  // the response has begun
    if (i % 2 == 1) {  // a reset rather than a FIN: the next send fails with ECONNRESET
      const linger reset{1, 0};
      ::setsockopt(quitter->fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
  }  // each closes with most of the body unsent: the endpoint's next send gets EPIPE/RST
  // Still serving, and this process (which leaves SIGPIPE at its default, fatal action) lives.
  auto c = Connection::Open((*endpoint)->address());
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == big.body());
}

TEST_F(MetricsEndpointTest, IdleConnectionIsClosedAfterTheTimeout) {
  MetricsEndpointOptions options;
  options.connection_timeout = 1;  // rounds up to libmicrohttpd's one second
  StartEndpoint(options);
  auto idle = Open();
  ASSERT_TRUE(idle.has_value());
  EXPECT_TRUE(idle->WaitForClose());
}

TEST_F(MetricsEndpointTest, ConnectionsBeyondTheLimitWaitForAFreeSlot) {
  MetricsEndpointOptions options;
  options.max_connections = 1;
  options.connection_timeout = 3600 * kNanosPerSecond;  // only the close frees the slot
  StartEndpoint(options);
  auto holder = Open();
  ASSERT_TRUE(holder.has_value());
  auto r = holder->Request("GET", "/metrics");  // proves the holder has the slot
  ASSERT_TRUE(r.has_value());

  auto waiting = Open();  // the kernel completes the handshake; the endpoint waits
  ASSERT_TRUE(waiting.has_value());
  ASSERT_TRUE(waiting->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(waiting->SilentFor(300)) << "served beyond max_connections";
  holder.reset();
  r = waiting->Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(MetricsEndpointTest, ConnectionsBeyondThePerAddressLimitAreClosed) {
  MetricsEndpointOptions options;
  options.max_connections_per_ip = 2;
  options.connection_timeout = 3600 * kNanosPerSecond;
  StartEndpoint(options);
  auto first = Open();
  ASSERT_TRUE(first.has_value());
  auto second = Open();
  ASSERT_TRUE(second.has_value());
  for (Connection* c : {&*first, &*second}) {  // both accepted and holding their slot
    auto r = c->Request("GET", "/");
    ASSERT_TRUE(r.has_value());
  }
  auto third = Open();
  ASSERT_TRUE(third.has_value());
  ASSERT_TRUE(third->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(third->WaitForClose());
  EXPECT_EQ(source_.calls(), 0);
}

TEST_F(MetricsEndpointTest, DestructionClosesOpenConnectionsPromptly) {
  MetricsEndpointOptions options;
  // Far beyond the test's own timeout: the connections below close because the endpoint
  // stops, not because they time out.
  options.connection_timeout = 3600 * kNanosPerSecond;
  StartEndpoint(options);
  const SocketAddress at = endpoint_->address();
  auto idle = Open();
  ASSERT_TRUE(idle.has_value());
  auto partial = Open();
  ASSERT_TRUE(partial.has_value());
  ASSERT_TRUE(partial->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
  auto kept_alive = Open();
  ASSERT_TRUE(kept_alive.has_value());
  ASSERT_TRUE(kept_alive->Request("GET", "/metrics").has_value());

  endpoint_.reset();
  EXPECT_TRUE(idle->WaitForClose());
  EXPECT_TRUE(partial->WaitForClose());
  EXPECT_TRUE(kept_alive->WaitForClose());
  EXPECT_FALSE(Connection::Open(at).has_value()) << "still listening after destruction";
}

struct GzipCase {
  const char* accept_encoding;  // nullptr: no header
  bool gzip;
};

TEST_F(MetricsEndpointTest, GzipFollowsAcceptEncoding) {
  RecordingSource big(SampleBody(500));
  ASSERT_GE(big.body().size(), MetricsEndpoint::kGzipMinBytes);
  auto endpoint = MetricsEndpoint::Start(Loopback4(), big);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const GzipCase cases[] = {
      {nullptr, false},
      {"gzip", true},
      {"GZip", true},
      {"x-gzip", true},
      {"gzip, deflate", true},  // what Prometheus sends, in effect
      {"deflate, gzip;q=0.5", true},
      {"gzip ; q=1.0", true},
      {"*", true},
      {"gzip;q=0", false},
      {"gzip;q=0.000", false},
      {"gzip;Q=0", false},
      {"*, gzip;q=0", false},
      {"*;q=0", false},
      {"gzip;q=bogus", false},
      {"identity", false},
      {"deflate", false},
      {"br", false},
      {"", false},
  };
  auto c = Connection::Open((*endpoint)->address());
  ASSERT_TRUE(c.has_value());
  for (const GzipCase& tc : cases) {
    const std::string label = tc.accept_encoding ? tc.accept_encoding : "<none>";
    const std::string header =
        tc.accept_encoding ? absl::StrCat("Accept-Encoding: ", tc.accept_encoding, "\r\n") : "";
    auto r = c->Request("GET", "/metrics", header);
    ASSERT_TRUE(r.has_value()) << label;
    EXPECT_EQ(r->status, 200) << label;
    EXPECT_EQ(r->header("vary"), "Accept-Encoding") << label;
    if (tc.gzip) {
      EXPECT_EQ(r->header("content-encoding"), "gzip") << label;
      EXPECT_LT(r->body.size(), big.body().size() / 4) << label;
      auto plain = Gunzip(r->body);
      ASSERT_TRUE(plain.has_value()) << label;
      EXPECT_TRUE(*plain == big.body()) << label;
    } else {
      EXPECT_EQ(r->header("content-encoding"), "<absent>") << label;
      EXPECT_TRUE(r->body == big.body()) << label;
    }
  }
}

TEST_F(MetricsEndpointTest, GzipSplitAcrossHeaderLines) {
  RecordingSource big(SampleBody(500));
  auto endpoint = MetricsEndpoint::Start(Loopback4(), big);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  auto c = Connection::Open((*endpoint)->address());
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics", "Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("content-encoding"), "gzip");
}

TEST_F(MetricsEndpointTest, SmallBodyIsNotCompressed) {
  ASSERT_LT(source_.body().size(), MetricsEndpoint::kGzipMinBytes);
  StartEndpoint();
  auto c = Open();
  ASSERT_TRUE(c.has_value());
  auto r = c->Request("GET", "/metrics", "Accept-Encoding: gzip\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("content-encoding"), "<absent>");
  EXPECT_EQ(r->body, source_.body());
}

TEST_F(MetricsEndpointTest, HeadWithGzipGivesTheCompressedLength) {
  RecordingSource big(SampleBody(500));
  auto endpoint = MetricsEndpoint::Start(Loopback4(), big);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  auto c = Connection::Open((*endpoint)->address());
  ASSERT_TRUE(c.has_value());
  auto get = c->Request("GET", "/metrics", "Accept-Encoding: gzip\r\n");
  auto head = c->Request("HEAD", "/metrics", "Accept-Encoding: gzip\r\n");
  ASSERT_TRUE(get.has_value());
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->header("content-encoding"), "gzip");
  EXPECT_EQ(head->header("content-length"), get->header("content-length"));
  EXPECT_TRUE(head->body.empty());
}

}  // namespace
}  // namespace udpbeat::http
