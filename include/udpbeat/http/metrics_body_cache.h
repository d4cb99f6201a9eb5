// The /metrics bodies of the newest snapshot a scrape saw, rendered (and compressed) once
// and shared by every scrape of that snapshot.
//
// A fleet's body is tens of MB (34 MB for 10,000 targets) and rendering plus compressing
// it takes a good part of a scrape's time budget; a Prometheus HA pair, a second scraper or
// a person with curl hitting the same agent within one snapshot period would each pay it
// again. The bodies are immutable and reference-counted: a response holds its own
// reference, so a body outlives the cache's hold on it while it is being sent, and a
// response is sent straight from it (no copy per scrape).
//
// Memory: the cache holds at most one plain and one gzip body, both of one snapshot (the
// newest a scrape saw). A scrape that accepts gzip keeps only the compressed body (1.8 MB
// for 10,000 targets), the plain one it was compressed from being freed at once; the plain
// body (34 MB) is kept only once a scrape asked for it uncompressed. A superseded body is
// freed when the next scrape sees a new snapshot and no response is still sending it.
#ifndef UDPBEAT_HTTP_METRICS_BODY_CACHE_H_
#define UDPBEAT_HTTP_METRICS_BODY_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace udpbeat::http {

// What a /metrics endpoint serves. Version() and Render() run on the endpoint's thread
// (under the cache's lock, so never concurrently with each other); both must be safe
// against the caller's other threads, e.g. by reading a snapshot the event loop published.
// The endpoint never calls into the event loop.
class MetricsSource {
 public:
  // Version() for a source whose body may differ from one call to the next: every scrape
  // renders.
  static constexpr uint64_t kUnversioned = 0;

  virtual ~MetricsSource() = default;
  // Names the snapshot Render() would render now: a value other than kUnversioned that
  // changes whenever the body would. Called before Render(), so a snapshot published
  // between the two calls at worst costs one more rendering, never a stale body.
  virtual uint64_t Version() const { return kUnversioned; }
  virtual std::string Render() const = 0;
};

class MetricsBodyCache {
 public:
  using Body = std::shared_ptr<const std::string>;
  // What a scrape sends: `body` never null; `gzip` says it is a gzip member (RFC 1952) of
  // the rendered text, to be sent with "Content-Encoding: gzip".
  struct Reply {
    Body body;
    bool gzip = false;
  };

  // `source` must outlive the cache. Bodies shorter than `gzip_min_bytes` are never
  // compressed.
  MetricsBodyCache(const MetricsSource& source, size_t gzip_min_bytes);
  MetricsBodyCache(const MetricsBodyCache&) = delete;
  MetricsBodyCache& operator=(const MetricsBodyCache&) = delete;

  // The body of the source's current snapshot, compressed when `accepts_gzip` and the body
  // is long enough (uncompressed when compression fails: out of memory). Renders only when
  // no body of this snapshot is held, compresses only when no compressed one is. Safe to
  // call from several threads; one caller renders while the others wait for its result.
  Reply Get(bool accepts_gzip);

 private:
  const MetricsSource& source_;
  const size_t gzip_min_bytes_;
  std::mutex mu_;
  uint64_t version_ = MetricsSource::kUnversioned;  // of plain_ and gzip_
  Body plain_;
  Body gzip_;
};

}  // namespace udpbeat::http

#endif  // UDPBEAT_HTTP_METRICS_BODY_CACHE_H_
