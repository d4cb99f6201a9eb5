#include "udpbeat/peers/peer_table.h"

#include <gtest/gtest.h>

namespace udpbeat {
namespace {

PeerKey Key(uint16_t port) {
  PeerKey k;
  k.family = 2;
  k.address[0] = 127;
  k.address[3] = 1;
  k.port = port;
  return k;
}

MonoTime S(int64_t s) { return MonoTime::FromNanos(s * kNanosPerSecond); }

TEST(PeerTable, FindsAndCreates) {
  PeerTable<int> t(4, 60 * kNanosPerSecond);
  bool created = false;
  t.FindOrInsert(Key(1), S(0), &created) = 5;
  EXPECT_TRUE(created);
  EXPECT_EQ(t.FindOrInsert(Key(1), S(1), &created), 5);
  EXPECT_FALSE(created);
  EXPECT_EQ(t.size(), 1u);
}

TEST(PeerTable, BoundedWithEvictionsCounted) {
  PeerTable<int> t(100, 60 * kNanosPerSecond);
  for (uint16_t p = 0; p < 1000; ++p) t.FindOrInsert(Key(p), S(p / 100));
  EXPECT_EQ(t.size(), 100u);
  EXPECT_EQ(t.evictions() + t.idle_evictions(), 900u);
}

TEST(PeerTable, RecentlySeenPeersSurviveEviction) {
  PeerTable<int> t(3, 60 * kNanosPerSecond);
  t.FindOrInsert(Key(1), S(0)) = 1;
  t.FindOrInsert(Key(2), S(0)) = 2;
  t.FindOrInsert(Key(3), S(0)) = 3;
  t.FindOrInsert(Key(1), S(1));  // 1 is active again: 2 is the one to go
  t.FindOrInsert(Key(4), S(2));
  bool created = false;
  EXPECT_EQ(t.FindOrInsert(Key(1), S(3), &created), 1);
  EXPECT_FALSE(created);
  t.FindOrInsert(Key(2), S(3), &created);
  EXPECT_TRUE(created);
}

TEST(PeerTable, IdlePeersAreSwept) {
  PeerTable<int> t(10, 5 * kNanosPerSecond);
  t.FindOrInsert(Key(1), S(0));
  t.FindOrInsert(Key(2), S(0));
  t.FindOrInsert(Key(3), S(4));
  t.FindOrInsert(Key(1), S(4));
  t.SweepIdle(S(6), 100);  // 2 idle for 6 s; 1 and 3 seen 2 s ago
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.idle_evictions(), 1u);
  t.SweepIdle(S(20), 100);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.idle_evictions(), 3u);
}

}  // namespace
}  // namespace udpbeat
