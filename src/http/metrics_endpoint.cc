#include "udpbeat/http/metrics_endpoint.h"

#include <microhttpd.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "udpbeat/base/absl_view.h"
#include "udpbeat/base/status_macros.h"
#include "udpbeat/base/unique_fd.h"
#include "udpbeat/http/metrics_body_cache.h"
#include "udpbeat/net/udp_socket.h"

namespace udpbeat::http {

namespace {

// What the handler and the logger see; owned by MetricsEndpoint::Daemon.
struct ServingState {
  explicit ServingState(const MetricsSource& source)
      : bodies(source, MetricsEndpoint::kGzipMinBytes) {}

  MetricsBodyCache bodies;
  // libmicrohttpd reports why it failed to start only through its logger. The logger stays
  // installed for the daemon's life and may run on its thread, hence the lock; after a
  // successful start its messages (e.g. "connection limit reached") are dropped: this
  // component has no place to print to, and clients must not be able to fill a log.
  std::mutex log_mu;
  bool capturing_log = true;
  std::string start_log;
};

constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kRootPage[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>udpbeat</title></head>\n"
    "<body><h1>udpbeat</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";
constexpr char kNotFound[] = "404 page not found: udpbeat serves /metrics\n";
constexpr char kMethodNotAllowed[] = "405 method not allowed: use GET or HEAD\n";

std::string_view Trim(std::string_view s, std::string_view chars = " \t") {
  const size_t begin = s.find_first_not_of(chars);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(chars) - begin + 1);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(AbslView(a), AbslView(b));
}

void LogStartFailure(void* cls, const char* format, va_list ap) {
  auto& state = *static_cast<ServingState*>(cls);
  std::lock_guard lock(state.log_mu);
  if (!state.capturing_log) return;
  char line[256];
  std::vsnprintf(line, sizeof line, format, ap);
  const std::string_view text = Trim(line, " \t\r\n");
  if (text.empty()) return;
  if (!state.start_log.empty()) state.start_log += "; ";
  state.start_log += text;
}

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
// Anything that is not a positive qvalue counts as a refusal: when in doubt, send identity.
bool PositiveQvalue(std::string_view q) {
  if (q.empty() || (q[0] != '0' && q[0] != '1')) return false;
  bool nonzero = q[0] == '1';
  for (size_t i = 1; i < q.size(); ++i) {
    const char c = q[i];
    if (i == 1 ? c != '.' : !absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    if (c >= '1' && c <= '9') nonzero = true;
  }
  return nonzero;
}

// What one Accept-Encoding value says about gzip. RFC 9110 §12.5.3: a list of
// `coding *( OWS ";" OWS param )`, q=0 meaning "not acceptable"; "*" covers codings not
// listed; x-gzip is gzip.
struct GzipAcceptance {
  std::optional<bool> gzip;  // listed as gzip or x-gzip: acceptable?
  std::optional<bool> any;   // listed as "*": acceptable?
  bool accepted() const { return gzip.has_value() ? *gzip : any.value_or(false); }
};

void ScanAcceptEncoding(std::string_view value, GzipAcceptance& acceptance) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    std::string_view element = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);

    const size_t semi = element.find(';');
    const std::string_view coding = Trim(element.substr(0, semi));
    bool acceptable = true;
    std::string_view params =
        semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1);
    while (!params.empty()) {
      const size_t next = params.find(';');
      const std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (param.size() >= 2 && EqualsIgnoreCase(param.substr(0, 2), "q=")) {
        acceptable = PositiveQvalue(Trim(param.substr(2)));
      }
    }

    std::optional<bool>* slot = nullptr;
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
      slot = &acceptance.gzip;
    } else if (coding == "*") {
      slot = &acceptance.any;
    }
    // Listed twice: a refusal wins, so a contradictory header never gets gzip.
    if (slot != nullptr) *slot = slot->value_or(true) && acceptable;
  }
}

MHD_Result ScanHeader(void* cls, MHD_ValueKind /*kind*/, const char* key, const char* value) {
  if (key != nullptr && value != nullptr &&
      EqualsIgnoreCase(key, MHD_HTTP_HEADER_ACCEPT_ENCODING)) {
    ScanAcceptEncoding(value, *static_cast<GzipAcceptance*>(cls));
  }
  return MHD_YES;
}

bool AcceptsGzip(MHD_Connection* connection) {
  GzipAcceptance acceptance;
  // Every Accept-Encoding line, not just the first: a list may be split across lines.
  MHD_get_connection_values(connection, MHD_HEADER_KIND, ScanHeader, &acceptance);
  return acceptance.accepted();
}

using Body = MetricsBodyCache::Body;

// libmicrohttpd's free callback: the response's reference to its body goes.
void ReleaseBody(void* reference) { delete static_cast<Body*>(reference); }

struct Header {
  const char* name;
  const char* value;
};

// Queues `body`, sent from the shared buffer itself: the response holds a reference of its
// own, released by libmicrohttpd when the response is destroyed (sent, or its connection
// closed), so the body outlives every response sending it whatever the cache does meanwhile.
// MHD_NO makes libmicrohttpd close the connection, the only answer left when out of memory.
MHD_Result Respond(MHD_Connection* connection, unsigned status, Body body,
                   std::initializer_list<Header> headers) {
  auto* reference = new Body(std::move(body));
  // libmicrohttpd's buffer is not const, but it only reads a response's buffer.
  MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
      (*reference)->size(), const_cast<char*>((*reference)->data()), ReleaseBody, reference);
  if (response == nullptr) {
    delete reference;
    return MHD_NO;
  }
  absl::Cleanup destroy = [response] { MHD_destroy_response(response); };
  for (const Header& h : headers) {
    if (MHD_add_response_header(response, h.name, h.value) != MHD_YES) return MHD_NO;
  }
  // The connection keeps its own reference until the response is sent.
  return MHD_queue_response(connection, status, response);
}

// The fixed pages: a few hundred bytes, copied per request.
MHD_Result Respond(MHD_Connection* connection, unsigned status, const char* text,
                   std::initializer_list<Header> headers) {
  return Respond(connection, status, std::make_shared<const std::string>(text), headers);
}

// The HTTP thread's nice value (see HandleRequest).
constexpr int kScrapeNice = 10;

MHD_Result HandleRequest(void* cls, MHD_Connection* connection, const char* url, const char* method,
                         const char* /*version*/, const char* /*upload_data*/,
                         size_t* upload_data_size, void** request_state) {
  auto& state = *static_cast<ServingState*>(cls);
  // Rendering and compressing a fleet's body takes tenths of a second of CPU; on a busy
  // or one-core host it must not hold the probe loop back (measured: 12,000 false
  // suspects during scrapes of 10,000 targets, bench/RESULTS.md (e)). Nice 10 gives the
  // loop about nine tenths of a contended CPU; SCHED_IDLE was tried and starved scrapes
  // outright when the host was busy (the ASan soak's scrapes timed out), and an agent
  // whose metrics vanish under load is no better. Lowering needs no privilege.
  thread_local bool lowered = ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()),
                                            kScrapeNice) == 0;
  (void)lowered;
  const std::string_view path = url;
  const bool known_path = path == "/" || path == "/metrics";
  const std::string_view verb = method;
  const bool get_or_head = verb == MHD_HTTP_METHOD_GET || verb == MHD_HTTP_METHOD_HEAD;

  // libmicrohttpd calls once when the headers are in, then again once the request is
  // complete. A response queued on the first call makes it close the connection after
  // sending (it cannot know what the unread rest holds); that is right for a method we
  // refuse, whose body is then never read, and wrong for a scrape, which Prometheus sends
  // on a kept-alive connection.
  static char headers_seen;
  if (*request_state == nullptr) {
    if (!get_or_head) {
      if (!known_path) {
        return Respond(connection, MHD_HTTP_NOT_FOUND, kNotFound,
                       {{MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8"}});
      }
      return Respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, kMethodNotAllowed,
                     {{MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8"},
                      {MHD_HTTP_HEADER_ALLOW, "GET, HEAD"}});
    }
    *request_state = &headers_seen;
    return MHD_YES;
  }
  // A GET or HEAD that carries a body: nothing we serve takes one, and discarding it would
  // mean reading it. Closing the connection is the bounded answer.
  if (*upload_data_size != 0) return MHD_NO;

  if (!known_path) {
    return Respond(connection, MHD_HTTP_NOT_FOUND, kNotFound,
                   {{MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8"}});
  }
  if (path == "/") {
    return Respond(connection, MHD_HTTP_OK, kRootPage,
                   {{MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8"}});
  }
  // HEAD gets the body too, so its Content-Length is the one a GET would get; libmicrohttpd
  // leaves the body out.
  MetricsBodyCache::Reply reply = state.bodies.Get(AcceptsGzip(connection));
  if (reply.gzip) {
    return Respond(connection, MHD_HTTP_OK, std::move(reply.body),
                   {{MHD_HTTP_HEADER_CONTENT_TYPE, kMetricsContentType},
                    {MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip"},
                    {MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING}});
  }
  return Respond(connection, MHD_HTTP_OK, std::move(reply.body),
                 {{MHD_HTTP_HEADER_CONTENT_TYPE, kMetricsContentType},
                  {MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING}});
}

// Whether this kernel has IPv6 (not booted with ipv6.disable=1, built with it).
bool HaveIpv6() {
  UniqueFd fd(UniqueFd::kAdopt, ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return static_cast<bool>(fd) || errno != EAFNOSUPPORT;
}

absl::StatusOr<UniqueFd> Listen(const SocketAddress& address) {
  // SOCK_NONBLOCK: the endpoint's one thread must never block in accept() (libmicrohttpd
  // would set it too, but only after logging a failure we could not report).
  UniqueFd fd(UniqueFd::kAdopt,
              ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return absl::ErrnoToStatus(errno, absl::StrCat("listen ", address.ToString()));
  // Without SO_REUSEADDR a restarted agent cannot bind while connections of its previous run
  // sit in TIME_WAIT. On Linux it does not let two live listeners share a port.
  const int one = 1;
  // [::] is every address, IPv4's included, as ":PORT" promises: not left to the
  // net.ipv6.bindv6only sysctl.
  const int zero = 0;
  if (address.family() == AF_INET6 &&
      IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr) &&
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("listen ", address.ToString()));
  }
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(fd.get(), address.data(), address.size()) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("listen ", address.ToString()));
  }
  return fd;
}

// Blocks the process's control signals in the calling thread for this object's life, so
// threads created meanwhile inherit a mask that leaves those signals to the signalfd.
class ScopedBlockedSignals {
 public:
  ScopedBlockedSignals() {
    sigset_t block;
    sigemptyset(&block);
    for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE}) sigaddset(&block, sig);
    ok_ = pthread_sigmask(SIG_BLOCK, &block, &saved_) == 0;
  }
  ~ScopedBlockedSignals() {
    if (ok_) pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }
  ScopedBlockedSignals(const ScopedBlockedSignals&) = delete;
  ScopedBlockedSignals& operator=(const ScopedBlockedSignals&) = delete;
  bool ok() const { return ok_; }

 private:
  sigset_t saved_;
  bool ok_ = false;
};

}  // namespace

struct MetricsEndpoint::Daemon {
  explicit Daemon(const MetricsSource& source) : state(source) {}

  ServingState state;
  MHD_Daemon* mhd = nullptr;

  ~Daemon() {
    if (mhd != nullptr) MHD_stop_daemon(mhd);
  }
};

absl::StatusOr<SocketAddress> ParseListenAddress(std::string_view text) {
  if (text.empty() || text.front() != ':' || text.find(':', 1) != std::string_view::npos)
    return SocketAddress::ParseNumeric(text, 0);
  // ":PORT": dual-stack [::], as Go's net.Listen(":PORT") in the exporters; IPv4 only
  // where there is no IPv6 (a [::] socket could not even be opened there).
  const std::string any = HaveIpv6() ? "[::]" : "0.0.0.0";
  const std::string full = absl::StrCat(any, AbslView(text));
  absl::StatusOr<SocketAddress> a = SocketAddress::ParseNumeric(full, 0);
  if (a.ok()) return a;
  return absl::Status(a.status().code(),
                      absl::StrReplaceAll(a.status().message(),
                                          {{absl::StrCat("'", full, "'"),
                                            absl::StrCat("'", AbslView(text), "'")}}));
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const SocketAddress& address, const MetricsSource& source,
    const MetricsEndpointOptions& options) {
  const std::string what = absl::StrCat("listen ", address.ToString());
  if (address.family() != AF_INET && address.family() != AF_INET6) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not an IPv4 or IPv6 address"));
  }
  if (options.max_connections == 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": connection limit must be positive"));
  }
  if (options.connection_timeout <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": connection timeout must be positive"));
  }
  const Nanos timeout_seconds =
      (options.connection_timeout + kNanosPerSecond - 1) / kNanosPerSecond;
  // libmicrohttpd 0.9.75 multiplies the seconds by 1000 in unsigned int: cap below the wrap
  // (about 49 days, longer than any sensible idle timeout).
  constexpr Nanos kMaxTimeoutSeconds = UINT_MAX / 1000;
  const unsigned timeout = static_cast<unsigned>(std::min(timeout_seconds, kMaxTimeoutSeconds));

  UDPBEAT_ASSIGN_OR_RETURN(UniqueFd listener, Listen(address));
  UDPBEAT_ASSIGN_OR_RETURN(SocketAddress bound, LocalAddress(listener.get()));

  auto daemon = std::make_unique<Daemon>(source);
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (address.family() == AF_INET6) flags |= MHD_USE_IPv6;
  {
    ScopedBlockedSignals blocked;
    if (!blocked.ok()) {
      return absl::InternalError(absl::StrCat(what, ": cannot block signals for its thread"));
    }
    // From here libmicrohttpd owns the socket: it closes it on stop and on most of its
    // failure paths, but not all; leaking it on those beats closing it twice.
    // One option and its value(s) per line.
    // clang-format off
    daemon->mhd = MHD_start_daemon(
        flags, 0, nullptr, nullptr, HandleRequest, &daemon->state,
        // The logger first, so no startup message goes to libmicrohttpd's stderr default.
        MHD_OPTION_EXTERNAL_LOGGER, LogStartFailure, &daemon->state,
        MHD_OPTION_LISTEN_SOCKET, listener.Release(),
        MHD_OPTION_CONNECTION_LIMIT, options.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, options.max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(kConnectionMemoryBytes),
        MHD_OPTION_END);
    // clang-format on
  }
  std::string start_log;
  {
    std::lock_guard lock(daemon->state.log_mu);
    daemon->state.capturing_log = false;
    start_log = std::move(daemon->state.start_log);
  }
  if (daemon->mhd == nullptr) {
    return absl::InternalError(absl::StrCat(what, ": libmicrohttpd did not start",
                                            start_log.empty() ? "" : ": ", start_log));
  }
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(bound, std::move(daemon)));
}

MetricsEndpoint::MetricsEndpoint(SocketAddress address, std::unique_ptr<Daemon> daemon)
    : address_(address), daemon_(std::move(daemon)) {}

MetricsEndpoint::~MetricsEndpoint() = default;

}  // namespace udpbeat::http
