// Test helper: zlib's inflate of one gzip member, an implementation independent of the
// libdeflate that udpbeat compresses with.
#ifndef UDPBEAT_TESTS_UNIT_HTTP_GUNZIP_H_
#define UDPBEAT_TESTS_UNIT_HTTP_GUNZIP_H_

#include <zlib.h>

#include <optional>
#include <string>
#include <string_view>

namespace udpbeat::http {

// The data of a complete gzip member that is all of `in`; nullopt otherwise.
inline std::optional<std::string> Gunzip(std::string_view in) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return std::nullopt;  // gzip wrapper only
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    char buf[65536];
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  const bool complete = rc == Z_STREAM_END && zs.avail_in == 0;
  inflateEnd(&zs);
  if (!complete) return std::nullopt;
  return out;
}

}  // namespace udpbeat::http

#endif  // UDPBEAT_TESTS_UNIT_HTTP_GUNZIP_H_
