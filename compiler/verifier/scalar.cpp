#include "compiler/verifier/scalar.h"

#include <fmt/format.h>

#include <algorithm>

namespace verifier {

namespace {

constexpr uint64_t kSign64 = uint64_t(1) << 63;
constexpr uint32_t kSign32 = uint32_t(1) << 31;

// The 64-bit facts of a value known only as 32-bit facts, zero-extended.
Scalar from_u32(const Scalar& s) {
  Scalar r;
  r.umin = s.u32_min;
  r.umax = s.u32_max;
  r.smin = int64_t(s.u32_min);
  r.smax = int64_t(s.u32_max);
  r.var_off = tnum_subreg(s.var_off);
  r.u32_min = s.u32_min;
  r.u32_max = s.u32_max;
  r.s32_min = s.s32_min;
  r.s32_max = s.s32_max;
  r.sync();
  return r;
}

// The 64-bit facts of the low 32 bits sign-extended.
Scalar from_s32(const Scalar& s) {
  Scalar r;
  r.smin = s.s32_min;
  r.smax = s.s32_max;
  Tnum sub = tnum_subreg(s.var_off);
  // Bit 31 decides the upper half: known, or unknown with it.
  if (sub.mask & kSign32)
    r.var_off = {sub.value, sub.mask | 0xffffffff00000000ull};
  else if (sub.value & kSign32)
    r.var_off = {sub.value | 0xffffffff00000000ull, sub.mask};
  else
    r.var_off = sub;
  r.sync();
  return r;
}

// Facts of the low 32 bits of a 64-bit result, as a zero-extended value.
Scalar truncate32(const Scalar& r) {
  Scalar t;
  t.var_off = tnum_subreg(r.var_off);
  if ((r.umin >> 32) == (r.umax >> 32)) {
    t.u32_min = uint32_t(r.umin);
    t.u32_max = uint32_t(r.umax);
  }
  if ((uint64_t(r.smin) >> 32) == (uint64_t(r.smax) >> 32) &&
      uint32_t(r.smin) <= uint32_t(r.smax)) {
    t.u32_min = std::max(t.u32_min, uint32_t(r.smin));
    t.u32_max = std::min(t.u32_max, uint32_t(r.smax));
  }
  t.zext32();
  return t;
}

Scalar shift_const(AluOp op, const Scalar& a, unsigned c) {
  Scalar r;
  switch (op) {
    case AluOp::LSH:
      r.var_off = tnum_lshift(a.var_off, c);
      if (c == 0 || (a.umax >> (64 - c)) == 0) {
        r.umin = a.umin << c;
        r.umax = a.umax << c;
      }
      break;
    case AluOp::RSH:
      r.var_off = tnum_rshift(a.var_off, c);
      r.umin = a.umin >> c;
      r.umax = a.umax >> c;
      break;
    default:  // ARSH
      r.var_off = tnum_arshift(a.var_off, c, 64);
      r.smin = a.smin >> c;
      r.smax = a.smax >> c;
      break;
  }
  r.sync();
  return r;
}

Scalar alu64(AluOp op, const Scalar& a, const Scalar& b) {
  Scalar r;
  switch (op) {
    case AluOp::MOV:
      return b;
    case AluOp::ADD: {
      r.var_off = tnum_add(a.var_off, b.var_off);
      uint64_t hi;
      if (!__builtin_add_overflow(a.umax, b.umax, &hi)) r.umin = a.umin + b.umin, r.umax = hi;
      int64_t lo, shi;
      if (!__builtin_add_overflow(a.smin, b.smin, &lo) &&
          !__builtin_add_overflow(a.smax, b.smax, &shi))
        r.smin = lo, r.smax = shi;
      break;
    }
    case AluOp::SUB: {
      r.var_off = tnum_sub(a.var_off, b.var_off);
      if (a.umin >= b.umax) r.umin = a.umin - b.umax, r.umax = a.umax - b.umin;
      int64_t lo, hi;
      if (!__builtin_sub_overflow(a.smin, b.smax, &lo) &&
          !__builtin_sub_overflow(a.smax, b.smin, &hi))
        r.smin = lo, r.smax = hi;
      break;
    }
    case AluOp::NEG:
      return alu64(AluOp::SUB, Scalar::known(0), a);
    case AluOp::MUL: {
      r.var_off = tnum_mul(a.var_off, b.var_off);
      uint64_t hi;
      if (!__builtin_mul_overflow(a.umax, b.umax, &hi)) r.umin = a.umin * b.umin, r.umax = hi;
      int64_t c[4];
      bool ovf = __builtin_mul_overflow(a.smin, b.smin, &c[0]) |
                 __builtin_mul_overflow(a.smin, b.smax, &c[1]) |
                 __builtin_mul_overflow(a.smax, b.smin, &c[2]) |
                 __builtin_mul_overflow(a.smax, b.smax, &c[3]);
      if (!ovf) r.smin = *std::min_element(c, c + 4), r.smax = *std::max_element(c, c + 4);
      break;
    }
    case AluOp::AND:
    case AluOp::OR:
    case AluOp::XOR: {
      r.var_off = op == AluOp::AND  ? tnum_and(a.var_off, b.var_off)
                  : op == AluOp::OR ? tnum_or(a.var_off, b.var_off)
                                    : tnum_xor(a.var_off, b.var_off);
      r.umin = op == AluOp::OR ? std::max(a.umin, b.umin) : r.var_off.value;
      r.umax = op == AluOp::AND ? std::min(a.umax, b.umax) : r.var_off.value | r.var_off.mask;
      // Two non-negative operands give a non-negative result within the unsigned bounds.
      if (a.smin >= 0 && b.smin >= 0) r.smin = int64_t(r.umin), r.smax = int64_t(r.umax);
      break;
    }
    case AluOp::LSH:
    case AluOp::RSH:
    case AluOp::ARSH:
      // Only a known amount below the width is tracked (as the kernel does).
      if (b.is_const() && b.const_value() < 64)
        return shift_const(op, a, unsigned(b.const_value()));
      return Scalar::unknown();
    case AluOp::DIV:
      if (b.is_const()) {
        uint64_t c = b.const_value();
        if (c == 0) return Scalar::known(0);  // BPF: x / 0 = 0
        return Scalar::urange(a.umin / c, a.umax / c);
      }
      if (b.umin > 0) return Scalar::urange(a.umin / b.umax, a.umax / b.umin);
      return Scalar::urange(0, a.umax);  // 0 when the divisor is 0, at most a otherwise
    case AluOp::MOD:
      if (b.is_const() && b.const_value() == 0) return a;  // BPF: x % 0 = x
      if (a.is_const() && b.is_const()) return Scalar::known(a.const_value() % b.const_value());
      if (b.umin > 0) return Scalar::urange(0, std::min(a.umax, b.umax - 1));
      return Scalar::urange(0, a.umax);
    case AluOp::SDIV:
    case AluOp::SMOD:
      return Scalar::unknown();
  }
  r.sync();
  return r;
}

bool disjoint(uint64_t lo1, uint64_t hi1, uint64_t lo2, uint64_t hi2) {
  return lo1 > hi2 || hi1 < lo2;
}

// The facts compared by a 32-bit branch, as 64-bit facts: unsigned from the
// zero-extended low half, signed from the sign-extended one.
struct View {
  uint64_t umin, umax;
  int64_t smin, smax;
  Tnum t;
};

View view(const Scalar& s, bool cmp32) {
  if (!cmp32) return {s.umin, s.umax, s.smin, s.smax, s.var_off};
  return {s.u32_min, s.u32_max, s.s32_min, s.s32_max, tnum_subreg(s.var_off)};
}

Cond negate(Cond c) {
  switch (c) {
    case Cond::EQ:
      return Cond::NE;
    case Cond::NE:
      return Cond::EQ;
    case Cond::GT:
      return Cond::LE;
    case Cond::GE:
      return Cond::LT;
    case Cond::LT:
      return Cond::GE;
    case Cond::LE:
      return Cond::GT;
    case Cond::SGT:
      return Cond::SLE;
    case Cond::SGE:
      return Cond::SLT;
    case Cond::SLT:
      return Cond::SGE;
    case Cond::SLE:
      return Cond::SGT;
    case Cond::SET:
      return Cond::SET;  // handled apart
  }
  return c;
}

// a < b (strict) or a <= b, unsigned, applied to the bounds of both.
void less_u(uint64_t& amin, uint64_t& amax, uint64_t& bmin, uint64_t& bmax, bool strict) {
  if (strict) {
    if (bmax > 0) amax = std::min(amax, bmax - 1);
    if (amin < UINT64_MAX) bmin = std::max(bmin, amin + 1);
    if (bmax == 0) amax = 0, amin = 1;           // impossible: nothing is below 0
    if (amin == UINT64_MAX) bmin = 1, bmax = 0;  // impossible: nothing is above the max
  } else {
    amax = std::min(amax, bmax);
    bmin = std::max(bmin, amin);
  }
}

void less_s(int64_t& amin, int64_t& amax, int64_t& bmin, int64_t& bmax, bool strict) {
  if (strict) {
    if (bmax > INT64_MIN)
      amax = std::min(amax, bmax - 1);
    else
      amax = INT64_MIN, amin = INT64_MAX;  // impossible
    if (amin < INT64_MAX)
      bmin = std::max(bmin, amin + 1);
    else
      bmin = INT64_MAX, bmax = INT64_MIN;  // impossible
  } else {
    amax = std::min(amax, bmax);
    bmin = std::max(bmin, amin);
  }
}

}  // namespace

Scalar Scalar::known(uint64_t v) {
  Scalar s;
  s.var_off = Tnum::known(v);
  s.smin = s.smax = int64_t(v);
  s.umin = s.umax = v;
  s.s32_min = s.s32_max = int32_t(uint32_t(v));
  s.u32_min = s.u32_max = uint32_t(v);
  return s;
}

Scalar Scalar::urange(uint64_t lo, uint64_t hi) {
  Scalar s;
  s.umin = lo;
  s.umax = hi;
  s.var_off = Tnum::range(lo, hi);
  s.sync();
  return s;
}

bool Scalar::contains(uint64_t x) const {
  return x >= umin && x <= umax && int64_t(x) >= smin && int64_t(x) <= smax &&
         uint32_t(x) >= u32_min && uint32_t(x) <= u32_max && int32_t(uint32_t(x)) >= s32_min &&
         int32_t(uint32_t(x)) <= s32_max && var_off.contains(x);
}

bool Scalar::empty() const {
  return umin > umax || smin > smax || u32_min > u32_max || s32_min > s32_max ||
         (var_off.value & var_off.mask);
}

void Scalar::zext32() {
  umin = u32_min;
  umax = u32_max;
  smin = int64_t(u32_min);
  smax = int64_t(u32_max);
  var_off = tnum_subreg(var_off);
  sync();
}

void Scalar::sync() {
  if (empty()) return;  // an impossible state stays so; the caller prunes it
  for (int round = 0; round < 2; ++round) {
    // Bounds from the known bits.
    smin = std::max(smin, int64_t(var_off.value | (var_off.mask & kSign64)));
    smax = std::min(smax, int64_t(var_off.value | (var_off.mask & ~kSign64)));
    umin = std::max(umin, var_off.value);
    umax = std::min(umax, var_off.value | var_off.mask);
    Tnum sub = tnum_subreg(var_off);
    s32_min = std::max(s32_min, int32_t(uint32_t(sub.value | (sub.mask & kSign32))));
    s32_max = std::min(s32_max, int32_t(uint32_t(sub.value | (sub.mask & ~kSign32))));
    u32_min = std::max(u32_min, uint32_t(sub.value));
    u32_max = std::min(u32_max, uint32_t(sub.value | sub.mask));
    // The low half from the whole when the high halves of the bounds agree.
    if ((umin >> 32) == (umax >> 32)) {
      u32_min = std::max(u32_min, uint32_t(umin));
      u32_max = std::min(u32_max, uint32_t(umax));
    }
    if ((uint64_t(smin) >> 32) == (uint64_t(smax) >> 32) && uint32_t(smin) <= uint32_t(smax)) {
      u32_min = std::max(u32_min, uint32_t(smin));
      u32_max = std::min(u32_max, uint32_t(smax));
    }
    // Signed and unsigned agree where a range does not cross the sign boundary.
    if (int32_t(u32_min) <= int32_t(u32_max)) {
      s32_min = std::max(s32_min, int32_t(u32_min));
      s32_max = std::min(s32_max, int32_t(u32_max));
    }
    if (uint32_t(s32_min) <= uint32_t(s32_max)) {
      u32_min = std::max(u32_min, uint32_t(s32_min));
      u32_max = std::min(u32_max, uint32_t(s32_max));
    }
    if (int64_t(umin) <= int64_t(umax)) {
      smin = std::max(smin, int64_t(umin));
      smax = std::min(smax, int64_t(umax));
    }
    if (uint64_t(smin) <= uint64_t(smax)) {
      umin = std::max(umin, uint64_t(smin));
      umax = std::min(umax, uint64_t(smax));
    }
    // The whole from the low half: the high half of a bound with the low half's bound.
    umin = std::max<uint64_t>(umin, (umin & ~uint64_t(0xffffffff)) | u32_min);
    umax = std::min<uint64_t>(umax, (umax & ~uint64_t(0xffffffff)) | u32_max);
    if (empty()) return;
    // Known bits from the ranges.
    Tnum t64 = tnum_intersect(var_off, Tnum::range(umin, umax));
    Tnum t32 = tnum_intersect(tnum_subreg(t64), Tnum::range(u32_min, u32_max));
    var_off = tnum_or(tnum_clear_subreg(t64), t32);
  }
}

std::string Scalar::str() const {
  if (is_const()) return fmt::format("{:#x}", var_off.value);
  return fmt::format("u[{:#x}, {:#x}] s[{}, {}] u32[{:#x}, {:#x}] s32[{}, {}] bits {}", umin, umax,
                     smin, smax, u32_min, u32_max, s32_min, s32_max, var_off.str());
}

bool Scalar::operator==(const Scalar& o) const {
  return smin == o.smin && smax == o.smax && umin == o.umin && umax == o.umax &&
         s32_min == o.s32_min && s32_max == o.s32_max && u32_min == o.u32_min &&
         u32_max == o.u32_max && var_off == o.var_off;
}

Scalar join(const Scalar& a, const Scalar& b) {
  Scalar r;
  r.smin = std::min(a.smin, b.smin);
  r.smax = std::max(a.smax, b.smax);
  r.umin = std::min(a.umin, b.umin);
  r.umax = std::max(a.umax, b.umax);
  r.s32_min = std::min(a.s32_min, b.s32_min);
  r.s32_max = std::max(a.s32_max, b.s32_max);
  r.u32_min = std::min(a.u32_min, b.u32_min);
  r.u32_max = std::max(a.u32_max, b.u32_max);
  r.var_off = tnum_union(a.var_off, b.var_off);
  r.sync();
  return r;
}

Scalar alu(AluOp op, Scalar dst, const Scalar& src, bool alu32) {
  if (!alu32) return alu64(op, dst, src);
  if (op == AluOp::MOV) {
    Scalar r = src;
    r.zext32();
    return r;
  }
  // The low 32 bits of a 64-bit operation on zero-extended operands are the
  // 32-bit result, except where the sign of bit 31 matters.
  if (op == AluOp::SDIV || op == AluOp::SMOD) return Scalar::urange(0, UINT32_MAX);
  if (op == AluOp::ARSH) {
    if (!src.is_const() || uint32_t(src.const_value()) >= 32) return Scalar::urange(0, UINT32_MAX);
    return truncate32(shift_const(AluOp::ARSH, from_s32(dst), unsigned(src.const_value())));
  }
  if (op == AluOp::LSH || op == AluOp::RSH) {
    if (!src.is_const() || uint32_t(src.const_value()) >= 32) return Scalar::urange(0, UINT32_MAX);
  }
  return truncate32(alu64(op, from_u32(dst), from_u32(src)));
}

int branch_taken(Cond c, const Scalar& sa, const Scalar& sb, bool cmp32) {
  View a = view(sa, cmp32), b = view(sb, cmp32);
  switch (c) {
    case Cond::EQ:
    case Cond::NE: {
      int eq = -1;
      if (a.t.is_const() && b.t.is_const())
        eq = a.t.value == b.t.value;
      else if (disjoint(a.umin, a.umax, b.umin, b.umax) || a.smin > b.smax || a.smax < b.smin ||
               ((a.t.value ^ b.t.value) & ~(a.t.mask | b.t.mask)))
        eq = 0;
      return eq < 0 ? -1 : c == Cond::EQ ? eq : !eq;
    }
    case Cond::GT:
      return a.umin > b.umax ? 1 : a.umax <= b.umin ? 0 : -1;
    case Cond::GE:
      return a.umin >= b.umax ? 1 : a.umax < b.umin ? 0 : -1;
    case Cond::LT:
      return a.umax < b.umin ? 1 : a.umin >= b.umax ? 0 : -1;
    case Cond::LE:
      return a.umax <= b.umin ? 1 : a.umin > b.umax ? 0 : -1;
    case Cond::SGT:
      return a.smin > b.smax ? 1 : a.smax <= b.smin ? 0 : -1;
    case Cond::SGE:
      return a.smin >= b.smax ? 1 : a.smax < b.smin ? 0 : -1;
    case Cond::SLT:
      return a.smax < b.smin ? 1 : a.smin >= b.smax ? 0 : -1;
    case Cond::SLE:
      return a.smax <= b.smin ? 1 : a.smin > b.smax ? 0 : -1;
    case Cond::SET:
      if (a.t.value & b.t.value) return 1;
      if (((a.t.value | a.t.mask) & (b.t.value | b.t.mask)) == 0) return 0;
      return -1;
  }
  return -1;
}

void refine(Cond c, bool taken, Scalar& a, Scalar& b, bool cmp32) {
  if (c == Cond::SET) {
    // Not taken: no bit of b is set in a. Only a known b says which bits.
    Tnum bt = cmp32 ? tnum_subreg(b.var_off) : b.var_off;
    if (!taken && bt.is_const()) {
      uint64_t clear = cmp32 ? uint32_t(bt.value) : bt.value;
      a.var_off = tnum_intersect(a.var_off, {0, ~clear});
      a.var_off.value &= ~a.var_off.mask;
      if (a.var_off.value & clear) a.umin = 1, a.umax = 0;  // known set: impossible
    }
    a.sync();
    return;
  }
  if (!taken) c = negate(c);
  // Work on the compared part's bounds, then fold them back.
  auto apply = [&](auto& amin, auto& amax, auto& bmin, auto& bmax, auto less) {
    switch (c) {
      case Cond::GT:
      case Cond::SGT:
        less(bmin, bmax, amin, amax, true);
        break;
      case Cond::GE:
      case Cond::SGE:
        less(bmin, bmax, amin, amax, false);
        break;
      case Cond::LT:
      case Cond::SLT:
        less(amin, amax, bmin, bmax, true);
        break;
      case Cond::LE:
      case Cond::SLE:
        less(amin, amax, bmin, bmax, false);
        break;
      default:
        break;
    }
  };
  bool is_signed = c == Cond::SGT || c == Cond::SGE || c == Cond::SLT || c == Cond::SLE;
  if (c == Cond::EQ) {
    if (cmp32) {
      a.u32_min = b.u32_min = std::max(a.u32_min, b.u32_min);
      a.u32_max = b.u32_max = std::min(a.u32_max, b.u32_max);
      a.s32_min = b.s32_min = std::max(a.s32_min, b.s32_min);
      a.s32_max = b.s32_max = std::min(a.s32_max, b.s32_max);
      Tnum t = tnum_intersect(tnum_subreg(a.var_off), tnum_subreg(b.var_off));
      a.var_off = tnum_with_subreg(a.var_off, t);
      b.var_off = tnum_with_subreg(b.var_off, t);
    } else {
      a.umin = b.umin = std::max(a.umin, b.umin);
      a.umax = b.umax = std::min(a.umax, b.umax);
      a.smin = b.smin = std::max(a.smin, b.smin);
      a.smax = b.smax = std::min(a.smax, b.smax);
      a.var_off = b.var_off = tnum_intersect(a.var_off, b.var_off);
    }
  } else if (c == Cond::NE) {
    // Against a constant: a bound equal to it moves by one.
    auto exclude = [&](Scalar& x, const Scalar& k) {
      if (!k.is_const()) return;
      if (cmp32) {
        uint32_t v = uint32_t(k.const_value());
        if (x.u32_min == v && v < UINT32_MAX)
          ++x.u32_min;
        else if (x.u32_max == v && v > 0)
          --x.u32_max;
        if (x.s32_min == int32_t(v) && int32_t(v) < INT32_MAX)
          ++x.s32_min;
        else if (x.s32_max == int32_t(v) && int32_t(v) > INT32_MIN)
          --x.s32_max;
      } else {
        uint64_t v = k.const_value();
        if (x.umin == v && v < UINT64_MAX)
          ++x.umin;
        else if (x.umax == v && v > 0)
          --x.umax;
        if (x.smin == int64_t(v) && int64_t(v) < INT64_MAX)
          ++x.smin;
        else if (x.smax == int64_t(v) && int64_t(v) > INT64_MIN)
          --x.smax;
      }
    };
    exclude(a, b);
    exclude(b, a);
  } else if (cmp32) {
    if (is_signed)
      apply(a.s32_min, a.s32_max, b.s32_min, b.s32_max,
            [](int32_t& lo1, int32_t& hi1, int32_t& lo2, int32_t& hi2, bool strict) {
              int64_t l1 = lo1, h1 = hi1, l2 = lo2, h2 = hi2;
              less_s(l1, h1, l2, h2, strict);
              // Clamped back to 32 bits; an impossible state keeps min > max.
              lo1 = int32_t(std::clamp<int64_t>(l1, INT32_MIN, INT32_MAX));
              hi1 = int32_t(std::clamp<int64_t>(h1, INT32_MIN, INT32_MAX));
              lo2 = int32_t(std::clamp<int64_t>(l2, INT32_MIN, INT32_MAX));
              hi2 = int32_t(std::clamp<int64_t>(h2, INT32_MIN, INT32_MAX));
            });
    else
      apply(a.u32_min, a.u32_max, b.u32_min, b.u32_max,
            [](uint32_t& lo1, uint32_t& hi1, uint32_t& lo2, uint32_t& hi2, bool strict) {
              uint64_t l1 = lo1, h1 = hi1, l2 = lo2, h2 = hi2;
              less_u(l1, h1, l2, h2, strict);
              lo1 = uint32_t(std::min<uint64_t>(l1, UINT32_MAX));
              hi1 = uint32_t(std::min<uint64_t>(h1, UINT32_MAX));
              lo2 = uint32_t(std::min<uint64_t>(l2, UINT32_MAX));
              hi2 = uint32_t(std::min<uint64_t>(h2, UINT32_MAX));
              if (l1 > h1) lo1 = 1, hi1 = 0;
              if (l2 > h2) lo2 = 1, hi2 = 0;
            });
  } else if (is_signed) {
    apply(a.smin, a.smax, b.smin, b.smax, less_s);
  } else {
    apply(a.umin, a.umax, b.umin, b.umax, less_u);
  }
  a.sync();
  b.sync();
}

}  // namespace verifier
