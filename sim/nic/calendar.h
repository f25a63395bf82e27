// Reservations of a resource with `capacity` identical servers (a memory
// bank, a pool of engine units), cycle by cycle. Cores run up to a quantum
// apart, so requests arrive out of time order: a single "free from" time per
// server would make an early request wait behind a later one booked first.
// A calendar gives each request the first `n` consecutive cycles from its
// own issue cycle on where a server is free, whatever order requests came in.
#pragma once

#include <cstdint>
#include <vector>

namespace npu::nic {

class Calendar {
 public:
  // Remembers 2^horizon_bits cycles; a request older than that is served as
  // if it came at the oldest remembered cycle.
  explicit Calendar(uint32_t capacity, unsigned horizon_bits = 16);
  // Books n cycles for a request issued at cycle t; returns the first.
  uint64_t reserve(uint64_t t, uint32_t n);
  uint32_t capacity() const { return cap_; }

 private:
  uint16_t& at(uint64_t c) { return busy_[c & mask_]; }
  void slide(uint64_t end);  // remembers cycles up to end (exclusive)

  uint32_t cap_;
  uint64_t mask_;
  std::vector<uint16_t> busy_;  // servers busy in cycle c, for c in [base_, base_ + size)
  uint64_t base_ = 0;
  uint64_t first_free_ = 0;  // every cycle in [base_, first_free_) is full
};

}  // namespace npu::nic
