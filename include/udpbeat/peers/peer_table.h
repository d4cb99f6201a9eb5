// A bounded table of per-peer state for the server (STAMP session counters, rate-limit
// buckets). Memory is bounded by `capacity` whatever the number of sources: when full,
// the oldest entry not seen since it was last queued is evicted (CLOCK / second chance,
// an O(1) approximation of least-recently-used), and entries idle longer than
// `idle_timeout` are evicted first. Evictions are counted.
//
// Thread: one table per server loop (no locking). Pure: times are passed in.
#ifndef UDPBEAT_PEERS_PEER_TABLE_H_
#define UDPBEAT_PEERS_PEER_TABLE_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "udpbeat/time/clock.h"

namespace udpbeat {

// Who a peer is: source address (IPv4 in the first 4 octets), port, and the STAMP
// session-sender identifier (0 for other protocols).
struct PeerKey {
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;
  uint16_t ssid = 0;
  uint8_t family = 0;
  friend bool operator==(const PeerKey&, const PeerKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const PeerKey& k) {
    return H::combine(std::move(h), k.address, k.port, k.ssid, k.family);
  }
};

template <typename Value>
class PeerTable {
 public:
  PeerTable(size_t capacity, Nanos idle_timeout)
      : capacity_(capacity == 0 ? 1 : capacity), idle_timeout_(idle_timeout) {}

  // The peer's entry, created (value-initialised) when absent; `*created` tells which.
  Value& FindOrInsert(const PeerKey& key, MonoTime now, bool* created = nullptr) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      it->second.last_seen = now;
      if (created != nullptr) *created = false;
      return it->second.value;
    }
    while (map_.size() >= capacity_) EvictOne(now);
    auto [pos, inserted] = map_.try_emplace(key);
    pos->second.last_seen = now;
    queue_.push_back({key, now});
    if (created != nullptr) *created = true;
    return pos->second.value;
  }

  // The peer's entry, or null; does not count as seeing the peer.
  Value* Find(const PeerKey& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;
  }

  // Evicts up to `max_steps` idle entries from the front of the queue (call from a
  // periodic timer so idle peers go away even without new ones arriving).
  void SweepIdle(MonoTime now, size_t max_steps) {
    for (size_t i = 0; i < max_steps && !queue_.empty(); ++i) {
      const Queued q = queue_.front();
      auto it = map_.find(q.key);
      if (it == map_.end()) {
        queue_.pop_front();
        continue;
      }
      const bool idle = now - it->second.last_seen >= idle_timeout_;
      const bool seen_since_queued = it->second.last_seen > q.queued_at;
      // A front entry that is neither idle nor seen since it was queued was queued
      // recently, and so was everything behind it: nothing more to sweep.
      if (!idle && !seen_since_queued) return;
      queue_.pop_front();
      if (!idle) {
        queue_.push_back({q.key, it->second.last_seen});  // seen again: second chance
        continue;
      }
      map_.erase(it);
      ++idle_evictions_;
    }
  }

  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t evictions() const { return evictions_; }
  uint64_t idle_evictions() const { return idle_evictions_; }

 private:
  struct Entry {
    MonoTime last_seen;
    Value value{};
  };
  struct Queued {
    PeerKey key;
    MonoTime queued_at;
  };

  void EvictOne(MonoTime now) {
    // Bounded: every entry is requeued at most once per pass.
    for (size_t guard = queue_.size() + 1; guard > 0 && !queue_.empty(); --guard) {
      const Queued q = queue_.front();
      queue_.pop_front();
      auto it = map_.find(q.key);
      if (it == map_.end()) continue;
      const bool idle = now - it->second.last_seen >= idle_timeout_;
      if (!idle && it->second.last_seen > q.queued_at) {
        queue_.push_back({q.key, it->second.last_seen});
        continue;
      }
      map_.erase(it);
      ++(idle ? idle_evictions_ : evictions_);
      return;
    }
    // Everything got a second chance: evict the front outright.
    if (!queue_.empty()) {
      map_.erase(queue_.front().key);
      queue_.pop_front();
      ++evictions_;
    }
  }

  size_t capacity_;
  Nanos idle_timeout_;
  absl::flat_hash_map<PeerKey, Entry> map_;
  std::deque<Queued> queue_;
  uint64_t evictions_ = 0;
  uint64_t idle_evictions_ = 0;
};

}  // namespace udpbeat

#endif  // UDPBEAT_PEERS_PEER_TABLE_H_
