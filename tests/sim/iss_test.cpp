// Tests of the NPU instruction-set simulator (sim/iss): every instruction's
// semantics against a plain C++ reference, faults and their CSRs, threads and
// timing, the engines reached through instructions, the trace hook, and
// robustness against random programs. Programs are built with a small
// assembler over npu::encode.
#include "compiler/npu/isa.h"
#include "firmware/abi.h"
#include "sim/iss/core.h"
#include "sim/iss/engines.h"
#include "sim/iss/machine.h"
#include "sim/iss/timing.h"
#include "sim/iss/trace.h"
#include "sim/ref/csum.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using npu::Csr;
using npu::Fault;
using npu::Insn;
using npu::Op;
using npu::iss::Machine;
using npu::iss::MachineConfig;
using npu::iss::Retired;
using npu::iss::Thread;
using npu::iss::ThreadState;
using npu::iss::Timing;

constexpr uint64_t kPkt = NPU_PKT_BASE;
constexpr uint64_t kCls = NPU_CLS_BASE;
constexpr uint64_t kEmem = NPU_EMEM_BASE;
constexpr uint64_t kMapBase = NPU_MAP_BASE;
constexpr uint64_t kRes = kCls + 0x10000;  // where test programs store their results
constexpr unsigned kResReg = 9;            // ... through this register

uint64_t neg_errno(int e) {
  return uint64_t(int64_t(-e));
}

// ---------------------------------------------------------------- assembler

class Asm {
 public:
  size_t here() const { return v_.size(); }

  size_t emit(Op op, unsigned width, unsigned a, unsigned b, unsigned c, unsigned d, unsigned e,
              int64_t imm, int64_t off) {
    if (imm != int64_t(int32_t(imm))) throw std::invalid_argument("imm does not fit 32 bits");
    Insn in;
    in.op = op;
    in.width = uint8_t(width);
    in.a = uint8_t(a), in.b = uint8_t(b), in.c = uint8_t(c), in.d = uint8_t(d), in.e = uint8_t(e);
    in.imm = int32_t(imm);
    in.off = int16_t(off);
    v_.push_back(in);
    return v_.size() - 1;
  }
  // R: a <- b op c.  I: a <- b op imm.  R1: a <- op b.
  size_t rrr(Op op, unsigned a, unsigned b, unsigned c) { return emit(op, 0, a, b, c, 0, 0, 0, 0); }
  size_t rri(Op op, unsigned a, unsigned b, int64_t imm) {
    return emit(op, 0, a, b, 0, 0, 0, imm, 0);
  }
  size_t rr(Op op, unsigned a, unsigned b) { return emit(op, 0, a, b, 0, 0, 0, 0, 0); }
  // AI (li, lih, liw, csrr, qget, jal), BI (csrw, qput), X (exit, jmp), XR (exitr, jr).
  size_t ai(Op op, unsigned a, int64_t imm) { return emit(op, 0, a, 0, 0, 0, 0, imm, 0); }
  size_t bi(Op op, unsigned b, int64_t imm) { return emit(op, 0, 0, b, 0, 0, 0, imm, 0); }
  size_t x(Op op, int64_t imm) { return emit(op, 0, 0, 0, 0, 0, 0, imm, 0); }
  size_t xr(Op op, unsigned b) { return emit(op, 0, 0, b, 0, 0, 0, 0, 0); }
  // Branches: off is relative to the branch itself.
  size_t br(Op op, unsigned b, unsigned c, int64_t off) {
    return emit(op, 0, 0, b, c, 0, 0, 0, off);
  }
  size_t bri(Op op, unsigned b, int64_t imm, int64_t off) {
    return emit(op, 0, 0, b, 0, 0, 0, imm, off);
  }
  // MEM: ld/lds/ldp/ldpb a, [b+imm]; st/stp/stpb [b+imm], a.
  size_t mem(Op op, unsigned w, unsigned a, unsigned b, int64_t imm) {
    return emit(op, w, a, b, 0, 0, 0, imm, 0);
  }
  // MEMI: st/stp [b+off], imm.
  size_t memi(Op op, unsigned w, unsigned b, int64_t off, int64_t imm) {
    return emit(op, w, 0, b, 0, 0, 0, imm, off);
  }
  size_t amo(Op op, unsigned w, unsigned a, unsigned b, unsigned d, unsigned e, int64_t imm) {
    return emit(op, w, a, b, 0, d, e, imm, 0);
  }
  size_t eng(Op op, unsigned a, unsigned b = 0, unsigned c = 0, unsigned d = 0, unsigned e = 0) {
    return emit(op, 0, a, b, c, d, e, 0, 0);
  }

  size_t li64(unsigned a, uint64_t v) {
    size_t at = ai(Op::LIW, a, int32_t(uint32_t(v)));
    ai(Op::LIH, a, int32_t(uint32_t(v >> 32)));
    return at;
  }
  // Changes the constant of the li64 at index i (for addresses known later).
  void set_li64(size_t i, uint64_t v) {
    v_.at(i).imm = int32_t(uint32_t(v));
    v_.at(i + 1).imm = int32_t(uint32_t(v >> 32));
  }
  size_t halt() { return x(Op::HALT, 0); }
  size_t nop() { return x(Op::NOP, 0); }
  size_t csrr(unsigned a, Csr c) { return ai(Op::CSRR, a, int64_t(c)); }
  size_t csrw(Csr c, unsigned b) { return bi(Op::CSRW, b, int64_t(c)); }
  // Stores register r as result number `slot` (u64 at kRes + 8 * slot), r9 holding kRes.
  void save(unsigned r, unsigned slot) { mem(Op::ST, 8, r, kResReg, 8 * int64_t(slot)); }
  void results_base() { li64(kResReg, kRes); }

  // Points the branch or jump at index i to instruction target.
  void bind(size_t i, size_t target) {
    Insn& in = v_.at(i);
    int64_t rel = int64_t(target) - int64_t(i);
    npu::Format f = npu::op_info(in.op).format;
    if (f == npu::Format::BRR || f == npu::Format::BRI)
      in.off = int16_t(rel);
    else
      in.imm = int32_t(rel);
  }

  std::vector<uint64_t> words() const {
    std::vector<uint64_t> w;
    for (const Insn& in : v_) w.push_back(npu::encode(in));
    return w;
  }

 private:
  std::vector<Insn> v_;
};

// ---------------------------------------------------------------- machine helpers

MachineConfig small(unsigned threads = 1, unsigned cores = 1) {
  MachineConfig c;
  c.cores = cores;
  c.threads = threads;
  c.pkt_size = 1 << 16;
  c.cls_size = 1 << 18;
  c.emem_size = 1 << 16;
  return c;
}

struct Rig {
  explicit Rig(const MachineConfig& c = small()) : m(c) {}
  // Loads and boots the program and runs until idle (or max cycles).
  Machine::Stop go(const Asm& a, uint64_t max = 10'000'000) {
    // ISS_TRACE=1 prints the trace of every program run this way (debugging aid).
    if (std::getenv("ISS_TRACE")) {
      tracer = std::make_unique<npu::iss::TextTracer>(stderr);
      m.set_tracer(tracer.get());
    }
    m.load(a.words());
    m.boot(0);
    return m.run(max);
  }
  Thread& th(unsigned t = 0, unsigned c = 0) { return m.core(c).thread(t); }
  uint64_t r(unsigned reg, unsigned t = 0, unsigned c = 0) { return th(t, c).r[reg]; }
  uint64_t res(unsigned slot) { return m.read64(kRes + 8 * uint64_t(slot)); }
  std::vector<uint64_t> results(size_t n) {
    std::vector<uint64_t> v(n);
    if (n) m.read(kRes, v.data(), 8 * n);
    return v;
  }
  void put64(uint64_t addr, uint64_t v) { m.write(addr, &v, 8); }
  void put32(uint64_t addr, uint32_t v) { m.write(addr, &v, 4); }
  Machine m;
  std::unique_ptr<npu::iss::TextTracer> tracer;
};

// Records every retired instruction.
struct Recorder : npu::iss::Tracer {
  void retired(const Retired& r) override { v.push_back(r); }
  std::vector<Retired> v;
};

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}

// Random operands: full width, small, 32-bit, small negative, single bits.
uint64_t rand_operand(std::mt19937_64& g) {
  uint64_t v = g();
  switch (g() % 6) {
    case 0:
      return v;
    case 1:
      return v % 100;
    case 2:
      return uint32_t(v);
    case 3:
      return uint64_t(-int64_t(v % 1000));
    case 4:
      return uint64_t(1) << (v % 64);
    default:
      return uint64_t(int64_t(int32_t(v)));
  }
}

const uint64_t kEdges[] = {0,
                           1,
                           2,
                           3,
                           7,
                           31,
                           32,
                           33,
                           63,
                           64,
                           65,
                           0x7fffffff,
                           0x80000000,
                           0xffffffff,
                           0x100000000,
                           0x1ffffffff,
                           0x7fffffffffffffff,
                           0x8000000000000000,
                           0xffffffff80000000,
                           0xfffffffffffffffe,
                           0xffffffffffffffff,
                           0x123456789abcdef0,
                           0x8000000080000000};
const int32_t kImmEdges[] = {0,  1,  2,  -1,  -2,        7,         31,         32,         33,
                             63, 64, 65, -64, INT32_MIN, INT32_MAX, 0x12345678, -0x12345678};

// ---------------------------------------------------------------- ALU reference

enum class K { Add, Sub, Mul, Div, Sdiv, Mod, Smod, Or, And, Xor, Lsh, Rsh, Arsh };

// BPF semantics written out plainly, per width.
uint64_t ref64(K k, uint64_t x, uint64_t y) {
  const int64_t sx = int64_t(x), sy = int64_t(y);
  switch (k) {
    case K::Add:
      return x + y;
    case K::Sub:
      return x - y;
    case K::Mul:
      return x * y;
    case K::Div:
      return y == 0 ? 0 : x / y;
    case K::Sdiv:
      if (y == 0) return 0;
      if (sx == INT64_MIN && sy == -1) return x;
      return uint64_t(sx / sy);
    case K::Mod:
      return y == 0 ? x : x % y;
    case K::Smod:
      if (y == 0) return x;
      if (sy == -1) return 0;
      return uint64_t(sx % sy);
    case K::Or:
      return x | y;
    case K::And:
      return x & y;
    case K::Xor:
      return x ^ y;
    case K::Lsh:
      return x << (y % 64);
    case K::Rsh:
      return x >> (y % 64);
    case K::Arsh: {
      unsigned n = unsigned(y % 64);
      uint64_t r = x >> n;
      if (n && (x >> 63)) r |= ~uint64_t(0) << (64 - n);
      return r;
    }
  }
  return 0;
}

uint64_t ref32(K k, uint32_t x, uint32_t y) {
  const int32_t sx = int32_t(x), sy = int32_t(y);
  uint32_t r = 0;
  switch (k) {
    case K::Add:
      r = x + y;
      break;
    case K::Sub:
      r = x - y;
      break;
    case K::Mul:
      r = uint32_t(uint64_t(x) * y);
      break;
    case K::Div:
      r = y == 0 ? 0 : x / y;
      break;
    case K::Sdiv:
      if (y == 0)
        r = 0;
      else if (sx == INT32_MIN && sy == -1)
        r = x;
      else
        r = uint32_t(sx / sy);
      break;
    case K::Mod:
      r = y == 0 ? x : x % y;
      break;
    case K::Smod:
      if (y == 0)
        r = x;
      else if (sy == -1)
        r = 0;
      else
        r = uint32_t(sx % sy);
      break;
    case K::Or:
      r = x | y;
      break;
    case K::And:
      r = x & y;
      break;
    case K::Xor:
      r = x ^ y;
      break;
    case K::Lsh:
      r = x << (y % 32);
      break;
    case K::Rsh:
      r = x >> (y % 32);
      break;
    case K::Arsh: {
      unsigned n = y % 32;
      r = x >> n;
      if (n && (x >> 31)) r |= ~uint32_t(0) << (32 - n);
      break;
    }
  }
  return r;  // zero-extended
}

struct AluForms {
  const char* name;
  K k;
  Op r, i, w, wi;
};
#define FORMS(ID, k) \
  { #ID, k, Op::ID, Op::ID##I, Op::ID##W, Op::ID##WI }
const AluForms kAlu[] = {FORMS(ADD, K::Add),   FORMS(SUB, K::Sub),   FORMS(MUL, K::Mul),
                         FORMS(DIV, K::Div),   FORMS(SDIV, K::Sdiv), FORMS(MOD, K::Mod),
                         FORMS(SMOD, K::Smod), FORMS(OR, K::Or),     FORMS(AND, K::And),
                         FORMS(XOR, K::Xor),   FORMS(LSH, K::Lsh),   FORMS(RSH, K::Rsh),
                         FORMS(ARSH, K::Arsh)};
#undef FORMS

constexpr uint64_t kJunk = 0xdeadbeefcafef00dull;

struct Pair {
  uint64_t x, y;
};

std::vector<Pair> reg_pairs(uint64_t seed) {
  std::vector<Pair> v;
  for (uint64_t x : kEdges)
    for (uint64_t y : kEdges) v.push_back({x, y});
  std::mt19937_64 g(seed);
  for (int i = 0; i < 300; ++i) v.push_back({rand_operand(g), rand_operand(g)});
  return v;
}

std::vector<Pair> imm_pairs(uint64_t seed) {
  std::vector<Pair> v;
  for (uint64_t x : kEdges)
    for (int32_t y : kImmEdges) v.push_back({x, uint64_t(int64_t(y))});
  std::mt19937_64 g(seed);
  for (int i = 0; i < 300; ++i) {
    uint64_t y = rand_operand(g);
    v.push_back({rand_operand(g), uint64_t(int64_t(int32_t(y)))});
  }
  return v;
}

// Runs `op` over every pair (imm: y as the immediate), each result stored; returns them.
std::vector<uint64_t> run_alu(Op op, bool imm, const std::vector<Pair>& pairs) {
  Asm a;
  a.results_base();
  for (size_t i = 0; i < pairs.size(); ++i) {
    a.li64(1, pairs[i].x);
    a.li64(3, kJunk);
    if (imm) {
      a.rri(op, 3, 1, int64_t(pairs[i].y));
    } else {
      a.li64(2, pairs[i].y);
      a.rrr(op, 3, 1, 2);
    }
    a.save(3, unsigned(i));
  }
  a.halt();
  Rig rig;
  EXPECT_EQ(rig.go(a), Machine::Stop::kIdle);
  EXPECT_EQ(rig.th().state, ThreadState::kHalted);
  return rig.results(pairs.size());
}

TEST(IssAlu, EveryOpEveryFormMatchesReference) {
  uint64_t seed = 1;
  for (const AluForms& f : kAlu) {
    struct {
      Op op;
      bool imm, w;
      const char* form;
    } forms[] = {{f.r, false, false, ""},
                 {f.i, true, false, " imm"},
                 {f.w, false, true, "w"},
                 {f.wi, true, true, "w imm"}};
    for (const auto& fm : forms) {
      std::vector<Pair> pairs = fm.imm ? imm_pairs(seed++) : reg_pairs(seed++);
      std::vector<uint64_t> got = run_alu(fm.op, fm.imm, pairs);
      int bad = 0;
      for (size_t i = 0; i < pairs.size() && bad < 5; ++i) {
        uint64_t x = pairs[i].x, y = pairs[i].y;
        uint64_t want = fm.w ? ref32(f.k, uint32_t(x), uint32_t(y)) : ref64(f.k, x, y);
        if (got[i] != want) {
          ++bad;
          ADD_FAILURE() << f.name << fm.form << " x=" << hex(x) << " y=" << hex(y)
                        << " got=" << hex(got[i]) << " want=" << hex(want);
        }
      }
    }
  }
}

// The corner cases the brief names, spelled out so a failure reads plainly.
TEST(IssAlu, BpfCornerCases) {
  struct C {
    Op op;
    uint64_t x, y, want;
  } cases[] = {
      {Op::DIV, 7, 0, 0},
      {Op::DIVW, 0xffffffff00000007, 0, 0},
      {Op::MOD, 0x123456789, 0, 0x123456789},
      {Op::MODW, 0xabcdef0012345678, 0, 0x12345678},  // zero-extended low half
      {Op::SMOD, 0xfffffffffffffff9, 0, 0xfffffffffffffff9},
      {Op::SMODW, 0xfffffffffffffff9, 0, 0xfffffff9},
      {Op::SDIV, 0x8000000000000000, ~0ull, 0x8000000000000000},
      {Op::SDIVW, 0x80000000, 0xffffffff, 0x80000000},
      {Op::SDIVW, 0xffffffff80000000, 0xffffffff, 0x80000000},
      {Op::SMOD, 0x8000000000000000, ~0ull, 0},
      {Op::SMODW, 0x80000000, 0xffffffff, 0},
      {Op::SMOD, uint64_t(-7), 2, uint64_t(-1)},  // sign of the dividend
      {Op::SMOD, 7, uint64_t(-2), 1},
      {Op::SDIV, uint64_t(-7), 2, uint64_t(-3)},  // truncates toward zero
      {Op::SDIVW, uint32_t(-7), 2, uint32_t(-3)},
      {Op::LSH, 1, 64, 1},  // masked to 0
      {Op::LSH, 1, 65, 2},
      {Op::LSHW, 1, 32, 1},
      {Op::LSHW, 1, 33, 2},
      {Op::RSH, 0x8000000000000000, 127, 1},
      {Op::RSHW, 0xffffffff80000000, 31, 1},
      {Op::ARSH, 0x8000000000000000, 63, ~0ull},
      {Op::ARSHW, 0x80000000, 31, 0xffffffff},  // 32-bit result zero-extended
      {Op::ARSHW, 0x80000000, 63, 0xffffffff},
      {Op::ADDW, 0xffffffff, 1, 0},
      {Op::SUBW, 0, 1, 0xffffffff},
      {Op::MULW, 0x10000, 0x10000, 0},
      {Op::MUL, 0x100000000, 0x100000000, 0},
  };
  for (const C& c : cases) {
    std::vector<uint64_t> got = run_alu(c.op, false, {{c.x, c.y}});
    EXPECT_EQ(got[0], c.want) << npu::op_info(c.op).id << " " << hex(c.x) << ", " << hex(c.y);
  }
  // Immediate forms: sign-extended for 64 bits, the low 32 bits for w forms.
  struct I {
    Op op;
    uint64_t x;
    int32_t imm;
    uint64_t want;
  } imms[] = {
      {Op::ADDI, 0, -1, ~0ull},
      {Op::ADDWI, 0, -1, 0xffffffff},
      {Op::ANDI, 0xffffffffffffffff, -2, 0xfffffffffffffffe},
      {Op::ANDWI, 0xffffffffffffffff, -2, 0xfffffffe},
      {Op::DIVI, 100, -1, 0},  // unsigned: 100 / 0xffff...ffff
      {Op::DIVWI, 100, -1, 0},
      {Op::SDIVI, 100, -1, uint64_t(-100)},
      {Op::SDIVWI, 100, -1, uint32_t(-100)},
      {Op::MODI, 100, 0, 100},
      {Op::SMODWI, 0x1ffffff9, -1, 0},
      {Op::LSHI, 1, 65, 2},
      {Op::ARSHWI, 0xfffffff0, 2, 0xfffffffc},
  };
  for (const I& c : imms) {
    std::vector<uint64_t> got = run_alu(c.op, true, {{c.x, uint64_t(int64_t(c.imm))}});
    EXPECT_EQ(got[0], c.want) << npu::op_info(c.op).id << " " << hex(c.x) << ", " << c.imm;
  }
}

TEST(IssAlu, DestinationMayBeASource) {
  Asm a;
  a.li64(1, 40);
  a.li64(2, 2);
  a.rrr(Op::ADD, 1, 1, 2);   // r1 = 42
  a.rrr(Op::SUB, 2, 1, 2);   // r2 = 40
  a.rrr(Op::MUL, 3, 2, 2);   // r3 = 1600
  a.rri(Op::XORI, 3, 3, 1);  // r3 = 1601
  a.halt();
  Rig rig;
  rig.go(a);
  EXPECT_EQ(rig.r(1), 42u);
  EXPECT_EQ(rig.r(2), 40u);
  EXPECT_EQ(rig.r(3), 1601u);
}

TEST(IssAlu, MovesLoadsImmediatesSignExtensionAndByteSwaps) {
  struct U {
    Op op;
    uint64_t (*f)(uint64_t);
  } unary[] = {
      {Op::MOV, [](uint64_t b) { return b; }},
      {Op::NEG, [](uint64_t b) { return 0 - b; }},
      {Op::MOVW, [](uint64_t b) { return b & 0xffffffff; }},
      {Op::NEGW, [](uint64_t b) { return uint64_t(uint32_t(0 - uint32_t(b))); }},
      {Op::SEXT8,
       [](uint64_t b) { return (b & 0x80) ? (b & 0xff) | ~uint64_t(0xff) : (b & 0xff); }},
      {Op::SEXT16,
       [](uint64_t b) { return (b & 0x8000) ? (b & 0xffff) | ~uint64_t(0xffff) : (b & 0xffff); }},
      {Op::SEXT32,
       [](uint64_t b) {
         return (b & 0x80000000) ? (b & 0xffffffff) | ~uint64_t(0xffffffff) : (b & 0xffffffff);
       }},
      {Op::SEXT8W,
       [](uint64_t b) { return (b & 0x80) ? (b & 0xff) | uint64_t(0xffffff00) : (b & 0xff); }},
      {Op::SEXT16W,
       [](uint64_t b) {
         return (b & 0x8000) ? (b & 0xffff) | uint64_t(0xffff0000) : (b & 0xffff);
       }},
      {Op::BSWAP16, [](uint64_t b) { return ((b & 0xff) << 8) | ((b >> 8) & 0xff); }},
      {Op::BSWAP32,
       [](uint64_t b) {
         uint64_t r = 0;
         for (int i = 0; i < 4; ++i) r |= ((b >> (8 * i)) & 0xff) << (8 * (3 - i));
         return r;
       }},
      {Op::BSWAP64,
       [](uint64_t b) {
         uint64_t r = 0;
         for (int i = 0; i < 8; ++i) r |= ((b >> (8 * i)) & 0xff) << (8 * (7 - i));
         return r;
       }},
  };
  std::vector<uint64_t> xs(std::begin(kEdges), std::end(kEdges));
  xs.push_back(0x0123456789abcdef);
  xs.push_back(0xfedcba9876543210);
  xs.push_back(0x7f);
  xs.push_back(0x80);
  xs.push_back(0x7fff);
  xs.push_back(0x8000);
  std::mt19937_64 g(7);
  for (int i = 0; i < 100; ++i) xs.push_back(rand_operand(g));
  for (const U& u : unary) {
    Asm a;
    a.results_base();
    for (size_t i = 0; i < xs.size(); ++i) {
      a.li64(1, xs[i]);
      a.li64(3, kJunk);
      a.rr(u.op, 3, 1);
      a.save(3, unsigned(i));
    }
    a.halt();
    Rig rig;
    rig.go(a);
    std::vector<uint64_t> got = rig.results(xs.size());
    for (size_t i = 0; i < xs.size(); ++i)
      EXPECT_EQ(got[i], u.f(xs[i])) << npu::op_info(u.op).id << " " << hex(xs[i]);
  }

  // li sign-extends, liw zero-extends, lih replaces the high half only.
  Asm a;
  a.results_base();
  unsigned n = 0;
  for (int32_t imm : kImmEdges) {
    a.li64(3, kJunk);
    a.ai(Op::LI, 3, imm);
    a.save(3, n++);
    a.li64(3, kJunk);
    a.ai(Op::LIW, 3, imm);
    a.save(3, n++);
    a.li64(3, 0x1122334455667788);
    a.ai(Op::LIH, 3, imm);
    a.save(3, n++);
  }
  a.halt();
  Rig rig;
  rig.go(a);
  n = 0;
  for (int32_t imm : kImmEdges) {
    EXPECT_EQ(rig.res(n++), uint64_t(int64_t(imm))) << "li " << imm;
    EXPECT_EQ(rig.res(n++), uint64_t(uint32_t(imm))) << "liw " << imm;
    EXPECT_EQ(rig.res(n++), (uint64_t(uint32_t(imm)) << 32) | 0x55667788) << "lih " << imm;
  }
}

// ---------------------------------------------------------------- branches

enum class C { Eq, Ne, Gt, Ge, Lt, Le, Sgt, Sge, Slt, Sle, Set };

template <typename U>
bool cond(C c, U x, U y) {
  using S = std::make_signed_t<U>;
  switch (c) {
    case C::Eq:
      return x == y;
    case C::Ne:
      return x != y;
    case C::Gt:
      return x > y;
    case C::Ge:
      return x >= y;
    case C::Lt:
      return x < y;
    case C::Le:
      return x <= y;
    case C::Sgt:
      return S(x) > S(y);
    case C::Sge:
      return S(x) >= S(y);
    case C::Slt:
      return S(x) < S(y);
    case C::Sle:
      return S(x) <= S(y);
    case C::Set:
      return (x & y) != 0;
  }
  return false;
}

struct BrForms {
  const char* name;
  C c;
  Op r, i, w, wi;
};
#define FORMS(ID, c) \
  { #ID, c, Op::ID, Op::ID##I, Op::ID##W, Op::ID##WI }
const BrForms kBr[] = {FORMS(BEQ, C::Eq),   FORMS(BNE, C::Ne),   FORMS(BGT, C::Gt),
                       FORMS(BGE, C::Ge),   FORMS(BLT, C::Lt),   FORMS(BLE, C::Le),
                       FORMS(BSGT, C::Sgt), FORMS(BSGE, C::Sge), FORMS(BSLT, C::Slt),
                       FORMS(BSLE, C::Sle), FORMS(BSET, C::Set)};
#undef FORMS

TEST(IssBranch, EveryConditionTakenAndNotTaken) {
  uint64_t seed = 100;
  for (const BrForms& f : kBr) {
    struct {
      Op op;
      bool imm, w;
      const char* form;
    } forms[] = {{f.r, false, false, ""},
                 {f.i, true, false, " imm"},
                 {f.w, false, true, "w"},
                 {f.wi, true, true, "w imm"}};
    for (const auto& fm : forms) {
      std::vector<Pair> pairs = fm.imm ? imm_pairs(seed++) : reg_pairs(seed++);
      // r3 = 1 when taken (the branch skips the instruction that clears it).
      Asm a;
      a.results_base();
      for (size_t i = 0; i < pairs.size(); ++i) {
        a.li64(1, pairs[i].x);
        if (!fm.imm) a.li64(2, pairs[i].y);
        a.ai(Op::LI, 3, 1);
        if (fm.imm)
          a.bri(fm.op, 1, int64_t(pairs[i].y), 2);
        else
          a.br(fm.op, 1, 2, 2);
        a.ai(Op::LI, 3, 0);
        a.save(3, unsigned(i));
      }
      a.halt();
      Rig rig;
      rig.go(a);
      std::vector<uint64_t> got = rig.results(pairs.size());
      size_t taken = 0, bad = 0;
      for (size_t i = 0; i < pairs.size() && bad < 5; ++i) {
        uint64_t x = pairs[i].x, y = pairs[i].y;
        bool want =
            fm.w ? cond<uint32_t>(f.c, uint32_t(x), uint32_t(y)) : cond<uint64_t>(f.c, x, y);
        taken += want;
        if (got[i] != uint64_t(want)) {
          ++bad;
          ADD_FAILURE() << f.name << fm.form << " x=" << hex(x) << " y=" << hex(y)
                        << " taken=" << got[i] << " want=" << want;
        }
      }
      // Both outcomes are exercised.
      EXPECT_GT(taken, 0u) << f.name << fm.form;
      EXPECT_LT(taken, pairs.size()) << f.name << fm.form;
    }
  }
}

TEST(IssBranch, SignedAndUnsignedBoundaries) {
  // x, y, and which of (bgt, bsgt, bgtw, bsgtw) are taken.
  struct B {
    uint64_t x, y;
    bool gt, sgt, gtw, sgtw;
  } cases[] = {
      {0x8000000000000000, 0x7fffffffffffffff, true, false, false, true},
      {0xffffffffffffffff, 0, true, false, true, false},
      {0x80000000, 0x7fffffff, true, true, true, false},
      {0x100000000, 0xffffffff, true, true, false, true},
      {0x1, 0xffffffff00000000, false, true, true, true},
      {5, 5, false, false, false, false},
  };
  Asm a;
  a.results_base();
  unsigned n = 0;
  for (const B& b : cases) {
    for (Op op : {Op::BGT, Op::BSGT, Op::BGTW, Op::BSGTW}) {
      a.li64(1, b.x);
      a.li64(2, b.y);
      a.ai(Op::LI, 3, 1);
      a.br(op, 1, 2, 2);
      a.ai(Op::LI, 3, 0);
      a.save(3, n++);
    }
  }
  a.halt();
  Rig rig;
  rig.go(a);
  n = 0;
  for (const B& b : cases) {
    EXPECT_EQ(rig.res(n++), b.gt) << "bgt " << hex(b.x) << " " << hex(b.y);
    EXPECT_EQ(rig.res(n++), b.sgt) << "bsgt " << hex(b.x) << " " << hex(b.y);
    EXPECT_EQ(rig.res(n++), b.gtw) << "bgtw " << hex(b.x) << " " << hex(b.y);
    EXPECT_EQ(rig.res(n++), b.sgtw) << "bsgtw " << hex(b.x) << " " << hex(b.y);
  }
}

TEST(IssBranch, BackwardBranchLoop) {
  Asm a;
  a.ai(Op::LI, 1, 10);  // counter
  a.ai(Op::LI, 2, 0);   // sum
  size_t loop = a.here();
  a.rrr(Op::ADD, 2, 2, 1);
  a.rri(Op::SUBI, 1, 1, 1);
  size_t b = a.bri(Op::BNEI, 1, 0, 0);
  a.bind(b, loop);
  a.halt();
  Rig rig;
  rig.go(a);
  EXPECT_EQ(rig.r(2), 55u);
  EXPECT_EQ(rig.th().state, ThreadState::kHalted);
  EXPECT_EQ(rig.th().stats.instret, 2u + 10 * 3 + 1);
}

TEST(IssBranch, JumpsAndCalls) {
  Asm a;
  a.ai(Op::LI, 5, 0);
  size_t j = a.x(Op::JMP, 0);  // over the next instruction
  a.ai(Op::LI, 5, 99);
  a.bind(j, a.here());
  size_t call = a.ai(Op::JAL, 31, 0);    // call f
  a.rri(Op::ADDI, 5, 5, 1000);           // after return
  size_t g_addr = a.li64(6, 0);          // address of g, set below
  size_t call2 = a.rr(Op::JALR, 30, 6);  // call g through a register
  a.rri(Op::ADDI, 5, 5, 100000);
  a.halt();
  size_t f = a.here();  // f: r5 += 1; return
  a.rri(Op::ADDI, 5, 5, 1);
  a.xr(Op::JR, 31);
  size_t g = a.here();  // g: r5 += 10; return
  a.rri(Op::ADDI, 5, 5, 10);
  a.xr(Op::JR, 30);
  a.bind(call, f);
  a.set_li64(g_addr, g);
  Rig rig;
  rig.go(a);
  EXPECT_EQ(rig.r(5), 101011u);
  EXPECT_EQ(rig.r(31), call + 1);  // link = pc + 1
  EXPECT_EQ(rig.r(30), call2 + 1);
  EXPECT_EQ(rig.th().state, ThreadState::kHalted);
  EXPECT_EQ(rig.th().pc, call2 + 3);
}

TEST(IssBranch, JalrReadsTargetBeforeWritingLink) {
  Asm a;
  a.li64(1, 4);
  a.rr(Op::JALR, 1, 1);  // pc 2: r1 = 3, pc = 4
  a.halt();              // 3: not reached
  a.halt();              // 4
  Rig rig;
  rig.go(a);
  EXPECT_EQ(rig.r(1), 3u);
  EXPECT_EQ(rig.th().pc, 5u);
}

// Runs a one-thread program expected to stop on a fault (fvec == 0).
struct Faulted {
  uint64_t pc, epc, cause, badaddr;
  ThreadState state;
};
Faulted run_to_fault(const Asm& a, Rig& rig) {
  rig.go(a);
  const Thread& t = rig.th();
  return {t.pc, t.epc, t.cause, t.badaddr, t.state};
}

TEST(IssBranch, OutsideTheCodeStoreFaultsIllegal) {
  auto check = [](const char* what, const Asm& a, uint64_t target) {
    Rig rig;
    Faulted f = run_to_fault(a, rig);
    EXPECT_EQ(f.state, ThreadState::kFaulted) << what;
    EXPECT_EQ(f.cause, uint64_t(Fault::ILLEGAL)) << what;
    EXPECT_EQ(f.badaddr, target) << what;
  };
  {
    Asm a;
    a.x(Op::JMP, 100);
    a.halt();
    check("jmp forward", a, 100);
  }
  {
    Asm a;
    a.nop();
    a.x(Op::JMP, -5);
    a.halt();
    check("jmp backward below 0", a, uint64_t(-4));
  }
  {
    Asm a;
    a.ai(Op::LI, 1, 1);
    a.br(Op::BEQ, 1, 1, 50);
    a.halt();
    check("beq taken", a, 51);
  }
  {
    Asm a;
    a.ai(Op::LI, 1, 1);
    a.bri(Op::BNEI, 1, 1, 8000);  // not taken: no fault
    a.ai(Op::LI, 2, 7);
    a.halt();
    Rig rig;
    rig.go(a);
    EXPECT_EQ(rig.th().state, ThreadState::kHalted);
    EXPECT_EQ(rig.r(2), 7u);
  }
  {
    Asm a;
    a.li64(1, uint64_t(1) << 40);
    a.xr(Op::JR, 1);
    a.halt();
    check("jr", a, uint64_t(1) << 40);
  }
  {
    Asm a;
    a.li64(1, 3);  // == code size: one past the end
    a.rr(Op::JALR, 2, 1);
    check("jalr to the end", a, 3);
  }
  {
    Asm a;
    a.ai(Op::JAL, 2, 1000);
    check("jal", a, 1000);
  }
  {
    Asm a;  // exit with xvec outside the store
    a.li64(1, 77);
    a.csrw(Csr::XVEC, 1);
    a.x(Op::EXIT, 2);
    check("exit", a, 77);
  }
  {
    Asm a;  // falling off the end
    a.nop();
    a.nop();
    Rig rig;
    Faulted f = run_to_fault(a, rig);
    EXPECT_EQ(f.state, ThreadState::kFaulted);
    EXPECT_EQ(f.cause, uint64_t(Fault::ILLEGAL));
    EXPECT_EQ(f.epc, 2u);
    EXPECT_EQ(f.pc, 2u);
  }
}

TEST(IssBranch, UndefinedWordsFaultIllegal) {
  for (uint64_t word :
       {uint64_t(0xff), uint64_t(0x06), uint64_t(0x10) | (uint64_t(1) << 40), ~uint64_t(0)}) {
    Asm a;
    a.nop();
    Rig rig;
    std::vector<uint64_t> w = a.words();
    w.push_back(word);
    w.push_back(npu::encode(Insn{Op::HALT}));
    rig.m.load(w);
    rig.m.boot(0);
    rig.m.run(1000);
    EXPECT_EQ(rig.th().state, ThreadState::kFaulted) << hex(word);
    EXPECT_EQ(rig.th().cause, uint64_t(Fault::ILLEGAL)) << hex(word);
    EXPECT_EQ(rig.th().epc, 1u) << hex(word);
    EXPECT_EQ(rig.th().badaddr, 1u) << hex(word);
    EXPECT_EQ(rig.th().pc, 1u) << hex(word);
  }
}

// ---------------------------------------------------------------- memory

TEST(IssMemory, LoadsAndStoresEverySizeInEveryRegion) {
  const uint64_t bases[] = {NPU_LM_BASE + 64, kCls + 0x100, kEmem + 0x100};
  for (uint64_t base : bases) {
    Rig rig(small(2));
    uint8_t pat[16];
    for (int i = 0; i < 16; ++i) pat[i] = uint8_t(0x81 + 0x11 * i);
    rig.m.write(base, pat, 16);
    Asm a;
    a.csrr(20, Csr::TID);
    size_t skip = a.bri(Op::BNEI, 20, 0, 0);  // thread 1 only halts
    a.results_base();
    a.li64(10, base);
    a.li64(11, 0x8877665544332211);
    unsigned n = 0;
    for (unsigned w : {1u, 2u, 4u, 8u}) {
      a.mem(Op::LD, w, 1, 10, 3);  // unaligned on purpose
      a.save(1, n++);
      if (w < 8) {
        a.mem(Op::LDS, w, 1, 10, 3);
        a.save(1, n++);
      }
      a.mem(Op::ST, w, 11, 10, 16 + 8 * int64_t(w));  // [16 + 8w, +w)
      a.memi(Op::STI, w, 10, 80 + 8 * int64_t(w), -3);
    }
    a.mem(Op::LD, 8, 2, 10, 24);  // read back a store through memory
    a.save(2, n++);
    a.bind(skip, a.here());
    a.halt();
    rig.go(a);
    auto le = [&](unsigned off, unsigned w) {
      uint64_t v = 0;
      for (unsigned i = 0; i < w; ++i) v |= uint64_t(pat[off + i]) << (8 * i);
      return v;
    };
    auto sx = [](uint64_t v, unsigned w) {
      unsigned sh = 64 - 8 * w;
      return uint64_t(int64_t(v << sh) >> sh);
    };
    n = 0;
    for (unsigned w : {1u, 2u, 4u, 8u}) {
      EXPECT_EQ(rig.res(n++), le(3, w)) << hex(base) << " ld." << w;
      if (w < 8) {
        EXPECT_EQ(rig.res(n++), sx(le(3, w), w)) << hex(base) << " lds." << w;
      }
      // The stores do not overlap; bytes beyond a store's size stay zero.
      std::vector<uint8_t> st = rig.m.read(base + 16 + 8 * w, 8);
      std::vector<uint8_t> sti = rig.m.read(base + 80 + 8 * w, 8);
      for (unsigned i = 0; i < 8; ++i) {
        EXPECT_EQ(st[i], i < w ? uint8_t(0x8877665544332211ull >> (8 * i)) : 0)
            << hex(base) << " st." << w << " byte " << i;
        EXPECT_EQ(sti[i], i < w ? (i == 0 ? 0xfd : 0xff) : 0)
            << hex(base) << " sti." << w << " byte " << i;
      }
    }
    EXPECT_EQ(rig.res(n++), 0x11u);  // ld.8 of [24, 32): the st.1 and zeros
  }
}

TEST(IssMemory, LocalMemoryIsPerCoreAndSizedByThreads) {
  Rig rig(small(4, 2));
  EXPECT_EQ(4u * NPU_LM_SLOT, 4096u);
  Asm a;
  a.csrr(20, Csr::TID);
  size_t skip = a.bri(Op::BNEI, 20, 0, 0);
  a.csrr(21, Csr::CID);
  a.rri(Op::ADDI, 22, 21, 0x50);
  a.mem(Op::ST, 8, 22, 0, 4088);  // r0 = 0: the last word of LM
  a.mem(Op::LD, 8, 23, 0, 4088);
  a.bind(skip, a.here());
  a.halt();
  rig.go(a);
  EXPECT_EQ(rig.r(23, 0, 0), 0x50u);
  EXPECT_EQ(rig.r(23, 0, 1), 0x51u);
  EXPECT_EQ(rig.th(0, 0).state, ThreadState::kHalted);
  EXPECT_EQ(rig.th(0, 1).state, ThreadState::kHalted);
  // The host sees core 0's local memory.
  EXPECT_EQ(rig.m.read64(4088), 0x50u);

  for (auto [addr, w] : {std::pair<uint64_t, unsigned>{4096, 1}, {4095, 2}, {4089, 8}}) {
    Asm b;
    b.li64(1, addr);
    b.mem(Op::LD, w, 2, 1, 0);
    b.halt();
    Rig r1(small(4));
    r1.go(b);
    for (unsigned t = 0; t < 4; ++t) {
      EXPECT_EQ(r1.th(t).state, ThreadState::kFaulted) << addr;
      EXPECT_EQ(r1.th(t).cause, uint64_t(Fault::MEM)) << addr;
      EXPECT_EQ(r1.th(t).badaddr, addr) << addr;
    }
  }
  Asm ok;
  ok.li64(1, 4095);
  ok.mem(Op::LD, 1, 2, 1, 0);
  ok.halt();
  Rig r2(small(4));
  r2.go(ok);
  EXPECT_EQ(r2.th(0).state, ThreadState::kHalted);
}

TEST(IssMemory, UnmappedAccessFaultsWithCsrs) {
  struct Bad {
    const char* what;
    uint64_t base;
    int32_t imm;
    Op op;
    unsigned w;
    uint64_t want_addr;
  } bad[] = {
      {"ld between LM and packets", 0x80000000, 4, Op::LD, 4, 0x80000004},
      {"st between LM and packets", 0x80000000, -8, Op::ST, 8, 0x7ffffff8},
      {"lds past CLS", kCls + (1 << 18) - 2, 0, Op::LDS, 4, kCls + (1 << 18) - 2},
      {"st past EMEM", kEmem + (1 << 16), 0, Op::ST, 1, kEmem + (1 << 16)},
      {"ld wrapping the address space", ~uint64_t(0) - 3, 0, Op::LD, 8, ~uint64_t(0) - 3},
      {"ld in the map window, no map", kMapBase + 16, 0, Op::LD, 8, kMapBase + 16},
      {"sti past packet memory", kPkt + (1 << 16) - 4, 2, Op::STI, 4, kPkt + (1 << 16) - 2},
  };
  for (const Bad& b : bad) {
    // fvec == 0: the thread stops in kFaulted at the instruction.
    {
      Asm a;
      a.li64(1, b.base);
      if (b.op == Op::STI)
        a.memi(b.op, b.w, 1, b.imm, 5);
      else
        a.mem(b.op, b.w, 2, 1, b.imm);
      a.halt();
      Rig rig;
      Faulted f = run_to_fault(a, rig);
      EXPECT_EQ(f.state, ThreadState::kFaulted) << b.what;
      EXPECT_EQ(f.cause, uint64_t(Fault::MEM)) << b.what;
      EXPECT_EQ(f.epc, 2u) << b.what;
      EXPECT_EQ(f.pc, 2u) << b.what;
      EXPECT_EQ(f.badaddr, b.want_addr) << b.what;
      EXPECT_EQ(rig.r(2), 0u) << b.what << ": a faulting load writes nothing";
      EXPECT_EQ(rig.th().stats.instret, 2u) << b.what << ": a fault does not retire";
    }
    // fvec != 0: the thread continues there; the handler reads the CSRs.
    {
      Asm p;
      size_t fv = p.li64(3, 0);
      p.csrw(Csr::FVEC, 3);
      p.li64(1, b.base);
      size_t at = b.op == Op::STI ? p.memi(b.op, b.w, 1, b.imm, 5) : p.mem(b.op, b.w, 2, 1, b.imm);
      p.ai(Op::LI, 7, 1);  // skipped
      p.halt();
      size_t handler = p.here();
      p.csrr(4, Csr::EPC);
      p.csrr(5, Csr::CAUSE);
      p.csrr(6, Csr::BADADDR);
      p.halt();
      p.set_li64(fv, handler);
      Rig rig;
      rig.go(p);
      EXPECT_EQ(rig.th().state, ThreadState::kHalted) << b.what;
      EXPECT_EQ(rig.r(4), at) << b.what;
      EXPECT_EQ(rig.r(5), uint64_t(Fault::MEM)) << b.what;
      EXPECT_EQ(rig.r(6), b.want_addr) << b.what;
      EXPECT_EQ(rig.r(7), 0u) << b.what;
      EXPECT_EQ(rig.th().pc, handler + 4) << b.what;
    }
  }
}

// ---------------------------------------------------------------- packet

struct PktRig {
  static constexpr uint64_t kLo = kPkt + 0x100, kLen = 64, kHi = kLo + kLen;
  PktRig() {
    for (unsigned i = 0; i < kLen; ++i) data[i] = uint8_t(i * 7 + 3);
    rig.m.write(kLo, data, kLen);
  }
  // Sets pkt_lo/pkt_hi and r10 = kLo.
  static void prologue(Asm& a, uint64_t lo = kLo, uint64_t hi = kHi) {
    a.li64(1, lo);
    a.csrw(Csr::PKT_LO, 1);
    a.li64(1, hi);
    a.csrw(Csr::PKT_HI, 1);
    a.li64(10, kLo);
  }
  uint64_t le(unsigned off, unsigned w) const {
    uint64_t v = 0;
    for (unsigned i = 0; i < w; ++i) v |= uint64_t(data[off + i]) << (8 * i);
    return v;
  }
  uint64_t be(unsigned off, unsigned w) const {
    uint64_t v = 0;
    for (unsigned i = 0; i < w; ++i) v = (v << 8) | data[off + i];
    return v;
  }
  uint8_t data[kLen];
  Rig rig;
};

TEST(IssPacket, LoadsEverySizeBothEndians) {
  PktRig p;
  Asm a;
  a.results_base();
  PktRig::prologue(a);
  unsigned n = 0;
  for (unsigned w = 1; w <= 8; ++w) {
    for (unsigned off : {0u, 5u, unsigned(PktRig::kLen - w)}) {  // the last one ends at pkt_hi
      a.mem(Op::LDP, w, 1, 10, off);
      a.save(1, n++);
      a.mem(Op::LDPB, w, 1, 10, off);
      a.save(1, n++);
    }
  }
  a.halt();
  p.rig.go(a);
  EXPECT_EQ(p.rig.th().state, ThreadState::kHalted);
  n = 0;
  for (unsigned w = 1; w <= 8; ++w)
    for (unsigned off : {0u, 5u, unsigned(PktRig::kLen - w)}) {
      EXPECT_EQ(p.rig.res(n++), p.le(off, w)) << "ldp." << w << " +" << off;
      EXPECT_EQ(p.rig.res(n++), p.be(off, w)) << "ldpb." << w << " +" << off;
    }
}

TEST(IssPacket, StoresEverySizeBothEndians) {
  const uint64_t v = 0x0102030405060708;
  for (unsigned w = 1; w <= 8; ++w) {
    PktRig p;
    Asm a;
    PktRig::prologue(a);
    a.li64(2, v);
    a.mem(Op::STP, w, 2, 10, 0);
    a.mem(Op::STPB, w, 2, 10, 16);
    bool has_imm = w == 1 || w == 2 || w == 4 || w == 8;
    if (has_imm) a.memi(Op::STPI, w, 10, 32, -2);
    a.mem(Op::STP, w, 2, 10, int64_t(PktRig::kLen - w));  // ends exactly at pkt_hi
    a.halt();
    p.rig.go(a);
    ASSERT_EQ(p.rig.th().state, ThreadState::kHalted) << w;
    std::vector<uint8_t> got = p.rig.m.read(PktRig::kLo, PktRig::kLen);
    for (unsigned i = 0; i < 8; ++i) {
      EXPECT_EQ(got[i], i < w ? uint8_t(v >> (8 * i)) : p.data[i]) << "stp." << w << " " << i;
      EXPECT_EQ(got[16 + i], i < w ? uint8_t(v >> (8 * (w - 1 - i))) : p.data[16 + i])
          << "stpb." << w << " " << i;
      if (has_imm) {
        EXPECT_EQ(got[32 + i], i < w ? (i == 0 ? 0xfe : 0xff) : p.data[32 + i])
            << "stpi." << w << " " << i;
      }
    }
    for (unsigned i = 0; i < w; ++i)
      EXPECT_EQ(got[PktRig::kLen - w + i], uint8_t(v >> (8 * i))) << "stp." << w << " at end";
  }
}

TEST(IssPacket, BoundsFaults) {
  struct B {
    const char* what;
    Op op;
    unsigned w;
    int64_t off;  // from kLo
    uint64_t lo, hi;
    uint64_t fault;  // expected cause (NONE: no fault)
  } cases[] = {
      {"ldp one byte past the end", Op::LDP, 4, PktRig::kLen - 3, PktRig::kLo, PktRig::kHi,
       uint64_t(Fault::PKT_BOUNDS)},
      {"ldpb at the end", Op::LDPB, 1, PktRig::kLen, PktRig::kLo, PktRig::kHi,
       uint64_t(Fault::PKT_BOUNDS)},
      {"ldp exactly to the end", Op::LDP, 8, PktRig::kLen - 8, PktRig::kLo, PktRig::kHi,
       uint64_t(Fault::NONE)},
      {"ldp below pkt_lo", Op::LDP, 1, -1, PktRig::kLo, PktRig::kHi, uint64_t(Fault::PKT_BOUNDS)},
      {"stp one past", Op::STP, 8, PktRig::kLen - 7, PktRig::kLo, PktRig::kHi,
       uint64_t(Fault::PKT_BOUNDS)},
      {"stpb one past", Op::STPB, 3, PktRig::kLen - 2, PktRig::kLo, PktRig::kHi,
       uint64_t(Fault::PKT_BOUNDS)},
      {"stpi one past", Op::STPI, 2, PktRig::kLen - 1, PktRig::kLo, PktRig::kHi,
       uint64_t(Fault::PKT_BOUNDS)},
      {"empty window", Op::LDP, 1, 0, PktRig::kLo, PktRig::kLo, uint64_t(Fault::PKT_BOUNDS)},
      {"unbounded window", Op::LDP, 4, 0, 0, ~uint64_t(0), uint64_t(Fault::NONE)},
  };
  for (const B& c : cases) {
    PktRig p;
    Asm a;
    PktRig::prologue(a, c.lo, c.hi);
    if (c.op == Op::STPI)
      a.memi(c.op, c.w, 10, c.off, 7);
    else
      a.mem(c.op, c.w, 2, 10, c.off);
    a.halt();
    std::vector<uint8_t> before = p.rig.m.read(PktRig::kLo - 8, PktRig::kLen + 16);
    p.rig.go(a);
    const Thread& t = p.rig.th();
    if (c.fault == uint64_t(Fault::NONE)) {
      EXPECT_EQ(t.state, ThreadState::kHalted) << c.what;
    } else {
      EXPECT_EQ(t.state, ThreadState::kFaulted) << c.what;
      EXPECT_EQ(t.cause, c.fault) << c.what;
      EXPECT_EQ(t.badaddr, PktRig::kLo + uint64_t(c.off)) << c.what;
      EXPECT_EQ(t.epc, 8u) << c.what;
      EXPECT_EQ(p.rig.m.read(PktRig::kLo - 8, PktRig::kLen + 16), before)
          << c.what << ": a faulting store writes nothing";
    }
  }
  // Wrap-around: an access whose end passes 2^64 faults even with an unbounded window.
  for (Op op : {Op::LDP, Op::STP}) {
    Asm a;
    a.li64(1, 0);
    a.csrw(Csr::PKT_LO, 1);
    a.li64(1, ~uint64_t(0));
    a.csrw(Csr::PKT_HI, 1);
    a.li64(10, ~uint64_t(0) - 2);
    a.mem(op, 8, 2, 10, 0);
    a.halt();
    Rig rig;
    rig.go(a);
    EXPECT_EQ(rig.th().state, ThreadState::kFaulted) << npu::op_info(op).id;
    EXPECT_EQ(rig.th().cause, uint64_t(Fault::PKT_BOUNDS)) << npu::op_info(op).id;
    EXPECT_EQ(rig.th().badaddr, ~uint64_t(0) - 2);
  }
  // Inside [pkt_lo, pkt_hi) but no memory there: MEM, not PKT_BOUNDS.
  {
    Asm a;
    a.li64(1, 0x80000000);
    a.csrw(Csr::PKT_LO, 1);
    a.li64(1, 0x90000000);
    a.csrw(Csr::PKT_HI, 1);
    a.li64(10, 0x80000010);
    a.mem(Op::LDPB, 2, 2, 10, 0);
    a.halt();
    Rig rig;
    rig.go(a);
    EXPECT_EQ(rig.th().state, ThreadState::kFaulted);
    EXPECT_EQ(rig.th().cause, uint64_t(Fault::MEM));
    EXPECT_EQ(rig.th().badaddr, 0x80000010u);
  }
}

// ---------------------------------------------------------------- CSRs

TEST(IssCsr, IdentityCsrs) {
  Rig rig(small(3, 2));
  Asm a;
  a.results_base();
  a.csrr(1, Csr::TID);
  a.csrr(2, Csr::CID);
  a.csrr(3, Csr::NTHREADS);
  a.csrr(4, Csr::NCORES);
  a.ai(Op::LI, 5, 3);
  a.rrr(Op::MUL, 5, 5, 2);
  a.rrr(Op::ADD, 5, 5, 1);   // slot = cid * 3 + tid
  a.rri(Op::LSHI, 5, 5, 5);  // * 32 bytes
  a.rrr(Op::ADD, 5, 5, kResReg);
  for (unsigned i = 0; i < 4; ++i) a.mem(Op::ST, 8, 1 + i, 5, 8 * i);
  a.halt();
  rig.go(a);
  for (unsigned c = 0; c < 2; ++c)
    for (unsigned t = 0; t < 3; ++t) {
      unsigned s = (c * 3 + t) * 4;
      EXPECT_EQ(rig.res(s + 0), t);
      EXPECT_EQ(rig.res(s + 1), c);
      EXPECT_EQ(rig.res(s + 2), 3u);
      EXPECT_EQ(rig.res(s + 3), 2u);
    }
}

TEST(IssCsr, ReadOnlyAndUndefinedCsrsFault) {
  // Writes to every read-only CSR fault CSR, with badaddr = the CSR number.
  for (Csr c : {Csr::TID, Csr::CID, Csr::NTHREADS, Csr::NCORES, Csr::CYCLE, Csr::INSTRET}) {
    Asm a;
    a.ai(Op::LI, 1, 5);
    a.csrw(c, 1);
    a.halt();
    Rig rig;
    Faulted f = run_to_fault(a, rig);
    EXPECT_EQ(f.state, ThreadState::kFaulted) << int(c);
    EXPECT_EQ(f.cause, uint64_t(Fault::CSR)) << int(c);
    EXPECT_EQ(f.badaddr, uint64_t(c)) << int(c);
    EXPECT_EQ(f.epc, 1u);
  }
  // Undefined numbers fault on read and write, including numbers that alias a
  // defined one in 16 bits, and negative ones.
  for (int64_t n :
       {int64_t(0x06), int64_t(0x07), int64_t(0x14), int64_t(0xfff), int64_t(0x10000),
        int64_t(0x10005), int64_t(0x10010), int64_t(0x7fff0013), int64_t(-1), int64_t(INT32_MIN)}) {
    for (bool write : {false, true}) {
      Asm a;
      a.ai(Op::LI, 1, 5);
      if (write)
        a.bi(Op::CSRW, 1, n);
      else
        a.ai(Op::CSRR, 2, n);
      a.halt();
      Rig rig;
      Faulted f = run_to_fault(a, rig);
      EXPECT_EQ(f.state, ThreadState::kFaulted) << (write ? "csrw " : "csrr ") << n;
      EXPECT_EQ(f.cause, uint64_t(Fault::CSR)) << (write ? "csrw " : "csrr ") << n;
      EXPECT_EQ(f.badaddr, uint64_t(n)) << (write ? "csrw " : "csrr ") << n;
    }
  }
}

TEST(IssCsr, WritableCsrsRoundTrip) {
  std::vector<Csr> rw;
  for (const npu::CsrInfo& c : npu::csrs())
    if (c.writable) rw.push_back(Csr(c.number));
  ASSERT_EQ(rw.size(), 12u);
  Asm a;
  a.results_base();
  for (size_t i = 0; i < rw.size(); ++i) {
    a.li64(1, 0x1111111111111111ull * (i + 1) + 0x100);
    a.csrw(rw[i], 1);
  }
  for (size_t i = 0; i < rw.size(); ++i) {
    a.csrr(2, rw[i]);
    a.save(2, unsigned(i));
  }
  a.halt();
  Rig rig;
  rig.go(a);
  for (size_t i = 0; i < rw.size(); ++i)
    EXPECT_EQ(rig.res(unsigned(i)), 0x1111111111111111ull * (i + 1) + 0x100)
        << npu::csr_info(unsigned(rw[i]))->name;
}

TEST(IssCsr, InstretAndCycleCount) {
  Asm a;
  a.nop();
  a.nop();
  a.nop();
  a.csrr(1, Csr::INSTRET);  // three retired before it
  a.csrr(2, Csr::CYCLE);
  a.x(Op::YIELD, 0);  // a new run of the thread
  a.csrr(3, Csr::INSTRET);
  a.nop();
  a.csrr(4, Csr::CYCLE);
  a.halt();
  Rig rig;
  rig.go(a);
  EXPECT_EQ(rig.r(1), 3u);
  EXPECT_EQ(rig.r(3), 6u);
  EXPECT_GE(rig.r(4), rig.r(2) + 3);
  EXPECT_EQ(rig.th().stats.instret, 10u);
  EXPECT_EQ(rig.m.core(0).instret(), 10u);
}

TEST(IssCsr, ExitSetsVerdictAndJumpsToXvec) {
  Asm a;
  a.li64(1, 6);
  a.csrw(Csr::XVEC, 1);     // pc 2
  a.x(Op::EXIT, -3);        // pc 3
  a.halt();                 // 4
  a.halt();                 // 5
  a.csrr(2, Csr::VERDICT);  // 6: handler
  a.ai(Op::LI, 3, 0x42);
  a.li64(4, 12);
  a.csrw(Csr::XVEC, 4);
  a.xr(Op::EXITR, 3);       // 11
  a.csrr(5, Csr::VERDICT);  // 12
  a.halt();
  Rig rig;
  rig.go(a);
  EXPECT_EQ(rig.r(2), uint64_t(-3));
  EXPECT_EQ(rig.r(5), 0x42u);
  EXPECT_EQ(rig.th().verdict, 0x42u);
  EXPECT_EQ(rig.th().state, ThreadState::kHalted);
  EXPECT_EQ(rig.th().pc, 14u);
}

// ---------------------------------------------------------------- threads and timing

// Runs a program with csrr cycle before and after `body`; returns the difference.
uint64_t cycles_of(const std::function<void(Asm&)>& body, const Timing& t = Timing(),
                   const std::function<void(Asm&)>& setup = nullptr) {
  MachineConfig cfg = small();
  cfg.timing = t;
  Rig rig(cfg);
  Asm a;
  a.li64(10, kEmem + 0x40);
  a.li64(11, kCls + 0x40);
  a.li64(12, NPU_LM_BASE + 0x40);
  a.li64(13, kPkt + 0x40);
  a.li64(1, 0);
  a.csrw(Csr::PKT_LO, 1);
  a.li64(1, ~uint64_t(0));
  a.csrw(Csr::PKT_HI, 1);
  if (setup) setup(a);
  a.csrr(20, Csr::CYCLE);
  body(a);
  a.csrr(21, Csr::CYCLE);
  a.halt();
  rig.go(a);
  EXPECT_EQ(rig.th().state, ThreadState::kHalted);
  return rig.r(21) - rig.r(20);
}

TEST(IssTiming, LoadStallsOnlyWhenTheResultIsUsed) {
  Timing t;
  const uint32_t emem = t.mem_latency[size_t(npu::iss::Region::EMEM)];
  ASSERT_GT(emem, 20u);
  // Used at once: the use waits for the latency. Cycles: ld at +1, use at +1+lat, csrr after.
  uint64_t used = cycles_of([](Asm& a) {
    a.mem(Op::LD, 8, 1, 10, 0);
    a.rri(Op::ADDI, 2, 1, 1);
  });
  EXPECT_EQ(used, 2u + emem);
  // Not used: no stall at all.
  uint64_t unused = cycles_of([](Asm& a) {
    a.mem(Op::LD, 8, 1, 10, 0);
    for (int i = 0; i < 5; ++i) a.rri(Op::ADDI, 2, 3, 1);
  });
  EXPECT_EQ(unused, 7u);
  // Used after independent work: the work hides part of the latency.
  uint64_t later = cycles_of([](Asm& a) {
    a.mem(Op::LD, 8, 1, 10, 0);
    for (int i = 0; i < 10; ++i) a.rri(Op::ADDI, 2, 3, 1);
    a.rri(Op::ADDI, 2, 1, 1);
  });
  EXPECT_EQ(later, 2u + emem);
  // A write of the in-flight register waits too (no write-after-write reordering).
  uint64_t waw = cycles_of([](Asm& a) {
    a.mem(Op::LD, 8, 1, 10, 0);
    a.ai(Op::LI, 1, 3);
  });
  EXPECT_EQ(waw, 2u + emem);
  // Every region's latency, from the Timing table: ld + use = 2 + latency.
  for (auto [reg, r] : {std::pair<unsigned, npu::iss::Region>{10, npu::iss::Region::EMEM},
                        {11, npu::iss::Region::CLS},
                        {12, npu::iss::Region::LM}}) {
    uint64_t c = cycles_of([reg = reg](Asm& a) {
      a.mem(Op::LD, 4, 1, reg, 0);
      a.rrr(Op::ADD, 2, 1, 1);
    });
    EXPECT_EQ(c, 2u + std::max<uint64_t>(1, t.mem_latency[size_t(r)])) << region_name(r);
  }
  uint64_t pkt = cycles_of([](Asm& a) {
    a.mem(Op::LDPB, 4, 1, 13, 0);
    a.rrr(Op::ADD, 2, 1, 1);
  });
  EXPECT_EQ(pkt, 2u + t.mem_latency[size_t(npu::iss::Region::PKT)]);
}

TEST(IssTiming, OnlyOperandsTheInstructionNamesAreWaitedFor) {
  // r0 in flight; instructions whose unused fields encode r0 do not wait for it.
  for (auto body : std::vector<std::function<void(Asm&)>>{
           [](Asm& a) { a.eng(Op::RAND, 1); },
           [](Asm& a) { a.eng(Op::TIME, 1); },
           [](Asm& a) { a.eng(Op::MLOOKUP, 1, 2, 3); },
           [](Asm& a) { a.amo(Op::AADD, 8, 0, 11, 1, 0, 0); },
       }) {
    uint64_t c = cycles_of([&](Asm& a) {
      a.mem(Op::LD, 8, 0, 10, 0);
      body(a);
    });
    EXPECT_EQ(c, 3u);
  }
}

TEST(IssTiming, StallAccountingByUnit) {
  Rig rig;
  Asm a;
  a.li64(10, kEmem);
  a.mem(Op::LD, 8, 1, 10, 0);
  a.rrr(Op::ADD, 2, 1, 1);
  a.eng(Op::RAND, 3);
  a.rrr(Op::ADD, 2, 3, 3);
  a.halt();
  rig.go(a);
  const auto& st = rig.th().stats;
  EXPECT_EQ(st.stall_on[size_t(npu::Unit::MEM)], Timing().mem_latency[3] - 1);
  EXPECT_EQ(st.stall_on[size_t(npu::Unit::RAND)], Timing().rand - 1);
  EXPECT_EQ(st.instret, 7u);
}

// Each thread: K iterations of an EMEM load and its use.
Asm latency_loop(unsigned iters) {
  Asm a;
  a.csrr(5, Csr::TID);
  a.rri(Op::LSHI, 5, 5, 6);
  a.li64(10, kEmem);
  a.rrr(Op::ADD, 10, 10, 5);
  a.ai(Op::LI, 7, int32_t(iters));
  size_t loop = a.here();
  a.mem(Op::LD, 8, 1, 10, 0);
  a.rrr(Op::ADD, 2, 2, 1);
  a.rri(Op::ADDI, 2, 2, 1);
  a.rri(Op::SUBI, 7, 7, 1);
  size_t b = a.bri(Op::BNEI, 7, 0, 0);
  a.bind(b, loop);
  a.halt();
  return a;
}

uint64_t core_cycles(unsigned threads, const Asm& a, Machine** out = nullptr) {
  static std::unique_ptr<Rig> keep;
  keep = std::make_unique<Rig>(small(threads));
  keep->m.load(a.words());
  keep->m.boot(0);
  // Core::run directly: stops at the exact cycle the last thread halts.
  EXPECT_EQ(keep->m.core(0).run(std::numeric_limits<uint64_t>::max()), npu::iss::Core::Stop::kIdle);
  if (out) *out = &keep->m;
  return keep->m.core(0).cycle();
}

TEST(IssTiming, ThreadsHideLatency) {
  const unsigned iters = 200;
  Asm a = latency_loop(iters);
  uint64_t one = core_cycles(1, a);
  Machine* m = nullptr;
  uint64_t four = core_cycles(4, a, &m);
  EXPECT_GT(one, iters * 150u);
  // Four threads do four times the work in barely more time than one.
  EXPECT_LT(double(four), 1.3 * double(one)) << "one " << one << " four " << four;
  EXPECT_LT(double(four), 0.5 * 4 * double(one));
  for (unsigned t = 0; t < 4; ++t) {
    EXPECT_EQ(m->core(0).thread(t).state, ThreadState::kHalted);
    EXPECT_EQ(m->core(0).thread(t).r[2], uint64_t(iters));
    EXPECT_EQ(m->core(0).thread(t).stats.instret, 6u + 5u * iters + 1);
  }
  EXPECT_GT(m->core(0).stats().swaps, uint64_t(iters));
  // Eight threads: still about one thread's time, and less idling.
  uint64_t idle4 = m->core(0).stats().idle;
  uint64_t eight = core_cycles(8, a, &m);
  EXPECT_LT(double(eight), 1.5 * double(one));
  EXPECT_LT(m->core(0).stats().idle, idle4);
}

// A wait is charged to the unit that finishes last: here the atomic unit.
TEST(IssTiming, WaitStallIsChargedToTheLastUnit) {
  Rig rig;
  Asm a;
  a.li64(10, kEmem);
  a.ai(Op::LI, 1, 1);
  a.amo(Op::AADD, 8, 0, 10, 1, 0, 0);
  a.x(Op::WAIT, 0);
  a.halt();
  rig.go(a);
  const auto& st = rig.th().stats;
  EXPECT_GT(st.stall_on[size_t(npu::Unit::ATOMIC)], 0u);
  EXPECT_EQ(st.stall_on[size_t(npu::Unit::MEM)], 0u);
}

// A checksum's latency saturates instead of wrapping around 32 bits.
TEST(IssTiming, ChecksumLatencySaturates) {
  Timing t = Timing::from_yaml_text("engines:\n  csum_per_8b: 1048576\n");
  EXPECT_EQ(t.unit_latency(npu::Unit::CSUM, 32768), UINT32_MAX);
  EXPECT_EQ(t.unit_latency(npu::Unit::CSUM, 8), t.csum + 1048576u);
}

TEST(IssTiming, WaitWaitsForPostedStores) {
  Timing t;
  const uint32_t emem = t.mem_latency[size_t(npu::iss::Region::EMEM)];
  uint64_t posted = cycles_of([](Asm& a) {
    a.mem(Op::ST, 8, 1, 10, 0);
    a.nop();
  });
  EXPECT_EQ(posted, 3u);
  uint64_t waited = cycles_of([](Asm& a) {
    a.mem(Op::ST, 8, 1, 10, 0);
    a.x(Op::WAIT, 0);
  });
  EXPECT_GE(waited, 1u + emem);
  EXPECT_LE(waited, 3u + emem);
  // An atomic without a result is posted as well.
  uint64_t amo = cycles_of([](Asm& a) {
    a.amo(Op::AADD, 8, 0, 11, 1, 0, 0);
    a.x(Op::WAIT, 0);
  });
  EXPECT_GE(amo, 1u + t.atomic);
  // Nothing outstanding: wait costs its issue cycle only.
  uint64_t idle = cycles_of([](Asm& a) { a.x(Op::WAIT, 0); });
  EXPECT_EQ(idle, 2u);
  // A pending load counts too.
  uint64_t load = cycles_of([](Asm& a) {
    a.mem(Op::LD, 8, 1, 10, 0);
    a.x(Op::WAIT, 0);
  });
  EXPECT_GE(load, 1u + emem);
}

TEST(IssThreads, YieldSwapsRoundRobin) {
  Recorder rec;
  Rig rig(small(2));
  rig.m.set_tracer(&rec);
  Asm a;
  a.nop();
  a.x(Op::YIELD, 0);
  a.nop();
  a.x(Op::YIELD, 0);
  a.halt();
  rig.go(a);
  ASSERT_EQ(rec.v.size(), 10u);
  std::string order;
  for (const Retired& r : rec.v) order += char('0' + r.thread);
  // Two instructions per turn, alternating threads.
  EXPECT_TRUE(order == "1100110010" || order == "0011001101") << order;
  EXPECT_GE(rig.m.core(0).stats().swaps, 5u);

  // Without yields one thread runs to the end first.
  Recorder rec2;
  Rig rig2(small(2));
  rig2.m.set_tracer(&rec2);
  Asm b;
  b.nop();
  b.nop();
  b.nop();
  b.halt();
  rig2.go(b);
  order.clear();
  for (const Retired& r : rec2.v) order += char('0' + r.thread);
  EXPECT_TRUE(order == "11110000" || order == "00001111") << order;
}

TEST(IssThreads, QgetSleepsUntilTheHostPushes) {
  Rig rig;
  Asm a;
  a.ai(Op::QGET, 1, 0x6);  // queues 1 and 2
  a.ai(Op::QGET, 2, 0x6);
  a.rrr(Op::ADD, 3, 1, 2);
  a.ai(Op::LI, 4, 77);
  a.bi(Op::QPUT, 4, 3);
  a.ai(Op::QGET, 5, 0x1);  // nothing comes
  a.halt();
  EXPECT_EQ(rig.go(a, 100000), Machine::Stop::kIdle);
  EXPECT_EQ(rig.th().state, ThreadState::kQueue);
  EXPECT_EQ(rig.th().pc, 0u);
  EXPECT_EQ(rig.th().stats.instret, 0u);
  uint64_t t0 = rig.m.cycle();
  rig.m.queues().push(2, 22);
  rig.m.queues().push(1, 11);
  EXPECT_EQ(rig.m.run(100000), Machine::Stop::kIdle);
  EXPECT_EQ(rig.r(1), 11u);  // lowest-numbered non-empty queue first
  EXPECT_EQ(rig.r(2), 22u);
  EXPECT_EQ(rig.r(3), 33u);
  EXPECT_EQ(rig.th().state, ThreadState::kQueue);
  EXPECT_EQ(rig.th().pc, 5u);
  EXPECT_EQ(rig.m.queues().size(3), 1u);
  uint64_t v = 0;
  EXPECT_TRUE(rig.m.queues().pop(1u << 3, &v));
  EXPECT_EQ(v, 77u);
  EXPECT_GE(rig.m.cycle(), t0);
  rig.m.queues().push(0, 5);
  rig.m.run(100000);
  EXPECT_EQ(rig.r(5), 5u);
  EXPECT_EQ(rig.th().state, ThreadState::kHalted);
}

TEST(IssThreads, QueuesBetweenCores) {
  // Core 0 thread 0 sends 1..10 on queue 4; core 1 thread 0 sums them.
  Rig rig(small(1, 2));
  Asm a;
  a.csrr(1, Csr::CID);
  size_t consumer = a.bri(Op::BNEI, 1, 0, 0);
  a.ai(Op::LI, 2, 1);
  size_t loop = a.here();
  a.bi(Op::QPUT, 2, 4);
  a.rri(Op::ADDI, 2, 2, 1);
  a.bri(Op::BLEI, 2, 10, int64_t(loop) - int64_t(a.here()));
  a.halt();
  a.bind(consumer, a.here());
  a.ai(Op::LI, 3, 0);
  a.ai(Op::LI, 4, 10);
  size_t l2 = a.here();
  a.ai(Op::QGET, 5, 1 << 4);
  a.rrr(Op::ADD, 3, 3, 5);
  a.rri(Op::SUBI, 4, 4, 1);
  a.bri(Op::BNEI, 4, 0, int64_t(l2) - int64_t(a.here()));
  a.halt();
  EXPECT_EQ(rig.go(a), Machine::Stop::kIdle);
  EXPECT_EQ(rig.r(3, 0, 1), 55u);
  EXPECT_EQ(rig.th(0, 1).state, ThreadState::kHalted);
}

// A program that exercises most units on four threads, for determinism checks.
Asm busy_program() {
  Asm a;
  a.results_base();
  a.csrr(1, Csr::TID);
  a.li64(10, kEmem);
  a.li64(11, kCls + 0x800);
  a.rri(Op::LSHI, 2, 1, 3);
  a.rrr(Op::ADD, 10, 10, 2);
  a.ai(Op::LI, 7, 40);
  size_t loop = a.here();
  a.mem(Op::LD, 8, 3, 10, 0);
  a.rrr(Op::ADD, 3, 3, 7);
  a.mem(Op::ST, 8, 3, 10, 0);
  a.eng(Op::RAND, 4);
  a.rrr(Op::XOR, 5, 5, 4);
  a.amo(Op::AFADD, 8, 6, 11, 7, 0, 0);
  a.rrr(Op::ADD, 8, 8, 6);
  a.rrr(Op::DIV, 12, 5, 7);
  size_t odd = a.bri(Op::BSETI, 7, 1, 0);
  a.x(Op::YIELD, 0);
  a.bind(odd, a.here());
  a.rri(Op::SUBI, 7, 7, 1);
  a.bri(Op::BNEI, 7, 0, int64_t(loop) - int64_t(a.here()));
  a.x(Op::WAIT, 0);
  a.csrr(13, Csr::CYCLE);
  a.halt();
  return a;
}

struct Snapshot {
  uint64_t core_cycle, instret, busy, swaps;
  std::vector<std::array<uint64_t, npu::kNumRegs>> regs;
  std::vector<uint64_t> instrets;
  std::vector<uint8_t> cls;
  bool operator==(const Snapshot& o) const {
    return core_cycle == o.core_cycle && instret == o.instret && busy == o.busy &&
           swaps == o.swaps && regs == o.regs && instrets == o.instrets && cls == o.cls;
  }
};

Snapshot snapshot_run(uint64_t quantum, uint64_t seed = 5, bool exact_cycle = true) {
  MachineConfig cfg = small(4);
  cfg.quantum = quantum;
  cfg.seed = seed;
  Rig rig(cfg);
  Asm a = busy_program();
  rig.m.load(a.words());
  rig.m.boot(0);
  EXPECT_EQ(rig.m.run(10'000'000), Machine::Stop::kIdle);
  Snapshot s;
  const auto& core = rig.m.core(0);
  s.core_cycle = exact_cycle ? core.cycle() : 0;
  s.instret = core.instret();
  s.busy = core.stats().busy;
  s.swaps = core.stats().swaps;
  for (unsigned t = 0; t < 4; ++t) {
    s.regs.push_back(core.thread(t).r);
    s.instrets.push_back(core.thread(t).stats.instret);
    EXPECT_EQ(core.thread(t).state, ThreadState::kHalted);
  }
  s.cls = rig.m.read(kCls + 0x800, 64);
  return s;
}

TEST(IssThreads, Deterministic) {
  Snapshot a = snapshot_run(64), b = snapshot_run(64);
  EXPECT_TRUE(a == b);
  EXPECT_GT(a.instret, 4u * 40 * 10);
  // The quantum of the machine loop changes nothing for one core (the final core
  // cycle is rounded up to a quantum, so it is left out).
  Snapshot ref = snapshot_run(64, 5, false);
  for (uint64_t q : {1, 7, 1000, 1 << 20}) {
    Snapshot s = snapshot_run(q, 5, false);
    EXPECT_TRUE(s == ref) << "quantum " << q;
    for (unsigned t = 0; t < 4; ++t)
      EXPECT_EQ(s.regs[t][13], ref.regs[t][13]) << "quantum " << q << " thread " << t;
  }
  // A different random seed changes the values, not the timing.
  Snapshot other = snapshot_run(64, 6);
  EXPECT_NE(other.regs[0][5], a.regs[0][5]);
  EXPECT_EQ(other.instret, a.instret);
  EXPECT_EQ(other.regs[0][13], a.regs[0][13]);
}

TEST(IssTiming, PerOpcodeCyclesFromTheTableAndYaml) {
  auto muls = [](Asm& a) {
    for (int i = 0; i < 10; ++i) a.rrr(Op::MUL, 1, 2, 3);
  };
  Timing def;
  EXPECT_EQ(def.cycles[size_t(Op::MUL)], 3u);
  EXPECT_EQ(def.cycles[size_t(Op::DIVW)], 16u);
  EXPECT_EQ(cycles_of(muls), 1u + 10 * 3);
  Timing y = Timing::from_yaml_text("cycles:\n  mul: 7\n");
  EXPECT_EQ(y.cycles[size_t(Op::MUL)], 7u);
  EXPECT_EQ(y.cycles[size_t(Op::MULI)], 7u);
  EXPECT_EQ(y.cycles[size_t(Op::MULW)], 3u);  // "mulw" is another mnemonic
  EXPECT_EQ(cycles_of(muls, y), 1u + 10 * 7);
  Timing t;
  t.cycles[size_t(Op::MUL)] = 9;
  EXPECT_EQ(cycles_of(muls, t), 1u + 10 * 9);

  auto divs = [](Asm& a) {
    for (int i = 0; i < 4; ++i) a.rri(Op::DIVWI, 1, 2, 3);
    for (int i = 0; i < 4; ++i) a.rri(Op::ADDI, 1, 2, 3);
  };
  EXPECT_EQ(cycles_of(divs), 1u + 4 * 16 + 4);
  Timing y2 = Timing::from_yaml_text("cycles: {divw: 2, add: 5}");
  EXPECT_EQ(cycles_of(divs, y2), 1u + 4 * 2 + 4 * 5);

  // Taken branches cost branch_taken_cycles more; not-taken ones do not.
  auto taken = [](Asm& a) {
    for (int i = 0; i < 10; ++i) a.br(Op::BEQ, 0, 0, 1);
  };
  auto not_taken = [](Asm& a) {
    for (int i = 0; i < 10; ++i) a.br(Op::BNE, 0, 0, 1);
  };
  EXPECT_EQ(cycles_of(taken), 1u + 10 * (1 + def.branch_taken_cycles));
  EXPECT_EQ(cycles_of(not_taken), 1u + 10);
  Timing yb = Timing::from_yaml_text("branch_taken_cycles: 4");
  EXPECT_EQ(cycles_of(taken, yb), 1u + 10 * 5);
  EXPECT_EQ(cycles_of(not_taken, yb), 1u + 10);

  // Memory and engine latencies from YAML.
  auto ld_use = [](Asm& a) {
    a.mem(Op::LD, 8, 1, 10, 0);
    a.rrr(Op::ADD, 2, 1, 1);
  };
  Timing ym = Timing::from_yaml_text("memory: {emem: 300, cls: 9}\nengines: {hash: 33}");
  EXPECT_EQ(cycles_of(ld_use, ym), 2u + 300);
  auto hash_use = [](Asm& a) {
    a.ai(Op::LI, 2, 4);
    a.eng(Op::HASH, 1, 11, 2, 0);
    a.rrr(Op::ADD, 2, 1, 1);
  };
  EXPECT_EQ(cycles_of(hash_use, ym), 3u + 33);
  EXPECT_EQ(cycles_of(hash_use), 3u + def.hash);
}

TEST(IssTiming, SwapCycles) {
  auto run = [](const Timing& t) {
    MachineConfig cfg = small(2);
    cfg.timing = t;
    Rig rig(cfg);
    Asm a;
    for (int i = 0; i < 5; ++i) a.x(Op::YIELD, 0);
    a.halt();
    rig.m.load(a.words());
    rig.m.boot(0);
    rig.m.core(0).run(1'000'000);
    return std::make_pair(rig.m.core(0).cycle(), rig.m.core(0).stats().swaps);
  };
  auto [c1, s1] = run(Timing());
  auto [c5, s5] = run(Timing::from_yaml_text("swap_cycles: 5"));
  EXPECT_EQ(s1, s5);
  EXPECT_GE(s1, 10u);
  EXPECT_EQ(c5 - c1, s1 * 4);
}

// "name value ..." for test messages.
template <typename... A>
std::string label(const A&... a) {
  std::string s;
  auto one = [&s](const auto& x) {
    if (!s.empty()) s += ' ';
    if constexpr (std::is_convertible_v<decltype(x), std::string>)
      s += x;
    else
      s += std::to_string(x);
  };
  (one(a), ...);
  return s;
}

// Runs words on one core of `threads` threads, tracing, until no thread can go
// on (Core::run directly: the core stops at the exact cycle of the last issue).
struct Traced {
  std::unique_ptr<Rig> rig;
  Recorder rec;
  Traced(const std::vector<uint64_t>& words, const Timing& t, unsigned threads = 1,
         uint64_t quantum = 64) {
    MachineConfig cfg = small(threads);
    cfg.timing = t;
    cfg.quantum = quantum;
    rig = std::make_unique<Rig>(cfg);
    rig->m.set_tracer(&rec);
    rig->m.load(words);
    rig->m.boot(0);
  }
  npu::iss::Core& core() { return rig->m.core(0); }
  void run() {
    EXPECT_EQ(core().run(std::numeric_limits<uint64_t>::max()), npu::iss::Core::Stop::kIdle);
  }
};

TEST(IssTiming, TheFirstInstructionAfterStartPaysASwap) {
  for (uint32_t swap : {1u, 5u}) {
    Timing t;
    t.swap_cycles = swap;
    const uint64_t nop = t.cycles[size_t(Op::NOP)], halt = t.cycles[size_t(Op::HALT)];
    Asm a;
    a.nop();
    a.halt();
    Traced r(a.words(), t, 2);
    r.run();
    // Thread 0 issues after one swap, thread 1 after a second.
    ASSERT_EQ(r.rec.v.size(), 4u);
    EXPECT_EQ(r.rec.v[0].thread, 0u);
    EXPECT_EQ(r.rec.v[0].cycle, swap);
    EXPECT_EQ(r.rec.v[1].cycle, swap + nop);
    EXPECT_EQ(r.rec.v[2].thread, 1u);
    EXPECT_EQ(r.rec.v[2].cycle, 2 * swap + nop + halt);
    const uint64_t end = 2 * (swap + nop + halt);
    EXPECT_EQ(r.core().cycle(), end);
    EXPECT_EQ(r.core().stats().swaps, 2u);
    EXPECT_EQ(r.core().stats().swap_cycles, 2u * swap);
    EXPECT_EQ(r.core().stats().idle, 0u);
    // Started again, even the thread that ran last pays a swap before its first issue.
    r.core().start(1, 0);
    r.run();
    ASSERT_EQ(r.rec.v.size(), 6u);
    EXPECT_EQ(r.rec.v[4].thread, 1u);
    EXPECT_EQ(r.rec.v[4].cycle, end + swap);
    EXPECT_EQ(r.core().cycle(), end + swap + nop + halt);
    EXPECT_EQ(r.core().stats().swaps, 3u);
  }
}

TEST(IssTiming, ATrapToFvecCostsATakenBranch) {
  for (uint32_t bt : {1u, 4u}) {
    Timing t;
    t.branch_taken_cycles = bt;
    const uint64_t ld = t.cycles[size_t(Op::LD)];
    // A load from no memory (MEM) and an undefined word (ILLEGAL, 1 cycle) at
    // pc 4, fvec = 5 or 0.
    for (bool undefined : {false, true}) {
      for (bool trap : {true, false}) {
        Asm a;
        a.ai(Op::LI, 3, trap ? 5 : 0);  // 0
        a.csrw(Csr::FVEC, 3);           // 1
        a.li64(1, 0x80000000);          // 2, 3
        a.mem(Op::LD, 8, 2, 1, 0);      // 4: faults
        a.halt();                       // 5: the handler
        std::vector<uint64_t> w = a.words();
        if (undefined) w[4] = 0xff;
        const uint64_t cost = undefined ? 1 : ld;
        const std::string what = label("undefined", undefined, "trap", trap, "bt", bt);
        Traced r(w, t);
        r.run();
        const Thread& th = r.rig->th();
        ASSERT_GE(r.rec.v.size(), 5u) << what;
        const Retired& f = r.rec.v[4];
        EXPECT_EQ(f.fault, uint8_t(undefined ? Fault::ILLEGAL : Fault::MEM)) << what;
        EXPECT_EQ(f.pc, 4u) << what;
        EXPECT_EQ(th.epc, 4u) << what;
        if (trap) {
          ASSERT_EQ(r.rec.v.size(), 6u) << what;
          EXPECT_EQ(r.rec.v[5].pc, 5u) << what;
          EXPECT_EQ(r.rec.v[5].cycle, f.cycle + cost + bt) << what;
          EXPECT_EQ(th.state, ThreadState::kHalted) << what;
        } else {
          EXPECT_EQ(r.rec.v.size(), 5u) << what;
          EXPECT_EQ(th.state, ThreadState::kFaulted) << what;
          EXPECT_EQ(r.core().cycle(), f.cycle + cost) << what;
        }
        // The trap's cycles are issue cycles: one thread, no stall.
        EXPECT_EQ(th.stats.issue_cycles + r.core().stats().swap_cycles, r.core().cycle()) << what;
        EXPECT_EQ(th.stats.instret, trap ? 5u : 4u) << what;
      }
    }
  }
}

TEST(IssTiming, AJumpOutOfTheCodeStoreRetiresThenItsTargetFaults) {
  for (uint32_t bt : {1u, 4u}) {
    Timing t;
    t.branch_taken_cycles = bt;
    const uint64_t swap = t.swap_cycles, jmp = t.cycles[size_t(Op::JMP)];
    for (bool trap : {false, true}) {
      for (uint64_t quantum : {64u, 1u, 2u, 3u}) {
        Asm a;
        a.ai(Op::LI, 3, trap ? 3 : 0);  // 0
        a.csrw(Csr::FVEC, 3);           // 1
        a.x(Op::JMP, 98);               // 2: to 100
        a.halt();                       // 3: the handler
        const std::string what = label("quantum", quantum, "trap", trap, "bt", bt);
        Traced r(a.words(), t, 1, quantum);
        // Through Machine::run, so that a quantum may end between the jump and the fault.
        EXPECT_EQ(r.rig->m.run(1000), Machine::Stop::kIdle) << what;
        const Thread& th = r.rig->th();
        ASSERT_EQ(r.rec.v.size(), trap ? 5u : 4u) << what;
        const Retired &j = r.rec.v[2], &f = r.rec.v[3];
        const uint64_t at = swap + t.cycles[size_t(Op::LI)] + t.cycles[size_t(Op::CSRW)];
        EXPECT_EQ(j.pc, 2u) << what;
        EXPECT_EQ(j.cycle, at) << what;
        EXPECT_EQ(j.fault, 0u) << what;
        EXPECT_EQ(f.pc, 100u) << what;
        EXPECT_EQ(f.word, ~uint64_t(0)) << what;
        EXPECT_EQ(f.fault, uint8_t(Fault::ILLEGAL)) << what;
        EXPECT_EQ(f.cycle, at + jmp + bt) << what;
        EXPECT_EQ(th.epc, 100u) << what;
        EXPECT_EQ(th.badaddr, 100u) << what;
        EXPECT_EQ(th.stats.instret, trap ? 4u : 3u) << what;
        if (trap) {
          EXPECT_EQ(r.rec.v[4].pc, 3u) << what;
          EXPECT_EQ(r.rec.v[4].cycle, f.cycle + 1 + bt) << what;
          EXPECT_EQ(th.state, ThreadState::kHalted) << what;
        } else {
          EXPECT_EQ(th.state, ThreadState::kFaulted) << what;
          EXPECT_EQ(th.pc, 100u) << what;
          EXPECT_EQ(th.stats.issue_cycles, f.cycle + 1 - swap) << what;
        }
      }
    }
  }
}

TEST(IssTiming, YamlErrorsNameTheKey) {
  struct E {
    const char* text;
    const char* key;
  } bad[] = {
      {"foo: 1", "foo"},
      {"cycles: {nosuch: 2}", "nosuch"},
      {"cycles: {add: 0}", "cycles.add"},
      {"cycles: {add: 256}", "cycles.add"},
      {"cycles: {add: x}", "cycles.add"},
      {"cycles: {add: -1}", "cycles.add"},
      {"cycles: 3", "cycles"},
      {"memory: {dram: 5}", "dram"},
      {"memory: {emem: 0}", "memory.emem"},
      {"memory: {emem: 1.5}", "memory.emem"},
      {"engines: {gpu: 1}", "gpu"},
      {"engines: {map: -1}", "engines.map"},
      {"engines: {map: [1, 2]}", "engines.map"},
      {"clock_mhz: 0", "clock_mhz"},
      {"swap_cycles: 1.5", "swap_cycles"},
      {"branch_taken_cycles: 99999999999", "branch_taken_cycles"},
      {"[1, 2]", "mapping"},
      {"cycles: {add: 1", "t.yaml"},  // a syntax error: file and line
  };
  for (const E& e : bad) {
    try {
      Timing::from_yaml_text(e.text, "t.yaml");
      ADD_FAILURE() << "accepted: " << e.text;
    } catch (const std::runtime_error& ex) {
      std::string m = ex.what();
      EXPECT_NE(m.find(e.key), std::string::npos) << e.text << " -> " << m;
      EXPECT_EQ(m.rfind("t.yaml", 0), 0u) << e.text << " -> " << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << e.text << " -> " << m;
    }
  }
  // Good values, and files.
  Timing t = Timing::from_yaml_text(
      "clock_mhz: 1200\nswap_cycles: 0\nbranch_taken_cycles: 2\n"
      "memory: {lm: 2, pkt: 3, cls: 4, emem: 5, map: 6}\n"
      "engines: {atomic: 7, map: 8, csum: 9, csum_per_8b: 0, hash: 10, rand: 11, time: 12, "
      "queue: 13}\n");
  EXPECT_EQ(t.clock_mhz, 1200u);
  EXPECT_EQ(t.swap_cycles, 0u);
  EXPECT_EQ(t.branch_taken_cycles, 2u);
  EXPECT_EQ(t.mem_latency, (std::array<uint32_t, 5>{2, 3, 4, 5, 6}));
  EXPECT_EQ(t.atomic, 7u);
  EXPECT_EQ(t.map, 8u);
  EXPECT_EQ(t.unit_latency(npu::Unit::CSUM, 100), 9u);
  EXPECT_EQ(t.hash, 10u);
  EXPECT_EQ(t.rand, 11u);
  EXPECT_EQ(t.time, 12u);
  EXPECT_EQ(t.queue, 13u);
  EXPECT_EQ(Timing::from_yaml_text("").clock_mhz, Timing().clock_mhz);
  std::string path = ::testing::TempDir() + "iss_timing.yaml";
  std::ofstream(path) << "cycles:\n  ld: 4\n";
  EXPECT_EQ(Timing::from_yaml_file(path).cycles[size_t(Op::LD)], 4u);
  std::ofstream(path) << "memory:\n  nope: 4\n";
  try {
    Timing::from_yaml_file(path);
    ADD_FAILURE() << "accepted a bad file";
  } catch (const std::runtime_error& ex) {
    EXPECT_EQ(std::string(ex.what()).rfind(path, 0), 0u) << ex.what();
  }
  EXPECT_THROW(Timing::from_yaml_file(path + ".missing"), std::runtime_error);
}

TEST(IssTiming, ShippedTimingFileIsTheDefaults) {
  Timing f = Timing::from_yaml_file(NPU_SOURCE_DIR "/sim/iss/npu-timing.yaml");
  Timing d;
  EXPECT_EQ(f.clock_mhz, d.clock_mhz);
  EXPECT_EQ(f.swap_cycles, d.swap_cycles);
  EXPECT_EQ(f.branch_taken_cycles, d.branch_taken_cycles);
  for (unsigned i = 0; i < npu::kNumOps; ++i)
    EXPECT_EQ(f.cycles[i], d.cycles[i]) << npu::op_info(Op(i)).mnemonic;
  EXPECT_EQ(f.mem_latency, d.mem_latency);
  for (npu::Unit u : {npu::Unit::ATOMIC, npu::Unit::MAP, npu::Unit::CSUM, npu::Unit::HASH,
                      npu::Unit::RAND, npu::Unit::TIME, npu::Unit::QUEUE})
    EXPECT_EQ(f.unit_latency(u, 100), d.unit_latency(u, 100)) << npu::unit_name(u);
}

// ---------------------------------------------------------------- backend interface

TEST(IssBackend, CountersAndCsrsWithoutReachingIntoACore) {
  Rig rig(small(2, 2));
  Asm a;
  a.csrr(1, Csr::TID);
  a.li64(10, kEmem);
  a.mem(Op::LD, 8, 2, 10, 0);
  a.rrr(Op::ADD, 3, 2, 1);  // stalls on the load
  a.x(Op::YIELD, 0);
  a.halt();
  ASSERT_EQ(rig.go(a), Machine::Stop::kIdle);
  npu::iss::Backend& b = rig.m;
  EXPECT_EQ(b.ncores(), 2u);
  EXPECT_EQ(b.nthreads(), 2u);
  for (unsigned c = 0; c < 2; ++c) {
    const npu::iss::Core& core = rig.m.core(c);
    uint64_t busy = core.stats().swap_cycles, stalls = 0;
    for (unsigned t = 0; t < 2; ++t) {
      const npu::iss::ThreadStats& st = core.thread(t).stats;
      busy += st.issue_cycles;
      for (uint64_t s : st.stall_on) stalls += s;
    }
    EXPECT_GT(stalls, 0u);
    npu::iss::CoreCounters k = b.counters(c);
    EXPECT_EQ(k.instret, 14u);
    EXPECT_EQ(k.instret, core.instret());
    EXPECT_EQ(k.busy, busy + stalls);
    for (unsigned t = 0; t < 2; ++t) {
      EXPECT_EQ(b.csr(c, t, Csr::TID), t);
      EXPECT_EQ(b.csr(c, t, Csr::CID), c);
      EXPECT_EQ(b.csr(c, t, Csr::NTHREADS), 2u);
      EXPECT_EQ(b.csr(c, t, Csr::NCORES), 2u);
      EXPECT_EQ(b.csr(c, t, Csr::CYCLE), core.cycle());
      EXPECT_EQ(b.csr(c, t, Csr::INSTRET), 7u);
    }
  }
  // Every writable CSR, read back and seen by the thread.
  uint64_t v = 0x100;
  for (const npu::CsrInfo& ci : npu::csrs()) {
    if (!ci.writable) {
      EXPECT_THROW(b.set_csr(1, 1, Csr(ci.number), 1), std::invalid_argument) << ci.name;
      continue;
    }
    b.set_csr(1, 1, Csr(ci.number), ++v);
    EXPECT_EQ(b.csr(1, 1, Csr(ci.number)), v) << ci.name;
    EXPECT_NE(b.csr(1, 0, Csr(ci.number)), v) << ci.name << ": another thread's";
  }
  const Thread& th = rig.th(1, 1);
  EXPECT_EQ(th.epc, b.csr(1, 1, Csr::EPC));
  EXPECT_EQ(th.cause, b.csr(1, 1, Csr::CAUSE));
  EXPECT_EQ(th.badaddr, b.csr(1, 1, Csr::BADADDR));
  EXPECT_EQ(th.fvec, b.csr(1, 1, Csr::FVEC));
  EXPECT_EQ(th.scratch[3], b.csr(1, 1, Csr::SCRATCH3));
  // What does not exist.
  const uint16_t none = 0x7777;
  ASSERT_EQ(npu::csr_info(none), nullptr);
  EXPECT_THROW(b.csr(0, 0, Csr(none)), std::out_of_range);
  EXPECT_THROW(b.set_csr(0, 0, Csr(none), 1), std::out_of_range);
  EXPECT_THROW(b.csr(0, 2, Csr::TID), std::out_of_range);
  EXPECT_THROW(b.set_csr(0, 2, Csr::EPC, 1), std::out_of_range);
  EXPECT_THROW(b.csr(2, 0, Csr::TID), std::out_of_range);
  EXPECT_THROW(b.counters(2), std::out_of_range);
}

// A backend that watches every host access: what a lockstep of two devices overrides.
class Watched : public Machine {
 public:
  using Machine::Machine;
  struct Copy {
    uint64_t addr;
    size_t n;
    unsigned core;
    bool write;
    bool operator==(const Copy& o) const {
      return addr == o.addr && n == o.n && core == o.core && write == o.write;
    }
  };
  std::vector<Copy> copies;

 protected:
  void host_copy(uint64_t addr, void* p, size_t n, unsigned core, bool write) override {
    copies.push_back({addr, n, core, write});
    Machine::host_copy(addr, p, n, core, write);
  }
};

TEST(IssBackend, HostAccessGoesThroughHostCopy) {
  Watched w(small(1, 2));
  npu::iss::Backend& b = w;
  const uint64_t v = 0x1122334455667788;
  b.write(kCls + 8, &v, 8);
  EXPECT_EQ(b.read64(kCls + 8), v);
  EXPECT_EQ(b.read(kCls + 8, 2), (std::vector<uint8_t>{0x88, 0x77}));
  b.write(kCls, nullptr, 0);  // nothing to copy
  b.write(NPU_LM_BASE, &v, 8, 1);
  uint64_t lm0 = 1, lm1 = 0;
  b.read(NPU_LM_BASE, &lm0, 8, 0);
  b.read(NPU_LM_BASE, &lm1, 8, 1);
  EXPECT_EQ(lm0, 0u);
  EXPECT_EQ(lm1, v);
  using C = Watched::Copy;
  EXPECT_EQ(w.copies, (std::vector<C>{{kCls + 8, 8, 0, true},
                                      {kCls + 8, 8, 0, false},
                                      {kCls + 8, 2, 0, false},
                                      {NPU_LM_BASE, 8, 1, true},
                                      {NPU_LM_BASE, 8, 0, false},
                                      {NPU_LM_BASE, 8, 1, false}}));
  // Loading a data section outside local memory writes through it too.
  w.copies.clear();
  w.load({}, {{kEmem + 16, {1, 2, 3}}});
  EXPECT_EQ(w.copies, (std::vector<C>{{kEmem + 16, 3, 0, true}}));
  // The default's errors.
  try {
    b.read64(kMapBase + 16);
    ADD_FAILURE() << "no throw";
  } catch (const std::out_of_range& e) {
    char want[96];
    std::snprintf(want, sizeof want, "device read of 8 bytes at 0x%llx: no memory there",
                  static_cast<unsigned long long>(kMapBase + 16));
    EXPECT_EQ(std::string(e.what()), want);
  }
  EXPECT_THROW(b.write(kCls, &v, 8, 2), std::out_of_range);  // no core 2
}

// ---------------------------------------------------------------- engines

constexpr uint64_t kDef = kCls + 0x2000;
constexpr uint64_t kKeys = kCls + 0x2100;
constexpr uint64_t kVals = kCls + 0x2200;
constexpr uint64_t kOut = kCls + 0x2300;

void put_def(Rig& rig, uint64_t at, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max,
             uint32_t flags = 0) {
  npu_map_def d{type, ks, vs, max, flags, 0};
  rig.m.write(at, &d, sizeof d);
}

TEST(IssEngines, HashMapThroughInstructions) {
  Rig rig;
  put_def(rig, kDef, BPF_MAP_TYPE_HASH, 4, 8, 2);
  for (uint32_t k = 0; k < 4; ++k) rig.put32(kKeys + 4 * k, k + 1);  // keys 1, 2, 3, 4
  rig.put64(kVals, 0x1111);
  rig.put64(kVals + 8, 0x2222);
  Asm a;
  a.results_base();
  a.li64(20, kDef);
  a.eng(Op::MALLOC, 1, 20);
  a.save(1, 0);
  a.li64(21, kKeys);
  a.li64(22, kKeys + 4);
  a.li64(23, kKeys + 8);
  a.li64(24, kVals);
  a.li64(25, kVals + 8);
  a.li64(29, kOut);
  a.ai(Op::LI, 26, BPF_ANY);
  a.ai(Op::LI, 27, BPF_NOEXIST);
  a.ai(Op::LI, 28, BPF_EXIST);
  a.ai(Op::LI, 30, 0);
  a.eng(Op::MUPDATE, 2, 1, 21, 24, 26);  // key 1 = 0x1111
  a.save(2, 1);
  a.eng(Op::MUPDATE, 2, 1, 21, 25, 27);  // NOEXIST on an existing key
  a.save(2, 2);
  a.eng(Op::MUPDATE, 2, 1, 22, 25, 28);  // EXIST on a missing key
  a.save(2, 3);
  a.eng(Op::MUPDATE, 2, 1, 22, 25, 26);  // key 2 = 0x2222
  a.save(2, 4);
  a.eng(Op::MUPDATE, 2, 1, 23, 25, 26);  // full
  a.save(2, 5);
  a.eng(Op::MLOOKUP, 3, 1, 21);
  a.save(3, 6);
  a.mem(Op::LD, 8, 4, 3, 0);
  a.save(4, 7);
  a.ai(Op::LI, 5, 0x7777);
  a.mem(Op::ST, 8, 5, 3, 0);  // write through the value address
  a.eng(Op::MLOOKUP, 3, 1, 21);
  a.mem(Op::LD, 8, 4, 3, 0);
  a.save(4, 8);
  a.eng(Op::MLOOKUP, 3, 1, 23);  // missing: 0
  a.save(3, 9);
  a.eng(Op::MDELETE, 2, 1, 22);
  a.save(2, 10);
  a.eng(Op::MDELETE, 2, 1, 22);
  a.save(2, 11);
  a.ai(Op::LI, 6, 40);  // no such map
  a.eng(Op::MUPDATE, 2, 6, 21, 24, 26);
  a.save(2, 12);
  a.eng(Op::MDELETE, 2, 30, 21);  // id 0 is never a map
  a.save(2, 13);
  a.eng(Op::MSYSLOOKUP, 2, 1, 21, 29);
  a.save(2, 14);
  a.mem(Op::LD, 8, 4, 29, 0);
  a.save(4, 15);
  a.eng(Op::MSYSLOOKUP, 2, 1, 22, 29);  // deleted
  a.save(2, 16);
  a.eng(Op::MSYSUPDATE, 2, 1, 22, 24, 26);  // key 2 = 0x1111, host side
  a.save(2, 17);
  a.eng(Op::MNEXTKEY, 2, 1, 30, 29);  // first key
  a.save(2, 18);
  a.mem(Op::LD, 4, 4, 29, 0);
  a.save(4, 19);
  a.eng(Op::MNEXTKEY, 2, 1, 29, 29);  // the one after it
  a.save(2, 20);
  a.mem(Op::LD, 4, 4, 29, 0);
  a.save(4, 21);
  a.eng(Op::MNEXTKEY, 2, 1, 29, 29);  // end
  a.save(2, 22);
  a.eng(Op::MPEEK, 3, 1, 22);
  a.save(3, 23);
  a.eng(Op::MLOOKUP, 3, 1, 22);
  a.save(3, 24);
  a.eng(Op::MSYSDELETE, 2, 1, 21);
  a.save(2, 25);
  a.eng(Op::MPEEK, 3, 1, 23);
  a.save(3, 26);
  a.halt();
  rig.go(a);
  ASSERT_EQ(rig.th().state, ThreadState::kHalted) << "cause " << rig.th().cause;
  uint64_t id = rig.res(0);
  EXPECT_GE(id, 1u);
  EXPECT_LT(id, uint64_t(NPU_MAX_MAPS));
  EXPECT_EQ(rig.res(1), 0u);
  EXPECT_EQ(rig.res(2), neg_errno(EEXIST));
  EXPECT_EQ(rig.res(3), neg_errno(ENOENT));
  EXPECT_EQ(rig.res(4), 0u);
  EXPECT_EQ(rig.res(5), neg_errno(E2BIG));
  uint64_t va = rig.res(6);
  EXPECT_GE(va, kMapBase + (id << NPU_MAP_SHIFT));
  EXPECT_LT(va, kMapBase + ((id + 1) << NPU_MAP_SHIFT));
  EXPECT_EQ(rig.res(7), 0x1111u);
  EXPECT_EQ(rig.res(8), 0x7777u);
  EXPECT_EQ(rig.res(9), 0u);
  EXPECT_EQ(rig.res(10), 0u);
  EXPECT_EQ(rig.res(11), neg_errno(ENOENT));
  EXPECT_EQ(rig.res(12), neg_errno(EBADF));
  EXPECT_EQ(rig.res(13), neg_errno(EBADF));
  EXPECT_EQ(rig.res(14), 0u);
  EXPECT_EQ(rig.res(15), 0x7777u);
  EXPECT_EQ(rig.res(16), neg_errno(ENOENT));
  EXPECT_EQ(rig.res(17), 0u);
  EXPECT_EQ(rig.res(18), 0u);
  EXPECT_EQ(rig.res(20), 0u);
  EXPECT_EQ((std::set<uint64_t>{rig.res(19), rig.res(21)}), (std::set<uint64_t>{1, 2}));
  EXPECT_EQ(rig.res(22), neg_errno(ENOENT));
  EXPECT_EQ(rig.res(23), (uint64_t(1) << 32) | 0x1111);          // mpeek: present, first word
  EXPECT_EQ(rig.res(24) >> NPU_MAP_SHIFT, va >> NPU_MAP_SHIFT);  // same map window
  EXPECT_NE(rig.res(24), va);
  EXPECT_EQ(rig.res(26), 0u);  // mpeek of an absent key
  EXPECT_EQ(rig.res(25), 0u);
  // The engine's map, from the host.
  npu::iss::Engines& e = rig.m.engines();
  ASSERT_NE(e.map(uint32_t(id)), nullptr);
  EXPECT_EQ(e.map(uint32_t(id))->count(), 1u);
  EXPECT_EQ(e.map_ids(), (std::vector<uint32_t>{uint32_t(id)}));
  // malloc wrote the host-side value size back into the definition.
  npu_map_def d;
  rig.m.read(kDef, &d, sizeof d);
  EXPECT_EQ(d.sys_value_size, 8u);
}

TEST(IssEngines, ArrayMapAndMallocErrors) {
  Rig rig;
  put_def(rig, kDef, BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  put_def(rig, kDef + 32, BPF_MAP_TYPE_HASH, 0, 8, 4);  // key_size 0
  put_def(rig, kDef + 64, 9999, 4, 8, 4);               // no such type
  put_def(rig, kDef + 96, BPF_MAP_TYPE_ARRAY, 4, 4, 2, BPF_F_RDONLY_PROG);
  for (uint32_t k = 0; k < 6; ++k) rig.put32(kKeys + 4 * k, k);
  rig.put64(kVals, 0xabcdef);
  Asm a;
  a.results_base();
  a.li64(20, kDef);
  a.eng(Op::MALLOC, 1, 20);
  a.save(1, 0);
  a.li64(21, kKeys);       // key 0
  a.li64(22, kKeys + 12);  // key 3
  a.li64(23, kKeys + 16);  // key 4: out of range
  a.li64(24, kVals);
  a.ai(Op::LI, 26, BPF_ANY);
  a.ai(Op::LI, 27, BPF_NOEXIST);
  a.eng(Op::MUPDATE, 2, 1, 22, 24, 26);
  a.save(2, 1);
  a.eng(Op::MUPDATE, 2, 1, 23, 24, 26);
  a.save(2, 2);
  a.eng(Op::MUPDATE, 2, 1, 21, 24, 27);  // arrays: every key exists
  a.save(2, 3);
  a.eng(Op::MLOOKUP, 3, 1, 21);
  a.save(3, 4);
  a.mem(Op::LD, 8, 4, 3, 0);
  a.save(4, 5);
  a.eng(Op::MLOOKUP, 3, 1, 22);
  a.save(3, 6);
  a.mem(Op::LD, 8, 4, 3, 0);
  a.save(4, 7);
  a.eng(Op::MLOOKUP, 3, 1, 23);
  a.save(3, 8);
  a.eng(Op::MDELETE, 2, 1, 21);
  a.save(2, 9);
  a.rri(Op::ADDI, 20, 20, 32);
  a.eng(Op::MALLOC, 2, 20);
  a.save(2, 10);
  a.rri(Op::ADDI, 20, 20, 32);
  a.eng(Op::MALLOC, 2, 20);
  a.save(2, 11);
  a.rri(Op::ADDI, 20, 20, 32);
  a.eng(Op::MALLOC, 5, 20);  // read-only for programs
  a.save(5, 12);
  a.eng(Op::MLOOKUP, 3, 5, 21);
  a.save(3, 13);
  a.mem(Op::LD, 4, 4, 3, 0);  // reading is fine
  a.save(4, 14);
  a.mem(Op::ST, 4, 4, 3, 0);  // writing faults
  a.halt();
  rig.go(a);
  const Thread& t = rig.th();
  EXPECT_EQ(t.state, ThreadState::kFaulted);
  EXPECT_EQ(t.cause, uint64_t(Fault::MEM));
  EXPECT_EQ(t.badaddr, rig.res(13));
  uint64_t id = rig.res(0);
  EXPECT_GE(id, 1u);
  EXPECT_EQ(rig.res(1), 0u);
  EXPECT_EQ(rig.res(2), neg_errno(E2BIG));
  EXPECT_EQ(rig.res(3), neg_errno(EEXIST));
  EXPECT_EQ(rig.res(4), kMapBase + (id << NPU_MAP_SHIFT));  // element 0 at the window's start
  EXPECT_EQ(rig.res(5), 0u);
  EXPECT_EQ(rig.res(6), rig.res(4) + 3 * 8);
  EXPECT_EQ(rig.res(7), 0xabcdefu);
  EXPECT_EQ(rig.res(8), 0u);
  EXPECT_EQ(rig.res(9), neg_errno(EINVAL));
  EXPECT_EQ(rig.res(10), neg_errno(EINVAL));
  EXPECT_EQ(rig.res(11), neg_errno(EINVAL));
  EXPECT_GE(rig.res(12), 1u);
  EXPECT_NE(rig.res(12), id);
  EXPECT_EQ(rig.res(14), 0u);
}

TEST(IssEngines, MallocRunsOutOfIds) {
  Rig rig;
  put_def(rig, kDef, BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  Asm a;
  a.results_base();
  a.li64(20, kDef);
  for (unsigned i = 0; i < NPU_MAX_MAPS; ++i) {
    a.eng(Op::MALLOC, 1, 20);
    a.save(1, i);
  }
  a.ai(Op::LI, 2, 5);
  a.eng(Op::MFREE, 3, 2);  // frees id 5, which the next malloc reuses
  a.save(3, NPU_MAX_MAPS);
  a.eng(Op::MALLOC, 1, 20);
  a.save(1, NPU_MAX_MAPS + 1);
  a.eng(Op::MFREE, 3, 2);
  a.eng(Op::MFREE, 3, 2);  // twice: no such map
  a.save(3, NPU_MAX_MAPS + 2);
  a.halt();
  rig.go(a);
  // Ids 1 .. NPU_MAX_MAPS - 1 (0 is never a map), then -ENOSPC.
  for (unsigned i = 0; i + 1 < NPU_MAX_MAPS; ++i) EXPECT_EQ(rig.res(i), i + 1u);
  EXPECT_EQ(rig.res(NPU_MAX_MAPS - 1), neg_errno(ENOSPC));
  EXPECT_EQ(rig.res(NPU_MAX_MAPS), 0u);
  EXPECT_EQ(rig.res(NPU_MAX_MAPS + 1), 5u);
  EXPECT_EQ(rig.res(NPU_MAX_MAPS + 2), neg_errno(EBADF));
}

TEST(IssEngines, MapCommandFaults) {
  struct F {
    const char* what;
    std::function<void(Asm&)> body;
    uint64_t badaddr;
  } cases[] = {
      {"malloc from no memory",
       [](Asm& a) {
         a.li64(20, 0x80000000);
         a.eng(Op::MALLOC, 1, 20);
       },
       0x80000000},
      {"mlookup with the key in no memory",
       [](Asm& a) {
         a.li64(20, kDef);
         a.eng(Op::MALLOC, 1, 20);
         a.li64(21, 0x90000000);
         a.eng(Op::MLOOKUP, 2, 1, 21);
       },
       0x90000000},
      {"mupdate with the value in no memory",
       [](Asm& a) {
         a.li64(20, kDef);
         a.eng(Op::MALLOC, 1, 20);
         a.li64(21, kKeys);
         a.li64(22, 0x90000008);
         a.eng(Op::MUPDATE, 2, 1, 21, 22, 0);
       },
       0x90000008},
      {"msyslookup into read-only memory",
       [](Asm& a) {
         a.li64(20, kDef);
         a.eng(Op::MALLOC, 1, 20);
         a.li64(21, kKeys);
         a.li64(22, kVals);
         a.eng(Op::MUPDATE, 2, 1, 21, 22, 0);
         a.li64(23, 0x90000010);
         a.eng(Op::MSYSLOOKUP, 2, 1, 21, 23);
       },
       0x90000010},
      {"csum of no memory",
       [](Asm& a) {
         a.li64(20, 0x90000000);
         a.ai(Op::LI, 21, 8);
         a.eng(Op::CSUM, 1, 20, 21, 0);
       },
       0x90000000},
      {"csum too long for its region",
       [](Asm& a) {
         a.li64(20, kCls + (1 << 18) - 8);
         a.ai(Op::LI, 21, 16);
         a.eng(Op::CSUM, 1, 20, 21, 0);
       },
       kCls + (1 << 18) - 8},
      {"hash of no memory",
       [](Asm& a) {
         a.li64(20, 0x90000000);
         a.ai(Op::LI, 21, 8);
         a.eng(Op::HASH, 1, 20, 21, 0);
       },
       0x90000000},
      {"atomic on no memory",
       [](Asm& a) {
         a.li64(20, 0x90000000);
         a.amo(Op::AFADD, 4, 1, 20, 0, 0, 12);
       },
       0x9000000c},
      {"atomic across a region's end",
       [](Asm& a) {
         a.li64(20, kEmem + (1 << 16) - 4);
         a.amo(Op::AADD, 8, 0, 20, 0, 0, 0);
       },
       kEmem + (1 << 16) - 4},
  };
  for (const F& f : cases) {
    Rig rig;
    put_def(rig, kDef, BPF_MAP_TYPE_HASH, 4, 8, 4);
    Asm a;
    f.body(a);
    size_t at = a.here() - 1;
    a.halt();
    rig.go(a);
    EXPECT_EQ(rig.th().state, ThreadState::kFaulted) << f.what;
    EXPECT_EQ(rig.th().cause, uint64_t(Fault::MEM)) << f.what;
    EXPECT_EQ(rig.th().badaddr, f.badaddr) << f.what;
    EXPECT_EQ(rig.th().epc, at) << f.what;
  }
}

TEST(IssEngines, FreedMapValuesAreUnreachable) {
  // A value address is used (and so cached by the core), the map is freed, and
  // the old address must fault instead of reaching freed memory.
  Rig rig;
  put_def(rig, kDef, BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  rig.put32(kKeys, 1);
  Asm a;
  a.results_base();
  a.li64(20, kDef);
  a.eng(Op::MALLOC, 1, 20);
  a.li64(21, kKeys);
  a.eng(Op::MLOOKUP, 3, 1, 21);
  a.ai(Op::LI, 4, 0x55);
  a.mem(Op::ST, 8, 4, 3, 0);
  a.mem(Op::LD, 8, 5, 3, 0);
  a.save(5, 0);
  a.eng(Op::MFREE, 2, 1);
  a.save(2, 1);
  a.eng(Op::MLOOKUP, 6, 1, 21);
  a.save(6, 2);
  a.mem(Op::LD, 8, 5, 3, 0);  // faults
  a.halt();
  rig.go(a);
  EXPECT_EQ(rig.res(0), 0x55u);
  EXPECT_EQ(rig.res(1), 0u);
  EXPECT_EQ(rig.res(2), 0u);  // a lookup in a map that is gone misses
  EXPECT_EQ(rig.th().state, ThreadState::kFaulted);
  EXPECT_EQ(rig.th().cause, uint64_t(Fault::MEM));
  EXPECT_EQ(rig.m.engines().map_ids().size(), 0u);

  // Freed and allocated again under the same id: the window shows the new map.
  Rig rig2;
  put_def(rig2, kDef, BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  rig2.put32(kKeys, 1);
  Asm b;
  b.results_base();
  b.li64(20, kDef);
  b.eng(Op::MALLOC, 1, 20);
  b.li64(21, kKeys);
  b.eng(Op::MLOOKUP, 3, 1, 21);
  b.ai(Op::LI, 4, 0x55);
  b.mem(Op::ST, 8, 4, 3, 0);
  b.eng(Op::MFREE, 2, 1);
  b.eng(Op::MALLOC, 7, 20);
  b.save(7, 0);
  b.save(1, 1);
  b.mem(Op::LD, 8, 5, 3, 0);  // a fresh map: zero
  b.save(5, 2);
  b.halt();
  rig2.go(b);
  EXPECT_EQ(rig2.th().state, ThreadState::kHalted);
  EXPECT_EQ(rig2.res(0), rig2.res(1));
  EXPECT_EQ(rig2.res(2), 0u);
}

TEST(IssEngines, PercpuMapCopyPerThread) {
  MachineConfig cfg = small(2, 2);
  cfg.map_cpus = 4;
  Rig rig(cfg);
  put_def(rig, kDef, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 2);
  rig.put32(kKeys, 1);
  // The host allocates the map through the engine port.
  npu::iss::Command mc{Op::MALLOC, 0, 0, 0, 0, 0, kDef, 0, 0, 0};
  npu::iss::Completion c = rig.m.engines().command(mc);
  ASSERT_FALSE(c.fault);
  uint64_t id = c.value;
  ASSERT_GE(id, 1u);
  Asm a;
  a.csrr(1, Csr::CID);
  a.csrr(2, Csr::TID);
  a.rri(Op::LSHI, 3, 1, 1);
  a.rrr(Op::ADD, 3, 3, 2);
  a.rri(Op::ADDI, 3, 3, 100);  // 100 + core * 2 + thread
  a.rri(Op::LSHI, 4, 3, 3);
  a.li64(5, kCls + 0x3000 - 800);
  a.rrr(Op::ADD, 5, 5, 4);  // a value buffer per thread
  a.mem(Op::ST, 8, 3, 5, 0);
  a.li64(6, id);
  a.li64(7, kKeys);
  a.eng(Op::MUPDATE, 8, 6, 7, 5, 0);
  a.eng(Op::MLOOKUP, 9, 6, 7);
  a.mem(Op::LD, 8, 10, 9, 0);
  a.halt();
  rig.go(a);
  for (unsigned core = 0; core < 2; ++core)
    for (unsigned t = 0; t < 2; ++t) {
      EXPECT_EQ(rig.r(8, t, core), 0u);
      EXPECT_EQ(rig.r(10, t, core), 100 + core * 2 + t) << "its own copy";
    }
  ref::Map* m = rig.m.engines().map(uint32_t(id));
  ASSERT_NE(m, nullptr);
  std::vector<uint64_t> all(4);
  uint32_t key = 1;
  ASSERT_EQ(m->sys_value_size(), 32u);
  EXPECT_EQ(m->sys_lookup(&key, all.data()), 0);
  EXPECT_EQ(all, (std::vector<uint64_t>{100, 101, 102, 103}));
}

TEST(IssEngines, Atomics) {
  Rig rig;
  const uint64_t at = kCls + 0x3000;
  const uint64_t init[] = {
      0x00000001fffffffe, 100, 0xaaaaaaaabbbbbbbb, 7, 0x55555555ffffffff, 0xf0, 0x0f0f, 0x12345678};
  for (unsigned i = 0; i < 8; ++i) rig.put64(at + 8 * i, init[i]);
  Asm a;
  a.results_base();
  a.li64(10, at - 16);  // offsets in the instruction
  a.ai(Op::LI, 1, 3);
  a.amo(Op::AADD, 4, 0, 10, 1, 0, 16);  // low word wraps to 1, high word kept
  a.ai(Op::LI, 1, 5);
  a.amo(Op::AFADD, 8, 2, 10, 1, 0, 24);  // r2 = 100, mem = 105
  a.save(2, 0);
  a.li64(1, 0x1111111122222222);
  a.amo(Op::AXCHG, 4, 3, 10, 1, 0, 32);  // r3 = 0xbbbbbbbb
  a.save(3, 1);
  a.ai(Op::LI, 1, 9);
  a.ai(Op::LI, 4, 7);
  a.amo(Op::ACMPXCHG, 8, 5, 10, 1, 4, 40);  // succeeds: r5 = 7, mem = 9
  a.save(5, 2);
  a.amo(Op::ACMPXCHG, 8, 5, 10, 4, 4, 40);  // fails: r5 = 9, mem stays 9
  a.save(5, 3);
  a.li64(4, 0xffffffffffffffff);  // e compared at the access size
  a.ai(Op::LI, 1, 0x42);
  a.amo(Op::ACMPXCHG, 4, 6, 10, 1, 4, 48);  // r6 = 0xffffffff, low word = 0x42
  a.save(6, 4);
  a.ai(Op::LI, 1, 0x3c);
  a.amo(Op::AFOR, 8, 7, 10, 1, 0, 56);  // 0xf0 | 0x3c = 0xfc
  a.save(7, 5);
  a.amo(Op::AFAND, 4, 7, 10, 1, 0, 64);  // 0x0f0f & 0x3c = 0x0c
  a.save(7, 6);
  a.amo(Op::AFXOR, 8, 7, 10, 1, 0, 72);  // 0x12345678 ^ 0x3c
  a.save(7, 7);
  a.amo(Op::AOR, 8, 0, 10, 1, 0, 56);
  a.amo(Op::AAND, 8, 0, 10, 1, 0, 56);
  a.amo(Op::AXOR, 4, 0, 10, 1, 0, 64);
  a.li64(11, 0x300);  // atomics in local memory and EMEM too
  a.ai(Op::LI, 1, 2);
  a.amo(Op::AADD, 8, 0, 11, 1, 0, 0);
  a.amo(Op::AFADD, 8, 8, 11, 1, 0, 0);
  a.save(8, 8);
  a.li64(12, kEmem + 8);
  a.amo(Op::AFADD, 4, 8, 12, 1, 0, 0);
  a.amo(Op::AFADD, 4, 8, 12, 1, 0, 0);
  a.save(8, 9);
  a.x(Op::WAIT, 0);
  a.halt();
  rig.go(a);
  ASSERT_EQ(rig.th().state, ThreadState::kHalted) << rig.th().cause;
  EXPECT_EQ(rig.m.read64(at), 0x0000000100000001u);
  EXPECT_EQ(rig.res(0), 100u);
  EXPECT_EQ(rig.m.read64(at + 8), 105u);
  EXPECT_EQ(rig.res(1), 0xbbbbbbbbu);  // zero-extended
  EXPECT_EQ(rig.m.read64(at + 16), 0xaaaaaaaa22222222u);
  EXPECT_EQ(rig.res(2), 7u);
  EXPECT_EQ(rig.res(3), 9u);
  EXPECT_EQ(rig.m.read64(at + 24), 9u);
  EXPECT_EQ(rig.res(4), 0xffffffffu);
  EXPECT_EQ(rig.m.read64(at + 32), 0x5555555500000042u);
  EXPECT_EQ(rig.res(5), 0xf0u);
  EXPECT_EQ(rig.res(6), 0x0f0fu);
  EXPECT_EQ(rig.res(7), 0x12345678u);
  EXPECT_EQ(rig.m.read64(at + 40), ((0xfcu | 0x3c) & 0x3c));
  EXPECT_EQ(rig.m.read64(at + 48), (0x0f0fu & 0x3c) ^ 0x3c);
  EXPECT_EQ(rig.m.read64(at + 56), 0x12345678u ^ 0x3c);
  EXPECT_EQ(rig.res(8), 2u);
  EXPECT_EQ(rig.m.read64(0x300), 4u);
  EXPECT_EQ(rig.res(9), 2u);
  EXPECT_EQ(rig.m.read64(kEmem + 8), 4u);
}

TEST(IssEngines, AtomicsFromManyThreadsAddUp) {
  Rig rig(small(8, 2));
  Asm a;
  a.li64(10, kCls + 0x4000);
  a.ai(Op::LI, 1, 1);
  a.ai(Op::LI, 7, 50);
  size_t loop = a.here();
  a.amo(Op::AADD, 8, 0, 10, 1, 0, 0);
  a.amo(Op::AFADD, 4, 2, 10, 1, 0, 8);
  a.rri(Op::SUBI, 7, 7, 1);
  a.bri(Op::BNEI, 7, 0, int64_t(loop) - int64_t(a.here()));
  a.halt();
  rig.go(a);
  EXPECT_EQ(rig.m.read64(kCls + 0x4000), 16u * 50);
  EXPECT_EQ(rig.m.read64(kCls + 0x4008), 16u * 50);
}

TEST(IssEngines, ChecksumMatchesReference) {
  Rig rig;
  std::mt19937_64 g(11);
  std::vector<uint8_t> buf(512);
  for (auto& b : buf) b = uint8_t(g());
  rig.m.write(kCls + 0x5000, buf.data(), buf.size());
  struct C {
    unsigned off, len;
    uint32_t seed;
  };
  std::vector<C> cases;
  for (unsigned len = 0; len <= 70; ++len) cases.push_back({len % 5, len, uint32_t(g())});
  cases.push_back({0, 512, 0});
  cases.push_back({3, 500, 0xffffffff});
  cases.push_back({1, 1, 0xfffffffe});
  Asm a;
  a.results_base();
  for (size_t i = 0; i < cases.size(); ++i) {
    a.li64(10, kCls + 0x5000 + cases[i].off);
    a.li64(11, cases[i].len);
    a.li64(12, 0xabcdef0000000000ull | cases[i].seed);  // the seed's high half is ignored
    a.eng(Op::CSUM, 1, 10, 11, 12);
    a.save(1, unsigned(i));
  }
  a.halt();
  rig.go(a);
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(rig.res(unsigned(i)),
              ref::csum_partial(buf.data() + cases[i].off, cases[i].len, cases[i].seed))
        << "len " << cases[i].len << " off " << cases[i].off;
  // The latency grows with the length.
  Timing t;
  auto csum_use = [](unsigned len) {
    return [len](Asm& a) {
      a.ai(Op::LI, 2, int32_t(len));
      a.eng(Op::CSUM, 1, 11, 2, 0);
      a.rrr(Op::ADD, 3, 1, 1);
    };
  };
  EXPECT_EQ(cycles_of(csum_use(64)), 3u + t.csum + 8 * t.csum_per_8b);
  EXPECT_EQ(cycles_of(csum_use(1)), 3u + t.csum + 1 * t.csum_per_8b);
}

// Bob Jenkins' lookup3 hashlittle(), written out from the published algorithm
// (byte at a time, little-endian word assembly).
uint32_t rot(uint32_t x, int k) {
  return (x << k) | (x >> (32 - k));
}
uint32_t lookup3(const uint8_t* k, size_t length, uint32_t initval) {
  uint32_t a, b, c;
  a = b = c = 0xdeadbeef + uint32_t(length) + initval;
  while (length > 12) {
    a += k[0] + (uint32_t(k[1]) << 8) + (uint32_t(k[2]) << 16) + (uint32_t(k[3]) << 24);
    b += k[4] + (uint32_t(k[5]) << 8) + (uint32_t(k[6]) << 16) + (uint32_t(k[7]) << 24);
    c += k[8] + (uint32_t(k[9]) << 8) + (uint32_t(k[10]) << 16) + (uint32_t(k[11]) << 24);
    // mix(a, b, c)
    a -= c;
    a ^= rot(c, 4);
    c += b;
    b -= a;
    b ^= rot(a, 6);
    a += c;
    c -= b;
    c ^= rot(b, 8);
    b += a;
    a -= c;
    a ^= rot(c, 16);
    c += b;
    b -= a;
    b ^= rot(a, 19);
    a += c;
    c -= b;
    c ^= rot(b, 4);
    b += a;
    length -= 12;
    k += 12;
  }
  switch (length) {
    case 12:
      c += uint32_t(k[11]) << 24;
      [[fallthrough]];
    case 11:
      c += uint32_t(k[10]) << 16;
      [[fallthrough]];
    case 10:
      c += uint32_t(k[9]) << 8;
      [[fallthrough]];
    case 9:
      c += k[8];
      [[fallthrough]];
    case 8:
      b += uint32_t(k[7]) << 24;
      [[fallthrough]];
    case 7:
      b += uint32_t(k[6]) << 16;
      [[fallthrough]];
    case 6:
      b += uint32_t(k[5]) << 8;
      [[fallthrough]];
    case 5:
      b += k[4];
      [[fallthrough]];
    case 4:
      a += uint32_t(k[3]) << 24;
      [[fallthrough]];
    case 3:
      a += uint32_t(k[2]) << 16;
      [[fallthrough]];
    case 2:
      a += uint32_t(k[1]) << 8;
      [[fallthrough]];
    case 1:
      a += k[0];
      break;
    case 0:
      return c;
  }
  // final(a, b, c)
  c ^= b;
  c -= rot(b, 14);
  a ^= c;
  a -= rot(c, 11);
  b ^= a;
  b -= rot(a, 25);
  c ^= b;
  c -= rot(b, 16);
  a ^= c;
  a -= rot(c, 4);
  b ^= a;
  b -= rot(a, 14);
  c ^= b;
  c -= rot(b, 24);
  return c;
}

TEST(IssEngines, HashIsJhash) {
  // lookup3.c's own test vectors (driver5).
  const char* four = "Four score and seven years ago";
  EXPECT_EQ(lookup3(nullptr, 0, 0), 0xdeadbeefu);
  EXPECT_EQ(lookup3(nullptr, 0, 0xdeadbeef), 0xbd5b7ddeu);
  EXPECT_EQ(lookup3(reinterpret_cast<const uint8_t*>(four), 30, 0), 0x17770551u);
  EXPECT_EQ(lookup3(reinterpret_cast<const uint8_t*>(four), 30, 1), 0xcd628161u);
  EXPECT_EQ(npu::iss::jhash(nullptr, 0, 0), 0xdeadbeefu);
  EXPECT_EQ(npu::iss::jhash(reinterpret_cast<const uint8_t*>(four), 30, 0), 0x17770551u);
  EXPECT_EQ(npu::iss::jhash(reinterpret_cast<const uint8_t*>(four), 30, 1), 0xcd628161u);

  Rig rig;
  std::mt19937_64 g(3);
  std::vector<uint8_t> buf(256);
  for (auto& b : buf) b = uint8_t(g());
  std::memcpy(buf.data(), four, 30);
  rig.m.write(kCls + 0x6000, buf.data(), buf.size());
  struct C {
    unsigned off, len;
    uint32_t seed;
  };
  std::vector<C> cases = {{0, 0, 0}, {0, 0, 0xdeadbeef}, {0, 30, 0}, {0, 30, 1}};
  for (unsigned len = 1; len <= 40; ++len) cases.push_back({len % 3 + 40, len, uint32_t(g())});
  cases.push_back({7, 200, 12345});
  Asm a;
  a.results_base();
  for (size_t i = 0; i < cases.size(); ++i) {
    a.li64(10, kCls + 0x6000 + cases[i].off);
    a.li64(11, cases[i].len);
    a.li64(12, cases[i].seed);
    a.eng(Op::HASH, 1, 10, 11, 12);
    a.save(1, unsigned(i));
  }
  a.halt();
  rig.go(a);
  EXPECT_EQ(rig.res(0), 0xdeadbeefu);
  EXPECT_EQ(rig.res(1), 0xbd5b7ddeu);
  EXPECT_EQ(rig.res(2), 0x17770551u);
  EXPECT_EQ(rig.res(3), 0xcd628161u);
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(rig.res(unsigned(i)), lookup3(buf.data() + cases[i].off, cases[i].len, cases[i].seed))
        << "len " << cases[i].len;
}

TEST(IssEngines, RandIsDeterministicPerSeed) {
  auto draw = [](uint64_t seed) {
    MachineConfig cfg = small();
    cfg.seed = seed;
    Rig rig(cfg);
    Asm a;
    for (unsigned r = 1; r <= 8; ++r) a.eng(Op::RAND, r);
    a.halt();
    rig.go(a);
    std::vector<uint64_t> v;
    for (unsigned r = 1; r <= 8; ++r) v.push_back(rig.r(r));
    return v;
  };
  std::vector<uint64_t> a = draw(42), b = draw(42), c = draw(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::set<uint64_t> distinct(a.begin(), a.end());
  EXPECT_GE(distinct.size(), 7u);
  for (uint64_t v : a) EXPECT_LE(v, 0xffffffffu);
}

TEST(IssEngines, TimeIsMonotonicNanoseconds) {
  auto run = [](uint32_t mhz) {
    MachineConfig cfg = small();
    cfg.timing.clock_mhz = mhz;
    Rig rig(cfg);
    Asm a;
    a.results_base();
    for (unsigned i = 0; i < 20; ++i) {
      a.eng(Op::TIME, 1);
      a.csrr(2, Csr::CYCLE);
      a.save(1, 2 * i);
      a.save(2, 2 * i + 1);
      for (unsigned k = 0; k < i; ++k) a.nop();
    }
    a.halt();
    rig.go(a);
    return rig.results(40);
  };
  for (uint32_t mhz : {1000u, 500u, 2000u}) {
    std::vector<uint64_t> v = run(mhz);
    for (unsigned i = 0; i < 20; ++i) {
      if (i) {
        EXPECT_GT(v[2 * i], v[2 * i - 2]) << mhz;
      }
      // time issued the cycle before the csrr: nanoseconds of that cycle.
      EXPECT_EQ(v[2 * i], (v[2 * i + 1] - 1) * 1000 / mhz) << mhz;
    }
  }
}

// ---------------------------------------------------------------- trace

TEST(IssTrace, OneRecordPerRetiredInstruction) {
  Recorder rec;
  Rig rig;
  rig.m.set_tracer(&rec);
  Asm b;
  b.ai(Op::LI, 1, 42);        // 0
  b.rri(Op::ADDI, 2, 1, 1);   // 1
  b.mem(Op::ST, 8, 2, 0, 8);  // 2
  b.mem(Op::LD, 8, 3, 0, 8);  // 3
  b.ai(Op::LI, 4, 10);        // 4
  b.csrw(Csr::FVEC, 4);       // 5
  b.li64(5, 0x80000000);      // 6, 7
  b.mem(Op::LD, 4, 6, 5, 0);  // 8: faults
  b.halt();                   // 9: skipped
  b.halt();                   // 10
  rig.go(b);
  ASSERT_EQ(rig.th().state, ThreadState::kHalted);
  EXPECT_EQ(rig.th().stats.instret, 9u);
  ASSERT_EQ(rec.v.size(), 10u);  // nine retired, one faulted
  std::vector<uint64_t> pcs;
  for (const Retired& r : rec.v) pcs.push_back(r.pc);
  EXPECT_EQ(pcs, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 10}));
  EXPECT_EQ(rec.v[0].wreg, 1);
  EXPECT_EQ(rec.v[0].wval, 42u);
  EXPECT_EQ(rec.v[1].wreg, 2);
  EXPECT_EQ(rec.v[1].wval, 43u);
  EXPECT_EQ(rec.v[2].wreg, -1);
  EXPECT_EQ(rec.v[3].wreg, 3);
  EXPECT_EQ(rec.v[3].wval, 43u);
  EXPECT_EQ(rec.v[5].wreg, -1);
  EXPECT_EQ(rec.v[8].fault, uint8_t(Fault::MEM));
  EXPECT_EQ(rec.v[8].wreg, -1);
  for (size_t i = 0; i < rec.v.size(); ++i) {
    if (i != 8) {
      EXPECT_EQ(rec.v[i].fault, 0u) << i;
    }
    EXPECT_EQ(rec.v[i].core, 0u);
    EXPECT_EQ(rec.v[i].thread, 0u);
    EXPECT_EQ(rec.v[i].word, b.words()[rec.v[i].pc]);
    if (i) {
      EXPECT_GT(rec.v[i].cycle, rec.v[i - 1].cycle);
    }
  }
}

TEST(IssTrace, FaultsOutsideTheCodeStoreAreMarked) {
  Recorder rec;
  Rig rig;
  rig.m.set_tracer(&rec);
  Asm a;
  a.x(Op::JMP, 100);
  rig.go(a);
  ASSERT_EQ(rig.th().state, ThreadState::kFaulted);
  ASSERT_FALSE(rec.v.empty());
  EXPECT_EQ(rec.v.back().fault, uint8_t(Fault::ILLEGAL)) << "the trace shows the fault";
  // Falling off the end, and an undefined word.
  Recorder rec2;
  Rig rig2;
  rig2.m.set_tracer(&rec2);
  rig2.m.load({npu::encode(Insn{Op::NOP}), 0xff});
  rig2.m.boot(0);
  rig2.m.run(1000);
  ASSERT_EQ(rec2.v.size(), 2u);
  EXPECT_EQ(rec2.v[1].fault, uint8_t(Fault::ILLEGAL));
  EXPECT_EQ(rec2.v[1].word, 0xffu);
}

TEST(IssTrace, TextTracerLines) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  npu::iss::TextTracer tt(f);
  Rig rig(small(2));
  rig.m.set_tracer(&tt);
  Asm a;
  a.ai(Op::LI, 1, 42);
  a.li64(2, 0x80000000);
  a.mem(Op::LD, 4, 3, 2, 0);
  rig.go(a);
  std::fflush(f);
  std::rewind(f);
  std::string all;
  char line[512];
  std::vector<std::string> lines;
  while (std::fgets(line, sizeof line, f)) lines.push_back(line);
  std::fclose(f);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_NE(lines[0].find("li r1, 42"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("r1=0x2a"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("c0.t"), 0u) << lines[0];
  EXPECT_NE(lines[3].find("ld.4 r3, [r2]"), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find("FAULT MEM"), std::string::npos) << lines[3];
  for (const std::string& l : lines) {
    EXPECT_EQ(l.back(), '\n');
    EXPECT_NE(l[l.size() - 2], ' ') << l;
  }
  // A record of an undefined word still formats.
  Retired r{1, 2, 3, 4, 0xffffffffffffffffull, -1, 0, uint8_t(Fault::ILLEGAL)};
  std::string s = npu::iss::trace_line(r);
  EXPECT_NE(s.find(".insn 0xffffffffffffffff"), std::string::npos) << s;
  EXPECT_NE(s.find("FAULT ILLEGAL"), std::string::npos) << s;
  EXPECT_EQ(s.find("c1.t2"), 0u) << s;
}

// ---------------------------------------------------------------- robustness

// A random word: fully random, or a defined opcode with random fields.
uint64_t random_word(std::mt19937_64& g) {
  uint64_t w = g();
  if (g() % 4 == 0) return w;
  const auto& map = npu::opcode_map();
  unsigned code;
  do code = unsigned(g() % 256);
  while (!map[code].valid);
  const npu::OpInfo& o = npu::op_info(map[code].op);
  w = (w & o.mask & ~uint64_t(0xff)) | code;
  // Half the time small immediates and displacements: memory offsets near the
  // registers' addresses, CSR numbers that exist, branches that stay inside.
  Insn in;
  if (g() % 2 && npu::decode(w, &in)) {
    in.imm = int32_t(int(g() % 64) - 16);
    in.off = int16_t(int(g() % 16) - 8);
    w = npu::encode(in);
  }
  return w;
}

// ISS_FUZZ_ITERS=n runs more random programs (default 300), ISS_FUZZ_SEED another seed.
int fuzz_iters() {
  const char* n = std::getenv("ISS_FUZZ_ITERS");
  return n ? std::atoi(n) : 300;
}
uint64_t fuzz_seed(uint64_t d) {
  const char* n = std::getenv("ISS_FUZZ_SEED");
  return n ? std::strtoull(n, nullptr, 0) : d;
}

TEST(IssRobustness, RandomProgramsOnlyFault) {
  std::mt19937_64 g(fuzz_seed(2024));
  uint64_t faults = 0, retired = 0;
  std::set<unsigned> opcodes;  // retired without a fault, in traced runs
  for (int iter = 0; iter < fuzz_iters(); ++iter) {
    MachineConfig cfg = small(4, 2);
    cfg.quantum = 1 + g() % 100;
    Rig rig(cfg);
    put_def(rig, kCls + 0x100, BPF_MAP_TYPE_HASH, 4, 8, 8);
    // Prologue: registers pointing into each region, a packet window, a fault
    // vector into the random body; then the body.
    Asm a;
    const uint64_t bases[] = {0, kPkt, kCls, kEmem, kMapBase + (uint64_t(1) << NPU_MAP_SHIFT)};
    for (unsigned r = 1; r < 32; ++r) {
      uint64_t v = r < 26 ? bases[r % 5] + g() % 512 : rand_operand(g);
      a.li64(r, v);
    }
    a.li64(1, kCls + 0x100);
    a.eng(Op::MALLOC, 2, 1);
    a.li64(1, kPkt);
    a.csrw(Csr::PKT_LO, 1);
    a.li64(1, kPkt + (1 << 16));  // all of packet memory
    a.csrw(Csr::PKT_HI, 1);
    // The fault handler goes on after the faulting instruction (at the body's
    // start when that is outside the body): r31 is its scratch register.
    size_t fv = a.li64(1, 0);
    a.csrw(Csr::FVEC, 1);
    size_t skip = a.x(Op::JMP, 0);
    size_t handler = a.here();
    a.csrr(31, Csr::EPC);
    a.rri(Op::ADDI, 31, 31, 1);
    size_t inside = a.bri(Op::BLTI, 31, 0, 2);  // imm: the body's end, set below
    size_t restart = a.li64(31, 0);
    a.xr(Op::JR, 31);
    size_t body = a.here();
    a.bind(skip, body);
    a.set_li64(fv, handler);
    a.set_li64(restart, body);
    std::vector<uint64_t> w = a.words();
    for (int i = 0; i < 64; ++i) w.push_back(random_word(g));
    Insn back;  // the body loops
    back.op = Op::JMP;
    back.imm = int32_t(int64_t(body) - int64_t(w.size()));
    w.push_back(npu::encode(back));
    Insn lt;  // blti r31, <end of the body>, +2
    lt.op = Op::BLTI;
    lt.b = 31;
    lt.imm = int32_t(w.size() - 1);
    lt.off = 2;
    w[inside] = npu::encode(lt);
    Recorder rec;
    if (iter % 3 == 0) rig.m.set_tracer(&rec);
    rig.m.load(w);
    rig.m.boot(0);
    rig.m.run(20000);
    EXPECT_LE(rig.m.cycle(), 20000u);
    for (unsigned c = 0; c < 2; ++c) {
      retired += rig.m.core(c).instret();
      for (unsigned t = 0; t < 4; ++t) {
        const Thread& th = rig.th(t, c);
        if (th.cause) ++faults;
      }
    }
    for (size_t i = 0; i < rec.v.size(); ++i) {
      if (i < 200) (void)npu::iss::trace_line(rec.v[i]);
      if (!rec.v[i].fault) opcodes.insert(unsigned(rec.v[i].word & 0xff));
    }
  }
  std::printf("random programs: %zu distinct opcodes retired\n", opcodes.size());
  if (std::getenv("ISS_FUZZ_ITERS")) {
    for (unsigned o = 0; o < 256; ++o)
      if (npu::opcode_map()[o].valid && !opcodes.count(o))
        std::printf("  never retired: opcode 0x%02x %s\n", o,
                    npu::op_info(npu::opcode_map()[o].op).mnemonic);
  }
  EXPECT_GT(opcodes.size(), 150u);  // the random bodies reach most of the instruction set
  EXPECT_GT(faults, 0u);
  EXPECT_GT(retired, 0u);
}

TEST(IssRobustness, RandomWordsWithoutSetup) {
  std::mt19937_64 g(fuzz_seed(99));
  for (int iter = 0; iter < fuzz_iters(); ++iter) {
    Rig rig(small(2));
    std::vector<uint64_t> w;
    for (int i = 0; i < 32; ++i) w.push_back(g());
    rig.m.load(w);
    rig.m.boot(0);
    // No crash and no hang: the run ends by the limit, and a stopped thread
    // says why (random words without a fault vector mostly fault at once).
    rig.m.run(5000);
    EXPECT_LE(rig.m.cycle(), 5000u);
    for (unsigned t = 0; t < 2; ++t) {
      const Thread& th = rig.th(t, 0);
      if (th.state == ThreadState::kFaulted) {
        EXPECT_NE(th.cause, uint64_t(npu::Fault::NONE));
      }
    }
  }
}

TEST(IssMachine, LoadPlacesDataSectionsAndRejectsBadOnes) {
  Rig rig(small(2, 2));
  std::vector<npu::iss::DataSection> data = {
      {0x10, {1, 2, 3}}, {kCls + 0x20, {4, 5}}, {kEmem + 8, {6}}};
  Asm a;
  a.mem(Op::LD, 1, 1, 0, 0x12);
  a.halt();
  rig.m.load(a.words(), data);
  rig.m.boot(0);
  rig.m.run(1000);
  EXPECT_EQ(rig.r(1, 0, 0), 3u);
  EXPECT_EQ(rig.r(1, 0, 1), 3u);  // local memory sections go to every core
  EXPECT_EQ(rig.m.read(kCls + 0x20, 2), (std::vector<uint8_t>{4, 5}));
  EXPECT_EQ(rig.m.read(kEmem + 8, 1), (std::vector<uint8_t>{6}));
  EXPECT_THROW(rig.m.load(a.words(), {{0x80000000, {1}}}), std::runtime_error);
  EXPECT_THROW(rig.m.load(a.words(), {{kCls + (1 << 18) - 1, {1, 2}}}), std::runtime_error);
  EXPECT_THROW(rig.m.write(0x80000000, "x", 1), std::out_of_range);
  uint8_t b[4];
  EXPECT_THROW(rig.m.read(kEmem + (1 << 16) - 2, b, 4), std::out_of_range);
  EXPECT_THROW({ Machine bad(small(0)); }, std::invalid_argument);
  EXPECT_THROW({ Machine bad(small(65)); }, std::invalid_argument);
  MachineConfig q0 = small();
  q0.quantum = 0;  // run() would never advance
  EXPECT_THROW({ Machine bad(q0); }, std::invalid_argument);
  MachineConfig c0 = small();
  c0.timing.clock_mhz = 0;  // `time` would divide by zero
  EXPECT_THROW({ Machine bad(c0); }, std::invalid_argument);
}

// The host reaches each core's own local memory by naming the core.
TEST(IssMachine, HostReachesEachCoresLocalMemory) {
  MachineConfig cfg = small(1, 2);
  Machine m(cfg);
  uint64_t a = 0x11, b = 0x22, x = 0;
  m.write(64, &a, 8, 0);
  m.write(64, &b, 8, 1);
  m.read(64, &x, 8, 1);
  EXPECT_EQ(x, 0x22u);
  m.read(64, &x, 8);
  EXPECT_EQ(x, 0x11u);
  EXPECT_THROW(m.write(64, &a, 8, 2), std::out_of_range);
}

TEST(IssMachine, RunStopsAtTheCycleLimit) {
  Rig rig;
  Asm a;
  size_t l = a.here();
  a.x(Op::JMP, int64_t(l) - int64_t(a.here()));
  EXPECT_EQ(rig.go(a, 1000), Machine::Stop::kLimit);
  EXPECT_EQ(rig.m.cycle(), 1000u);
  EXPECT_EQ(rig.m.run(500), Machine::Stop::kLimit);
  EXPECT_EQ(rig.m.cycle(), 1500u);
  EXPECT_EQ(rig.th().state, ThreadState::kReady);
}

}  // namespace
