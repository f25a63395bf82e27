// Ones'-complement sums as the x86-64 kernel computes them, shared by the
// reference interpreter's bpf_csum_diff and the NPU's checksum engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ref {

// x86-64 csum_partial: 64-bit ones' complement accumulation folded to 32 bits; a tail
// shorter than 8 bytes is read zero-padded.
inline uint32_t csum_partial(const uint8_t* p, size_t len, uint32_t seed) {
  uint64_t sum = seed;
  auto add = [&sum](uint64_t v) {
    sum += v;
    if (sum < v) ++sum;
  };
  for (; len >= 8; p += 8, len -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    add(v);
  }
  if (len) {
    uint64_t v = 0;
    std::memcpy(&v, p, len);
    add(v);
  }
  uint32_t hi = uint32_t(sum >> 32), lo = uint32_t(sum);
  uint32_t r = hi + lo;
  if (r < lo) ++r;
  return r;
}

inline uint32_t csum_add(uint32_t a, uint32_t b) {
  uint32_t r = a + b;
  return r + (r < b);
}

}  // namespace ref
