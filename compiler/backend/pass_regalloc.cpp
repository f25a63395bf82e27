// regalloc: BPF has eleven registers, so clang spills to the stack; the NPU
// has 32. Stack slots used only as spill slots (8-byte loads and stores right
// off r10, never reached through another pointer) move into the free
// registers r13-r23: a load becomes a move, and so does a store.
//
// A slot qualifies when every access to its bytes in the program is an
// 8-byte ld/st at exactly its offset from r10. The verifier's facts bound
// what other pointers reach: a load or store through a copy of r10 touches
// [offset, offset + size), a helper reading memory on the stack may touch
// anything from its pointer up to the frame top. Programs with BPF-to-BPF
// calls are left alone (every frame has its own r10).
#include "compiler/backend/passes.h"

#include <algorithm>
#include <map>

namespace npucc {

namespace {

constexpr uint8_t kFirst = 13, kLast = 23;

bool direct_fp(const bpf::Insn& in) {
  if (in.cls() == BPF_LDX) return in.src == 10;
  if (in.cls() == BPF_ST || in.cls() == BPF_STX) return in.dst == 10;
  return false;
}

}  // namespace

void pass_regalloc(Module& m) {
  if (m.funcs.size() != 1) return;
  // Bytes of the frame that something other than a whole-slot access may touch.
  std::vector<bool> blocked(512, false);
  auto block = [&](int64_t lo, int64_t hi) {
    for (int64_t a = std::max<int64_t>(lo, -512); a < std::min<int64_t>(hi, 0); a++)
      blocked[size_t(a + 512)] = true;
  };
  std::map<int32_t, int> uses;  // slot offset -> accesses
  for (const InsnMeta& mt : m.meta) {
    if (mt.skip || !mt.facts || !mt.facts->reached) continue;
    const bpf::Insn& in = mt.insn;
    const verifier::InsnFacts& f = *mt.facts;
    if (in.is_helper_call()) {
      if (f.mem == verifier::Mem::STACK || f.mem == verifier::Mem::MIXED) {
        if (f.stack_off == 0) return;  // a variable offset: anything
        block(f.stack_off, 0);
      }
      continue;
    }
    if (f.mem != verifier::Mem::STACK && f.mem != verifier::Mem::MIXED) continue;
    const unsigned size = bpf::size_bytes(in.size());
    const bool atomic = in.cls() == BPF_STX && in.mode() == BPF_ATOMIC;
    if (f.mem == verifier::Mem::MIXED || f.stack_off == 0) return;  // not one known place
    if (direct_fp(in) && size == 8 && !atomic && in.off % 8 == 0 && in.mode() != BPF_MEMSX) {
      uses[in.off]++;
      continue;
    }
    block(f.stack_off, int64_t(f.stack_off) + size);
  }
  // The most used slots that nothing else touches get the registers.
  std::vector<std::pair<int, int32_t>> order;
  for (auto [off, n] : uses) {
    bool free = true;
    for (int32_t a = off; a < off + 8; a++) free = free && !blocked[size_t(a + 512)];
    if (free) order.emplace_back(n, off);
  }
  std::sort(order.begin(), order.end(), [](auto a, auto b) { return a.first > b.first; });
  std::map<int64_t, uint8_t> reg_of;
  for (auto [n, off] : order) {
    if (reg_of.size() > size_t(kLast - kFirst)) break;
    reg_of[off] = uint8_t(kFirst + reg_of.size());
  }
  if (reg_of.empty()) return;
  for (MInsn& x : m.mc.code) {
    if (x.is_label || x.in.width != 8 || x.in.b != 10) continue;
    auto slot = [&](int64_t off) { return reg_of.find(off); };
    if (x.in.op == npu::Op::LD) {
      auto it = slot(x.in.imm);
      if (it == reg_of.end()) continue;
      const uint8_t dst = x.in.a;
      x.in = npu::Insn{};
      x.in.op = npu::Op::MOV;
      x.in.a = dst;
      x.in.b = it->second;
      x.note = "fill from r" + std::to_string(it->second);
      m.stats["regalloc.loads"]++;
    } else if (x.in.op == npu::Op::ST) {
      auto it = slot(x.in.imm);
      if (it == reg_of.end()) continue;
      const uint8_t src = x.in.a;
      x.in = npu::Insn{};
      x.in.op = npu::Op::MOV;
      x.in.a = it->second;
      x.in.b = src;
      x.note = "spill to r" + std::to_string(it->second);
      m.stats["regalloc.stores"]++;
    } else if (x.in.op == npu::Op::STI) {
      auto it = slot(x.in.off);
      if (it == reg_of.end()) continue;
      const int32_t imm = x.in.imm;
      x.in = npu::Insn{};
      x.in.op = npu::Op::LI;
      x.in.a = it->second;
      x.in.imm = imm;
      x.note = "spill to r" + std::to_string(it->second);
      m.stats["regalloc.stores"]++;
    }
  }
  m.stats["regalloc.slots"] += reg_of.size();
}

}  // namespace npucc
