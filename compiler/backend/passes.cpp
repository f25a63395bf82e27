// The pass list, and the BPF def/use facts the passes share.
#include "compiler/backend/passes.h"

namespace npucc {

const std::vector<Pass>& passes() {
  static const std::vector<Pass> list = {
      {"const-prop", Stage::BPF, pass_const_prop,
       "register operands the verifier knows to be constant become immediates; results it knows "
       "become one load of the constant"},
      {"dead-code", Stage::BPF, pass_dead_code,
       "drops instructions no verified path reaches, branches decided on every path, and results "
       "nothing reads"},
      {"zext", Stage::BPF, pass_zext,
       "drops 32-bit zero extensions of values whose upper half the verifier knows is zero"},
      {"fuse-branch", Stage::BPF, pass_fuse_branch,
       "folds an AND or a copy whose only reader is the next branch into that branch"},
      {"pkt-merge", Stage::BPF, pass_pkt_merge,
       "packet bytes loaded one by one and combined with shifts and ors, or loaded then byte "
       "swapped, become one load of 2-8 bytes in either byte order"},
      {"pkt-check", Stage::BPF, pass_pkt_check,
       "packet bounds checks that an earlier check of the same pointer already proves on every "
       "path are dropped"},
      {"array-inline", Stage::BPF, pass_array_inline,
       "ARRAY map lookups become a key check and an address computation, without the map "
       "engine"},
      {"regalloc", Stage::NPU, pass_regalloc,
       "stack slots used only for spills move into the NPU's spare registers r13-r23"},
      {"schedule", Stage::NPU, pass_schedule,
       "reorders each basic block to start map, memory and engine commands early and fill their "
       "latency with independent work"},
  };
  return list;
}

const Pass* find_pass(const std::string& name) {
  for (const Pass& p : passes())
    if (name == p.name) return &p;
  return nullptr;
}

namespace {
uint16_t bit(unsigned r) {
  return r < 11 ? uint16_t(1u << r) : 0;
}
}  // namespace

uint16_t bpf_uses(const bpf::Insn& in) {
  const uint8_t op = in.op();
  const bool x = in.srcbit() == BPF_X;
  switch (in.cls()) {
    case BPF_ALU:
    case BPF_ALU64:
      if (op == BPF_MOV) return x ? bit(in.src) : 0;
      return uint16_t(bit(in.dst) | (x && op != BPF_END && op != BPF_NEG ? bit(in.src) : 0));
    case BPF_LDX:
      return bit(in.src);
    case BPF_ST:
      return bit(in.dst);
    case BPF_STX:
      return uint16_t(bit(in.dst) | bit(in.src) |
                      (in.mode() == BPF_ATOMIC && in.imm == BPF_CMPXCHG ? 1 : 0));
    case BPF_LD:
      return 0;
    default:
      if (in.is_call()) return 0x3e;  // r1-r5: the most any call takes
      if (in.is_exit()) return 1;
      if (op == BPF_JA) return 0;
      return uint16_t(bit(in.dst) | (x ? bit(in.src) : 0));
  }
}

uint16_t bpf_defs(const bpf::Insn& in) {
  switch (in.cls()) {
    case BPF_ALU:
    case BPF_ALU64:
    case BPF_LDX:
    case BPF_LD:
      return bit(in.dst);
    case BPF_STX:
      if (in.mode() == BPF_ATOMIC) {
        if (in.imm == BPF_CMPXCHG) return 1;
        if (in.imm & BPF_FETCH) return bit(in.src);
      }
      return 0;
    default:
      return in.is_call() ? 0x3f : 0;
  }
}

std::vector<bool> bpf_jump_targets(const Module& m) {
  std::vector<bool> t(m.meta.size(), false);
  for (size_t i = 0; i < m.meta.size(); i++) {
    const bpf::Insn& in = m.meta[i].insn;
    if (m.meta[i].skip || !in.is_jump()) continue;
    int64_t d = in.cls() == BPF_JMP32 && in.op() == BPF_JA ? in.imm : in.off;
    int64_t to = int64_t(i) + 1 + d;
    if (to >= 0 && size_t(to) < t.size()) t[size_t(to)] = true;
  }
  return t;
}

uint64_t remove_dead_results(Module& m) {
  uint64_t n = 0;
  for (bool changed = true; changed;) {
    changed = false;
    const std::vector<uint16_t> live = bpf_live_out(m);
    for (size_t i = 0; i < m.meta.size(); i++) {
      InsnMeta& mt = m.meta[i];
      const bpf::Insn& in = mt.insn;
      const uint8_t cls = in.cls();
      if (mt.skip || !(cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_LDX || cls == BPF_LD))
        continue;
      if (in.dst == 10 || (bpf_defs(in) & live[i])) continue;
      mt.skip = true;
      if (in.is_lddw()) m.meta[i + 1].skip = true;
      n++;
      changed = true;
    }
  }
  return n;
}

std::vector<uint16_t> bpf_live_out(const Module& m) {
  const size_t n = m.meta.size();
  std::vector<uint16_t> in_live(n, 0), out(n, 0);
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = n; i-- > 0;) {
      const InsnMeta& mt = m.meta[i];
      if (i > 0 && m.meta[i - 1].insn.is_lddw()) continue;  // second half of an lddw
      const bpf::Insn& in = mt.insn;
      uint16_t o = 0;
      auto succ = [&](size_t s) {
        if (s < n) o |= in_live[s];
      };
      if (in.is_exit()) {
      } else if (in.is_jump()) {
        int64_t d = in.cls() == BPF_JMP32 && in.op() == BPF_JA ? in.imm : in.off;
        succ(size_t(int64_t(i) + 1 + d));
        if (in.op() != BPF_JA) succ(i + 1);
      } else {
        succ(in.is_lddw() ? i + 2 : i + 1);
      }
      uint16_t l = mt.skip ? o : uint16_t(bpf_uses(in) | (o & ~bpf_defs(in)));
      if (o != out[i] || l != in_live[i]) {
        out[i] = o;
        in_live[i] = l;
        changed = true;
      }
    }
  }
  return out;
}

}  // namespace npucc
