// The verifier's abstract domains: tristate numbers and scalar bounds. Every
// transfer function must be sound (each concrete result is in the abstract
// one), checked on random sets of concrete values around the edges that
// matter (0, the sign bits, 32-bit boundaries), and precise where the kernel's
// verifier is (constants stay constants; known ranges give known bounds).
#include "compiler/bpf/helpers.h"
#include "compiler/verifier/helper_protos.h"
#include "compiler/verifier/scalar.h"
#include "compiler/verifier/tnum.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace verifier;

namespace {

// BPF's ALU on concrete values, 64-bit or 32-bit zero-extended.
uint64_t concrete(AluOp op, uint64_t a, uint64_t b, bool alu32) {
  if (alu32) {
    uint32_t x = uint32_t(a), y = uint32_t(b);
    switch (op) {
      case AluOp::ADD:
        return uint32_t(x + y);
      case AluOp::SUB:
        return uint32_t(x - y);
      case AluOp::MUL:
        return uint32_t(x * y);
      case AluOp::DIV:
        return y ? x / y : 0;
      case AluOp::MOD:
        return y ? x % y : x;
      case AluOp::SDIV:
        return y == 0 ? 0 : int32_t(y) == -1 ? uint32_t(0u - x) : uint32_t(int32_t(x) / int32_t(y));
      case AluOp::SMOD:
        return y == 0 ? x : int32_t(y) == -1 ? 0 : uint32_t(int32_t(x) % int32_t(y));
      case AluOp::OR:
        return x | y;
      case AluOp::AND:
        return x & y;
      case AluOp::XOR:
        return x ^ y;
      case AluOp::LSH:
        return uint32_t(x << (y & 31));
      case AluOp::RSH:
        return x >> (y & 31);
      case AluOp::ARSH:
        return uint32_t(int32_t(x) >> (y & 31));
      case AluOp::NEG:
        return uint32_t(0u - x);
      case AluOp::MOV:
        return y;
    }
  }
  switch (op) {
    case AluOp::ADD:
      return a + b;
    case AluOp::SUB:
      return a - b;
    case AluOp::MUL:
      return a * b;
    case AluOp::DIV:
      return b ? a / b : 0;
    case AluOp::MOD:
      return b ? a % b : a;
    case AluOp::SDIV:
      return b == 0 ? 0 : int64_t(b) == -1 ? 0 - a : uint64_t(int64_t(a) / int64_t(b));
    case AluOp::SMOD:
      return b == 0 ? a : int64_t(b) == -1 ? 0 : uint64_t(int64_t(a) % int64_t(b));
    case AluOp::OR:
      return a | b;
    case AluOp::AND:
      return a & b;
    case AluOp::XOR:
      return a ^ b;
    case AluOp::LSH:
      return a << (b & 63);
    case AluOp::RSH:
      return a >> (b & 63);
    case AluOp::ARSH:
      return uint64_t(int64_t(a) >> (b & 63));
    case AluOp::NEG:
      return 0 - a;
    case AluOp::MOV:
      return b;
  }
  return 0;
}

bool holds(Cond c, uint64_t a, uint64_t b, bool cmp32) {
  if (cmp32) {
    uint32_t x = uint32_t(a), y = uint32_t(b);
    switch (c) {
      case Cond::EQ:
        return x == y;
      case Cond::NE:
        return x != y;
      case Cond::GT:
        return x > y;
      case Cond::GE:
        return x >= y;
      case Cond::LT:
        return x < y;
      case Cond::LE:
        return x <= y;
      case Cond::SGT:
        return int32_t(x) > int32_t(y);
      case Cond::SGE:
        return int32_t(x) >= int32_t(y);
      case Cond::SLT:
        return int32_t(x) < int32_t(y);
      case Cond::SLE:
        return int32_t(x) <= int32_t(y);
      case Cond::SET:
        return (x & y) != 0;
    }
  }
  switch (c) {
    case Cond::EQ:
      return a == b;
    case Cond::NE:
      return a != b;
    case Cond::GT:
      return a > b;
    case Cond::GE:
      return a >= b;
    case Cond::LT:
      return a < b;
    case Cond::LE:
      return a <= b;
    case Cond::SGT:
      return int64_t(a) > int64_t(b);
    case Cond::SGE:
      return int64_t(a) >= int64_t(b);
    case Cond::SLT:
      return int64_t(a) < int64_t(b);
    case Cond::SLE:
      return int64_t(a) <= int64_t(b);
    case Cond::SET:
      return (a & b) != 0;
  }
  return false;
}

// A small set of concrete values of one of several shapes, and its abstraction.
struct Sample {
  std::vector<uint64_t> values;
  Scalar abs;
};

Sample sample(std::mt19937_64& g) {
  static const uint64_t kEdges[] = {0,
                                    1,
                                    2,
                                    0x7f,
                                    0xff,
                                    0x7fffffff,
                                    0x80000000,
                                    0xffffffff,
                                    0x100000000,
                                    INT64_MAX,
                                    uint64_t(INT64_MIN),
                                    UINT64_MAX,
                                    UINT64_MAX - 1,
                                    0xfffffffe};
  Sample s;
  unsigned n = 1 + unsigned(g() % 5);
  uint64_t base = kEdges[g() % std::size(kEdges)];
  uint64_t fixed = g(), fixed_mask = g() & g();  // bits that stay the same in this sample
  for (unsigned i = 0; i < n; ++i) {
    uint64_t v;
    switch (g() % 4) {
      case 0:
        v = kEdges[g() % std::size(kEdges)];
        break;
      case 1:
        v = base + (g() % 17) - 8;
        break;
      case 2:
        v = (g() & ~fixed_mask) | (fixed & fixed_mask);
        break;
      default:
        v = g() % 300;
        break;
    }
    s.values.push_back(v);
  }
  s.abs = Scalar::known(s.values[0]);
  for (uint64_t v : s.values) s.abs = join(s.abs, Scalar::known(v));
  // Sometimes a coarser abstraction: a whole range, or nothing known.
  if (g() % 8 == 0) s.abs = join(s.abs, Scalar::urange(s.abs.umin, s.abs.umax));
  if (g() % 16 == 0) s.abs = Scalar::unknown();
  return s;
}

const AluOp kOps[] = {AluOp::ADD, AluOp::SUB,  AluOp::MUL,  AluOp::DIV, AluOp::SDIV,
                      AluOp::MOD, AluOp::SMOD, AluOp::OR,   AluOp::AND, AluOp::XOR,
                      AluOp::LSH, AluOp::RSH,  AluOp::ARSH, AluOp::NEG, AluOp::MOV};
const Cond kConds[] = {Cond::EQ,  Cond::NE,  Cond::GT,  Cond::GE,  Cond::LT, Cond::LE,
                       Cond::SGT, Cond::SGE, Cond::SLT, Cond::SLE, Cond::SET};

TEST(Tnum, RangeAndContains) {
  Tnum t = Tnum::range(16, 31);
  EXPECT_EQ(t, (Tnum{16, 15}));
  for (uint64_t x = 16; x <= 31; ++x) EXPECT_TRUE(t.contains(x));
  EXPECT_FALSE(t.contains(32));
  EXPECT_TRUE(Tnum::range(0, UINT64_MAX).is_unknown());
  EXPECT_TRUE(Tnum::known(5).is_const());
  EXPECT_TRUE(Tnum::range(0, 7).is_aligned(1));
  EXPECT_TRUE((Tnum{8, 0x30}).is_aligned(8));
  EXPECT_FALSE((Tnum{8, 0x31}).is_aligned(8));
  EXPECT_TRUE(Tnum::unknown().includes(Tnum::known(3)));
  EXPECT_FALSE(Tnum::known(3).includes(Tnum::range(2, 3)));
}

TEST(Tnum, OperationsAreSound) {
  std::mt19937_64 g(1);
  for (int iter = 0; iter < 20000; ++iter) {
    // Random tnums and random members of them.
    Tnum a{0, g() & g()}, b{0, g() & g()};
    a.value = g() & ~a.mask;
    b.value = g() & ~b.mask;
    for (int k = 0; k < 8; ++k) {
      uint64_t x = a.value | (g() & a.mask), y = b.value | (g() & b.mask);
      unsigned s = unsigned(g() % 64);
      ASSERT_TRUE(tnum_add(a, b).contains(x + y));
      ASSERT_TRUE(tnum_sub(a, b).contains(x - y));
      ASSERT_TRUE(tnum_mul(a, b).contains(x * y));
      ASSERT_TRUE(tnum_and(a, b).contains(x & y));
      ASSERT_TRUE(tnum_or(a, b).contains(x | y));
      ASSERT_TRUE(tnum_xor(a, b).contains(x ^ y));
      ASSERT_TRUE(tnum_neg(a).contains(0 - x));
      ASSERT_TRUE(tnum_lshift(a, s).contains(x << s));
      ASSERT_TRUE(tnum_rshift(a, s).contains(x >> s));
      ASSERT_TRUE(tnum_arshift(a, s, 64).contains(uint64_t(int64_t(x) >> s)));
      ASSERT_TRUE(tnum_arshift(a, s % 32, 32).contains(uint32_t(int32_t(uint32_t(x)) >> (s % 32))));
      ASSERT_TRUE(tnum_union(a, b).contains(x) && tnum_union(a, b).contains(y));
      ASSERT_TRUE(tnum_cast(a, 2).contains(uint16_t(x)));
      if (b.contains(x)) {
        ASSERT_TRUE(tnum_intersect(a, b).contains(x));
      }
    }
  }
  // Constants stay constants.
  EXPECT_EQ(tnum_mul(Tnum::known(6), Tnum::known(7)), Tnum::known(42));
  EXPECT_EQ(tnum_add(Tnum::known(UINT64_MAX), Tnum::known(2)), Tnum::known(1));
}

TEST(Scalar, SyncKeepsEveryMember) {
  std::mt19937_64 g(2);
  for (int iter = 0; iter < 20000; ++iter) {
    Sample s = sample(g);
    for (uint64_t v : s.values)
      ASSERT_TRUE(s.abs.contains(v)) << std::hex << v << " " << s.abs.str();
  }
  Scalar k = Scalar::known(0x1234);
  EXPECT_TRUE(k.is_const());
  EXPECT_EQ(k.umin, 0x1234u);
  Scalar r = Scalar::urange(0, 255);
  EXPECT_EQ(r.var_off, (Tnum{0, 255}));
  EXPECT_EQ(r.smax, 255);
  EXPECT_EQ(r.u32_max, 255u);
}

TEST(Scalar, AluIsSound) {
  std::mt19937_64 g(3);
  unsigned checked = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    Sample a = sample(g), b = sample(g);
    AluOp op = kOps[g() % std::size(kOps)];
    bool alu32 = g() % 2;
    Scalar r = alu(op, a.abs, b.abs, alu32);
    for (uint64_t x : a.values)
      for (uint64_t y : b.values) {
        uint64_t want = concrete(op, x, y, alu32);
        ASSERT_TRUE(r.contains(want))
            << "op " << int(op) << (alu32 ? " (32)" : "") << std::hex << " x=" << x << " y=" << y
            << " -> " << want << "\n a: " << a.abs.str() << "\n b: " << b.abs.str()
            << "\n r: " << r.str();
        ++checked;
      }
  }
  EXPECT_GT(checked, 100000u);
}

TEST(Scalar, AluIsPreciseOnConstants) {
  for (AluOp op : kOps)
    for (bool alu32 : {false, true}) {
      if (op == AluOp::SDIV || op == AluOp::SMOD) continue;  // tracked as unknown, as the kernel
      Scalar r = alu(op, Scalar::known(1000), Scalar::known(7), alu32);
      ASSERT_TRUE(r.is_const()) << int(op) << " " << r.str();
      EXPECT_EQ(r.const_value(), concrete(op, 1000, 7, alu32)) << int(op);
    }
  // A masked byte is in [0, 255]; shifting it keeps a known range.
  Scalar byte = alu(AluOp::AND, Scalar::unknown(), Scalar::known(0xff), false);
  EXPECT_EQ(byte.umax, 255u);
  Scalar sh = alu(AluOp::LSH, byte, Scalar::known(4), false);
  EXPECT_EQ(sh.umax, 0xff0u);
  Scalar sum = alu(AluOp::ADD, byte, Scalar::known(14), false);
  EXPECT_EQ(sum.umin, 14u);
  EXPECT_EQ(sum.umax, 269u);
  // A 32-bit move zero-extends.
  Scalar z = alu(AluOp::MOV, Scalar::unknown(), Scalar::unknown(), true);
  EXPECT_EQ(z.umax, 0xffffffffu);
  EXPECT_EQ(z.smin, 0);
}

TEST(Scalar, BranchesAreSound) {
  std::mt19937_64 g(4);
  unsigned decided = 0, pairs = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    Sample a = sample(g), b = sample(g);
    if (g() % 3 == 0) b.values.assign(1, b.values[0]), b.abs = Scalar::known(b.values[0]);
    Cond c = kConds[g() % std::size(kConds)];
    bool cmp32 = g() % 2;
    int t = branch_taken(c, a.abs, b.abs, cmp32);
    decided += t >= 0;
    for (bool taken : {true, false}) {
      Scalar ra = a.abs, rb = b.abs;
      refine(c, taken, ra, rb, cmp32);
      for (uint64_t x : a.values)
        for (uint64_t y : b.values) {
          bool h = holds(c, x, y, cmp32);
          if (t >= 0) {
            ASSERT_EQ(h, bool(t)) << int(c) << std::hex << " " << x << " " << y;
          }
          if (h != taken) continue;
          ++pairs;
          ASSERT_TRUE(ra.contains(x) && rb.contains(y))
              << "cond " << int(c) << (cmp32 ? " (32)" : "") << (taken ? " taken" : " not taken")
              << std::hex << " x=" << x << " y=" << y << "\n a: " << a.abs.str()
              << "\n b: " << b.abs.str() << "\n a': " << ra.str() << "\n b': " << rb.str();
        }
    }
  }
  EXPECT_GT(decided, 1000u);
  EXPECT_GT(pairs, 100000u);
}

TEST(Scalar, BranchesRefineAsTheKernelDoes) {
  // if (len > 1500) goto out: the fall-through knows len <= 1500.
  Scalar len = Scalar::urange(0, 0xffff), lim = Scalar::known(1500);
  refine(Cond::GT, false, len, lim, false);
  EXPECT_EQ(len.umax, 1500u);
  // if (x == 7): x is the constant on the taken side.
  Scalar x = Scalar::unknown(), seven = Scalar::known(7);
  refine(Cond::EQ, true, x, seven, false);
  EXPECT_TRUE(x.is_const());
  EXPECT_EQ(x.const_value(), 7u);
  // Signed: if (s < 0) goto neg; the fall-through is non-negative.
  Scalar s = Scalar::unknown(), zero = Scalar::known(0);
  refine(Cond::SLT, false, s, zero, false);
  EXPECT_EQ(s.smin, 0);
  EXPECT_EQ(s.umax, uint64_t(INT64_MAX));
  // Known outcomes.
  EXPECT_EQ(branch_taken(Cond::GT, Scalar::urange(10, 20), Scalar::known(5), false), 1);
  EXPECT_EQ(branch_taken(Cond::LT, Scalar::urange(10, 20), Scalar::known(5), false), 0);
  EXPECT_EQ(branch_taken(Cond::EQ, Scalar::urange(10, 20), Scalar::known(15), false), -1);
  // A 32-bit comparison of a value whose high half is unknown.
  Scalar w = alu(AluOp::OR, Scalar::unknown(), Scalar::known(0), false);
  refine(Cond::LE, true, w, lim, true);
  EXPECT_EQ(w.u32_max, 1500u);
}

// The helper prototype table against libbpf's declarations of the same
// helpers: the id names the helper, the argument count matches, and only the
// helpers returning a pointer are typed map-value-or-null.
TEST(HelperProtos, AgreeWithLibbpfDeclarations) {
  std::ifstream f("/usr/include/bpf/bpf_helper_defs.h");
  if (!f) GTEST_SKIP() << "libbpf's bpf_helper_defs.h is not installed";
  std::stringstream ss;
  ss << f.rdbuf();
  std::string defs = ss.str();
  EXPECT_GE(helper_protos().size(), 18u);
  for (const HelperProto& p : helper_protos()) {
    ASSERT_NE(bpf::helper_name(p.id), nullptr) << p.name;
    EXPECT_STREQ(bpf::helper_name(p.id), p.name);
    std::string tail = " = (void *) " + std::to_string(p.id) + ";";
    size_t end = defs.find(tail);
    ASSERT_NE(end, std::string::npos) << p.name;
    size_t start = defs.rfind("static ", end);
    std::string decl = defs.substr(start, end - start);
    std::string fn = "(*bpf_" + std::string(p.name) + ")(";
    size_t at = decl.find(fn);
    ASSERT_NE(at, std::string::npos) << decl;
    std::string args = decl.substr(at + fn.size());
    args = args.substr(0, args.rfind(')'));
    unsigned n = args == "void" ? 0 : unsigned(std::count(args.begin(), args.end(), ',')) + 1;
    if (args.find("...") != std::string::npos) --n;  // variadic: the fixed arguments
    EXPECT_EQ(p.nargs(), n) << decl;
    bool returns_pointer = decl.compare(0, 14, "static void *(") == 0;
    EXPECT_EQ(p.ret == RetType::MAP_VALUE_OR_NULL, returns_pointer) << decl;
  }
  EXPECT_EQ(helper_proto(9999), nullptr);
  EXPECT_EQ(helper_proto(1)->args[1], ArgType::MAP_KEY);
}

}  // namespace
