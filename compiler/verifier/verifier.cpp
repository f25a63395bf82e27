// The walk: a static CFG check, then a depth-first exploration of every path
// with state pruning, as the Linux verifier's do_check. ALU, jumps, calls and
// exits live here; memory.cpp and helper_call.cpp hold the rest.
#include "compiler/verifier/walk.h"

#include <fmt/format.h>

#include <algorithm>

namespace verifier {

namespace {

constexpr int64_t kMaxVarOff = int64_t(1) << 29;  // BPF_MAX_VAR_OFF
constexpr uint64_t kMaxPacketOff = 0xffff;        // MAX_PACKET_OFF
constexpr uint16_t kCalleeSaved = 0x3c0;          // r6-r9

const char* alu_string(uint8_t op) {
  const char* s = bpf::alu_op_symbol(op);
  return s ? s : "?";
}

Cond cond_of(uint8_t op) {
  switch (op) {
    case BPF_JEQ:
      return Cond::EQ;
    case BPF_JNE:
      return Cond::NE;
    case BPF_JGT:
      return Cond::GT;
    case BPF_JGE:
      return Cond::GE;
    case BPF_JLT:
      return Cond::LT;
    case BPF_JLE:
      return Cond::LE;
    case BPF_JSGT:
      return Cond::SGT;
    case BPF_JSGE:
      return Cond::SGE;
    case BPF_JSLT:
      return Cond::SLT;
    case BPF_JSLE:
      return Cond::SLE;
    default:
      return Cond::SET;
  }
}

// Sign extension of the low `bits` bits, as facts.
Scalar sext(const Scalar& s, unsigned bits) {
  if (s.is_const()) {
    uint64_t v = s.const_value();
    unsigned sh = 64 - bits;
    return Scalar::known(uint64_t(int64_t(v << sh) >> sh));
  }
  Scalar r;
  r.smin = -(int64_t(1) << (bits - 1));
  r.smax = (int64_t(1) << (bits - 1)) - 1;
  r.sync();
  return r;
}

// A 64-bit ALU transfer, or a 32-bit one.
AluOp alu_op(uint8_t op, bool sign) {
  switch (op) {
    case BPF_ADD:
      return AluOp::ADD;
    case BPF_SUB:
      return AluOp::SUB;
    case BPF_MUL:
      return AluOp::MUL;
    case BPF_DIV:
      return sign ? AluOp::SDIV : AluOp::DIV;
    case BPF_MOD:
      return sign ? AluOp::SMOD : AluOp::MOD;
    case BPF_OR:
      return AluOp::OR;
    case BPF_AND:
      return AluOp::AND;
    case BPF_XOR:
      return AluOp::XOR;
    case BPF_LSH:
      return AluOp::LSH;
    case BPF_RSH:
      return AluOp::RSH;
    case BPF_ARSH:
      return AluOp::ARSH;
    case BPF_NEG:
      return AluOp::NEG;
    default:
      return AluOp::MOV;
  }
}

// The bytes of byte-swap / endianness conversion, as facts.
Scalar byte_swap(const Scalar& s, unsigned bits, bool swap) {
  if (s.is_const()) {
    uint64_t v = s.const_value();
    if (bits < 64) v &= (uint64_t(1) << bits) - 1;
    if (swap) {
      uint64_t r = 0;
      for (unsigned i = 0; i < bits / 8; i++) r |= ((v >> (8 * i)) & 0xff) << (bits - 8 - 8 * i);
      v = r;
    }
    return Scalar::known(v);
  }
  if (bits == 64) return swap ? Scalar::unknown() : s;
  if (!swap) return alu(AluOp::AND, s, Scalar::known((uint64_t(1) << bits) - 1), false);
  return Scalar::urange(0, (uint64_t(1) << bits) - 1);
}

}  // namespace

Walker::Walker(const bpf::Object& obj, const bpf::Program& prog, const Options& opt)
    : obj_(obj), prog_(prog), opt_(opt), insns_(prog.insns) {}

void Walker::reject(std::string reason) const {
  throw Reject{std::move(reason)};
}

const Reg& Walker::read_reg(unsigned r) {
  const Reg& x = st_.cur().regs[r];
  if (x.type == RegType::NOT_INIT) reject(fmt::format("R{} !read_ok", r));
  return x;
}

int Walker::subprog_of(uint32_t pc) const {
  int f = 0;
  for (size_t i = 0; i < prog_.func_starts.size(); i++)
    if (prog_.func_starts[i] <= pc && prog_.func_starts[i] >= prog_.func_starts[size_t(f)])
      f = int(i);
  return f;
}

// ---------------------------------------------------------------- CFG check

void Walker::check_cfg() {
  const uint32_t n = uint32_t(insns_.size());
  if (n == 0) reject("empty program");
  std::vector<uint32_t> starts(prog_.func_starts.begin(), prog_.func_starts.end());
  if (starts.empty()) starts.push_back(0);
  std::sort(starts.begin(), starts.end());
  auto func_end = [&](uint32_t pc) {
    auto it = std::upper_bound(starts.begin(), starts.end(), pc);
    return it == starts.end() ? n : *it;
  };
  auto func_begin = [&](uint32_t pc) {
    return *(std::upper_bound(starts.begin(), starts.end(), pc) - 1);
  };
  std::vector<bool> second(n, false);  // the second slot of an lddw
  prune_.assign(n, false);
  std::vector<std::vector<uint32_t>> succ(n);
  for (uint32_t pc = 0; pc < n; pc++) {
    if (second[pc]) continue;
    insn_pc_ = pc;
    const bpf::Insn& in = insns_[pc];
    const uint8_t cls = in.cls(), op = in.op();
    auto bad = [&] { reject(fmt::format("unknown opcode {:02x}", in.code)); };
    auto reserved = [&](const char* what) { reject(fmt::format("{} uses reserved fields", what)); };
    auto jump_to = [&](int64_t target) {
      if (target < func_begin(pc) || target >= func_end(pc))
        reject(fmt::format("jump out of range from insn {} to {}", pc, target));
      if (second[size_t(target)] ||
          (target > 0 && insns_[size_t(target) - 1].is_lddw() && !second[size_t(target) - 1] &&
           size_t(target) - 1 >= func_begin(pc)))
        reject(fmt::format("jump into the middle of ldimm64 insn {}", target - 1));
      succ[pc].push_back(uint32_t(target));
      prune_[size_t(target)] = true;
    };
    bool falls = true;
    switch (cls) {
      case BPF_ALU:
      case BPF_ALU64: {
        const bool x = in.srcbit() == BPF_X;
        if (op > BPF_END) bad();
        if (op == BPF_END) {
          if (in.src || in.off || (in.imm != 16 && in.imm != 32 && in.imm != 64) ||
              (cls == BPF_ALU64 && x))
            reject("BPF_END uses reserved fields");
        } else if (op == BPF_NEG) {
          if (x || in.src || in.off || in.imm) reserved("BPF_NEG");
        } else if (op == BPF_MOV) {
          const bool sx_ok =
              in.off == 0 ||
              ((in.off == 8 || in.off == 16 || (in.off == 32 && cls == BPF_ALU64)) && x);
          if ((x && in.imm) || (!x && (in.src || in.off)) || !sx_ok) reserved("BPF_MOV");
        } else {
          const bool sdiv = (op == BPF_DIV || op == BPF_MOD) && in.off == 1;
          if ((x && in.imm) || (!x && in.src) || (in.off && !sdiv)) reserved("BPF_ALU");
        }
        break;
      }
      case BPF_LDX:
        if ((in.mode() != BPF_MEM && in.mode() != BPF_MEMSX) || in.imm ||
            (in.mode() == BPF_MEMSX && in.size() == BPF_DW))
          reject("BPF_LDX uses reserved fields");
        break;
      case BPF_ST:
        if (in.mode() != BPF_MEM || in.src) reject("BPF_ST uses reserved fields");
        break;
      case BPF_STX:
        if (in.mode() == BPF_ATOMIC) {
          const int32_t ops[] = {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR};
          bool ok = in.imm == BPF_XCHG || in.imm == BPF_CMPXCHG;
          for (int32_t o : ops) ok = ok || in.imm == o || in.imm == (o | BPF_FETCH);
          if (!ok) reject(fmt::format("BPF_ATOMIC uses invalid atomic opcode {:02x}", in.imm));
          if (in.size() != BPF_W && in.size() != BPF_DW) reject("invalid atomic operand size");
        } else if (in.mode() != BPF_MEM || in.imm) {
          reject("BPF_STX uses reserved fields");
        }
        break;
      case BPF_LD:
        if (in.mode() == BPF_ABS || in.mode() == BPF_IND)
          reject("BPF_LD_[ABS|IND] instructions not allowed for this program type");
        if (!in.is_lddw()) bad();
        if (pc + 1 >= n || insns_[pc + 1].code || insns_[pc + 1].dst || insns_[pc + 1].src ||
            insns_[pc + 1].off)
          reject("invalid bpf_ld_imm64 insn");
        if (in.src > BPF_PSEUDO_FUNC || in.src == BPF_PSEUDO_MAP_IDX ||
            in.src == BPF_PSEUDO_BTF_ID || in.src == BPF_PSEUDO_MAP_IDX_VALUE)
          reject("unrecognized bpf_ld_imm64 insn");
        if ((in.src == BPF_PSEUDO_MAP_FD || in.src == BPF_PSEUDO_MAP_VALUE) &&
            (in.imm < 0 || size_t(in.imm) >= obj_.maps.size()))
          reject(fmt::format("map index {} out of range", in.imm));
        second[pc + 1] = true;
        if (in.src == BPF_PSEUDO_FUNC) {
          int64_t t = int64_t(pc) + in.imm + 1;
          if (t < 0 || t >= n || !std::binary_search(starts.begin(), starts.end(), uint32_t(t)))
            reject(fmt::format("function pointer to insn {} is not a function start", t));
          succ[pc].push_back(uint32_t(t));
          prune_[size_t(t)] = true;
        }
        succ[pc].push_back(pc + 2);
        falls = false;
        if (pc + 2 >= func_end(pc)) reject("last insn is not an exit or jmp");
        break;
      case BPF_JMP:
      case BPF_JMP32: {
        const bool x = in.srcbit() == BPF_X;
        if (op == BPF_JA) {
          if (x || in.src || in.dst) reserved("BPF_JA");
          if (cls == BPF_JMP && in.imm) reserved("BPF_JA");
          if (cls == BPF_JMP32 && in.off) reserved("BPF_JA");
          jump_to(int64_t(pc) + 1 + (cls == BPF_JMP ? in.off : in.imm));
          falls = false;
        } else if (op == BPF_CALL) {
          if (cls != BPF_JMP || x) bad();  // callx is not part of the ISA the kernel runs
          if (in.off || in.dst) reserved("BPF_CALL");
          if (in.src == BPF_PSEUDO_CALL) {
            int64_t t = int64_t(pc) + in.imm + 1;
            if (t < 0 || t >= n || !std::binary_search(starts.begin(), starts.end(), uint32_t(t)))
              reject(fmt::format("call to insn {} is not a function start", t));
            succ[pc].push_back(uint32_t(t));
            prune_[size_t(t)] = true;
          } else if (in.src != 0) {
            reject(fmt::format("unsupported call kind {} (kfuncs are not offloaded)", in.src));
          }
          prune_[pc + 1 < n ? pc + 1 : pc] = true;
        } else if (op == BPF_EXIT) {
          if (cls != BPF_JMP || x || in.src || in.dst || in.off || in.imm) reserved("BPF_EXIT");
          falls = false;
        } else if (op == BPF_JCOND || op > BPF_JSLE) {
          bad();
        } else {
          if ((x && in.imm) || (!x && in.src)) reserved("BPF_JMP/JMP32");
          jump_to(int64_t(pc) + 1 + in.off);
          prune_[pc + 1 < n ? pc + 1 : pc] = true;
        }
        break;
      }
    }
    if (falls) {
      if (pc + 1 >= func_end(pc)) reject("last insn is not an exit or jmp");
      succ[pc].push_back(pc + 1);
    }
  }
  // Every instruction reachable.
  std::vector<bool> seen(n, false);
  std::vector<uint32_t> work{0};
  seen[0] = true;
  while (!work.empty()) {
    uint32_t pc = work.back();
    work.pop_back();
    for (uint32_t s : succ[pc])
      if (!seen[s]) seen[s] = true, work.push_back(s);
  }
  for (uint32_t pc = 0; pc < n; pc++)
    if (!seen[pc] && !second[pc]) {
      insn_pc_ = pc;
      reject(fmt::format("unreachable insn {}", pc));
    }
  // Liveness of r0-r9, backward over the same edges (calls: their arguments
  // are read, r0-r5 written; exits read r0).
  live_in_.assign(n, 0);
  bool changed = true;
  while (changed) {
    changed = false;
    for (uint32_t pc = n; pc-- > 0;) {
      if (second[pc]) continue;
      const bpf::Insn& in = insns_[pc];
      uint16_t out = 0;
      if (in.is_pseudo_call()) {
        out = pc + 1 < n ? live_in_[pc + 1] : 0;
      } else {
        for (uint32_t s : succ[pc]) out |= live_in_[s];
      }
      uint16_t use = 0, def = 0;
      auto r = [](unsigned x) { return uint16_t(x < 10 ? 1u << x : 0); };
      const uint8_t cls = in.cls(), op = in.op();
      switch (cls) {
        case BPF_ALU:
        case BPF_ALU64:
          def = r(in.dst);
          if (op != BPF_MOV) use |= r(in.dst);
          if (in.srcbit() == BPF_X && op != BPF_END && op != BPF_NEG) use |= r(in.src);
          break;
        case BPF_LDX:
          use = r(in.src), def = r(in.dst);
          break;
        case BPF_ST:
          use = r(in.dst);
          break;
        case BPF_STX:
          use = r(in.dst) | r(in.src);
          if (in.mode() == BPF_ATOMIC) {
            if (in.imm & BPF_FETCH) def = r(in.src);
            if (in.imm == BPF_CMPXCHG) use |= 1, def = 1;
          }
          break;
        case BPF_LD:
          def = r(in.dst);
          break;
        default:
          if (in.is_call()) {
            use = 0x3e, def = 0x3f;  // r1-r5 in, r0-r5 out
          } else if (in.is_exit()) {
            use = 1;
          } else if (op != BPF_JA) {
            use = r(in.dst);
            if (in.srcbit() == BPF_X) use |= r(in.src);
          }
      }
      uint16_t li = uint16_t(use | (out & ~def));
      if (li != live_in_[pc]) live_in_[pc] = li, changed = true;
    }
  }
  depth_.assign(prog_.func_starts.empty() ? 1 : prog_.func_starts.size(), 0);
  callees_.assign(depth_.size(), {});
}

// ---------------------------------------------------------------- pruning

namespace {

struct IdMap {
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  uint32_t fresh = 0x80000000u;
  bool check(uint32_t old_id, uint32_t cur_id) {
    for (auto& p : pairs) {
      if (p.first == old_id) return p.second == cur_id;
      if (p.second == cur_id) return false;
    }
    pairs.emplace_back(old_id, cur_id);
    return true;
  }
};

bool range_within(const Scalar& o, const Scalar& c) {
  return o.umin <= c.umin && o.umax >= c.umax && o.smin <= c.smin && o.smax >= c.smax &&
         o.u32_min <= c.u32_min && o.u32_max >= c.u32_max && o.s32_min <= c.s32_min &&
         o.s32_max >= c.s32_max && o.var_off.includes(c.var_off);
}

bool reg_covers(const Reg& o, const Reg& c, IdMap& ids) {
  if (o.type == RegType::NOT_INIT) return true;
  if (o.type != c.type) return false;
  switch (o.type) {
    case RegType::SCALAR:
      if (!range_within(o.s, c.s)) return false;
      if (o.id == 0) return true;
      return ids.check(o.id, c.id ? c.id : ids.fresh++);
    case RegType::MAP_PTR:
    case RegType::FUNC:
      return o.map == c.map;
    case RegType::PACKET_END:
      return true;
    default:
      break;
  }
  if (o.off != c.off || o.map != c.map || o.frame != c.frame || !range_within(o.s, c.s))
    return false;
  if (is_packet(o.type) && o.range > c.range) return false;
  return ids.check(o.id, c.id);
}

}  // namespace

bool Walker::covers(const State& old, const State& cur, const SlotSet* live_slots) const {
  if (old.frames.size() != cur.frames.size()) return false;
  IdMap ids;
  for (size_t fi = 0; fi < old.frames.size(); fi++) {
    const Frame& fo = old.frames[fi];
    const Frame& fc = cur.frames[fi];
    if (fo.callsite != fc.callsite || fo.callback != fc.callback) return false;
    uint16_t live = fi + 1 == old.frames.size()
                        ? live_in_[cur.pc]
                        : uint16_t(live_in_[old.frames[fi + 1].callsite + 1] & kCalleeSaved);
    for (unsigned r = 0; r < 10; r++)
      if ((live >> r & 1) && !reg_covers(fo.regs[r], fc.regs[r], ids)) return false;
    for (int b = 0; b < kStackSize; b++) {
      if (live_slots && !live_slots->test(fi * kSlots + size_t(b / 8))) {
        b += 7;
        continue;
      }
      Slot so = fo.bytes[size_t(b)], sc = fc.bytes[size_t(b)];
      if (so == Slot::INVALID) continue;
      if (so == Slot::MISC && (opt_.perfmon || sc == Slot::ZERO || sc == Slot::MISC)) continue;
      if (so == Slot::MISC && sc == Slot::SPILL &&
          fc.spilled[size_t(b / 8)].type == RegType::SCALAR)
        continue;
      if (so != sc) return false;
      if (so == Slot::SPILL && b % 8 == 0 &&
          !reg_covers(fo.spilled[size_t(b / 8)], fc.spilled[size_t(b / 8)], ids))
        return false;
    }
  }
  return true;
}

// bpf_loop callbacks run an unknown number of times: where a scalar differs
// from the state at an earlier visit of the call, it becomes unknown, so the
// walk reaches a fixed point (the kernel gets there by ignoring scalars that
// no safety check depends on).
void Walker::widen(const State& old) {
  if (old.frames.size() != st_.frames.size()) return;
  for (size_t fi = 0; fi < old.frames.size(); fi++) {
    const Frame& fo = old.frames[fi];
    Frame& fc = st_.frames[fi];
    for (unsigned r = 0; r < 10; r++)
      if (fc.regs[r].type == RegType::SCALAR && fo.regs[r].type == RegType::SCALAR &&
          !(fo.regs[r].s == fc.regs[r].s))
        fc.regs[r] = Reg::unknown();
    for (int j = 0; j < kSlots; j++) {
      Reg& c = fc.spilled[size_t(j)];
      const Reg& o = fo.spilled[size_t(j)];
      if (fc.bytes[size_t(j * 8)] == Slot::SPILL && fo.bytes[size_t(j * 8)] == Slot::SPILL &&
          c.type == RegType::SCALAR && o.type == RegType::SCALAR && !(c.s == o.s)) {
        int n = 0;
        while (n < 8 && fc.bytes[size_t(j * 8 + n)] == Slot::SPILL) n++;
        c = Reg::scalar(n == 8 ? Scalar::unknown()
                               : Scalar::urange(0, (uint64_t(1) << (8 * n)) - 1));
      }
    }
  }
}

// A digest of everything same_exact compares in the registers, so that most
// comparisons stop at one integer.
uint64_t Walker::digest(const State& s) {
  uint64_t h = s.frames.size();
  auto mix = [&](uint64_t v) { h = (h ^ v) * 0x100000001b3ull; };
  for (const Frame& f : s.frames)
    for (const Reg& r : f.regs) {
      mix(uint64_t(r.type));
      if (r.type == RegType::NOT_INIT) continue;
      mix(r.s.var_off.value), mix(r.s.var_off.mask), mix(r.s.umin), mix(r.s.umax);
      mix(uint64_t(r.s.smin)), mix(uint64_t(r.s.smax));
      mix(uint64_t(uint32_t(r.off)) << 32 | r.id),
          mix(uint64_t(uint32_t(r.range)) << 32 | uint32_t(r.map));
    }
  return h;
}

// ---------------------------------------------------------------- walk

namespace {
bool calls_callback(const bpf::Insn& in) {
  return in.is_helper_call() && in.imm == BPF_FUNC_loop;
}
}  // namespace

bool Walker::visit_checkpoint(bool add) {
  const uint32_t pc = st_.pc;
  auto& list = checkpoints_[pc];
  const bool callback_site = calls_callback(insns_[pc]);
  const uint64_t dig = digest(st_);
  for (size_t i = 0; i < list.size(); i++) {
    auto& cp = list[i];
    if (cp->branches > 0) {
      if (callback_site) {
        if (covers(cp->st, st_, nullptr)) return true;
        widen(cp->st);
        if (covers(cp->st, st_, nullptr)) return true;
        continue;
      }
      if (cp->digest == dig && cp->st == st_)
        reject(fmt::format("infinite loop detected at insn {}", pc));
      continue;
    }
    if (covers(cp->st, st_, &cp->read)) {
      mark_read(cp->read);  // what the pruned future reads, this path reads
      cp->hits++;
      return true;
    }
    // A complete state that rarely prunes only costs time, as in the kernel.
    if (++cp->misses > cp->hits * 3 + 3) {
      evicted_.push_back(std::move(cp));
      list.erase(list.begin() + std::ptrdiff_t(i--));
    }
  }
  if (!add || list.size() >= 4096 || res_.states >= 100000) return false;  // bounds memory
  auto cp = std::make_unique<Checkpoint>();
  cp->st = st_;
  cp->digest = dig;
  cp->parent = parent_;
  cp->written = written_;
  written_.reset();
  parent_ = cp.get();
  list.push_back(std::move(cp));
  res_.states++;
  res_.max_states_per_insn = std::max(res_.max_states_per_insn, uint32_t(list.size()));
  return false;
}

void Walker::end_path() {
  for (Checkpoint* p = parent_; p; p = p->parent)
    if (--p->branches > 0) break;
}

Result Walker::run() {
  check_cfg();
  res_.facts.assign(insns_.size(), {});
  for (auto& f : res_.facts) f.type.fill(RegType::NOT_INIT);
  checkpoints_.resize(insns_.size());
  never_null_.assign(insns_.size(), -1);
  pkt_proven_.assign(insns_.size(), -1);
  root_ = std::make_unique<Checkpoint>();
  parent_ = root_.get();
  st_.frames.resize(1);
  st_.cur().regs[1] = Reg::pointer(RegType::CTX);
  st_.cur().regs[10] = Reg::pointer(RegType::STACK);
  st_.pc = 0;
  uint32_t since_jmp = 0, since_insn = 0;
  for (;;) {
    bool stop = false;
    if (prune_[st_.pc] || calls_callback(insns_[st_.pc])) {
      // The kernel adds a state only every few jumps and instructions.
      const bool add =
          (since_jmp >= 2 && since_insn >= 8) || calls_callback(insns_[st_.pc]) || st_.pc == 0;
      stop = visit_checkpoint(add);
      if (!stop && add) since_jmp = since_insn = 0;
    }
    if (!stop) {
      if (++res_.insns_processed > opt_.insn_limit)
        reject(fmt::format("BPF program is too large. Processed {} insn", res_.insns_processed));
      insn_pc_ = st_.pc;
      const bpf::Insn& in = insns_[st_.pc];
      if (in.is_jump() || in.is_call()) since_jmp++;
      since_insn++;
      record_facts();
      const uint32_t at = st_.pc;
      const size_t depth = st_.frames.size();
      step();
      record_out(at, depth);
      if (st_.pc != UINT32_MAX) continue;
    }
    end_path();
    if (pending_.empty()) break;
    st_ = std::move(pending_.back().st);
    parent_ = pending_.back().parent;
    written_ = pending_.back().written;
    pending_.pop_back();
  }
  check_stack_depths();
  for (size_t i = 0; i < insns_.size(); i++) {
    res_.facts[i].lookup_never_null = never_null_[i] == 1;
    res_.facts[i].pkt_check_proven = pkt_proven_[i] == 1;
  }
  res_.stack_depth = depth_;
  return std::move(res_);
}

void Walker::record_facts() {
  InsnFacts& f = res_.facts[st_.pc];
  const Frame& fr = st_.cur();
  for (unsigned r = 0; r < 11; r++) {
    const Reg& x = fr.regs[r];
    bool c = x.is_const();
    const uint64_t umax = x.type == RegType::SCALAR ? x.s.umax : UINT64_MAX;
    if (!f.reached) {
      f.type[r] = x.type;
      f.is_const[r] = c;
      f.value[r] = c ? x.s.const_value() : 0;
      f.umax[r] = umax;
    } else {
      f.umax[r] = std::max(f.umax[r], umax);
      if (f.type[r] != x.type) f.type[r] = RegType::NOT_INIT;
      if (f.is_const[r] && (!c || f.value[r] != x.s.const_value())) f.is_const[r] = false;
    }
  }
  f.reached = true;
}

void Walker::record_out(uint32_t at, size_t depth) {
  const bpf::Insn& in = insns_[at];
  const uint8_t cls = in.cls();
  if (cls != BPF_ALU && cls != BPF_ALU64 && cls != BPF_LDX && cls != BPF_LD) return;
  if (st_.pc == UINT32_MAX || st_.frames.size() != depth) return;
  InsnFacts& f = res_.facts[at];
  const Reg& d = st_.cur().regs[in.dst];
  const bool c = d.is_const();
  if (!f.out_seen) {
    f.out_seen = true;
    f.out_const = c;
    f.out_value = c ? d.s.const_value() : 0;
  } else if (f.out_const && (!c || f.out_value != d.s.const_value())) {
    f.out_const = false;
  }
}

void Walker::note_mem(Mem m, int32_t map, int32_t slack, int32_t stack_off) {
  InsnFacts& f = res_.facts[insn_pc_];
  if (f.mem != Mem::NONE && (f.mem == Mem::CTX) != (m == Mem::CTX))
    reject("same insn cannot be used with different pointer types");
  if (f.mem == Mem::NONE) {
    f.mem = m;
    f.map = map;
    f.stack_off = stack_off;
  } else {
    if (f.mem != m) f.mem = Mem::MIXED;
    if (f.map != map) f.map = -1;
    if (f.stack_off != stack_off) f.stack_off = 0;
  }
  f.pkt_slack = std::min(f.pkt_slack, slack);
}

void Walker::step() {
  const bpf::Insn in = insns_[st_.pc];
  switch (in.cls()) {
    case BPF_ALU:
    case BPF_ALU64:
      do_alu(in);
      st_.pc++;
      return;
    case BPF_LDX: {
      read_reg(in.src);
      check_mem_access(in.src, in.off, bpf::size_bytes(in.size()), false, in.dst, false,
                       in.mode() == BPF_MEMSX);
      st_.pc++;
      return;
    }
    case BPF_ST:
      read_reg(in.dst);
      check_mem_access(in.dst, in.off, bpf::size_bytes(in.size()), true, -1, false, false);
      st_.pc++;
      return;
    case BPF_STX: {
      read_reg(in.dst);
      read_reg(in.src);
      if (in.mode() == BPF_ATOMIC) {
        const unsigned size = bpf::size_bytes(in.size());
        if (in.imm == BPF_CMPXCHG) read_reg(0);
        if (is_pointer(reg(in.src).type) && !opt_.perfmon)
          reject(fmt::format("R{} leaks addr into mem", in.src));
        if (in.imm == BPF_CMPXCHG && is_pointer(reg(0).type) && !opt_.perfmon)
          reject("R0 leaks addr into mem");
        const RegType t = reg(in.dst).type;
        if (t == RegType::CTX || is_packet(t) || t == RegType::PACKET_END)
          reject(fmt::format("BPF_ATOMIC stores into R{} {} is not allowed", in.dst,
                             reg_type_name(t)));
        // Read, then write the same place.
        int load_dst = in.imm == BPF_CMPXCHG ? 0 : (in.imm & BPF_FETCH) ? in.src : -1;
        check_mem_access(in.dst, in.off, size, false, load_dst, true, false);
        check_mem_access(in.dst, in.off, size, true, -1, true, false);
        if (load_dst >= 0 && size == 4) reg(unsigned(load_dst)).s.zext32();
      } else {
        check_mem_access(in.dst, in.off, bpf::size_bytes(in.size()), true, in.src, false, false);
      }
      st_.pc++;
      return;
    }
    case BPF_LD:
      do_load_imm64(in, insns_[st_.pc + 1]);
      st_.pc += 2;
      return;
    default:
      break;
  }
  const uint8_t op = in.op();
  if (op == BPF_JA) {
    st_.pc = uint32_t(int64_t(st_.pc) + 1 + (in.cls() == BPF_JMP ? in.off : in.imm));
  } else if (op == BPF_CALL) {
    if (in.is_pseudo_call())
      do_call_subprog(in);
    else
      check_helper_call(in);
  } else if (op == BPF_EXIT) {
    do_exit();
  } else {
    do_cond_jump(in);
  }
}

// ---------------------------------------------------------------- ALU

void Walker::do_load_imm64(const bpf::Insn& in, const bpf::Insn& next) {
  Reg& d = reg(in.dst);
  if (in.dst == 10) reject("frame pointer is read only");
  switch (in.src) {
    case 0:
      d = Reg::scalar(
          Scalar::known(uint64_t(uint32_t(in.imm)) | uint64_t(uint32_t(next.imm)) << 32));
      break;
    case BPF_PSEUDO_MAP_FD:
      d = Reg::pointer(RegType::MAP_PTR);
      d.map = in.imm;
      break;
    case BPF_PSEUDO_MAP_VALUE: {
      const bpf::MapDef& m = map_def(in.imm);
      if (uint32_t(next.imm) >= m.value_size)
        reject(fmt::format("invalid access to map value pointer, value_size={} off={}",
                           m.value_size, uint32_t(next.imm)));
      d = Reg::pointer(RegType::MAP_VALUE, next.imm);
      d.map = in.imm;
      break;
    }
    default:  // BPF_PSEUDO_FUNC
      d = Reg::pointer(RegType::FUNC);
      d.map = int32_t(st_.pc + 1 + in.imm);
      break;
  }
}

void Walker::do_alu(const bpf::Insn& in) {
  const uint8_t op = in.op();
  const bool alu32 = in.cls() == BPF_ALU;
  const bool x = in.srcbit() == BPF_X;
  if (in.dst == 10) {
    read_reg(10);
    reject("frame pointer is read only");
  }
  Reg& d = reg(in.dst);
  if (op == BPF_END || op == BPF_NEG) {
    read_reg(in.dst);
    if (is_pointer(d.type)) {
      if (!opt_.perfmon) reject(fmt::format("R{} pointer arithmetic prohibited", in.dst));
      d = Reg::unknown();
    }
    if (op == BPF_NEG) {
      d.s = alu(AluOp::NEG, d.s, Scalar::known(0), alu32);
    } else {
      const bool swap = in.cls() == BPF_ALU64 || x;  // bswap, or to_be on little endian
      d.s = byte_swap(d.s, unsigned(in.imm), swap);
    }
    d.id = 0;
    return;
  }
  if (op == BPF_MOV) {
    if (!x) {
      d = Reg::scalar(
          Scalar::known(alu32 ? uint64_t(uint32_t(in.imm)) : uint64_t(int64_t(in.imm))));
      return;
    }
    Reg s = read_reg(in.src);
    if (!alu32 && in.off == 0) {
      if (s.type == RegType::SCALAR && s.id == 0 && !s.s.is_const()) {
        s.id = new_id();
        reg(in.src).id = s.id;
      }
      d = s;
      return;
    }
    if (is_pointer(s.type)) {
      if (!opt_.perfmon)
        reject(fmt::format(
            in.off ? "R{} sign-extension part of pointer" : "R{} partial copy of pointer", in.src));
      d = Reg::scalar(alu32 ? Scalar::urange(0, UINT32_MAX) : Scalar::unknown());
      return;
    }
    Scalar v = s.s;
    if (in.off) v = sext(v, unsigned(in.off));
    if (alu32) v = alu(AluOp::MOV, Scalar::known(0), v, true);
    d = Reg::scalar(v);
    return;
  }
  read_reg(in.dst);
  Reg src = x ? read_reg(in.src) : Reg::scalar(Scalar::known(uint64_t(int64_t(in.imm))));
  if (!x) {
    if ((op == BPF_DIV || op == BPF_MOD) && in.imm == 0) reject("div by zero");
    if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
        (in.imm < 0 || in.imm >= (alu32 ? 32 : 64)))
      reject(fmt::format("invalid shift {}", in.imm));
  }
  if (is_pointer(d.type) || is_pointer(src.type)) {
    Reg dst_copy = d;
    do_ptr_alu(in, dst_copy, src);
    reg(in.dst) = dst_copy;
    return;
  }
  Scalar r = alu(alu_op(op, in.off == 1), d.s, src.s, alu32);
  d = Reg::scalar(r);
}

void Walker::do_ptr_alu(const bpf::Insn& in, Reg& d, const Reg& src) {
  const uint8_t op = in.op();
  const bool alu32 = in.cls() == BPF_ALU;
  const unsigned dst = in.dst;
  if (is_pointer(d.type) && is_pointer(src.type)) {
    if (op == BPF_SUB && opt_.perfmon) {
      d = Reg::unknown();
      return;
    }
    reject(fmt::format("R{} pointer {} pointer prohibited", dst, alu_string(op)));
  }
  const bool ptr_is_dst = is_pointer(d.type);
  const Reg ptr = ptr_is_dst ? d : src;
  const Reg off = ptr_is_dst ? src : d;
  if (alu32) {
    if (op == BPF_SUB && opt_.perfmon) {
      d = Reg::unknown();
      return;
    }
    reject(fmt::format("R{} 32-bit pointer arithmetic prohibited", dst));
  }
  if (ptr.type == RegType::MAP_VALUE_OR_NULL)
    reject(fmt::format("R{} pointer arithmetic on {} prohibited, null-check it first", dst,
                       reg_type_name(ptr.type)));
  if (ptr.type == RegType::PACKET_END || ptr.type == RegType::MAP_PTR || ptr.type == RegType::FUNC)
    reject(fmt::format("R{} pointer arithmetic on {} prohibited", dst, reg_type_name(ptr.type)));
  const char* tname = reg_type_name(ptr.type);
  auto sane = [&](const Reg& r) {
    const bool known = r.s.is_const();
    const int64_t val = int64_t(r.s.const_value());
    if (known && (val >= kMaxVarOff || val <= -kMaxVarOff))
      reject(fmt::format("math between {} pointer and {} is not allowed", tname, val));
    if (r.off >= kMaxVarOff || r.off <= -kMaxVarOff)
      reject(fmt::format("{} pointer offset {} is not allowed", tname, r.off));
    if (r.s.smin == INT64_MIN)
      reject(fmt::format(
          "math between {} pointer and register with unbounded min value is not allowed", tname));
    if (r.s.smin >= kMaxVarOff || r.s.smin <= -kMaxVarOff)
      reject(fmt::format("value {} makes {} pointer be out of bounds", r.s.smin, tname));
  };
  sane(off);
  sane(ptr);
  Reg r = ptr;
  const bool known = off.s.is_const();
  const int64_t k = int64_t(off.s.const_value());
  switch (op) {
    case BPF_ADD:
      if (known && int64_t(ptr.off) + k == int64_t(int32_t(int64_t(ptr.off) + k))) {
        r.off = int32_t(ptr.off + k);
      } else {
        r.s = alu(AluOp::ADD, ptr.s, off.s, false);
        if (is_packet(ptr.type)) r.id = new_id(), r.range = 0;
      }
      break;
    case BPF_SUB:
      if (!ptr_is_dst) reject(fmt::format("R{} tried to subtract pointer from scalar", dst));
      if (ptr.type == RegType::STACK)
        reject(fmt::format("R{} subtraction from stack pointer prohibited", dst));
      if (known && int64_t(ptr.off) - k == int64_t(int32_t(int64_t(ptr.off) - k))) {
        r.off = int32_t(ptr.off - k);
      } else {
        r.s = alu(AluOp::SUB, ptr.s, off.s, false);
        if (is_packet(ptr.type)) r.id = new_id(), r.range = 0;
      }
      break;
    case BPF_AND:
    case BPF_OR:
    case BPF_XOR:
      reject(fmt::format("R{} bitwise operator {} on pointer prohibited", dst, alu_string(op)));
    default:
      reject(
          fmt::format("R{} pointer arithmetic with {} operator prohibited", dst, alu_string(op)));
  }
  sane(r);
  d = r;
}

// ---------------------------------------------------------------- jumps

void Walker::propagate_scalar(uint32_t id, const Reg& r) {
  if (id == 0) return;
  for (Frame& f : st_.frames) {
    for (Reg& x : f.regs)
      if (x.type == RegType::SCALAR && x.id == id) x.s = r.s;
    for (int j = 0; j < kSlots; j++)
      if (f.bytes[size_t(j * 8)] == Slot::SPILL && f.spilled[size_t(j)].type == RegType::SCALAR &&
          f.spilled[size_t(j)].id == id)
        f.spilled[size_t(j)].s = r.s;
  }
}

void Walker::mark_ptr_or_null(uint32_t id, bool is_null) {
  auto fix = [&](Reg& x) {
    if (x.type != RegType::MAP_VALUE_OR_NULL || x.id != id) return;
    if (is_null) {
      x = Reg::scalar(Scalar::known(0));
    } else {
      x.type = RegType::MAP_VALUE;
      x.id = 0;
    }
  };
  for (Frame& f : st_.frames) {
    for (Reg& x : f.regs) fix(x);
    for (int j = 0; j < kSlots; j++)
      if (f.bytes[size_t(j * 8)] == Slot::SPILL) fix(f.spilled[size_t(j)]);
  }
}

void Walker::find_good_pkt_pointers(const Reg& dst, RegType t, bool right_open) {
  if (dst.off < 0 || (dst.off == 0 && right_open)) return;
  if (dst.s.umax > kMaxPacketOff || dst.s.umax + uint64_t(dst.off) > kMaxPacketOff) return;
  int32_t range = dst.off + (right_open ? 1 : 0);
  const uint32_t id = dst.id;
  auto fix = [&](Reg& x) {
    if (x.type == t && x.id == id) x.range = std::max(x.range, range);
  };
  for (Frame& f : st_.frames) {
    for (Reg& x : f.regs) fix(x);
    for (int j = 0; j < kSlots; j++)
      if (f.bytes[size_t(j * 8)] == Slot::SPILL) fix(f.spilled[size_t(j)]);
  }
}

void Walker::do_cond_jump(const bpf::Insn& in) {
  const uint8_t op = in.op();
  const bool x = in.srcbit() == BPF_X;
  const bool jmp32 = in.cls() == BPF_JMP32;
  const Reg d = read_reg(in.dst);
  const Reg s = x ? read_reg(in.src) : Reg::scalar(Scalar::known(uint64_t(int64_t(in.imm))));
  const uint32_t target = uint32_t(int64_t(st_.pc) + 1 + in.off);
  const uint32_t next = st_.pc + 1;
  InsnFacts& facts = res_.facts[st_.pc];

  auto go = [&](bool taken_possible, bool fall_possible, auto&& on_taken, auto&& on_fall) {
    if (taken_possible && fall_possible) {
      State fall = st_;  // st_ goes on as the taken side, fall after it
      on_taken();
      facts.taken = true;
      st_.pc = target;
      pending_.push_back({std::move(st_), parent_, written_});
      parent_->branches++;
      st_ = std::move(fall);
      on_fall();
      facts.fallthrough = true;
      st_.pc = next;
    } else if (taken_possible) {
      on_taken();
      facts.taken = true;
      st_.pc = target;
    } else {
      on_fall();
      facts.fallthrough = true;
      st_.pc = next;
    }
  };
  auto nothing = [] {};

  const bool dp = is_pointer(d.type), sp = is_pointer(s.type);
  if (!dp && !sp) {
    const Cond c = cond_of(op);
    int t = branch_taken(c, d.s, s.s, jmp32);
    auto refine_side = [&](bool taken) -> bool {
      Reg& a = reg(in.dst);
      Scalar sa = a.s, sb = s.s;
      refine(c, taken, sa, sb, jmp32);
      if (sa.empty() || sb.empty()) return false;
      a.s = sa;
      propagate_scalar(a.id, a);
      if (x) {
        Reg& b = reg(in.src);
        b.s = sb;
        propagate_scalar(b.id, b);
      }
      return true;
    };
    if (t < 0) {
      // Each side is explored only if its facts are possible.
      State save = st_;
      bool tk = refine_side(true);
      State taken_state = st_;
      st_ = save;
      bool fl = refine_side(false);
      if (tk && fl) {
        facts.taken = facts.fallthrough = true;
        taken_state.pc = target;
        pending_.push_back({std::move(taken_state), parent_, written_});
        parent_->branches++;
        st_.pc = next;
      } else if (tk) {
        facts.taken = true;
        st_ = std::move(taken_state);
        st_.pc = target;
      } else if (fl) {
        facts.fallthrough = true;
        st_.pc = next;
      } else {
        st_.pc = UINT32_MAX;  // no concrete state reaches here
      }
      return;
    }
    go(t == 1, t == 0, nothing, nothing);
    return;
  }
  // NULL checks of a maybe-NULL map value.
  const bool eq_op = op == BPF_JEQ || op == BPF_JNE;
  const bool against_zero = s.type == RegType::SCALAR && s.s.is_const() && s.s.const_value() == 0;
  if (dp && !sp && eq_op && against_zero && !jmp32) {
    if (d.type == RegType::MAP_VALUE_OR_NULL) {
      const uint32_t id = d.id;
      const bool taken_is_null = op == BPF_JEQ;
      go(
          true, true, [&] { mark_ptr_or_null(id, taken_is_null); },
          [&] { mark_ptr_or_null(id, !taken_is_null); });
      return;
    }
    // A pointer that cannot be NULL.
    go(op == BPF_JNE, op == BPF_JEQ, nothing, nothing);
    return;
  }
  // Packet pointers against the end (or meta against data).
  if (x && !jmp32 && dp && sp) {
    auto is_end_for = [](const Reg& p, const Reg& e) {
      if (p.type == RegType::PACKET) return e.type == RegType::PACKET_END;
      if (p.type == RegType::PACKET_META)
        return e.type == RegType::PACKET && e.off == 0 && e.s.is_const() && e.s.const_value() == 0;
      return false;
    };
    const bool dst_pkt = is_end_for(d, s), src_pkt = is_end_for(s, d);
    if (dst_pkt || src_pkt) {
      const Reg& p = dst_pkt ? d : s;
      const RegType t = p.type;
      // Which side learns that p (+ its offset) is within the packet, and whether strictly.
      bool taken_good = false, open = false, any = true;
      switch (op) {
        case BPF_JGT:  // p > end: fall-through good; end > p: taken good, p < end
          taken_good = !dst_pkt, open = !dst_pkt;
          break;
        case BPF_JLT:  // p < end: taken good (open); end < p: fall-through good
          taken_good = dst_pkt, open = dst_pkt;
          break;
        case BPF_JGE:  // p >= end: fall-through good (open); end >= p: taken good
          taken_good = !dst_pkt, open = dst_pkt;
          break;
        case BPF_JLE:  // p <= end: taken good; end <= p: fall-through good (open)
          taken_good = dst_pkt, open = !dst_pkt;
          break;
        default:
          any = false;
      }
      if (any) {
        // Already proven by an earlier check of the same pointer: the bad
        // side cannot happen (the walk still explores it, as the kernel's).
        const bool proven = p.off >= 0 && p.range >= p.off + (open ? 1 : 0);
        int8_t& pr = pkt_proven_[insn_pc_];
        pr = int8_t(pr != 0 && proven);
        facts.pkt_bad_taken = !taken_good;
        go(
            true, true,
            [&] {
              if (taken_good) find_good_pkt_pointers(p, t, open);
            },
            [&] {
              if (!taken_good) find_good_pkt_pointers(p, t, open);
            });
        return;
      }
    }
  }
  // Any other comparison with a pointer: allowed only with CAP_PERFMON, and
  // nothing is learned.
  if (!opt_.perfmon) reject(fmt::format("R{} pointer comparison prohibited", dp ? in.dst : in.src));
  go(true, true, nothing, nothing);
}

// ---------------------------------------------------------------- calls, exits

void Walker::do_call_subprog(const bpf::Insn& in) {
  if (st_.frames.size() >= size_t(kMaxFrames))
    reject(fmt::format("the call stack of {} frames is too deep", st_.frames.size() + 1));
  const uint32_t target = uint32_t(int64_t(st_.pc) + in.imm + 1);
  Frame callee;
  for (unsigned r = 1; r <= 5; r++) callee.regs[r] = st_.cur().regs[r];
  callee.regs[10] = Reg::pointer(RegType::STACK);
  callee.regs[10].frame = uint8_t(st_.frames.size());
  callee.callsite = st_.pc;
  callee.subprog = target;
  add_callee(st_.pc, target);
  st_.frames.push_back(std::move(callee));
  st_.pc = target;
}

void Walker::add_callee(uint32_t caller_pc, uint32_t target) {
  int caller = subprog_of(caller_pc), sub = subprog_of(target);
  auto& cl = callees_[size_t(caller)];
  if (std::find(cl.begin(), cl.end(), uint32_t(sub)) == cl.end()) cl.push_back(uint32_t(sub));
}

void Walker::enter_callback(uint32_t target, const Reg& ctx_arg) {
  if (st_.frames.size() >= size_t(kMaxFrames))
    reject(fmt::format("the call stack of {} frames is too deep", st_.frames.size() + 1));
  Frame callee;
  callee.regs[1] = Reg::scalar(Scalar::urange(0, UINT32_MAX));  // the iteration index
  callee.regs[2] = ctx_arg;
  callee.regs[10] = Reg::pointer(RegType::STACK);
  callee.regs[10].frame = uint8_t(st_.frames.size());
  callee.callsite = st_.pc;
  callee.subprog = target;
  callee.callback = true;
  callee.callback_ret_min = 0;
  callee.callback_ret_max = 1;
  add_callee(st_.pc, target);
  st_.frames.push_back(std::move(callee));
  st_.pc = target;
}

void Walker::do_exit() {
  const Reg r0 = read_reg(0);
  if (st_.frames.size() == 1) {
    if (is_pointer(r0.type) && !opt_.perfmon) reject("R0 leaks addr as return value");
    st_.pc = UINT32_MAX;
    return;
  }
  Frame& f = st_.cur();
  if (r0.type == RegType::STACK && r0.frame == st_.frames.size() - 1)
    reject("cannot return stack pointer to the caller");
  const uint32_t callsite = f.callsite;
  if (f.callback) {
    if (r0.type != RegType::SCALAR || r0.s.smin < f.callback_ret_min ||
        r0.s.smax > f.callback_ret_max)
      reject(fmt::format("At callback return the register R0 has {}, should have been in [{}, {}]",
                         r0.str(), f.callback_ret_min, f.callback_ret_max));
    st_.frames.pop_back();
    st_.pc = callsite;  // bpf_loop may call it again, or return
    st_.cur().regs[0] = Reg::unknown();
    return;
  }
  st_.frames.pop_back();
  Frame& caller = st_.cur();
  caller.regs[0] = r0;
  for (unsigned r = 1; r <= 5; r++) caller.regs[r] = Reg{};
  st_.pc = callsite + 1;
}

void Walker::check_stack_depths() {
  // The deepest chain of frames: each frame's depth rounded up to 16 bytes,
  // as the kernel does for JITed programs.
  std::vector<int> memo(depth_.size(), -1);
  std::function<int(uint32_t, int)> deepest = [&](uint32_t f, int level) -> int {
    if (level > kMaxFrames) return 0;
    int own = (depth_[f] + 15) / 16 * 16;
    int best = 0;
    for (uint32_t c : callees_[f]) best = std::max(best, deepest(c, level + 1));
    return own + best;
  };
  int total = deepest(0, 1);
  if (total > kStackSize) {
    // Count the frames of the deepest chain for the message.
    int calls = 1;
    uint32_t f = 0;
    while (!callees_[f].empty()) {
      uint32_t best = callees_[f][0];
      for (uint32_t c : callees_[f])
        if (deepest(c, 1) > deepest(best, 1)) best = c;
      f = best;
      calls++;
      if (calls > kMaxFrames) break;
    }
    insn_pc_ = 0;
    reject(fmt::format("combined stack size of {} calls is {}. Too large", calls, total));
  }
}

void Walker::mark_read(const SlotSet& s) {
  SlotSet todo = s & ~written_;
  for (Checkpoint* cp = parent_; cp && todo.any(); cp = cp->parent) {
    cp->read |= todo;
    todo &= ~cp->written;
  }
}

void Walker::mark_stack(const Frame& f, int64_t off, int64_t size, bool write) {
  size_t fi = 0;
  while (fi < st_.frames.size() && &st_.frames[fi] != &f) fi++;
  if (fi == st_.frames.size() || size <= 0) return;
  const int64_t lo = kStackSize + off, hi = lo + size;
  SlotSet bits;
  for (int64_t j = std::max<int64_t>(lo, 0) / 8; j <= (std::min<int64_t>(hi, kStackSize) - 1) / 8;
       j++) {
    if (write && (j * 8 < lo || j * 8 + 8 > hi)) continue;  // a partial write screens nothing
    bits.set(fi * kSlots + size_t(j));
  }
  if (write)
    written_ |= bits;
  else
    mark_read(bits);
}

void Walker::record_depth(Frame& f, int32_t off) {
  int sp = subprog_of(f.subprog);
  depth_[size_t(sp)] = std::max(depth_[size_t(sp)], -off);
}

// ---------------------------------------------------------------- entry

Result verify(const bpf::Object& obj, size_t prog, const Options& opt) {
  const bpf::Program& p = obj.programs.at(prog);
  Walker w(obj, p, opt);
  try {
    return w.run();
  } catch (const Reject& r) {
    throw VerifyError(
        fmt::format("{}: {}: {}: {}", obj.path, p.name, p.place(w.error_pc()), r.reason),
        w.error_pc(), r.reason);
  }
}

}  // namespace verifier
