// gzip (RFC 1952) of a whole buffer, for "Content-Encoding: gzip" bodies.
//
// The endpoint has the whole /metrics body in memory before it answers, so a whole-buffer
// compressor fits, and it is the scrape's largest cost: Debian's libdeflate at level 1
// compresses a 10,000-target body (32 MB) in about half the time zlib's fastest level
// takes, to a slightly smaller result (bench/metrics_bench.cc, BM_Gzip10kTargets).
#ifndef UDPBEAT_HTTP_GZIP_H_
#define UDPBEAT_HTTP_GZIP_H_

#include <optional>
#include <string>
#include <string_view>

namespace udpbeat::http {

// The gzip member holding `in`, at the fastest level: Prometheus text is so repetitive that
// it already shrinks about 18-fold. nullopt when out of memory.
std::optional<std::string> Gzip(std::string_view in);

}  // namespace udpbeat::http

#endif  // UDPBEAT_HTTP_GZIP_H_
