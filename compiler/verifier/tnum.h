// Tristate numbers: what the verifier knows about the bits of a 64-bit value.
// A bit whose mask bit is 1 is unknown; the others equal the value's bit. The
// operations follow the Linux verifier's (kernel/bpf/tnum.c) so that our facts
// are the kernel's facts; each is sound: for every concrete x in a and y in b,
// x op y is in op(a, b). docs/verifier.md.
#pragma once

#include <cstdint>
#include <string>

namespace verifier {

struct Tnum {
  uint64_t value = 0;
  uint64_t mask = ~uint64_t(0);

  static constexpr Tnum known(uint64_t v) { return {v, 0}; }
  static constexpr Tnum unknown() { return {0, ~uint64_t(0)}; }
  // The smallest tnum holding every value in [min, max] (unsigned).
  static Tnum range(uint64_t min, uint64_t max);

  bool is_const() const { return mask == 0; }
  bool is_unknown() const { return mask == ~uint64_t(0); }
  // x is one of the values this tnum stands for.
  bool contains(uint64_t x) const { return (x & ~mask) == value; }
  // Every value of b is a value of this tnum.
  bool includes(Tnum b) const;
  // Its values are all multiples of size (a power of two).
  bool is_aligned(uint64_t size) const;
  uint64_t umin() const { return value; }
  uint64_t umax() const { return value | mask; }

  bool operator==(const Tnum& o) const { return value == o.value && mask == o.mask; }
  bool operator!=(const Tnum& o) const { return !(*this == o); }
  std::string str() const;  // "(0x10; 0xf)", or the constant
};

Tnum tnum_lshift(Tnum a, unsigned shift);
Tnum tnum_rshift(Tnum a, unsigned shift);
// Arithmetic shift right of a 64-bit value, or of the low 32 bits (bits = 32,
// result zero-extended as BPF's 32-bit ALU does).
Tnum tnum_arshift(Tnum a, unsigned shift, unsigned bits);
Tnum tnum_add(Tnum a, Tnum b);
Tnum tnum_sub(Tnum a, Tnum b);
Tnum tnum_and(Tnum a, Tnum b);
Tnum tnum_or(Tnum a, Tnum b);
Tnum tnum_xor(Tnum a, Tnum b);
Tnum tnum_mul(Tnum a, Tnum b);
Tnum tnum_neg(Tnum a);
// Values in both (when they share one): the more precise facts of each.
Tnum tnum_intersect(Tnum a, Tnum b);
// Values in either.
Tnum tnum_union(Tnum a, Tnum b);
// Truncation to the low `bytes` bytes.
Tnum tnum_cast(Tnum a, unsigned bytes);
Tnum tnum_subreg(Tnum a);                 // low 32 bits
Tnum tnum_clear_subreg(Tnum a);           // high 32 bits
Tnum tnum_with_subreg(Tnum a, Tnum sub);  // a's high half, sub's low half

}  // namespace verifier
