#include "compiler/verifier/tnum.h"

#include <fmt/format.h>

namespace verifier {

namespace {
unsigned fls64(uint64_t x) {
  return x ? 64 - unsigned(__builtin_clzll(x)) : 0;
}
}  // namespace

Tnum Tnum::range(uint64_t min, uint64_t max) {
  uint64_t chi = min ^ max;
  unsigned bits = fls64(chi);
  // Only the bits below the highest one where min and max differ vary.
  if (bits > 63) return unknown();
  uint64_t delta = (uint64_t(1) << bits) - 1;
  return {min & ~delta, delta};
}

bool Tnum::includes(Tnum b) const {
  if (b.mask & ~mask) return false;
  return value == (b.value & ~mask);
}

bool Tnum::is_aligned(uint64_t size) const {
  if (!size) return true;
  return ((value | mask) & (size - 1)) == 0;
}

std::string Tnum::str() const {
  if (is_const()) return fmt::format("{:#x}", value);
  return fmt::format("({:#x}; {:#x})", value, mask);
}

Tnum tnum_lshift(Tnum a, unsigned s) {
  return {a.value << s, a.mask << s};
}
Tnum tnum_rshift(Tnum a, unsigned s) {
  return {a.value >> s, a.mask >> s};
}

Tnum tnum_arshift(Tnum a, unsigned s, unsigned bits) {
  // The sign bit of value and of mask shift in: an unknown sign gives unknown
  // high bits, a known one gives known ones.
  if (bits == 32)
    return {uint32_t(int32_t(uint32_t(a.value)) >> s), uint32_t(int32_t(uint32_t(a.mask)) >> s)};
  return {uint64_t(int64_t(a.value) >> s), uint64_t(int64_t(a.mask) >> s)};
}

Tnum tnum_add(Tnum a, Tnum b) {
  uint64_t sm = a.mask + b.mask, sv = a.value + b.value;
  // Bits a carry may reach: where the sum with all unknowns set differs.
  uint64_t chi = (sm + sv) ^ sv;
  uint64_t mu = chi | a.mask | b.mask;
  return {sv & ~mu, mu};
}

Tnum tnum_sub(Tnum a, Tnum b) {
  uint64_t dv = a.value - b.value;
  uint64_t alpha = dv + a.mask, beta = dv - b.mask;
  uint64_t mu = (alpha ^ beta) | a.mask | b.mask;
  return {dv & ~mu, mu};
}

Tnum tnum_and(Tnum a, Tnum b) {
  uint64_t alpha = a.value | a.mask, beta = b.value | b.mask;
  uint64_t v = a.value & b.value;
  return {v, alpha & beta & ~v};
}

Tnum tnum_or(Tnum a, Tnum b) {
  uint64_t v = a.value | b.value;
  uint64_t mu = a.mask | b.mask;
  return {v, mu & ~v};
}

Tnum tnum_xor(Tnum a, Tnum b) {
  uint64_t v = a.value ^ b.value;
  uint64_t mu = a.mask | b.mask;
  return {v & ~mu, mu};
}

Tnum tnum_mul(Tnum a, Tnum b) {
  // Long multiplication over a's bits: a known 1 adds b's unknown bits, an
  // unknown bit adds everything b might be; the known product is exact.
  uint64_t acc_v = a.value * b.value;
  Tnum acc_m = Tnum::known(0);
  while (a.value || a.mask) {
    if (a.value & 1)
      acc_m = tnum_add(acc_m, {0, b.mask});
    else if (a.mask & 1)
      acc_m = tnum_add(acc_m, {0, b.value | b.mask});
    a = tnum_rshift(a, 1);
    b = tnum_lshift(b, 1);
  }
  return tnum_add(Tnum::known(acc_v), acc_m);
}

Tnum tnum_neg(Tnum a) {
  return tnum_sub(Tnum::known(0), a);
}

Tnum tnum_intersect(Tnum a, Tnum b) {
  uint64_t v = a.value | b.value;
  uint64_t mu = a.mask & b.mask;
  return {v & ~mu, mu};
}

Tnum tnum_union(Tnum a, Tnum b) {
  uint64_t mu = a.mask | b.mask | (a.value ^ b.value);
  return {a.value & ~mu, mu};
}

Tnum tnum_cast(Tnum a, unsigned bytes) {
  if (bytes >= 8) return a;
  uint64_t m = (uint64_t(1) << (8 * bytes)) - 1;
  return {a.value & m, a.mask & m};
}

Tnum tnum_subreg(Tnum a) {
  return tnum_cast(a, 4);
}
Tnum tnum_clear_subreg(Tnum a) {
  return tnum_lshift(tnum_rshift(a, 32), 32);
}
Tnum tnum_with_subreg(Tnum a, Tnum sub) {
  return tnum_or(tnum_clear_subreg(a), tnum_subreg(sub));
}

}  // namespace verifier
