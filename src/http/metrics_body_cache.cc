#include "udpbeat/http/metrics_body_cache.h"

#include <optional>
#include <utility>

#include "udpbeat/http/gzip.h"

namespace udpbeat::http {

MetricsBodyCache::MetricsBodyCache(const MetricsSource& source, size_t gzip_min_bytes)
    : source_(source), gzip_min_bytes_(gzip_min_bytes) {}

MetricsBodyCache::Reply MetricsBodyCache::Get(bool accepts_gzip) {
  // Held while rendering: a second scrape of the same snapshot waits for this rendering
  // instead of doing its own. The endpoint runs one thread, so nothing else waits.
  std::lock_guard lock(mu_);
  const uint64_t version = source_.Version();
  const bool keep = version != MetricsSource::kUnversioned;
  if (!keep || version != version_) {
    // Dropped before rendering the new one: never two snapshots' bodies held here.
    plain_.reset();
    gzip_.reset();
    version_ = version;
  }
  if (accepts_gzip && gzip_ != nullptr) return {gzip_, true};

  Body plain = plain_;
  if (plain == nullptr) plain = std::make_shared<const std::string>(source_.Render());
  if (accepts_gzip && plain->size() >= gzip_min_bytes_) {
    if (std::optional<std::string> gz = Gzip(*plain)) {
      Body compressed = std::make_shared<const std::string>(*std::move(gz));
      if (keep) gzip_ = compressed;
      // `plain` is freed on return unless a plain scrape already kept it.
      return {std::move(compressed), true};
    }
    // Compression failed (out of memory): the uncompressed body is still a valid answer.
  }
  if (keep) plain_ = plain;
  return {std::move(plain), false};
}

}  // namespace udpbeat::http
