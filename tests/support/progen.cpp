// The random program generator: a tiny typed code generator. It tracks, for
// every register and every stack byte, what the kernel's verifier will know
// there on every path (a scalar, the context, a packet pointer with its
// proven range, a map value, a stack pointer, or nothing usable), and only
// emits instructions whose operands the verifier accepts in that state. At a
// join of paths the knowledge is the meet of the paths' knowledge.
#include "tests/support/progen.h"

#include "compiler/bpf/hex.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <stdexcept>
#include <string>

namespace progen {
namespace {

using bpf::Insn;

// splitmix64: the same numbers everywhere (no std:: distributions).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  int range(int lo, int hi) { return lo + int(below(uint64_t(int64_t(hi) - lo + 1))); }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  // An index drawn with the given weights (all zero: -1).
  int weighted(const std::vector<unsigned>& w) {
    uint64_t total = 0;
    for (unsigned x : w) total += x;
    if (!total) return -1;
    uint64_t r = below(total);
    for (size_t i = 0; i < w.size(); ++i) {
      if (r < w[i]) return int(i);
      r -= w[i];
    }
    return -1;
  }

 private:
  uint64_t s_;
};

// ------------------------------------------------------------ instructions

uint8_t size_code(unsigned bytes) {
  return bytes == 1 ? BPF_B : bytes == 2 ? BPF_H : bytes == 4 ? BPF_W : BPF_DW;
}

Insn alu(bool w64, uint8_t op, int dst, int src, int32_t imm, bool x, int16_t off = 0) {
  return Insn(uint8_t((w64 ? BPF_ALU64 : BPF_ALU) | op | (x ? BPF_X : BPF_K)), uint8_t(dst),
              uint8_t(x ? src : 0), off, x ? 0 : imm);
}
Insn mov_reg(int dst, int src) {
  return alu(true, BPF_MOV, dst, src, 0, true);
}
Insn mov_imm(int dst, int32_t imm) {
  return alu(true, BPF_MOV, dst, 0, imm, false);
}
Insn add_imm(int dst, int32_t imm) {
  return alu(true, BPF_ADD, dst, 0, imm, false);
}
Insn ldx(unsigned size, int dst, int src, int16_t off, bool sx = false) {
  return Insn(uint8_t(BPF_LDX | (sx ? BPF_MEMSX : BPF_MEM) | size_code(size)), uint8_t(dst),
              uint8_t(src), off, 0);
}
Insn stx(unsigned size, int dst, int src, int16_t off) {
  return Insn(uint8_t(BPF_STX | BPF_MEM | size_code(size)), uint8_t(dst), uint8_t(src), off, 0);
}
Insn st(unsigned size, int dst, int16_t off, int32_t imm) {
  return Insn(uint8_t(BPF_ST | BPF_MEM | size_code(size)), uint8_t(dst), 0, off, imm);
}
Insn call(int32_t helper) {
  return Insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper);
}
Insn exit_insn() {
  return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

constexpr int kCtxReg = 6;  // r6 holds the context from the first instruction on
constexpr int kFp = 10;
constexpr int kStackSize = 512;
const int kGeneralRegs[] = {0, 1, 2, 3, 4, 5, 7, 8, 9};

// ------------------------------------------------------------ what the verifier knows

enum class Kind : uint8_t {
  kNone,       // unusable: uninitialized, clobbered, or different on different paths
  kScalar,     // a number
  kCtx,        // struct xdp_md *, offset 0
  kPkt,        // data + off, range bytes from data proven to be in the packet
  kPktEnd,     // data_end
  kMapValue,   // a map value (offset 0), not null
  kMapOrNull,  // bpf_map_lookup_elem's result before its null check
  kStack,      // r10 + off
};

struct Val {
  Kind kind = Kind::kNone;
  int map = -1;
  int32_t off = 0;
  int32_t range = 0;
  bool pointer() const { return kind != Kind::kNone && kind != Kind::kScalar; }
  bool operator==(const Val& o) const {
    return kind == o.kind && map == o.map && off == o.off && range == o.range;
  }
};

Val scalar_val() {
  return Val{Kind::kScalar};
}

Val meet(const Val& a, const Val& b) {
  if (a.kind == Kind::kPkt && b.kind == Kind::kPkt && a.off == b.off) {
    Val v = a;
    v.range = std::min(a.range, b.range);
    return v;
  }
  return a == b ? a : Val{};
}

enum class Byte : uint8_t {
  kUninit,
  kData,   // written with a known (deterministic) value
  kJunk,   // may hold part of a pointer or differ between paths: never read
  kSpill,  // part of a spilled pointer (the whole 8-byte slot)
};

struct State {
  bool live = true;  // false after an exit or an unconditional jump
  std::array<Val, 11> reg{};
  std::array<Byte, kStackSize> byte{};     // byte[kStackSize + off] is r10 + off
  std::array<Val, kStackSize / 8> slot{};  // the pointer in a slot whose bytes are kSpill
};

State meet(const State& a, const State& b) {
  if (!a.live) return b;
  if (!b.live) return a;
  State m = a;
  for (size_t r = 0; r < m.reg.size(); ++r) m.reg[r] = meet(a.reg[r], b.reg[r]);
  for (size_t s = 0; s < m.slot.size(); ++s) {
    bool a_spill = a.byte[s * 8] == Byte::kSpill, b_spill = b.byte[s * 8] == Byte::kSpill;
    if (a_spill && b_spill && a.slot[s] == b.slot[s]) continue;
    m.slot[s] = Val{};
    for (size_t i = s * 8; i < s * 8 + 8; ++i)
      m.byte[i] = a.byte[i] == b.byte[i] && a.byte[i] != Byte::kSpill ? a.byte[i] : Byte::kJunk;
  }
  return m;
}

// ------------------------------------------------------------ maps

struct MapShape {
  uint32_t type;
  const char* name;
};
const MapShape kMapShapes[] = {
    {BPF_MAP_TYPE_ARRAY, "arr"},
    {BPF_MAP_TYPE_HASH, "hash"},
    {BPF_MAP_TYPE_PERCPU_ARRAY, "pcpu_arr"},
    {BPF_MAP_TYPE_PERCPU_HASH, "pcpu_hash"},
    {BPF_MAP_TYPE_LRU_HASH, "lru"},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, "lru_pcpu"},
    {BPF_MAP_TYPE_LPM_TRIE, "lpm"},
};

bool is_array(uint32_t t) {
  return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

// Maps whose update or delete may free the element a value pointer points
// to: the program stops using such pointers after either (the memory is
// reused in an order that is the implementation's business).
bool frees_elements(uint32_t t) {
  return !is_array(t);
}

// Hash keys a program looks up are 0..kKeyDomain-1; initial_maps fills half.
constexpr int kKeyDomain = 16;

bpf::MapDef make_map(uint32_t type, const std::string& name, Rng& rng) {
  bpf::MapDef m;
  m.name = name;
  m.type = type;
  m.key_size = 4;
  switch (type) {
    case BPF_MAP_TYPE_ARRAY:
      m.value_size = uint32_t(rng.pick(std::vector<int>{8, 16, 24, 32, 64}));
      m.max_entries = uint32_t(rng.pick(std::vector<int>{1, 4, 8, 16}));
      break;
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      m.value_size = uint32_t(rng.pick(std::vector<int>{8, 16, 24}));
      m.max_entries = uint32_t(rng.pick(std::vector<int>{4, 8}));
      break;
    case BPF_MAP_TYPE_HASH:
      m.key_size = rng.chance(30) ? 8 : 4;
      m.value_size = uint32_t(rng.pick(std::vector<int>{8, 16, 32}));
      m.max_entries = 64;
      break;
    case BPF_MAP_TYPE_PERCPU_HASH:
      m.value_size = uint32_t(rng.pick(std::vector<int>{8, 16}));
      m.max_entries = 64;
      break;
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      // Far below capacity: which element an LRU map evicts is not part of the contract.
      m.value_size = uint32_t(rng.pick(std::vector<int>{8, 16}));
      m.max_entries = 256;
      break;
    case BPF_MAP_TYPE_LPM_TRIE:
      m.key_size = 8;  // struct { u32 prefixlen; u8 addr[4]; }
      m.value_size = 8;
      m.max_entries = 64;
      m.flags = BPF_F_NO_PREALLOC;
      break;
    default:
      throw std::invalid_argument(fmt::format("progen: map type {} is not supported", type));
  }
  return m;
}

// ------------------------------------------------------------ the generator

class Gen {
 public:
  Gen(uint64_t seed, const ProgenOptions& opt) : rng_(seed), opt_(opt), seed_(seed) {}
  bpf::Object run();

 private:
  // ---- emission and control flow
  void emit(const Insn& i) { code_.push_back(i); }
  void emit_lddw(int dst, uint8_t src, int32_t lo, int32_t hi) {
    emit(Insn(BPF_LD | BPF_IMM | BPF_DW, uint8_t(dst), src, 0, lo));
    emit(Insn(0, 0, 0, 0, hi));
  }
  int new_label() {
    labels_.emplace_back();
    return int(labels_.size() - 1);
  }
  void jump(int l, const Insn& j) { jump(l, j, st_); }
  void jump(int l, const Insn& j, const State& taken);
  void ja(int l);  // unconditional; the fallthrough is unreachable
  void bind(int l);
  void do_exit() {
    emit(exit_insn());
    st_.live = false;
  }

  // ---- registers and stack
  // Keeps a register that an operation is using from being picked as a destination.
  class Lock {
   public:
    Lock(Gen& g, int r) : g_(g), r_(r), was_(r >= 0 && g.locked_[size_t(r)]) {
      if (r_ >= 0) g_.locked_[size_t(r_)] = true;
    }
    ~Lock() {
      if (r_ >= 0) g_.locked_[size_t(r_)] = was_;
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    Gen& g_;
    int r_;
    bool was_;
  };
  Val& R(int r) { return st_.reg[size_t(r)]; }
  Byte& B(int off) { return st_.byte[size_t(kStackSize + off)]; }
  bool writable(int r) const;
  int pick_dst(int avoid = -1);
  int pick_reg(Kind k, int avoid = -1);
  int scalar(int avoid = -1);
  int32_t imm32();
  bool any_width() { return !opt_.alu32 || rng_.chance(50); }
  bool stack_data(int off, unsigned size) const;
  bool stack_writable(int off, unsigned size) const;
  void write_stack_data(int off, unsigned size);
  void spill(int off, const Val& v);
  void forget_if(bool (*pred)(const Val&, int), int arg);
  void set(int r, const Val& v) { R(r) = v; }
  void clobber_call_regs();
  int ctx_reg();

  // ---- operations (each keeps st_ exact)
  void op_alu();
  bool op_stack();
  bool op_pkt();
  bool op_mapval();
  bool op_ctx();
  void simple_op();
  void cond_jump(int l);
  void verdict();
  void atomic(unsigned size, int base, int16_t off);

  // ---- blocks
  void block(size_t i);
  void block_alu();
  void block_branch(int depth);
  void block_skip(size_t i);
  void block_exit();
  void block_loop();
  void block_stack();
  void block_packet(bool prologue);
  void block_map();
  void block_adjust();
  void make_maps();
  int block_label(size_t i);

  Rng rng_;
  const ProgenOptions& opt_;
  uint64_t seed_;
  bpf::Object obj_;
  std::vector<Insn> code_;
  State st_;
  struct Label {
    std::vector<size_t> uses;
    State state;
    bool reached = false;
    long pos = -1;
  };
  std::vector<Label> labels_;
  std::array<bool, 11> locked_{};
  const State* loop_head_ = nullptr;  // the loop header's state while a loop body is made
  std::vector<int> block_labels_;     // label at the start of each block, or -1
};

void Gen::jump(int l, const Insn& j, const State& taken) {
  Label& L = labels_[size_t(l)];
  L.uses.push_back(code_.size());
  emit(j);
  L.state = L.reached ? meet(L.state, taken) : taken;
  L.reached = true;
}

void Gen::ja(int l) {
  if (opt_.isa_v4 && rng_.chance(25))
    jump(l, Insn(BPF_JMP32 | BPF_JA, 0, 0, 0, 0));  // gotol: the offset lives in imm
  else
    jump(l, Insn(BPF_JMP | BPF_JA, 0, 0, 0, 0));
  st_.live = false;
}

void Gen::bind(int l) {
  Label& L = labels_[size_t(l)];
  L.pos = long(code_.size());
  if (!L.reached) {
    if (!st_.live) throw std::logic_error("progen: unreachable code after an unused label");
    return;
  }
  st_ = st_.live ? meet(st_, L.state) : L.state;
}

bool Gen::writable(int r) const {
  if (r == kCtxReg || r == kFp || locked_[size_t(r)]) return false;
  // A loop body never overwrites what was a pointer at the loop's head: the
  // next iteration would find something else there.
  if (loop_head_ && loop_head_->reg[size_t(r)].pointer()) return false;
  return true;
}

int Gen::pick_dst(int avoid) {
  std::vector<unsigned> w;
  for (int r : kGeneralRegs) {
    if (r == avoid || !writable(r)) {
      w.push_back(0);
      continue;
    }
    Kind k = st_.reg[size_t(r)].kind;
    w.push_back(k == Kind::kNone ? 4 : k == Kind::kScalar ? 3 : 1);
  }
  int i = rng_.weighted(w);
  return i < 0 ? -1 : kGeneralRegs[i];
}

int Gen::pick_reg(Kind k, int avoid) {
  std::vector<int> c;
  for (int r = 0; r < 10; ++r)
    if (r != avoid && st_.reg[size_t(r)].kind == k) c.push_back(r);
  return c.empty() ? -1 : rng_.pick(c);
}

int32_t Gen::imm32() {
  switch (rng_.below(8)) {
    case 0:
    case 1:
      return rng_.range(0, 16);
    case 2:
      return rng_.range(-16, 16);
    case 3:
      return rng_.pick(std::vector<int32_t>{0, 1, -1, 2, INT32_MIN, INT32_MAX, 0xff, 0xffff, 0x80,
                                            0x8000, 0x7f, 0x100, 0x10000, -0x80});
    case 4:
      return rng_.range(0, 255);
    default:
      return int32_t(uint32_t(rng_.next()));
  }
}

// A register with a scalar in it, made with a mov if there is none (or sometimes anyway).
int Gen::scalar(int avoid) {
  int r = pick_reg(Kind::kScalar, avoid);
  if (r >= 0 && !rng_.chance(8)) return r;
  int d = pick_dst(avoid);
  if (d < 0) return r;
  emit(mov_imm(d, imm32()));
  set(d, scalar_val());
  return d;
}

int Gen::ctx_reg() {
  return rng_.chance(80) ? kCtxReg : pick_reg(Kind::kCtx);
}

bool Gen::stack_data(int off, unsigned size) const {
  for (unsigned i = 0; i < size; ++i)
    if (st_.byte[size_t(kStackSize + off + int(i))] != Byte::kData) return false;
  return true;
}

bool Gen::stack_writable(int off, unsigned size) const {
  if (!loop_head_) return true;
  for (unsigned i = 0; i < size; ++i)
    if (loop_head_->byte[size_t(kStackSize + off + int(i))] == Byte::kSpill) return false;
  return true;
}

void Gen::write_stack_data(int off, unsigned size) {
  for (int o = off; o < off + int(size); ++o) {
    size_t s = size_t(kStackSize + o) / 8;
    if (st_.byte[s * 8] == Byte::kSpill) {
      for (size_t i = s * 8; i < s * 8 + 8; ++i) st_.byte[i] = Byte::kJunk;
      st_.slot[s] = Val{};
    }
  }
  for (int o = off; o < off + int(size); ++o) B(o) = Byte::kData;
}

void Gen::spill(int off, const Val& v) {
  size_t s = size_t(kStackSize + off) / 8;
  for (size_t i = s * 8; i < s * 8 + 8; ++i) st_.byte[i] = Byte::kSpill;
  st_.slot[s] = v;
}

// Forgets every register and spill slot for which pred(value, arg) holds.
void Gen::forget_if(bool (*pred)(const Val&, int), int arg) {
  for (Val& v : st_.reg)
    if (pred(v, arg)) v = Val{};
  for (size_t s = 0; s < st_.slot.size(); ++s) {
    if (st_.byte[s * 8] != Byte::kSpill || !pred(st_.slot[s], arg)) continue;
    for (size_t i = s * 8; i < s * 8 + 8; ++i) st_.byte[i] = Byte::kJunk;
    st_.slot[s] = Val{};
  }
}

void Gen::clobber_call_regs() {
  for (int r = 1; r <= 5; ++r) set(r, Val{});
}

// ------------------------------------------------------------ operations

void Gen::op_alu() {
  enum Op {
    kAdd,
    kSub,
    kMul,
    kDiv,
    kOr,
    kAnd,
    kLsh,
    kRsh,
    kNeg,
    kMod,
    kXor,
    kMov,
    kArsh,
    kEnd,
    kSdiv,
    kSmod,
    kMovsx,
    kBswap,
    kLddw,
    kOps
  };
  static const uint8_t kCode[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND,  BPF_LSH,
                                  BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END,
                                  BPF_DIV, BPF_MOD, BPF_MOV, BPF_END, 0};
  const unsigned v4 = opt_.isa_v4 ? 2 : 0;  // weight of each cpu v4 operation
  std::vector<unsigned> w = {6, 4, 4, 3, 3, 4, 3, 3, 1, 3, 3, 4, 2, 2, v4, v4, v4, v4, 1};
  Op op = Op(rng_.weighted(w));
  bool w64 = !opt_.alu32 || rng_.chance(60);
  if (op == kLddw) w64 = true;

  int dst;
  if (op == kMov || op == kMovsx || op == kLddw) {
    dst = pick_dst();
  } else {
    dst = pick_reg(Kind::kScalar);
    if (dst >= 0 && !writable(dst)) dst = -1;
    if (dst < 0 || rng_.chance(10)) {
      dst = pick_dst();
      if (dst < 0) return;
      emit(mov_imm(dst, imm32()));
      set(dst, scalar_val());
    }
  }
  if (dst < 0) return;
  locked_[size_t(dst)] = true;
  const unsigned width = w64 ? 64 : 32;
  switch (op) {
    case kLddw:
      emit_lddw(dst, 0, int32_t(uint32_t(rng_.next())), int32_t(uint32_t(rng_.next())));
      break;
    case kNeg:
      emit(alu(w64, BPF_NEG, dst, 0, 0, false));
      break;
    case kEnd:  // be16/32/64, le16/32/64: class ALU whatever the width
      emit(Insn(uint8_t(BPF_ALU | BPF_END | (rng_.chance(50) ? BPF_TO_BE : BPF_TO_LE)),
                uint8_t(dst), 0, 0, rng_.pick(std::vector<int32_t>{16, 32, 64})));
      break;
    case kBswap:  // unconditional byte swap (cpu v4): ALU64 | END | TO_LE
      emit(Insn(BPF_ALU64 | BPF_END | BPF_TO_LE, uint8_t(dst), 0, 0,
                rng_.pick(std::vector<int32_t>{16, 32, 64})));
      break;
    case kMovsx: {
      int s = scalar(dst);
      if (s < 0) break;
      int16_t bits = w64 ? int16_t(rng_.pick(std::vector<int>{8, 16, 32}))
                         : int16_t(rng_.pick(std::vector<int>{8, 16}));
      emit(alu(w64, BPF_MOV, dst, s, 0, true, bits));
      break;
    }
    case kMov:
      if (rng_.chance(50)) {
        emit(alu(w64, BPF_MOV, dst, 0, imm32(), false));
      } else {
        int s = scalar(dst);
        if (s < 0) break;
        emit(alu(w64, BPF_MOV, dst, s, 0, true));
      }
      break;
    case kLsh:
    case kRsh:
    case kArsh: {
      if (rng_.chance(45)) {
        emit(alu(w64, kCode[op], dst, 0, rng_.range(0, int(width) - 1), false));
        break;
      }
      int s = scalar(dst);
      if (s < 0) break;
      if (rng_.chance(85)) {  // a count masked to the width (the ISA masks it anyway)
        int t = pick_dst(dst);
        if (t >= 0) {
          emit(alu(w64, BPF_MOV, t, s, 0, true));
          emit(alu(w64, BPF_AND, t, 0, int32_t(width - 1), false));
          set(t, scalar_val());
          s = t;
        }
      }
      emit(alu(w64, kCode[op], dst, s, 0, true));
      break;
    }
    default: {  // binary operations
      const bool is_div = op == kDiv || op == kMod || op == kSdiv || op == kSmod;
      const int16_t off = op == kSdiv || op == kSmod ? 1 : 0;
      if (rng_.chance(45)) {
        int32_t imm = imm32();
        if (is_div && imm == 0) imm = rng_.chance(50) ? -1 : 7;  // the verifier refuses / 0
        emit(alu(w64, kCode[op], dst, 0, imm, false, off));
      } else {
        int s = scalar();  // may be dst itself, or zero: x / 0 = 0, x % 0 = x
        if (s < 0) break;
        emit(alu(w64, kCode[op], dst, s, 0, true, off));
      }
      break;
    }
  }
  locked_[size_t(dst)] = false;
  set(dst, scalar_val());
}

void Gen::atomic(unsigned size, int base, int16_t off) {
  static const int32_t kOps[] = {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR};
  int kind = int(rng_.below(10));
  // Loading a stack slot through an atomic fetch defeats the kernel's
  // precision tracking (docs/progen.md, "Findings"): only plain atomics there.
  const bool on_stack = base == kFp || R(base).kind == Kind::kStack;
  if (on_stack && !opt_.stack_fetch_atomics) kind %= 4;
  int s = scalar();
  if (s < 0) return;
  if (kind <= 3) {  // plain add (the common case), or/and/xor
    int32_t imm = kind == 0 ? BPF_ADD : kOps[rng_.below(4)];
    emit(
        Insn(uint8_t(BPF_STX | BPF_ATOMIC | size_code(size)), uint8_t(base), uint8_t(s), off, imm));
    return;
  }
  if (!writable(s)) return;
  if (kind <= 7) {  // fetch variants and xchg: the old value lands in s
    int32_t imm = kind == 7 ? BPF_XCHG : (kOps[rng_.below(4)] | BPF_FETCH);
    emit(
        Insn(uint8_t(BPF_STX | BPF_ATOMIC | size_code(size)), uint8_t(base), uint8_t(s), off, imm));
    set(s, scalar_val());
    return;
  }
  // cmpxchg: compares with r0 and puts the old value in r0.
  if (s == 0) return;
  if (base == 0) {  // the pointer moves out of r0's way first
    if (loop_head_) return;
    Lock keep_s(*this, s);
    int t = pick_dst(0);
    if (t < 0) return;
    emit(mov_reg(t, 0));
    set(t, R(0));
    base = t;
    locked_[0] = false;  // the caller locked r0 as the base; it restores that when done
  }
  if (!writable(0)) return;
  if (R(0).kind != Kind::kScalar || rng_.chance(30)) {
    emit(mov_imm(0, imm32()));
    set(0, scalar_val());
  }
  emit(Insn(uint8_t(BPF_STX | BPF_ATOMIC | size_code(size)), uint8_t(base), uint8_t(s), off,
            BPF_CMPXCHG));
  set(0, scalar_val());
}

bool Gen::op_stack() {
  if (!opt_.stack) return false;
  // Accesses go through r10 or a stack pointer register (r10 + off).
  int base = kFp;
  int32_t base_off = 0;
  if (int p = pick_reg(Kind::kStack); p >= 0 && rng_.chance(40)) {
    base = p;
    base_off = R(p).off;
  }
  Lock lock_base(*this, base == kFp ? -1 : base);
  auto insn_off = [&](int fp_off) { return int16_t(fp_off - base_off); };
  const unsigned size = 1u << rng_.below(4);
  auto aligned_off = [&](unsigned sz) { return -int(sz) * rng_.range(1, kStackSize / int(sz)); };
  switch (rng_.below(8)) {
    case 0:
    case 1: {  // store a scalar or an immediate
      int off = aligned_off(size);
      if (!stack_writable(off, size)) return false;
      if (rng_.chance(60)) {
        int s = scalar();
        if (s < 0) return false;
        emit(stx(size, base, s, insn_off(off)));
      } else {
        emit(st(size, base, insn_off(off), imm32()));
      }
      write_stack_data(off, size);
      return true;
    }
    case 2:
    case 3: {  // load bytes written before (sign-extending with cpu v4)
      std::vector<int> offs;
      for (int off = -int(size); off >= -kStackSize; off -= int(size))
        if (stack_data(off, size)) offs.push_back(off);
      int d = pick_dst();
      if (offs.empty() || d < 0) return false;
      bool sx = opt_.isa_v4 && size < 8 && rng_.chance(30);
      emit(ldx(size, d, base, insn_off(rng_.pick(offs)), sx));
      set(d, scalar_val());
      return true;
    }
    case 4: {  // spill a pointer
      if (loop_head_) return false;
      std::vector<int> ptrs;
      for (int r = 0; r < 10; ++r)
        if (R(r).pointer() && R(r).kind != Kind::kMapOrNull) ptrs.push_back(r);
      if (ptrs.empty()) return false;
      int r = rng_.pick(ptrs);
      int off = aligned_off(8);
      emit(stx(8, base, r, insn_off(off)));
      spill(off, R(r));
      return true;
    }
    case 5: {  // fill a spilled pointer
      if (loop_head_) return false;
      std::vector<int> offs;
      for (size_t s = 0; s < st_.slot.size(); ++s)
        if (st_.byte[s * 8] == Byte::kSpill) offs.push_back(int(s * 8) - kStackSize);
      int d = pick_dst();
      if (offs.empty() || d < 0) return false;
      int off = rng_.pick(offs);
      emit(ldx(8, d, base, insn_off(off)));
      set(d, st_.slot[size_t(kStackSize + off) / 8]);
      return true;
    }
    case 6: {  // make a stack pointer
      if (loop_head_) return false;
      int d = pick_dst();
      if (d < 0) return false;
      int32_t off = -8 * rng_.range(0, kStackSize / 8);
      emit(mov_reg(d, kFp));
      if (off) emit(add_imm(d, off));
      set(d, Val{Kind::kStack, -1, off});
      return true;
    }
    default: {  // an atomic operation on written, aligned bytes
      unsigned sz = rng_.chance(50) ? 4 : 8;
      std::vector<int> offs;
      for (int off = -int(sz); off >= -kStackSize; off -= int(sz))
        if (stack_data(off, sz)) offs.push_back(off);
      if (offs.empty()) return false;
      atomic(sz, base, insn_off(rng_.pick(offs)));
      return true;
    }
  }
}

// A read or write inside the proven range of a packet pointer.
bool Gen::op_pkt() {
  if (!opt_.packet) return false;
  std::vector<int> ptrs;
  for (int r = 0; r < 10; ++r)
    if (R(r).kind == Kind::kPkt && R(r).range > 0) ptrs.push_back(r);
  if (ptrs.empty()) return false;
  int p = rng_.pick(ptrs);
  Lock lock_p(*this, p);
  const Val pv = R(p);
  unsigned size = 1u << rng_.below(4);
  while (int32_t(size) > pv.range) size >>= 1;
  int32_t at = rng_.range(0, pv.range - int32_t(size));  // bytes after data
  int16_t off = int16_t(at - pv.off);
  if (rng_.chance(55)) {
    int d = pick_dst();
    if (d < 0) return false;
    bool sx = opt_.isa_v4 && size < 8 && rng_.chance(25);
    emit(ldx(size, d, p, off, sx));
    set(d, scalar_val());
  } else if (rng_.chance(70)) {
    int s = scalar();
    if (s < 0) return false;
    emit(stx(size, p, s, off));
  } else {
    emit(st(size, p, off, imm32()));
  }
  return true;
}

// A read, write or atomic operation inside a map value.
bool Gen::op_mapval() {
  int p = pick_reg(Kind::kMapValue);
  if (p < 0) return false;
  Lock lock_p(*this, p);
  const uint32_t vs = obj_.maps[size_t(R(p).map)].value_size;
  unsigned size = 1u << rng_.below(4);
  int32_t at = rng_.range(0, int32_t(vs - size));
  switch (rng_.below(6)) {
    case 0:
    case 1:
    case 2: {
      int d = pick_dst();
      if (d < 0) return false;
      bool sx = opt_.isa_v4 && size < 8 && rng_.chance(25);
      emit(ldx(size, d, p, int16_t(at), sx));
      set(d, scalar_val());
      return true;
    }
    case 3: {
      if (rng_.chance(60)) {
        int s = scalar();
        if (s < 0) return false;
        emit(stx(size, p, s, int16_t(at)));
      } else {
        emit(st(size, p, int16_t(at), imm32()));
      }
      return true;
    }
    case 4: {  // atomics need natural alignment
      unsigned sz = rng_.chance(50) ? 4 : 8;
      atomic(sz, p, int16_t(sz * rng_.below(vs / sz)));
      return true;
    }
    default: {  // a variable offset, masked so the access stays inside the value
      if (loop_head_) return false;
      unsigned sz = 1u << rng_.below(4);
      uint32_t mask = 1;
      while (mask * 2 - 1 + sz <= vs) mask *= 2;
      mask -= 1;  // largest 2^k - 1 with mask + sz <= vs
      int s = scalar(p);
      int t = pick_dst(p);
      if (s < 0 || t < 0) return false;
      locked_[size_t(t)] = true;
      int q = pick_dst(t);
      locked_[size_t(t)] = false;
      if (q < 0 || q == p) return false;
      emit(alu(any_width(), BPF_MOV, t, s, 0, true));
      emit(alu(true, BPF_AND, t, 0, int32_t(mask), false));
      set(t, scalar_val());
      emit(mov_reg(q, p));
      emit(alu(true, BPF_ADD, q, t, 0, true));
      if (rng_.chance(50)) {
        int d = pick_dst(q);
        if (d >= 0) {
          emit(ldx(sz, d, q, 0));
          set(d, scalar_val());
        }
      } else {
        emit(st(sz, q, 0, imm32()));
      }
      set(q, Val{});  // a value pointer with a variable offset: not reused
      return true;
    }
  }
}

// Context fields and lengths: ifindex, rx queue, packet and metadata lengths.
bool Gen::op_ctx() {
  int c = ctx_reg();
  if (c < 0) return false;
  Lock lock_c(*this, c);
  switch (rng_.below(3)) {
    case 0: {
      int d = pick_dst();
      if (d < 0) return false;
      emit(ldx(4, d, c, int16_t(rng_.chance(50) ? 12 : 16)));  // ingress_ifindex, rx_queue_index
      set(d, scalar_val());
      return true;
    }
    default: {  // data_end - data, or data - data_meta: pointer differences are numbers
      if (loop_head_) return false;
      int a = pick_dst();
      if (a < 0) return false;
      locked_[size_t(a)] = true;
      int b = pick_dst(a);
      locked_[size_t(a)] = false;
      if (b < 0) return false;
      bool meta = rng_.chance(40);
      emit(ldx(4, a, c, meta ? 0 : 4));
      emit(ldx(4, b, c, meta ? 8 : 0));
      emit(alu(true, BPF_SUB, a, b, 0, true));
      set(a, scalar_val());
      set(b, meta ? Val{} : Val{Kind::kPkt, -1, 0, 0});
      return true;
    }
  }
}

void Gen::simple_op() {
  for (int tries = 0; tries < 4; ++tries) {
    std::vector<unsigned> w = {6, opt_.stack ? 3u : 0u, opt_.packet ? 3u : 0u, 3, 1};
    switch (rng_.weighted(w)) {
      case 0:
        op_alu();
        return;
      case 1:
        if (op_stack()) return;
        break;
      case 2:
        if (op_pkt()) return;
        break;
      case 3:
        if (op_mapval()) return;
        break;
      default:
        if (op_ctx()) return;
        break;
    }
  }
  op_alu();
}

// A conditional jump on scalars to label l: every condition, 64 or 32 bits, register or immediate.
void Gen::cond_jump(int l) {
  static const uint8_t kOps[] = {BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
                                 BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
  int a = scalar();
  if (a < 0) {  // nothing to compare (a loop with no scalar): always-false compare of r10
    jump(l, Insn(BPF_JMP | BPF_JEQ | BPF_K, kFp, 0, 0, 0));
    return;
  }
  uint8_t op = kOps[rng_.below(std::size(kOps))];
  uint8_t cls = opt_.alu32 && rng_.chance(30) ? BPF_JMP32 : BPF_JMP;
  if (rng_.chance(40)) {
    int b = scalar(a);
    if (b >= 0) {
      jump(l, Insn(uint8_t(cls | op | BPF_X), uint8_t(a), uint8_t(b), 0, 0));
      return;
    }
  }
  int32_t imm = rng_.chance(60) ? rng_.range(0, 255) : imm32();
  jump(l, Insn(uint8_t(cls | op | BPF_K), uint8_t(a), 0, 0, imm));
}

// r0 := a verdict computed from the data (mostly 0..4, sometimes anything).
void Gen::verdict() {
  int s = pick_reg(Kind::kScalar);
  int k = int(rng_.below(10));
  if (s < 0) k = 9;
  switch (k) {
    case 0:
    case 1:
    case 2:
      emit(mov_reg(0, s));
      emit(alu(any_width(), BPF_AND, 0, 0, 3, false));
      break;
    case 3:
    case 4:
      emit(mov_reg(0, s));
      emit(alu(true, BPF_MOD, 0, 0, 5, false));
      break;
    case 5:
    case 6: {  // if s <cond> c: r0 = a else r0 = b
      int32_t a = rng_.range(0, 4), b = rng_.range(0, 4);
      State here = st_;
      emit(Insn(uint8_t(BPF_JMP | (rng_.chance(50) ? BPF_JGT : BPF_JSET) | BPF_K), uint8_t(s), 0, 2,
                rng_.range(0, 255)));
      emit(mov_imm(0, a));
      emit(Insn(BPF_JMP | BPF_JA, 0, 0, 1, 0));
      emit(mov_imm(0, b));
      st_ = here;
      break;
    }
    case 7:
      emit(alu(!opt_.alu32, BPF_MOV, 0, s, 0, true));
      emit(alu(!opt_.alu32, BPF_AND, 0, 0, 7, false));
      break;
    case 8:
      emit(mov_reg(0, s));  // anything: the low 32 bits are the verdict
      break;
    default:
      emit(mov_imm(0, rng_.pick(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 42, -1})));
      break;
  }
  set(0, scalar_val());
}

// ------------------------------------------------------------ blocks

int Gen::block_label(size_t i) {
  if (block_labels_[i] < 0) block_labels_[i] = new_label();
  return block_labels_[i];
}

void Gen::block_alu() {
  for (int n = rng_.range(2, 8); n > 0; --n) op_alu();
}

void Gen::block_branch(int depth) {
  int l_else = new_label(), l_end = new_label();
  cond_jump(l_else);
  for (int n = rng_.range(1, 4); n > 0; --n) {
    if (depth < 2 && rng_.chance(15))
      block_branch(depth + 1);
    else
      simple_op();
  }
  if (rng_.chance(40)) {
    ja(l_end);
    bind(l_else);
    for (int n = rng_.range(1, 3); n > 0; --n) simple_op();
  } else {
    bind(l_else);
  }
  bind(l_end);
}

void Gen::block_skip(size_t i) {
  size_t last = block_labels_.size() - 1;  // the verdict's block
  size_t to = std::min(last, i + 2 + size_t(rng_.below(3)));
  cond_jump(block_label(to));
}

void Gen::block_exit() {
  int l = new_label();
  cond_jump(l);
  verdict();
  do_exit();
  bind(l);
}

// A bounded loop. The body only writes scalars and data bytes where the head
// had no pointer, so every iteration starts from what the head knew.
void Gen::block_loop() {
  int c = pick_dst();
  if (c < 0) return;
  locked_[size_t(c)] = true;
  int bound = -1;
  int shape = int(rng_.below(4));
  const bool w64 = !opt_.alu32 || rng_.chance(60);
  const uint8_t jcls = w64 ? BPF_JMP : BPF_JMP32;
  int32_t n = rng_.range(1, 6);
  if (shape == 2) {  // for (i = 0; i < (x & 7); i++), at least once
    int s = scalar(c);
    bound = s < 0 ? -1 : pick_dst(c);
    if (bound < 0) {
      shape = 0;
    } else {
      emit(mov_reg(bound, s));
      emit(alu(true, BPF_AND, bound, 0, 7, false));
      set(bound, scalar_val());
      locked_[size_t(bound)] = true;
    }
  }
  emit(mov_imm(c, shape == 1 ? n : 0));
  set(c, scalar_val());
  int l_exit = new_label();
  const size_t head = code_.size();
  const State head_state = st_;
  const State* outer = loop_head_;
  loop_head_ = &head_state;
  if (shape == 3) {  // while (i < n) { ...; i++ } with the test on top and a backward ja
    jump(l_exit, Insn(uint8_t(jcls | BPF_JGE | BPF_K), uint8_t(c), 0, 0, n));
  }
  for (int k = rng_.range(1, 5); k > 0; --k) {
    int what = int(rng_.below(10));
    if (what == 0) {  // break
      cond_jump(l_exit);
    } else if (what == 1) {  // continue-like forward skip inside the body
      int l = new_label();
      cond_jump(l);
      simple_op();
      bind(l);
    } else {
      simple_op();
    }
  }
  auto back = [&](uint8_t code, int src_or_imm, bool x) {
    int64_t off = int64_t(head) - int64_t(code_.size()) - 1;
    emit(Insn(code, uint8_t(c), uint8_t(x ? src_or_imm : 0), int16_t(off), x ? 0 : src_or_imm));
  };
  switch (shape) {
    case 0:  // for (i = 0; i < n; i++)
      emit(alu(w64, BPF_ADD, c, 0, 1, false));
      back(uint8_t(jcls | (rng_.chance(50) ? BPF_JLT : BPF_JNE) | BPF_K), n, false);
      break;
    case 1:  // for (i = n; i != 0; i--)
      emit(alu(w64, BPF_SUB, c, 0, 1, false));
      back(uint8_t(jcls | (rng_.chance(50) ? BPF_JNE : BPF_JSGT) | BPF_K), 0, false);
      break;
    case 2:
      emit(alu(w64, BPF_ADD, c, 0, 1, false));
      back(uint8_t(jcls | BPF_JLT | BPF_X), bound, true);
      break;
    default: {
      emit(alu(w64, BPF_ADD, c, 0, 1, false));
      int64_t off = int64_t(head) - int64_t(code_.size()) - 1;
      emit(Insn(BPF_JMP | BPF_JA, 0, 0, int16_t(off), 0));
      st_.live = false;
      break;
    }
  }
  loop_head_ = outer;
  bind(l_exit);
  locked_[size_t(c)] = false;
  if (bound >= 0) locked_[size_t(bound)] = false;
}

void Gen::block_stack() {
  for (int n = rng_.range(1, 4), tries = 0; n > 0 && tries < 12; ++tries)
    if (op_stack()) --n;
}

// Loads data/data_end if needed, proves N bytes with a data_end check, and
// reads and writes inside them; sometimes an access at a masked variable offset.
void Gen::block_packet(bool prologue) {
  int c = ctx_reg();
  Lock lock_c(*this, c);
  int d = -1, e = pick_reg(Kind::kPktEnd);
  for (int r = 0; r < 10; ++r)
    if (R(r).kind == Kind::kPkt && R(r).off == 0 && (d < 0 || rng_.chance(50))) d = r;
  const bool reload_e = e < 0 || rng_.chance(20);
  if (d < 0 || rng_.chance(20)) {
    Lock keep_e(*this, reload_e ? -1 : e);
    d = pick_dst();
    if (d < 0) return;
    emit(ldx(4, d, c, 0));
    set(d, Val{Kind::kPkt, -1, 0, 0});
  }
  Lock lock_d(*this, d);
  if (reload_e) {
    e = pick_dst();
    if (e < 0) return;
    emit(ldx(4, e, c, 4));
    set(e, Val{Kind::kPktEnd});
  }
  Lock lock_e(*this, e);

  static const int32_t kLens[] = {14, 14, 20, 26, 34, 38, 42, 54, 60, 64, 100, 128, 300};
  int32_t n = prologue ? (rng_.chance(70) ? 14 : rng_.pick(std::vector<int32_t>{34, 42, 54}))
                       : kLens[rng_.below(std::size(kLens))];
  const bool fail_exits = prologue || rng_.chance(35);
  int l_end = new_label();
  if (n > R(d).range) {
    int t = pick_dst();
    if (t < 0) return;
    emit(mov_reg(t, d));
    emit(add_imm(t, n));
    set(t, Val{Kind::kPkt, -1, n, R(d).range});
    // The check in one of its shapes; the success path continues below.
    State ok = st_;
    auto prove = [&](State& s) {
      for (Val& v : s.reg)
        if (v.kind == Kind::kPkt) v.range = std::max(v.range, n);
      for (size_t i = 0; i < s.slot.size(); ++i)
        if (s.byte[i * 8] == Byte::kSpill && s.slot[i].kind == Kind::kPkt)
          s.slot[i].range = std::max(s.slot[i].range, n);
    };
    prove(ok);
    int shape = int(rng_.below(8));
    static const struct {
      uint8_t op;
      bool end_first;  // data_end is the jump's dst
      bool taken_ok;   // the jump goes to the success path
    } kShapes[] = {{BPF_JGT, false, false}, {BPF_JLT, true, false}, {BPF_JGE, false, false},
                   {BPF_JLE, true, false},  {BPF_JLE, false, true}, {BPF_JGE, true, true},
                   {BPF_JLT, false, true},  {BPF_JGT, true, true}};
    const auto& sh = kShapes[shape];
    Insn j(uint8_t(BPF_JMP | sh.op | BPF_X), uint8_t(sh.end_first ? e : t),
           uint8_t(sh.end_first ? t : e), 0, 0);
    // Where the check fails, the verifier marks t as beyond data_end: unusable.
    State fail = st_;
    fail.reg[size_t(t)] = Val{};
    if (!sh.taken_ok) {
      if (fail_exits) {
        int l_ok = new_label();
        // Inverted: jump over the exit when the bytes are there.
        static const uint8_t kInverse[] = {BPF_JLE, BPF_JGE, BPF_JLT, BPF_JGT};
        j.code = uint8_t(BPF_JMP | kInverse[shape] | BPF_X);
        jump(l_ok, j, ok);
        st_ = fail;
        verdict();
        do_exit();
        bind(l_ok);
      } else {
        jump(l_end, j, fail);
        st_ = ok;
      }
    } else {
      int l_ok = new_label();
      jump(l_ok, j, ok);
      st_ = fail;
      if (fail_exits) {
        verdict();
        do_exit();
      } else {
        ja(l_end);
      }
      bind(l_ok);
    }
  }
  for (int k = rng_.range(1, 5); k > 0; --k) op_pkt();
  if (rng_.chance(30)) {
    // data + (x & mask): a new pointer with its own range, checked on its own.
    unsigned size = 1u << rng_.below(4);
    int32_t mask = rng_.pick(std::vector<int32_t>{1, 3, 7, 15, 31, 63, 127, 255});
    int s = scalar();
    int m = s < 0 ? -1 : pick_dst();
    int p = -1, q = -1;
    if (m >= 0) {
      locked_[size_t(m)] = true;
      p = pick_dst();
      if (p >= 0) {
        locked_[size_t(p)] = true;
        q = pick_dst();
        locked_[size_t(p)] = false;
      }
      locked_[size_t(m)] = false;
    }
    if (q >= 0) {
      emit(alu(any_width(), BPF_MOV, m, s, 0, true));
      emit(alu(true, BPF_AND, m, 0, mask, false));
      set(m, scalar_val());
      emit(mov_reg(p, d));
      emit(alu(true, BPF_ADD, p, m, 0, true));
      emit(mov_reg(q, p));
      emit(add_imm(q, int32_t(size)));
      set(p, Val{});  // pointers with a variable offset are used here only
      set(q, Val{});
      jump(l_end, Insn(BPF_JMP | BPF_JGT | BPF_X, uint8_t(q), uint8_t(e), 0, 0));
      if (rng_.chance(50)) {
        int r = pick_dst(p);
        if (r >= 0) {
          emit(ldx(size, r, p, 0));
          set(r, scalar_val());
        }
      } else if (int v = scalar(p); v >= 0) {
        emit(stx(size, p, v, 0));
      } else {
        emit(st(size, p, 0, imm32()));
      }
    }
  }
  bind(l_end);
}

// A map helper call: a lookup (null check, value accesses, maybe kept in a
// callee-saved register), an update or a delete. Keys are built on the stack.
void Gen::block_map() {
  if (obj_.maps.empty()) return;
  const int m = int(rng_.below(obj_.maps.size()));
  const bpf::MapDef& def = obj_.maps[size_t(m)];
  const int key_off = -8 * rng_.range(1, 4);
  auto store_key = [&] {
    if (def.type == BPF_MAP_TYPE_LPM_TRIE) {
      // { prefixlen, 4 address bytes }: the address from the packet or a scalar.
      int32_t plen = rng_.chance(70) ? 32 : rng_.pick(std::vector<int32_t>{0, 8, 16, 24, 33});
      emit(st(4, kFp, int16_t(key_off), plen));
      int s = -1;
      std::vector<int> ptrs;
      for (int r = 0; r < 10; ++r)
        if (R(r).kind == Kind::kPkt && R(r).range >= 34) ptrs.push_back(r);
      if (!ptrs.empty() && rng_.chance(70)) {
        int p = rng_.pick(ptrs);
        s = pick_dst();
        if (s >= 0) {
          emit(ldx(4, s, p, int16_t((rng_.chance(50) ? 26 : 30) - R(p).off)));
          set(s, scalar_val());
        }
      }
      if (s < 0) s = scalar();
      if (s < 0)
        emit(st(4, kFp, int16_t(key_off + 4), imm32()));
      else
        emit(stx(4, kFp, s, int16_t(key_off + 4)));
    } else if (rng_.chance(15)) {
      emit(st(def.key_size, kFp, int16_t(key_off), rng_.range(0, kKeyDomain - 1)));
    } else {
      int s = scalar();
      int k = s < 0 ? -1 : pick_dst();
      if (k < 0) {
        emit(st(def.key_size, kFp, int16_t(key_off), rng_.range(0, kKeyDomain - 1)));
      } else {
        emit(alu(any_width(), BPF_MOV, k, s, 0, true));
        emit(alu(true, BPF_AND, k, 0, rng_.chance(80) ? kKeyDomain - 1 : 0x1f, false));
        set(k, scalar_val());
        emit(stx(def.key_size, kFp, k, int16_t(key_off)));
      }
    }
    write_stack_data(key_off, def.key_size);
  };
  auto key_ptr = [&](int reg, int off) {
    // Through r10, or a stack pointer register plus a constant.
    int p = pick_reg(Kind::kStack);
    if (p >= 0 && rng_.chance(30)) {
      emit(mov_reg(reg, p));
      if (off != R(p).off) emit(add_imm(reg, off - R(p).off));
    } else {
      emit(mov_reg(reg, kFp));
      emit(add_imm(reg, off));
    }
    set(reg, Val{Kind::kStack, -1, off});
  };
  int what = int(rng_.below(10));
  store_key();
  if (what < 6) {  // lookup
    key_ptr(2, key_off);
    emit_lddw(1, BPF_PSEUDO_MAP_FD, m, 0);
    emit(call(BPF_FUNC_map_lookup_elem));
    clobber_call_regs();
    set(0, Val{Kind::kMapOrNull, m});
    int keep = -1;
    if (rng_.chance(40)) {  // copies made before the check share its outcome
      keep = pick_dst(0);
      if (keep >= 0) {
        emit(mov_reg(keep, 0));
        set(keep, R(0));
      }
    }
    const bool miss_exits = rng_.chance(35);
    State miss = st_, hit = st_;
    for (int r = 0; r < 10; ++r) {
      if (st_.reg[size_t(r)].kind != Kind::kMapOrNull) continue;
      miss.reg[size_t(r)] = scalar_val();  // known 0
      hit.reg[size_t(r)] = Val{Kind::kMapValue, m};
    }
    int l_end = new_label();
    if (miss_exits || rng_.chance(50)) {
      int l_hit = new_label();
      jump(l_hit, Insn(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 0, 0), hit);
      st_ = miss;
      if (miss_exits) {
        verdict();
        do_exit();
      } else {
        ja(l_end);
      }
      bind(l_hit);
    } else {
      jump(l_end, Insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 0, 0), miss);
      st_ = hit;
    }
    if (keep < 0 && rng_.chance(40)) {
      int k = rng_.range(7, 9);
      if (writable(k)) {
        emit(mov_reg(k, 0));
        set(k, R(0));
      }
    }
    for (int n = rng_.range(1, 4); n > 0; --n) {
      if (!op_mapval()) break;
    }
    bind(l_end);
    return;
  }
  if (what < 9) {  // update from a value built on the stack
    const int vsz = int(def.value_size);
    const int val_off = -(32 + vsz + 8 * rng_.range(0, 4));
    for (int o = 0; o < vsz;) {
      unsigned sz = o % 8 == 0 && rng_.chance(70) ? 8 : 4;
      if (rng_.chance(50)) {
        int s = scalar();
        if (s >= 0)
          emit(stx(sz, kFp, s, int16_t(val_off + o)));
        else
          emit(st(sz, kFp, int16_t(val_off + o), imm32()));
      } else {
        emit(st(sz, kFp, int16_t(val_off + o), imm32()));
      }
      o += int(sz);
    }
    write_stack_data(val_off, unsigned(vsz));
    if (rng_.chance(80)) {
      emit(mov_imm(4, rng_.pick(std::vector<int32_t>{BPF_ANY, BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3,
                                                     BPF_F_LOCK})));
    } else {
      int s = scalar();
      if (s < 0) {
        emit(mov_imm(4, BPF_ANY));
      } else {
        emit(mov_reg(4, s));
        emit(alu(true, BPF_AND, 4, 0, 3, false));
      }
    }
    set(4, scalar_val());
    key_ptr(3, val_off);
    key_ptr(2, key_off);
    emit_lddw(1, BPF_PSEUDO_MAP_FD, m, 0);
    emit(call(BPF_FUNC_map_update_elem));
  } else {
    key_ptr(2, key_off);
    emit_lddw(1, BPF_PSEUDO_MAP_FD, m, 0);
    emit(call(BPF_FUNC_map_delete_elem));
  }
  clobber_call_regs();
  set(0, scalar_val());  // 0 or -errno
  if (frees_elements(def.type))
    forget_if([](const Val& v, int map) { return v.kind == Kind::kMapValue && v.map == map; }, m);
}

// bpf_xdp_adjust_head/tail/meta with a constant or data-dependent delta;
// every packet pointer dies, and a packet block reloads them.
void Gen::block_adjust() {
  int c = ctx_reg();
  if (c == 2) c = kCtxReg;
  Lock lock_c(*this, c);
  int32_t helper = rng_.pick(std::vector<int32_t>{
      BPF_FUNC_xdp_adjust_head, BPF_FUNC_xdp_adjust_head, BPF_FUNC_xdp_adjust_tail,
      BPF_FUNC_xdp_adjust_tail, BPF_FUNC_xdp_adjust_meta});
  if (rng_.chance(40)) {
    int s = scalar();
    if (s >= 0) {
      emit(alu(any_width(), BPF_MOV, 2, s, 0, true));
      emit(alu(true, BPF_AND, 2, 0, 63, false));
      emit(alu(any_width(), BPF_SUB, 2, 0, 32, false));
    } else {
      emit(mov_imm(2, -8));
    }
  } else {
    static const int32_t kHead[] = {-256, -216, -200, -64, -20, -14, -8, -4, -1,
                                    1,    2,    4,    8,   14,  20,  34, 64, 200};
    static const int32_t kTail[] = {-3000, -100, -40, -20, -4, -1, 1, 4, 16, 64, 1000, 3000};
    static const int32_t kMeta[] = {-256, -216, -32, -8, -4, -3, 4, 8};
    int32_t d = helper == BPF_FUNC_xdp_adjust_head   ? kHead[rng_.below(std::size(kHead))]
                : helper == BPF_FUNC_xdp_adjust_tail ? kTail[rng_.below(std::size(kTail))]
                                                     : kMeta[rng_.below(std::size(kMeta))];
    emit(mov_imm(2, d));
  }
  set(2, scalar_val());
  emit(mov_reg(1, c));
  emit(call(helper));
  clobber_call_regs();
  set(0, scalar_val());  // 0 or -EINVAL/-EACCES
  forget_if([](const Val& v, int) { return v.kind == Kind::kPkt || v.kind == Kind::kPktEnd; }, 0);
  if (opt_.packet && rng_.chance(60)) block_packet(false);
}

void Gen::make_maps() {
  if (!opt_.maps) return;
  std::vector<uint32_t> types = opt_.map_types;
  if (types.empty())
    for (const MapShape& s : kMapShapes) types.push_back(s.type);
  // A random non-empty subset, in a random order.
  for (size_t i = types.size(); i > 1; --i) std::swap(types[i - 1], types[rng_.below(i)]);
  types.resize(std::min<size_t>(types.size(), size_t(rng_.range(1, 4))));
  for (uint32_t t : types) {
    const char* name = "map";
    for (const MapShape& s : kMapShapes)
      if (s.type == t) name = s.name;
    obj_.maps.push_back(make_map(t, name, rng_));
  }
}

void Gen::block(size_t i) {
  std::vector<unsigned> w = {
      4,                      // alu
      4,                      // branch
      2,                      // skip to a later block
      1,                      // early exit
      opt_.loops ? 2u : 0u,   // loop
      opt_.stack ? 3u : 0u,   // stack
      opt_.packet ? 4u : 0u,  // packet
      opt_.maps ? 4u : 0u,    // map call
      opt_.adjust ? 1u : 0u,  // adjust head/tail/meta
      2,                      // context fields
  };
  switch (rng_.weighted(w)) {
    case 0:
      block_alu();
      break;
    case 1:
      block_branch(0);
      break;
    case 2:
      block_skip(i);
      break;
    case 3:
      block_exit();
      break;
    case 4:
      block_loop();
      break;
    case 5:
      block_stack();
      break;
    case 6:
      block_packet(false);
      break;
    case 7:
      block_map();
      break;
    case 8:
      block_adjust();
      break;
    default:
      if (!op_ctx()) op_alu();
      break;
  }
}

bpf::Object Gen::run() {
  obj_.path = fmt::format("progen seed {}", seed_);
  obj_.license = "GPL";
  make_maps();
  locked_[kCtxReg] = locked_[kFp] = true;
  set(1, Val{Kind::kCtx});
  set(kFp, Val{Kind::kStack});
  emit(mov_reg(kCtxReg, 1));
  set(kCtxReg, Val{Kind::kCtx});
  if (opt_.packet) {
    block_packet(true);
    // A few header bytes as the first scalars, in callee-saved registers.
    int p = -1;
    for (int r = 0; r < 10; ++r)
      if (R(r).kind == Kind::kPkt && R(r).off == 0 && R(r).range >= 14) p = r;
    for (int k = rng_.range(1, 3); k > 0 && p >= 0; --k) {
      int d = rng_.range(7, 9);
      if (d == p) continue;
      unsigned size = 1u << rng_.below(3);
      emit(ldx(size, d, p, int16_t(rng_.range(0, 14 - int(size)))));
      set(d, scalar_val());
    }
  }
  const size_t nblocks = std::max(1u, opt_.blocks);
  block_labels_.assign(nblocks + 1, -1);
  for (size_t i = 0; i < nblocks; ++i) {
    if (block_labels_[i] >= 0) bind(block_labels_[i]);
    block(i);
  }
  if (block_labels_[nblocks] >= 0) bind(block_labels_[nblocks]);
  verdict();
  do_exit();

  for (const Label& l : labels_) {
    if (l.uses.empty()) continue;
    if (l.pos < 0) throw std::logic_error("progen: a label was never placed");
    for (size_t u : l.uses) {
      Insn& j = code_[u];
      int64_t off = l.pos - int64_t(u) - 1;
      if (j.cls() == BPF_JMP32 && j.op() == BPF_JA)
        j.imm = int32_t(off);
      else if (off > INT16_MAX)
        throw std::logic_error("progen: a jump does not fit in 16 bits");
      else
        j.off = int16_t(off);
    }
  }
  bpf::Program prog;
  prog.name = "progen";
  prog.section = "xdp";
  prog.type = BPF_PROG_TYPE_XDP;
  prog.insns = std::move(code_);
  prog.func_starts = {0};
  prog.func_names = {prog.name};
  obj_.programs.push_back(std::move(prog));
  return std::move(obj_);
}

}  // namespace

bpf::Object generate(uint64_t seed, const ProgenOptions& opt) {
  return Gen(seed, opt).run();
}

// ------------------------------------------------------------ packets and maps

namespace {

void put16(std::vector<uint8_t>& p, size_t at, uint16_t v) {  // network order
  if (at + 2 > p.size()) return;
  p[at] = uint8_t(v >> 8);
  p[at + 1] = uint8_t(v);
}

std::array<uint8_t, 4> src_addr(Rng& r) {
  return {10, uint8_t(r.below(3)), uint8_t(r.below(4)), uint8_t(r.below(8))};
}
std::array<uint8_t, 4> dst_addr(Rng& r) {
  return {192, 168, uint8_t(r.below(3)), uint8_t(r.below(16))};
}

}  // namespace

std::vector<std::vector<uint8_t>> packets(uint64_t seed, size_t n) {
  Rng r(seed ^ 0x7061636b65747321ull);
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < n; ++i) {
    size_t len;
    switch (r.below(4)) {
      case 0:
        len = size_t(r.range(14, 64));
        break;
      case 1:
        len = size_t(r.range(64, 256));
        break;
      case 2:
        len = size_t(r.pick(std::vector<int>{14, 34, 42, 54, 60, 64, 128, 1500}));
        break;
      default:
        len = size_t(r.range(14, 1500));
        break;
    }
    std::vector<uint8_t> p(len);
    for (uint8_t& b : p) b = uint8_t(r.next());
    if (r.chance(20)) {  // random bytes, sometimes mostly zero
      if (r.chance(30))
        for (uint8_t& b : p) b = r.chance(80) ? 0 : b;
      out.push_back(std::move(p));
      continue;
    }
    static const uint8_t kMacs[3][6] = {
        {0x02, 0, 0, 0, 0, 1}, {0x02, 0, 0, 0, 0, 2}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    const uint8_t* dst_mac = kMacs[r.below(3)];
    const uint8_t* src_mac = kMacs[r.below(2)];
    std::copy(dst_mac, dst_mac + 6, p.begin());
    std::copy(src_mac, src_mac + 6, p.begin() + 6);
    uint16_t eth = uint16_t(r.pick(std::vector<int>{0x0800, 0x0800, 0x0800, 0x0800, 0x86dd, 0x0806,
                                                    0x8100, int(r.below(0x10000))}));
    put16(p, 12, eth);
    if (eth != 0x0800 || len < 34) {
      out.push_back(std::move(p));
      continue;
    }
    uint8_t proto = uint8_t(r.pick(std::vector<int>{6, 6, 17, 17, 1, int(r.below(256))}));
    p[14] = r.chance(90) ? 0x45 : uint8_t(r.next());
    p[15] = uint8_t(r.below(4));
    put16(p, 16, uint16_t(len - 14));
    put16(p, 18, uint16_t(r.below(0x10000)));
    put16(p, 20, r.chance(80) ? 0x4000 : uint16_t(r.below(0x10000)));
    p[22] = uint8_t(r.pick(std::vector<int>{1, 64, 64, 128, 255}));
    p[23] = proto;
    put16(p, 24, 0);
    auto s = src_addr(r), d = dst_addr(r);
    std::copy(s.begin(), s.end(), p.begin() + 26);
    std::copy(d.begin(), d.end(), p.begin() + 30);
    static const int kPorts[] = {53, 80, 443, 8080, 1234, 22};
    put16(p, 34, uint16_t(r.chance(80) ? kPorts[r.below(6)] : r.below(0x10000)));
    put16(p, 36, uint16_t(r.chance(80) ? kPorts[r.below(6)] : r.below(0x10000)));
    if (proto == 17) put16(p, 38, uint16_t(len - 34));
    if (proto == 6 && len > 47)
      p[47] = uint8_t(r.pick(std::vector<int>{0x02, 0x10, 0x12, 0x11, 0x04}));
    out.push_back(std::move(p));
  }
  return out;
}

nlohmann::json initial_maps(const bpf::Object& obj, uint64_t seed) {
  Rng r(seed ^ 0x6d6170732e6a736full);
  nlohmann::json maps = nlohmann::json::object();
  auto value = [&](uint32_t size) {
    std::vector<uint8_t> v(size);
    for (uint8_t& b : v) b = r.chance(30) ? 0 : uint8_t(r.next() % (r.chance(50) ? 8 : 256));
    return bpf::to_hex(v);
  };
  auto key = [](uint64_t k, uint32_t size) {
    std::vector<uint8_t> v(size);
    for (uint32_t i = 0; i < size && i < 8; ++i) v[i] = uint8_t(k >> (8 * i));
    return bpf::to_hex(v);
  };
  for (const bpf::MapDef& m : obj.maps) {
    nlohmann::json list = nlohmann::json::array();
    if (is_array(m.type)) {
      for (uint32_t i = 0; i < m.max_entries; ++i)
        list.push_back({{"key", key(i, 4)}, {"value", value(m.value_size)}});
    } else if (m.type == BPF_MAP_TYPE_LPM_TRIE) {
      // Prefixes the packets' addresses (10.0-2.x.x, 192.168.0-2.x) fall into.
      static const uint8_t kPrefixes[][5] = {
          {8, 10, 0, 0, 0},     {16, 10, 1, 0, 0},    {24, 10, 2, 3, 0}, {16, 192, 168, 0, 0},
          {24, 192, 168, 1, 0}, {32, 192, 168, 2, 5}, {0, 0, 0, 0, 0}};
      for (const auto& pre : kPrefixes) {
        if (!r.chance(60)) continue;
        std::vector<uint8_t> k = {pre[0], 0, 0, 0, pre[1], pre[2], pre[3], pre[4]};
        list.push_back({{"key", bpf::to_hex(k)}, {"value", value(m.value_size)}});
      }
    } else {
      for (int k = 0; k < kKeyDomain; ++k)
        if (r.chance(50))
          list.push_back({{"key", key(uint64_t(k), m.key_size)}, {"value", value(m.value_size)}});
    }
    maps[m.name] = list;
  }
  return nlohmann::json{{"maps", maps}};
}

}  // namespace progen
