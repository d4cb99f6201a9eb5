#include "udpbeat/http/gzip.h"

#include <libdeflate.h>

#include <memory>
#include <new>

#include "absl/cleanup/cleanup.h"

namespace udpbeat::http {

std::optional<std::string> Gzip(std::string_view in) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(1);
  if (c == nullptr) return std::nullopt;
  absl::Cleanup free_compressor = [c] { libdeflate_free_compressor(c); };
  // Compressed in one call into a buffer of the bound's size, left uninitialised: the
  // bound is about the input's size (32 MB for 10,000 targets) and only the compressed
  // size (1.7 MB) is ever written, so only that much is faulted in, once, then copied out.
  const size_t bound = libdeflate_gzip_compress_bound(c, in.size());
  std::unique_ptr<char[]> buf(new (std::nothrow) char[bound]);
  if (buf == nullptr) return std::nullopt;
  const size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), buf.get(), bound);
  if (n == 0) return std::nullopt;  // cannot happen with the bound's size; refuse, not guess
  std::string out(buf.get(), n);
  return out;
}

}  // namespace udpbeat::http
