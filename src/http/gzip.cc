#include "udpbeat/http/gzip.h"

#include <libdeflate.h>

#include "absl/cleanup/cleanup.h"

namespace udpbeat::http {

std::optional<std::string> Gzip(std::string_view in) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(1);
  if (c == nullptr) return std::nullopt;
  absl::Cleanup free_compressor = [c] { libdeflate_free_compressor(c); };
  // Sized by the bound, compressed in one call: no growth, no copies. The string's
  // zero-fill of the bound is the price of std::string; it is a fraction of the compression.
  std::string out(libdeflate_gzip_compress_bound(c, in.size()), '\0');
  const size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), out.data(), out.size());
  if (n == 0) return std::nullopt;  // cannot happen with the bound's size; refuse, not guess
  out.resize(n);
  return out;
}

}  // namespace udpbeat::http
