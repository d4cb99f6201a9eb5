// http::Gzip, read back by zlib (an independent decoder): what Prometheus' Go client would
// receive.
#include "udpbeat/http/gzip.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gunzip.h"

namespace udpbeat::http {
namespace {

TEST(GzipTest, RoundTripsThroughZlib) {
  std::string body;
  for (int i = 0; i < 20'000; ++i)
    absl::StrAppend(&body, "udpbeat_rtt_seconds_bucket{target=\"127.1.", i / 250, ".", i % 250,
                    ":9000\",le=\"0.0001\"} ", i * 7, "\n");
  for (const std::string& in : {std::string(), std::string("x"), body}) {
    const std::optional<std::string> gz = Gzip(in);
    ASSERT_TRUE(gz.has_value());
    ASSERT_GE(gz->size(), 18u);  // header and trailer (RFC 1952)
    EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
    EXPECT_EQ(Gunzip(*gz), in);
  }
  EXPECT_LT(Gzip(body)->size(), body.size() / 8);  // repetitive text compresses
}

}  // namespace
}  // namespace udpbeat::http
