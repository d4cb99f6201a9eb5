// MetricsBodyCache: one rendering (and one compression) per snapshot, shared by every
// scrape of it; a new snapshot renders anew; gzip read back by zlib.
#include "udpbeat/http/metrics_body_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gunzip.h"

namespace udpbeat::http {
namespace {

constexpr size_t kGzipMin = 1400;

// A source as the loop's snapshot is: a body and the version it was published under.
class FakeSource : public MetricsSource {
 public:
  uint64_t Version() const override { return version_; }
  std::string Render() const override {
    ++renders_;
    return body_;
  }

  void Publish(std::string body) {
    body_ = std::move(body);
    ++version_;
  }
  void set_version(uint64_t v) { version_ = v; }
  const std::string& body() const { return body_; }
  int renders() const { return renders_; }

 private:
  std::string body_;
  uint64_t version_ = kUnversioned;
  mutable int renders_ = 0;
};

// Exposition-like text of `lines` lines: long enough to be compressed.
std::string Body(int lines, int seed) {
  std::string out;
  for (int i = 0; i < lines; ++i)
    absl::StrAppend(&out, "udpbeat_probes_sent_total{target=\"127.0.0.", i, ":862\"} ",
                    seed * 1000 + i, "\n");
  return out;
}

class MetricsBodyCacheTest : public ::testing::Test {
 protected:
  using Reply = MetricsBodyCache::Reply;

  FakeSource source_;
  MetricsBodyCache cache_{source_, kGzipMin};
};

TEST_F(MetricsBodyCacheTest, SameSnapshotIsOneBodyRenderedOnce) {
  source_.Publish(Body(100, 1));
  const Reply a = cache_.Get(false);
  const Reply b = cache_.Get(false);
  ASSERT_NE(a.body, nullptr);
  EXPECT_FALSE(a.gzip);
  EXPECT_EQ(*a.body, source_.body());
  EXPECT_EQ(a.body, b.body) << "the second scrape must share the first one's body";
  EXPECT_EQ(source_.renders(), 1);
}

TEST_F(MetricsBodyCacheTest, NewSnapshotIsRenderedAnew) {
  source_.Publish(Body(100, 1));
  const Reply old_plain = cache_.Get(false);
  const Reply old_gzip = cache_.Get(true);
  source_.Publish(Body(100, 2));
  const Reply plain = cache_.Get(false);
  const Reply gzip = cache_.Get(true);
  EXPECT_EQ(*plain.body, source_.body());
  EXPECT_NE(plain.body, old_plain.body);
  EXPECT_NE(gzip.body, old_gzip.body);
  EXPECT_EQ(Gunzip(*gzip.body), source_.body());
  EXPECT_EQ(source_.renders(), 2);
  // A response still sending the old body keeps it whole.
  EXPECT_EQ(*old_plain.body, Body(100, 1));
  EXPECT_EQ(Gunzip(*old_gzip.body), Body(100, 1));
}

TEST_F(MetricsBodyCacheTest, GzipAndPlainAreBothTheSnapshot) {
  source_.Publish(Body(200, 3));
  // Plain first: the gzip scrape compresses the kept plain body, rendering nothing.
  const Reply plain = cache_.Get(false);
  const Reply gzip = cache_.Get(true);
  const Reply gzip_again = cache_.Get(true);
  const Reply plain_again = cache_.Get(false);
  EXPECT_FALSE(plain.gzip);
  EXPECT_EQ(*plain.body, source_.body());
  ASSERT_TRUE(gzip.gzip);
  EXPECT_LT(gzip.body->size(), plain.body->size());
  EXPECT_EQ(Gunzip(*gzip.body), source_.body());
  EXPECT_EQ(gzip_again.body, gzip.body);
  EXPECT_EQ(plain_again.body, plain.body);
  EXPECT_EQ(source_.renders(), 1);
}

TEST_F(MetricsBodyCacheTest, GzipScrapesKeepOnlyTheCompressedBody) {
  source_.Publish(Body(200, 4));
  const Reply gzip = cache_.Get(true);
  ASSERT_TRUE(gzip.gzip);
  EXPECT_EQ(cache_.Get(true).body, gzip.body);
  EXPECT_EQ(source_.renders(), 1);
  // The plain body was freed after compressing (34 MB for a fleet): a plain scrape renders
  // it again, once, and from then on it is kept too.
  const Reply plain = cache_.Get(false);
  EXPECT_EQ(*plain.body, source_.body());
  EXPECT_EQ(cache_.Get(false).body, plain.body);
  EXPECT_EQ(cache_.Get(true).body, gzip.body);
  EXPECT_EQ(source_.renders(), 2);
}

TEST_F(MetricsBodyCacheTest, SmallBodyIsNotCompressed) {
  source_.Publish("udpbeat_targets 1\n");
  const Reply r = cache_.Get(true);
  EXPECT_FALSE(r.gzip);
  EXPECT_EQ(*r.body, source_.body());
  EXPECT_EQ(cache_.Get(true).body, r.body);
  EXPECT_EQ(source_.renders(), 1);
}

TEST_F(MetricsBodyCacheTest, UnversionedSourceRendersEveryScrape) {
  source_.Publish(Body(100, 5));
  source_.set_version(MetricsSource::kUnversioned);
  cache_.Get(false);
  cache_.Get(true);
  cache_.Get(true);
  EXPECT_EQ(source_.renders(), 3);
}

// A version going back (a source restarting its count) is a different snapshot too.
TEST_F(MetricsBodyCacheTest, AnyChangeOfVersionRendersAnew) {
  source_.Publish(Body(100, 6));
  source_.set_version(7);
  cache_.Get(false);
  source_.set_version(3);
  cache_.Get(false);
  EXPECT_EQ(source_.renders(), 2);
}

}  // namespace
}  // namespace udpbeat::http
