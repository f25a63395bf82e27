#include "sim/nic/calendar.h"

#include <algorithm>
#include <stdexcept>

namespace npu::nic {

Calendar::Calendar(uint32_t capacity, unsigned horizon_bits)
    : cap_(capacity), mask_((uint64_t(1) << horizon_bits) - 1), busy_(size_t(mask_) + 1, 0) {
  if (capacity == 0 || capacity > UINT16_MAX)
    throw std::invalid_argument("calendar: capacity must be 1 to 65535");
}

void Calendar::slide(uint64_t end) {
  const uint64_t size = mask_ + 1;
  if (end <= base_ + size) return;
  uint64_t new_base = end - size;
  // Forget the oldest cycles; a jump past the whole window clears it at once.
  if (new_base - base_ >= size)
    std::fill(busy_.begin(), busy_.end(), 0);
  else
    for (uint64_t c = base_; c < new_base; ++c) at(c) = 0;
  base_ = new_base;
  first_free_ = std::max(first_free_, base_);
}

uint64_t Calendar::reserve(uint64_t t, uint32_t n) {
  n = std::max<uint32_t>(n, 1);
  uint64_t s = std::max({t, base_, first_free_ > t ? first_free_ : t});
  for (;;) {
    slide(s + n);
    if (s < base_) s = base_;
    uint64_t k = s;
    while (k < s + n && at(k) < cap_) ++k;
    if (k == s + n) break;
    s = k + 1;  // cycle k is full: start after it
  }
  for (uint64_t k = s; k < s + n; ++k) ++at(k);
  while (first_free_ < base_ + mask_ + 1 && at(first_free_) >= cap_) ++first_free_;
  return s;
}

}  // namespace npu::nic
