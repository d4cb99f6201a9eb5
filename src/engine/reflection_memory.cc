#include "udpbeat/engine/reflection_memory.h"

#include <algorithm>

namespace udpbeat::engine {

ReflectionMemory::ReflectionMemory(Nanos window, uint64_t seed)
    : window_(window),
      random_(seed | 1),
      entries_(std::make_unique<std::array<Entry, kSets * kWays>>()) {
  static_assert(sizeof(*entries_) == kBytes);
}

Nanos ReflectionMemory::WindowFor(Nanos delay, Nanos jitter) noexcept {
  return std::max<Nanos>(delay, 0) + std::max<Nanos>(jitter, 0) + kRoundTrip;
}

uint64_t ReflectionMemory::Key(uint64_t source_hash, uint64_t digest) noexcept {
  // Both inputs are already hashes: two multiplies and a fold mix them (the set index is
  // taken from the high bits). Never 0, which marks an empty entry.
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15u;
  uint64_t k = (source_hash ^ (digest << 32 | digest >> 32)) * kMul;
  k ^= k >> 31;
  k *= kMul;
  return k | 1;
}

uint64_t ReflectionMemory::NextRandom() noexcept {
  // xorshift64: fair enough to pick a way, and its state never reaches 0.
  random_ ^= random_ << 13;
  random_ ^= random_ >> 7;
  random_ ^= random_ << 17;
  return random_ >> 32;
}

ReflectionMemory::Entry* ReflectionMemory::Set(uint64_t key) noexcept {
  static_assert((kSets & (kSets - 1)) == 0);
  return entries_->data() + (key >> 40 & (kSets - 1)) * kWays;
}

void ReflectionMemory::Remember(uint64_t source_hash, uint64_t digest,
                                MonoTime sent) noexcept {
  used_ = true;
  const uint64_t key = Key(source_hash, digest);
  Entry* set = Set(key);
  Entry* victim = nullptr;
  for (size_t i = 0; i < kWays; ++i) {
    Entry& e = set[i];
    if (e.key == key) {
      e.sent = std::max(e.sent, sent);
      return;
    }
    if (victim == nullptr && (e.key == 0 || sent - e.sent > window_)) victim = &e;
  }
  // A full set of live entries: a random one goes. Not the oldest: more loops than
  // entries, going round in the same order, would then each be overwritten just before
  // it came back, every time, and none would ever end. At random, each round ends some
  // of them, and fewer loops fit better.
  if (victim == nullptr) victim = set + NextRandom() % kWays;
  if (victim->key != 0 && sent - victim->sent <= window_) ++overwritten_;
  *victim = Entry{key, sent};
}

bool ReflectionMemory::TakeReflection(uint64_t source_hash, uint64_t digest,
                                      MonoTime now) noexcept {
  const uint64_t key = Key(source_hash, digest);
  Entry* set = Set(key);
  for (size_t i = 0; i < kWays; ++i) {
    Entry& e = set[i];
    if (e.key != key) continue;
    const bool recent = now - e.sent <= window_;
    e = Entry{};
    return recent;
  }
  return false;
}

}  // namespace udpbeat::engine
