// Shared by the libFuzzer harnesses: a property check that reports and aborts.
//
// A violated property prints one line naming the property, then traps, so libFuzzer
// saves the input as a crash artifact exactly as it does for a sanitizer report.
#ifndef UDPBEAT_TESTS_FUZZ_FUZZ_CHECK_H_
#define UDPBEAT_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#define FUZZ_CHECK(cond, ...)                                                                   \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "fuzz property violated at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                        \
      std::fputc('\n', stderr);                                                                 \
      std::fflush(stderr);                                                                      \
      __builtin_trap();                                                                         \
    }                                                                                           \
  } while (0)

namespace udpbeat::fuzz {

// Reads the input front to back; past the end it yields zeros, so a harness can take
// its parameters from the first bytes of any input, however short.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | U8();
    return v;
  }
  const uint8_t* rest() const { return data_ + (pos_ < size_ ? pos_ : size_); }
  size_t rest_size() const { return pos_ < size_ ? size_ - pos_ : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace udpbeat::fuzz

#endif  // UDPBEAT_TESTS_FUZZ_FUZZ_CHECK_H_
