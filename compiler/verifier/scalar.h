// What the verifier knows about a scalar register: signed and unsigned bounds
// of the 64-bit value and of its low 32 bits, and its known bits (a tnum), kept
// consistent with one another as the Linux verifier keeps them
// (reg_bounds_sync). ALU transfer functions and the refinement a conditional
// branch gives are sound: every concrete result is in the abstract one.
// docs/verifier.md.
#pragma once

#include "compiler/verifier/tnum.h"

#include <cstdint>
#include <string>

namespace verifier {

struct Scalar {
  int64_t smin = INT64_MIN, smax = INT64_MAX;
  uint64_t umin = 0, umax = UINT64_MAX;
  int32_t s32_min = INT32_MIN, s32_max = INT32_MAX;
  uint32_t u32_min = 0, u32_max = UINT32_MAX;
  Tnum var_off = Tnum::unknown();

  static Scalar known(uint64_t v);
  static Scalar unknown() { return {}; }
  // Unsigned range [lo, hi] of the 64-bit value.
  static Scalar urange(uint64_t lo, uint64_t hi);

  bool is_const() const { return var_off.is_const(); }
  uint64_t const_value() const { return var_off.value; }
  // x satisfies every fact.
  bool contains(uint64_t x) const;
  // No value satisfies the facts (an impossible branch).
  bool empty() const;
  // Tightens every fact from the others, as the kernel's reg_bounds_sync.
  void sync();
  // The 64-bit facts after a 32-bit operation: zero-extension of the low half.
  void zext32();
  std::string str() const;

  bool operator==(const Scalar& o) const;
};

// Values in a or b.
Scalar join(const Scalar& a, const Scalar& b);

enum class AluOp { ADD, SUB, MUL, DIV, SDIV, MOD, SMOD, OR, AND, XOR, LSH, RSH, ARSH, NEG, MOV };

// dst op src on 64 bits, or on the low 32 bits zero-extended (alu32).
Scalar alu(AluOp op, Scalar dst, const Scalar& src, bool alu32);

enum class Cond { EQ, NE, GT, GE, LT, LE, SGT, SGE, SLT, SLE, SET };

// 1 when `a cond b` holds for every value, 0 when for none, -1 when it depends.
int branch_taken(Cond c, const Scalar& a, const Scalar& b, bool cmp32);

// Facts of a and b on the path where `a cond b` is `taken`.
void refine(Cond c, bool taken, Scalar& a, Scalar& b, bool cmp32);

}  // namespace verifier
