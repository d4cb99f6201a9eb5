// What a server remembers of the echo replies it sent, to recognise one coming straight
// back: a datagram identical to a reply sent to the same source address and port within
// the window is a reflection (another echo server answering, or this server via one of
// its own aliases), and answering it would start an endless exchange.
//
// Several replies per source: the memory is indexed by a hash of the source and the
// reply together, so two forged datagrams to the same peer are two entries (one slot per
// source let the second overwrite the first, whose reflection was then answered: two
// forged datagrams made an endless loop). A fixed table of kSets sets of kWays entries,
// kBytes in all, allocated once: no allocation per datagram, O(kWays) per look-up.
//
// Overflow: a reply goes into its set's empty or expired way, else it replaces one of the
// set's live entries at random, counted in overwritten(). A reply overwritten before its
// reflection came back is forgotten, and that reflection is answered (and remembered
// again). That takes more than kWays replies landing in one set within one round trip:
// on loopback, where a round trip is tens of microseconds, no flood does that, but with
// replies delayed by a second, some ten thousand distinct forged loops (or a load test's
// tens of thousands of replies a second) can. Chosen at random, the victims differ from
// one round to the next, so each round still ends some of the loops and the rest fit
// better: their number falls until all are caught (replacing the oldest, the same
// replies would be overwritten just in time every round, and none would end).
//
// Thread: one owner (a server worker's loop thread).
#ifndef UDPBEAT_ENGINE_REFLECTION_MEMORY_H_
#define UDPBEAT_ENGINE_REFLECTION_MEMORY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "udpbeat/time/clock.h"

namespace udpbeat::engine {

class ReflectionMemory {
 public:
  static constexpr size_t kSets = 2048;  // a power of two
  // Wide sets even out how many live replies land in each. In a simulation of twice as
  // many forged loops as entries going round in the same order (the worst case), 4 ways
  // took 110 to 155 rounds and 100,000 answers in all to end them, 8 ways 16 to 20
  // rounds and 55,000; with four times as many, 4 ways 970 to 2,160 rounds and 2.2
  // million answers, 8 ways 124 to 165 and 1.1 million. A set is 128 bytes.
  static constexpr size_t kWays = 8;
  // A reflection comes back within a round trip after the reply left; this much is
  // allowed for one besides the delays the servers add.
  static constexpr Nanos kRoundTrip = kNanosPerSecond;

  // `window`: how long after it was sent a reply's reflection is still recognised (the
  // longest delay a reply of this server waits, plus kRoundTrip).
  // `seed` starts the choice of what an overflow replaces.
  ReflectionMemory(Nanos window, uint64_t seed);

  // The window for a server adding `delay` ± `jitter` to each reply: a loop with a
  // server that delays less comes back within this server's longest delay and a round
  // trip, and one with a server that delays more is caught there (its window is longer).
  static Nanos WindowFor(Nanos delay, Nanos jitter) noexcept;

  // Remembers that the reply whose fingerprint is `digest` (never 0) was sent to the
  // source `source_hash` at `sent`. The same reply sent again only renews its time.
  void Remember(uint64_t source_hash, uint64_t digest, MonoTime sent) noexcept;
  // Whether a datagram with fingerprint `digest` from `source_hash`, received at `now`,
  // is a reply remembered for that source within the window. A reflection is forgotten
  // once found: the loop has ended, and a client that really sends the same datagram
  // again is answered the next time.
  bool TakeReflection(uint64_t source_hash, uint64_t digest, MonoTime now) noexcept;
  // Nothing was ever remembered (a look-up, and the fingerprint it needs, can be skipped).
  bool empty() const noexcept { return !used_; }
  // Entries replaced while still within their window (overflow of their set).
  uint64_t overwritten() const noexcept { return overwritten_; }
  Nanos window() const noexcept { return window_; }

  // What the table takes: 16 bytes an entry (a key and a time), 256 KiB in all.
  static constexpr size_t kBytes = kSets * kWays * 16;

 private:
  struct Entry {
    uint64_t key = 0;  // hash of the source and the reply; 0: empty
    MonoTime sent;
  };

  // The set's first entry and the key for one source and reply.
  Entry* Set(uint64_t key) noexcept;
  static uint64_t Key(uint64_t source_hash, uint64_t digest) noexcept;
  uint64_t NextRandom() noexcept;

  const Nanos window_;
  uint64_t random_;
  std::unique_ptr<std::array<Entry, kSets * kWays>> entries_;
  bool used_ = false;
  uint64_t overwritten_ = 0;
};

}  // namespace udpbeat::engine

#endif  // UDPBEAT_ENGINE_REFLECTION_MEMORY_H_
