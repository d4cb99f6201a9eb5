// The HTTP endpoint Prometheus scrapes: GET /metrics, served by libmicrohttpd on its own
// thread so that a scrape never runs on, blocks or slows the event loop.
//
//   GET|HEAD /metrics  200, "text/plain; version=0.0.4; charset=utf-8", body
//                      MetricsSource::Render(); gzip-compressed when the client accepts gzip
//                      and the body is larger than about a packet. Rendered and compressed
//                      once per snapshot (MetricsSource::Version()): every further scrape
//                      of that snapshot is sent from the same body (MetricsBodyCache)
//   GET|HEAD /         200, a small HTML page that links to /metrics
//   other paths        404;  other methods on / or /metrics: 405 with "Allow: GET, HEAD"
//
// Bounds: at most `max_connections` open connections (further ones wait in the kernel's
// listen backlog until one closes), at most `max_connections_per_ip` from one client address
// (further ones are closed at once, so one misbehaving host cannot take every slot), and a
// connection that makes no progress for `connection_timeout` is closed. Each connection
// holds at most kConnectionMemoryBytes for its request plus a reference to the shared body
// it is sending: bodies beyond the cache's (MetricsBodyCache) are those of superseded
// snapshots still being sent, at most one per connection. Sockets are non-blocking: a
// client that sends slowly, reads slowly or sits idle occupies one slot and never holds up
// another connection's scrape.
#ifndef UDPBEAT_HTTP_METRICS_ENDPOINT_H_
#define UDPBEAT_HTTP_METRICS_ENDPOINT_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "udpbeat/http/metrics_body_cache.h"
#include "udpbeat/net/socket_address.h"
#include "udpbeat/time/clock.h"

namespace udpbeat::http {

struct MetricsEndpointOptions {
  unsigned max_connections = 16;
  // 0: no per-address limit. Prometheus keeps one connection per target, so 4 leaves room
  // for an HA pair and a person with curl behind one NAT address.
  unsigned max_connections_per_ip = 4;
  // Idle time after which a connection is closed; rounded up to whole seconds (libmicrohttpd's
  // unit), at most about 49 days. Must be positive.
  Nanos connection_timeout = 10 * kNanosPerSecond;
};

// A listen address for the endpoint: "ADDR:PORT" with a numeric ADDR (an IPv6 one in
// brackets), or ":PORT" for every address, as Prometheus' exporters take it: [::], which
// Start() makes accept IPv4 too (IPV6_V6ONLY off), or 0.0.0.0 on a kernel without IPv6.
// Errors quote `text`. Port 0 is returned as such (the caller decides).
absl::StatusOr<SocketAddress> ParseListenAddress(std::string_view text);

class MetricsEndpoint {
 public:
  // libmicrohttpd's memory pool per connection, bytes: the read buffer, the request's parsed
  // headers and the response's headers. A request whose headers do not fit is answered with
  // an error status and its connection closed.
  static constexpr size_t kConnectionMemoryBytes = 32 * 1024;
  // Bodies below this are sent uncompressed even when gzip is accepted: compressing less
  // than about a packet saves no round trip and costs a gzip header.
  static constexpr size_t kGzipMinBytes = 1400;

  // Binds and listens on `address` (an IPv4 or IPv6 address; port 0: the kernel picks one;
  // [::] takes IPv4 too, whatever net.ipv6.bindv6only says) and starts serving `source`, which must outlive the endpoint. Errors name the address:
  // "listen 127.0.0.1:9100: Address already in use" (the errno's StatusCode), InvalidArgument
  // for a non-IP address or a zero limit or timeout, Internal when libmicrohttpd fails to start.
  // The caller's signal mask is unchanged on return. The endpoint's thread is created with
  // SIGINT, SIGTERM, SIGQUIT, SIGHUP and SIGPIPE blocked: the process's control signals are
  // never delivered to it (they stay for the caller's signalfd), and a client that hangs up
  // cannot kill the process.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const SocketAddress& address, const MetricsSource& source,
      const MetricsEndpointOptions& options = {});

  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  // Stops serving: closes the listening socket and every open connection, and joins the
  // endpoint's thread. Waits for a Render() in progress, never for clients or timeouts.
  ~MetricsEndpoint();

  // The bound address (with the kernel's port when asked for port 0).
  const SocketAddress& address() const { return address_; }

 private:
  struct Daemon;  // libmicrohttpd's state, kept out of this header
  MetricsEndpoint(SocketAddress address, std::unique_ptr<Daemon> daemon);

  SocketAddress address_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace udpbeat::http

#endif  // UDPBEAT_HTTP_METRICS_ENDPOINT_H_
